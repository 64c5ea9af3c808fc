//! The lint rules about this family's resources (docs/RULES.md); the
//! lint layer runs them, handed down by the kind registry.

use crate::lint::check::turned_off;
use crate::lint::{Ctx, Hit, Rule, Severity};

/// The rules about instances.
pub static INSTANCE: &[Rule] = &[BP019];

const BP019: Rule = Rule {
    id: "BP019",
    title: "Instance without IMDSv2 required",
    severity: Severity::Warning,
    rationale: "IMDSv1 answers plain GET requests, so a server-side request forgery in any process on the instance can read its role's credentials.",
    fix: "Keep `metadata_v2_required: true` (the default).",
    check: imds_v1,
};

fn imds_v1(ctx: &Ctx, out: &mut Vec<Hit>) {
    turned_off(
        ctx,
        out,
        crate::kinds::compute::instance::KIND,
        "metadata_v2_required",
        |n| format!("instance {n} answers IMDSv1 requests"),
    );
}
