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

/// Pacing (`BP_PACE`): through a proxy that throttles as AWS's request-rate
/// buckets do (EC2's published limits: changes 50 at once, then 5 a
/// second), an apply of 40 security groups with a rule each, paced by the
/// same buckets, is never throttled, and takes at least the time the
/// buckets allow: its EC2 changes beyond the burst at 5 a second.
#[test]
fn paced_requests_stay_within_awss_buckets() {
    let m = Moto::start();
    let proxy = crate::moto::FaultProxy::with_buckets(&m, 1.0);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut script = String::from("let v = vpc(\"paced\", #{ cidr: \"10.70.0.0/16\", azs: 1, private_subnets: [\"10.70.1.0/24\"] });\n");
    for i in 0..40 {
        script.push_str(&format!(
            "security_group(v, \"g{i}\", #{{ ingress: [rule(#{{ protocol: \"tcp\", port: {}, cidr: \"10.70.0.0/16\" }})] }});\n",
            1000 + i
        ));
    }
    std::fs::write(d.join("bp.rhai"), script).unwrap();
    let start = std::time::Instant::now();
    crate::harness::Test::new()
        .current_dir(d)
        .moto(&m)
        .env("AWS_ENDPOINT_URL", &proxy.url)
        .env("BP_PACE", "aws")
        .args(["apply", "bp.rhai", "--auto-approve"])
        .run();
    let took = start.elapsed().as_secs_f64();
    let lines = proxy.log_lines();
    let throttled: Vec<&String> = lines.iter().filter(|l| l.ends_with(" throttle")).collect();
    assert!(throttled.is_empty(), "throttled: {throttled:?}");
    let changes = lines
        .iter()
        .filter(|l| l.starts_with("ec2 ") && l.ends_with(" pass change"))
        .count();
    assert!(changes > 80, "{changes} EC2 changes");
    let floor = (changes - 50) as f64 / 5.0;
    assert!(
        took >= floor * 0.95,
        "{changes} EC2 changes in {took:.1} s, under the buckets' floor of {floor:.1} s"
    );
}
