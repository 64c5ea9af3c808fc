//! ConfigMaps: `ns.config_map(name, #{ data, labels?, annotations?, adopt? })`.

use super::object::{ObjectKind, ADOPT, ANNOTATIONS, LABELS, WHERE};
use super::{args, declare_object, on_namespaces, Declaration, NamespaceRef};
use super::{ADOPT_OPT, ANNOTATIONS_OPT, LABELS_OPT};
use crate::kinds::{Field, KindDef, Lifecycle, Read};
use crate::model::{Kind, Map};
use crate::script::schema::{req, FnDoc, Opt, Ty};
use crate::script::state::{Deps, Fallible, Opts, Shared};
use rhai::{Dynamic, Engine, NativeCallContext};
use std::borrow::Cow;

pub const KIND: Kind = Kind::new("config_map");

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
        body.insert("data".into(), v);
    }
    let address = declare_object(
        state,
        ctx,
        Declaration {
            obj: &OBJ,
            cluster: &ns.cluster,
            namespace: Some(ns),
            name: &name,
            opts: &opts,
            body,
            annotations: Map::new(),
            deps,
        },
    )?;
    Ok(ConfigMap(address))
}

fn register(engine: &mut Engine, state: &Shared) {
    ConfigMap::register_type(engine);
    on_namespaces(engine, state, "config_map", config_map);
}

crate::object_kind!(OBJ, wait_on_delete = false);

const FIELDS: &[Field] = &[Field::new("data").map(), LABELS, ANNOTATIONS, ADOPT, WHERE];

pub static DEF: KindDef = KindDef {
    kind: KIND,
    handle: "ConfigMap",
    default_attr: "name",
    names: super::SUBDOMAIN_NAME,
    members: &["address"],
    functions: FUNCTIONS,
    register,
    wrap: ConfigMap::wrap,
    unwrap: ConfigMap::unwrap,
    validate: None,
    fields: FIELDS,
    lifecycle: Lifecycle::PLAIN,
    read: Read::InCluster(&IN_CLUSTER),
    create,
    update: Some(update),
    delete,
    list,
};
