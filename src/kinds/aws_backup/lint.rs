//! The lint rules about this family's resources (docs/RULES.md); the
//! lint layer runs them, handed down by the kind registry.

use crate::lint::check::{name, of, refs};
use crate::lint::{Ctx, Hit, Rule, Severity};
use crate::model::{Address, Value};

/// The rules about selections.
pub static SELECTION: &[Rule] = &[BP014];

const BP014: Rule = Rule {
    id: "BP014",
    title: "Data store without backups",
    severity: Severity::Warning,
    rationale: "An EFS file system in no AWS Backup plan, or a database with automated backups off and in no plan, cannot be restored after a mistake or a deletion.",
    fix: "List it in the `resources` of a `backup_plan(...)`; for RDS, keep `backup_retention_days` above 0.",
    check: data_without_backups,
};

fn data_without_backups(ctx: &Ctx, out: &mut Vec<Hit>) {
    let selected: Vec<&Address> = of(ctx, crate::kinds::aws_backup::selection::KIND)
        .flat_map(|s| refs(s.get("resources")))
        .collect();
    for r in of(ctx, crate::kinds::efs::file_system::KIND) {
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
    for r in of(ctx, crate::kinds::rds::instance::KIND) {
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
