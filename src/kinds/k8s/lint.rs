//! The lint rules about this family's resources (docs/RULES.md); the
//! lint layer runs them, handed down by the kind registry.

use crate::lint::check::{of, strs};
use crate::lint::{Ctx, Hit, Rule, Severity};
use crate::model::{Address, Resource, Value};

/// The rules about secrets.
pub static SECRET: &[Rule] = &[BP017];

/// The rules about namespaces.
pub static NAMESPACE: &[Rule] = &[BP018];

/// The rules about manifests (Karpenter's node pools among them).
pub static MANIFEST: &[Rule] = &[BP021];

const BP021: Rule = Rule {
    id: "BP021",
    title: "Karpenter node pool without limits",
    severity: Severity::Warning,
    rationale: "A node pool without limits launches as many instances as pending pods ask for: a runaway deployment, a bad resource request or a retry loop becomes an unbounded bill before anyone sees it.",
    fix: "Give the node pool `limits: #{ cpu: 1000, memory: \"4000Gi\" }`, the most it may run; Karpenter stops launching there.",
    check: node_pool_limits,
};

fn node_pool_limits(ctx: &Ctx, out: &mut Vec<Hit>) {
    for r in of(ctx, crate::kinds::k8s::manifest::KIND) {
        if !r.address.name.contains("/NodePool/") {
            continue;
        }
        let limits = r
            .get("content")
            .and_then(|c| c.get("spec"))
            .and_then(|s| s.get("limits"))
            .and_then(Value::as_map)
            .is_some_and(|l| !l.is_empty());
        if !limits {
            out.push(
                Hit::new(
                    &r.address,
                    format!("node pool {} has no limits", r.address.leaf()),
                )
                .at("limits")
                .hint("limits: #{ cpu: 1000, memory: \"4000Gi\" }"),
            );
        }
    }
}

/// The rules about service accounts.
pub static SERVICE_ACCOUNT: &[Rule] = &[BP020];

const BP020: Rule = Rule {
    id: "BP020",
    title: "IRSA where Pod Identity would do",
    severity: Severity::Note,
    rationale: "The cluster runs the EKS Pod Identity agent, yet this service account gets its role by IRSA: a trust statement per cluster and service account on the role, through the cluster's OIDC provider. Pod Identity needs neither: one role, trusting pods.eks.amazonaws.com, serves every cluster of the account, and its sessions carry tags for attribute-based access.",
    fix: "Give the service account a role from `pod_identity_role(name, #{ ... })` (it then wires itself by Pod Identity), or keep IRSA on purpose with `allow: #{ BP020: \"why\" }` (Fargate pods, for one, have no Pod Identity).",
    check: irsa_beside_pod_identity,
};

fn irsa_beside_pod_identity(ctx: &Ctx, out: &mut Vec<Hit>) {
    let agents: Vec<&str> = of(ctx, crate::kinds::eks::addon::KIND)
        .filter(|r| r.address.leaf() == crate::kinds::eks::pod_identity::AGENT)
        .map(|r| r.address.parent_name())
        .collect();
    for r in of(ctx, crate::kinds::k8s::service_account::KIND) {
        let cluster = r.address.parent_name();
        let irsa = r
            .get("annotations")
            .and_then(|a| a.get(crate::kinds::k8s::service_account::ROLE_ANNOTATION))
            .is_some();
        if irsa && agents.contains(&cluster) {
            out.push(
                Hit::new(
                    &r.address,
                    format!(
                        "service account {} gets its role by IRSA, and cluster {cluster} runs the Pod Identity agent",
                        r.address.leaf()
                    ),
                )
                .at("role")
                .hint("role: pod_identity_role(\"...\", #{ ... }) wires it by Pod Identity"),
            );
        }
    }
}

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
