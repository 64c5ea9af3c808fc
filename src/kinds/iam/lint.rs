//! The lint rules about this family's resources (docs/RULES.md); the
//! lint layer runs them, handed down by the kind registry.

use crate::lint::check::{name, of, strs};
use crate::lint::{Ctx, Hit, Rule, Severity};
use crate::model::Value;

/// The rules about roles.
pub static ROLE: &[Rule] = &[BP015, BP016, BP022];

const BP015: Rule = Rule {
    id: "BP015",
    title: "IAM policy with wildcard write access",
    severity: Severity::Error,
    rationale: "\"Action\": \"*\", \"NotAction\" in an Allow, write actions on \"Resource\": \"*\" without a condition, or an administrator managed policy (AdministratorAccess, PowerUserAccess, IAMFullAccess) grants far more than the workload needs; a compromised pod or node can then change or delete anything of that service in the account.",
    fix: "Name the actions, and scope Resource to ARNs (or add a Condition such as aws:ResourceTag) in the role's inline_policies.",
    check: iam_wildcards,
};

const BP016: Rule = Rule {
    id: "BP016",
    title: "IAM trust policy open to any principal",
    severity: Severity::Error,
    rationale: "A trust policy that allows \"Principal\": \"*\" (or {\"AWS\": \"*\"}) without a condition lets any AWS account assume the role.",
    fix: "Name the service, account, role or OIDC provider that may assume the role, or add a Condition.",
    check: iam_open_trust,
};

const BP022: Rule = Rule {
    id: "BP022",
    title: "Karpenter controller role without the documented scoping",
    severity: Severity::Warning,
    rationale: "Karpenter's controller launches and terminates instances, manages launch templates and instance profiles and passes the node role. Its documented policy allows the deletions only of what carries the cluster's tag (aws:ResourceTag/kubernetes.io/cluster/<cluster>), the instance-profile changes likewise, iam:PassRole of the node role alone, and the queue reads of its interruption queue alone. Without that scoping, the controller of one cluster (or whoever takes its pod) can terminate every instance in the account and pass any role to EC2.",
    fix: "Declare Karpenter with cluster.karpenter(#{ ... }), whose controller role has the documented policy, or scope the statements as it does.",
    check: karpenter_scoping,
};

/// Whether `actions` (with wildcards such as `ec2:*`) grant `action`.
fn grants(actions: &[&str], action: &str) -> bool {
    actions.iter().any(|a| {
        let a = a.to_ascii_lowercase();
        let action = action.to_ascii_lowercase();
        match a.strip_suffix('*') {
            Some(prefix) => action.starts_with(prefix),
            None => a == action,
        }
    })
}

/// Whether a statement's condition names the cluster's ownership tag.
fn cluster_scoped(st: &Value) -> bool {
    st.get("Condition")
        .is_some_and(|c| c.to_json().to_string().contains("kubernetes.io/cluster/"))
}

fn karpenter_scoping(ctx: &Ctx, out: &mut Vec<Hit>) {
    const TAG_SCOPED: &[&str] = &[
        "ec2:TerminateInstances",
        "ec2:DeleteLaunchTemplate",
        "iam:CreateInstanceProfile",
        "iam:AddRoleToInstanceProfile",
        "iam:RemoveRoleFromInstanceProfile",
        "iam:DeleteInstanceProfile",
        "iam:TagInstanceProfile",
    ];
    for r in of(ctx, crate::kinds::iam::role::KIND) {
        let Some(policies) = r.get("inline_policies").and_then(Value::as_map) else {
            continue;
        };
        let allowed: Vec<&Value> = policies
            .values()
            .flat_map(statements)
            .filter(|s| allows(s))
            .collect();
        // Karpenter's controller is the role that launches fleets.
        if !allowed
            .iter()
            .any(|s| grants(&strs(s.get("Action")), "ec2:CreateFleet"))
        {
            continue;
        }
        let mut loose: Vec<String> = Vec::new();
        for st in &allowed {
            let actions = strs(st.get("Action"));
            let resources = strs(st.get("Resource"));
            for a in TAG_SCOPED {
                if grants(&actions, a) && !cluster_scoped(st) && !loose.contains(&a.to_string()) {
                    loose.push(a.to_string());
                }
            }
            let any_role = resources
                .iter()
                .any(|res| *res == "*" || res.ends_with(":role/*"));
            if grants(&actions, "iam:PassRole") && any_role {
                loose.push("iam:PassRole on any role".into());
            }
            if grants(&actions, "sqs:ReceiveMessage") && resources.contains(&"*") {
                loose.push("sqs:ReceiveMessage on any queue".into());
            }
        }
        if !loose.is_empty() {
            out.push(
                Hit::new(
                    &r.address,
                    format!(
                        "role {} launches instances as Karpenter does, but without its documented scoping: {}",
                        name(r),
                        loose.join(", ")
                    ),
                )
                .at("inline_policies")
                .hint("scope deletions to aws:ResourceTag/kubernetes.io/cluster/<cluster>, pass only the node role, read only the interruption queue; cluster.karpenter(...) does"),
            );
        }
    }
}

fn iam_wildcards(ctx: &Ctx, out: &mut Vec<Hit>) {
    for r in of(ctx, crate::kinds::iam::role::KIND) {
        for arn in strs(r.get("managed_policies")) {
            if ADMIN_POLICIES.iter().any(|p| arn.ends_with(p)) {
                out.push(
                    Hit::new(
                        &r.address,
                        format!("role {} has the managed policy {arn}", name(r)),
                    )
                    .at("managed_policies")
                    .hint("attach a policy with the actions the workload needs"),
                );
            }
        }
        let Some(policies) = r.get("inline_policies").and_then(Value::as_map) else {
            continue;
        };
        for (policy, doc) in policies {
            for st in statements(doc).into_iter().filter(|s| allows(s)) {
                let actions = strs(st.get("Action"));
                let message = if actions.iter().any(|a| *a == "*" || *a == "*:*") {
                    format!(
                        "role {}, policy {policy}: \"Action\": \"*\" allows every action",
                        name(r)
                    )
                } else if st.get("NotAction").is_some() {
                    format!(
                        "role {}, policy {policy}: \"NotAction\" with \"Allow\" allows every action it does not list",
                        name(r)
                    )
                } else if strs(st.get("Resource")).contains(&"*") && !conditional(st) {
                    let writes: Vec<&str> =
                        actions.iter().copied().filter(|a| !read_only(a)).collect();
                    if writes.is_empty() {
                        continue;
                    }
                    format!(
                        "role {}, policy {policy}: write actions on \"Resource\": \"*\" without a condition: {}",
                        name(r),
                        writes.join(", ")
                    )
                } else {
                    continue;
                };
                out.push(
                    Hit::new(&r.address, message)
                        .at("inline_policies")
                        .hint("name the actions and scope Resource to ARNs, or add a Condition"),
                );
            }
        }
    }
}

fn iam_open_trust(ctx: &Ctx, out: &mut Vec<Hit>) {
    for r in of(ctx, crate::kinds::iam::role::KIND) {
        let Some(doc) = r.get("trust_policy") else {
            continue;
        };
        for st in statements(doc).into_iter().filter(|s| allows(s)) {
            let open = match st.get("Principal") {
                Some(Value::Str(s)) => s == "*",
                Some(Value::Map(m)) => strs(m.get("AWS")).contains(&"*"),
                _ => false,
            };
            if open && !conditional(st) {
                out.push(
                    Hit::new(
                        &r.address,
                        format!("role {} may be assumed by any AWS principal", name(r)),
                    )
                    .at("trust_policy")
                    .hint("name who may assume it, or add a Condition"),
                );
            }
        }
    }
}

/// The statements of a policy document.
fn statements(doc: &Value) -> Vec<&Value> {
    match doc.get("Statement") {
        Some(Value::List(l)) => l.iter().collect(),
        Some(s @ Value::Map(_)) => vec![s],
        _ => vec![],
    }
}

fn allows(st: &Value) -> bool {
    st.get("Effect").and_then(Value::as_str) == Some("Allow")
}

fn conditional(st: &Value) -> bool {
    st.get("Condition")
        .and_then(Value::as_map)
        .is_some_and(|m| !m.is_empty())
}

/// Whether an action only reads (`ec2:Describe*`, `s3:GetObject`).
fn read_only(action: &str) -> bool {
    let verb = action.split_once(':').map(|(_, v)| v).unwrap_or(action);
    const READS: &[&str] = &[
        "Get", "List", "Describe", "Head", "BatchGet", "Query", "Scan", "Search", "View", "Lookup",
        "Select", "Read",
    ];
    !verb.starts_with('*') && READS.iter().any(|p| verb.starts_with(p))
}

/// AWS managed policies that grant (nearly) everything.
const ADMIN_POLICIES: &[&str] = &[
    ":policy/AdministratorAccess",
    ":policy/PowerUserAccess",
    ":policy/IAMFullAccess",
];
