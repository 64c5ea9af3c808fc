//! The rules. Each has a stable id, never reused; docs/RULES.md is
//! generated from this table (`BLESS=1 cargo test --lib rules_doc`).

use super::versions::{self, Support};
use super::{Ctx, Hit, Severity};
use crate::model::{Address, Resource, Value};

pub struct Rule {
    pub id: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    /// Why it matters.
    pub rationale: &'static str,
    /// What to write instead.
    pub fix: &'static str,
    pub check: fn(&Ctx, &mut Vec<Hit>),
}

pub static RULES: &[Rule] = &[
    Rule {
        id: "BP001",
        title: "EKS API endpoint open to the internet",
        severity: Severity::Warning,
        rationale: "A public API endpoint reachable from 0.0.0.0/0 leaves the cluster's front door one leaked credential or API-server vulnerability away from anyone on the internet.",
        fix: "List the networks that need the API in `endpoint: #{ public_cidrs: [...] }`, or set `endpoint: #{ public: false, private: true }` and reach it from inside the VPC (VPN, bastion).",
        check: eks_public_endpoint,
    },
    Rule {
        id: "BP002",
        title: "EKS secrets not encrypted with a KMS key",
        severity: Severity::Warning,
        rationale: "Without envelope encryption, Kubernetes Secrets are protected in etcd only by EKS's default encryption; a KMS key adds a key policy, rotation and a CloudTrail record of every decryption.",
        fix: "Give the cluster `secrets_key: kms_key(\"...\", #{ rotation: true })`. A cluster that exists gets the key in place (EKS AssociateEncryptionConfig); after that, changing the key replaces the cluster, and EKS cannot remove it.",
        check: eks_secrets_key,
    },
    Rule {
        id: "BP003",
        title: "EKS control-plane audit logging off",
        severity: Severity::Warning,
        rationale: "The audit log is the only record of who did what through the Kubernetes API; without it an incident cannot be reconstructed.",
        fix: "Add \"audit\" to the cluster's `logging` (with \"api\" and \"authenticator\").",
        check: eks_audit_log,
    },
    Rule {
        id: "BP004",
        title: "SSH or RDP open to the internet",
        severity: Severity::Error,
        rationale: "Port 22 (SSH) or 3389 (RDP, TCP or UDP) open to 0.0.0.0/0 is scanned within minutes of creation; remote access belongs behind a VPN, a bastion with a narrow source, or SSM Session Manager. (Rules take IPv4 peers only, so ::/0 cannot be written.)",
        fix: "Narrow the rule's `cidr` to the networks that need it, use `source: <security group>`, or drop the rule and use SSM Session Manager.",
        check: open_remote_access,
    },
    Rule {
        id: "BP005",
        title: "EKS version past standard support",
        severity: Severity::Warning,
        rationale: "After 14 months a Kubernetes minor version leaves EKS standard support: the cluster then costs $0.60 instead of $0.10 an hour (extended support), and after 12 more months EKS upgrades it on its own schedule. The calendar is EKS's; the date is today's (BP_TODAY=YYYY-MM-DD sets it).",
        fix: "Upgrade one minor version at a time (`--var k8s_version=...` in the seeds) to a version in standard support.",
        check: eks_version,
    },
    Rule {
        id: "BP006",
        title: "Node group in public subnets",
        severity: Severity::Warning,
        rationale: "Nodes in public subnets get public addresses and routes from the internet; a security-group mistake then exposes kubelets and node ports directly.",
        fix: "Put the node group in private subnets (`subnets: vpc.private_subnets`) with a NAT gateway for egress.",
        check: node_group_public,
    },
    Rule {
        id: "BP007",
        title: "Single NAT gateway in production",
        severity: Severity::Warning,
        rationale: "One NAT gateway is one zone: when that zone fails, private subnets in every zone lose egress (image pulls, AWS APIs). The blueprint looks like production (a var env/environment/stage, or a tag, is prod).",
        fix: "Use `nat: \"one_per_az\"` on the VPC.",
        check: single_nat_in_production,
    },
    Rule {
        id: "BP008",
        title: "S3 bucket without a KMS key",
        severity: Severity::Note,
        rationale: "Every bucket Blueprint makes is encrypted with S3-managed keys (SSE-S3) at least; a KMS key adds a key policy that is a second gate on reading the data, and a CloudTrail record of each use.",
        fix: "Give the bucket `encryption_key: kms_key(...)`, or allow the rule where S3-managed keys are enough.",
        check: s3_kms,
    },
    Rule {
        id: "BP009",
        title: "Backup bucket without versioning",
        severity: Severity::Warning,
        rationale: "A bucket that holds backups (its name says backup) without versioning loses a backup to one overwrite or delete, including a ransomware one.",
        fix: "Set `versioning: true` (cluster.backups(...) sets it on its bucket).",
        check: s3_backup_versioning,
    },
    Rule {
        id: "BP010",
        title: "S3 bucket without a public-access block",
        severity: Severity::Warning,
        rationale: "Without the public-access block, one ACL or bucket policy can make the data public.",
        fix: "Keep `public_access_block: true` (the default).",
        check: s3_public_access,
    },
    Rule {
        id: "BP011",
        title: "EFS file system not encrypted",
        severity: Severity::Error,
        rationale: "Unencrypted file systems leave data readable on retired media and in snapshots; encryption cannot be turned on later without a new file system.",
        fix: "Keep `encrypted: true` (the default).",
        check: efs_unencrypted,
    },
    Rule {
        id: "BP012",
        title: "RDS storage not encrypted",
        severity: Severity::Error,
        rationale: "Unencrypted database storage leaves data, snapshots and replicas readable outside the database; it cannot be encrypted in place later.",
        fix: "Keep `encrypted: true` (the default).",
        check: rds_unencrypted,
    },
    Rule {
        id: "BP013",
        title: "RDS not multi-AZ in production",
        severity: Severity::Warning,
        rationale: "A single-AZ database is down for the length of a zone outage or an instance failure and its recovery; production databases keep a standby in another zone. The blueprint looks like production.",
        fix: "Set `multi_az: true`.",
        check: rds_single_az_in_production,
    },
    Rule {
        id: "BP014",
        title: "Data store without backups",
        severity: Severity::Warning,
        rationale: "An EFS file system in no AWS Backup plan, or a database with automated backups off and in no plan, cannot be restored after a mistake or a deletion.",
        fix: "List it in the `resources` of a `backup_plan(...)`; for RDS, keep `backup_retention_days` above 0.",
        check: data_without_backups,
    },
    Rule {
        id: "BP015",
        title: "IAM policy with wildcard write access",
        severity: Severity::Error,
        rationale: "\"Action\": \"*\", \"NotAction\" in an Allow, write actions on \"Resource\": \"*\" without a condition, or an administrator managed policy (AdministratorAccess, PowerUserAccess, IAMFullAccess) grants far more than the workload needs; a compromised pod or node can then change or delete anything of that service in the account.",
        fix: "Name the actions, and scope Resource to ARNs (or add a Condition such as aws:ResourceTag) in the role's inline_policies.",
        check: iam_wildcards,
    },
    Rule {
        id: "BP016",
        title: "IAM trust policy open to any principal",
        severity: Severity::Error,
        rationale: "A trust policy that allows \"Principal\": \"*\" (or {\"AWS\": \"*\"}) without a condition lets any AWS account assume the role.",
        fix: "Name the service, account, role or OIDC provider that may assume the role, or add a Condition.",
        check: iam_open_trust,
    },
    Rule {
        id: "BP017",
        title: "Kubernetes Secret with plaintext data",
        severity: Severity::Error,
        rationale: "A Secret whose values are written in the blueprint puts them in the repository, in plain text, forever (git history); values passed with --var end up in shell history and CI logs. Only values from SOPS files (sops_file) and references to other resources pass.",
        fix: "Keep the values in a SOPS file and use `data: sops_file(\"secrets/....enc.yaml\")`.",
        check: plaintext_secret,
    },
    Rule {
        id: "BP018",
        title: "Namespace without a default-deny network policy",
        severity: Severity::Warning,
        rationale: "The blueprint uses network policies, so it relies on them; a namespace with no default-deny policy lets every pod reach and be reached by every other pod.",
        fix: "Add a policy with an empty podSelector, policyTypes [\"Ingress\", \"Egress\"] and no rules (`k8s::default_deny(ns)` from stdlib k8s), then allow what is needed.",
        check: namespace_default_deny,
    },
    Rule {
        id: "BP019",
        title: "Instance without IMDSv2 required",
        severity: Severity::Warning,
        rationale: "IMDSv1 answers plain GET requests, so a server-side request forgery in any process on the instance can read its role's credentials.",
        fix: "Keep `metadata_v2_required: true` (the default).",
        check: imds_v1,
    },
];

fn of<'a>(ctx: &'a Ctx, kind: &'static str) -> impl Iterator<Item = &'a Resource> {
    ctx.graph.iter().filter(move |r| r.kind().as_str() == kind)
}

fn flag(r: &Resource, key: &str) -> Option<bool> {
    r.get(key).and_then(Value::as_bool)
}

fn strs(v: Option<&Value>) -> Vec<&str> {
    match v {
        Some(Value::Str(s)) => vec![s.as_str()],
        Some(Value::List(l)) => l.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
}

/// The addresses a value refers to.
fn refs(v: Option<&Value>) -> Vec<&Address> {
    v.map(|v| v.refs().into_iter().map(|r| &r.address).collect())
        .unwrap_or_default()
}

fn name(r: &Resource) -> &str {
    r.str("name").unwrap_or_else(|| r.address.leaf())
}

const ANYWHERE: &[&str] = &["0.0.0.0/0", "::/0"];

fn eks_public_endpoint(ctx: &Ctx, out: &mut Vec<Hit>) {
    for r in of(ctx, "cluster") {
        let e = r.get("endpoint");
        let public = e
            .and_then(|e| e.get("public"))
            .and_then(Value::as_bool)
            .unwrap_or(true);
        let cidrs = strs(e.and_then(|e| e.get("public_cidrs")));
        if public && (cidrs.is_empty() || cidrs.iter().any(|c| ANYWHERE.contains(c))) {
            out.push(
                Hit::new(
                    &r.address,
                    format!(
                        "the API endpoint of cluster {} is public and open to 0.0.0.0/0",
                        name(r)
                    ),
                )
                .at("endpoint")
                .hint("set endpoint.public_cidrs to the networks that need the API, or make the endpoint private"),
            );
        }
    }
}

fn eks_secrets_key(ctx: &Ctx, out: &mut Vec<Hit>) {
    for r in of(ctx, "cluster") {
        if matches!(r.get("secrets_key"), None | Some(Value::Null)) {
            out.push(
                Hit::new(
                    &r.address,
                    format!(
                        "cluster {} does not encrypt Kubernetes Secrets with a KMS key",
                        name(r)
                    ),
                )
                .hint("add secrets_key: kms_key(\"...\", #{ rotation: true })"),
            );
        }
    }
}

fn eks_audit_log(ctx: &Ctx, out: &mut Vec<Hit>) {
    for r in of(ctx, "cluster") {
        if !strs(r.get("logging")).contains(&"audit") {
            out.push(
                Hit::new(
                    &r.address,
                    format!(
                        "cluster {} does not send its audit log to CloudWatch",
                        name(r)
                    ),
                )
                .at("logging")
                .hint("logging: [\"api\", \"audit\", \"authenticator\"]"),
            );
        }
    }
}

fn open_remote_access(ctx: &Ctx, out: &mut Vec<Hit>) {
    for r in of(ctx, "security_group") {
        let Some(rules) = r.get("ingress").and_then(Value::as_list) else {
            continue;
        };
        for rule in rules {
            let Some(cidr) = rule.get("cidr").and_then(Value::as_str) else {
                continue;
            };
            if !ANYWHERE.contains(&cidr) {
                continue;
            }
            let protocol = rule.get("protocol").and_then(Value::as_str).unwrap_or("");
            let (from, to) = match protocol {
                "all" | "-1" => (0, 65535),
                "tcp" | "udp" => (
                    rule.get("from_port").and_then(Value::as_int).unwrap_or(0),
                    rule.get("to_port").and_then(Value::as_int).unwrap_or(65535),
                ),
                _ => continue,
            };
            for (port, what) in [(22, "SSH"), (3389, "RDP")] {
                // SSH is TCP only; RDP also runs over UDP.
                let udp_ssh = protocol == "udp" && port == 22;
                if (from..=to).contains(&port) && !udp_ssh {
                    out.push(
                        Hit::new(
                            &r.address,
                            format!(
                                "security group {} lets {what} (port {port}) in from {cidr}",
                                name(r)
                            ),
                        )
                        .at("ingress")
                        .hint("narrow the rule's cidr, use source: <security group>, or use SSM Session Manager"),
                    );
                }
            }
        }
    }
}

fn eks_version(ctx: &Ctx, out: &mut Vec<Hit>) {
    for r in of(ctx, "cluster") {
        let Some(v) = r.str("version") else { continue };
        let message = match versions::support(v, ctx.today) {
            Support::Standard | Support::Unknown => continue,
            Support::Extended { standard_ended, until } => format!(
                "Kubernetes {v} left EKS standard support on {standard_ended}: cluster {} pays for extended support until {until}",
                name(r)
            ),
            Support::Ended { ended: Some(ended) } => format!(
                "Kubernetes {v} is past EKS extended support (it ended on {ended}): EKS upgrades cluster {} on its own schedule",
                name(r)
            ),
            Support::Ended { ended: None } => format!(
                "Kubernetes {v} is older than every version EKS supports"
            ),
        };
        let newest = versions::CALENDAR
            .iter()
            .rev()
            .find(|(_, standard, _)| ctx.today <= *standard)
            .map(|(c, ..)| *c);
        let hint = match newest {
            Some(n) => format!("upgrade one minor version at a time towards {n}"),
            None => "upgrade one minor version at a time".to_string(),
        };
        out.push(Hit::new(&r.address, message).at("version").hint(hint));
    }
}

fn node_group_public(ctx: &Ctx, out: &mut Vec<Hit>) {
    for r in of(ctx, "node_group") {
        let mut public: Vec<&str> = refs(r.get("subnets"))
            .into_iter()
            .filter_map(|a| ctx.graph.get(a))
            .filter(|s| flag(s, "public") == Some(true))
            .map(name)
            .collect();
        // Existing subnets are ids here; what was read about them says
        // whether they are public.
        for id in strs(r.get("subnets")) {
            let existing = ctx.facts.existing.iter().find(|e| {
                e.kind().as_str() == "subnet" && e.str(crate::model::EXISTING) == Some(id)
            });
            if existing.is_some_and(|e| flag(e, "public") == Some(true)) {
                public.push(id);
            }
        }
        if !public.is_empty() {
            out.push(
                Hit::new(
                    &r.address,
                    format!(
                        "node group {} runs in public subnets: {}",
                        name(r),
                        public.join(", ")
                    ),
                )
                .at("subnets")
                .hint("use the VPC's private subnets"),
            );
        }
    }
}

fn single_nat_in_production(ctx: &Ctx, out: &mut Vec<Hit>) {
    let Some(why) = &ctx.production else { return };
    for v in of(ctx, "vpc") {
        let in_vpc = |s: &Resource| refs(s.get("vpc")).contains(&&v.address);
        let private_zones: std::collections::BTreeSet<&str> = of(ctx, "subnet")
            .filter(|s| in_vpc(s) && flag(s, "public") == Some(false))
            .filter_map(|s| s.str("az"))
            .collect();
        let nats = of(ctx, "nat_gateway")
            .filter(|n| {
                refs(n.get("subnet"))
                    .into_iter()
                    .filter_map(|a| ctx.graph.get(a))
                    .any(in_vpc)
            })
            .count();
        if nats == 1 && private_zones.len() > 1 {
            out.push(
                Hit::new(
                    &v.address,
                    format!(
                        "VPC {} has one NAT gateway for private subnets in {} zones, and the blueprint looks like production ({why})",
                        name(v),
                        private_zones.len()
                    ),
                )
                .at("nat")
                .hint("nat: \"one_per_az\""),
            );
        }
    }
}

fn s3_kms(ctx: &Ctx, out: &mut Vec<Hit>) {
    for r in of(ctx, "s3_bucket") {
        if matches!(r.get("encryption_key"), None | Some(Value::Null)) {
            out.push(
                Hit::new(
                    &r.address,
                    format!("bucket {} is encrypted with S3-managed keys only", name(r)),
                )
                .hint("encryption_key: kms_key(...)"),
            );
        }
    }
}

fn s3_backup_versioning(ctx: &Ctx, out: &mut Vec<Hit>) {
    for r in of(ctx, "s3_bucket") {
        if name(r).to_ascii_lowercase().contains("backup") && flag(r, "versioning") != Some(true) {
            out.push(
                Hit::new(
                    &r.address,
                    format!("bucket {} holds backups but keeps no versions", name(r)),
                )
                .at("versioning")
                .hint("versioning: true"),
            );
        }
    }
}

/// Resources of `kind` that turn off a protection on by default
/// (`key: false`), each a hit at that option whose fix is `key: true`.
fn turned_off(
    ctx: &Ctx,
    out: &mut Vec<Hit>,
    kind: &'static str,
    key: &'static str,
    message: fn(&str) -> String,
) {
    for r in of(ctx, kind) {
        if flag(r, key) == Some(false) {
            out.push(
                Hit::new(&r.address, message(name(r)))
                    .at(key)
                    .hint(format!("{key}: true")),
            );
        }
    }
}

fn s3_public_access(ctx: &Ctx, out: &mut Vec<Hit>) {
    turned_off(ctx, out, "s3_bucket", "public_access_block", |n| {
        format!("bucket {n} has no public-access block")
    });
}

fn efs_unencrypted(ctx: &Ctx, out: &mut Vec<Hit>) {
    turned_off(ctx, out, "efs", "encrypted", |n| {
        format!("file system {n} is not encrypted")
    });
}

fn rds_unencrypted(ctx: &Ctx, out: &mut Vec<Hit>) {
    turned_off(ctx, out, "rds_postgres", "encrypted", |n| {
        format!("database {n} stores its data unencrypted")
    });
}

fn rds_single_az_in_production(ctx: &Ctx, out: &mut Vec<Hit>) {
    let Some(why) = &ctx.production else { return };
    for r in of(ctx, "rds_postgres") {
        if flag(r, "multi_az") != Some(true) {
            out.push(
                Hit::new(
                    &r.address,
                    format!(
                        "database {} has no standby in another zone, and the blueprint looks like production ({why})",
                        name(r)
                    ),
                )
                .at("multi_az")
                .hint("multi_az: true"),
            );
        }
    }
}

fn data_without_backups(ctx: &Ctx, out: &mut Vec<Hit>) {
    let selected: Vec<&Address> = of(ctx, "backup_selection")
        .flat_map(|s| refs(s.get("resources")))
        .collect();
    for r in of(ctx, "efs") {
        if !selected.contains(&&r.address) {
            out.push(
                Hit::new(
                    &r.address,
                    format!("file system {} is in no AWS Backup plan", name(r)),
                )
                .hint("list it in the resources of a backup_plan(...)"),
            );
        }
    }
    for r in of(ctx, "rds_postgres") {
        let retention = r
            .get("backup_retention_days")
            .and_then(Value::as_int)
            .unwrap_or(1);
        if retention == 0 && !selected.contains(&&r.address) {
            out.push(
                Hit::new(
                    &r.address,
                    format!(
                        "database {} has automated backups off and is in no AWS Backup plan",
                        name(r)
                    ),
                )
                .at("backup_retention_days")
                .hint(
                    "backup_retention_days: 7, or list it in the resources of a backup_plan(...)",
                ),
            );
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

fn iam_wildcards(ctx: &Ctx, out: &mut Vec<Hit>) {
    for r in of(ctx, "iam_role") {
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
    for r in of(ctx, "iam_role") {
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

fn plaintext_secret(ctx: &Ctx, out: &mut Vec<Hit>) {
    for r in of(ctx, "secret") {
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

fn namespace_default_deny(ctx: &Ctx, out: &mut Vec<Hit>) {
    // Addresses are cluster/namespace and cluster/namespace/name.
    let split = |a: &Address| -> (String, String) {
        let mut it = a.name.splitn(3, '/');
        (
            it.next().unwrap_or_default().to_string(),
            it.next().unwrap_or_default().to_string(),
        )
    };
    let policies: Vec<&Resource> = of(ctx, "network_policy").collect();
    for ns in of(ctx, "namespace") {
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

fn imds_v1(ctx: &Ctx, out: &mut Vec<Hit>) {
    turned_off(ctx, out, "instance", "metadata_v2_required", |n| {
        format!("instance {n} answers IMDSv1 requests")
    });
}
