//! EKS Pod Identity: associations declared on a cluster, by a service
//! account whose role trusts Pod Identity, and by an add-on; the agent
//! add-on the first association brings; updates in place; destroy. Checked
//! with boto3 against the emulator (tests/support/awsemu serves Pod
//! Identity, which moto does not) and with the real kubectl.

use crate::harness::Test;
use crate::lifecycle::{bp, Emulators};
use crate::moto::Moto;
use serde_json::{json, Value};

const BLUEPRINT: &str = r#"
let net = vpc("pods", #{ cidr: "10.31.0.0/16", azs: 2, private_subnets: ["10.31.1.0/24", "10.31.2.0/24"] });
let c = cluster("platform", #{ version: "1.33", vpc: net, subnets: net.private_subnets });
let app = pod_identity_role("pods-app", #{ managed_policies: ["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"] });
let cni = pod_identity_role("pods-cni", #{ managed_policies: ["arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"] });
let legacy = c.irsa_role("pods-legacy", #{ namespace: "shop", service_account: "legacy" });
let ns = c.namespace("shop");
ns.service_account("orders", #{ role: app });
ns.service_account("legacy", #{ role: legacy });
c.pod_identity("shop", "reports", app, #{ target_role: var("target"), session_tags: false });
c.addon("vpc-cni", #{ pod_identity: [#{ service_account: "aws-node", role: cni }] });
"#;

/// Every association of cluster `platform`, with its details.
fn associations(m: &Moto) -> Value {
    m.python_json(&[
        "-c",
        &format!(
            "import boto3, json\n\
eks = {}\n\
ids = [a['associationId'] for a in eks.list_pod_identity_associations(clusterName='platform')['associations']]\n\
out = [eks.describe_pod_identity_association(clusterName='platform', associationId=i)['association'] for i in ids]\n\
print(json.dumps(sorted([{{k: a.get(k) for k in ('namespace', 'serviceAccount', 'roleArn', 'targetRoleArn', 'disableSessionTags', 'ownerArn')}} | {{'address': a['tags'].get('blueprint:address')}} for a in out], key=lambda a: a['serviceAccount'])))",
            m.boto3("eks")
        ),
    ])
}

#[test]
fn pod_identity_associations_apply_converge_change_in_place_and_go() {
    let emu = Emulators::start();
    let m = &emu.moto;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pods.rhai");
    std::fs::write(&file, BLUEPRINT).unwrap();
    let file = file.to_str().unwrap();
    let target = "target=arn:aws:iam::210987654321:role/reports";

    let plan = bp(&emu, &["plan", file], &[target]).run();
    let plan = String::from_utf8_lossy(&plan.stdout).into_owned();
    for line in [
        "  + pod_identity.platform/shop/orders\n",
        "  + pod_identity.platform/shop/reports\n",
        "  + eks_addon.platform/eks-pod-identity-agent\n",
    ] {
        assert!(plan.contains(line), "{line}\n{plan}");
    }
    bp(&emu, &["apply", file, "--auto-approve"], &[target]).run();
    bp(&emu, &["plan", file, "--detailed-exitcode"], &[target])
        .stdout_contains("No changes.")
        .run();

    let cni_owner = m.python_json(&[
        "-c",
        &format!(
            "import boto3, json\nprint(json.dumps({}.describe_addon(clusterName='platform', addonName='vpc-cni')['addon']['addonArn']))",
            m.boto3("eks")
        ),
    ]);
    let role = |name: &str| format!("arn:aws:iam::123456789012:role/blueprint/pods/{name}");
    assert_eq!(
        associations(m),
        json!([
            {"namespace": "kube-system", "serviceAccount": "aws-node", "roleArn": role("pods-cni"),
             "targetRoleArn": null, "disableSessionTags": false, "ownerArn": cni_owner, "address": null},
            {"namespace": "shop", "serviceAccount": "orders", "roleArn": role("pods-app"),
             "targetRoleArn": null, "disableSessionTags": false, "ownerArn": null,
             "address": "pod_identity.platform/shop/orders"},
            {"namespace": "shop", "serviceAccount": "reports", "roleArn": role("pods-app"),
             "targetRoleArn": "arn:aws:iam::210987654321:role/reports", "disableSessionTags": true,
             "ownerArn": null, "address": "pod_identity.platform/shop/reports"},
        ])
    );
    // The roles trust Pod Identity, with session tags; the agent runs.
    let trust = m.python_json(&[
        "-c",
        &format!(
            "import boto3, json\nprint(json.dumps({}.get_role(RoleName='pods-app')['Role']['AssumeRolePolicyDocument']))",
            m.boto3("iam")
        ),
    ]);
    assert_eq!(
        trust["Statement"][0]["Principal"]["Service"],
        "pods.eks.amazonaws.com"
    );
    assert_eq!(
        trust["Statement"][0]["Action"],
        json!(["sts:AssumeRole", "sts:TagSession"])
    );
    let addons = m.python_json(&[
        "-c",
        &format!(
            "import boto3, json\nprint(json.dumps(sorted({}.list_addons(clusterName='platform')['addons'])))",
            m.boto3("eks")
        ),
    ]);
    assert_eq!(addons, json!(["eks-pod-identity-agent", "vpc-cni"]));
    // In the cluster: the Pod Identity service account has no IRSA
    // annotation; the IRSA one has.
    let sa = |name: &str| {
        emu.kube
            .get_json(&["serviceaccount", name, "-n", "shop"])
            .pointer("/metadata/annotations/eks.amazonaws.com~1role-arn")
            .cloned()
    };
    assert_eq!(sa("orders"), None);
    assert_eq!(sa("legacy"), Some(json!(role("pods-legacy"))));

    // The target role and session tags change in place.
    let other = "target=arn:aws:iam::210987654321:role/reports-v2";
    let plan = bp(&emu, &["plan", file], &[other]).run();
    let plan = String::from_utf8_lossy(&plan.stdout).into_owned();
    assert!(
        plan.contains("  ~ pod_identity.platform/shop/reports")
            && plan.contains("target_role: \"arn:aws:iam::210987654321:role/reports\" -> \"arn:aws:iam::210987654321:role/reports-v2\"")
            && plan.contains("Plan: 0 to add, 1 to change, 0 to replace, 0 to destroy."),
        "{plan}"
    );
    bp(&emu, &["apply", file, "--auto-approve"], &[other]).run();
    assert_eq!(
        associations(m)[2]["targetRoleArn"],
        "arn:aws:iam::210987654321:role/reports-v2"
    );
    bp(&emu, &["plan", file, "--detailed-exitcode"], &[other]).run();

    // Pruned when no longer declared; the add-on's stays the add-on's.
    let fewer = BLUEPRINT.replace(
        "c.pod_identity(\"shop\", \"reports\", app, #{ target_role: var(\"target\"), session_tags: false });",
        "",
    );
    std::fs::write(dir.path().join("pods.rhai"), fewer).unwrap();
    bp(&emu, &["apply", file, "--auto-approve"], &[other])
        .stdout_contains("Apply complete: 0 created, 0 updated, 1 deleted.")
        .run();
    let left: Vec<Value> = associations(m)
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["serviceAccount"].clone())
        .collect();
    assert_eq!(left, [json!("aws-node"), json!("orders")]);

    bp(&emu, &["destroy", file, "--auto-approve"], &[other]).run();
    let clusters = m.python_json(&[
        "-c",
        &format!(
            "import boto3, json\nprint(json.dumps({}.list_clusters()['clusters']))",
            m.boto3("eks")
        ),
    ]);
    assert_eq!(clusters, json!([]));
}

#[test]
fn a_role_that_cannot_be_used_so_is_an_error_at_check() {
    let head = "let net = vpc(\"n\", #{ cidr: \"10.32.0.0/16\", azs: 2, private_subnets: [\"10.32.1.0/24\", \"10.32.2.0/24\"] });\nlet c = cluster(\"n\", #{ version: \"1.33\", vpc: net, subnets: net.private_subnets });\nlet pods = pod_identity_role(\"p\");\nlet irsa = c.irsa_role(\"i\", #{ namespace: \"a\", service_account: \"b\" });\nlet ec2 = iam_role(\"e\", #{ service: \"ec2.amazonaws.com\" });\n";
    let cases: &[(&str, &str)] = &[
        (
            "c.pod_identity(\"a\", \"b\", irsa);",
            "pod_identity: iam_role.i does not trust pods.eks.amazonaws.com (it is an IRSA role, assumed through the cluster's OIDC provider)",
        ),
        (
            "c.pod_identity(\"a\", \"b\", ec2);",
            "pod_identity: iam_role.e does not trust pods.eks.amazonaws.com",
        ),
        (
            "c.namespace(\"a\").service_account(\"b\", #{ role: pods, via: \"irsa\" });",
            "iam_role.p trusts pods.eks.amazonaws.com, not the cluster's OIDC provider: IRSA cannot use it",
        ),
        (
            "c.namespace(\"a\").service_account(\"b\", #{ role: irsa, via: \"pod_identity\" });",
            "does not trust pods.eks.amazonaws.com",
        ),
        (
            "c.namespace(\"a\").service_account(\"b\", #{ via: \"pod_identity\" });",
            "via: \"pod_identity\" says how the pods get a role, and no role is given",
        ),
        (
            "c.pod_identity(\"Shop\", \"b\", pods);",
            "`Shop` is not a Kubernetes namespace name",
        ),
        ("c.pod_identity(\"a\", \"b\", 42);", "takes an iam_role handle or a role ARN"),
        (
            "c.pod_identity(\"a\", \"b\", pods);\nc.pod_identity(\"a\", \"b\", pods);",
            "pod_identity.n/a/b is declared twice",
        ),
        (
            "c.addon(\"vpc-cni\", #{ pod_identity: [#{ service_account: \"aws-node\", role: ec2 }] });",
            "pod_identity of add-on vpc-cni: iam_role.e does not trust pods.eks.amazonaws.com",
        ),
    ];
    for (line, said) in cases {
        let out = Test::new()
            .file("b.rhai", &format!("{head}{line}\n"))
            .args(["check", "b.rhai"])
            .status(1)
            .run();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(said) && err.contains("b.rhai:6:"),
            "{line}: {err}"
        );
    }
    // Declared after an association added it, the agent add-on is the
    // script's own.
    let out = Test::new()
        .file(
            "b.rhai",
            &format!("{head}c.pod_identity(\"a\", \"b\", pods);\nc.addon(\"eks-pod-identity-agent\", #{{ version: \"v1.3.4-eksbuild.1\" }});\n"),
        )
        .args(["check", "b.rhai", "--json"])
        .run();
    let checked: Value = serde_json::from_slice(&out.stdout).unwrap();
    let agent = checked["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["address"] == "eks_addon.n/eks-pod-identity-agent")
        .collect::<Vec<_>>();
    assert_eq!(agent.len(), 1);
    assert_eq!(agent[0]["spec"]["version"], "v1.3.4-eksbuild.1");
}

/// On a cluster of others: the association is the blueprint's, found by
/// its tags on the next plan and deleted on destroy; no agent add-on is
/// added (the cluster and its add-ons are the platform's).
#[test]
fn an_association_on_an_existing_cluster_is_the_blueprints_alone() {
    let m = Moto::start();
    m.python(&[
        "-c",
        &format!(
            "import boto3\n\
ec2, eks, iam = {}, {}, {}\n\
vpc = ec2.create_vpc(CidrBlock='10.61.0.0/16')['Vpc']['VpcId']\n\
subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=c, AvailabilityZone=z)['Subnet']['SubnetId'] for c, z in [('10.61.1.0/24', 'us-east-1a'), ('10.61.2.0/24', 'us-east-1b')]]\n\
role = iam.create_role(RoleName='platform-eks', AssumeRolePolicyDocument='{{}}')['Role']['Arn']\n\
eks.create_cluster(name='platform', version='1.33', roleArn=role, resourcesVpcConfig={{'subnetIds': subnets}})",
            m.boto3("ec2"),
            m.boto3("eks"),
            m.boto3("iam")
        ),
    ]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("team.rhai"),
        "let app = pod_identity_role(\"team-app\");\nexisting_cluster(\"platform\").pod_identity(\"team\", \"app\", app);\n",
    )
    .unwrap();
    let d = dir.path();
    let plan = m.bp(d, &["plan", "team.rhai"], 0);
    assert!(
        plan.contains("  + pod_identity.platform/team/app\n") && !plan.contains("eks_addon"),
        "{plan}"
    );
    m.bp(d, &["apply", "team.rhai", "--auto-approve"], 0);
    let listed = || {
        m.python_json(&[
            "-c",
            &format!(
                "import boto3, json\nprint(json.dumps([(a['namespace'], a['serviceAccount']) for a in {}.list_pod_identity_associations(clusterName='platform')['associations']]))",
                m.boto3("eks")
            ),
        ])
    };
    assert_eq!(listed(), json!([["team", "app"]]));
    m.bp(d, &["plan", "team.rhai", "--detailed-exitcode"], 0);
    m.bp(d, &["destroy", "team.rhai", "--auto-approve"], 0);
    assert_eq!(
        listed(),
        json!([]),
        "the association went, the cluster stays"
    );

    // A service account that has an association of someone else's is
    // refused, naming it, and the association is left as it was.
    m.python(&[
        "-c",
        &format!(
            "import boto3\n{}.create_pod_identity_association(clusterName='platform', namespace='team', serviceAccount='app', roleArn='arn:aws:iam::123456789012:role/theirs')",
            m.boto3("eks")
        ),
    ]);
    let refused = m.bp(d, &["apply", "team.rhai", "--auto-approve"], 1);
    assert!(
        refused.contains("service account team/app of cluster platform has an association (")
            && refused.contains("that is not this blueprint's"),
        "{refused}"
    );
    assert_eq!(listed(), json!([["team", "app"]]));
    let role = m.python_json(&[
        "-c",
        &format!(
            "import boto3, json\neks = {}\na = eks.list_pod_identity_associations(clusterName='platform')['associations'][0]\nprint(json.dumps(eks.describe_pod_identity_association(clusterName='platform', associationId=a['associationId'])['association']['roleArn']))",
            m.boto3("eks")
        ),
    ]);
    assert_eq!(role, "arn:aws:iam::123456789012:role/theirs");
}

/// BP020: a service account wired by IRSA in a cluster that runs the Pod
/// Identity agent is a note, which `allow` silences; without the agent
/// there is none.
#[test]
fn irsa_beside_the_pod_identity_agent_is_a_lint_note() {
    let script = |agent: bool, allow: bool| {
        format!(
            "let net = vpc(\"n\", #{{ cidr: \"10.33.0.0/16\", azs: 2, private_subnets: [\"10.33.1.0/24\", \"10.33.2.0/24\"] }});\n\
let c = cluster(\"n\", #{{ version: \"1.33\", vpc: net, subnets: net.private_subnets }});\n\
{}\
let legacy = c.irsa_role(\"legacy\", #{{ namespace: \"shop\", service_account: \"legacy\" }});\n\
c.namespace(\"shop\").service_account(\"legacy\", #{{ role: legacy{} }});\n",
            if agent {
                "c.pod_identity(\"shop\", \"orders\", pod_identity_role(\"orders\"));\n"
            } else {
                ""
            },
            if allow {
                ", allow: #{ BP020: \"the pods run on Fargate\" }"
            } else {
                ""
            }
        )
    };
    let lint = |text: String| {
        let out = Test::new()
            .file("b.rhai", &text)
            .args(["lint", "b.rhai", "--format", "json"])
            .any_status()
            .run();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == "BP020")
            .map(|f| {
                (
                    f["message"].as_str().unwrap().to_string(),
                    f.get("suppressed").is_some_and(|s| !s.is_null()),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        lint(script(true, false)),
        [(
            "service account legacy gets its role by IRSA, and cluster n runs the Pod Identity agent"
                .to_string(),
            false
        )]
    );
    assert!(lint(script(false, false)).is_empty());
    assert_eq!(lint(script(true, true)).len(), 1);
    assert!(lint(script(true, true))[0].1, "allowed with its reason");
}
