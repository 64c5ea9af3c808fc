//! The lint rules about this family's resources (docs/RULES.md); the
//! lint layer runs them, handed down by the kind registry.

use crate::lint::check::{flag, name, of, turned_off};
use crate::lint::{Ctx, Hit, Rule, Severity};

/// The rules about instances.
pub static INSTANCE: &[Rule] = &[BP012, BP013];

const BP012: Rule = Rule {
    id: "BP012",
    title: "RDS storage not encrypted",
    severity: Severity::Error,
    rationale: "Unencrypted database storage leaves data, snapshots and replicas readable outside the database; it cannot be encrypted in place later.",
    fix: "Keep `encrypted: true` (the default).",
    check: rds_unencrypted,
};

const BP013: Rule = Rule {
    id: "BP013",
    title: "RDS not multi-AZ in production",
    severity: Severity::Warning,
    rationale: "A single-AZ database is down for the length of a zone outage or an instance failure and its recovery; production databases keep a standby in another zone. The blueprint looks like production.",
    fix: "Set `multi_az: true`.",
    check: rds_single_az_in_production,
};

fn rds_unencrypted(ctx: &Ctx, out: &mut Vec<Hit>) {
    turned_off(
        ctx,
        out,
        crate::kinds::rds::instance::KIND,
        "encrypted",
        |n| format!("database {n} stores its data unencrypted"),
    );
}

fn rds_single_az_in_production(ctx: &Ctx, out: &mut Vec<Hit>) {
    let Some(why) = &ctx.production else { return };
    for r in of(ctx, crate::kinds::rds::instance::KIND) {
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
