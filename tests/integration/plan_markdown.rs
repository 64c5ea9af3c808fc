//! Plans for pull requests: `bp plan --format markdown` and `bp show PLAN
//! --format markdown` (a summary line, the changes by provider with
//! replacements and deletions first, a `<details>` per resource with its
//! field diff, secrets hidden), the example workflow that posts it, and
//! plan files that are not Blueprint plans refused.

use crate::harness::{repo, Test};
use crate::moto::Moto;

const BP: &str = r#"
let cidr = var("cidr", "10.0.0.0/16");
let v = vpc("md", #{ cidr: cidr, azs: 2, private_subnets: cidr_split(cidr_split(cidr, 4)[0], 2) });
log_group("/app/md", #{ retention_days: 7, tags: #{ team: var("team", "a"), token: var("token", #{ sensitive: true, default: "none" }) } });
s3_bucket("md-files-0001", #{});
"#;

#[test]
fn a_plan_reads_as_a_pull_request_comment() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("bp.rhai"), BP).unwrap();
    m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 0);
    let vars = [
        "--var",
        "team=b",
        "--var",
        "cidr=10.9.0.0/16",
        "--var",
        "token=s3cr3t-canary-md",
    ];
    let mut args = vec!["plan", "bp.rhai", "--format", "markdown"];
    args.extend(vars);
    let md = m.bp(d, &args, 0);
    assert!(
        md.starts_with("<!-- bp plan bp -->\n### Blueprint `bp` in us-east-1\n"),
        "{md}"
    );
    assert!(
        md.contains("**Plan: 0 to add, 1 to change, 4 to replace, 0 to destroy.** Cost: "),
        "{md}"
    );
    // Replacements first, with their reason; then the update.
    let vpc = md
        .find("| `-/+` | `vpc.md` | aws:us-east-1 | replace | a VPC's primary CIDR block cannot change; declared |")
        .unwrap_or_else(|| panic!("{md}"));
    let logs = md
        .find("| `~` | `log_group.app/md` | aws:us-east-1 | update in place | declared |")
        .unwrap_or_else(|| panic!("{md}"));
    assert!(vpc < logs, "{md}");
    assert!(
        md.contains("<details><summary><code>~ log_group.app/md</code> update in place</summary>\n\n```diff\n- tags.team: \"a\"\n+ tags.team: \"b\"  # declared\n"),
        "{md}"
    );
    assert!(
        md.contains("+ cidr: \"10.9.0.0/16\"  # declared, forces replacement"),
        "{md}"
    );
    assert!(
        !md.contains("s3cr3t-canary-md"),
        "a secret in the comment: {md}"
    );

    // Saved, `bp show` gives the same comment.
    let mut args = vec!["plan", "bp.rhai", "-o", "tfplan", "--html", "report.html"];
    args.extend(vars);
    m.bp(d, &args, 0);
    let report = std::fs::read_to_string(d.join("report.html")).unwrap();
    assert!(report.contains("tags.token: (sensitive)"), "{report}");
    assert!(
        !report.contains("s3cr3t-canary-md"),
        "a secret in the report"
    );
    let shown = Test::new()
        .current_dir(d)
        .args(["show", "tfplan", "--format", "markdown"])
        .run();
    assert_eq!(String::from_utf8(shown.stdout).unwrap(), md);

    // A converged blueprint says so.
    let md = m.bp(d, &["plan", "bp.rhai", "--format", "markdown"], 0);
    assert!(
        md.contains("**No changes.** 6 resources match the blueprint."),
        "{md}"
    );
}

#[test]
fn show_refuses_what_is_not_a_blueprint_plan() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("other.json"), "{\"resources\": []}\n").unwrap();
    std::fs::write(
        d.join("bp.rhai"),
        "vpc(\"x\", #{ cidr: \"10.0.0.0/16\" });\n",
    )
    .unwrap();
    let future = serde_json::json!({
        "format_version": 99, "fingerprint": "x", "blueprint": "b", "region": "r",
        "changes": [], "unchanged": 0, "desired": []
    });
    std::fs::write(d.join("future.json"), future.to_string()).unwrap();
    for (file, says) in [
        ("other.json", "other.json: it is not a plan saved by `bp plan -o` (JSON without a plan's format_version and fingerprint)"),
        ("bp.rhai", "bp.rhai: it is not a plan saved by `bp plan -o` (not JSON"),
        ("future.json", "future.json: it was saved by a newer bp (plan format 99; this bp reads format 2 and older)"),
    ] {
        for format in ["markdown", "human", "json"] {
            Test::new()
                .current_dir(d)
                .args(["show", file, "--format", format])
                .status(1)
                .stderr_contains(says)
                .run();
        }
    }
    // Applying a plan from the future is refused the same way.
    Test::new()
        .current_dir(d)
        .args(["apply", "future.json", "--auto-approve"])
        .status(1)
        .stderr_contains("it was saved by a newer bp (plan format 99")
        .run();
}

/// The example workflow in examples/ci parses as YAML and does what the
/// README says: plans with --detailed-exitcode, renders the saved plan as
/// Markdown, and posts or updates the comment found by its marker.
#[test]
fn the_example_workflow_is_yaml_that_posts_the_markdown() {
    let out = std::process::Command::new(repo().join(".venv/bin/python"))
        .args([
            "-c",
            "import json, sys, yaml\nprint(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
            repo()
                .join("examples/ci/plan-comment.yml")
                .to_str()
                .unwrap(),
        ])
        .output()
        .expect("python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let w: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(w["permissions"]["pull-requests"], "write", "{w}");
    let steps = w["jobs"]["plan"]["steps"].as_array().unwrap();
    let run = |name: &str| -> String {
        steps
            .iter()
            .find(|s| s["name"] == name)
            .and_then(|s| s["run"].as_str().or(s["with"]["script"].as_str()))
            .unwrap_or_else(|| panic!("no step {name}: {w}"))
            .to_string()
    };
    let plan = run("Plan");
    assert!(plan.contains("--detailed-exitcode -o plan.json"), "{plan}");
    assert!(
        plan.contains("bp show plan.json --format markdown > plan.md"),
        "{plan}"
    );
    let post = run("Post or update the comment");
    assert!(post.contains("readFileSync('plan.md'"), "{post}");
    assert!(
        post.contains("updateComment") && post.contains("createComment"),
        "{post}"
    );
    assert!(run("Test the blueprints").contains("bp test"));
    assert!(run("Formatted").contains("bp fmt --check"));
}
