//! RBAC, one module for both scopes: roles and role bindings in a
//! namespace (`ns.role(...)`, `ns.role_binding(...)`), cluster roles and
//! cluster role bindings across a cluster (`c.cluster_role(...)`,
//! `c.cluster_role_binding(...)`), all rbac.authorization.k8s.io/v1. A
//! kind differs from its cluster-wide twin only in where it lives.

use super::object::{ADOPT, ANNOTATIONS, LABELS, WHERE};
use super::{ADOPT_OPT, ANNOTATIONS_OPT, LABELS_OPT};
use crate::kinds::Field;
use crate::model::Map;
use crate::script::schema::{req, Opt, Ty};
use crate::script::state::{Deps, Opts};

/// A role's body: its rules.
fn rules(deps: &mut Deps, o: Opts) -> Map {
    let mut body = Map::new();
    if let Some(v) = super::value(deps, o.get("rules")) {
        body.insert("rules".into(), v);
    }
    body
}

/// A binding's body: the role it grants and to whom.
fn grant(deps: &mut Deps, o: Opts) -> Map {
    let mut body = Map::new();
    let role = o.get("role").cloned().unwrap_or_default();
    body.insert("roleRef".into(), super::role_ref(deps, &role));
    if let Some(v) = super::value(deps, o.get("subjects")) {
        body.insert("subjects".into(), super::subjects(v));
    }
    body
}

const RULES: &[Opt] = &[
    req(
        "rules",
        Ty::MapList,
        "policy rules: [#{ apiGroups: [\"\"], resources: [\"pods\"], verbs: [\"get\", \"list\"] }]",
    ),
    LABELS_OPT,
    ANNOTATIONS_OPT,
    ADOPT_OPT,
];

const SUBJECTS: Opt = req("subjects", Ty::MapList, "who is granted it: [#{ kind: \"Group\", name: \"developers\" }] (apiGroup is filled in for users and groups)");

const GRANT_IN_NAMESPACE: &[Opt] = &[
    req("role", Ty::Check("a Role or ClusterRole handle, or the name of a ClusterRole (\"view\", \"edit\", \"admin\")", super::is_role_ref), "the role granted"),
    SUBJECTS,
    LABELS_OPT,
    ANNOTATIONS_OPT,
    ADOPT_OPT,
];

const GRANT_IN_CLUSTER: &[Opt] = &[
    req(
        "role",
        Ty::Check(
            "a ClusterRole handle, or the name of a ClusterRole (\"view\", \"edit\", \"admin\")",
            super::is_role_ref,
        ),
        "the role granted",
    ),
    SUBJECTS,
    LABELS_OPT,
    ANNOTATIONS_OPT,
    ADOPT_OPT,
];

/// The spec fields that are the objects' top-level fields.
const RULE_KEYS: &[&str] = &["rules"];
const GRANT_KEYS: &[&str] = &["roleRef", "subjects"];

const RULE_FIELDS: &[Field] = &[Field::new("rules"), LABELS, ANNOTATIONS, ADOPT, WHERE];

const GRANT_FIELDS: &[Field] = &[
    Field::new("roleRef").replaces("a binding's roleRef cannot change"),
    Field::new("subjects"),
    LABELS,
    ANNOTATIONS,
    ADOPT,
    WHERE,
];

/// One RBAC kind: its module, registry name, handle, Kubernetes kind and
/// plural, where it lives (`NamespaceRef` and `on_namespaces`, or
/// `ClusterRef` and `on_clusters`), its options, body and fields, and its
/// docs.
macro_rules! rbac_kind {
    ($module:ident: $name:literal, $handle:ident, $k8s:literal / $plural:literal,
     in $place:ident via $on:ident, namespaced: $namespaced:literal,
     opts: $opts:ident, body: $body:ident ($keys:ident), fields: $fields:ident,
     $signature:literal, $doc:literal, method of $of:literal) => {
        pub mod $module {
            use super::super::object::ObjectKind;
            use super::super::{args, $on, $place};
            use crate::script::schema::FnDoc;
            use crate::script::state::{Deps, Fallible, Opts, Shared};
            use rhai::{Dynamic, Engine, NativeCallContext};
            use std::borrow::Cow;

            pub static OBJ: ObjectKind = ObjectKind {
                kind: KIND,
                api_version: Cow::Borrowed("rbac.authorization.k8s.io/v1"),
                k8s_kind: Cow::Borrowed($k8s),
                plural: Cow::Borrowed($plural),
                namespaced: $namespaced,
                body: super::$keys,
                base64_data: false,
                content: false,
            };

            crate::handle_type!($handle);

            const FUNCTIONS: &[FnDoc] = &[FnDoc {
                name: $name,
                signature: $signature,
                doc: $doc,
                options: super::$opts,
                method_of: Some($of),
            }];

            const FIELDS: &[crate::kinds::Field] = super::$fields;

            fn declare(
                state: &Shared,
                ctx: &NativeCallContext,
                place: &$place,
                name: &Dynamic,
                opts: &Dynamic,
            ) -> Fallible<$handle> {
                let (name, opts) = args(ctx, $name, name, opts, super::$opts)?;
                let mut deps = Deps::default();
                let body = super::$body(&mut deps, Opts(&opts));
                let address = place.declare(
                    state,
                    ctx,
                    &OBJ,
                    &name,
                    &opts,
                    body,
                    crate::model::Map::new(),
                    deps,
                )?;
                Ok($handle(address))
            }

            fn register(engine: &mut Engine, state: &Shared) {
                $handle::register_type(engine);
                $on(engine, state, $name, declare);
            }

            crate::object_kind!(OBJ, wait_on_delete = false, kind: $name, def: $handle, names: super::super::RBAC_NAME);
        }
    };
}

rbac_kind!(role: "role", Role, "Role" / "roles",
    in NamespaceRef via on_namespaces, namespaced: true,
    opts: RULES, body: rules (RULE_KEYS), fields: RULE_FIELDS,
    "namespace.role(name, #{ rules, labels?, annotations?, adopt? }) -> Role",
    "An RBAC Role in the namespace.", method of "Namespace");

rbac_kind!(role_binding: "role_binding", RoleBinding, "RoleBinding" / "rolebindings",
    in NamespaceRef via on_namespaces, namespaced: true,
    opts: GRANT_IN_NAMESPACE, body: grant (GRANT_KEYS), fields: GRANT_FIELDS,
    "namespace.role_binding(name, #{ role, subjects, labels?, annotations?, adopt? }) -> RoleBinding",
    "Grants a Role or ClusterRole in the namespace.", method of "Namespace");

rbac_kind!(cluster_role: "cluster_role", ClusterRole, "ClusterRole" / "clusterroles",
    in ClusterRef via on_clusters, namespaced: false,
    opts: RULES, body: rules (RULE_KEYS), fields: RULE_FIELDS,
    "cluster.cluster_role(name, #{ rules, labels?, annotations?, adopt? }) -> ClusterRole",
    "An RBAC ClusterRole.", method of "Cluster");

rbac_kind!(cluster_role_binding: "cluster_role_binding", ClusterRoleBinding, "ClusterRoleBinding" / "clusterrolebindings",
    in ClusterRef via on_clusters, namespaced: false,
    opts: GRANT_IN_CLUSTER, body: grant (GRANT_KEYS), fields: GRANT_FIELDS,
    "cluster.cluster_role_binding(name, #{ role, subjects, labels?, annotations?, adopt? }) -> ClusterRoleBinding",
    "Grants a ClusterRole across the cluster.", method of "Cluster");
