//! The Kubernetes family: objects inside a cluster, declared with methods
//! on a cluster handle (`cluster(...)` or `existing_cluster(name)`) and on
//! the namespace handles they return. Each kind's module holds its
//! [`object::ObjectKind`], field semantics, option schema and registry
//! entry; this file holds what the family's script functions share.
//!
//! Ownership needs no state file: every object carries the labels
//! `app.kubernetes.io/managed-by: blueprint` and `blueprint.dev/name`, and
//! its address in the annotation `blueprint.dev/address`. Reads are one
//! LIST per kind per cluster by that selector; applies are server-side
//! applies with the field manager `blueprint`.

pub mod config_map;
pub mod karpenter;
pub mod lint;
pub mod manifest;
pub mod namespace;
pub mod network_policy;
pub mod object;
pub mod rbac;
pub mod secret;
pub mod service_account;
pub mod storage_class;

use super::eks::Cluster;
use crate::model::{Address, Map, Problem, Value};
use crate::script::api::{name_arg, opts_arg};
use crate::script::schema::{opt, Opt, Ty};
use crate::script::state::{declare, fail, Deps, Fallible, Opts, Shared};
use object::{ObjectKind, ADDRESS_ANNOTATION, MANAGED_BY, OWNER_LABEL};
use rhai::{Dynamic, Engine, NativeCallContext};

/// A cluster as in-cluster declarations see it: its name, and the cluster
/// resource when the blueprint manages it (objects are created after it).
#[derive(Clone, Debug)]
pub struct ClusterRef {
    pub name: String,
    pub resource: Option<Address>,
}

/// `existing_cluster(name)`: a cluster this blueprint does not manage.
#[derive(Clone, Debug)]
pub struct ExistingCluster(pub String);

impl ClusterRef {
    pub fn of(d: &Dynamic) -> Option<ClusterRef> {
        if let Some(c) = d.read_lock::<Cluster>() {
            return Some(ClusterRef {
                name: c.0.name.clone(),
                resource: Some(c.0.clone()),
            });
        }
        d.read_lock::<ExistingCluster>().map(|c| ClusterRef {
            name: c.0.clone(),
            resource: None,
        })
    }
}

/// Where a namespaced object goes: a cluster and a namespace, which is a
/// declared resource (`c.namespace(...)`) or one that already exists
/// (`c.existing_namespace(...)`).
#[derive(Clone, Debug)]
pub struct NamespaceRef {
    pub cluster: ClusterRef,
    pub name: String,
    pub resource: Option<Address>,
}

/// The options every in-cluster kind takes.
pub const LABELS_OPT: Opt = opt(
    "labels",
    Ty::StrMap,
    "Kubernetes labels (ownership labels are added)",
);
pub const ANNOTATIONS_OPT: Opt = opt("annotations", Ty::StrMap, "Kubernetes annotations");
pub const ADOPT_OPT: Opt = opt(
    "adopt",
    Ty::Bool,
    "take over an object that exists but is not this blueprint's",
);

/// Namespaces Kubernetes makes itself: never declared, only used with
/// `c.existing_namespace(name)`.
pub const SYSTEM_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];

fn dns_label_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
}

fn dns_subdomain_char(c: char) -> bool {
    dns_label_char(c) || c == '.'
}

fn alnum_ends(name: &str) -> Result<(), Problem> {
    let ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if ok(name.chars().next()) && ok(name.chars().last()) {
        Ok(())
    } else {
        Err(Problem::new(format!(
            "the Kubernetes name `{name}` must start and end with a lowercase letter or digit"
        )))
    }
}

/// Namespace names: DNS-1123 labels.
pub const LABEL_NAME: crate::model::names::NameRule = crate::model::names::NameRule::chars(
    1,
    63,
    dns_label_char,
    "lowercase letters, digits and `-`",
)
.with(alnum_ends);
/// Most object names: DNS-1123 subdomains.
pub const SUBDOMAIN_NAME: crate::model::names::NameRule = crate::model::names::NameRule::chars(
    1,
    253,
    dns_subdomain_char,
    "lowercase letters, digits, `-` and `.`",
)
.with(alnum_ends);
/// RBAC object names may hold `:` (`system:aggregate-to-view`).
pub const RBAC_NAME: crate::model::names::NameRule = crate::model::names::NameRule::chars(
    1,
    253,
    rbac_char,
    "lowercase letters, digits, `-`, `.` and `:`",
)
.with(alnum_ends);

fn rbac_char(c: char) -> bool {
    dns_subdomain_char(c) || c == ':'
}

/// A label or annotation key: an optional DNS prefix and `/`, then a name
/// of at most 63 characters; Blueprint's own keys are reserved.
fn check_key(key: &str, what: &str) -> Result<(), Problem> {
    if [MANAGED_BY, OWNER_LABEL, ADDRESS_ANNOTATION].contains(&key) {
        return Err(
            Problem::new(format!("the {what} `{key}` is Blueprint's own"))
                .hint("Blueprint sets it to mark what it owns"),
        );
    }
    let name = key.rsplit_once('/').map(|(_, n)| n).unwrap_or(key);
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(Problem::new(format!("`{key}` is not a valid Kubernetes {what} key"))
            .hint("keys are an optional DNS prefix and `/`, then up to 63 of a-z, A-Z, 0-9, `-`, `_`, `.`"))
    }
}

fn check_label_value(key: &str, v: &Dynamic) -> Result<(), Problem> {
    if !v.is_string() {
        return Ok(()); // a reference or a secret: checked by the server
    }
    let s = v.to_string();
    let ok = s.is_empty()
        || (s.len() <= 63
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && s.ends_with(|c: char| c.is_ascii_alphanumeric()));
    if ok {
        Ok(())
    } else {
        Err(Problem::new(format!("the label `{key}` has an invalid value `{s}`"))
            .hint("label values are up to 63 of a-z, A-Z, 0-9, `-`, `_`, `.`, alphanumeric at both ends"))
    }
}

/// `labels` and `annotations` as spec maps, checked.
fn metadata(
    ctx: &NativeCallContext,
    o: &Opts,
    deps: &mut Deps,
    extra_annotations: Map,
) -> Fallible<(Value, Value)> {
    let mut pairs = |k: &str, labels: bool| -> Fallible<Map> {
        let mut out = Map::new();
        if let Some(m) = o
            .get(k)
            .and_then(|d| d.read_lock::<rhai::Map>().map(|m| m.clone()))
        {
            for (key, v) in &m {
                let what = if labels { "label" } else { "annotation" };
                check_key(key, what).map_err(|p| fail(ctx, p))?;
                if labels {
                    check_label_value(key, v).map_err(|p| fail(ctx, p))?;
                }
                out.insert(key.to_string(), deps.value(v));
            }
        }
        Ok(out)
    };
    let labels = pairs("labels", true)?;
    let mut annotations = pairs("annotations", false)?;
    annotations.extend(extra_annotations);
    Ok((Value::Map(labels), Value::Map(annotations)))
}

/// What a constructor hands to [`declare_object`].
pub struct Declaration<'a> {
    pub obj: &'a ObjectKind,
    pub cluster: &'a ClusterRef,
    pub namespace: Option<&'a NamespaceRef>,
    pub name: &'a str,
    pub opts: &'a rhai::Map,
    /// The object's own top-level fields, under their Kubernetes names.
    pub body: Map,
    /// Annotations the kind sets itself (a service account's role ARN).
    pub annotations: Map,
    pub deps: Deps,
}

/// Declares an in-cluster object: name check, labels and annotations,
/// `adopt`, and its dependency on the namespace or cluster.
pub fn declare_object(
    state: &Shared,
    ctx: &NativeCallContext,
    d: Declaration,
) -> Fallible<Address> {
    let Declaration {
        obj,
        cluster,
        namespace,
        name,
        opts,
        body,
        annotations,
        mut deps,
    } = d;
    if !obj.content {
        crate::script::state::check_name(ctx, obj.kind, name)?;
    }
    let o = Opts(opts);
    let (labels, annotations) = metadata(ctx, &o, &mut deps, annotations)?;
    let mut spec = body;
    spec.insert("labels".into(), labels);
    spec.insert("annotations".into(), annotations);
    if o.bool_or("adopt", false) {
        spec.insert("adopt".into(), Value::Bool(true));
    }
    match namespace {
        Some(ns) => {
            if let Some(a) = &ns.resource {
                deps.add(a);
            }
        }
        None => {
            if let Some(a) = &cluster.resource {
                deps.add(a);
            }
        }
    }
    if let Some(a) = &cluster.resource {
        deps.add(a);
    }
    let address = obj.address(&cluster.name, namespace.map(|n| n.name.as_str()), name);
    declare(state, ctx, address.clone(), spec, deps)?;
    Ok(address)
}

impl NamespaceRef {
    /// Declares an object of `obj` in this namespace.
    #[allow(clippy::too_many_arguments)]
    pub fn declare(
        &self,
        state: &Shared,
        ctx: &NativeCallContext,
        obj: &ObjectKind,
        name: &str,
        opts: &rhai::Map,
        body: Map,
        annotations: Map,
        deps: Deps,
    ) -> Fallible<Address> {
        let d = Declaration {
            obj,
            cluster: &self.cluster,
            namespace: Some(self),
            name,
            opts,
            body,
            annotations,
            deps,
        };
        declare_object(state, ctx, d)
    }
}

impl ClusterRef {
    /// Declares a cluster-scoped object of `obj`.
    #[allow(clippy::too_many_arguments)]
    pub fn declare(
        &self,
        state: &Shared,
        ctx: &NativeCallContext,
        obj: &ObjectKind,
        name: &str,
        opts: &rhai::Map,
        body: Map,
        annotations: Map,
        deps: Deps,
    ) -> Fallible<Address> {
        let d = Declaration {
            obj,
            cluster: self,
            namespace: None,
            name,
            opts,
            body,
            annotations,
            deps,
        };
        declare_object(state, ctx, d)
    }
}

/// Registers `f` as the method `name(name, opts)` and `name(name)` of both
/// cluster handle types.
pub fn on_clusters<T: Clone + Send + Sync + 'static>(
    engine: &mut Engine,
    state: &Shared,
    method: &'static str,
    f: fn(&Shared, &NativeCallContext, &ClusterRef, &Dynamic, &Dynamic) -> Fallible<T>,
) {
    fn with_cluster<T>(
        ctx: &NativeCallContext,
        d: &Dynamic,
        go: impl FnOnce(&ClusterRef) -> Fallible<T>,
    ) -> Fallible<T> {
        match ClusterRef::of(d) {
            Some(c) => go(&c),
            None => Err(fail(ctx, Problem::new("not a cluster handle"))),
        }
    }
    macro_rules! both {
        ($ty:ty) => {
            let s = state.clone();
            engine.register_fn(
                method,
                move |ctx: NativeCallContext, c: &mut $ty, name: Dynamic, opts: Dynamic| {
                    let d = Dynamic::from(c.clone());
                    with_cluster(&ctx, &d, |c| f(&s, &ctx, c, &name, &opts))
                },
            );
            let s = state.clone();
            engine.register_fn(
                method,
                move |ctx: NativeCallContext, c: &mut $ty, name: Dynamic| {
                    let d = Dynamic::from(c.clone());
                    let opts = Dynamic::from(rhai::Map::new());
                    with_cluster(&ctx, &d, |c| f(&s, &ctx, c, &name, &opts))
                },
            );
        };
    }
    both!(Cluster);
    both!(ExistingCluster);
}

/// Registers `f` as the method `name(name, opts)` (and `name(name)` when
/// every option is optional) of namespace handles.
pub fn on_namespaces<T: Clone + Send + Sync + 'static>(
    engine: &mut Engine,
    state: &Shared,
    method: &'static str,
    f: fn(&Shared, &NativeCallContext, &NamespaceRef, &Dynamic, &Dynamic) -> Fallible<T>,
) {
    let s = state.clone();
    engine.register_fn(
        method,
        move |ctx: NativeCallContext,
              ns: &mut namespace::Namespace,
              name: Dynamic,
              opts: Dynamic| { f(&s, &ctx, &ns.0, &name, &opts) },
    );
    let s = state.clone();
    engine.register_fn(
        method,
        move |ctx: NativeCallContext, ns: &mut namespace::Namespace, name: Dynamic| {
            f(&s, &ctx, &ns.0, &name, &Dynamic::from(rhai::Map::new()))
        },
    );
}

/// The name and checked options of a constructor.
pub fn args(
    ctx: &NativeCallContext,
    what: &str,
    name: &Dynamic,
    opts: &Dynamic,
    schema: &[Opt],
) -> Fallible<(String, rhai::Map)> {
    Ok((
        name_arg(ctx, what, name)?,
        opts_arg(ctx, what, opts, schema)?,
    ))
}

/// Scalars of a string map as strings (Kubernetes `data` holds only
/// strings), sensitive ones too: a number from a sops file is its text.
pub fn stringified(v: Value) -> Value {
    match v {
        Value::Map(m) => Value::Map(m.into_iter().map(|(k, x)| (k, stringified(x))).collect()),
        Value::Int(_) | Value::Float(_) | Value::Bool(_) => Value::Str(v.to_string()),
        Value::Sensitive(mut s) => {
            if let Some(inner) = s.value.take() {
                s.value = Some(Box::new(stringified(*inner)));
            }
            Value::Sensitive(s)
        }
        other => other,
    }
}

/// A script value as a spec value, recording references.
pub fn value(deps: &mut Deps, d: Option<&Dynamic>) -> Option<Value> {
    d.map(|d| deps.value(d))
}

/// Registers the family's functions that belong to no single kind:
/// `existing_cluster(name)`.
pub fn register_family(engine: &mut Engine, state: &Shared) {
    engine
        .register_type_with_name::<ExistingCluster>("ExistingCluster")
        .register_fn("to_string", |c: &mut ExistingCluster| c.0.clone())
        .register_get("name", |c: &mut ExistingCluster| c.0.clone());
    let s = state.clone();
    engine.register_fn(
        "existing_cluster",
        move |ctx: NativeCallContext, name: Dynamic| -> Fallible<ExistingCluster> {
            let name = name_arg(&ctx, "existing_cluster", &name)?;
            crate::script::state::check_name(&ctx, super::eks::cluster::KIND, &name)?;
            s.borrow_mut().graph.name_existing_cluster(&name);
            Ok(ExistingCluster(name))
        },
    );
}

/// A binding's `role`: a Role or ClusterRole handle, or a ClusterRole name.
pub fn is_role_ref(d: &Dynamic) -> bool {
    d.is_string() || d.is::<rbac::role::Role>() || d.is::<rbac::cluster_role::ClusterRole>()
}

/// The `roleRef` of a binding.
pub fn role_ref(deps: &mut Deps, d: &Dynamic) -> Value {
    let (kind, name) = if let Some(r) = d.read_lock::<rbac::role::Role>() {
        deps.add(&r.0);
        (
            "Role",
            r.0.name.rsplit('/').next().unwrap_or_default().to_string(),
        )
    } else if let Some(r) = d.read_lock::<rbac::cluster_role::ClusterRole>() {
        deps.add(&r.0);
        (
            "ClusterRole",
            r.0.name.rsplit('/').next().unwrap_or_default().to_string(),
        )
    } else {
        ("ClusterRole", d.to_string())
    };
    Value::Map(Map::from([
        ("apiGroup".into(), Value::str("rbac.authorization.k8s.io")),
        ("kind".into(), Value::str(kind)),
        ("name".into(), Value::Str(name)),
    ]))
}

/// A binding's subjects, with the `apiGroup` users and groups need.
pub fn subjects(v: Value) -> Value {
    match v {
        Value::List(items) => Value::List(
            items
                .into_iter()
                .map(|s| match s {
                    Value::Map(mut m) => {
                        let kind = m.get("kind").and_then(Value::as_str).unwrap_or_default();
                        if matches!(kind, "User" | "Group") && !m.contains_key("apiGroup") {
                            m.insert("apiGroup".into(), Value::str("rbac.authorization.k8s.io"));
                        }
                        Value::Map(m)
                    }
                    other => other,
                })
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_values_become_text_secrets_included() {
        let secret = Value::Sensitive(crate::model::Secret {
            hash: "h".into(),
            value: Some(Box::new(Value::Int(5432))),
        });
        let data = Value::Map(Map::from([
            ("port".into(), Value::Int(80)),
            ("on".into(), Value::Bool(true)),
            ("db".into(), secret),
        ]));
        let Value::Map(out) = stringified(data) else {
            panic!()
        };
        assert_eq!(out["port"], Value::str("80"));
        assert_eq!(out["on"], Value::str("true"));
        match &out["db"] {
            Value::Sensitive(s) => assert_eq!(s.value.as_deref(), Some(&Value::str("5432"))),
            other => panic!("{other:?}"),
        }
    }
}
