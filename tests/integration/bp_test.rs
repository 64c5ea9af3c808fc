//! `bp test`: blueprint authors' tests in Rhai (`*.test.rhai`), run with
//! no AWS call: assertions over the desired graph, mocked plans, lint
//! findings and cost; failures at their file:line:col with both values;
//! JUnit XML for CI; and the tests shipped for every seed blueprint and
//! stdlib module pass.

use crate::harness::{repo, Test};

/// What a Python program run in the project's venv prints, as JSON.
fn python_json(code: &str) -> serde_json::Value {
    let out = std::process::Command::new(repo().join(".venv/bin/python"))
        .args(["-c", code])
        .output()
        .expect("run python (scripts/setup.sh makes .venv)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

const PASSING: &str = r#"
// Helpers without the test_ prefix are not tests.
fn demo() {
    script(`let v = vpc("demo", #{ cidr: "10.0.0.0/16", azs: 2, private_subnets: ["10.0.1.0/24", "10.0.2.0/24"] });
            s3_bucket("demo-files-bt", #{});`)
}

fn test_the_graph() {
    let bp = demo();
    assert_eq(bp.count("subnet"), 2);
    assert_eq(bp.resource("subnet.demo/private-a").spec.cidr, "10.0.1.0/24");
    assert(bp.depends_on("subnet.demo/private-b", "vpc.demo"));
    assert(!bp.depends_on("s3_bucket.demo-files-bt", "vpc.demo"));
}

fn test_a_mocked_plan() {
    let bp = demo();
    let live = bp.as_live();
    assert_eq(bp.plan(live).change, 0);
    live.push(mock_live("log_group", #{ name: "app/old" }));
    let p = bp.plan(live);
    assert_eq(p.destroy, 1);
    assert_eq(p.changes[0].address, "log_group.app/old");
}

fn test_findings_and_cost() {
    let bp = demo();
    let bucket = bp.findings().filter(|f| f.rule == "BP008")[0];
    assert_eq(bucket.address, "s3_bucket.demo-files-bt");
    assert_eq(bucket.file, "inline.rhai");
    assert_eq(bucket.line, 2);
    assert_eq(bp.cost("vpc.demo"), 0.0);
    assert_eq(bp.no_price(), []);
    let odd = script(`let v = vpc("demo", #{ cidr: "10.0.0.0/16", azs: 2, private_subnets: ["10.0.1.0/24", "10.0.2.0/24"] });
        let c = cluster("demo", #{ version: "1.35", vpc: v, subnets: v.private_subnets });
        c.node_group("odd", #{ instance_types: ["x2iedn.32xlarge"], min: 1, max: 2, desired: 1 });`);
    assert_eq(odd.no_price().map(|n| n.address), ["node_group.demo/odd"]);
}

fn test_what_a_plan_would_refuse() {
    let bp = script("");
    let p = bp.plan([mock_live("s3_bucket", #{ name: "old-bt", attrs: #{ protect: true } })]);
    assert_eq(p.destroy, 0);
    assert_eq(p.protected.map(|x| x.address), ["s3_bucket.old-bt"]);
    assert_eq(p.protected[0].action, "delete");
}

fn test_mocks_keep_their_ids() {
    let live = demo().as_live();
    let subnet = live.filter(|m| m.name == "demo/private-a")[0];
    assert_eq(subnet.id, "mock-subnet.demo/private-a");
    assert_eq(subnet.outputs.id, subnet.id);
    assert_eq(subnet.attrs.vpc, "mock-vpc.demo");
}

fn test_an_error_is_expected_at_its_line() {
    let e = expect_error(|| script("let x = 1;\nvpc(\"demo\", #{ cidr: \"10.0.0.0/33\" });"), "not an IPv4 CIDR block");
    assert_eq(e.file, "inline.rhai");
    assert_eq(e.line, 2);
}
"#;

const FAILING: &str = r#"fn test_passes() { assert(true); }

fn test_wrong_count() {
    let bp = script(`vpc("demo", #{ cidr: "10.0.0.0/16" });`);
    assert_eq(bp.count("vpc"), 2, "one vpc");
}

fn test_no_error_where_one_was_expected() {
    expect_error(|| script(`vpc("demo", #{ cidr: "10.0.0.0/16" });`), "anything");
}

fn test_another_error_than_expected() {
    expect_error(|| script(`vpc("demo", #{ cidr: "10.0.0.0/33" });`), "subnet");
}

fn test_a_blueprint_that_fails_unexpectedly() {
    script(`vpc("demo", #{ cidr: "nope" });`);
}

fn test_a_kind_misspelt() { script("").count("vpcs"); }
"#;

#[test]
fn passing_tests_pass_and_exit_0() {
    let out = Test::new()
        .file("checks.test.rhai", PASSING)
        .args(["test"])
        .stdout_contains("test checks.test.rhai::test_the_graph ... ok")
        .stdout_contains("test checks.test.rhai::test_an_error_is_expected_at_its_line ... ok")
        .stdout_contains("test result: ok. 6 passed; 0 failed; 0 errors; 1 files")
        .run();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains("demo ..."), "helpers are not tests: {text}");
    // In the order they are written.
    let graph = text.find("test_the_graph").unwrap();
    let plan = text.find("test_a_mocked_plan").unwrap();
    assert!(graph < plan, "{text}");
}

#[test]
fn failures_show_their_place_and_both_values_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("failing.test.rhai"), FAILING).unwrap();
    std::fs::write(dir.path().join("broken.test.rhai"), "fn test_x( {\n").unwrap();
    let junit = dir.path().join("report.xml");
    Test::new()
        .current_dir(dir.path())
        .args(["test", "--junit", junit.to_str().unwrap()])
        .status(1)
        .stdout_contains("test failing.test.rhai::test_passes ... ok")
        .stdout_contains("test failing.test.rhai::test_wrong_count ... FAILED")
        .stdout_contains(
            "failing.test.rhai:5:5: test_wrong_count: assert_eq failed: one vpc\n  left:  1\n  right: 2\n",
        )
        .stdout_contains("failing.test.rhai:9:5: test_no_error_where_one_was_expected: expect_error failed: no error (expected one saying \"anything\")\n  left:  blueprint inline (1 resources)\n")
        .stdout_contains("failing.test.rhai:13:5: test_another_error_than_expected: expect_error failed: the error does not say \"subnet\"\n  left:  error: option `cidr` of vpc: `10.0.0.0/33` is not an IPv4 CIDR block")
        .stdout_contains("failing.test.rhai:17:5: test_a_blueprint_that_fails_unexpectedly: error: a blueprint did not evaluate")
        .stdout_contains(" --> inline.rhai:1:1")
        .stdout_contains("failing.test.rhai:20:40: test_a_kind_misspelt: error: unknown resource kind `vpcs`; the nearest is `vpc`")
        .stdout_contains("test broken.test.rhai ... ERROR (the file does not compile)")
        .stdout_contains(" --> broken.test.rhai:1:12")
        .stdout_contains("test result: FAILED. 1 passed; 3 failed; 3 errors; 2 files")
        .run();

    // The report, read by a real JUnit XML parser.
    let parsed = python_json(&format!(
        r#"
import json
from junitparser import JUnitXml, Failure, Error
xml = JUnitXml.fromfile({path:?})
out = {{"tests": xml.tests, "failures": xml.failures, "errors": xml.errors, "cases": {{}}}}
for suite in xml:
    for case in suite:
        kinds = [type(r).__name__ for r in case.result]
        texts = [r.text or "" for r in case.result]
        out["cases"][suite.name + "::" + case.name] = {{"result": kinds, "text": texts}}
print(json.dumps(out))
"#,
        path = junit.to_str().unwrap()
    ));
    assert_eq!(parsed["tests"], 7, "{parsed}");
    assert_eq!(parsed["failures"], 3, "{parsed}");
    assert_eq!(parsed["errors"], 3, "{parsed}");
    let case = |n: &str| parsed["cases"][n].clone();
    assert_eq!(
        case("failing.test.rhai::test_passes")["result"],
        serde_json::json!([])
    );
    assert_eq!(
        case("failing.test.rhai::test_wrong_count")["result"],
        serde_json::json!(["Failure"])
    );
    let text = case("failing.test.rhai::test_wrong_count")["text"][0]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        text.contains("failing.test.rhai:5:5")
            && text.contains("left:  1")
            && text.contains("right: 2"),
        "{text}"
    );
    assert_eq!(
        case("failing.test.rhai::test_a_kind_misspelt")["result"],
        serde_json::json!(["Error"])
    );
    assert_eq!(
        case("broken.test.rhai::(compile)")["result"],
        serde_json::json!(["Error"])
    );
}

#[test]
fn filter_picks_tests_and_no_test_file_is_an_error() {
    Test::new()
        .file("checks.test.rhai", PASSING)
        .args(["test", "--filter", "mocked"])
        .stdout_contains("test checks.test.rhai::test_a_mocked_plan ... ok")
        .stdout_contains("test result: ok. 1 passed; 0 failed; 0 errors; 1 files")
        .run();
    Test::new()
        .file("bp.rhai", "vpc(\"demo\", #{ cidr: \"10.0.0.0/16\" });")
        .args(["test"])
        .status(1)
        .stderr_contains("no test files (*.test.rhai) under .")
        .run();
    Test::new()
        .args(["test", "nowhere.test.rhai"])
        .status(1)
        .stderr_contains("nowhere.test.rhai: no such file or folder")
        .run();
}

/// The tests shipped with the seed blueprints and the stdlib modules pass,
/// and there is a file for each.
#[test]
fn the_shipped_tests_of_every_seed_and_stdlib_module_pass() {
    let out = Test::new()
        .current_dir(repo())
        .args(["test", "blueprints", "tests/stdlib"])
        .stdout_contains("test result: ok.")
        .run();
    let text = String::from_utf8(out.stdout).unwrap();
    for seed in ["eks-intro", "pms", "digibee", "harmonix", "naas"] {
        assert!(
            text.contains(&format!("test blueprints/{seed}.test.rhai::test_")),
            "no tests of {seed}: {text}"
        );
    }
    for (module, _) in blueprint::script::STDLIB {
        assert!(
            text.contains(&format!("test tests/stdlib/{module}.test.rhai::test_")),
            "no tests of stdlib {module}: {text}"
        );
    }
}
