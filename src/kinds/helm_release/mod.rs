//! Helm releases: `c.helm_release(name, #{ namespace, chart, repo?,
//! version?, values?, values_files?, create_namespace?, wait?, timeout?,
//! atomic?, adopt? })`. Plans read Helm's release records natively (one
//! LIST per cluster, no helm process) and diff the chart, its version, the
//! values by key path (sensitive ones as `(sensitive)`) and the release's
//! status; applies run the user's helm (`upgrade --install`, `uninstall`)
//! with values and kubeconfig in private files.

mod chart_ref;
mod drift;
pub mod records;

use super::k8s::object::{owner_value, MANAGED_BY, OWNER_LABEL, WHERE};
use super::k8s::{on_clusters, ClusterRef, ADOPT_OPT};
use crate::handle;
use crate::kinds::{Diff, Field, InCluster, KindDef};
use crate::model::schema::{Schema, Scope};
use crate::model::{Address, Graph, Kind, Live, Map, Problem, Value};
use crate::providers::helm::File;
use crate::providers::kube::Conn;
use crate::providers::{Cloud, Planned, ProviderError, Row};
use crate::script::api::{name_arg, opts_arg};
use crate::script::schema::{def, opt, req, FnDoc, Opt, Ty};
use crate::script::state::{declare, fail, Deps, Fallible, Opts, Shared};
use futures::future::BoxFuture;
use rhai::{Dynamic, Engine, NativeCallContext};
use std::path::Path;

pub const KIND: Kind = Kind::of(&SCHEMA);

crate::handle_type!(HelmRelease);

/// The label that records the digest of a local chart's files.
const DIGEST_LABEL: &str = "blueprint.dev/chart-digest";

const OPTS: &[Opt] = &[
    req("namespace", Ty::Str, "the release's namespace"),
    req("chart", Ty::Str, "a chart folder inside the blueprint's folder (\"./charts/api\"), a chart name with repo and version, or an oci:// reference with version"),
    opt("repo", Ty::Str, "the chart repository's URL (https)"),
    opt("version", Ty::Str, "the chart's version; required with repo and oci:// (pin versions)"),
    opt("values", Ty::AnyMap, "values, merged over values_files; handle properties (eks.name, role.arn) and sops_file values work in it"),
    opt("values_files", Ty::StrList, "YAML files inside the blueprint's folder, merged in order"),
    def("create_namespace", Ty::Bool, "false", "create the namespace if it does not exist"),
    def("wait", Ty::Bool, "false", "wait until the release's resources are ready"),
    def("timeout", Ty::Str, "5m", "how long helm waits (with wait or atomic), e.g. \"10m\""),
    def("atomic", Ty::Bool, "false", "roll back a failed upgrade"),
    ADOPT_OPT,
];

const FUNCTIONS: &[FnDoc] = &[HELM_RELEASE, super::backups::DOC, super::karpenter::DOC];

const HELM_RELEASE: FnDoc = FnDoc {
    name: "helm_release",
    signature: "cluster.helm_release(name, #{ namespace, chart, repo?, version?, values?, values_files?, create_namespace?, wait?, timeout?, atomic?, adopt? }) -> HelmRelease",
    doc: "A Helm release in the cluster, installed and upgraded with the user's helm; plans read Helm's release records directly.",
    options: OPTS,
    method_of: Some("Cluster"),
};

fn problem(msg: impl Into<String>, hint: &str) -> Problem {
    Problem::new(msg).hint(hint)
}

/// Values merged: maps key by key, anything else replaced.
fn merge(into: &mut Value, over: Value) {
    match (into, over) {
        (Value::Map(a), Value::Map(b)) => {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        a.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

/// A digest of a chart folder's files (names and contents, in order).
fn digest(dir: &Path) -> Result<String, String> {
    use sha2::{Digest, Sha256};
    fn walk(dir: &Path, root: &Path, out: &mut Vec<(String, Vec<u8>)>) -> Result<(), String> {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .filter_map(Result::ok)
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let p = e.path();
            if p.is_dir() {
                walk(&p, root, out)?;
            } else {
                let rel = p
                    .strip_prefix(root)
                    .unwrap_or(&p)
                    .to_string_lossy()
                    .into_owned();
                out.push((
                    rel,
                    std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?,
                ));
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(dir, dir, &mut files)?;
    let mut h = Sha256::new();
    for (name, body) in files {
        h.update(name.as_bytes());
        h.update([0]);
        h.update((body.len() as u64).to_le_bytes());
        h.update(&body);
    }
    Ok(hex::encode(h.finalize())[..40].to_string())
}

/// Where a chart comes from, as the spec records it for apply.
fn source(state: &Shared, ctx: &NativeCallContext, o: &Opts, spec: &mut Map) -> Fallible<()> {
    let chart = o.str("chart").unwrap_or_default();
    let repo = o.str("repo");
    let version = o.str("version");
    let is_local = chart.starts_with("./") || chart.starts_with("../") || chart.starts_with('/');
    if is_local {
        if repo.is_some() {
            return Err(fail(
                ctx,
                problem(
                    "a chart folder takes no repo",
                    "give repo only with a chart name",
                ),
            ));
        }
        let root = state.borrow().root.clone();
        let dir = crate::script::resolver::inside(&root, &chart).map_err(|m| {
            fail(
                ctx,
                problem(
                    format!("helm_release: {m}"),
                    "charts live in the blueprint's folder",
                ),
            )
        })?;
        let text = std::fs::read_to_string(dir.join("Chart.yaml")).map_err(|e| {
            fail(
                ctx,
                problem(
                    format!("helm_release: \"{chart}\" has no readable Chart.yaml: {e}"),
                    "a chart folder holds Chart.yaml and templates/",
                ),
            )
        })?;
        let meta: serde_json::Value = serde_saphyr::from_str(&text).map_err(|e| {
            fail(
                ctx,
                Problem::new(format!(
                    "helm_release: \"{chart}/Chart.yaml\" is not valid YAML: {e}"
                )),
            )
        })?;
        let (Some(name), Some(v)) = (meta["name"].as_str(), meta["version"].as_str()) else {
            return Err(fail(
                ctx,
                Problem::new(format!(
                    "helm_release: \"{chart}/Chart.yaml\" has no name or version"
                )),
            ));
        };
        if let Some(given) = &version {
            if given != v {
                return Err(fail(ctx, problem(
                    format!("helm_release: version \"{given}\" is not the version of \"{chart}\" ({v})"),
                    "a chart folder's version comes from its Chart.yaml: leave version out",
                )));
            }
        }
        let sum =
            digest(&dir).map_err(|e| fail(ctx, Problem::new(format!("helm_release: {e}"))))?;
        spec.insert("chart".into(), Value::str(name));
        spec.insert("version".into(), Value::str(v));
        spec.insert("chart_digest".into(), Value::Str(sum));
        spec.insert(
            "source".into(),
            Value::Str(format!("path:{}", dir.display())),
        );
        return Ok(());
    }
    let Some(version) = version else {
        return Err(fail(
            ctx,
            problem(
                format!("helm_release: the chart \"{chart}\" has no version"),
                "pin versions: give the chart's version, e.g. version: \"9.37.0\"",
            ),
        ));
    };
    let refused = |r: chart_ref::Refusal| fail(ctx, problem(r.message, r.hint));
    chart_ref::version(&version).map_err(refused)?;
    if chart.starts_with("oci://") {
        if repo.is_some() {
            return Err(fail(
                ctx,
                problem(
                    "an oci:// chart takes no repo",
                    "the reference names the registry",
                ),
            ));
        }
        let name = chart_ref::oci(&chart).map_err(refused)?;
        spec.insert("chart".into(), Value::str(name));
        spec.insert("source".into(), Value::Str(format!("oci:{chart}")));
    } else {
        let Some(repo) = repo else {
            return Err(fail(ctx, problem(
                format!("helm_release: the chart \"{chart}\" needs a repo"),
                "give the chart repository's URL, a chart folder (\"./charts/x\"), or an oci:// reference",
            )));
        };
        chart_ref::repository(&repo).map_err(refused)?;
        if chart.contains('/') {
            return Err(fail(
                ctx,
                problem(
                    format!("helm_release: \"{chart}\" is a repository/chart name"),
                    "give the chart's own name and the repository's URL in repo",
                ),
            ));
        }
        chart_ref::chart_name(&chart).map_err(refused)?;
        spec.insert("chart".into(), Value::str(&chart));
        spec.insert("source".into(), Value::Str(format!("repo:{repo}")));
    }
    spec.insert("version".into(), Value::Str(version));
    Ok(())
}

pub(crate) fn helm_release(
    state: &Shared,
    ctx: &NativeCallContext,
    c: &ClusterRef,
    name: &Dynamic,
    opts: &Dynamic,
) -> Fallible<HelmRelease> {
    let name = name_arg(ctx, "helm_release", name)?;
    let map = opts_arg(ctx, "helm_release", opts, OPTS)?;
    let o = Opts(&map);
    crate::script::state::check_name(ctx, KIND, &name)?;
    let namespace = o.str("namespace").unwrap_or_default();
    crate::script::state::check_name(ctx, super::k8s::namespace::KIND, &namespace)?;
    let timeout = o.str("timeout").unwrap_or_else(|| "5m".into());
    let valid_timeout = !timeout.is_empty()
        && timeout.split_inclusive(['h', 'm', 's']).all(|p| {
            p.strip_suffix(['h', 'm', 's'])
                .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        });
    if !valid_timeout {
        return Err(fail(
            ctx,
            problem(
                format!("helm_release: timeout \"{timeout}\" is not a duration"),
                "durations look like \"300s\", \"10m\" or \"1h30m\"",
            ),
        ));
    }
    let mut spec = Map::new();
    source(state, ctx, &o, &mut spec)?;
    let mut deps = Deps::default();
    let mut values = Value::Map(Map::new());
    let root = state.borrow().root.clone();
    for f in o.strs("values_files") {
        let path = crate::script::resolver::inside(&root, &f).map_err(|m| {
            fail(
                ctx,
                problem(
                    format!("helm_release: {m}"),
                    "values files live in the blueprint's folder",
                ),
            )
        })?;
        let text = std::fs::read_to_string(&path).map_err(|e| {
            fail(
                ctx,
                Problem::new(format!("helm_release: cannot read \"{f}\": {e}")),
            )
        })?;
        let doc: serde_json::Value = serde_saphyr::from_str(&text).map_err(|e| {
            fail(
                ctx,
                Problem::new(format!("helm_release: \"{f}\" is not valid YAML: {e}")),
            )
        })?;
        let v = Value::from_json(&doc)
            .map_err(|e| fail(ctx, Problem::new(format!("helm_release: \"{f}\": {e}"))))?;
        if !matches!(v, Value::Map(_) | Value::Null) {
            return Err(fail(
                ctx,
                Problem::new(format!("helm_release: \"{f}\" is not a map of values")),
            ));
        }
        if let Value::Map(_) = v {
            merge(&mut values, v);
        }
    }
    if let Some(v) = o.get("values") {
        merge(&mut values, deps.value(v));
    }
    spec.insert("values".into(), values);
    spec.insert("status".into(), Value::str("deployed"));
    // Edits made behind Helm's back are none.
    spec.insert("drift".into(), Value::List(Vec::new()));
    for (k, d) in [
        ("create_namespace", false),
        ("wait", false),
        ("atomic", false),
        ("adopt", false),
    ] {
        spec.insert(k.into(), Value::Bool(o.bool_or(k, d)));
    }
    spec.insert("timeout".into(), Value::Str(timeout));
    // After the cluster, its node groups (releases run pods) and the
    // namespace when the blueprint declares it.
    if let Some(cluster) = &c.resource {
        deps.add(cluster);
        let prefix = format!("{}/", c.name);
        let st = state.borrow();
        for r in st.graph.iter().filter(|r| {
            (r.address.kind == crate::kinds::eks::node_group::KIND
                || r.address.kind == crate::kinds::eks::fargate_profile::KIND)
                && r.address.name.starts_with(&prefix)
        }) {
            deps.add(&r.address);
        }
    }
    let ns_address = super::k8s::namespace::OBJ.address(&c.name, None, &namespace);
    if state.borrow().graph.contains(&ns_address) {
        deps.add(&ns_address);
    }
    let address = Address::new(KIND, format!("{}/{namespace}/{name}", c.name));
    declare(state, ctx, address.clone(), spec, deps)?;
    Ok(HelmRelease(address))
}

fn register(engine: &mut Engine, state: &Shared) {
    HelmRelease::register_type(engine);
    on_clusters(engine, state, "helm_release", helm_release);
    // Velero backups are made of Helm, IAM and in-cluster resources.
    super::backups::register(engine, state);
    super::karpenter::register(engine, state);
}

// Live state ------------------------------------------------------------------

/// `(cluster, namespace, name)` of an address.
fn locate(a: &Address) -> Result<(&str, &str, &str), ProviderError> {
    let parts: Vec<&str> = a.name.split('/').collect();
    match parts.as_slice() {
        [c, ns, n] => Ok((c, ns, n)),
        _ => Err(ProviderError::Spec(format!(
            "{a} is not a Helm release address"
        ))),
    }
}

fn owned(r: &records::Release, blueprint: &str) -> bool {
    r.labels.get(MANAGED_BY).map(String::as_str) == Some("blueprint")
        && r.labels.get(OWNER_LABEL) == Some(&owner_value(blueprint))
}

fn to_live(cluster: &str, r: &records::Release) -> Live {
    let address = Address::new(KIND, format!("{cluster}/{}/{}", r.namespace, r.name));
    let mut l = Live::new(address, format!("{}/{}", r.namespace, r.name))
        .attr("chart", Value::str(&r.chart))
        .attr("version", Value::str(&r.version))
        .attr("values", Value::from_json(&r.values).unwrap_or(Value::Null))
        .attr("status", Value::str(&r.status))
        .attr(
            "last_deployed",
            r.last_deployed
                .map(|d| Value::Int(d as i64))
                .unwrap_or_default(),
        )
        .attr(
            "where",
            Value::List(vec![
                Value::Str(format!("cluster.{cluster}")),
                Value::Str(format!("namespace.{cluster}/{}", r.namespace)),
            ]),
        )
        .output("name", &r.name)
        .output("namespace", &r.namespace)
        .output("revision", r.revision.to_string());
    if let Some(d) = r.labels.get(DIGEST_LABEL) {
        l = l.attr("chart_digest", Value::str(d));
    }
    l
}

const RECORDS: &str = "/api/v1/secrets";

/// Every release record of a cluster in one LIST; the latest revision of
/// each owned release.
fn read<'a>(
    cloud: &'a Cloud,
    conn: &'a Conn,
    _desired: &'a Graph,
) -> BoxFuture<'a, Result<Vec<Live>, ProviderError>> {
    Box::pin(async move {
        let items = conn
            .list(
                &format!("list Helm release records in {}", conn.cluster),
                RECORDS,
                &format!(
                    "owner=helm,{MANAGED_BY}=blueprint,{OWNER_LABEL}={}",
                    owner_value(&cloud.blueprint)
                ),
            )
            .await?;
        // Each release's objects are read in parallel with the others'.
        let releases = records::latest(&items);
        let lives = releases
            .iter()
            .filter(|r| owned(r, &cloud.blueprint))
            .map(|r| async move {
                let mut live = to_live(&conn.cluster, r);
                let drift = drift::of(conn, &r.manifest, &r.namespace).await;
                live.attrs.insert(
                    "drift".into(),
                    Value::List(drift.into_iter().map(Value::Str).collect()),
                );
                live
            });
        Ok(futures::future::join_all(lives).await)
    })
}

/// The latest record of one release, owned or not.
async fn release(
    conn: &Conn,
    namespace: &str,
    name: &str,
) -> Result<Option<records::Release>, ProviderError> {
    let items = conn
        .list(
            &format!("read the Helm release {namespace}/{name}"),
            &format!("/api/v1/namespaces/{namespace}/secrets"),
            &format!("owner=helm,name={name}"),
        )
        .await?;
    Ok(records::latest(&items).into_iter().next())
}

/// A release of that name that is not this blueprint's is refused unless
/// the declaration says `adopt: true`.
async fn refuse_foreign(cloud: &Cloud, conn: &Conn, r: &Planned) -> Result<(), ProviderError> {
    let (_, ns, name) = locate(&r.address)?;
    if r.spec.get("adopt").and_then(Value::as_bool) == Some(true) {
        return Ok(());
    }
    match release(conn, ns, name).await? {
        Some(existing) if !owned(&existing, &cloud.blueprint) => Err(ProviderError::Unsupported(format!(
            "the Helm release {ns}/{name} exists in cluster {} and is not this blueprint's \
             (chart {} {}, status {}); it is not taken over silently: declare it with adopt: true to manage it",
            conn.cluster, existing.chart, existing.version, existing.status
        ))),
        _ => Ok(()),
    }
}

/// Before an install or upgrade: helm is there and recent enough, the
/// release is not someone else's, and, for an upgrade, the manifest diff.
fn check<'a>(
    cloud: &'a Cloud,
    r: &'a Planned,
    live: Option<&'a Live>,
) -> BoxFuture<'a, Result<Vec<String>, ProviderError>> {
    Box::pin(async move {
        cloud.helm().await?;
        let (cluster, _, _) = locate(&r.address)?;
        let conn = cloud.kube(cluster).await?;
        let Some(live) = live else {
            refuse_foreign(cloud, &conn, r).await?;
            return Ok(Vec::new());
        };
        let mut notes: Vec<String> = recovery(live).into_iter().map(|(_, said)| said).collect();
        notes.extend(manifest_diff(cloud, &conn, r).await);
        Ok(notes)
    })
}

/// The chart as `helm upgrade` and `helm template` take it: the positional chart (a path, an oci://
/// reference or a chart name) and the flags that go with it, each flag and
/// its value in one argument.
fn chart_args(r: &Planned) -> Result<(String, Vec<String>), ProviderError> {
    let str_of = |k: &str| {
        r.spec
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let source = str_of("source");
    let version = format!("--version={}", str_of("version"));
    if let Some(path) = source.strip_prefix("path:") {
        Ok((path.into(), Vec::new()))
    } else if let Some(reference) = source.strip_prefix("oci:") {
        Ok((reference.into(), vec![version]))
    } else if let Some(repo) = source.strip_prefix("repo:") {
        Ok((str_of("chart"), vec![format!("--repo={repo}"), version]))
    } else {
        Err(ProviderError::Spec(format!(
            "{}: no chart source",
            r.address
        )))
    }
}

/// The objects of a multi-document manifest by `Kind namespace/name`.
fn objects(manifest: &str) -> std::collections::BTreeMap<String, serde_json::Value> {
    let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(manifest).unwrap_or_default();
    docs.into_iter()
        .filter(|d| d.is_object())
        .map(|d| {
            let key = format!(
                "{} {}/{}",
                d["kind"].as_str().unwrap_or("?"),
                d["metadata"]["namespace"].as_str().unwrap_or("-"),
                d["metadata"]["name"].as_str().unwrap_or("?")
            );
            (key, d)
        })
        .collect()
}

/// A Secret's values replaced: `(sensitive)`, or on the new side
/// `(sensitive, changed)` where the value differs from the old one.
fn redact_secret(obj: &mut serde_json::Value, old: Option<&serde_json::Value>, is_new: bool) {
    if obj["kind"] != "Secret" {
        return;
    }
    for field in ["data", "stringData"] {
        if let Some(m) = obj.get_mut(field).and_then(|v| v.as_object_mut()) {
            for (k, v) in m.iter_mut() {
                let same = !is_new || old.and_then(|o| o[field].get(k)) == Some(&*v);
                *v = serde_json::Value::String(
                    if same {
                        "(sensitive)"
                    } else {
                        "(sensitive, changed)"
                    }
                    .into(),
                );
            }
        }
    }
}

/// Like helm-diff: the chart rendered with the new values and version
/// (`helm template`), compared object by object with the manifest stored
/// in the release; Secrets redacted. When it cannot be rendered, why.
async fn manifest_diff(cloud: &Cloud, conn: &Conn, r: &Planned) -> Vec<String> {
    let note = |why: String| vec![format!("manifests not compared: {why}")];
    if r.spec.get("values").is_some_and(|v| !v.refs().is_empty()) {
        return note("some values are known only after apply".into());
    }
    let Ok((_, ns, name)) = locate(&r.address) else {
        return Vec::new();
    };
    let stored = match release(conn, ns, name).await {
        Ok(Some(rel)) => rel.manifest,
        Ok(None) => return Vec::new(),
        Err(e) => return note(e.to_string()),
    };
    let Ok(helm) = cloud.helm().await else {
        return Vec::new();
    };
    let Ok((chart, chart_flags)) = chart_args(r) else {
        return Vec::new();
    };
    // As the release stores it: no hooks, no tests, rendered as an upgrade.
    // Positional arguments follow `--`, so that none is read as a flag.
    let mut args: Vec<String> = vec![
        "template".into(),
        "--no-hooks".into(),
        "--skip-tests".into(),
        "--is-upgrade".into(),
        format!("--namespace={ns}"),
        "--values={dir}/values.json".into(),
    ];
    args.extend(chart_flags);
    args.extend(["--".into(), name.into(), chart]);
    let values = r
        .spec
        .get("values")
        .map(Value::to_json)
        .unwrap_or_else(|| serde_json::json!({}))
        .to_string();
    let rendered = match helm
        .run(
            &format!("render {}", r.address),
            &args,
            &[File {
                name: "values.json",
                text: &values,
            }],
        )
        .await
    {
        Ok(out) => out,
        Err(ProviderError::Helm { stderr, .. }) => {
            let first = r.redact(stderr.lines().next().unwrap_or("helm template failed"));
            return note(format!("helm template failed: {first}"));
        }
        Err(e) => return note(e.to_string()),
    };
    let before = objects(&stored);
    let after = objects(&rendered);
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out = Vec::new();
    for key in keys {
        let mut old = before.get(key).cloned();
        let mut new = after.get(key).cloned();
        if let Some(o) = old.as_mut() {
            redact_secret(o, None, false);
        }
        if let Some(n) = new.as_mut() {
            redact_secret(n, before.get(key), true);
        }
        let text = |v: &Option<serde_json::Value>| {
            v.as_ref()
                .map(|v| serde_saphyr::to_string(v).unwrap_or_default())
                .unwrap_or_default()
        };
        let (a, b) = (text(&old), text(&new));
        if a == b {
            continue;
        }
        let diff = similar::TextDiff::from_lines(&a, &b);
        let mut lines = vec![format!(
            "{key} ({})",
            match (&old, &new) {
                (None, _) => "added",
                (_, None) => "removed",
                _ => "changed",
            }
        )];
        for change in diff.iter_all_changes() {
            let sign = match change.tag() {
                similar::ChangeTag::Delete => "-",
                similar::ChangeTag::Insert => "+",
                similar::ChangeTag::Equal => continue,
            };
            lines.push(format!("  {sign} {}", change.value().trim_end()));
        }
        out.push(r.redact(&lines.join("\n")));
    }
    out
}

fn kubeconfig_file(conn: &Conn) -> Result<String, ProviderError> {
    serde_saphyr::to_string(&*conn.kubeconfig)
        .map_err(|e| ProviderError::Unexpected(format!("cannot write a kubeconfig for helm: {e}")))
}

/// `helm upgrade --install` with the values and kubeconfig in private files.
async fn install(cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    let helm = cloud.helm().await?;
    let (cluster, ns, name) = locate(&r.address)?;
    let conn = cloud.kube(cluster).await?;
    let what = format!("install or upgrade {}", r.address);
    let str_of = |k: &str| {
        r.spec
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let flag = |k: &str| r.spec.get(k).and_then(Value::as_bool).unwrap_or(false);
    let source = str_of("source");
    let mut labels = format!(
        "{MANAGED_BY}=blueprint,{OWNER_LABEL}={}",
        owner_value(&cloud.blueprint)
    );
    let (chart, chart_flags) = chart_args(r)?;
    if source.starts_with("path:") {
        labels.push_str(&format!(",{DIGEST_LABEL}={}", str_of("chart_digest")));
    }
    // --reset-values: the values given are all the values (helm would
    // otherwise keep the previous ones when none are given). Every flag
    // carries its value in one argument, and the positional arguments
    // follow `--`, so that no script value is read as a flag.
    let mut args: Vec<String> = vec![
        "upgrade".into(),
        "--install".into(),
        "--reset-values".into(),
        format!("--namespace={ns}"),
        "--kubeconfig={dir}/kubeconfig".into(),
        format!("--kube-context={}", conn.context),
        "--values={dir}/values.json".into(),
        format!("--labels={labels}"),
    ];
    args.extend(chart_flags);
    if flag("create_namespace") {
        args.push("--create-namespace".into());
    }
    if flag("wait") {
        args.push("--wait".into());
    }
    if flag("atomic") {
        args.push("--atomic".into());
    }
    if flag("wait") || flag("atomic") {
        args.push(format!("--timeout={}", str_of("timeout")));
    }
    args.extend(["--".into(), name.into(), chart]);
    let values = r
        .spec
        .get("values")
        .map(Value::to_json)
        .unwrap_or_else(|| serde_json::json!({}));
    let kubeconfig = kubeconfig_file(&conn)?;
    let values = values.to_string();
    let files = [
        File {
            name: "kubeconfig",
            text: &kubeconfig,
        },
        File {
            name: "values.json",
            text: &values,
        },
    ];
    if flag("wait") || flag("atomic") {
        crate::providers::report_wait(&format!(
            "helm to see release {ns}/{name} ready ({}, up to {})",
            if flag("atomic") { "--atomic" } else { "--wait" },
            str_of("timeout")
        ));
    }
    helm.run(&what, &args, &files).await.map_err(|e| match e {
        ProviderError::Helm { what, stderr } => ProviderError::Helm {
            what,
            stderr: r.redact(&stderr),
        },
        other => other,
    })?;
    let now = release(&conn, ns, name).await?.ok_or_else(|| {
        ProviderError::Unexpected(format!(
            "helm installed {} but its release record is missing",
            r.address
        ))
    })?;
    Ok(to_live(cluster, &now))
}

fn create<'a>(cloud: &'a Cloud, r: &'a Planned) -> BoxFuture<'a, Result<Live, ProviderError>> {
    Box::pin(async move {
        let (cluster, _, _) = locate(&r.address)?;
        let conn = cloud.kube(cluster).await?;
        refuse_foreign(cloud, &conn, r).await?;
        install(cloud, r).await
    })
}

/// How a release an interrupted helm left pending (`pending-install`,
/// `pending-upgrade`, `pending-rollback`) is recovered before it is
/// upgraded (helm refuses "another operation is in progress" until then):
/// the helm arguments, and what the plan says of it. A rollback to the last
/// revision that was deployed, or an uninstall when none ever was.
fn recovery(live: &Live) -> Option<(Vec<String>, String)> {
    let status = live.attrs.get("status").and_then(Value::as_str)?;
    if !status.starts_with("pending-") {
        return None;
    }
    Some(match live.attrs.get("last_deployed").and_then(Value::as_int) {
        Some(rev) => (
            vec!["rollback".into(), "--".into(), String::new(), rev.to_string()],
            format!("recovery: the release is {status}; apply first rolls it back to revision {rev}, the last deployed"),
        ),
        None => (
            vec!["uninstall".into(), "--".into(), String::new()],
            format!("recovery: the release is {status} and was never deployed; apply first uninstalls it"),
        ),
    })
}

fn update<'a>(
    cloud: &'a Cloud,
    r: &'a Planned,
    live: &'a Live,
    _fields: &'a [crate::plan::FieldDiff],
) -> BoxFuture<'a, Result<Live, ProviderError>> {
    Box::pin(async move {
        if let Some((mut args, _)) = recovery(live) {
            let helm = cloud.helm().await?;
            let (cluster, ns, name) = locate(&r.address)?;
            let conn = cloud.kube(cluster).await?;
            // The release's name goes in the slot after `--`.
            if let Some(slot) = args.iter_mut().find(|a| a.is_empty()) {
                *slot = name.to_string();
            }
            let at = args.iter().position(|a| a == "--").unwrap_or(args.len());
            args.splice(
                at..at,
                [
                    format!("--namespace={ns}"),
                    "--kubeconfig={dir}/kubeconfig".into(),
                    format!("--kube-context={}", conn.context),
                ],
            );
            let kubeconfig = kubeconfig_file(&conn)?;
            helm.run(
                &format!("recover {}", r.address),
                &args,
                &[File {
                    name: "kubeconfig",
                    text: &kubeconfig,
                }],
            )
            .await?;
        }
        install(cloud, r).await
    })
}

fn delete<'a>(cloud: &'a Cloud, l: &'a Live) -> BoxFuture<'a, Result<(), ProviderError>> {
    Box::pin(async move {
        let helm = cloud.helm().await?;
        let (cluster, ns, name) = locate(&l.address)?;
        let conn = cloud.kube(cluster).await?;
        if release(&conn, ns, name).await?.is_none() {
            return Ok(());
        }
        let args: Vec<String> = vec![
            "uninstall".into(),
            format!("--namespace={ns}"),
            "--kubeconfig={dir}/kubeconfig".into(),
            format!("--kube-context={}", conn.context),
            "--".into(),
            name.into(),
        ];
        let kubeconfig = kubeconfig_file(&conn)?;
        helm.run(
            &format!("uninstall {}", l.address),
            &args,
            &[File {
                name: "kubeconfig",
                text: &kubeconfig,
            }],
        )
        .await
        .map(|_| ())
    })
}

/// Every release in the clusters this command reached, owned or not.
fn list<'a>(cloud: &'a Cloud) -> BoxFuture<'a, Result<Vec<Row>, ProviderError>> {
    Box::pin(async move {
        let mut rows = Vec::new();
        for conn in cloud.kube_connections().await {
            let items = conn
                .list(
                    &format!("list Helm release records in {}", conn.cluster),
                    RECORDS,
                    "owner=helm",
                )
                .await?;
            for r in records::latest(&items) {
                rows.push(Row {
                    id: format!("{}/{} v{}", r.namespace, r.name, r.revision),
                    name: format!("{}/{}", r.namespace, r.name),
                    details: format!(
                        "cluster {}, namespace {}, chart {} {}, {}",
                        conn.cluster, r.namespace, r.chart, r.version, r.status
                    ),
                    owner: owned(&r, &cloud.blueprint).then(|| cloud.blueprint.clone()),
                });
            }
        }
        Ok(rows)
    })
}

static IN_CLUSTER: InCluster = InCluster {
    read,
    check,
    independent: true,
};

const FIELDS: &[Field] = &[
    Field::new("chart"),
    Field::new("version"),
    Field::new("chart_digest"),
    Field::new("values").diff(Diff::Tree),
    Field::new("status"),
    Field::new("drift").set(),
    Field::new("source").diff(Diff::Local),
    Field::new("create_namespace").diff(Diff::Local),
    Field::new("wait").diff(Diff::Local),
    Field::new("timeout").diff(Diff::Local),
    Field::new("atomic").diff(Diff::Local),
    Field::new("adopt").diff(Diff::Local),
    WHERE,
];

fn release_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
}

pub static SCHEMA: Schema = Schema::new("helm_release", "HelmRelease", FIELDS)
    .attr("name")
    .names(crate::model::names::NameRule::chars(
        1,
        53,
        release_char,
        "lowercase letters, digits and `-`",
    ))
    .scope(Scope::InCluster);

pub static DEF: KindDef = KindDef::in_cluster(
    KIND,
    handle!(HelmRelease; FUNCTIONS, register; ["address"]),
    crate::ops!(in_cluster),
);

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(status: &str, last_deployed: Option<i64>) -> Live {
        let a: Address = "helm_release.demo/apps/web".parse().unwrap();
        Live::new(a, "apps/web")
            .attr("status", Value::str(status))
            .attr(
                "last_deployed",
                last_deployed.map(Value::Int).unwrap_or_default(),
            )
    }

    #[test]
    fn a_pending_release_is_rolled_back_or_uninstalled() {
        assert!(recovery(&pending("deployed", Some(1))).is_none());
        let (args, said) = recovery(&pending("pending-upgrade", Some(3))).unwrap();
        assert_eq!(args, ["rollback", "--", "", "3"]);
        assert!(said.contains("rolls it back to revision 3"), "{said}");
        let (args, said) = recovery(&pending("pending-install", None)).unwrap();
        assert_eq!(args, ["uninstall", "--", ""]);
        assert!(
            said.contains("was never deployed; apply first uninstalls it"),
            "{said}"
        );
    }

    #[test]
    fn values_merge_key_by_key() {
        let mut a =
            Value::from_json(&serde_json::json!({"x": {"a": 1, "b": 2}, "l": [1]})).unwrap();
        let b = Value::from_json(&serde_json::json!({"x": {"b": 3}, "l": [2], "n": true})).unwrap();
        merge(&mut a, b);
        assert_eq!(
            a.to_json(),
            serde_json::json!({"x": {"a": 1, "b": 3}, "l": [2], "n": true})
        );
    }
}
