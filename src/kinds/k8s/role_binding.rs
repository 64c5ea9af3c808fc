//! Role bindings: `ns.role_binding(name, #{ role, subjects, labels?, annotations?, adopt? })` (rbac.authorization.k8s.io/v1).

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
    k8s_kind: Cow::Borrowed("RoleBinding"),
    plural: Cow::Borrowed("rolebindings"),
    namespaced: true,
    body: &["roleRef", "subjects"],
    base64_data: false,
    content: false,
};

crate::handle_type!(RoleBinding);

const OPTS: &[Opt] = &[
    req("role", Ty::Check("a Role or ClusterRole handle, or the name of a ClusterRole (\"view\", \"edit\", \"admin\")", super::is_role_ref), "the role granted"),
    req("subjects", Ty::MapList, "who is granted it: [#{ kind: \"Group\", name: \"developers\" }] (apiGroup is filled in for users and groups)"),
    LABELS_OPT,
    ANNOTATIONS_OPT,
    ADOPT_OPT,
];

const FUNCTIONS: &[FnDoc] = &[FnDoc {
    name: "role_binding",
    signature: "namespace.role_binding(name, #{ role, subjects, labels?, annotations?, adopt? }) -> RoleBinding",
    doc: "Grants a Role or ClusterRole in the namespace.",
    options: OPTS,
    method_of: Some("Namespace"),
}];

fn role_binding(
    state: &Shared,
    ctx: &NativeCallContext,
    ns: &NamespaceRef,
    name: &Dynamic,
    opts: &Dynamic,
) -> Fallible<RoleBinding> {
    let (name, opts) = args(ctx, "role_binding", name, opts, OPTS)?;
    let mut deps = Deps::default();
    let o = Opts(&opts);
    let mut body = Map::new();
    let role = o.get("role").cloned().unwrap_or_default();
    body.insert("roleRef".into(), super::role_ref(&mut deps, &role));
    if let Some(v) = super::value(&mut deps, o.get("subjects")) {
        body.insert("subjects".into(), super::subjects(v));
    }
    let address = ns.declare(state, ctx, &OBJ, &name, &opts, body, Map::new(), deps)?;
    Ok(RoleBinding(address))
}

fn register(engine: &mut Engine, state: &Shared) {
    RoleBinding::register_type(engine);
    on_namespaces(engine, state, "role_binding", role_binding);
}

crate::object_kind!(OBJ, wait_on_delete = false, kind: "role_binding", def: RoleBinding, names: super::RBAC_NAME);

const FIELDS: &[Field] = &[
    Field::new("roleRef").replaces("a binding's roleRef cannot change"),
    Field::new("subjects"),
    LABELS,
    ANNOTATIONS,
    ADOPT,
    WHERE,
];
