//! The lint rules about this family's resources (docs/RULES.md); the
//! lint layer runs them, handed down by the kind registry.

use crate::lint::check::{flag, name, of, turned_off};
use crate::lint::{Ctx, Hit, Rule, Severity};
use crate::model::Value;

/// The rules about buckets.
pub static BUCKET: &[Rule] = &[BP008, BP009, BP010];

const BP008: Rule = Rule {
    id: "BP008",
    title: "S3 bucket without a KMS key",
    severity: Severity::Note,
    rationale: "Every bucket Blueprint makes is encrypted with S3-managed keys (SSE-S3) at least; a KMS key adds a key policy that is a second gate on reading the data, and a CloudTrail record of each use.",
    fix: "Give the bucket `encryption_key: kms_key(...)`, or allow the rule where S3-managed keys are enough.",
    check: s3_kms,
};

const BP009: Rule = Rule {
    id: "BP009",
    title: "Backup bucket without versioning",
    severity: Severity::Warning,
    rationale: "A bucket that holds backups (its name says backup) without versioning loses a backup to one overwrite or delete, including a ransomware one.",
    fix: "Set `versioning: true` (cluster.backups(...) sets it on its bucket).",
    check: s3_backup_versioning,
};

const BP010: Rule = Rule {
    id: "BP010",
    title: "S3 bucket without a public-access block",
    severity: Severity::Warning,
    rationale:
        "Without the public-access block, one ACL or bucket policy can make the data public.",
    fix: "Keep `public_access_block: true` (the default).",
    check: s3_public_access,
};

fn s3_kms(ctx: &Ctx, out: &mut Vec<Hit>) {
    for r in of(ctx, crate::kinds::s3_bucket::KIND) {
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
    for r in of(ctx, crate::kinds::s3_bucket::KIND) {
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

fn s3_public_access(ctx: &Ctx, out: &mut Vec<Hit>) {
    turned_off(
        ctx,
        out,
        crate::kinds::s3_bucket::KIND,
        "public_access_block",
        |n| format!("bucket {n} has no public-access block"),
    );
}
