//! EKS access entries (`c.access_entry(...)`) and the cluster's
//! authentication mode against the emulator, checked with boto3.

use crate::harness::Test;
use crate::moto::Moto;
use serde_json::Value as Json;

const BP: &str = r#"
let v = vpc("demo", #{ cidr: "10.0.0.0/16", azs: 2, private_subnets: ["10.0.10.0/24", "10.0.11.0/24"] });
let c = cluster("demo", #{ version: "1.32", vpc: v, subnets: v.private_subnets,
                           authentication_mode: var("mode", "API_AND_CONFIG_MAP") });
let admin = iam_role("demo-admin", #{ service: "ec2.amazonaws.com" });
c.access_entry(admin, #{ policies: [#{ policy: "AmazonEKSClusterAdminPolicy" }] });
if var("viewer", "yes") == "yes" {
    c.access_entry("arn:aws:iam::123456789012:role/team/viewer", #{
        kubernetes_groups: [var("group", "viewers")],
        policies: [#{ policy: "AmazonEKSViewPolicy", scope: [var("ns", "apps")] }],
    });
}
"#;

fn state(m: &Moto) -> Json {
    let script = format!(
        "import boto3, json\n\
eks = {}\n\
pol = lambda p: [(x['policyArn'].split('/')[-1], x['accessScope']) for x in eks.list_associated_access_policies(clusterName='demo', principalArn=p)['associatedAccessPolicies']]\n\
entry = lambda p: eks.describe_access_entry(clusterName='demo', principalArn=p)['accessEntry']\n\
entries = {{p.split(':')[-1]: {{'groups': entry(p)['kubernetesGroups'], 'policies': pol(p)}} for p in eks.list_access_entries(clusterName='demo')['accessEntries']}}\n\
print(json.dumps({{'mode': eks.describe_cluster(name='demo')['cluster']['accessConfig']['authenticationMode'], 'entries': entries}}))",
        m.boto3("eks")
    );
    m.python_json(&["-c", &script])
}

#[test]
fn access_entries_and_the_authentication_mode() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bp.rhai"), BP).unwrap();
    let d = dir.path();
    let out = m.bp(d, &["plan", "bp.rhai"], 0);
    assert!(out.contains("+ access_entry.demo/role/demo-admin"), "{out}");
    assert!(
        out.contains("+ access_entry.demo/role/team/viewer"),
        "{out}"
    );
    // An entry made outside the blueprint (as EKS makes one for the
    // cluster's creator) is taken over when declared.
    m.bp(
        d,
        &["apply", "bp.rhai", "--auto-approve", "--var", "viewer=no"],
        0,
    );
    let made = format!(
        "import boto3\n{}.create_access_entry(clusterName='demo', principalArn='arn:aws:iam::123456789012:role/team/viewer', kubernetesGroups=['old'])",
        m.boto3("eks")
    );
    m.python(&["-c", &made]);
    m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 0);
    m.bp(d, &["plan", "bp.rhai", "--detailed-exitcode"], 0);
    let s = state(&m);
    assert_eq!(s["mode"], "API_AND_CONFIG_MAP", "{s}");
    assert_eq!(
        s["entries"]["role/blueprint/bp/demo-admin"]["policies"],
        serde_json::json!([["AmazonEKSClusterAdminPolicy", { "type": "cluster" }]]),
        "{s}"
    );
    let viewer = &s["entries"]["role/team/viewer"];
    assert_eq!(viewer["groups"], serde_json::json!(["viewers"]));
    assert_eq!(
        viewer["policies"],
        serde_json::json!([["AmazonEKSViewPolicy", { "type": "namespace", "namespaces": ["apps"] }]])
    );

    // Groups and scopes change in place.
    let change = ["--var", "group=auditors", "--var", "ns=web"];
    let out = m.bp(d, &[&["plan", "bp.rhai"][..], &change].concat(), 0);
    assert!(
        out.contains("~ access_entry.demo/role/team/viewer"),
        "{out}"
    );
    assert!(out.contains("0 to add, 1 to change, 0 to replace"), "{out}");
    m.bp(
        d,
        &[&["apply", "bp.rhai", "--auto-approve"][..], &change].concat(),
        0,
    );
    m.bp(
        d,
        &[&["plan", "bp.rhai", "--detailed-exitcode"][..], &change].concat(),
        0,
    );
    let viewer = state(&m)["entries"]["role/team/viewer"].clone();
    assert_eq!(viewer["groups"], serde_json::json!(["auditors"]));
    assert_eq!(
        viewer["policies"][0][1]["namespaces"],
        serde_json::json!(["web"])
    );

    // The mode moves forward in place, and never back.
    let api = [&change[..], &["--var", "mode=API", "--var", "viewer=no"]].concat();
    let out = m.bp(d, &[&["plan", "bp.rhai"][..], &api].concat(), 0);
    assert!(
        out.contains("authentication_mode: \"API_AND_CONFIG_MAP\" -> \"API\""),
        "{out}"
    );
    assert!(
        out.contains("- access_entry.demo/role/team/viewer"),
        "{out}"
    );
    m.bp(
        d,
        &[&["apply", "bp.rhai", "--auto-approve"][..], &api].concat(),
        0,
    );
    let s = state(&m);
    assert_eq!(s["mode"], "API");
    assert_eq!(s["entries"].as_object().unwrap().len(), 1, "{s}");
    let out = m.bp(
        d,
        &[
            "plan",
            "bp.rhai",
            "--var",
            "mode=API_AND_CONFIG_MAP",
            "--var",
            "viewer=no",
        ],
        1,
    );
    assert!(
        out.contains("API -> API_AND_CONFIG_MAP goes back; EKS only moves CONFIG_MAP -> API_AND_CONFIG_MAP -> API"),
        "{out}"
    );
}

#[test]
fn access_entry_mistakes_are_refused_before_any_call() {
    let base = r#"let v = vpc("demo", #{ cidr: "10.0.0.0/16", azs: 2, private_subnets: ["10.0.10.0/24", "10.0.11.0/24"] });"#;
    for (script, want) in [
        (
            r#"let c = cluster("demo", #{ version: "1.32", vpc: v, subnets: v.private_subnets, authentication_mode: "CONFIG_MAP" }); c.access_entry("arn:aws:iam::1:role/x", #{});"#,
            "uses authentication_mode CONFIG_MAP, which has no access entries",
        ),
        (
            r#"let c = cluster("demo", #{ version: "1.32", vpc: v, subnets: v.private_subnets }); c.access_entry("arn:aws:iam::1:role/x", #{ policies: [#{ policy: "arn:aws:iam::aws:policy/AdministratorAccess" }] });"#,
            "is not an EKS access policy",
        ),
        (
            r#"let c = cluster("demo", #{ version: "1.32", vpc: v, subnets: v.private_subnets }); c.access_entry("admin", #{});"#,
            "access_entry takes an iam_role handle or a principal ARN",
        ),
    ] {
        Test::new()
            .file("bp.rhai", &format!("{base}\n{script}"))
            .args(["check", "bp.rhai"])
            .status(1)
            .stderr_contains(want)
            .stderr_contains("bp.rhai:2:")
            .run();
    }
}
