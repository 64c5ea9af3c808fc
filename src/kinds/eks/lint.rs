//! The lint rules about this family's resources (docs/RULES.md); the
//! lint layer runs them, handed down by the kind registry.

use crate::lint::check::{flag, name, of, refs, strs, ANYWHERE};
use crate::lint::versions::{self, Support};
use crate::lint::{Ctx, Hit, Rule, Severity};
use crate::model::Value;

/// The rules about clusters.
pub static CLUSTER: &[Rule] = &[BP001, BP002, BP003, BP005];

/// The rules about node groups.
pub static NODE_GROUP: &[Rule] = &[BP006];

const BP001: Rule = Rule {
    id: "BP001",
    title: "EKS API endpoint open to the internet",
    severity: Severity::Warning,
    rationale: "A public API endpoint reachable from 0.0.0.0/0 leaves the cluster's front door one leaked credential or API-server vulnerability away from anyone on the internet.",
    fix: "List the networks that need the API in `endpoint: #{ public_cidrs: [...] }`, or set `endpoint: #{ public: false, private: true }` and reach it from inside the VPC (VPN, bastion).",
    check: eks_public_endpoint,
};

const BP002: Rule = Rule {
    id: "BP002",
    title: "EKS secrets not encrypted with a KMS key",
    severity: Severity::Warning,
    rationale: "Without envelope encryption, Kubernetes Secrets are protected in etcd only by EKS's default encryption; a KMS key adds a key policy, rotation and a CloudTrail record of every decryption.",
    fix: "Give the cluster `secrets_key: kms_key(\"...\", #{ rotation: true })`. A cluster that exists gets the key in place (EKS AssociateEncryptionConfig); after that, changing the key replaces the cluster, and EKS cannot remove it.",
    check: eks_secrets_key,
};

const BP003: Rule = Rule {
    id: "BP003",
    title: "EKS control-plane audit logging off",
    severity: Severity::Warning,
    rationale: "The audit log is the only record of who did what through the Kubernetes API; without it an incident cannot be reconstructed.",
    fix: "Add \"audit\" to the cluster's `logging` (with \"api\" and \"authenticator\").",
    check: eks_audit_log,
};

const BP005: Rule = Rule {
    id: "BP005",
    title: "EKS version past standard support",
    severity: Severity::Warning,
    rationale: "After 14 months a Kubernetes minor version leaves EKS standard support: the cluster then costs $0.60 instead of $0.10 an hour (extended support), and after 12 more months EKS upgrades it on its own schedule. The calendar is EKS's; the date is today's (BP_TODAY=YYYY-MM-DD sets it).",
    fix: "Upgrade one minor version at a time (`--var k8s_version=...` in the seeds) to a version in standard support.",
    check: eks_version,
};

const BP006: Rule = Rule {
    id: "BP006",
    title: "Node group in public subnets",
    severity: Severity::Warning,
    rationale: "Nodes in public subnets get public addresses and routes from the internet; a security-group mistake then exposes kubelets and node ports directly.",
    fix: "Put the node group in private subnets (`subnets: vpc.private_subnets`) with a NAT gateway for egress.",
    check: node_group_public,
};

fn eks_public_endpoint(ctx: &Ctx, out: &mut Vec<Hit>) {
    for r in of(ctx, crate::kinds::eks::cluster::KIND) {
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
    for r in of(ctx, crate::kinds::eks::cluster::KIND) {
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
    for r in of(ctx, crate::kinds::eks::cluster::KIND) {
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

fn eks_version(ctx: &Ctx, out: &mut Vec<Hit>) {
    for r in of(ctx, crate::kinds::eks::cluster::KIND) {
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
    for r in of(ctx, crate::kinds::eks::node_group::KIND) {
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
                e.kind() == crate::kinds::network::subnet::KIND
                    && e.str(crate::model::EXISTING) == Some(id)
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
