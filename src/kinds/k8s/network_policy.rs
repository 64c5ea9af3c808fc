//! Network policies: `ns.network_policy(name, #{ pod_selector?, policy_types?, ingress?, egress? })`,
//! in the shape of networking.k8s.io/v1 (nested maps keep Kubernetes'
//! field names: `#{ matchLabels: ... }`, `from`, `namespaceSelector`).

use super::object::{ObjectKind, ADOPT, ANNOTATIONS, LABELS, WHERE};
use super::{args, on_namespaces, NamespaceRef};
use super::{ADOPT_OPT, ANNOTATIONS_OPT, LABELS_OPT};
use crate::kinds::Field;
use crate::model::{Map, Value};
use crate::script::schema::{def, opt, FnDoc, Opt, Ty};
use std::borrow::Cow;

use crate::script::state::{Deps, Fallible, Opts, Shared};
use rhai::{Dynamic, Engine, NativeCallContext};

pub static OBJ: ObjectKind = ObjectKind {
    kind: KIND,
    api_version: Cow::Borrowed("networking.k8s.io/v1"),
    k8s_kind: Cow::Borrowed("NetworkPolicy"),
    plural: Cow::Borrowed("networkpolicies"),
    namespaced: true,
    body: &["spec"],
    base64_data: false,
    content: false,
};

crate::handle_type!(NetworkPolicy);

const OPTS: &[Opt] = &[
    def(
        "pod_selector",
        Ty::AnyMap,
        "#{}",
        "the pods it applies to (a label selector: #{ matchLabels: ... }); #{} selects all",
    ),
    opt(
        "policy_types",
        Ty::EnumList(&["Ingress", "Egress"]),
        "which directions it restricts",
    ),
    opt(
        "ingress",
        Ty::MapList,
        "allowed inbound traffic: [#{ from: [...], ports: [...] }]",
    ),
    opt(
        "egress",
        Ty::MapList,
        "allowed outbound traffic: [#{ to: [...], ports: [...] }]",
    ),
    LABELS_OPT,
    ANNOTATIONS_OPT,
    ADOPT_OPT,
];

const FUNCTIONS: &[FnDoc] = &[FnDoc {
    name: "network_policy",
    signature: "namespace.network_policy(name, #{ pod_selector?, policy_types?, ingress?, egress?, labels?, annotations?, adopt? }) -> NetworkPolicy",
    doc: "A NetworkPolicy in the namespace (networking.k8s.io/v1).",
    options: OPTS,
    method_of: Some("Namespace"),
}];

fn network_policy(
    state: &Shared,
    ctx: &NativeCallContext,
    ns: &NamespaceRef,
    name: &Dynamic,
    opts: &Dynamic,
) -> Fallible<NetworkPolicy> {
    let (name, opts) = args(ctx, "network_policy", name, opts, OPTS)?;
    let mut deps = Deps::default();
    let o = Opts(&opts);
    let mut spec = Map::new();
    spec.insert(
        "podSelector".into(),
        super::value(&mut deps, o.get("pod_selector")).unwrap_or(Value::Map(Map::new())),
    );
    for (opt, key) in [
        ("policy_types", "policyTypes"),
        ("ingress", "ingress"),
        ("egress", "egress"),
    ] {
        if let Some(v) = super::value(&mut deps, o.get(opt)) {
            spec.insert(key.into(), tcp_by_default(v));
        }
    }
    let mut body = Map::new();
    body.insert("spec".into(), Value::Map(spec));
    let address = ns.declare(state, ctx, &OBJ, &name, &opts, body, Map::new(), deps)?;
    Ok(NetworkPolicy(address))
}

/// Ports without a protocol are TCP, as the API server fills them in:
/// declared so, they compare equal to what the cluster holds.
fn tcp_by_default(rules: Value) -> Value {
    let Value::List(rules) = rules else {
        return rules;
    };
    Value::List(
        rules
            .into_iter()
            .map(|rule| match rule {
                Value::Map(mut m) => {
                    if let Some(Value::List(ports)) = m.get_mut("ports") {
                        for p in ports.iter_mut() {
                            if let Value::Map(pm) = p {
                                pm.entry("protocol".into())
                                    .or_insert_with(|| Value::str("TCP"));
                            }
                        }
                    }
                    Value::Map(m)
                }
                other => other,
            })
            .collect(),
    )
}

fn register(engine: &mut Engine, state: &Shared) {
    NetworkPolicy::register_type(engine);
    on_namespaces(engine, state, "network_policy", network_policy);
}

crate::object_kind!(OBJ, wait_on_delete = false, kind: "network_policy", def: NetworkPolicy, names: super::SUBDOMAIN_NAME);

const FIELDS: &[Field] = &[
    Field::new("spec").diff(crate::kinds::Diff::Tree),
    LABELS,
    ANNOTATIONS,
    ADOPT,
    WHERE,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_without_a_protocol_are_tcp() {
        let port = |p: Option<&str>| {
            let mut m = Map::from([("port".into(), Value::Int(80))]);
            if let Some(p) = p {
                m.insert("protocol".into(), Value::str(p));
            }
            Value::Map(m)
        };
        let rules = Value::List(vec![Value::Map(Map::from([(
            "ports".into(),
            Value::List(vec![port(None), port(Some("UDP"))]),
        )]))]);
        let out = tcp_by_default(rules).to_json();
        assert_eq!(out[0]["ports"][0]["protocol"], "TCP");
        assert_eq!(out[0]["ports"][1]["protocol"], "UDP");
    }
}
