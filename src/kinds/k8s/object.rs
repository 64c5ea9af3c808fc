//! What every Kubernetes kind shares: where its objects live in the API,
//! how ownership is marked, how a spec becomes an object and a live object
//! becomes attributes, and the read / create / update / delete / plan check
//! that each kind's module binds to its own [`ObjectKind`].

use crate::kinds::{Diff, Field};
use crate::model::{Address, Kind, Live, Map, Value};
use crate::providers::kube::{Conn, FIELD_MANAGER};
use crate::providers::{Cloud, Planned, ProviderError, Row};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value as Json};
use std::borrow::Cow;

/// The label every object Blueprint manages carries.
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// The label naming the blueprint that owns an object.
pub const OWNER_LABEL: &str = "blueprint.dev/name";
/// The annotation holding an object's address.
pub const ADDRESS_ANNOTATION: &str = "blueprint.dev/address";

/// The fields every Kubernetes kind's spec has.
pub const LABELS: Field = Field::new("labels").map();
pub const ANNOTATIONS: Field = Field::new("annotations").map();
/// `adopt: true` takes over an object that exists but is not owned; it is
/// a setting of the declaration, never compared with the cluster.
pub const ADOPT: Field = Field::new("adopt").diff(Diff::Local);
/// Live only: where an object lives, as addresses (`namespace.<cluster>/<ns>`,
/// `cluster.<cluster>`), so that deletes run contents first, then the
/// namespace, then the cluster.
pub const WHERE: Field = Field::new("where").refers();

/// Where a kind's objects live in the Kubernetes API. Typed kinds have a
/// static one; a manifest's is made from its `apiVersion` and `kind`.
#[derive(Clone, Debug)]
pub struct ObjectKind {
    pub kind: Kind,
    /// `v1`, `networking.k8s.io/v1`.
    pub api_version: Cow<'static, str>,
    /// `ConfigMap`.
    pub k8s_kind: Cow<'static, str>,
    /// `configmaps`.
    pub plural: Cow<'static, str>,
    pub namespaced: bool,
    /// The spec fields that are top-level fields of the object (`data`,
    /// `rules`, `spec`), under their Kubernetes names.
    pub body: &'static [&'static str],
    /// `data` is base64 in the object and plain in the spec (Secrets).
    pub base64_data: bool,
    /// The spec's `content` map holds every top-level field but
    /// `apiVersion`, `kind` and `metadata` (manifests).
    pub content: bool,
}

/// The cluster, namespace and name of an in-cluster address
/// (`config_map.<cluster>/<namespace>/<name>`, `storage_class.<cluster>/<name>`).
pub struct Location<'a> {
    pub cluster: &'a str,
    pub namespace: Option<&'a str>,
    pub name: &'a str,
}

impl ObjectKind {
    fn base(&self) -> String {
        if self.api_version.contains('/') {
            format!("/apis/{}", self.api_version)
        } else {
            format!("/api/{}", self.api_version)
        }
    }

    /// Every object of the kind (across namespaces for namespaced kinds).
    pub fn collection(&self) -> String {
        format!("{}/{}", self.base(), self.plural)
    }

    pub fn path(&self, namespace: Option<&str>, name: &str) -> String {
        match namespace {
            Some(ns) => format!("{}/namespaces/{ns}/{}/{name}", self.base(), self.plural),
            None => format!("{}/{}/{name}", self.base(), self.plural),
        }
    }

    pub fn address(&self, cluster: &str, namespace: Option<&str>, name: &str) -> Address {
        match namespace {
            Some(ns) => Address::new(self.kind, format!("{cluster}/{ns}/{name}")),
            None => Address::new(self.kind, format!("{cluster}/{name}")),
        }
    }

    /// Manifest addresses carry the object's kind before its name
    /// (`manifest.<cluster>/<namespace>/<Kind>/<name>`).
    pub fn locate<'a>(&self, a: &'a Address) -> Result<Location<'a>, ProviderError> {
        let parts: Vec<&str> = a.name.split('/').collect();
        let found = match (self.namespaced, self.content, parts.as_slice()) {
            (true, false, [cluster, ns, name]) | (true, true, [cluster, ns, _, name]) => {
                Some(Location {
                    cluster,
                    namespace: Some(ns),
                    name,
                })
            }
            (false, false, [cluster, name]) | (false, true, [cluster, _, name]) => Some(Location {
                cluster,
                namespace: None,
                name,
            }),
            _ => None,
        };
        found.ok_or_else(|| ProviderError::Spec(format!("{a} is not a {} address", self.k8s_kind)))
    }

    fn what(&self, verb: &str, a: &Address) -> String {
        format!("{verb} {} {}", self.k8s_kind, a)
    }
}

/// The cluster an in-cluster address belongs to.
pub fn cluster_of(a: &Address) -> &str {
    a.name.split('/').next().unwrap_or_default()
}

/// A blueprint name as a label value: at most 63 characters of
/// `[A-Za-z0-9._-]`, alphanumeric at both ends; longer or other names are
/// shortened with a hash so that they stay distinct.
pub fn owner_value(blueprint: &str) -> String {
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    let valid = blueprint.len() <= 63
        && blueprint.chars().all(ok)
        && blueprint.starts_with(|c: char| c.is_ascii_alphanumeric())
        && blueprint.ends_with(|c: char| c.is_ascii_alphanumeric());
    if valid {
        return blueprint.to_string();
    }
    use sha2::{Digest, Sha256};
    let hash = hex::encode(Sha256::digest(blueprint.as_bytes()));
    let clean: String = blueprint
        .chars()
        .map(|c| if ok(c) { c } else { '-' })
        .take(50)
        .collect();
    let clean = clean.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    if clean.is_empty() {
        format!("bp-{}", &hash[..12])
    } else {
        format!("{clean}-{}", &hash[..12])
    }
}

/// The label selector of what a blueprint owns.
pub fn selector(blueprint: &str) -> String {
    format!(
        "{MANAGED_BY}=blueprint,{OWNER_LABEL}={}",
        owner_value(blueprint)
    )
}

/// Who an existing object belongs to, in words, when it is not this
/// blueprint's object at this address.
fn foreign_owner(item: &Json, blueprint: &str, address: &Address) -> Option<String> {
    let meta = &item["metadata"];
    let labels = &meta["labels"];
    let ours = labels[MANAGED_BY] == "blueprint"
        && labels[OWNER_LABEL] == owner_value(blueprint).as_str()
        && meta["annotations"][ADDRESS_ANNOTATION] == address.to_string().as_str();
    if ours {
        return None;
    }
    if labels[MANAGED_BY] == "blueprint" {
        return Some(format!(
            "blueprint {}",
            labels[OWNER_LABEL].as_str().unwrap_or("?")
        ));
    }
    let managers: Vec<&str> = meta["managedFields"]
        .as_array()
        .map(|m| m.iter().filter_map(|e| e["manager"].as_str()).collect())
        .unwrap_or_default();
    Some(if managers.is_empty() {
        "no blueprint".to_string()
    } else {
        format!("no blueprint; field managers: {}", managers.join(", "))
    })
}

/// The union of the fields a manager owns (`fieldsV1`) over its entries.
fn managed_fields(item: &Json, manager: &str) -> Json {
    let mut out = json!({});
    for e in item["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if e["manager"] == manager {
            merge(&mut out, &e["fieldsV1"]);
        }
    }
    out
}

fn merge(into: &mut Json, from: &Json) {
    if let (Some(a), Some(b)) = (into.as_object_mut(), from.as_object()) {
        for (k, v) in b {
            merge(a.entry(k.clone()).or_insert_with(|| json!({})), v);
        }
    }
}

/// The part of `obj` that the field set `fields` (`fieldsV1`) covers: what
/// a manager set, without server defaults, status or other managers' fields.
pub fn project(obj: &Json, fields: &Json) -> Option<Json> {
    let f = fields.as_object()?;
    let own: Vec<(&String, &Json)> = f.iter().filter(|(k, _)| k.as_str() != ".").collect();
    if own.is_empty() {
        // A leaf, or a whole value (an atomic list or map).
        return Some(obj.clone());
    }
    match obj {
        Json::Object(m) => {
            let mut out = serde_json::Map::new();
            for (k, sub) in own {
                if let Some(key) = k.strip_prefix("f:") {
                    if let Some(v) = m.get(key) {
                        if let Some(p) = project(v, sub) {
                            out.insert(key.to_string(), p);
                        }
                    }
                }
            }
            Some(Json::Object(out))
        }
        Json::Array(items) => {
            let mut out = Vec::new();
            for item in items {
                for (k, sub) in &own {
                    let hit = if let Some(keys) = k.strip_prefix("k:") {
                        serde_json::from_str::<Json>(keys)
                            .ok()
                            .and_then(|keys| {
                                keys.as_object()
                                    .map(|km| km.iter().all(|(kk, kv)| &item[kk] == kv))
                            })
                            .unwrap_or(false)
                    } else if let Some(v) = k.strip_prefix("v:") {
                        serde_json::from_str::<Json>(v).ok().as_ref() == Some(item)
                    } else {
                        false
                    };
                    if hit {
                        if let Some(p) = project(item, sub) {
                            out.push(p);
                        }
                        break;
                    }
                }
            }
            Some(Json::Array(out))
        }
        other => Some(other.clone()),
    }
}

/// A live object as attributes shaped like the spec: the fields Blueprint
/// manages, with the ownership marks taken out and Secret data decoded.
fn attrs_of(obj: &ObjectKind, projected: &Json) -> Map {
    let mut attrs = Map::new();
    let meta = &projected["metadata"];
    let strings = |v: &Json, drop: &[&str]| -> Value {
        Value::Map(
            v.as_object()
                .map(|m| {
                    m.iter()
                        .filter(|(k, _)| !drop.contains(&k.as_str()))
                        .map(|(k, v)| (k.clone(), Value::str(v.as_str().unwrap_or_default())))
                        .collect()
                })
                .unwrap_or_default(),
        )
    };
    attrs.insert(
        "labels".into(),
        strings(&meta["labels"], &[MANAGED_BY, OWNER_LABEL]),
    );
    attrs.insert(
        "annotations".into(),
        strings(&meta["annotations"], &[ADDRESS_ANNOTATION]),
    );
    if obj.content {
        let content: Map = projected
            .as_object()
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| {
                        !matches!(k.as_str(), "apiVersion" | "kind" | "metadata" | "status")
                    })
                    .map(|(k, v)| (k.clone(), Value::from_json(v).unwrap_or(Value::Null)))
                    .collect()
            })
            .unwrap_or_default();
        attrs.insert("content".into(), Value::Map(content));
    }
    for f in obj.body {
        let Some(v) = projected.get(*f) else { continue };
        let value = if obj.base64_data && *f == "data" {
            Value::Map(
                v.as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| {
                                let text = v
                                    .as_str()
                                    .and_then(|s| STANDARD.decode(s).ok())
                                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                                    .unwrap_or_default();
                                (k.clone(), Value::Str(text))
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            )
        } else {
            Value::from_json(v).unwrap_or(Value::Null)
        };
        attrs.insert((*f).to_string(), value);
    }
    attrs
}

/// A listed object as live state, if it carries an address of this kind in
/// this cluster.
fn to_live(obj: &ObjectKind, cluster: &str, item: &Json) -> Option<Live> {
    let meta = &item["metadata"];
    let address: Address = meta["annotations"][ADDRESS_ANNOTATION]
        .as_str()?
        .parse()
        .ok()?;
    if address.kind != obj.kind || cluster_of(&address) != cluster {
        return None;
    }
    // A copy (a restored namespace, another apiVersion's view) carries the
    // original's annotation: only the object at the address is it.
    let at = obj.locate(&address).ok()?;
    if meta["name"].as_str() != Some(at.name) || meta["namespace"].as_str() != at.namespace {
        return None;
    }
    let managed = managed_fields(item, FIELD_MANAGER);
    let projected = if managed.as_object().is_some_and(|m| m.is_empty()) {
        json!({}) // Blueprint owns no field of it
    } else {
        project(item, &managed).unwrap_or_else(|| json!({}))
    };
    let mut live = Live::new(address, meta["uid"].as_str().unwrap_or_default())
        .output("name", meta["name"].as_str().unwrap_or_default());
    if let Some(ns) = meta["namespace"].as_str() {
        live = live.output("namespace", ns);
    }
    live.attrs = attrs_of(obj, &projected);
    let mut place = vec![Value::Str(format!("cluster.{cluster}"))];
    if let Some(ns) = meta["namespace"].as_str() {
        place.push(Value::Str(format!("namespace.{cluster}/{ns}")));
    }
    live.attrs.insert("where".into(), Value::List(place));
    Some(live)
}

/// A spec value as plain JSON for the API: secrets in clear, references
/// already resolved.
fn plain(v: &Value) -> Result<Json, ProviderError> {
    let v = v.reveal().map_err(ProviderError::Spec)?;
    if !v.refs().is_empty() {
        let refs: Vec<String> = v.refs().iter().map(|r| r.to_string()).collect();
        return Err(ProviderError::Spec(format!(
            "a value is not known yet: {}",
            refs.join(", ")
        )));
    }
    Ok(v.to_json())
}

/// The object Blueprint applies for a planned resource.
pub fn manifest(obj: &ObjectKind, r: &Planned, blueprint: &str) -> Result<Json, ProviderError> {
    let at = obj.locate(&r.address)?;
    let map_of = |k: &str| -> Result<serde_json::Map<String, Json>, ProviderError> {
        match r.spec.get(k) {
            Some(v) => Ok(plain(v)?.as_object().cloned().unwrap_or_default()),
            None => Ok(serde_json::Map::new()),
        }
    };
    let mut labels = map_of("labels")?;
    labels.insert(MANAGED_BY.into(), json!("blueprint"));
    labels.insert(OWNER_LABEL.into(), json!(owner_value(blueprint)));
    let mut annotations = map_of("annotations")?;
    annotations.insert(ADDRESS_ANNOTATION.into(), json!(r.address.to_string()));
    let mut metadata = json!({ "name": at.name, "labels": labels, "annotations": annotations });
    if let Some(ns) = at.namespace {
        metadata["namespace"] = json!(ns);
    }
    let mut out = json!({
        "apiVersion": obj.api_version,
        "kind": obj.k8s_kind,
        "metadata": metadata,
    });
    if obj.content {
        if let Some(Value::Map(content)) = r.spec.get("content") {
            for (k, v) in content {
                out[k.as_str()] = plain(v)?;
            }
        }
    }
    for f in obj.body {
        let Some(v) = r.spec.get(*f) else { continue };
        let mut j = plain(v)?;
        if obj.base64_data && *f == "data" {
            if let Some(m) = j.as_object_mut() {
                for v in m.values_mut() {
                    let text = match &*v {
                        Json::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    *v = json!(STANDARD.encode(text.as_bytes()));
                }
            }
        }
        out[*f] = j;
    }
    Ok(out)
}

/// One LIST per cluster, by the owner selector.
pub async fn read(
    obj: &ObjectKind,
    cloud: &Cloud,
    conn: &Conn,
) -> Result<Vec<Live>, ProviderError> {
    let items = conn
        .list(
            &format!("list {} in {}", obj.plural, conn.cluster),
            &obj.collection(),
            &selector(&cloud.blueprint),
        )
        .await?;
    Ok(items
        .iter()
        .filter_map(|i| to_live(obj, &conn.cluster, i))
        .collect())
}

/// An object that exists without being this blueprint's is refused unless
/// the declaration says `adopt: true`; `Ok(true)` when it is adopted, so
/// that its fields are taken over from whoever set them.
async fn refuse_foreign(
    obj: &ObjectKind,
    cloud: &Cloud,
    conn: &Conn,
    r: &Planned,
) -> Result<bool, ProviderError> {
    let at = obj.locate(&r.address)?;
    let path = obj.path(at.namespace, at.name);
    let Some(existing) = conn.get(&obj.what("read", &r.address), &path).await? else {
        return Ok(false);
    };
    let adopt = r.spec.get("adopt").and_then(Value::as_bool) == Some(true);
    match foreign_owner(&existing, &cloud.blueprint, &r.address) {
        None => Ok(false),
        Some(_) if adopt => Ok(true),
        Some(owner) => Err(ProviderError::Unsupported(format!(
            "it exists in cluster {} and belongs to {owner}; it is not taken over silently: \
             declare it with adopt: true to manage it",
            at.cluster
        ))),
    }
}

fn with_conflict_hint(e: ProviderError) -> ProviderError {
    match e {
        ProviderError::Kube {
            what,
            code: 409,
            reason,
            message,
        } if message.contains("conflict") => ProviderError::Kube {
            what,
            code: 409,
            reason,
            message: format!(
                "{message}; another field manager owns these fields: \
                 pass --force-conflicts to take them over"
            ),
        },
        other => other,
    }
}

async fn apply(
    obj: &ObjectKind,
    cloud: &Cloud,
    r: &Planned,
    dry_run: bool,
    adopting: bool,
) -> Result<Json, ProviderError> {
    let at = obj.locate(&r.address)?;
    let conn = cloud.kube(at.cluster).await?;
    let body = manifest(obj, r, &cloud.blueprint)?;
    conn.apply(
        &obj.what(if dry_run { "dry-run apply" } else { "apply" }, &r.address),
        &obj.path(at.namespace, at.name),
        &body,
        dry_run,
        adopting || cloud.kube.target.force_conflicts,
    )
    .await
    .map_err(with_conflict_hint)
    .map_err(|e| redacted(e, r))
}

/// An error with the planned object's secrets replaced (the server may
/// echo a value it refuses).
pub fn redacted(e: ProviderError, r: &Planned) -> ProviderError {
    match e {
        ProviderError::Kube {
            what,
            code,
            reason,
            message,
        } => ProviderError::Kube {
            what,
            code,
            reason,
            message: r.redact(&message),
        },
        other => other,
    }
}

pub async fn create(obj: &ObjectKind, cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    let at = obj.locate(&r.address)?;
    let conn = cloud.kube(at.cluster).await?;
    let adopting = refuse_foreign(obj, cloud, &conn, r).await?;
    let out = apply(obj, cloud, r, false, adopting).await?;
    to_live(obj, at.cluster, &out).ok_or_else(|| {
        ProviderError::Unexpected(format!(
            "the server's answer for {} has no address",
            r.address
        ))
    })
}

pub async fn update(obj: &ObjectKind, cloud: &Cloud, r: &Planned) -> Result<Live, ProviderError> {
    let at = obj.locate(&r.address)?;
    let out = apply(obj, cloud, r, false, false).await?;
    to_live(obj, at.cluster, &out).ok_or_else(|| {
        ProviderError::Unexpected(format!(
            "the server's answer for {} has no address",
            r.address
        ))
    })
}

/// Before a create or update is planned: the object is not someone
/// else's, and the server accepts it (server-side apply with `dryRun=All`).
pub async fn check(
    obj: &ObjectKind,
    cloud: &Cloud,
    r: &Planned,
    live: Option<&Live>,
) -> Result<(), ProviderError> {
    let at = obj.locate(&r.address)?;
    let conn = cloud.kube(at.cluster).await?;
    let adopting = match live {
        None => refuse_foreign(obj, cloud, &conn, r).await?,
        Some(_) => false,
    };
    apply(obj, cloud, r, true, adopting).await.map(|_| ())
}

/// Deletes an object; with `wait`, until the server no longer has it
/// (namespaces finish deleting their contents first).
pub async fn delete(
    obj: &ObjectKind,
    cloud: &Cloud,
    l: &Live,
    wait: bool,
) -> Result<(), ProviderError> {
    let at = obj.locate(&l.address)?;
    let conn = cloud.kube(at.cluster).await?;
    let path = obj.path(at.namespace, at.name);
    conn.delete(&obj.what("delete", &l.address), &path).await?;
    if wait {
        let what = format!("{} to be deleted", l.address);
        crate::providers::wait_for(cloud, &what, || async {
            Ok(conn
                .get(&obj.what("read", &l.address), &path)
                .await?
                .is_none()
                .then_some(()))
        })
        .await?;
    }
    Ok(())
}

/// Every object of the kind in the clusters this command has reached,
/// owned or not, for `:live`.
pub async fn list(obj: &ObjectKind, cloud: &Cloud) -> Result<Vec<Row>, ProviderError> {
    let mut rows = Vec::new();
    for conn in cloud.kube_connections().await {
        let items = conn
            .list(
                &format!("list {} in {}", obj.plural, conn.cluster),
                &obj.collection(),
                "",
            )
            .await?;
        for i in items {
            let meta = &i["metadata"];
            let name = meta["name"].as_str().unwrap_or_default();
            let ns = meta["namespace"].as_str();
            rows.push(Row {
                id: meta["uid"].as_str().unwrap_or_default().to_string(),
                name: match ns {
                    Some(ns) => format!("{ns}/{name}"),
                    None => name.to_string(),
                },
                details: match ns {
                    Some(ns) => format!("cluster {}, namespace {ns}", conn.cluster),
                    None => format!("cluster {}", conn.cluster),
                },
                owner: (meta["labels"][MANAGED_BY] == "blueprint").then(|| {
                    format!(
                        "{} {}",
                        meta["labels"][OWNER_LABEL].as_str().unwrap_or("?"),
                        meta["annotations"][ADDRESS_ANNOTATION]
                            .as_str()
                            .unwrap_or("?")
                    )
                }),
            });
        }
    }
    Ok(rows)
}

/// Binds a kind module's [`ObjectKind`] to the registry's function types;
/// with `def`, also its registry entry, from the module's `KIND`,
/// `FUNCTIONS`, `register` and `FIELDS`.
#[macro_export]
macro_rules! object_kind {
    ($obj:path, wait_on_delete = $wait:expr, kind: $name:literal, def: $handle:ident, names: $names:expr) => {
        $crate::object_kind!($obj, wait_on_delete = $wait, kind: $name, def: $handle, names: $names, rules: &[]);
    };
    ($obj:path, wait_on_delete = $wait:expr, kind: $name:literal, def: $handle:ident, names: $names:expr, rules: $rules:expr) => {
        $crate::object_kind!($obj, wait_on_delete = $wait);

        pub const KIND: $crate::model::Kind = $crate::model::Kind::of(&SCHEMA);

        pub static SCHEMA: $crate::model::schema::Schema =
            $crate::model::schema::Schema::new($name, stringify!($handle), FIELDS)
                .attr("name")
                .names($names)
                .scope($crate::model::schema::Scope::InCluster);

        pub static DEF: $crate::kinds::KindDef = $crate::kinds::KindDef::in_cluster(
            KIND,
            $crate::handle!($handle; FUNCTIONS, register; ["address"]),
            $crate::ops!(in_cluster),
        )
        .rules($rules);
    };
    ($obj:path, wait_on_delete = $wait:expr) => {
        fn read<'a>(
            cloud: &'a $crate::providers::Cloud,
            conn: &'a $crate::providers::kube::Conn,
            _desired: &'a $crate::model::Graph,
        ) -> futures::future::BoxFuture<
            'a,
            Result<Vec<$crate::model::Live>, $crate::providers::ProviderError>,
        > {
            Box::pin($crate::kinds::k8s::object::read(&$obj, cloud, conn))
        }
        fn check<'a>(
            cloud: &'a $crate::providers::Cloud,
            r: &'a $crate::providers::Planned,
            live: Option<&'a $crate::model::Live>,
        ) -> futures::future::BoxFuture<'a, Result<Vec<String>, $crate::providers::ProviderError>> {
            Box::pin(async move {
                $crate::kinds::k8s::object::check(&$obj, cloud, r, live)
                    .await
                    .map(|_| Vec::new())
            })
        }
        fn create<'a>(
            cloud: &'a $crate::providers::Cloud,
            r: &'a $crate::providers::Planned,
        ) -> futures::future::BoxFuture<
            'a,
            Result<$crate::model::Live, $crate::providers::ProviderError>,
        > {
            Box::pin($crate::kinds::k8s::object::create(&$obj, cloud, r))
        }
        fn update<'a>(
            cloud: &'a $crate::providers::Cloud,
            r: &'a $crate::providers::Planned,
            _live: &'a $crate::model::Live,
            _fields: &'a [$crate::plan::FieldDiff],
        ) -> futures::future::BoxFuture<
            'a,
            Result<$crate::model::Live, $crate::providers::ProviderError>,
        > {
            Box::pin($crate::kinds::k8s::object::update(&$obj, cloud, r))
        }
        fn delete<'a>(
            cloud: &'a $crate::providers::Cloud,
            l: &'a $crate::model::Live,
        ) -> futures::future::BoxFuture<'a, Result<(), $crate::providers::ProviderError>> {
            Box::pin($crate::kinds::k8s::object::delete(&$obj, cloud, l, $wait))
        }
        fn list<'a>(
            cloud: &'a $crate::providers::Cloud,
        ) -> futures::future::BoxFuture<
            'a,
            Result<Vec<$crate::providers::Row>, $crate::providers::ProviderError>,
        > {
            Box::pin($crate::kinds::k8s::object::list(&$obj, cloud))
        }
        static IN_CLUSTER: $crate::kinds::InCluster = $crate::kinds::InCluster {
            read,
            check,
            independent: false,
        };
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server error that echoes a value it refused shows no secret, in
    /// any of the forms the secret may take there.
    #[test]
    fn server_errors_have_their_secrets_replaced() {
        let spec = Value::Map(Map::from([(
            "data".into(),
            Value::Map(Map::from([
                (
                    "pw".into(),
                    Value::Sensitive(crate::model::Secret {
                        hash: "h".into(),
                        value: Some(Box::new(Value::str("hunter2-long"))),
                    }),
                ),
                (
                    "short".into(),
                    Value::Sensitive(crate::model::Secret {
                        hash: "h2".into(),
                        value: Some(Box::new(Value::str("hunter2"))),
                    }),
                ),
            ])),
        )]));
        let a = Address::new(Kind::new("config_map"), "c/ns/x");
        let r = Planned::reveal(&a, &spec).unwrap();
        let e = ProviderError::Kube {
            what: "apply".into(),
            code: 422,
            reason: "Invalid".into(),
            message: "Invalid value: \"hunter2-long\" and aHVudGVyMi1sb25n".into(),
        };
        let shown = redacted(e, &r).to_string();
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("aHVudGVyMi1sb25n"), "{shown}");
        assert!(shown.contains("Invalid value: \"(sensitive)\""), "{shown}");
    }

    #[test]
    fn owner_values_are_valid_labels() {
        assert_eq!(owner_value("pms-prod"), "pms-prod");
        let long = "a".repeat(80);
        let v = owner_value(&long);
        assert!(v.len() <= 63 && v.starts_with("aaaa"), "{v}");
        assert_ne!(owner_value(&"a".repeat(81)), v);
        let odd = owner_value("-my blueprint/");
        assert!(odd.starts_with("my-blueprint-"), "{odd}");
    }

    #[test]
    fn projection_keeps_only_the_managed_fields() {
        let obj = json!({
            "metadata": {"name": "x", "labels": {"a": "1", "b": "2"}, "uid": "u"},
            "data": {"k": "v", "other": "w"},
            "spec": {"ports": [{"port": 80, "name": "http"}, {"port": 81, "name": "x"}],
                     "list": [1, 2]},
            "status": {"phase": "Active"}
        });
        let fields = json!({
            "f:metadata": {"f:labels": {".": {}, "f:a": {}}},
            "f:data": {"f:k": {}},
            "f:spec": {"f:ports": {"k:{\"port\":80}": {".": {}, "f:port": {}}}, "f:list": {}}
        });
        assert_eq!(
            project(&obj, &fields).unwrap(),
            json!({
                "metadata": {"labels": {"a": "1"}},
                "data": {"k": "v"},
                "spec": {"ports": [{"port": 80}], "list": [1, 2]}
            })
        );
    }
}
