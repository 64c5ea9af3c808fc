//! The lint rules about this family's resources (docs/RULES.md); the
//! lint layer runs them, handed down by the kind registry.

use crate::lint::check::{flag, name, of, refs, ANYWHERE};
use crate::lint::{Ctx, Hit, Rule, Severity};
use crate::model::{Resource, Value};

/// The rules about security groups.
pub static SECURITY_GROUP: &[Rule] = &[BP004];

/// The rules about vpcs.
pub static VPC: &[Rule] = &[BP007];

const BP004: Rule = Rule {
    id: "BP004",
    title: "SSH or RDP open to the internet",
    severity: Severity::Error,
    rationale: "Port 22 (SSH) or 3389 (RDP, TCP or UDP) open to 0.0.0.0/0 is scanned within minutes of creation; remote access belongs behind a VPN, a bastion with a narrow source, or SSM Session Manager. (Rules take IPv4 peers only, so ::/0 cannot be written.)",
    fix: "Narrow the rule's `cidr` to the networks that need it, use `source: <security group>`, or drop the rule and use SSM Session Manager.",
    check: open_remote_access,
};

const BP007: Rule = Rule {
    id: "BP007",
    title: "Single NAT gateway in production",
    severity: Severity::Warning,
    rationale: "One NAT gateway is one zone: when that zone fails, private subnets in every zone lose egress (image pulls, AWS APIs). The blueprint looks like production (a var env/environment/stage, or a tag, is prod).",
    fix: "Use `nat: \"one_per_az\"` on the VPC.",
    check: single_nat_in_production,
};

fn open_remote_access(ctx: &Ctx, out: &mut Vec<Hit>) {
    for r in of(ctx, crate::kinds::network::security_group::KIND) {
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

fn single_nat_in_production(ctx: &Ctx, out: &mut Vec<Hit>) {
    let Some(why) = &ctx.production else { return };
    for v in of(ctx, crate::kinds::network::vpc::KIND) {
        let in_vpc = |s: &Resource| refs(s.get("vpc")).contains(&&v.address);
        let private_zones: std::collections::BTreeSet<&str> =
            of(ctx, crate::kinds::network::subnet::KIND)
                .filter(|s| in_vpc(s) && flag(s, "public") == Some(false))
                .filter_map(|s| s.str("az"))
                .collect();
        let nats = of(ctx, crate::kinds::network::nat_gateway::KIND)
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
