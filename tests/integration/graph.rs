//! `bp graph` in its three formats.

use crate::harness::Test;

const BP: &str = r#"
    let v = vpc("demo", #{ cidr: "10.0.0.0/16" });
    let a = security_group(v, "a");
    let b = security_group(v, "b", #{ ingress: [rule(#{ protocol: "tcp", port: 80, source: a })] });
"#;

#[test]
fn dot() {
    Test::new()
        .file("bp.rhai", BP)
        .args(["graph", "bp.rhai"])
        .stdout(
            r#"
            digraph blueprint {
              rankdir=LR;
              node [shape=box];
              "vpc.demo";
              "security_group.demo/a";
              "security_group.demo/b";
              "security_group.demo/a" -> "vpc.demo";
              "security_group.demo/b" -> "vpc.demo";
              "security_group.demo/b" -> "security_group.demo/a" [style=dashed];
            }
            "#,
        )
        .run();
}

#[test]
fn mermaid() {
    Test::new()
        .file("bp.rhai", BP)
        .args(["graph", "bp.rhai", "--format", "mermaid"])
        .stdout(
            r#"
            graph LR
              n0["vpc.demo"]
              n1["security_group.demo/a"]
              n2["security_group.demo/b"]
              n1 --> n0
              n2 --> n0
              n2 -.-> n1
            "#,
        )
        .run();
}

#[test]
fn json() {
    let out = Test::new()
        .file("bp.rhai", BP)
        .args(["graph", "bp.rhai", "--format", "json"])
        .run();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["nodes"].as_array().unwrap().len(), 3);
    assert_eq!(
        v["edges"][2],
        serde_json::json!({"from": "security_group.demo/b", "to": "security_group.demo/a", "kind": "after_create"})
    );
}

#[test]
fn unknown_format_is_a_usage_error() {
    Test::new()
        .file("bp.rhai", BP)
        .args(["graph", "bp.rhai", "--format", "png"])
        .status(1)
        .stderr_contains("invalid value 'png'")
        .run();
}
