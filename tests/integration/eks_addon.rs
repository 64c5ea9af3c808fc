//! EKS add-ons (`c.addon(...)`) against the emulator: created at EKS's
//! default version for the cluster's Kubernetes, or at a declared one;
//! version, role and configuration changed in place; checked with boto3.

use crate::moto::Moto;
use serde_json::Value as Json;

const BP: &str = r#"
let v = vpc("demo", #{ cidr: "10.0.0.0/16", azs: 2, private_subnets: ["10.0.10.0/24", "10.0.11.0/24"] });
let c = cluster("demo", #{ version: "1.32", vpc: v, subnets: v.private_subnets });
c.node_group("app", #{ instance_types: ["m6i.large"], min: 1, max: 3, desired: 1 });
c.addon("kube-proxy");
if var("dns", "no") == "yes" {
    c.addon("coredns");
}
c.addon("vpc-cni", #{ version: var("cni", "v1.19.2-eksbuild.1") });
let role = c.irsa_role("ebs-csi", #{ namespace: "kube-system", service_account: "ebs-csi-controller-sa" });
c.addon("aws-ebs-csi-driver", #{ service_account_role: role,
    configuration: #{ controller: #{ replicaCount: parse_int(var("replicas", "2")),
                                     serviceAccount: #{ annotations: #{ "eks.amazonaws.com/role-arn": role.arn } } } } });
"#;

fn addons(m: &Moto) -> Json {
    let code = format!(
        "import boto3, json\n\
eks = {}\n\
d = lambda n: eks.describe_addon(clusterName='demo', addonName=n)['addon']\n\
out = {{n: {{'version': d(n)['addonVersion'], 'role': d(n).get('serviceAccountRoleArn'), 'config': json.loads(d(n).get('configurationValues') or 'null')}} for n in eks.list_addons(clusterName='demo')['addons']}}\n\
print(json.dumps(out))",
        m.boto3("eks")
    );
    m.python_json(&["-c", &code])
}

/// `bp ARGS`, which must succeed.
fn bp(m: &Moto, dir: &std::path::Path, args: &[&str]) -> String {
    m.bp(dir, args, 0)
}

#[test]
fn addons_follow_the_cluster_or_their_declared_version() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bp.rhai"), BP).unwrap();
    let d = dir.path();
    bp(&m, d, &["apply", "bp.rhai", "--auto-approve"]);
    bp(&m, d, &["plan", "bp.rhai", "--detailed-exitcode"]);
    let a = addons(&m);
    assert_eq!(a["kube-proxy"]["version"], "v1.32.0-eksbuild.1", "{a}");
    assert_eq!(a["vpc-cni"]["version"], "v1.19.2-eksbuild.1");
    assert!(a["aws-ebs-csi-driver"]["role"]
        .as_str()
        .unwrap()
        .ends_with("/ebs-csi"));
    assert_eq!(
        a["aws-ebs-csi-driver"]["config"]["controller"]["replicaCount"],
        2
    );
    // Outputs of other resources in the configuration are sent resolved.
    assert_eq!(
        a["aws-ebs-csi-driver"]["config"]["controller"]["serviceAccount"]["annotations"]
            ["eks.amazonaws.com/role-arn"],
        a["aws-ebs-csi-driver"]["role"],
        "{a}"
    );

    // An add-on installed outside the blueprint is taken over when declared.
    let made = format!("import boto3\n{}.create_addon(clusterName='demo', addonName='coredns', addonVersion='v1.11.4-eksbuild.2')", m.boto3("eks"));
    m.python(&["-c", &made]);
    bp(
        &m,
        d,
        &["apply", "bp.rhai", "--auto-approve", "--var", "dns=yes"],
    );
    bp(
        &m,
        d,
        &["plan", "bp.rhai", "--detailed-exitcode", "--var", "dns=yes"],
    );
    assert_eq!(m.owned("bp")["eks_addon"], 4);

    let change = [
        "--var",
        "cni=v1.18.6-eksbuild.1",
        "--var",
        "replicas=3",
        "--var",
        "dns=yes",
    ];
    let out = bp(&m, d, &[&["plan", "bp.rhai"][..], &change].concat());
    assert!(
        out.contains("version: \"v1.19.2-eksbuild.1\" -> \"v1.18.6-eksbuild.1\""),
        "{out}"
    );
    assert!(out.contains("~ eks_addon.demo/aws-ebs-csi-driver"), "{out}");
    assert!(out.contains("0 to add, 2 to change, 0 to replace"), "{out}");
    bp(
        &m,
        d,
        &[&["apply", "bp.rhai", "--auto-approve"][..], &change].concat(),
    );
    bp(
        &m,
        d,
        &[&["plan", "bp.rhai", "--detailed-exitcode"][..], &change].concat(),
    );
    let a = addons(&m);
    assert_eq!(a["vpc-cni"]["version"], "v1.18.6-eksbuild.1");
    assert_eq!(
        a["aws-ebs-csi-driver"]["config"]["controller"]["replicaCount"],
        3
    );

    // A removed add-on is deleted; destroy leaves none.
    let out = bp(&m, d, &["plan", "bp.rhai", "--var", "dns=no"]);
    assert!(out.contains("- eks_addon.demo/coredns"), "{out}");
    bp(
        &m,
        d,
        &["apply", "bp.rhai", "--auto-approve", "--var", "dns=no"],
    );
    assert!(addons(&m).get("coredns").is_none());
    bp(&m, d, &["destroy", "bp.rhai", "--auto-approve"]);
    assert_eq!(m.owned("bp")["eks_addon"], 0);
}

const CONFIGURED: &str = r#"
let v = vpc("conf", #{ cidr: "10.0.0.0/16", azs: 2, private_subnets: ["10.0.10.0/24", "10.0.11.0/24"] });
let c = cluster("conf", #{ version: "1.33", vpc: v, subnets: v.private_subnets, irsa: false });
let dns = parse_json(var("dns", "{}"));
let cni = parse_json(var("cni", "{}"));
c.addon("coredns", #{ configuration: dns });
c.addon("vpc-cni", #{ version: "v1.19.2-eksbuild.1", configuration: cni });
"#;

/// An add-on's configuration is checked against the JSON Schema EKS
/// publishes for its version before any change: a wrong value is an error
/// at the line that declares it, naming the path and the rule. `bp check`
/// says it could not check. The schemas are the emulator's, shaped like
/// EKS's (tests/support/awsemu).
#[test]
fn an_addon_configuration_that_does_not_fit_eks_schema_is_refused_when_planning() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bp.rhai"), CONFIGURED).unwrap();
    let d = dir.path();
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "dns={\"replicaCount\": \"three\"}",
            "the configuration of add-on coredns v1.12.1-eksbuild.2 does not fit EKS's schema for it:",
            &["at /replicaCount: \"three\" is not of type \"integer\" (rule /properties/replicaCount/type)", "bp.rhai:6:3"],
        ),
        (
            "dns={\"replicas\": 3}",
            "the configuration of add-on coredns",
            &["at /: Additional properties are not allowed ('replicas' was unexpected)"],
        ),
        (
            "cni={\"env\": {\"WARM_IP_TARGET\": 5, \"ENABLE_PREFIX_DELEGATION\": \"yes\"}}",
            "the configuration of add-on vpc-cni v1.19.2-eksbuild.1 does not fit EKS's schema for it:",
            &[
                "at /env/WARM_IP_TARGET: 5 is not of type \"string\"",
                "at /env/ENABLE_PREFIX_DELEGATION: \"yes\" is not one of [\"true\",\"false\"]",
                "bp.rhai:7:3",
                "= hint: the schema: aws eks describe-addon-configuration --addon-name vpc-cni --addon-version v1.19.2-eksbuild.1",
            ],
        ),
    ];
    for (var, said, more) in cases {
        let out = m.bp(d, &["plan", "bp.rhai", "--var", var], 1);
        assert!(out.contains(said), "{var}: {out}");
        for m in *more {
            assert!(out.contains(m), "{var}: {m}\n{out}");
        }
    }
    // Nothing was made.
    let clusters = m.python_json(&[
        "-c",
        &format!(
            "import boto3, json\nprint(json.dumps({}.list_clusters()['clusters']))",
            m.boto3("eks")
        ),
    ]);
    assert_eq!(clusters, serde_json::json!([]));
    // What fits is applied.
    let good = [
        "--var",
        "dns={\"replicaCount\": 3, \"autoScaling\": {\"enabled\": true, \"minReplicas\": 2, \"maxReplicas\": 6}}",
        "--var",
        "cni={\"env\": {\"ENABLE_PREFIX_DELEGATION\": \"true\", \"WARM_PREFIX_TARGET\": \"1\"}}",
    ];
    let mut args = vec!["apply", "bp.rhai", "--auto-approve"];
    args.extend(good);
    m.bp(d, &args, 0);
    // bp check reads no AWS, and says so.
    let out = m.bp(
        d,
        &[
            "check",
            "bp.rhai",
            "--var",
            "dns={\"replicaCount\": \"three\"}",
        ],
        0,
    );
    assert!(
        out.contains("note: the configuration of EKS add-ons against EKS's schema could not be checked: bp check reads no AWS; plan checks it"),
        "{out}"
    );
}
