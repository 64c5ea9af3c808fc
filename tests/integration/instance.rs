//! EC2 hosts (`instance(...)`) through the lifecycle against the emulator,
//! checked independently with boto3: the AMI alias resolved through SSM,
//! the instance profile carrying the role, IMDSv2, the root volume, an
//! in-place type change and a replacement for new user data.

use crate::harness::Test;
use crate::moto::Moto;
use serde_json::Value as Json;

const BP: &str = r##"
let v = vpc("demo", #{ cidr: "10.0.0.0/16", azs: 2,
    public_subnets: ["10.0.1.0/24", "10.0.2.0/24"], private_subnets: ["10.0.10.0/24", "10.0.11.0/24"] });
let sg = security_group(v, "sftp", #{ ingress: [rule(#{ protocol: "tcp", port: 22, cidr: "203.0.113.0/24" })] });
let mgmt = security_group(v, "mgmt", #{});
let role = iam_role("sftp", #{ service: "ec2.amazonaws.com" });
instance("sftp", #{ subnet: v.public_subnets[0], instance_type: var("type", "t3.small"), ami: "al2023",
    security_groups: if var("sgs", "one") == "two" { [sg, mgmt] } else { [sg] },
    metadata_v2_required: var("imds", "required") == "required", role: role, public_ip: true,
    user_data: "#!/bin/bash\necho " + var("msg", "hello") + "\n",
    root_volume: #{ size_gb: 30 }, tags: #{ service: "sftp" } });
"##;

fn state(m: &Moto) -> Json {
    m.python_json(&["support:ec2_state.py", &m.url, "bp"])
}

#[test]
fn instance_lifecycle() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bp.rhai"), BP).unwrap();
    let d = dir.path();
    let out = m.bp(d, &["plan", "bp.rhai"], 0);
    assert!(out.contains("+ instance.sftp"), "{out}");
    assert!(out.contains("+ instance_profile.sftp"), "{out}");
    m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 0);
    m.bp(d, &["plan", "bp.rhai", "--detailed-exitcode"], 0);

    let s = state(&m);
    let i = &s["instances"]["sftp"];
    assert_eq!(i["state"], "running", "{s}");
    assert_eq!(
        i["image"], s["al2023"],
        "the al2023 alias resolves through SSM"
    );
    assert_eq!(i["type"], "t3.small");
    assert_eq!(i["subnet_cidr"], "10.0.1.0/24");
    assert_eq!(i["groups"], 1);
    assert_eq!(i["imds_v2"], true);
    assert_eq!(i["public_ip"], true);
    assert_eq!(i["user_data"], "#!/bin/bash\necho hello\n");
    assert_eq!(i["role"], "sftp");
    assert_eq!(i["root"]["size"], 30);
    assert_eq!(i["root"]["encrypted"], true);
    assert_eq!(i["root"]["type"], "gp3");
    assert_eq!(i["tags"]["service"], "sftp");
    assert_eq!(i["tags"]["blueprint:ami"], "al2023");
    let first = i["id"].clone();

    // A stopped host has no public address, and is not replaced for it.
    let stop = format!(
        "import boto3\n{}.stop_instances(InstanceIds=['{}'])",
        m.boto3("ec2"),
        first.as_str().unwrap()
    );
    m.python(&["-c", &stop]);
    assert_eq!(state(&m)["instances"]["sftp"]["public_ip"], false);
    m.bp(d, &["plan", "bp.rhai", "--detailed-exitcode"], 0);

    // A new type is an in-place change of the same instance.
    let out = m.bp(d, &["plan", "bp.rhai", "--var", "type=t3.medium"], 0);
    assert!(
        out.contains("instance_type: \"t3.small\" -> \"t3.medium\""),
        "{out}"
    );
    assert!(out.contains("0 to add, 1 to change, 0 to replace"), "{out}");
    m.bp(
        d,
        &[
            "apply",
            "bp.rhai",
            "--var",
            "type=t3.medium",
            "--auto-approve",
        ],
        0,
    );
    let s = state(&m);
    assert_eq!(s["instances"]["sftp"]["id"], first);
    assert_eq!(s["instances"]["sftp"]["type"], "t3.medium");
    assert_eq!(s["instances"]["sftp"]["state"], "running");

    // Security groups and IMDSv2 change in place too.
    let more = [
        "--var",
        "type=t3.medium",
        "--var",
        "imds=optional",
        "--var",
        "sgs=two",
    ];
    let out = m.bp(d, &[&["plan", "bp.rhai"][..], &more].concat(), 0);
    assert!(out.contains("metadata_v2_required: true -> false"), "{out}");
    assert!(out.contains("0 to add, 1 to change, 0 to replace"), "{out}");
    m.bp(
        d,
        &[&["apply", "bp.rhai", "--auto-approve"][..], &more].concat(),
        0,
    );
    m.bp(
        d,
        &[&["plan", "bp.rhai", "--detailed-exitcode"][..], &more].concat(),
        0,
    );
    let s = state(&m);
    assert_eq!(s["instances"]["sftp"]["id"], first);
    assert_eq!(s["instances"]["sftp"]["imds_v2"], false);
    assert_eq!(s["instances"]["sftp"]["groups"], 2);

    // New user data replaces it, and says why.
    let args = ["--var", "type=t3.medium", "--var", "msg=bye"];
    let out = m.bp(d, &[&["plan", "bp.rhai"][..], &args].concat(), 0);
    assert!(
        out.contains("+/- instance.sftp  (replace, the new one first: user data runs at first boot: a change needs a new instance)"),
        "{out}"
    );
    let out = m.bp(
        d,
        &[&["apply", "bp.rhai", "--auto-approve"][..], &args].concat(),
        0,
    );
    let created = out.find("+ instance.sftp: created").expect("created");
    let deleting = out.find("- instance.sftp: deleting").expect("deleting");
    assert!(created < deleting, "the new instance first: {out}");
    m.bp(
        d,
        &[&["plan", "bp.rhai", "--detailed-exitcode"][..], &args].concat(),
        0,
    );
    let s = state(&m);
    let i = &s["instances"]["sftp"];
    assert_ne!(i["id"], first, "{s}");
    assert_eq!(i["user_data"], "#!/bin/bash\necho bye\n");
    assert_eq!(s["instances"].as_object().unwrap().len(), 1);

    m.bp(
        d,
        &[&["destroy", "bp.rhai", "--auto-approve"][..], &args].concat(),
        0,
    );
    assert_eq!(state(&m)["instances"], serde_json::json!({}));
    assert_eq!(m.owned("bp")["instance_profile"], 0);
}

#[test]
fn instance_mistakes_and_gaps_are_explained() {
    let vpc = r#"let v = vpc("demo", #{ cidr: "10.0.0.0/16", azs: 2, public_subnets: ["10.0.1.0/24", "10.0.2.0/24"] });"#;
    for (script, want) in [
        (
            r#"instance("h", #{ subnet: v.public_subnets[0], instance_type: "t3.small", ami: "ubuntu" });"#,
            "`ubuntu` is not an AMI",
        ),
        (
            r#"instance("h", #{ subnet: v.public_subnets[0], instance_type: "large", ami: "al2023" });"#,
            "`large` is not an instance type",
        ),
    ] {
        Test::new()
            .file("bp.rhai", &format!("{vpc}\n{script}"))
            .args(["check", "bp.rhai"])
            .status(1)
            .stderr_contains(want)
            .stderr_contains("bp.rhai:2:")
            .run();
    }
    // The emulator has no Bottlerocket parameter: apply says what it could
    // not resolve and what to do instead.
    let m = Moto::start();
    Test::new()
        .file(
            "bp.rhai",
            &format!(
                "{vpc}\ninstance(\"h\", #{{ subnet: v.public_subnets[0], instance_type: \"t3.small\", ami: \"bottlerocket\" }});"
            ),
        )
        .moto(&m)
        .args(["apply", "bp.rhai", "--auto-approve"])
        .status(1)
        .stdout_contains("/aws/service/bottlerocket/aws-ecs-2/x86_64/latest/image_id, which this endpoint does not have; give an image id instead")
        .run();
}
