//! Any other Kubernetes object, CRDs and custom resources included:
//! `c.manifest(map)` (or `ns.manifest(map)`, which sets the namespace) and
//! `c.manifests(path)`, a multi-document YAML file inside the blueprint's
//! folder. Each object is checked for `apiVersion`, `kind` and
//! `metadata.name` before any call; its address is
//! `manifest.<cluster>/<namespace>/<Kind>/<name>` (or
//! `manifest.<cluster>/<Kind>/<name>` for cluster-scoped kinds).
//!
//! Where its kind is served (the plural, the scope) comes from the server's
//! discovery. Reads list the kinds the blueprint declares manifests of. A
//! CustomResourceDefinition is waited for until Established, and custom
//! resources of its group are created after it.

use super::object::{self, ObjectKind, ADOPT, ANNOTATIONS, LABELS, WHERE};
use super::{declare_object, ClusterRef, Declaration, NamespaceRef};
use crate::handle;
use crate::kinds::{Diff, Field, InCluster, KindDef};
use crate::model::schema::{Schema, Scope};
use crate::model::{Address, Graph, Kind, Live, Map, Problem, Value};
use crate::providers::kube::Conn;
use crate::providers::{Cloud, Planned, ProviderError, Row};
use crate::script::schema::FnDoc;
use crate::script::state::{fail, Deps, Fallible, Shared};
use futures::future::BoxFuture;
use rhai::{Dynamic, Engine, NativeCallContext};
use std::borrow::Cow;
use std::collections::BTreeSet;

pub const KIND: Kind = Kind::of(&SCHEMA);

crate::handle_type!(Manifest);

const CRD: &str = "CustomResourceDefinition";

/// Built-in kinds that live in a namespace, and those that do not, so that a
/// missing or stray `metadata.namespace` is an error before any call.
const NAMESPACED: &[&str] = &[
    "Pod",
    "Service",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
    "CronJob",
    "ConfigMap",
    "Secret",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "NetworkPolicy",
    "Ingress",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "PersistentVolumeClaim",
    "Endpoints",
    "LimitRange",
    "ResourceQuota",
    "Lease",
];
/// Kinds that run pods: on a cluster the blueprint manages, they come after
/// its node groups and Fargate profiles (declared before them).
const WORKLOADS: &[&str] = &[
    "Pod",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
    "CronJob",
];
const CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "Node",
    "PersistentVolume",
    "StorageClass",
    "ClusterRole",
    "ClusterRoleBinding",
    CRD,
    "PriorityClass",
    "IngressClass",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "APIService",
    "CSIDriver",
    "RuntimeClass",
];

const FUNCTIONS: &[FnDoc] = &[
    FnDoc { name: "manifest", signature: "cluster.manifest(#{ apiVersion, kind, metadata: #{ name, namespace?, labels?, annotations? }, ... }) -> Manifest", doc: "Any Kubernetes object, custom resources included, as a map in the API's own shape; namespace.manifest(map) sets its namespace.", options: &[], method_of: Some("Cluster") },
    FnDoc { name: "manifests", signature: "cluster.manifests(path) -> [Manifest]", doc: "Every object of a multi-document YAML file inside the blueprint's folder.", options: &[], method_of: Some("Cluster") },
    super::karpenter::POOL_DOC,
    super::karpenter::CLASS_DOC,
];

/// A problem with one object of a manifest, in words.
fn bad(what: &str, msg: impl std::fmt::Display) -> Problem {
    Problem::new(format!("{what}: {msg}"))
        .hint("a manifest is a map with apiVersion, kind and metadata: #{ name, namespace? }, then the object's own fields")
}

fn str_at<'a>(m: &'a Map, key: &str) -> Option<&'a str> {
    m.get(key).and_then(Value::as_str)
}

/// Declares one object given as a spec-shaped map.
pub(crate) fn declare_one(
    state: &Shared,
    ctx: &NativeCallContext,
    cluster: &ClusterRef,
    forced_ns: Option<&NamespaceRef>,
    object: Map,
    mut deps: Deps,
    what: &str,
) -> Fallible<Address> {
    let Parsed {
        api_version,
        kind,
        name,
        what,
        namespace,
        opts,
        content,
    } = parse_manifest(ctx, object, forced_ns, what)?;
    order_after(state, cluster, &api_version, &kind, &mut deps);
    let crd_group = (kind == CRD)
        .then(|| {
            content
                .get("spec")
                .and_then(|s| s.get("group"))
                .and_then(Value::as_str)
        })
        .flatten()
        .map(str::to_string);
    // A namespace this blueprint declares comes first, wherever it is declared.
    let ns_ref = namespace.as_ref().map(|n| {
        forced_ns.cloned().unwrap_or_else(|| {
            let a = super::namespace::OBJ.address(&cluster.name, None, n);
            let declared = state.borrow().graph.contains(&a);
            NamespaceRef {
                cluster: cluster.clone(),
                name: n.clone(),
                resource: declared.then_some(a),
            }
        })
    });
    let mut body = Map::new();
    body.insert("api_version".into(), Value::Str(api_version));
    body.insert("content".into(), Value::Map(content));
    let obj = ObjectKind {
        kind: KIND,
        api_version: Cow::Borrowed(""),
        k8s_kind: Cow::Owned(kind.clone()),
        plural: Cow::Borrowed(""),
        namespaced: namespace.is_some(),
        body: &[],
        base64_data: false,
        content: true,
    };
    // The declaration's name carries the kind: `<Kind>/<name>`.
    let local = format!("{kind}/{name}");
    check_object_name(ctx, &what, &name)?;
    let address = declare_object(
        state,
        ctx,
        Declaration {
            obj: &obj,
            cluster,
            namespace: ns_ref.as_ref(),
            name: &local,
            opts: &opts,
            body,
            annotations: Map::new(),
            deps,
        },
    )?;
    if let Some(g) = crd_group {
        crd_before_its_resources(state, &g, &address);
    }
    Ok(address)
}

/// A manifest's parts, checked.
struct Parsed {
    api_version: String,
    kind: String,
    name: String,
    /// What the declaration is, for messages: `what (Kind name)`.
    what: String,
    namespace: Option<String>,
    /// `labels` and `annotations`, as a constructor's options.
    opts: rhai::Map,
    /// The object's own fields (all but apiVersion, kind, metadata, status).
    content: Map,
}

/// Takes a manifest apart and checks it: apiVersion, kind and name are
/// there, the namespace fits the kind (and `ns.manifest(...)`), Secrets go
/// through `ns.secret(...)`, labels and annotations are strings, and no
/// field the server sets is given.
fn parse_manifest(
    ctx: &NativeCallContext,
    object: Map,
    forced_ns: Option<&NamespaceRef>,
    what: &str,
) -> Fallible<Parsed> {
    let api_version = str_at(&object, "apiVersion")
        .ok_or_else(|| fail(ctx, bad(what, "`apiVersion` is missing or not a string")))?
        .to_string();
    let kind = str_at(&object, "kind")
        .ok_or_else(|| fail(ctx, bad(what, "`kind` is missing or not a string")))?
        .to_string();
    let meta = object
        .get("metadata")
        .and_then(Value::as_map)
        .cloned()
        .ok_or_else(|| fail(ctx, bad(what, "`metadata` is missing or not a map")))?;
    let name = str_at(&meta, "name")
        .ok_or_else(|| fail(ctx, bad(what, "`metadata.name` is missing or not a string")))?
        .to_string();
    let what = format!("{what} ({kind} {name})");
    if !kind.chars().all(|c| c.is_ascii_alphanumeric()) || kind.is_empty() {
        return Err(fail(ctx, bad(&what, format!("`{kind}` is not a kind"))));
    }
    let mut namespace = str_at(&meta, "namespace").map(str::to_string);
    if let Some(ns) = forced_ns {
        match &namespace {
            Some(n) if n != &ns.name => {
                return Err(fail(
                    ctx,
                    bad(&what, format!("its namespace `{n}` is not `{}`", ns.name)),
                ))
            }
            _ => namespace = Some(ns.name.clone()),
        }
    }
    if kind == "Secret" && api_version == "v1" {
        return Err(fail(
            ctx,
            bad(&what, "Secrets are declared with ns.secret(...)").hint(
                "ns.secret(name, #{ data, type? }) keeps every value sensitive in plans and logs",
            ),
        ));
    }
    if NAMESPACED.contains(&kind.as_str()) && namespace.is_none() {
        return Err(fail(
            ctx,
            bad(&what, "a namespaced kind needs `metadata.namespace`")
                .hint("set metadata.namespace, or declare it with ns.manifest(...)"),
        ));
    }
    if CLUSTER_SCOPED.contains(&kind.as_str()) && namespace.is_some() {
        return Err(fail(
            ctx,
            bad(&what, "a cluster-scoped kind has no namespace"),
        ));
    }
    let mut opts = rhai::Map::new();
    for k in ["labels", "annotations"] {
        if let Some(Value::Map(m)) = meta.get(k) {
            let mut d = rhai::Map::new();
            for (key, v) in m {
                let s = v.as_str().ok_or_else(|| {
                    fail(
                        ctx,
                        bad(&what, format!("metadata.{k}.{key} is not a string")),
                    )
                })?;
                d.insert(key.as_str().into(), Dynamic::from(s.to_string()));
            }
            opts.insert(k.into(), Dynamic::from(d));
        }
    }
    if let Some(extra) = meta
        .keys()
        .find(|k| !matches!(k.as_str(), "name" | "namespace" | "labels" | "annotations"))
    {
        return Err(fail(
            ctx,
            bad(
                &what,
                format!("metadata.{extra} is set by the server, not by a blueprint"),
            ),
        ));
    }
    let content: Map = object
        .into_iter()
        .filter(|(k, _)| !matches!(k.as_str(), "apiVersion" | "kind" | "metadata" | "status"))
        .collect();
    Ok(Parsed {
        api_version,
        kind,
        name,
        what,
        namespace,
        opts,
        content,
    })
}

/// What an object waits for: custom resources come after the CRD that
/// defines their group; workloads after the cluster's node groups and
/// Fargate profiles, which run them.
fn order_after(
    state: &Shared,
    cluster: &ClusterRef,
    api_version: &str,
    kind: &str,
    deps: &mut Deps,
) {
    let group = api_version.rsplit_once('/').map(|(g, _)| g.to_string());
    {
        let st = state.borrow();
        for r in st.graph.iter().filter(|r| r.address.kind == KIND) {
            let r_group = r
                .spec
                .get("content")
                .and_then(|c| c.get("spec"))
                .and_then(|s| s.get("group"))
                .and_then(Value::as_str);
            if r.address.name.contains(&format!("/{CRD}/")) && r_group == group.as_deref() {
                deps.add(&r.address);
            }
        }
    }
    if WORKLOADS.contains(&kind) && cluster.resource.is_some() {
        let prefix = format!("{}/", cluster.name);
        let st = state.borrow();
        for r in st.graph.iter().filter(|r| {
            (r.address.kind == crate::kinds::eks::node_group::KIND
                || r.address.kind == crate::kinds::eks::fargate_profile::KIND)
                && r.address.name.starts_with(&prefix)
        }) {
            deps.add(&r.address);
        }
    }
}

/// A CRD of `group` comes before the custom resources of that group
/// declared already.
fn crd_before_its_resources(state: &Shared, group: &str, crd: &Address) {
    let mut st = state.borrow_mut();
    let dependents: Vec<Address> = st
        .graph
        .iter()
        .filter(|r| {
            r.address.kind == KIND
                && r.spec
                    .get("api_version")
                    .and_then(Value::as_str)
                    .is_some_and(|v| v.starts_with(&format!("{group}/")))
        })
        .map(|r| r.address.clone())
        .collect();
    for a in dependents {
        if let Some(r) = st.graph.get_mut(&a) {
            r.depends_on.insert(crd.clone());
        }
    }
}

fn check_object_name(ctx: &NativeCallContext, what: &str, name: &str) -> Fallible<()> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.' | ':'))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(fail(
            ctx,
            bad(what, format!("`{name}` is not a valid object name"))
                .hint("names are up to 253 lowercase letters, digits, `-` and `.`, alphanumeric at both ends"),
        ))
    }
}

/// A script map as a spec map, recording references.
fn spec_map(ctx: &NativeCallContext, d: &Dynamic, deps: &mut Deps) -> Fallible<Map> {
    match deps.value(d) {
        Value::Map(m) => Ok(m),
        _ => Err(fail(
            ctx,
            bad(
                "manifest",
                format!(
                    "it is {}, not a map",
                    crate::script::schema::describe_value(d)
                ),
            ),
        )),
    }
}

fn manifest(
    state: &Shared,
    ctx: &NativeCallContext,
    c: &ClusterRef,
    ns: Option<&NamespaceRef>,
    d: &Dynamic,
) -> Fallible<Manifest> {
    let mut deps = Deps::default();
    let m = spec_map(ctx, d, &mut deps)?;
    Ok(Manifest(declare_one(
        state, ctx, c, ns, m, deps, "manifest",
    )?))
}

fn manifests(
    state: &Shared,
    ctx: &NativeCallContext,
    c: &ClusterRef,
    path: &Dynamic,
) -> Fallible<rhai::Array> {
    let rel = crate::script::api::name_arg(ctx, "manifests", path)?;
    let root = state.borrow().root.clone();
    let file = crate::script::resolver::inside(&root, &rel).map_err(|m| {
        fail(
            ctx,
            Problem::new(format!("manifests: {m}"))
                .hint("manifest files live in the blueprint's folder"),
        )
    })?;
    let text = std::fs::read_to_string(&file).map_err(|e| {
        fail(
            ctx,
            Problem::new(format!("manifests: cannot read \"{rel}\": {e}")),
        )
    })?;
    let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(&text).map_err(|e| {
        fail(
            ctx,
            Problem::new(format!("manifests: \"{rel}\" is not valid YAML: {e}")),
        )
    })?;
    let mut out = rhai::Array::new();
    for (i, doc) in docs.iter().enumerate() {
        if doc.is_null() {
            continue;
        }
        let what = format!("document {} of \"{rel}\"", i + 1);
        let Ok(Value::Map(m)) = Value::from_json(doc) else {
            return Err(fail(ctx, bad(&what, "it is not a map")));
        };
        let a = declare_one(state, ctx, c, None, m, Deps::default(), &what)?;
        out.push(Dynamic::from(Manifest(a)));
    }
    Ok(out)
}

fn register(engine: &mut Engine, state: &Shared) {
    Manifest::register_type(engine);
    super::karpenter::register(engine, state);
    macro_rules! on {
        ($ty:ty) => {
            let s = state.clone();
            engine.register_fn(
                "manifest",
                move |ctx: NativeCallContext, c: &mut $ty, d: Dynamic| -> Fallible<Manifest> {
                    let c = super::ClusterRef::of(&Dynamic::from(c.clone())).expect("a cluster");
                    manifest(&s, &ctx, &c, None, &d)
                },
            );
            let s = state.clone();
            engine.register_fn(
                "manifests",
                move |ctx: NativeCallContext, c: &mut $ty, p: Dynamic| -> Fallible<rhai::Array> {
                    let c = super::ClusterRef::of(&Dynamic::from(c.clone())).expect("a cluster");
                    manifests(&s, &ctx, &c, &p)
                },
            );
        };
    }
    on!(crate::kinds::eks::Cluster);
    on!(super::ExistingCluster);
    let s = state.clone();
    engine.register_fn(
        "manifest",
        move |ctx: NativeCallContext, ns: &mut super::namespace::Namespace, d: Dynamic| {
            manifest(&s, &ctx, &ns.0.cluster.clone(), Some(&ns.0), &d)
        },
    );
}

// Live state ------------------------------------------------------------------

/// `<Kind>` and whether the address is namespaced, from the address.
fn kind_of(a: &Address) -> Result<(&str, bool), ProviderError> {
    let parts: Vec<&str> = a.name.split('/').collect();
    match parts.as_slice() {
        [_, _, kind, _] => Ok((kind, true)),
        [_, kind, _] => Ok((kind, false)),
        _ => Err(ProviderError::Spec(format!(
            "{a} is not a manifest address"
        ))),
    }
}

/// The API location of a manifest's kind in one cluster, by discovery.
async fn object_kind(
    conn: &Conn,
    api_version: &str,
    kind: &str,
    namespaced: bool,
) -> Result<Option<ObjectKind>, ProviderError> {
    Ok(conn.resource(api_version, kind).await?.map(|r| ObjectKind {
        kind: KIND,
        api_version: Cow::Owned(api_version.to_string()),
        k8s_kind: Cow::Owned(kind.to_string()),
        plural: Cow::Owned(r.plural),
        namespaced: namespaced && r.namespaced,
        body: &[],
        base64_data: false,
        content: true,
    }))
}

async fn served(
    cloud: &Cloud,
    a: &Address,
    api_version: &str,
) -> Result<(Conn, ObjectKind), ProviderError> {
    let (kind, namespaced) = kind_of(a)?;
    let conn = cloud.kube(object::cluster_of(a)).await?;
    let obj = object_kind(&conn, api_version, kind, namespaced)
        .await?
        .ok_or_else(|| {
            ProviderError::Unsupported(format!(
                "cluster {} does not serve {kind} in {api_version} (is its CRD installed?)",
                conn.cluster
            ))
        })?;
    Ok((conn, obj))
}

fn api_version(r: &Planned) -> Result<String, ProviderError> {
    r.spec
        .get("api_version")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| ProviderError::Spec(format!("{} has no apiVersion", r.address)))
}

/// A live object with its `apiVersion` (for its delete) and, for custom
/// resources, the CRD it needs (deleted after it).
fn restore(mut l: Live, api_version: &str, obj: &ObjectKind) -> Live {
    let a = l.address.clone();
    l.attrs
        .insert("api_version".into(), Value::str(api_version));
    if let Some((group, _)) = api_version.rsplit_once('/') {
        if let Some(Value::List(place)) = l.attrs.get_mut("where") {
            place.push(Value::Str(format!(
                "manifest.{}/{CRD}/{}.{group}",
                object::cluster_of(&a),
                obj.plural
            )));
        }
    }
    let uses = super::karpenter::uses(&a, l.attrs.get("content"), l.attrs.get("annotations"));
    if let Some(Value::List(place)) = l.attrs.get_mut("where") {
        place.extend(uses.into_iter().map(Value::Str));
    }
    l
}

// The index of manifest kinds --------------------------------------------------

/// Where the kinds of manifests a blueprint has applied in a cluster are
/// recorded: a ConfigMap in kube-system carrying the owner labels. Reads
/// list these kinds as well as the declared ones, so that an object whose
/// kind is no longer declared anywhere is still found and pruned. It lists
/// kinds, never objects; `bp destroy` removes it.
fn index_path(blueprint: &str) -> String {
    let value = object::owner_value(blueprint);
    let mut owner: String = value
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    // A name that had to change to be a ConfigMap name (`PMS`, `pms_prod`)
    // gets a short hash of itself, so that it cannot share the index of
    // another blueprint (`pms`, `pms-prod`).
    if owner != value {
        use sha2::{Digest, Sha256};
        owner.push('-');
        owner.push_str(&hex::encode(Sha256::digest(value.as_bytes()))[..8]);
    }
    format!("/api/v1/namespaces/kube-system/configmaps/blueprint-{owner}-manifest-kinds")
}

fn index_key(api_version: &str, kind: &str) -> String {
    format!("{}.{kind}", api_version.replace('/', "_"))
}

/// The kinds recorded in a cluster's index.
async fn recorded(conn: &Conn, blueprint: &str) -> Result<Vec<(String, String)>, ProviderError> {
    let Some(index) = conn
        .get(
            &format!("read the manifest index of {}", conn.cluster),
            &index_path(blueprint),
        )
        .await?
    else {
        return Ok(Vec::new());
    };
    Ok(index["data"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(_, v)| {
            let (api_version, kind) = v.as_str()?.split_once(' ')?;
            Some((api_version.to_string(), kind.to_string()))
        })
        .collect())
}

/// Adds a kind to a cluster's index (a merge patch: concurrent applies of
/// other kinds keep theirs).
async fn record(
    conn: &Conn,
    blueprint: &str,
    api_version: &str,
    kind: &str,
) -> Result<(), ProviderError> {
    let path = index_path(blueprint);
    let what = format!("record {kind} in the manifest index of {}", conn.cluster);
    let data = serde_json::json!({ index_key(api_version, kind): format!("{api_version} {kind}") });
    for _ in 0..3 {
        match conn
            .merge_patch(&what, &path, &serde_json::json!({ "data": data }))
            .await
        {
            Ok(_) => return Ok(()),
            Err(ProviderError::Kube { code: 404, .. }) => {}
            Err(e) => return Err(e),
        }
        let name = path.rsplit('/').next().unwrap_or_default();
        let body = serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {
                "name": name, "namespace": "kube-system",
                "labels": {
                    object::MANAGED_BY: "blueprint",
                    object::OWNER_LABEL: object::owner_value(blueprint),
                },
            },
            "data": data,
        });
        match conn
            .post(&what, "/api/v1/namespaces/kube-system/configmaps", &body)
            .await
        {
            Ok(_) => return Ok(()),
            Err(ProviderError::Kube { code: 409, .. }) => continue, // made meanwhile: patch it
            Err(e) => return Err(e),
        }
    }
    Err(ProviderError::Unexpected(format!(
        "{what}: it kept changing"
    )))
}

/// Removes the index from every cluster this command reached (`bp destroy`,
/// once everything the blueprint owned is gone).
pub async fn forget(cloud: &Cloud) -> Result<(), ProviderError> {
    for conn in cloud.kube_connections().await {
        let done = conn
            .delete(
                &format!("delete the manifest index of {}", conn.cluster),
                &index_path(&cloud.blueprint),
            )
            .await;
        match done {
            // A cluster the destroy deleted is no longer there to answer.
            Ok(()) | Err(ProviderError::Kube { code: 0, .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn read<'a>(
    cloud: &'a Cloud,
    conn: &'a Conn,
    desired: &'a Graph,
) -> BoxFuture<'a, Result<Vec<Live>, ProviderError>> {
    Box::pin(async move {
        let mut kinds: BTreeSet<(String, String)> = desired
            .iter()
            .filter(|r| r.address.kind == KIND && object::cluster_of(&r.address) == conn.cluster)
            .filter_map(|r| {
                let (kind, _) = kind_of(&r.address).ok()?;
                let v = r.spec.get("api_version")?.as_str()?.to_string();
                Some((v, kind.to_string()))
            })
            .collect();
        kinds.extend(recorded(conn, &cloud.blueprint).await?);
        let mut out = Vec::new();
        for (api_version, kind) in kinds {
            let Some(obj) = object_kind(conn, &api_version, &kind, true).await? else {
                continue; // not served yet: nothing of it can exist
            };
            for l in object::read(&obj, cloud, conn).await? {
                out.push(restore(l, &api_version, &obj));
            }
        }
        Ok(out)
    })
}

fn check<'a>(
    cloud: &'a Cloud,
    r: &'a Planned,
    live: Option<&'a Live>,
) -> BoxFuture<'a, Result<Vec<String>, ProviderError>> {
    Box::pin(async move {
        let (_, obj) = served(cloud, &r.address, &api_version(r)?).await?;
        object::check(&obj, cloud, r, live)
            .await
            .map(|_| Vec::new())
    })
}

async fn wait_established(cloud: &Cloud, conn: &Conn, r: &Planned) -> Result<(), ProviderError> {
    let name = r
        .address
        .name
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let path = format!("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}");
    crate::providers::wait_for(
        cloud,
        &format!("{} to be Established", r.address),
        || async {
            let crd = conn.get(&format!("read {}", r.address), &path).await?;
            let established = crd.is_some_and(|c| {
                c["status"]["conditions"].as_array().is_some_and(|cs| {
                    cs.iter()
                        .any(|x| x["type"] == "Established" && x["status"] == "True")
                })
            });
            Ok(established.then_some(()))
        },
    )
    .await
}

fn create<'a>(cloud: &'a Cloud, r: &'a Planned) -> BoxFuture<'a, Result<Live, ProviderError>> {
    Box::pin(async move {
        let v = api_version(r)?;
        let (conn, obj) = served(cloud, &r.address, &v).await?;
        record(&conn, &cloud.blueprint, &v, &obj.k8s_kind).await?;
        let l = object::create(&obj, cloud, r).await?;
        if obj.k8s_kind == CRD {
            wait_established(cloud, &conn, r).await?;
            conn.forget_discovery();
        }
        Ok(restore(l, &v, &obj))
    })
}

fn update<'a>(
    cloud: &'a Cloud,
    r: &'a Planned,
    _live: &'a Live,
    _fields: &'a [crate::plan::FieldDiff],
) -> BoxFuture<'a, Result<Live, ProviderError>> {
    Box::pin(async move {
        let v = api_version(r)?;
        let (conn, obj) = served(cloud, &r.address, &v).await?;
        record(&conn, &cloud.blueprint, &v, &obj.k8s_kind).await?;
        let l = object::update(&obj, cloud, r).await?;
        if obj.k8s_kind == CRD {
            conn.forget_discovery();
        }
        Ok(restore(l, &v, &obj))
    })
}

fn delete<'a>(cloud: &'a Cloud, l: &'a Live) -> BoxFuture<'a, Result<(), ProviderError>> {
    Box::pin(async move {
        let v = l
            .attrs
            .get("api_version")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let (_, obj) = served(cloud, &l.address, &v).await?;
        object::delete(&obj, cloud, l, false).await?;
        if v.starts_with("karpenter.sh/") && l.address.name.contains("/NodePool/") {
            super::karpenter::wait_for_instances(cloud, &l.address).await?;
        }
        Ok(())
    })
}

fn list<'a>(_cloud: &'a Cloud) -> BoxFuture<'a, Result<Vec<Row>, ProviderError>> {
    Box::pin(async move {
        Err(ProviderError::Unsupported(
            ":live lists typed kinds; list other kinds with kubectl".into(),
        ))
    })
}

static IN_CLUSTER: InCluster = InCluster {
    read,
    check,
    independent: false,
};

const FIELDS: &[Field] = &[
    Field::new("api_version").diff(Diff::Local),
    Field::new("content").diff(Diff::Tree),
    LABELS,
    ANNOTATIONS,
    ADOPT,
    WHERE,
];

pub static SCHEMA: Schema = Schema::new("manifest", "Manifest", FIELDS)
    .attr("name")
    .names(crate::model::names::NameRule::TAG)
    .scope(Scope::InCluster);

pub static DEF: KindDef = KindDef::in_cluster(
    KIND,
    handle!(Manifest; FUNCTIONS, register; ["address"]),
    crate::ops!(in_cluster),
)
.rules(super::lint::MANIFEST)
// Destroying a Karpenter NodePool waits for its instances.
.iam(crate::permissions::Iam::NONE.delete(&["ec2:DescribeInstances"]))
.priced(crate::cost::Pricing::Priced(super::karpenter::price));

#[cfg(test)]
mod tests {
    use super::index_path;

    #[test]
    fn index_names_of_different_blueprints_differ() {
        // A name that is already a ConfigMap name keeps its index.
        assert_eq!(
            index_path("pms"),
            "/api/v1/namespaces/kube-system/configmaps/blueprint-pms-manifest-kinds"
        );
        assert_ne!(index_path("PMS"), index_path("pms"));
        assert_ne!(index_path("pms_prod"), index_path("pms-prod"));
        assert_eq!(index_path("PMS"), index_path("PMS"));
    }
}
