//! Service accounts: `ns.service_account(name, #{ role?, via?, labels?,
//! annotations?, adopt? })`. `role` gives the pods an IAM role, by IRSA or
//! by EKS Pod Identity (`via`; by default Pod Identity for a role that
//! trusts it, `pod_identity_role(...)`, and IRSA for any other). By IRSA
//! (an `iam_role` handle, or the handle of `c.irsa_role(...)`) it sets the
//! `eks.amazonaws.com/role-arn` annotation and adds the service account to
//! that role's trust; by Pod Identity it declares the cluster's Pod
//! Identity association for the service account.

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
        "the IAM role the pods assume, by IRSA (the service account is added to its trust) or Pod Identity",
    ),
    opt(
        "via",
        Ty::Enum(VIA),
        "how the pods get the role: \"irsa\" or \"pod_identity\" (default: pod_identity for a role that trusts pods.eks.amazonaws.com, else irsa)",
    ),
    LABELS_OPT,
    ANNOTATIONS_OPT,
    ADOPT_OPT,
];

const FUNCTIONS: &[FnDoc] = &[FnDoc {
    name: "service_account",
    signature: "namespace.service_account(name, #{ role?, via?, labels?, annotations?, adopt? }) -> ServiceAccount",
    doc: "A ServiceAccount in the namespace, optionally given an IAM role by IRSA or EKS Pod Identity.",
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
    let o = Opts(&opts);
    if let (Some(via), None) = (o.str("via"), o.get("role")) {
        return Err(fail(
            ctx,
            Problem::new(format!(
                "via: \"{via}\" says how the pods get a role, and no role is given"
            ))
            .hint("add role: an iam_role handle"),
        ));
    }
    let role = o.get("role").and_then(crate::script::handles::address_of);
    let pods = role
        .as_ref()
        .and_then(|r| crate::kinds::eks::pod_identity::trusts_pods(state, r));
    let via = o.str("via").unwrap_or_else(|| {
        if pods == Some(true) {
            "pod_identity"
        } else {
            "irsa"
        }
        .to_string()
    });
    if let (Some(role), "irsa", Some(true)) = (&role, via.as_str(), pods) {
        return Err(fail(
            ctx,
            Problem::new(format!(
                "{role} trusts {}, not the cluster's OIDC provider: IRSA cannot use it",
                crate::kinds::eks::pod_identity::PRINCIPAL
            ))
            .hint(
                "leave via out (or via: \"pod_identity\"), or give an IRSA role (c.irsa_role(...))",
            ),
        ));
    }
    if let (Some(_), "pod_identity") = (&role, via.as_str()) {
        let handle = o.get("role").cloned().unwrap_or_default();
        crate::kinds::eks::pod_identity::associate(
            state,
            ctx,
            &ns.cluster,
            &ns.name,
            &name,
            &handle,
            &rhai::Map::new(),
        )?;
    } else if let Some(role) = role {
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

/// How a service account's pods get its role.
const VIA: &[&str] = &["irsa", "pod_identity"];

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

crate::object_kind!(OBJ, wait_on_delete = false, kind: "service_account", def: ServiceAccount, names: super::SUBDOMAIN_NAME, rules: super::lint::SERVICE_ACCOUNT);

const FIELDS: &[Field] = &[LABELS, ANNOTATIONS, ADOPT, WHERE];
