//! What a plan lists: the kinds the blueprint declares, the kinds the
//! tagging API cannot find, and of the others only those it finds a
//! resource of the blueprint's of (one GetResources call across services,
//! before the lists). A kind the blueprint stopped declaring is still
//! found, so what it left is pruned.

use crate::moto::Moto;

/// The kinds a `bp plan -v` listed, from its `by kind:` line.
fn listed(out: &str) -> Vec<String> {
    let line = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("by kind: "))
        .unwrap_or_else(|| panic!("a `by kind:` line in {out}"));
    line.split(", ")
        .map(|part| part.split(' ').next().unwrap().to_string())
        .collect()
}

#[test]
fn a_plan_lists_what_is_declared_or_found_by_tag_and_prunes_what_was_left() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("bp.rhai"), "sqs_queue(\"orders\", #{});\n").unwrap();
    m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 0);
    let out = m.bp(d, &["plan", "bp.rhai", "-v", "--detailed-exitcode"], 0);
    let kinds = listed(&out);
    assert!(kinds.contains(&"sqs_queue".to_string()), "{kinds:?}");
    // Findable by tag, not declared, none of the blueprint's: not listed.
    for absent in [
        "s3_bucket",
        "instance",
        "rds_postgres",
        "dynamodb_table",
        "vpc",
    ] {
        assert!(
            !kinds.contains(&absent.to_string()),
            "{absent} in {kinds:?}"
        );
    }
    // Not findable by tag (EKS clusters, IAM roles, and on the emulator
    // log groups), or read with kinds that are not (EFS with its mount
    // targets, backup vaults with their plans): listed all the same.
    for present in [
        "cluster",
        "iam_role",
        "event_rule",
        "log_group",
        "efs",
        "backup_vault",
    ] {
        assert!(
            kinds.contains(&present.to_string()),
            "{present} not in {kinds:?}"
        );
    }

    // The blueprint declares a log group instead: the queue it left is
    // found by its tag and pruned.
    std::fs::write(d.join("bp.rhai"), "log_group(\"/app/orders\", #{});\n").unwrap();
    let out = m.bp(d, &["plan", "bp.rhai", "-v"], 0);
    assert!(out.contains("  - sqs_queue.orders"), "{out}");
    assert!(listed(&out).contains(&"sqs_queue".to_string()));
    m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 0);
    let out = m.bp(d, &["plan", "bp.rhai", "-v", "--detailed-exitcode"], 0);
    let kinds = listed(&out);
    assert!(!kinds.contains(&"sqs_queue".to_string()), "{kinds:?}");
}
