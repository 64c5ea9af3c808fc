//! Roles: `ns.role(name, #{ rules, labels?, annotations?, adopt? })` (rbac.authorization.k8s.io/v1).

use super::object::{ObjectKind, ADOPT, ANNOTATIONS, LABELS, WHERE};
use super::{args, declare_object, on_namespaces, Declaration, NamespaceRef};
use super::{ADOPT_OPT, ANNOTATIONS_OPT, LABELS_OPT};
use crate::kinds::{Field, KindDef, Lifecycle, Read};
use crate::model::{Kind, Map};
use crate::script::schema::{req, FnDoc, Opt, Ty};
use std::borrow::Cow;

use crate::script::state::{Deps, Fallible, Opts, Shared};
use rhai::{Dynamic, Engine, NativeCallContext};

pub const KIND: Kind = Kind::new("role");

pub static OBJ: ObjectKind = ObjectKind {
    kind: KIND,
    api_version: Cow::Borrowed("rbac.authorization.k8s.io/v1"),
    k8s_kind: Cow::Borrowed("Role"),
    plural: Cow::Borrowed("roles"),
    namespaced: true,
    body: &["rules"],
    base64_data: false,
    content: false,
};

crate::handle_type!(Role);

const OPTS: &[Opt] = &[
    req(
        "rules",
        Ty::MapList,
        "policy rules: [#{ apiGroups: [\"\"], resources: [\"pods\"], verbs: [\"get\", \"list\"] }]",
    ),
    LABELS_OPT,
    ANNOTATIONS_OPT,
    ADOPT_OPT,
];

const FUNCTIONS: &[FnDoc] = &[FnDoc {
    name: "role",
    signature: "namespace.role(name, #{ rules, labels?, annotations?, adopt? }) -> Role",
    doc: "An RBAC Role in the namespace.",
    options: OPTS,
    method_of: Some("Namespace"),
}];

fn role(
    state: &Shared,
    ctx: &NativeCallContext,
    ns: &NamespaceRef,
    name: &Dynamic,
    opts: &Dynamic,
) -> Fallible<Role> {
    let (name, opts) = args(ctx, "role", name, opts, OPTS)?;
    let mut deps = Deps::default();
    let mut body = Map::new();
    if let Some(v) = super::value(&mut deps, Opts(&opts).get("rules")) {
        body.insert("rules".into(), v);
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
    Ok(Role(address))
}

fn register(engine: &mut Engine, state: &Shared) {
    Role::register_type(engine);
    on_namespaces(engine, state, "role", role);
}

crate::object_kind!(OBJ, wait_on_delete = false);

const FIELDS: &[Field] = &[Field::new("rules"), LABELS, ANNOTATIONS, ADOPT, WHERE];

pub static DEF: KindDef = KindDef {
    kind: KIND,
    handle: "Role",
    default_attr: "name",
    names: super::RBAC_NAME,
    members: &["address"],
    functions: FUNCTIONS,
    register,
    wrap: Role::wrap,
    unwrap: Role::unwrap,
    validate: None,
    fields: FIELDS,
    lifecycle: Lifecycle::PLAIN,
    read: Read::InCluster(&IN_CLUSTER),
    create,
    update: Some(update),
    delete,
    list,
};
