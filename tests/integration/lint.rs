//! `bp lint`: findings at the options that cause them, the exit code by
//! `--deny`, JSON and SARIF, allows with reasons, and the seeds linting
//! clean. Lint reads no AWS: no emulator runs here.

use crate::harness::{repo, Test};
use serde_json::Value as Json;

const RISKY: &str = r#"let v = vpc("demo", #{ cidr: "10.0.0.0/16", azs: 2, nat: "one_per_az",
    public_subnets: ["10.0.1.0/24", "10.0.2.0/24"], private_subnets: ["10.0.11.0/24", "10.0.12.0/24"] });
let c = cluster("demo", #{
    version: "1.35", vpc: v, subnets: v.private_subnets,
    endpoint: #{ public: false, private: true },
    secrets_key: kms_key("demo", #{}),
    logging: ["api"],
});
security_group(v, "bastion", #{
    ingress: [rule(#{ protocol: "tcp", port: 22, cidr: "0.0.0.0/0" })],
});
"#;

fn text(out: std::process::Output) -> String {
    String::from_utf8(out.stdout).unwrap()
}

fn lint(args: &[&str]) -> Test {
    let mut all = vec!["lint", "bp.rhai"];
    all.extend_from_slice(args);
    Test::new().file("bp.rhai", RISKY).args(all)
}

#[test]
fn findings_point_at_their_options_and_errors_fail() {
    lint(&[])
        .status(1)
        .stdout(
            "
            warning[BP003]: cluster demo does not send its audit log to CloudWatch
             --> bp.rhai:7:5
              |
            7 |     logging: [\"api\"],
              |     ^^^^^^^
              = hint: logging: [\"api\", \"audit\", \"authenticator\"]

            error[BP004]: security group bastion lets SSH (port 22) in from 0.0.0.0/0
              --> bp.rhai:10:5
               |
            10 |     ingress: [rule(#{ protocol: \"tcp\", port: 22, cidr: \"0.0.0.0/0\" })],
               |     ^^^^^^^
              = hint: narrow the rule's cidr, use source: <security group>, or use SSM Session Manager

            2 findings: 1 error, 1 warning, 0 notes.
            ",
        )
        .stderr("")
        .run();
}

#[test]
fn deny_sets_the_level_that_fails() {
    let warning_only = RISKY.replace("cidr: \"0.0.0.0/0\"", "cidr: \"10.0.0.0/16\"");
    Test::new()
        .file("bp.rhai", &warning_only)
        .args(["lint", "bp.rhai"])
        .status(0)
        .stdout_contains("1 finding: 0 errors, 1 warning, 0 notes.")
        .run();
    Test::new()
        .file("bp.rhai", &warning_only)
        .args(["lint", "bp.rhai", "--deny", "warning"])
        .status(1)
        .run();
}

#[test]
fn allowed_findings_are_left_out_and_shown_with_their_reasons() {
    let allowed = format!(
        "{RISKY}allow(\"BP004\", \"bastion SSH is restricted by the VPN, see ADR-12\");\nallow(\"BP019\", \"no hosts\");\n"
    );
    let unused_line = RISKY.lines().count() + 2;
    Test::new()
        .file("bp.rhai", &allowed)
        .args(["lint", "bp.rhai"])
        .status(0)
        .stdout_contains("1 finding: 0 errors, 1 warning, 0 notes (1 allowed).\n")
        .stdout_contains(&format!("note: the allow of BP019 suppresses nothing (bp.rhai:{unused_line}:1): remove it if the risk is gone\n"))
        .run();
    let out = text(
        Test::new()
            .file("bp.rhai", &allowed)
            .args(["lint", "bp.rhai", "--show-suppressed"])
            .status(0)
            .run(),
    );
    assert!(
        out.contains("error[BP004]: security group bastion lets SSH (port 22) in from 0.0.0.0/0\n")
            && out.contains("  = allowed: bastion SSH is restricted by the VPN, see ADR-12\n"),
        "{out}"
    );
}

#[test]
fn an_allow_names_a_known_rule() {
    Test::new()
        .file("bp.rhai", &format!("{RISKY}allow(\"BP0004\", \"x\");\n"))
        .args(["lint", "bp.rhai"])
        .status(1)
        .stderr_contains("error: `BP0004` is not a lint rule\n")
        .stderr_contains("= hint: did you mean `BP004`?")
        .run();
}

#[test]
fn json_lists_findings_with_locations() {
    let v: Json = serde_json::from_str(&text(lint(&["--format", "json"]).status(1).run())).unwrap();
    assert_eq!(
        v["summary"],
        serde_json::json!({ "error": 1, "warning": 1, "note": 0, "allowed": 0 })
    );
    let f = &v["findings"][1];
    assert_eq!(f["rule"], "BP004");
    assert_eq!(f["severity"], "error");
    assert_eq!(f["address"], "security_group.demo/bastion");
    assert_eq!(
        f["location"],
        serde_json::json!({ "source": "bp.rhai", "line": 10, "col": 5 })
    );
    assert_eq!(v["unused_allows"], serde_json::json!([]));
    // An allow that suppresses nothing is listed with where it is written.
    let v: Json = serde_json::from_str(&text(
        Test::new()
            .file(
                "bp.rhai",
                &format!("{RISKY}allow(\"BP019\", \"no hosts\");\n"),
            )
            .args(["lint", "bp.rhai", "--format", "json"])
            .status(1)
            .run(),
    ))
    .unwrap();
    let line = RISKY.lines().count() + 1;
    assert_eq!(
        v["unused_allows"],
        serde_json::json!([{ "rule": "BP019", "location": { "source": "bp.rhai", "line": line, "col": 1 } }])
    );
}

#[test]
fn sarif_is_version_2_1_0_with_rules_results_and_suppressions() {
    let out = Test::new()
        .file(
            "bp.rhai",
            &format!("{RISKY}allow(\"BP003\", \"the audit log goes to the SIEM\");\n"),
        )
        .args(["lint", "bp.rhai", "--format", "sarif"])
        .status(1)
        .run();
    let v: Json = serde_json::from_str(&text(out)).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let run = &v["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 22);
    assert_eq!(rules[3]["id"], "BP004");
    assert_eq!(rules[3]["defaultConfiguration"]["level"], "error");
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    let (audit, ssh) = (&results[0], &results[1]);
    assert_eq!(audit["ruleId"], "BP003");
    assert_eq!(
        audit["suppressions"],
        serde_json::json!([{ "kind": "inSource", "justification": "the audit log goes to the SIEM" }])
    );
    assert_eq!(ssh["ruleId"], "BP004");
    assert_eq!(ssh["ruleIndex"], 3);
    assert_eq!(ssh["level"], "error");
    let loc = &ssh["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "bp.rhai");
    assert_eq!(
        loc["region"],
        serde_json::json!({ "startLine": 10, "startColumn": 5 })
    );
    assert!(ssh.get("suppressions").is_none());
}

#[test]
fn findings_are_coloured_on_request() {
    lint(&["--color", "always"])
        .status(1)
        .stdout_contains("\x1b[1m\x1b[33mwarning[BP003]:\x1b[0m\x1b[1m cluster demo does not send its audit log to CloudWatch\x1b[0m\n")
        .stdout_contains("\x1b[1m\x1b[31merror[BP004]:\x1b[0m")
        .run();
}

#[test]
fn the_seed_blueprints_lint_clean() {
    let seeds: &[(&str, &[&str])] = &[
        ("pms.rhai", &[]),
        ("pms.rhai", &["--var", "env=dev"]),
        ("naas.rhai", &[]),
        ("naas.rhai", &["--var", "env=dev"]),
        ("digibee.rhai", &[]),
        ("eks-intro.rhai", &[]),
        ("harmonix.rhai", &[]),
        ("harmonix.rhai", &["--var", "endpoint=private"]),
    ];
    for (seed, vars) in seeds {
        let file = repo().join("blueprints").join(seed);
        let mut args = vec![
            "lint".to_string(),
            file.display().to_string(),
            "--deny".into(),
            "note".into(),
        ];
        args.extend(vars.iter().map(|s| s.to_string()));
        let out = text(Test::new().args(args).status(0).run());
        assert!(out.starts_with("No findings: "), "{seed} {vars:?}:\n{out}");
    }
}

/// A finding about what a stdlib function declares is annotated on the
/// user's call of it; the stdlib line is a related location.
#[test]
fn sarif_annotates_the_users_file_for_stdlib_resources() {
    let out = Test::new()
        .file(
            "bp.rhai",
            "import \"eks\" as eks;\nlet p = eks::standard_cluster(\"demo\", #{ azs: 2 });\n",
        )
        .args(["lint", "bp.rhai", "--format", "sarif"])
        .run();
    let v: Json = serde_json::from_str(&text(out)).unwrap();
    let r = &v["runs"][0]["results"][0];
    assert_eq!(r["ruleId"], "BP001");
    assert_eq!(
        r["locations"][0]["physicalLocation"],
        serde_json::json!({ "artifactLocation": { "uri": "bp.rhai" }, "region": { "startLine": 2, "startColumn": 14 } })
    );
    assert_eq!(
        r["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "stdlib/eks.rhai"
    );
    assert_eq!(
        v["runs"][0]["tool"]["driver"]["rules"][0]["name"],
        "EksApiEndpointOpenToTheInternet"
    );
}

/// An existing VPC where no AWS is read has no known block: a rule made
/// from it (`cidr: network.cidr`) is not taken for one open to the world,
/// as PMS's split cluster blueprint once was; a rule open to 0.0.0.0/0 in
/// the same blueprint still is.
#[test]
fn a_rule_from_an_existing_vpcs_block_is_not_open_to_the_world_at_lint() {
    let script = r#"let net = existing_vpc("vpc-0123456789abcdef0");
security_group(net, "workers", #{ ingress: [rule(#{ protocol: "tcp", port: 22, cidr: net.cidr })] });
"#;
    Test::new()
        .file("bp.rhai", script)
        .args(["lint", "bp.rhai"])
        .stdout_contains("No findings")
        .run();
    let open = format!(
        "{script}security_group(net, \"bastion\", #{{ ingress: [rule(#{{ protocol: \"tcp\", port: 22, cidr: \"0.0.0.0/0\" }})] }});\n"
    );
    let out = Test::new()
        .file("bp.rhai", &open)
        .args(["lint", "bp.rhai"])
        .status(1)
        .run();
    let said = text(out);
    assert!(
        said.contains("security group bastion lets SSH (port 22) in from 0.0.0.0/0")
            && !said.contains("security group workers"),
        "{said}"
    );
    Test::new()
        .current_dir(repo())
        .env("SOPS_AGE_KEY_FILE", "blueprints/secrets/demo.agekey")
        .args(["lint", "blueprints/pms-cluster.rhai"])
        .stdout_contains("No findings")
        .run();
}
