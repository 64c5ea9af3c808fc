//! ConfigMaps: `ns.config_map(name, #{ data, labels?, annotations?, adopt? })`.

use super::object::{ObjectKind, ADOPT, ANNOTATIONS, LABELS, WHERE};
use super::{args, on_namespaces, NamespaceRef};
use super::{ADOPT_OPT, ANNOTATIONS_OPT, LABELS_OPT};
use crate::kinds::Field;
use crate::model::Map;
use crate::script::schema::{req, FnDoc, Opt, Ty};
use crate::script::state::{Deps, Fallible, Opts, Shared};
use rhai::{Dynamic, Engine, NativeCallContext};
use std::borrow::Cow;

pub static OBJ: ObjectKind = ObjectKind {
    kind: KIND,
    api_version: Cow::Borrowed("v1"),
    k8s_kind: Cow::Borrowed("ConfigMap"),
    plural: Cow::Borrowed("configmaps"),
    namespaced: true,
    body: &["data"],
    base64_data: false,
    content: false,
};

crate::handle_type!(ConfigMap);

const OPTS: &[Opt] = &[
    req("data", Ty::StrMap, "the keys and their string values"),
    LABELS_OPT,
    ANNOTATIONS_OPT,
    ADOPT_OPT,
];

const FUNCTIONS: &[FnDoc] = &[FnDoc {
    name: "config_map",
    signature: "namespace.config_map(name, #{ data, labels?, annotations?, adopt? }) -> ConfigMap",
    doc: "A ConfigMap in the namespace.",
    options: OPTS,
    method_of: Some("Namespace"),
}];

fn config_map(
    state: &Shared,
    ctx: &NativeCallContext,
    ns: &NamespaceRef,
    name: &Dynamic,
    opts: &Dynamic,
) -> Fallible<ConfigMap> {
    let (name, opts) = args(ctx, "config_map", name, opts, OPTS)?;
    let mut deps = Deps::default();
    let mut body = Map::new();
    if let Some(v) = super::value(&mut deps, Opts(&opts).get("data")) {
        body.insert("data".into(), super::stringified(v));
    }
    let address = ns.declare(state, ctx, &OBJ, &name, &opts, body, Map::new(), deps)?;
    Ok(ConfigMap(address))
}

fn register(engine: &mut Engine, state: &Shared) {
    ConfigMap::register_type(engine);
    on_namespaces(engine, state, "config_map", config_map);
}

crate::object_kind!(OBJ, wait_on_delete = false, kind: "config_map", def: ConfigMap, names: super::SUBDOMAIN_NAME);

const FIELDS: &[Field] = &[Field::new("data").map(), LABELS, ANNOTATIONS, ADOPT, WHERE];
