//! Service accounts: `ns.service_account(name, #{ role?, labels?, annotations?, adopt? })`.
//! `role` (the handle of `c.irsa_role(...)`) sets the
//! `eks.amazonaws.com/role-arn` annotation; the role must trust this
//! service account.

use super::object::{ObjectKind, ADOPT, ANNOTATIONS, LABELS, WHERE};
use super::{args, declare_object, on_namespaces, Declaration, NamespaceRef};
use super::{ADOPT_OPT, ANNOTATIONS_OPT, LABELS_OPT};
use crate::kinds::{Field, KindDef, Lifecycle, Read};
use crate::model::{Address, Kind, Map, Problem, Value};
use crate::script::schema::{opt, FnDoc, Opt, Ty};
use crate::script::state::fail;
use crate::script::state::{Deps, Fallible, Opts, Shared};
use rhai::{Dynamic, Engine, NativeCallContext};
use std::borrow::Cow;

pub const KIND: Kind = Kind::new("service_account");

pub static OBJ: ObjectKind = ObjectKind {
    kind: KIND,
    api_version: Cow::Borrowed("v1"),
    k8s_kind: Cow::Borrowed("ServiceAccount"),
    plural: Cow::Borrowed("serviceaccounts"),
    namespaced: true,
    body: &[],
    base64_data: false,
    content: false,
};

crate::handle_type!(ServiceAccount);

const OPTS: &[Opt] = &[
    opt("role", Ty::Handle(crate::kinds::iam::role::KIND), "the IAM role the pods assume (IRSA): the handle of c.irsa_role(...) for this service account"),
    LABELS_OPT,
    ANNOTATIONS_OPT,
    ADOPT_OPT,
];

const FUNCTIONS: &[FnDoc] = &[FnDoc {
    name: "service_account",
    signature: "namespace.service_account(name, #{ role?, labels?, annotations?, adopt? }) -> ServiceAccount",
    doc: "A ServiceAccount in the namespace, optionally bound to an IAM role (IRSA).",
    options: OPTS,
    method_of: Some("Namespace"),
}];

fn service_account(
    state: &Shared,
    ctx: &NativeCallContext,
    ns: &NamespaceRef,
    name: &Dynamic,
    opts: &Dynamic,
) -> Fallible<ServiceAccount> {
    let (name, opts) = args(ctx, "service_account", name, opts, OPTS)?;
    let mut deps = Deps::default();
    let body = Map::new();
    let mut annotations = Map::new();
    if let Some(role) = Opts(&opts)
        .get("role")
        .and_then(crate::script::handles::address_of)
    {
        check_trust(state, ctx, &role, ns, &name)?;
        deps.add(&role);
        annotations.insert(
            ROLE_ANNOTATION.into(),
            Value::Ref(crate::model::Ref {
                address: role,
                attr: "arn".into(),
            }),
        );
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
            annotations,
            deps,
        },
    )?;
    Ok(ServiceAccount(address))
}

/// The annotation EKS reads to give a service account's pods a role.
pub const ROLE_ANNOTATION: &str = "eks.amazonaws.com/role-arn";

/// The role must be an IRSA role that trusts this service account.
fn check_trust(
    state: &Shared,
    ctx: &NativeCallContext,
    role: &Address,
    ns: &NamespaceRef,
    name: &str,
) -> Fallible<()> {
    let st = state.borrow();
    let irsa = st
        .graph
        .get(role)
        .and_then(|r| r.spec.get("irsa"))
        .and_then(Value::as_map)
        .cloned();
    let Some(irsa) = irsa else {
        return Err(fail(
            ctx,
            Problem::new(format!(
                "{role} is not assumable by service accounts (it has no IRSA trust)"
            ))
            .hint(format!(
                "declare it with c.irsa_role(..., #{{ namespace: \"{}\", service_account: \"{name}\", ... }})",
                ns.name
            )),
        ));
    };
    let get = |k: &str| {
        irsa.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    if get("namespace") != ns.name || get("service_account") != name {
        return Err(fail(
            ctx,
            Problem::new(format!(
                "{role} trusts the service account {}/{}, not {}/{name}",
                get("namespace"),
                get("service_account"),
                ns.name
            ))
            .hint("give the role's namespace and service_account the same names as this service account"),
        ));
    }
    Ok(())
}

fn register(engine: &mut Engine, state: &Shared) {
    ServiceAccount::register_type(engine);
    on_namespaces(engine, state, "service_account", service_account);
}

crate::object_kind!(OBJ, wait_on_delete = false);

const FIELDS: &[Field] = &[LABELS, ANNOTATIONS, ADOPT, WHERE];

pub static DEF: KindDef = KindDef {
    kind: KIND,
    handle: "ServiceAccount",
    default_attr: "name",
    names: super::SUBDOMAIN_NAME,
    members: &["address"],
    functions: FUNCTIONS,
    register,
    wrap: ServiceAccount::wrap,
    unwrap: ServiceAccount::unwrap,
    validate: None,
    fields: FIELDS,
    lifecycle: Lifecycle::PLAIN,
    read: Read::InCluster(&IN_CLUSTER),
    create,
    update: Some(update),
    delete,
    list,
};
