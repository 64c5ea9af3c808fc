//! Changes to a cluster that EKS makes in place.

use crate::moto::Moto;

const BP: &str = r#"
let v = vpc("demo", #{ cidr: "10.0.0.0/16", azs: 2, private_subnets: ["10.0.11.0/24", "10.0.12.0/24"] });
let keys = #{ first: kms_key("first", #{}), second: kms_key("second", #{}) };
let o = #{ version: "1.35", vpc: v, subnets: v.private_subnets, irsa: false };
let key = var("key", "none");
if key != "none" { o.secrets_key = keys[key]; }
cluster("demo", o);
"#;

/// A secrets key for a cluster that has none is associated in place
/// (EKS AssociateEncryptionConfig), as BP002's fix asks; changing it
/// afterwards is a replacement, which EKS allows no other way; no longer
/// declaring it changes nothing (EKS cannot remove one). Checked with boto3.
#[test]
fn a_secrets_key_is_added_in_place_and_only_replaced_after() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bp.rhai"), BP).unwrap();
    let d = dir.path();
    m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 0);

    let out = m.bp(d, &["plan", "bp.rhai", "--var", "key=first"], 0);
    assert!(
        out.contains(
            "  ~ cluster.demo  (demo)  # declared\n      secrets_key: null -> \"arn:aws:kms:"
        ),
        "{out}"
    );
    assert!(!out.contains("forces replacement"), "{out}");
    assert!(
        out.contains("Plan: 0 to add, 1 to change, 0 to replace, 0 to destroy."),
        "{out}"
    );
    let out = m.bp(
        d,
        &["apply", "bp.rhai", "--auto-approve", "--var", "key=first"],
        0,
    );
    assert!(
        out.contains("Apply complete: 0 created, 1 updated, 0 deleted."),
        "{out}"
    );
    let out = m.bp(d, &["plan", "bp.rhai", "--var", "key=first"], 0);
    assert!(out.contains("No changes."), "{out}");

    let keys = m.python_json(&[
        "-c",
        &format!(
            "import boto3, json\neks = {}\nc = eks.describe_cluster(name='demo')['cluster']\n\
print(json.dumps({{'cluster': [e['provider']['keyArn'] for e in c.get('encryptionConfig', [])]}}))",
            m.boto3("eks")
        ),
    ]);
    assert_eq!(keys["cluster"].as_array().unwrap().len(), 1, "{keys}");

    let out = m.bp(d, &["plan", "bp.rhai", "--var", "key=second"], 0);
    assert!(
        out.contains(
            "  -/+ cluster.demo  (replace: a cluster's secrets key cannot be changed once set)"
        ),
        "{out}"
    );
    // EKS cannot remove a key: dropping it from the blueprint changes nothing.
    let out = m.bp(d, &["plan", "bp.rhai"], 0);
    assert!(out.contains("No changes."), "{out}");
}
