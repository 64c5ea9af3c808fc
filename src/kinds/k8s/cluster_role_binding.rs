//! Cluster role bindings: `c.cluster_role_binding(name, #{ role, subjects, labels?, annotations?, adopt? })`.

use super::object::{ObjectKind, ADOPT, ANNOTATIONS, LABELS, WHERE};
use super::{args, on_clusters, ClusterRef};
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
    k8s_kind: Cow::Borrowed("ClusterRoleBinding"),
    plural: Cow::Borrowed("clusterrolebindings"),
    namespaced: false,
    body: &["roleRef", "subjects"],
    base64_data: false,
    content: false,
};

crate::handle_type!(ClusterRoleBinding);

const OPTS: &[Opt] = &[
    req("role", Ty::Check("a ClusterRole handle, or the name of a ClusterRole (\"view\", \"edit\", \"admin\")", super::is_role_ref), "the role granted"),
    req("subjects", Ty::MapList, "who is granted it: [#{ kind: \"Group\", name: \"developers\" }] (apiGroup is filled in for users and groups)"),
    LABELS_OPT,
    ANNOTATIONS_OPT,
    ADOPT_OPT,
];

const FUNCTIONS: &[FnDoc] = &[FnDoc {
    name: "cluster_role_binding",
    signature: "cluster.cluster_role_binding(name, #{ role, subjects, labels?, annotations?, adopt? }) -> ClusterRoleBinding",
    doc: "Grants a ClusterRole across the cluster.",
    options: OPTS,
    method_of: Some("Cluster"),
}];

fn cluster_role_binding(
    state: &Shared,
    ctx: &NativeCallContext,
    c: &ClusterRef,
    name: &Dynamic,
    opts: &Dynamic,
) -> Fallible<ClusterRoleBinding> {
    let (name, opts) = args(ctx, "cluster_role_binding", name, opts, OPTS)?;
    let mut deps = Deps::default();
    let o = Opts(&opts);
    let mut body = Map::new();
    let role = o.get("role").cloned().unwrap_or_default();
    body.insert("roleRef".into(), super::role_ref(&mut deps, &role));
    if let Some(v) = super::value(&mut deps, o.get("subjects")) {
        body.insert("subjects".into(), super::subjects(v));
    }
    let address = c.declare(state, ctx, &OBJ, &name, &opts, body, Map::new(), deps)?;
    Ok(ClusterRoleBinding(address))
}

fn register(engine: &mut Engine, state: &Shared) {
    ClusterRoleBinding::register_type(engine);
    on_clusters(engine, state, "cluster_role_binding", cluster_role_binding);
}

crate::object_kind!(OBJ, wait_on_delete = false, kind: "cluster_role_binding", def: ClusterRoleBinding, names: super::RBAC_NAME);

const FIELDS: &[Field] = &[
    Field::new("roleRef").replaces("a binding's roleRef cannot change"),
    Field::new("subjects"),
    LABELS,
    ANNOTATIONS,
    ADOPT,
    WHERE,
];
