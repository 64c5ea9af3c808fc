//! The lint rules about this family's resources (docs/RULES.md); the
//! lint layer runs them, handed down by the kind registry.

use crate::lint::check::turned_off;
use crate::lint::{Ctx, Hit, Rule, Severity};

/// The rules about file systems.
pub static FILE_SYSTEM: &[Rule] = &[BP011];

const BP011: Rule = Rule {
    id: "BP011",
    title: "EFS file system not encrypted",
    severity: Severity::Error,
    rationale: "Unencrypted file systems leave data readable on retired media and in snapshots; encryption cannot be turned on later without a new file system.",
    fix: "Keep `encrypted: true` (the default).",
    check: efs_unencrypted,
};

fn efs_unencrypted(ctx: &Ctx, out: &mut Vec<Hit>) {
    turned_off(
        ctx,
        out,
        crate::kinds::efs::file_system::KIND,
        "encrypted",
        |n| format!("file system {n} is not encrypted"),
    );
}
