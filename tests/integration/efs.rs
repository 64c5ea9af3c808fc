//! EFS (`efs(...)`, `fs.access_point(...)`) through the lifecycle against
//! the emulator, checked independently with boto3, and its mistakes refused
//! before any call.

use crate::harness::Test;
use crate::moto::Moto;
use serde_json::Value as Json;

const BP: &str = r#"
let v = vpc("demo", #{ cidr: "10.0.0.0/16", azs: 2,
    public_subnets: ["10.0.1.0/24", "10.0.2.0/24"], private_subnets: ["10.0.10.0/24", "10.0.11.0/24"] });
let opts = #{ vpc: v, subnets: v.private_subnets, throughput_mode: var("tp", "elastic"),
              ia_after_days: parse_int(var("ia", "30")), tags: #{ team: "data" } };
if var("sg", "default") == "own" {
    opts.security_groups = [security_group(v, "nfs", #{})];
}
let fs = efs("shared", opts);
fs.access_point("sftp", #{ path: var("path", "/sftp"), uid: 1000, gid: 1000, permissions: "0750",
                           tags: #{ owner: var("owner", "data") } });
"#;

/// `bp ARGS`, which must succeed.
fn bp(m: &Moto, dir: &std::path::Path, args: &[&str]) -> String {
    m.bp(dir, args, 0)
}

fn efs_state(m: &Moto) -> Json {
    m.python_json(&["support:efs_state.py", &m.url])
}

#[test]
fn efs_lifecycle() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bp.rhai"), BP).unwrap();
    let d = dir.path();
    let out = bp(&m, d, &["plan", "bp.rhai"]);
    for want in [
        "+ efs.shared",
        "+ efs_mount_target.shared/private-a",
        "+ efs_mount_target.shared/private-b",
        "+ security_group.demo/shared-efs",
        "+ efs_access_point.shared/sftp",
    ] {
        assert!(out.contains(want), "plan lacks {want}:\n{out}");
    }
    bp(&m, d, &["apply", "bp.rhai", "--auto-approve"]);
    bp(&m, d, &["plan", "bp.rhai", "--detailed-exitcode"]);

    let s = efs_state(&m);
    let fs = &s["shared"];
    assert_eq!(fs["encrypted"], true, "{s}");
    assert_eq!(fs["throughput_mode"], "elastic");
    assert_eq!(fs["lifecycle"], serde_json::json!(["AFTER_30_DAYS"]));
    assert_eq!(fs["tags"]["team"], "data");
    assert_eq!(fs["tags"]["blueprint:protect"], "true");
    let targets = fs["mount_targets"].as_array().unwrap();
    assert_eq!(targets.len(), 2, "{s}");
    assert_eq!(targets[0]["subnet_cidr"], "10.0.10.0/24");
    assert_eq!(targets[1]["subnet_cidr"], "10.0.11.0/24");
    assert_eq!(
        targets[0]["rules"],
        serde_json::json!(["tcp:2049:10.0.0.0/16"])
    );
    assert_eq!(
        fs["access_points"],
        serde_json::json!([{ "path": "/sftp", "uid": 1000, "permissions": "0750" }])
    );

    // The throughput mode changes in place.
    let out = bp(&m, d, &["plan", "bp.rhai", "--var", "tp=bursting"]);
    assert!(out.contains("~ efs.shared"), "{out}");
    assert!(
        out.contains("throughput_mode: \"elastic\" -> \"bursting\""),
        "{out}"
    );
    bp(
        &m,
        d,
        &["apply", "bp.rhai", "--var", "tp=bursting", "--auto-approve"],
    );
    assert_eq!(efs_state(&m)["shared"]["throughput_mode"], "bursting");

    // The access point's tags change in place.
    let out = bp(
        &m,
        d,
        &[
            "plan",
            "bp.rhai",
            "--var",
            "tp=bursting",
            "--var",
            "owner=etl",
        ],
    );
    assert!(out.contains("~ efs_access_point.shared/sftp"), "{out}");
    bp(
        &m,
        d,
        &[
            "apply",
            "bp.rhai",
            "--var",
            "tp=bursting",
            "--var",
            "owner=etl",
            "--auto-approve",
        ],
    );
    bp(
        &m,
        d,
        &[
            "plan",
            "bp.rhai",
            "--var",
            "tp=bursting",
            "--var",
            "owner=etl",
            "--detailed-exitcode",
        ],
    );

    // A new path is a new access point, and the plan says why.
    let args = ["--var", "tp=bursting", "--var", "path=/exchange"];
    let out = bp(&m, d, &[&["plan", "bp.rhai"][..], &args].concat());
    assert!(
        out.contains(
            "-/+ efs_access_point.shared/sftp  (replace: EFS cannot change an access point)"
        ),
        "{out}"
    );
    bp(
        &m,
        d,
        &[&["apply", "bp.rhai", "--auto-approve"][..], &args].concat(),
    );
    bp(
        &m,
        d,
        &[&["plan", "bp.rhai", "--detailed-exitcode"][..], &args].concat(),
    );
    let s = efs_state(&m);
    assert_eq!(s["shared"]["access_points"][0]["path"], "/exchange", "{s}");
    assert_eq!(s["shared"]["access_points"].as_array().unwrap().len(), 1);

    // The Infrequent Access transition and the mount targets' groups
    // change in place; the group Blueprint made for them goes.
    let args = [&args[..], &["--var", "ia=60", "--var", "sg=own"]].concat();
    let out = bp(&m, d, &[&["plan", "bp.rhai"][..], &args].concat());
    assert!(out.contains("ia_after_days: 30 -> 60"), "{out}");
    assert!(out.contains("~ efs_mount_target.shared/private-a"), "{out}");
    assert!(out.contains("- security_group.demo/shared-efs"), "{out}");
    assert!(out.contains("0 to replace"), "{out}");
    bp(
        &m,
        d,
        &[&["apply", "bp.rhai", "--auto-approve"][..], &args].concat(),
    );
    bp(
        &m,
        d,
        &[&["plan", "bp.rhai", "--detailed-exitcode"][..], &args].concat(),
    );
    let s = efs_state(&m);
    assert_eq!(
        s["shared"]["lifecycle"],
        serde_json::json!(["AFTER_60_DAYS"]),
        "{s}"
    );
    assert_eq!(
        s["shared"]["mount_targets"][0]["rules"],
        serde_json::json!([]),
        "{s}"
    );

    // Destroy keeps the file system (protected) and removes the rest.
    let out = bp(
        &m,
        d,
        &[&["destroy", "bp.rhai", "--auto-approve"][..], &args].concat(),
    );
    assert!(out.contains("Protected, left in place"), "{out}");
    assert!(out.contains("  efs.shared\n"), "{out}");
    let s = efs_state(&m);
    assert_eq!(s["shared"]["mount_targets"], serde_json::json!([]), "{s}");
    assert_eq!(s["shared"]["access_points"], serde_json::json!([]), "{s}");
}

#[test]
fn efs_mistakes_are_refused_before_any_call() {
    let vpc = r#"let v = vpc("demo", #{ cidr: "10.0.0.0/16", azs: 2, public_subnets: ["10.0.1.0/24", "10.0.2.0/24"], private_subnets: ["10.0.10.0/24", "10.0.11.0/24"] });"#;
    let cases = [
        (
            r#"let a = subnet(v, "x", #{ cidr: "10.0.20.0/24", az: "us-east-1a" }); efs("fs", #{ vpc: v, subnets: [v.private_subnets[0], a] });"#,
            "EFS takes one mount target per zone",
        ),
        (
            r#"efs("fs", #{ vpc: v, subnets: v.private_subnets, performance_mode: "maxIO", throughput_mode: "elastic" });"#,
            "elastic throughput goes with the generalPurpose performance mode only",
        ),
        (
            r#"efs("fs", #{ vpc: v, subnets: v.private_subnets, ia_after_days: 45 });"#,
            "EFS takes 1, 7, 14, 30, 60, 90, 180, 270 or 365",
        ),
        (
            r#"efs("fs", #{ vpc: v, subnets: v.private_subnets, encrypted: false, kms_key: kms_key("k", #{}) });"#,
            "a kms_key needs encrypted: true",
        ),
        (
            r#"let fs = efs("fs", #{ vpc: v, subnets: v.private_subnets }); fs.access_point("a", #{ path: "/x", uid: 1, gid: 1, permissions: "0789" });"#,
            "is not an octal mode",
        ),
    ];
    for (script, want) in cases {
        Test::new()
            .file("bp.rhai", &format!("{vpc}\n{script}"))
            .args(["check", "bp.rhai"])
            .status(1)
            .stderr_contains(want)
            .stderr_contains("bp.rhai:2:")
            .run();
    }
}
