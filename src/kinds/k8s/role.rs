//! Roles: `ns.role(name, #{ rules, labels?, annotations?, adopt? })` (rbac.authorization.k8s.io/v1).

use super::object::{ObjectKind, ADOPT, ANNOTATIONS, LABELS, WHERE};
use super::{args, on_namespaces, NamespaceRef};
use super::{ADOPT_OPT, ANNOTATIONS_OPT, LABELS_OPT};
use crate::kinds::Field;
use crate::model::Map;
use crate::script::schema::{req, FnDoc, Opt, Ty};
use std::borrow::Cow;

use crate::script::state::{Deps, Fallible, Opts, Shared};
use rhai::{Dynamic, Engine, NativeCallContext};

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
    let address = ns.declare(state, ctx, &OBJ, &name, &opts, body, Map::new(), deps)?;
    Ok(Role(address))
}

fn register(engine: &mut Engine, state: &Shared) {
    Role::register_type(engine);
    on_namespaces(engine, state, "role", role);
}

crate::object_kind!(OBJ, wait_on_delete = false, kind: "role", def: Role, names: super::RBAC_NAME);

const FIELDS: &[Field] = &[Field::new("rules"), LABELS, ANNOTATIONS, ADOPT, WHERE];
