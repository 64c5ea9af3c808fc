//! EKS add-ons: `c.addon(name, #{ version?, service_account_role?,
//! configuration?, resolve_conflicts? })`, for vpc-cni, coredns,
//! kube-proxy, aws-ebs-csi-driver, aws-efs-csi-driver and the others EKS
//! offers. Without a `version`, an add-on follows the cluster: it gets the
//! default version for the cluster's Kubernetes version
//! (DescribeAddonVersions), recorded on it as `blueprint:k8s-version`, so
//! that a cluster upgrade plans each add-on's move to the version for the
//! new Kubernetes, after the cluster and the node groups declared before it.

use super::cluster::{owned_tags, sync_tags, tag_map};
use super::Cluster;
use crate::cost::Pricing;
use crate::kinds::{Diff, Field, KindDef, TAGS};
use crate::model::names::NameRule;
use crate::model::schema::Schema;
use crate::model::{Address, Kind, Live, Map, Problem, Value};
use crate::plan::{touches, FieldDiff};
use crate::providers::AwsResult as _;
use crate::providers::{wait_for, Cloud, Planned, ProviderError, Row};
use crate::script::api::{name_arg, opts_arg};
use crate::script::handles::Output;
use crate::script::schema::{def, opt, FnDoc, Opt, Ty, TAGS_OPT};
use crate::script::state::{
    check_name, check_tags, declare, fail, ref_to, Deps, Fallible, Opts, Shared,
};
use crate::{handle, ops};
use aws_sdk_eks::types::{Addon, AddonStatus, ResolveConflicts};
use rhai::{Dynamic, Engine, NativeCallContext};

crate::handle_type!(EksAddon);

pub const KIND: Kind = Kind::of(&SCHEMA);

/// Where the Kubernetes version an add-on's version was chosen for is kept.
const K8S_TAG: &str = "blueprint:k8s-version";

const RESOLVE: &[&str] = &["overwrite", "preserve", "none"];

const POD_IDENTITY: &[Opt] = &[
    crate::script::schema::req(
        "service_account",
        Ty::Str,
        "the add-on's service account (in its namespace, e.g. kube-system)",
    ),
    crate::script::schema::req(
        "role",
        Ty::Handle(crate::kinds::iam::role::KIND),
        "a role trusting pods.eks.amazonaws.com (pod_identity_role)",
    ),
];

pub const OPTIONS: &[Opt] = &[
    opt(
        "version",
        Ty::Str,
        "the add-on's version (default: EKS's default for the cluster's Kubernetes, followed on upgrades)",
    ),
    opt(
        "service_account_role",
        Ty::Handle(crate::kinds::iam::role::KIND),
        "an IAM role for the add-on's service account (IRSA), e.g. the EBS CSI driver's",
    ),
    opt(
        "configuration",
        Ty::AnyMap,
        "the add-on's configuration values (its JSON schema: DescribeAddonConfiguration)",
    ),
    opt(
        "pod_identity",
        Ty::NestedList(POD_IDENTITY),
        "Pod Identity for the add-on's service accounts: [#{ service_account, role }], associations the add-on owns",
    ),
    def(
        "resolve_conflicts",
        Ty::Enum(RESOLVE),
        "\"overwrite\"",
        "what EKS does with fields changed in the cluster: \"overwrite\", \"preserve\" or \"none\"",
    ),
    TAGS_OPT,
];

pub const DOC: FnDoc = FnDoc {
    name: "addon",
    signature: "cluster.addon(name, #{ version?, service_account_role?, configuration?, pod_identity?, resolve_conflicts?, tags? }) -> EksAddon",
    doc: "An EKS add-on (vpc-cni, coredns, kube-proxy, aws-ebs-csi-driver, aws-efs-csi-driver, ...); without a version it follows the cluster's Kubernetes version.",
    options: OPTIONS,
    method_of: Some("Cluster"),
};

pub static SCHEMA: Schema = Schema::new("eks_addon", "EksAddon", FIELDS)
    .attr("name")
    .names(NameRule::chars(
        1,
        100,
        |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '/',
        "lowercase letters, digits and `-`",
    ));

/// The IAM actions of its operations (`bp permissions`).
pub const IAM: crate::permissions::Iam =
    crate::permissions::Iam::reads(&["eks:ListAddons", "eks:DescribeAddon"])
        .plan(&[
            "eks:DescribeAddonVersions",
            "eks:DescribeAddonConfiguration",
        ])
        .create(&["eks:CreateAddon", "eks:TagResource", "eks:DescribeUpdate"])
        .update(&[
            "eks:UpdateAddon",
            "eks:DescribeUpdate",
            "eks:TagResource",
            "eks:UntagResource",
        ])
        .delete(&["eks:DeleteAddon"])
        .arns(&[
            "arn:aws:eks:{region}:{account}:cluster/{cluster}",
            "arn:aws:eks:{region}:{account}:addon/{cluster}/{name}/*",
        ])
        .tag_condition()
        .passes_role();

pub static DEF: KindDef = KindDef::new(
    KIND,
    Pricing::Free,
    handle!(EksAddon; &[DOC], register; ["address", "arn", "name", "version"]),
    ops!(with super::cluster::KIND),
)
.adopt(crate::boxed!(adopt adopt))
.iam(IAM);

const FIELDS: &[Field] = &[
    Field::new("cluster")
        .replaces("an add-on belongs to one cluster")
        .refers(),
    Field::new("name").replaces("an add-on's name is what it is"),
    Field::new("version"),
    Field::new("k8s_version"),
    Field::new("service_account_role").refers(),
    Field::new("configuration").diff(Diff::Tree),
    Field::new("pod_identity").diff(Diff::ListByKey("service_account")),
    Field::new("resolve_conflicts").diff(Diff::Local),
    TAGS,
];

pub(super) fn addon(
    state: &Shared,
    ctx: &NativeCallContext,
    c: &Address,
    name: &Dynamic,
    opts: &Dynamic,
) -> Fallible<EksAddon> {
    let name = name_arg(ctx, "addon", name)?;
    let map = opts_arg(ctx, "addon", opts, OPTIONS)?;
    let o = Opts(&map);
    if name.is_empty()
        || !name
            .chars()
            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-')
    {
        return Err(fail(
            ctx,
            Problem::new(format!("`{name}` is not an EKS add-on name"))
                .hint("e.g. \"vpc-cni\", \"coredns\", \"kube-proxy\", \"aws-ebs-csi-driver\""),
        ));
    }
    check_tags(ctx, o.get("tags"))?;
    let addr = c.child(KIND, &name);
    check_name(ctx, KIND, &addr.name)?;
    // The Pod Identity agent an association added: declared now, this
    // declaration is the one.
    let added = (
        std::any::TypeId::of::<super::pod_identity::AddedAgent>(),
        addr.clone(),
    );
    if state.borrow_mut().facts.remove(&added).is_some() {
        state.borrow_mut().graph.remove(&addr);
    }
    let mut deps = Deps::default();
    deps.add(c);
    // After the node groups declared before it: some add-ons (coredns)
    // need nodes, and on an upgrade add-ons move last.
    let groups: Vec<Address> = state
        .borrow()
        .graph
        .iter()
        .filter(|r| r.address.kind == super::node_group::KIND)
        .filter(|r| r.address.name.starts_with(&format!("{}/", c.name)))
        .map(|r| r.address.clone())
        .collect();
    for g in &groups {
        deps.add(g);
    }
    let mut spec = Map::new();
    spec.insert("cluster".into(), ref_to(c));
    spec.insert("name".into(), Value::str(&name));
    match o.str("version") {
        Some(v) => {
            spec.insert("version".into(), Value::Str(v));
        }
        None => {
            let k8s = state
                .borrow()
                .graph
                .get(c)
                .and_then(|r| r.str("version").map(String::from));
            if let Some(k8s) = k8s {
                spec.insert("k8s_version".into(), Value::Str(k8s));
            }
        }
    }
    if let Some(r) = o.get("service_account_role") {
        spec.insert("service_account_role".into(), deps.value(r));
    }
    if let Some(cfg) = o.get("configuration") {
        // Kept as a map: references resolve before it is sent.
        let value = deps.value(cfg);
        let version = o.str("version");
        let k8s = spec
            .get("k8s_version")
            .and_then(Value::as_str)
            .map(String::from);
        super::addon_schema::check(state, ctx, &name, (version, k8s), &value)?;
        spec.insert("configuration".into(), value);
    }
    let mut pods = Vec::new();
    for p in o.list("pod_identity") {
        let Some(m) = p.read_lock::<rhai::Map>().map(|m| m.clone()) else {
            continue;
        };
        let po = Opts(&m);
        let role = crate::script::handles::address_of(po.get("role").unwrap_or(&Dynamic::UNIT));
        if let Some(role) = &role {
            if super::pod_identity::trusts_pods(state, role) == Some(false) {
                return Err(fail(
                    ctx,
                    Problem::new(format!(
                        "pod_identity of add-on {name}: {role} does not trust {}",
                        super::pod_identity::PRINCIPAL
                    ))
                    .hint("declare it with pod_identity_role(name, #{ ... })"),
                ));
            }
        }
        pods.push(Value::Map(Map::from([
            (
                "service_account".into(),
                Value::str(po.str("service_account").unwrap_or_default()),
            ),
            (
                "role".into(),
                deps.value(po.get("role").unwrap_or(&Dynamic::UNIT)),
            ),
        ])));
    }
    // Always declared: none means the add-on owns no association.
    pods.sort_by_key(|p| p.get("service_account").map(Value::to_string));
    spec.insert("pod_identity".into(), Value::List(pods));
    spec.insert(
        "resolve_conflicts".into(),
        Value::str(
            o.str("resolve_conflicts")
                .unwrap_or_else(|| "overwrite".into()),
        ),
    );
    if let Some(t) = state.borrow().tags(o.get("tags"), &mut deps) {
        spec.insert("tags".into(), t);
    }
    declare(state, ctx, addr.clone(), spec, deps)?;
    Ok(EksAddon(addr))
}

fn register(engine: &mut Engine, state: &Shared) {
    EksAddon::register_type(engine);
    let s = state.clone();
    engine.register_fn(
        "addon",
        move |ctx: NativeCallContext, c: &mut Cluster, name: Dynamic, opts: Dynamic| {
            addon(&s, &ctx, &c.0, &name, &opts)
        },
    );
    let s = state.clone();
    engine.register_fn(
        "addon",
        move |ctx: NativeCallContext, c: &mut Cluster, name: Dynamic| {
            addon(&s, &ctx, &c.0, &name, &Dynamic::from(rhai::Map::new()))
        },
    );
    engine.register_get("name", |a: &mut EksAddon| {
        Output::attr(&a.0, "name", a.0.name.rsplit('/').next().map(String::from))
    });
    engine.register_get("version", |a: &mut EksAddon| {
        Output::attr(&a.0, "version", None)
    });
    engine.register_get("arn", |a: &mut EksAddon| Output::attr(&a.0, "arn", None));
}

// Live state ------------------------------------------------------------------

fn live_of(cloud: &Cloud, a: &Addon) -> Option<Live> {
    let (address, tags) = owned_tags(cloud, a.tags())?;
    let cluster = a.cluster_name()?;
    let name = a.addon_name()?;
    let mut l = Live::new(address, format!("{cluster}/{name}"))
        .attr("cluster", Value::str(cluster))
        .attr("name", Value::str(name))
        .attr("version", Value::str(a.addon_version().unwrap_or_default()))
        .output("name", name)
        .output("version", a.addon_version().unwrap_or_default())
        .output("arn", a.addon_arn().unwrap_or_default());
    if let Some(k) = a.tags().and_then(|t| t.get(K8S_TAG)) {
        l.attrs.insert("k8s_version".into(), Value::str(k));
    }
    if let Some(r) = a.service_account_role_arn() {
        l.attrs.insert("service_account_role".into(), Value::str(r));
    }
    if !a.pod_identity_associations().is_empty() {
        l.outputs
            .insert(POD_ARNS.into(), a.pod_identity_associations().join(","));
    }
    if let Some(c) = a.configuration_values().filter(|c| !c.is_empty()) {
        // EKS takes JSON or YAML; what is not JSON compares as text.
        let v = serde_json::from_str::<serde_json::Value>(c)
            .ok()
            .and_then(|j| Value::from_json(&j).ok())
            .unwrap_or_else(|| Value::str(c));
        l.attrs.insert("configuration".into(), v);
    }
    if !tags.is_empty() {
        l.attrs.insert("tags".into(), Value::Map(tags));
    }
    Some(l)
}

async fn describe(
    cloud: &Cloud,
    cluster: &str,
    name: &str,
) -> Result<Option<Addon>, ProviderError> {
    describe_in_cluster!(
        cloud,
        cluster,
        describe_addon,
        addon_name(name),
        "DescribeAddon",
        addon
    )
}

/// The add-ons of the owned clusters: one list per cluster, then each
/// add-on's description (which carries its tags).
pub async fn read(cloud: &Cloud, clusters: &[String]) -> Result<Vec<Live>, ProviderError> {
    let found = read_per_cluster!(cloud, clusters, list_addons, "ListAddons", AddonStatus)?;
    futures::future::join_all(found.into_iter().map(|l| with_pods(cloud, l)))
        .await
        .into_iter()
        .collect()
}

/// Where `live_of` leaves the ARNs of the add-on's Pod Identity
/// associations for [`with_pods`] to read.
const POD_ARNS: &str = "pod_identity_associations";

/// The version to run: the declared one, or EKS's default for the
/// Kubernetes version.
async fn version_for(cloud: &Cloud, r: &Planned) -> Result<Option<String>, ProviderError> {
    if let Some(v) = r.get("version")?.and_then(Value::as_str) {
        return Ok(Some(v.to_string()));
    }
    let Some(k8s) = r.get("k8s_version")?.and_then(Value::as_str) else {
        return Ok(None);
    };
    let name = r.str("name")?;
    let out = cloud
        .eks()
        .describe_addon_versions()
        .addon_name(name)
        .kubernetes_version(k8s)
        .send()
        .await
        .map_err(ProviderError::api("DescribeAddonVersions"))?;
    let default = out
        .addons()
        .iter()
        .flat_map(|a| a.addon_versions())
        .find(|v| {
            v.compatibilities()
                .iter()
                .any(|c| c.cluster_version() == Some(k8s) && c.default_version())
        })
        .and_then(|v| v.addon_version())
        .map(String::from);
    default.map(Some).ok_or_else(|| {
        ProviderError::Spec(format!(
            "{}: EKS offers no version of {name} for Kubernetes {k8s}",
            r.address
        ))
    })
}

/// The add-on's Pod Identity associations as EKS takes them.
fn pod_identity(
    r: &Planned,
) -> Result<Option<Vec<aws_sdk_eks::types::AddonPodIdentityAssociations>>, ProviderError> {
    let list = r
        .get("pod_identity")?
        .and_then(Value::as_list)
        .unwrap_or_default();
    if list.is_empty() {
        return Ok(None);
    }
    list.iter()
        .map(|p| {
            let get = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or_default();
            aws_sdk_eks::types::AddonPodIdentityAssociations::builder()
                .service_account(get("service_account"))
                .role_arn(get("role"))
                .build()
                .map_err(|e| ProviderError::Spec(format!("{}: {e}", r.address)))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// The add-on with its Pod Identity associations read: EKS describes an
/// add-on with their ARNs only, so each is described (for its service
/// account and role), only for add-ons that have any.
async fn with_pods(cloud: &Cloud, mut l: Live) -> Result<Live, ProviderError> {
    let Some(arns) = l.outputs.remove(POD_ARNS) else {
        l.attrs
            .insert("pod_identity".into(), Value::List(Vec::new()));
        return Ok(l);
    };
    let cluster = l
        .attrs
        .get("cluster")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let cluster = cluster.as_str();
    let ids: Vec<&str> = arns
        .split(',')
        .filter_map(|arn| arn.rsplit('/').next())
        .collect();
    let described = futures::future::join_all(ids.iter().map(|id| async move {
        let out = cloud
            .eks()
            .describe_pod_identity_association()
            .cluster_name(cluster)
            .association_id(*id)
            .send()
            .await
            .map_err(ProviderError::api("DescribePodIdentityAssociation"))?;
        Ok::<_, ProviderError>(out.association().cloned())
    }))
    .await;
    let mut pods = Vec::new();
    for d in described {
        if let Some(p) = d? {
            pods.push(Value::Map(Map::from([
                (
                    "service_account".into(),
                    Value::str(p.service_account().unwrap_or_default()),
                ),
                ("role".into(), Value::str(p.role_arn().unwrap_or_default())),
            ])));
        }
    }
    pods.sort_by_key(|p| p.get("service_account").map(Value::to_string));
    l.attrs.insert("pod_identity".into(), Value::List(pods));
    Ok(l)
}

/// The configuration values as EKS takes them: JSON text.
fn configuration(r: &Planned) -> Result<Option<String>, ProviderError> {
    Ok(r.get("configuration")?.map(|v| v.to_json().to_string()))
}

fn tags(
    cloud: &Cloud,
    r: &Planned,
) -> Result<std::collections::HashMap<String, String>, ProviderError> {
    let mut t = tag_map(cloud, r);
    if let Some(k) = r.get("k8s_version")?.and_then(Value::as_str) {
        t.insert(K8S_TAG.into(), k.to_string());
    }
    Ok(t)
}

fn resolve(r: &Planned) -> Result<ResolveConflicts, ProviderError> {
    Ok(match r.str("resolve_conflicts")? {
        "preserve" => ResolveConflicts::Preserve,
        "none" => ResolveConflicts::None,
        _ => ResolveConflicts::Overwrite,
    })
}

async fn wait_active(cloud: &Cloud, cluster: &str, name: &str) -> Result<Live, ProviderError> {
    let live = wait_for(
        cloud,
        &format!("add-on {name} of {cluster} to become ACTIVE"),
        || async {
            match describe(cloud, cluster, name).await? {
                Some(a) if a.status() == Some(&AddonStatus::Active) => {
                    Ok(Some(live_of(cloud, &a).ok_or_else(|| {
                        ProviderError::Unexpected(format!("add-on {name} lost its tags"))
                    })?))
                }
                Some(a)
                    if matches!(
                        a.status(),
                        Some(
                            AddonStatus::CreateFailed
                                | AddonStatus::UpdateFailed
                                | AddonStatus::Degraded
                        )
                    ) =>
                {
                    let issues: Vec<String> = a
                        .health()
                        .map(|h| {
                            h.issues()
                                .iter()
                                .map(|i| i.message().unwrap_or_default().to_string())
                                .collect()
                        })
                        .unwrap_or_default();
                    Err(ProviderError::Unexpected(format!(
                        "add-on {name} of {cluster} is {:?}: {}",
                        a.status(),
                        issues.join("; ")
                    )))
                }
                _ => Ok(None),
            }
        },
    )
    .await?;
    with_pods(cloud, live).await
}

pub async fn create(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    let cluster = r.str("cluster")?;
    let name = r.str("name")?;
    if let Some(existing) = describe(cloud, cluster, name).await? {
        // An add-on installed before (by EKS, by hand, or by an interrupted
        // apply) is taken over: tagged as the blueprint's, then brought to
        // the declaration.
        cloud
            .eks()
            .tag_resource()
            .resource_arn(existing.addon_arn().unwrap_or_default())
            .set_tags(Some(tags(cloud, r)?))
            .send()
            .await
            .map_err(ProviderError::api("TagResource"))?;
        let live = wait_active(cloud, cluster, name).await?;
        let all: Vec<FieldDiff> = [
            "version",
            "k8s_version",
            "service_account_role",
            "configuration",
            "pod_identity",
        ]
        .iter()
        .map(|f| FieldDiff {
            path: f.to_string(),
            before: Value::Null,
            after: Value::Null,
            forces_replacement: false,
            origin: None,
        })
        .collect();
        return update(cloud, r, &live, &all).await;
    } else {
        cloud
            .eks()
            .create_addon()
            .cluster_name(cluster)
            .addon_name(name)
            .set_addon_version(version_for(cloud, r).await?)
            .set_service_account_role_arn(
                r.get("service_account_role")?
                    .and_then(Value::as_str)
                    .map(String::from),
            )
            .set_configuration_values(configuration(r)?)
            .set_pod_identity_associations(pod_identity(r)?)
            .resolve_conflicts(resolve(r)?)
            .client_request_token(cloud.client_token(&r.address))
            .set_tags(Some(tags(cloud, r)?))
            .send()
            .await
            .map_err(ProviderError::api("CreateAddon"))?;
    }
    wait_active(cloud, cluster, name).await
}

pub async fn update(
    cloud: &Cloud,
    r: &Planned,
    live: &Live,
    fields: &[FieldDiff],
) -> Result<Live, ProviderError> {
    let cluster = r.str("cluster")?;
    let name = r.str("name")?;
    let moves = touches(fields, "version") || touches(fields, "k8s_version");
    let pods = touches(fields, "pod_identity");
    if moves || pods || touches(fields, "service_account_role") || touches(fields, "configuration")
    {
        let mut call = cloud
            .eks()
            .update_addon()
            .cluster_name(cluster)
            .addon_name(name)
            .resolve_conflicts(resolve(r)?)
            .set_service_account_role_arn(
                r.get("service_account_role")?
                    .and_then(Value::as_str)
                    .map(String::from),
            )
            .set_configuration_values(configuration(r)?);
        if pods {
            // All of them, none to take them all away.
            call = call.set_pod_identity_associations(Some(pod_identity(r)?.unwrap_or_default()));
        }
        if moves {
            call = call.set_addon_version(version_for(cloud, r).await?);
        }
        let out = call
            .send()
            .await
            .map_err(ProviderError::api("UpdateAddon"))?;
        super::cluster::wait_update(cloud, cluster, out.update(), None, Some(name)).await?;
        wait_active(cloud, cluster, name).await?;
    }
    if touches(fields, "tags") || touches(fields, "k8s_version") {
        let arn = live.outputs.get("arn").cloned().unwrap_or_default();
        sync_tags(cloud, &arn, r, live).await?;
        if let Some(k) = r.get("k8s_version")?.and_then(Value::as_str) {
            cloud
                .eks()
                .tag_resource()
                .resource_arn(&arn)
                .tags(K8S_TAG, k)
                .send()
                .await
                .map_err(ProviderError::api("TagResource"))?;
        }
    }
    wait_active(cloud, cluster, name).await
}

pub async fn delete(cloud: &Cloud, live: &Live) -> Result<(), ProviderError> {
    let (cluster, name) = super::id_parts(live, "add-on")?;
    cloud
        .eks()
        .delete_addon()
        .cluster_name(cluster)
        .addon_name(name)
        .send()
        .await
        .gone("DeleteAddon")?;
    super::wait_gone(cloud, &format!("add-on {name} of {cluster}"), || {
        describe(cloud, cluster, name)
    })
    .await
}

/// The add-ons of every cluster in the region, for `:live`.
pub async fn list(cloud: &Cloud) -> Result<Vec<Row>, ProviderError> {
    let clusters = super::cluster::all_names(cloud).await?;
    let mut rows = Vec::new();
    for c in &clusters {
        let names = cloud
            .eks()
            .list_addons()
            .cluster_name(c)
            .send()
            .await
            .map_err(ProviderError::api("ListAddons"))?;
        for n in names.addons() {
            let a = describe(cloud, c, n).await?;
            rows.push(Row {
                id: format!("{c}/{n}"),
                name: n.clone(),
                details: a
                    .as_ref()
                    .and_then(|a| a.addon_version())
                    .unwrap_or_default()
                    .to_string(),
                owner: a.as_ref().and_then(|a| {
                    crate::providers::inventory::tag_owner(|k| {
                        a.tags().and_then(|t| t.get(k)).cloned()
                    })
                }),
            });
        }
    }
    Ok(rows)
}

/// `bp adopt`: tags the add-on `cluster/name` as the blueprint's.
async fn adopt(cloud: &Cloud, id: &str, tags: &[(String, String)]) -> Result<(), ProviderError> {
    let (cluster, name) = super::child_id("add-on", id)?;
    let found = describe(cloud, cluster, name).await?;
    super::tag_found(
        cloud,
        found.as_ref().and_then(|x| x.addon_arn()),
        &format!("add-on {id}"),
        tags,
    )
    .await
}
