//! The lint rules about this family's resources (docs/RULES.md); the
//! lint layer runs them, handed down by the kind registry.

use crate::lint::check::{of, strs};
use crate::lint::{Ctx, Hit, Rule, Severity};
use crate::model::{Address, Resource, Value};

/// The rules about secrets.
pub static SECRET: &[Rule] = &[BP017];

/// The rules about namespaces.
pub static NAMESPACE: &[Rule] = &[BP018];

const BP017: Rule = Rule {
    id: "BP017",
    title: "Kubernetes Secret with plaintext data",
    severity: Severity::Error,
    rationale: "A Secret whose values are written in the blueprint puts them in the repository, in plain text, forever (git history); values passed with --var end up in shell history and CI logs. Only values from SOPS files (sops_file) and references to other resources pass.",
    fix: "Keep the values in a SOPS file and use `data: sops_file(\"secrets/....enc.yaml\")`.",
    check: plaintext_secret,
};

const BP018: Rule = Rule {
    id: "BP018",
    title: "Namespace without a default-deny network policy",
    severity: Severity::Warning,
    rationale: "The blueprint uses network policies, so it relies on them; a namespace with no default-deny policy lets every pod reach and be reached by every other pod.",
    fix: "Add a policy with an empty podSelector, policyTypes [\"Ingress\", \"Egress\"] and no rules (`k8s::default_deny(ns)` from stdlib k8s), then allow what is needed.",
    check: namespace_default_deny,
};

fn plaintext_secret(ctx: &Ctx, out: &mut Vec<Hit>) {
    for r in of(ctx, crate::kinds::k8s::secret::KIND) {
        let Some(data) = r.get("data").and_then(Value::as_map) else {
            continue;
        };
        let plain: Vec<&str> = data
            .iter()
            .filter(|(_, v)| match v {
                Value::Str(_) | Value::Int(_) | Value::Bool(_) => true,
                // A value written in the script is held hashed, with a
                // hash of its own kind (sops values are keyed by the
                // file's data key).
                Value::Sensitive(s) => s.hash.starts_with("pbkdf2-sha256:"),
                _ => false,
            })
            .map(|(k, _)| k.as_str())
            .collect();
        if !plain.is_empty() {
            out.push(
                Hit::new(
                    &r.address,
                    format!(
                        "Secret {} has values that come from no SOPS file (written in the blueprint or passed with --var): {}",
                        r.address.leaf(),
                        plain.join(", ")
                    ),
                )
                .at("data")
                .hint("data: sops_file(\"secrets/....enc.yaml\")"),
            );
        }
    }
}

fn namespace_default_deny(ctx: &Ctx, out: &mut Vec<Hit>) {
    // Addresses are cluster/namespace and cluster/namespace/name.
    let split = |a: &Address| -> (String, String) {
        let mut it = a.name.splitn(3, '/');
        (
            it.next().unwrap_or_default().to_string(),
            it.next().unwrap_or_default().to_string(),
        )
    };
    let policies: Vec<&Resource> = of(ctx, crate::kinds::k8s::network_policy::KIND).collect();
    for ns in of(ctx, crate::kinds::k8s::namespace::KIND) {
        let (cluster, namespace) = split(&ns.address);
        let here: Vec<&&Resource> = policies
            .iter()
            .filter(|p| split(&p.address).0 == cluster)
            .collect();
        if here.is_empty() {
            continue;
        }
        let denied = here
            .iter()
            .any(|p| split(&p.address) == (cluster.clone(), namespace.clone()) && default_deny(p));
        if !denied {
            out.push(
                Hit::new(
                    &ns.address,
                    format!(
                        "namespace {namespace} has no default-deny network policy, while the blueprint uses network policies in cluster {cluster}"
                    ),
                )
                .hint("add k8s::default_deny(ns) (stdlib k8s), then allow what the namespace needs"),
            );
        }
    }
}

/// A policy that selects every pod and allows no ingress.
fn default_deny(np: &Resource) -> bool {
    let Some(spec) = np.get("spec") else {
        return false;
    };
    let all_pods = spec
        .get("podSelector")
        .and_then(Value::as_map)
        .is_some_and(|m| m.is_empty());
    let types = strs(spec.get("policyTypes"));
    let no_ingress = spec
        .get("ingress")
        .and_then(Value::as_list)
        .is_none_or(|l| l.is_empty());
    all_pods && types.contains(&"Ingress") && no_ingress
}
