//! `c.backups(#{ bucket, schedules, velero? })`: Velero on a cluster the
//! blueprint manages, backing up to an S3 bucket. Not a kind of its own: it
//! declares what the standard tools need, as resources of existing kinds:
//! - the bucket's settings (versioning, encryption, public-access block, a
//!   lifecycle rule, protection from deletion);
//! - the IAM role of Velero's service account (IRSA) with the policy Velero
//!   documents for AWS, scoped to the bucket;
//! - the Velero Helm release, configured for the bucket and region (backup
//!   storage and volume snapshot locations, the AWS plugin);
//! - one `velero.io/v1` Schedule per entry, after the release (whose chart
//!   installs the CRDs).

use super::helm_release::HelmRelease;
use super::iam::IamRole;
use super::k8s::ClusterRef;
use super::s3_bucket;
use crate::model::{Address, Map, Problem, Value};
use crate::script::api::opts_arg;
use crate::script::handles::Output;
use crate::script::schema::{def, opt, req, FnDoc, Opt, Ty};
use crate::script::state::{fail, Deps, Fallible, Opts, Shared};
use rhai::{Dynamic, NativeCallContext};

/// Velero's chart, pinned.
pub const VELERO_REPO: &str = "https://vmware-tanzu.github.io/helm-charts";
pub const VELERO_CHART_VERSION: &str = "7.2.1";
const AWS_PLUGIN: &str = "velero/velero-plugin-for-aws:v1.10.0";
/// Where Velero runs, and its service account.
pub const NAMESPACE: &str = "velero";
const SERVICE_ACCOUNT: &str = "velero-server";

const SCHEDULE: &[Opt] = &[
    req("name", Ty::Str, "the Schedule's name"),
    req(
        "cron",
        Ty::Str,
        "when, as a cron expression (\"0 2 * * *\")",
    ),
    opt(
        "namespaces",
        Ty::StrList,
        "the namespaces to back up (default: all)",
    ),
    opt("exclude_namespaces", Ty::StrList, "namespaces to leave out"),
    def("ttl_days", Ty::Int, "30", "how long each backup is kept"),
    def(
        "snapshot_volumes",
        Ty::Bool,
        "true",
        "snapshot persistent volumes (EBS)",
    ),
];

const VELERO: &[Opt] = &[
    def("repo", Ty::Str, VELERO_REPO, "the chart repository"),
    def(
        "chart_version",
        Ty::Str,
        VELERO_CHART_VERSION,
        "the chart's version",
    ),
    opt("values", Ty::AnyMap, "values merged over Blueprint's"),
];

const OPTS: &[Opt] = &[
    req("bucket", Ty::Handle(s3_bucket::KIND), "where backups go; Blueprint sets versioning, encryption, public-access block, a lifecycle rule and protection"),
    req("schedules", Ty::NestedList(SCHEDULE), "the backup schedules"),
    opt("velero", Ty::Nested(VELERO), "the Velero chart's source and extra values"),
];

pub const DOC: FnDoc = FnDoc {
    name: "backups",
    signature: "cluster.backups(#{ bucket, schedules: [#{ name, cron, namespaces?, exclude_namespaces?, ttl_days?, snapshot_volumes? }], velero? })",
    doc: "Velero backups of the cluster to an S3 bucket: its IAM role (IRSA), its Helm release and one Schedule per entry.",
    options: OPTS,
    method_of: Some("Cluster"),
};

/// A cron expression has five fields.
fn check_cron(cron: &str) -> Result<(), Problem> {
    let fields = cron.split_whitespace().count();
    if fields == 5 || cron.starts_with('@') {
        Ok(())
    } else {
        Err(Problem::new(format!(
            "`{cron}` is not a cron expression ({fields} fields)"
        ))
        .hint("five fields: minute hour day-of-month month day-of-week, e.g. \"0 2 * * *\""))
    }
}

fn strs(v: &Dynamic) -> rhai::Array {
    v.read_lock::<rhai::Array>()
        .map(|a| a.clone())
        .unwrap_or_default()
}

/// `b` merged into `a`, maps key by key.
pub(crate) fn merge(a: &mut rhai::Map, b: rhai::Map) {
    for (k, v) in b {
        let over = v.read_lock::<rhai::Map>().map(|m| m.clone());
        let inner = a
            .get(&k)
            .and_then(|x| x.read_lock::<rhai::Map>().map(|m| m.clone()));
        match (inner, over) {
            (Some(mut inner), Some(over)) => {
                merge(&mut inner, over);
                a.insert(k, Dynamic::from(inner));
            }
            _ => {
                a.insert(k, v);
            }
        }
    }
}

fn map(pairs: Vec<(&str, Dynamic)>) -> Dynamic {
    Dynamic::from(
        pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v))
            .collect::<rhai::Map>(),
    )
}

fn text(s: &str) -> Dynamic {
    Dynamic::from(s.to_string())
}

fn list(items: Vec<Dynamic>) -> Dynamic {
    Dynamic::from(items)
}

/// Velero's IAM policy for AWS, from its plugin's documentation, scoped to
/// the bucket.
fn policy(bucket: &Address) -> Dynamic {
    let arn = Output::attr(bucket, "arn", None);
    let objects = arn.clone().concat(Output::lit("/*"));
    let statement = |actions: &[&str], resource: Dynamic| {
        map(vec![
            ("Effect", text("Allow")),
            ("Action", list(actions.iter().map(|a| text(a)).collect())),
            ("Resource", resource),
        ])
    };
    map(vec![
        ("Version", text("2012-10-17")),
        (
            "Statement",
            list(vec![
                statement(
                    &[
                        "ec2:DescribeVolumes",
                        "ec2:DescribeSnapshots",
                        "ec2:CreateTags",
                        "ec2:CreateVolume",
                        "ec2:CreateSnapshot",
                        "ec2:DeleteSnapshot",
                    ],
                    text("*"),
                ),
                statement(
                    &[
                        "s3:GetObject",
                        "s3:DeleteObject",
                        "s3:PutObject",
                        "s3:AbortMultipartUpload",
                        "s3:ListMultipartUploadParts",
                    ],
                    Dynamic::from(objects),
                ),
                statement(&["s3:ListBucket"], Dynamic::from(arn)),
            ]),
        ),
    ])
}

pub fn backups(
    state: &Shared,
    ctx: &NativeCallContext,
    c: &ClusterRef,
    opts: &Dynamic,
) -> Fallible<()> {
    let map_opts = opts_arg(ctx, "backups", opts, OPTS)?;
    let o = Opts(&map_opts);
    let bucket = o
        .get("bucket")
        .and_then(crate::script::handles::address_of)
        .ok_or_else(|| {
            fail(
                ctx,
                Problem::new("backups: `bucket` is not an s3_bucket handle"),
            )
        })?;
    let schedules: Vec<rhai::Map> = strs(o.get("schedules").unwrap_or(&Dynamic::UNIT))
        .iter()
        .filter_map(|s| s.read_lock::<rhai::Map>().map(|m| m.clone()))
        .collect();
    if schedules.is_empty() {
        return Err(fail(
            ctx,
            Problem::new("backups: `schedules` is empty")
                .hint("declare at least one schedule: #{ name, cron }"),
        ));
    }
    let max_ttl = check_schedules(ctx, &schedules)?;
    harden_bucket(state, ctx, &bucket, max_ttl)?;
    let role = velero_role(state, ctx, c, &bucket)?;
    let release = velero_release(state, ctx, c, &o, &bucket, &role)?;
    // One Schedule per entry, after the release that installs the CRDs.
    for s in &schedules {
        declare_schedule(state, ctx, c, &release, s)?;
    }
    Ok(())
}

/// Checks the schedules (distinct names, cron expressions, at least a day
/// kept); returns the longest any keeps its backups.
fn check_schedules(ctx: &NativeCallContext, schedules: &[rhai::Map]) -> Fallible<i64> {
    let mut names = std::collections::BTreeSet::new();
    let mut max_ttl = 0;
    for s in schedules {
        let so = Opts(s);
        let name = so.str("name").unwrap_or_default();
        crate::script::state::check_name(ctx, super::k8s::namespace::KIND, &name)?;
        if !names.insert(name.clone()) {
            return Err(fail(
                ctx,
                Problem::new(format!("backups: two schedules are named `{name}`")),
            ));
        }
        check_cron(&so.str("cron").unwrap_or_default()).map_err(|p| fail(ctx, p))?;
        let ttl = so.int("ttl_days").unwrap_or(30);
        if ttl < 1 {
            return Err(fail(
                ctx,
                Problem::new(format!(
                    "backups: schedule `{name}` keeps backups {ttl} days"
                ))
                .hint("ttl_days is at least 1"),
            ));
        }
        max_ttl = max_ttl.max(ttl);
    }

    Ok(max_ttl)
}

/// The bucket: versioned, private, encrypted (SSE always), expiring what
/// no backup refers to anymore, and protected from deletion.
fn harden_bucket(
    state: &Shared,
    ctx: &NativeCallContext,
    bucket: &Address,
    max_ttl: i64,
) -> Fallible<()> {
    {
        let mut st = state.borrow_mut();
        let Some(r) = st.graph.get_mut(bucket) else {
            return Err(fail(
                ctx,
                Problem::new(format!("{bucket} is not declared (yet)"))
                    .hint("declare the bucket before the backups that use it"),
            ));
        };
        r.spec.insert("versioning".into(), Value::Bool(true));
        r.spec
            .insert("public_access_block".into(), Value::Bool(true));
        r.spec.insert("protect".into(), Value::Bool(true));
        match r.spec.get("expire_days") {
            Some(Value::Int(days)) if *days < max_ttl => {
                let days = *days;
                drop(st);
                return Err(fail(
                    ctx,
                    Problem::new(format!(
                        "{bucket} expires objects after {days} days, before the {max_ttl} days a schedule keeps its backups"
                    ))
                    .hint("raise the bucket's expire_days, or leave it out: backups() sets it"),
                ));
            }
            Some(Value::Int(_)) => {}
            _ => {
                r.spec
                    .insert("expire_days".into(), Value::Int(max_ttl + 30));
            }
        }
    }

    Ok(())
}

/// Velero's role, assumed by its service account through the cluster's
/// OIDC provider.
fn velero_role(
    state: &Shared,
    ctx: &NativeCallContext,
    c: &ClusterRef,
    bucket: &Address,
) -> Fallible<IamRole> {
    let role_opts = map(vec![
        ("namespace", text(NAMESPACE)),
        ("service_account", text(SERVICE_ACCOUNT)),
        ("inline_policies", map(vec![("velero", policy(bucket))])),
        (
            "allow",
            map(vec![(
                "BP015",
                text("Velero's documented AWS policy: EBS volumes and snapshots are created and tagged at run time, so these actions cannot name ARNs beforehand"),
            )]),
        ),
    ]);
    super::eks::irsa_role(
        state,
        ctx,
        c,
        &text(&format!("{}-velero", c.name)),
        &role_opts,
    )
}

/// The Velero release, configured for the bucket and region, with the
/// blueprint's own values merged over.
fn velero_release(
    state: &Shared,
    ctx: &NativeCallContext,
    c: &ClusterRef,
    o: &Opts,
    bucket: &Address,
    role: &IamRole,
) -> Fallible<HelmRelease> {
    // The bucket's region, whatever its provider instance.
    let region = state.borrow().region_of(bucket);
    let bucket_name = bucket.name.clone();
    let mut values = rhai::Map::new();
    merge(
        &mut values,
        [
            (
                "configuration",
                map(vec![
                    (
                        "backupStorageLocation",
                        list(vec![map(vec![
                            ("name", text("default")),
                            ("provider", text("aws")),
                            ("bucket", text(&bucket_name)),
                            ("config", map(vec![("region", text(&region))])),
                        ])]),
                    ),
                    (
                        "volumeSnapshotLocation",
                        list(vec![map(vec![
                            ("name", text("default")),
                            ("provider", text("aws")),
                            ("config", map(vec![("region", text(&region))])),
                        ])]),
                    ),
                ]),
            ),
            (
                "serviceAccount",
                map(vec![(
                    "server",
                    map(vec![
                        ("name", text(SERVICE_ACCOUNT)),
                        (
                            "annotations",
                            map(vec![(
                                "eks.amazonaws.com/role-arn",
                                Dynamic::from(Output::attr(&role.0, "arn", None)),
                            )]),
                        ),
                    ]),
                )]),
            ),
            (
                "credentials",
                map(vec![("useSecret", Dynamic::from(false))]),
            ),
            (
                "initContainers",
                list(vec![map(vec![
                    ("name", text("velero-plugin-for-aws")),
                    ("image", text(AWS_PLUGIN)),
                    ("imagePullPolicy", text("IfNotPresent")),
                    (
                        "volumeMounts",
                        list(vec![map(vec![
                            ("mountPath", text("/target")),
                            ("name", text("plugins")),
                        ])]),
                    ),
                ])]),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.into(), v))
        .collect(),
    );
    let velero = o
        .get("velero")
        .and_then(|v| v.read_lock::<rhai::Map>().map(|m| m.clone()))
        .unwrap_or_default();
    let vo = Opts(&velero);
    if let Some(extra) = vo
        .get("values")
        .and_then(|v| v.read_lock::<rhai::Map>().map(|m| m.clone()))
    {
        merge(&mut values, extra);
    }
    let release_opts = map(vec![
        ("namespace", text(NAMESPACE)),
        ("create_namespace", Dynamic::from(true)),
        ("chart", text("velero")),
        (
            "repo",
            text(&vo.str("repo").unwrap_or_else(|| VELERO_REPO.into())),
        ),
        (
            "version",
            text(
                &vo.str("chart_version")
                    .unwrap_or_else(|| VELERO_CHART_VERSION.into()),
            ),
        ),
        ("values", Dynamic::from(values)),
    ]);
    super::helm_release::helm_release(state, ctx, c, &text("velero"), &release_opts)
}

/// One Velero Schedule, after the release that installs its CRD.
fn declare_schedule(
    state: &Shared,
    ctx: &NativeCallContext,
    c: &ClusterRef,
    release: &HelmRelease,
    s: &rhai::Map,
) -> Fallible<()> {
    let so = Opts(s);
    let name = so.str("name").unwrap_or_default();
    let ttl = so.int("ttl_days").unwrap_or(30);
    let to_list = |k: &str| -> Option<Value> {
        so.get(k)
            .map(|v| Value::List(strs(v).iter().map(|x| Value::Str(x.to_string())).collect()))
    };
    let mut template = Map::new();
    template.insert(
        "includedNamespaces".into(),
        to_list("namespaces").unwrap_or_else(|| Value::List(vec![Value::str("*")])),
    );
    if let Some(x) = to_list("exclude_namespaces") {
        template.insert("excludedNamespaces".into(), x);
    }
    template.insert("ttl".into(), Value::Str(format!("{}h0m0s", ttl * 24)));
    template.insert(
        "snapshotVolumes".into(),
        Value::Bool(so.bool_or("snapshot_volumes", true)),
    );
    template.insert("storageLocation".into(), Value::str("default"));
    let object = Map::from([
        ("apiVersion".into(), Value::str("velero.io/v1")),
        ("kind".into(), Value::str("Schedule")),
        (
            "metadata".into(),
            Value::Map(Map::from([
                ("name".into(), Value::Str(name.clone())),
                ("namespace".into(), Value::str(NAMESPACE)),
            ])),
        ),
        (
            "spec".into(),
            Value::Map(Map::from([
                (
                    "schedule".into(),
                    Value::Str(so.str("cron").unwrap_or_default()),
                ),
                ("useOwnerReferencesInBackup".into(), Value::Bool(false)),
                ("template".into(), Value::Map(template)),
            ])),
        ),
    ]);
    let mut deps = Deps::default();
    deps.add(&release.0);
    super::k8s::manifest::declare_one(
        state,
        ctx,
        c,
        None,
        object,
        deps,
        &format!("backups schedule {name}"),
    )?;
    Ok(())
}

/// Registers `c.backups(opts)` on both cluster handle types.
pub fn register(engine: &mut rhai::Engine, state: &Shared) {
    macro_rules! on {
        ($ty:ty) => {
            let s = state.clone();
            engine.register_fn(
                "backups",
                move |ctx: NativeCallContext, c: &mut $ty, opts: Dynamic| -> Fallible<()> {
                    let d = Dynamic::from(c.clone());
                    let c = ClusterRef::of(&d).expect("a cluster handle");
                    backups(&s, &ctx, &c, &opts)
                },
            );
        };
    }
    on!(super::eks::Cluster);
    on!(super::k8s::ExistingCluster);
}

#[cfg(test)]
mod tests {
    #[test]
    fn cron_expressions_have_five_fields() {
        assert!(super::check_cron("0 2 * * *").is_ok());
        assert!(super::check_cron("@daily").is_ok());
        assert!(super::check_cron("0 2 * *").is_err());
    }
}
