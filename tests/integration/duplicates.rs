//! Two resources owned at one address (a create that AWS made twice, its
//! first answer lost): plans delete the one nothing uses as a duplicate,
//! and destroy deletes both. Made with boto3 against the emulator.

use crate::moto::Moto;

const BP: &str = r#"
vpc("d", #{ cidr: "10.12.0.0/16", azs: 1, public_subnets: ["10.12.1.0/24"], private_subnets: ["10.12.2.0/24"] });
"#;

/// A second elastic IP with the same ownership tags as the NAT gateway's.
fn duplicate_eip(m: &Moto) -> String {
    let script = format!(
        "import boto3, json\n\
ec2 = {}\n\
a = [x for x in ec2.describe_addresses()['Addresses'] if any(t['Key'] == 'blueprint:name' for t in x.get('Tags', []))][0]\n\
tags = [t for t in a['Tags']]\n\
dup = ec2.allocate_address(Domain='vpc', TagSpecifications=[{{'ResourceType': 'elastic-ip', 'Tags': tags}}])['AllocationId']\n\
print(json.dumps(dup))",
        m.boto3("ec2")
    );
    m.python_json(&["-c", &script])
        .as_str()
        .unwrap()
        .to_string()
}

fn addresses(m: &Moto) -> usize {
    let script = format!(
        "import boto3, json\nprint(json.dumps(len({}.describe_addresses()['Addresses'])))",
        m.boto3("ec2")
    );
    m.python_json(&["-c", &script]).as_u64().unwrap() as usize
}

#[test]
fn a_duplicate_is_planned_away_and_destroy_deletes_every_copy() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bp.rhai"), BP).unwrap();
    let d = dir.path();
    m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 0);
    let dup = duplicate_eip(&m);
    assert_eq!(addresses(&m), 2);

    let out = m.bp(d, &["plan", "bp.rhai"], 0);
    assert!(
        out.contains(&format!("- elastic_ip.d/nat-a~{dup}")),
        "{out}"
    );
    assert!(out.contains("a duplicate of eipalloc-"), "{out}");
    assert!(
        out.contains("Plan: 0 to add, 0 to change, 0 to replace, 1 to destroy."),
        "{out}"
    );

    // Destroy deletes both, not one of them.
    let out = m.bp(d, &["destroy", "bp.rhai", "--auto-approve"], 0);
    assert!(out.contains(&dup), "{out}");
    assert_eq!(addresses(&m), 0, "{out}");
}

/// The elastic IP once left behind by a destroy that reported success: 50
/// rounds of apply and destroy of a NAT gateway and its elastic IP through
/// the fault proxy (10% of requests failing, 20% of creates losing their
/// answer) leave no address behind, ever.
#[test]
fn fifty_destroys_under_faults_leave_no_elastic_ip() {
    let m = Moto::start();
    let proxy = crate::moto::FaultProxy::start(&m, 7, 0.1, 0.2);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bp.rhai"), BP).unwrap();
    let d = dir.path();
    let run = |args: &[&str]| {
        for _ in 0..5 {
            let out = crate::harness::Test::new()
                .current_dir(d)
                .moto(&m)
                .env("AWS_ENDPOINT_URL", &proxy.url)
                .args(args.iter().copied())
                .any_status()
                .run();
            if out.status.success() {
                return;
            }
        }
        panic!("bp {args:?} failed five times in a row");
    };
    for round in 0..50 {
        run(&["apply", "bp.rhai", "--auto-approve"]);
        run(&["destroy", "bp.rhai", "--auto-approve"]);
        assert_eq!(addresses(&m), 0, "round {round}: an elastic IP is left");
    }
    assert!(
        proxy.faults().get("drop-after").copied().unwrap_or(0) > 10,
        "{:?}",
        proxy.faults()
    );
}
