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

const UPGRADE: &str = r#"
let v = vpc("up", #{ cidr: "10.0.0.0/16", azs: 2, private_subnets: ["10.0.11.0/24", "10.0.12.0/24"] });
let o = #{ version: var("k8s", "1.32"), vpc: v, subnets: v.private_subnets, irsa: false };
if var("allow", "") != "" { o.allow_upgrade_insights = [var("allow")]; }
cluster("up", o);
"#;

/// EKS's upgrade insights gate a version step: one in ERROR refuses the
/// plan, naming it and EKS's recommendation, unless the cluster allows it
/// by id; one in WARNING is shown under the change. The test plays EKS's
/// insight engine through the emulator (tests/support/awsemu).
#[test]
fn an_upgrade_insight_in_error_refuses_the_version_step() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bp.rhai"), UPGRADE).unwrap();
    let d = dir.path();
    m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 0);
    let insight = |id: &str, status: &str, name: &str| {
        let value = serde_json::json!({
            "name": name, "version": "1.33", "status": status,
            "reason": format!("{name} found in the audit log"),
            "recommendation": format!("stop using {name}"),
        })
        .to_string();
        m.python(&[
            "-c",
            &format!(
                "import boto3\neks = {}\neks.tag_resource(resourceArn=eks.describe_cluster(name='up')['cluster']['arn'], tags={{'awsemu:insight:{id}': {value:?}}})",
                m.boto3("eks")
            ),
        ]);
    };
    insight(
        "a1b2",
        "ERROR",
        "Deprecated APIs removed in Kubernetes v1.33",
    );
    insight("c3d4", "WARNING", "Kubelet version skew");
    // Nothing to step: nothing is read, nothing refused.
    m.bp(d, &["plan", "bp.rhai", "--detailed-exitcode"], 0);

    let refused = m.bp(d, &["plan", "bp.rhai", "--var", "k8s=1.33"], 1);
    assert!(
        refused.contains("the plan makes changes that are refused as declared:\n  cluster.up (version): upgrade insight \"Deprecated APIs removed in Kubernetes v1.33\" (a1b2) is ERROR: Deprecated APIs removed in Kubernetes v1.33 found in the audit log; EKS recommends: stop using Deprecated APIs removed in Kubernetes v1.33\n    = hint: fix it first, or accept it with allow_upgrade_insights: [\"a1b2\"] on the cluster"),
        "{refused}"
    );
    m.bp(
        d,
        &["apply", "bp.rhai", "--var", "k8s=1.33", "--auto-approve"],
        1,
    );
    let version = || {
        m.python_json(&[
            "-c",
            &format!(
                "import boto3, json\nprint(json.dumps({}.describe_cluster(name='up')['cluster']['version']))",
                m.boto3("eks")
            ),
        ])
    };
    assert_eq!(version(), "1.32", "nothing changed");

    let allowed = m.bp(
        d,
        &[
            "plan",
            "bp.rhai",
            "--var",
            "k8s=1.33",
            "--var",
            "allow=a1b2",
        ],
        0,
    );
    assert!(
        allowed.contains("      version: \"1.32\" -> \"1.33\"")
            && allowed.contains("(a1b2) is ERROR: Deprecated APIs removed in Kubernetes v1.33 found in the audit log; EKS recommends: stop using Deprecated APIs removed in Kubernetes v1.33 (accepted by allow_upgrade_insights)")
            && allowed.contains("upgrade insight \"Kubelet version skew\" (c3d4) is WARNING: Kubelet version skew found in the audit log"),
        "{allowed}"
    );
    m.bp(
        d,
        &[
            "apply",
            "bp.rhai",
            "--var",
            "k8s=1.33",
            "--var",
            "allow=a1b2",
            "--auto-approve",
        ],
        0,
    );
    assert_eq!(version(), "1.33");
    // The insights were not kept as tags.
    m.bp(
        d,
        &[
            "plan",
            "bp.rhai",
            "--var",
            "k8s=1.33",
            "--var",
            "allow=a1b2",
            "--detailed-exitcode",
        ],
        0,
    );
}

const AUTO: &str = r#"
let v = vpc("auto", #{ cidr: "10.0.0.0/16", azs: 2, private_subnets: ["10.0.11.0/24", "10.0.12.0/24"] });
let o = #{ version: "1.33", vpc: v, subnets: v.private_subnets, irsa: false };
let mode = var("auto", "on");
if mode == "on" { o.auto_mode = #{}; }
if mode == "system" { o.auto_mode = #{ node_pools: ["system"] }; }
if mode == "off" { o.auto_mode = #{ enabled: false }; }
let c = cluster("auto", o);
c.node_group("steady", #{ instance_types: ["m6i.large"], min: 1, max: 2, desired: 1 });
"#;

/// EKS Auto Mode: on at creation with its node role and the cluster role's
/// policies, its node pools changed and then turned off in place, the
/// three settings always sent together; a managed node group beside it,
/// as AWS allows. Checked with boto3.
#[test]
fn auto_mode_is_declared_changed_and_turned_off_in_place() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bp.rhai"), AUTO).unwrap();
    let d = dir.path();
    m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 0);
    let state = || {
        m.python_json(&[
            "-c",
            &format!(
                "import boto3, json\n\
eks, iam = {}, {}\n\
c = eks.describe_cluster(name='auto')['cluster']\n\
role = c['roleArn'].split('/')[-1]\n\
print(json.dumps({{'compute': c.get('computeConfig'), 'storage': c.get('storageConfig'), 'elb': c.get('kubernetesNetworkConfig', {{}}).get('elasticLoadBalancing'), 'policies': sorted(p['PolicyName'] for p in iam.list_attached_role_policies(RoleName=role)['AttachedPolicies']), 'trust': iam.get_role(RoleName=role)['Role']['AssumeRolePolicyDocument']['Statement'][0]['Action'], 'roles': sorted(r['RoleName'] for r in iam.list_roles()['Roles'])}}))",
                m.boto3("eks"),
                m.boto3("iam")
            ),
        ])
    };
    let s = state();
    assert_eq!(
        s["compute"],
        serde_json::json!({"enabled": true, "nodePools": ["general-purpose", "system"],
                           "nodeRoleArn": "arn:aws:iam::123456789012:role/blueprint/bp/auto-auto-nodes"}),
        "{s}"
    );
    assert_eq!(
        s["storage"],
        serde_json::json!({"blockStorage": {"enabled": true}})
    );
    assert_eq!(s["elb"], serde_json::json!({"enabled": true}));
    assert_eq!(
        s["policies"],
        serde_json::json!([
            "AmazonEKSBlockStoragePolicy",
            "AmazonEKSClusterPolicy",
            "AmazonEKSComputePolicy",
            "AmazonEKSLoadBalancingPolicy",
            "AmazonEKSNetworkingPolicy"
        ])
    );
    assert_eq!(
        s["trust"],
        serde_json::json!(["sts:AssumeRole", "sts:TagSession"])
    );
    m.bp(d, &["plan", "bp.rhai", "--detailed-exitcode"], 0);
    let cost = m.bp(d, &["cost", "bp.rhai"], 0);
    assert!(
        cost.contains("EKS Auto Mode: usage-billed, not estimated"),
        "{cost}"
    );

    let plan = m.bp(d, &["plan", "bp.rhai", "--var", "auto=system"], 0);
    assert!(
        plan.contains("  ~ cluster.auto  (auto)  # declared\n")
            && plan.contains(
                "auto_mode.node_pools: [\"general-purpose\", \"system\"] -> [\"system\"]"
            )
            && plan.contains("Plan: 0 to add, 1 to change, 0 to replace, 0 to destroy."),
        "{plan}"
    );
    m.bp(
        d,
        &["apply", "bp.rhai", "--var", "auto=system", "--auto-approve"],
        0,
    );
    assert_eq!(
        state()["compute"]["nodePools"],
        serde_json::json!(["system"])
    );

    let plan = m.bp(d, &["plan", "bp.rhai", "--var", "auto=off"], 0);
    assert!(
        plan.contains("auto_mode.enabled: true -> false")
            && plan.contains("  - iam_role.auto-auto-nodes"),
        "{plan}"
    );
    m.bp(
        d,
        &["apply", "bp.rhai", "--var", "auto=off", "--auto-approve"],
        0,
    );
    let s = state();
    assert_eq!(s["compute"], serde_json::json!({"enabled": false}), "{s}");
    assert_eq!(
        s["storage"],
        serde_json::json!({"blockStorage": {"enabled": false}})
    );
    m.bp(
        d,
        &[
            "plan",
            "bp.rhai",
            "--var",
            "auto=off",
            "--detailed-exitcode",
        ],
        0,
    );
}

#[test]
fn auto_mode_where_eks_refuses_it_is_an_error_at_check() {
    let cases: &[(&str, &str)] = &[
        (
            "version: \"1.28\", auto_mode: #{}",
            "EKS Auto Mode needs Kubernetes 1.29 or later, and cluster x is 1.28",
        ),
        (
            "version: \"1.33\", authentication_mode: \"CONFIG_MAP\", auto_mode: #{}",
            "EKS Auto Mode needs access entries, and cluster x uses authentication_mode CONFIG_MAP",
        ),
        (
            "version: \"1.33\", auto_mode: #{ node_pools: [\"gpu\"] }",
            "gpu",
        ),
    ];
    for (opts, said) in cases {
        let script = format!(
            "let v = vpc(\"x\", #{{ cidr: \"10.0.0.0/16\", azs: 2, private_subnets: [\"10.0.1.0/24\", \"10.0.2.0/24\"] }});\ncluster(\"x\", #{{ vpc: v, subnets: v.private_subnets, {opts} }});\n"
        );
        let out = crate::harness::Test::new()
            .file("b.rhai", &script)
            .args(["check", "b.rhai"])
            .status(1)
            .run();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(said) && err.contains("b.rhai:2:"),
            "{opts}: {err}"
        );
    }
}

/// Where upgrade insights cannot be read (plain moto serves no ListInsights,
/// as an account without the permission would not), the step is planned and
/// the plan says what it could not check.
#[test]
fn upgrade_insights_that_cannot_be_read_leave_a_note() {
    let m = Moto::start_plain();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bp.rhai"), UPGRADE).unwrap();
    let d = dir.path();
    m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 0);
    let plan = m.bp(d, &["plan", "bp.rhai", "--var", "k8s=1.33"], 0);
    assert!(
        plan.contains("      version: \"1.32\" -> \"1.33\"")
            && plan.contains("the upgrade insights for Kubernetes 1.33 could not be read")
            && plan.contains("check them before applying"),
        "{plan}"
    );
}
