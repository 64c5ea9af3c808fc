//! Secrets: `ns.secret(name, #{ data, type?, labels?, annotations?, adopt? })`.
//! `data` values may be sensitive (from `sops_file`); plans show every key
//! as `(sensitive)` and still show which keys changed.

use super::object::{ObjectKind, ADOPT, ANNOTATIONS, LABELS, WHERE};
use super::{args, on_namespaces, NamespaceRef};
use super::{ADOPT_OPT, ANNOTATIONS_OPT, LABELS_OPT};
use crate::kinds::Field;
use crate::model::{Map, Value};
use crate::script::schema::{def, req, FnDoc, Opt, Ty};
use crate::script::state::{Deps, Fallible, Opts, Shared};
use rhai::{Dynamic, Engine, NativeCallContext};
use std::borrow::Cow;

pub static OBJ: ObjectKind = ObjectKind {
    kind: KIND,
    api_version: Cow::Borrowed("v1"),
    k8s_kind: Cow::Borrowed("Secret"),
    plural: Cow::Borrowed("secrets"),
    namespaced: true,
    body: &["data", "type"],
    base64_data: true,
    content: false,
};

crate::handle_type!(Secret);

const OPTS: &[Opt] = &[
    req(
        "data",
        Ty::StrMap,
        "the keys and their values, which may be sensitive (sops_file)",
    ),
    def(
        "type",
        Ty::Str,
        "Opaque",
        "the Secret's type, e.g. kubernetes.io/dockerconfigjson",
    ),
    LABELS_OPT,
    ANNOTATIONS_OPT,
    ADOPT_OPT,
];

const FUNCTIONS: &[FnDoc] = &[FnDoc {
    name: "secret",
    signature: "namespace.secret(name, #{ data, type?, labels?, annotations?, adopt? }) -> Secret",
    doc: "A Secret in the namespace; its values never show in plans or logs.",
    options: OPTS,
    method_of: Some("Namespace"),
}];

fn secret(
    state: &Shared,
    ctx: &NativeCallContext,
    ns: &NamespaceRef,
    name: &Dynamic,
    opts: &Dynamic,
) -> Fallible<Secret> {
    let (name, opts) = args(ctx, "secret", name, opts, OPTS)?;
    let mut deps = Deps::default();
    let mut body = Map::new();
    if let Some(v) = super::value(&mut deps, Opts(&opts).get("data")) {
        body.insert(
            "data".into(),
            sensitive(&ns.cluster.name, &ns.name, &name, v),
        );
    }
    let kind = Opts(&opts).str("type").unwrap_or_else(|| "Opaque".into());
    body.insert("type".into(), Value::Str(kind));
    let address = ns.declare(state, ctx, &OBJ, &name, &opts, body, Map::new(), deps)?;
    Ok(Secret(address))
}

/// Every value of a Secret is sensitive, also one written in the script:
/// plans, saved plans and logs never show it. A value that is not already
/// a secret (from `sops_file`) gets a plain hash of where it is and what it
/// is; the script holds it in clear anyway.
fn sensitive(cluster: &str, namespace: &str, name: &str, data: Value) -> Value {
    let data = super::stringified(data);
    let Value::Map(m) = data else { return data };
    Value::Map(
        m.into_iter()
            .map(|(k, v)| {
                if v.is_sensitive() || !v.refs().is_empty() {
                    return (k, v);
                }
                let secret = Value::Sensitive(crate::model::Secret {
                    hash: crate::model::verifier::script_secret_hash(
                        &v.to_string(),
                        &[cluster, namespace, name, k.as_str()],
                    ),
                    value: Some(Box::new(v)),
                });
                (k, secret)
            })
            .collect(),
    )
}

fn register(engine: &mut Engine, state: &Shared) {
    Secret::register_type(engine);
    on_namespaces(engine, state, "secret", secret);
}

crate::object_kind!(OBJ, wait_on_delete = false, kind: "secret", def: Secret, names: super::SUBDOMAIN_NAME, rules: super::lint::SECRET);

const FIELDS: &[Field] = &[
    Field::new("data").diff(crate::kinds::Diff::SensitiveMap),
    Field::new("type").replaces("a Secret's type cannot change"),
    LABELS,
    ANNOTATIONS,
    ADOPT,
    WHERE,
];
