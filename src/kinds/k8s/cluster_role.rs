//! Cluster roles: `c.cluster_role(name, #{ rules, labels?, annotations?, adopt? })` (rbac.authorization.k8s.io/v1).

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
    k8s_kind: Cow::Borrowed("ClusterRole"),
    plural: Cow::Borrowed("clusterroles"),
    namespaced: false,
    body: &["rules"],
    base64_data: false,
    content: false,
};

crate::handle_type!(ClusterRole);

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
    name: "cluster_role",
    signature:
        "cluster.cluster_role(name, #{ rules, labels?, annotations?, adopt? }) -> ClusterRole",
    doc: "An RBAC ClusterRole.",
    options: OPTS,
    method_of: Some("Cluster"),
}];

fn cluster_role(
    state: &Shared,
    ctx: &NativeCallContext,
    c: &ClusterRef,
    name: &Dynamic,
    opts: &Dynamic,
) -> Fallible<ClusterRole> {
    let (name, opts) = args(ctx, "cluster_role", name, opts, OPTS)?;
    let mut deps = Deps::default();
    let mut body = Map::new();
    if let Some(v) = super::value(&mut deps, Opts(&opts).get("rules")) {
        body.insert("rules".into(), v);
    }
    let address = c.declare(state, ctx, &OBJ, &name, &opts, body, Map::new(), deps)?;
    Ok(ClusterRole(address))
}

fn register(engine: &mut Engine, state: &Shared) {
    ClusterRole::register_type(engine);
    on_clusters(engine, state, "cluster_role", cluster_role);
}

crate::object_kind!(OBJ, wait_on_delete = false, kind: "cluster_role", def: ClusterRole, names: super::RBAC_NAME);

const FIELDS: &[Field] = &[Field::new("rules"), LABELS, ANNOTATIONS, ADOPT, WHERE];
