//! Service accounts: `ns.service_account(name, #{ role?, labels?, annotations?, adopt? })`.
//! `role` (an `iam_role` handle, or the handle of `c.irsa_role(...)`) sets
//! the `eks.amazonaws.com/role-arn` annotation and adds the service account
//! to that role's trust.

use super::object::{ObjectKind, ADOPT, ANNOTATIONS, LABELS, WHERE};
use super::{args, on_namespaces, NamespaceRef};
use super::{ADOPT_OPT, ANNOTATIONS_OPT, LABELS_OPT};
use crate::kinds::Field;
use crate::model::{Address, Map, Problem, Value};
use crate::script::schema::{opt, FnDoc, Opt, Ty};
use crate::script::state::fail;
use crate::script::state::{Deps, Fallible, Opts, Shared};
use rhai::{Dynamic, Engine, NativeCallContext};
use std::borrow::Cow;

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
    opt(
        "role",
        Ty::Handle(crate::kinds::iam::role::KIND),
        "the IAM role the pods assume (IRSA); the service account is added to its trust",
    ),
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
        trust(state, ctx, &role, ns, &name)?;
        deps.add(&role);
        annotations.insert(
            ROLE_ANNOTATION.into(),
            Value::Ref(crate::model::Ref {
                address: role,
                attr: "arn".into(),
            }),
        );
    }
    let address = ns.declare(state, ctx, &OBJ, &name, &opts, body, annotations, deps)?;
    Ok(ServiceAccount(address))
}

/// The annotation EKS reads to give a service account's pods a role.
pub const ROLE_ANNOTATION: &str = "eks.amazonaws.com/role-arn";

/// The role trusts this service account: an IRSA role declared for it
/// already does; any other role declared in the blueprint gets a trust
/// statement for it (`service_accounts` in the role's spec), through the
/// OIDC provider of the cluster it runs in.
fn trust(
    state: &Shared,
    ctx: &NativeCallContext,
    role: &Address,
    ns: &NamespaceRef,
    name: &str,
) -> Fallible<()> {
    let irsa = {
        let st = state.borrow();
        let Some(r) = st.graph.get(role) else {
            return Err(fail(
                ctx,
                Problem::new(format!("{role} is not declared (yet)"))
                    .hint("declare the role before the service account that uses it"),
            ));
        };
        if r.is_existing() {
            // A role the blueprint does not manage keeps its own trust
            // policy: the service account only names it.
            return Ok(());
        }
        r.spec.get("irsa").and_then(Value::as_map).cloned()
    };
    let get = |m: &Map, k: &str| {
        m.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    if let Some(irsa) = &irsa {
        if get(irsa, "namespace") == ns.name && get(irsa, "service_account") == name {
            return Ok(());
        }
    }
    let trust = crate::kinds::eks::oidc_trust(state, ctx, &ns.cluster)?;
    let entry = trust.entry(&ns.name, name);
    let mut st = state.borrow_mut();
    let r = st.graph.get_mut(role).expect("checked above");
    let list = r
        .spec
        .entry("service_accounts".into())
        .or_insert_with(|| Value::List(Vec::new()));
    if let Value::List(l) = list {
        if !l.contains(&entry) {
            l.push(entry);
        }
    }
    r.depends_on.extend(trust.deps);
    Ok(())
}

fn register(engine: &mut Engine, state: &Shared) {
    ServiceAccount::register_type(engine);
    on_namespaces(engine, state, "service_account", service_account);
}

crate::object_kind!(OBJ, wait_on_delete = false, kind: "service_account", def: ServiceAccount, names: super::SUBDOMAIN_NAME);

const FIELDS: &[Field] = &[LABELS, ANNOTATIONS, ADOPT, WHERE];
