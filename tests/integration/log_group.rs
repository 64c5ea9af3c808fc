//! CloudWatch log groups (`log_group(...)`, `cluster.control_plane_logs(...)`)
//! through the lifecycle against the emulator, checked with boto3: the
//! kind added as docs/ARCHITECTURE.md's worked example, in its own folder
//! and one registry line.

use crate::moto::Moto;
use serde_json::Value as Json;

const BP: &str = r#"
let v = vpc("demo", #{ cidr: "10.0.0.0/16", azs: 2, private_subnets: ["10.0.11.0/24", "10.0.12.0/24"] });
let c = cluster("demo", #{ version: "1.35", vpc: v, subnets: v.private_subnets, irsa: false,
                          logging: ["api", "audit"] });
let days = parse_int(var("days", "90"));
if days > 0 {
    c.control_plane_logs(#{ retention_days: days, tags: #{ team: var("team", "platform") } });
}
log_group("/app/orders", #{});
"#;

/// The log groups on the emulator: name -> retention and tags.
fn groups(m: &Moto) -> Json {
    m.python_json(&[
        "-c",
        &format!(
            "import boto3, json\nl = {}\nout = {{}}\nfor g in l.describe_log_groups()['logGroups']:\n    out[g['logGroupName']] = {{'retention': g.get('retentionInDays'), 'tags': l.list_tags_for_resource(resourceArn=g['logGroupArn'])['tags']}}\nprint(json.dumps(out))",
            m.boto3("logs")
        ),
    ])
}

#[test]
fn control_plane_logs_are_kept_as_declared_and_change_in_place() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bp.rhai"), BP).unwrap();
    let d = dir.path();

    // The cluster waits for its log group: EKS then writes into it.
    let graph = m.bp(d, &["graph", "bp.rhai"], 0);
    assert!(
        graph.contains("\"cluster.demo\" -> \"log_group.aws/eks/demo/cluster\""),
        "{graph}"
    );
    let out = m.bp(d, &["plan", "bp.rhai"], 0);
    assert!(out.contains("+ log_group.aws/eks/demo/cluster"), "{out}");
    assert!(out.contains("      retention_days = 90\n"), "{out}");
    m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 0);
    m.bp(d, &["plan", "bp.rhai", "--detailed-exitcode"], 0);
    let g = groups(&m);
    assert_eq!(g["/aws/eks/demo/cluster"]["retention"], 90, "{g}");
    assert_eq!(
        g["/aws/eks/demo/cluster"]["tags"]["team"], "platform",
        "{g}"
    );
    assert_eq!(
        g["/aws/eks/demo/cluster"]["tags"]["blueprint:address"],
        "log_group.aws/eks/demo/cluster"
    );
    assert_eq!(g["/app/orders"]["retention"], Json::Null, "{g}");

    // Retention and tags change in place.
    let args = ["--var", "days=30", "--var", "team=ops"];
    let out = m.bp(d, &[&["plan", "bp.rhai"][..], &args].concat(), 0);
    assert!(out.contains("~ log_group.aws/eks/demo/cluster"), "{out}");
    assert!(out.contains("retention_days: 90 -> 30"), "{out}");
    assert!(out.contains("tags.team: \"platform\" -> \"ops\""), "{out}");
    assert!(
        out.contains("Plan: 0 to add, 1 to change, 0 to replace, 0 to destroy."),
        "{out}"
    );
    m.bp(
        d,
        &[&["apply", "bp.rhai", "--auto-approve"][..], &args].concat(),
        0,
    );
    m.bp(
        d,
        &[&["plan", "bp.rhai", "--detailed-exitcode"][..], &args].concat(),
        0,
    );
    let g = groups(&m);
    assert_eq!(g["/aws/eks/demo/cluster"]["retention"], 30, "{g}");
    assert_eq!(g["/aws/eks/demo/cluster"]["tags"]["team"], "ops", "{g}");

    // No longer declared: deleted.
    let out = m.bp(
        d,
        &["apply", "bp.rhai", "--auto-approve", "--var", "days=0"],
        0,
    );
    assert!(out.contains("- log_group.aws/eks/demo/cluster"), "{out}");
    let g = groups(&m);
    assert!(g.get("/aws/eks/demo/cluster").is_none(), "{g}");
    m.bp(d, &["destroy", "bp.rhai", "--auto-approve"], 0);
    assert_eq!(groups(&m), serde_json::json!({}));
}

/// A group someone else made (EKS, before the blueprint declared it) is
/// not taken silently: the apply says so and `bp adopt` takes it over.
#[test]
fn a_group_that_exists_is_adopted_not_taken() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("bp.rhai"),
        r#"log_group("/aws/eks/old/cluster", #{ retention_days: 14 });"#,
    )
    .unwrap();
    m.python(&[
        "-c",
        &format!(
            "import boto3\n{}.create_log_group(logGroupName='/aws/eks/old/cluster')",
            m.boto3("logs")
        ),
    ]);
    // `:live` lists it, with its retention and no owner.
    crate::harness::Test::new()
        .moto(&m)
        .args(["repl"])
        .stdin(":live log_group eks\n")
        .stdout_contains("/aws/eks/old/cluster")
        .stdout_contains("kept forever")
        .stdout_contains("1 log_group")
        .run();
    let out = m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 1);
    assert!(
        out.contains("log group /aws/eks/old/cluster exists and is not this blueprint's: `bp adopt` takes it over"),
        "{out}"
    );
    m.bp(
        d,
        &[
            "adopt",
            "bp.rhai",
            "log_group.aws/eks/old/cluster",
            "/aws/eks/old/cluster",
        ],
        0,
    );
    let out = m.bp(d, &["plan", "bp.rhai"], 0);
    assert!(out.contains("retention_days: null -> 14"), "{out}");
    m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 0);
    assert_eq!(groups(&m)["/aws/eks/old/cluster"]["retention"], 14);
}

#[test]
fn a_retention_cloudwatch_does_not_offer_is_refused_before_any_call() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("bp.rhai"),
        r#"log_group("/app/x", #{ retention_days: 100 });"#,
    )
    .unwrap();
    let out = m.bp(d, &["plan", "bp.rhai"], 1);
    assert!(
        out.contains("retention_days is 100, which CloudWatch Logs does not offer"),
        "{out}"
    );
    assert!(out.contains("the nearest it offers is 90"), "{out}");
    assert!(out.contains("bp.rhai:1:"), "{out}");
}
