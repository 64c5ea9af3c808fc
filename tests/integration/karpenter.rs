//! Karpenter's NodePools and EC2NodeClasses, typed: what their CRDs refuse
//! on a server (schemas and CEL rules) is refused at `bp check`; on the
//! Kubernetes emulator with the real Karpenter v1.14.1 CRDs
//! (tests/fixtures, from ../shared/fixtures), they are applied, read back, changed and deleted,
//! checked with the real kubectl.

use crate::harness::{repo, Test};
use crate::lifecycle::{bp, Emulators};
use serde_json::{json, Value};

const HEAD: &str = r#"
let net = existing_vpc(var("vpc", "vpc-0123456789abcdef0"));
let subnets = net.subnets(#{ ids: [var("a", "subnet-0123456789abcdef0"), var("b", "subnet-0123456789abcdef1")] });
let sg = security_group(net, "karpenter-nodes", #{});
let role = iam_role("karpenter-nodes", #{ service: "ec2.amazonaws.com" });
let c = existing_cluster("platform");
"#;

const CLASS: &str = r#"let nc = c.node_class("default", #{ subnets: subnets, security_groups: [sg], role: role, block_devices: [#{ size_gb: 50 }], tags: #{ team: "platform" } });
"#;

#[test]
fn what_the_crds_refuse_is_refused_at_check() {
    let pool =
        |opts: &str| format!("{CLASS}c.node_pool(\"general\", #{{ node_class: nc, {opts} }});\n");
    let cases: Vec<(String, &str)> = vec![
        (
            pool("requirements: [#{ key: \"karpenter.sh/capacity-type\", operator: \"In\" }]"),
            "requirement `karpenter.sh/capacity-type` with operator 'In' must have a value defined",
        ),
        (
            pool("requirements: [#{ key: \"karpenter.k8s.aws/instance-cpu\", operator: \"Gt\", values: [\"4\", \"8\"] }]"),
            "with operator 'Gt' must have a single positive integer value",
        ),
        (
            pool("requirements: [#{ key: \"karpenter.sh/nodepool\", operator: \"Exists\" }]"),
            "label \"karpenter.sh/nodepool\" is restricted",
        ),
        (
            pool("requirements: [#{ key: \"team.karpenter.sh/x\", operator: \"Exists\" }]"),
            "label domain \"karpenter.sh\" is restricted",
        ),
        (
            pool("requirements: [#{ key: \"kubernetes.io/arch\", operator: \"Near\", values: [\"amd64\"] }]"),
            "Near",
        ),
        (
            pool("requirements: [#{ key: \"kubernetes.io/arch\", operator: \"In\", values: [\"amd64\"], min_values: 2 }]"),
            "has min_values 2 but only 1 values",
        ),
        (
            pool("requirements: [], disruption: #{ consolidation_policy: \"WhenEmpty\" }"),
            "consolidate_after",
        ),
        (
            pool("requirements: [], disruption: #{ consolidate_after: \"soon\" }"),
            "consolidate_after \"soon\" is not a duration",
        ),
        (
            pool("requirements: [], disruption: #{ consolidate_after: \"1m\", budgets: [#{ nodes: \"10%\", schedule: \"@daily\" }] }"),
            "a budget's 'schedule' must be set with 'duration'",
        ),
        (
            pool("requirements: [], labels: #{ \"kubernetes.io/hostname\": \"x\" }"),
            "label \"kubernetes.io/hostname\" is restricted",
        ),
        (pool("requirements: [], weight: 101"), "weight 101 is outside 1 to 100"),
        (
            "c.node_pool(\"general\", #{ node_class: \"default\", requirements: [] });\n".into(),
            "a node class (c.node_class(...))",
        ),
        (
            CLASS.replace("subnets: subnets,", "subnets: subnets, ami: \"ubuntu@latest\","),
            "AMI family \"ubuntu\" is not supported",
        ),
        (
            CLASS.replace("subnets: subnets,", "subnets: subnets, ami: \"al2023\","),
            "ami \"al2023\" is improperly formatted, must match the format 'family@version'",
        ),
        (
            CLASS.replace("subnets: subnets,", "subnets: subnets, ami: \"windows2022@v1\","),
            "windows families may only specify version 'latest'",
        ),
        (
            CLASS.replace("security_groups: [sg], ", ""),
            "security_groups",
        ),
    ];
    for (tail, said) in &cases {
        let out = Test::new()
            .file("b.rhai", &format!("{HEAD}{tail}"))
            .args(["check", "b.rhai"])
            .status(1)
            .run();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(said) && err.contains("b.rhai:"),
            "{tail}: {err}"
        );
    }
    // A node class of another cluster is not this one's.
    let out = Test::new()
        .file(
            "b.rhai",
            &format!("{HEAD}{CLASS}existing_cluster(\"other\").node_pool(\"p\", #{{ node_class: nc, requirements: [] }});\n"),
        )
        .args(["check", "b.rhai"])
        .status(1)
        .run();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not one of cluster other"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn node_pools_and_classes_apply_on_the_real_crds_and_converge() {
    let emu = Emulators::start();
    let m = &emu.moto;
    let made = m.python_json(&[
        "-c",
        &format!(
            "import boto3, json\nec2 = {}\nvpc = ec2.create_vpc(CidrBlock='10.81.0.0/16')['Vpc']['VpcId']\nsubnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=c, AvailabilityZone=z)['Subnet']['SubnetId'] for c, z in [('10.81.1.0/24', 'us-east-1a'), ('10.81.2.0/24', 'us-east-1b')]]\nprint(json.dumps([vpc] + subnets))",
            m.boto3("ec2")
        ),
    ]);
    let ids: Vec<String> = serde_json::from_value(made).unwrap();
    let crds = repo().join("tests/fixtures/karpenter-v1.14.1-crds");
    for crd in [
        "karpenter.sh_nodepools.yaml",
        "karpenter.k8s.aws_ec2nodeclasses.yaml",
    ] {
        emu.kube.kubectl(&[
            "--context",
            "platform",
            "apply",
            "-f",
            crds.join(crd).to_str().unwrap(),
        ]);
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("karpenter.rhai");
    std::fs::write(
        &file,
        format!(
            "{HEAD}{CLASS}c.node_pool(\"general\", #{{ node_class: nc,\n  requirements: [#{{ key: \"karpenter.sh/capacity-type\", operator: \"In\", values: [\"spot\", \"on-demand\"] }}, #{{ key: \"karpenter.k8s.aws/instance-cpu\", operator: \"Lt\", values: [\"33\"] }}],\n  limits: #{{ cpu: parse_int(var(\"cpu\", \"100\")) }}, disruption: #{{ consolidate_after: \"1m\" }},\n  taints: [taint(\"dedicated\", \"batch\", \"NoSchedule\")], labels: #{{ team: \"platform\" }} }});\n"
        ),
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let vars = [
        format!("vpc={}", ids[0]),
        format!("a={}", ids[1]),
        format!("b={}", ids[2]),
    ];
    let v: Vec<&str> = vars.iter().map(String::as_str).collect();
    bp(&emu, &["apply", file, "--auto-approve"], &v).run();
    let get = |what: &str| -> Value {
        emu.kube
            .get_json(&["--context", "platform", what, "-o", "json"])
    };
    let pools = get("nodepools.karpenter.sh");
    let pool = &pools["items"][0];
    assert_eq!(pool["metadata"]["name"], "general", "{pools}");
    assert_eq!(
        pool["spec"]["template"]["spec"]["nodeClassRef"],
        json!({"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "default"})
    );
    assert_eq!(pool["spec"]["limits"], json!({"cpu": 100}));
    assert_eq!(pool["spec"]["disruption"]["consolidateAfter"], "1m");
    assert_eq!(
        pool["spec"]["template"]["spec"]["taints"],
        json!([{"key": "dedicated", "value": "batch", "effect": "NoSchedule"}])
    );
    let classes = get("ec2nodeclasses.karpenter.k8s.aws");
    let class = &classes["items"][0]["spec"];
    assert_eq!(
        class["subnetSelectorTerms"],
        json!([{"id": ids[1]}, {"id": ids[2]}]),
        "{classes}"
    );
    assert_eq!(class["role"], "karpenter-nodes");
    assert_eq!(
        class["amiSelectorTerms"],
        json!([{"alias": "al2023@latest"}])
    );
    assert!(class["securityGroupSelectorTerms"][0]["id"]
        .as_str()
        .unwrap()
        .starts_with("sg-"));

    bp(&emu, &["plan", file, "--detailed-exitcode"], &v)
        .stdout_contains("No changes.")
        .run();
    let mut more = v.clone();
    more.push("cpu=200");
    let plan = bp(&emu, &["plan", file], &more).run();
    let plan = String::from_utf8_lossy(&plan.stdout).into_owned();
    assert!(
        plan.contains("  ~ manifest.platform/NodePool/general") && plan.contains("100 -> 200"),
        "{plan}"
    );
    bp(&emu, &["apply", file, "--auto-approve"], &more).run();
    assert_eq!(
        get("nodepools.karpenter.sh")["items"][0]["spec"]["limits"]["cpu"],
        200
    );
    // Karpenter launched two instances for the pool (the test plays it):
    // destroy deletes the pool, then waits until they are terminated, which
    // the controller does once the pool is gone.
    let launched = m.python_json(&[
        "-c",
        &format!(
            "import boto3, json\nec2 = {}\nr = ec2.run_instances(ImageId='ami-12c6146b', MinCount=2, MaxCount=2, InstanceType='m6i.large', SubnetId='{}', TagSpecifications=[{{'ResourceType': 'instance', 'Tags': [{{'Key': 'karpenter.sh/nodepool', 'Value': 'general'}}, {{'Key': 'kubernetes.io/cluster/platform', 'Value': 'owned'}}]}}])\nprint(json.dumps([i['InstanceId'] for i in r['Instances']]))",
            m.boto3("ec2"),
            ids[1]
        ),
    ]);
    let terminated_at = std::sync::Mutex::new(None);
    let destroyed = std::thread::scope(|s| {
        s.spawn(|| {
            // Once the pool is gone, Karpenter takes its nodes down.
            while get("nodepools.karpenter.sh")["items"] != json!([]) {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            std::thread::sleep(std::time::Duration::from_secs(2));
            *terminated_at.lock().unwrap() = Some(std::time::Instant::now());
            m.python(&[
                "-c",
                &format!(
                    "import boto3\n{}.terminate_instances(InstanceIds={launched})",
                    m.boto3("ec2")
                ),
            ]);
        });
        let out = bp(&emu, &["destroy", file, "--auto-approve"], &more).run();
        (
            std::time::Instant::now(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    });
    let (destroyed_at, said) = destroyed;
    // What it did, after the plan it showed.
    let said = &said[said.find("Plan: ").expect("a plan")..];
    // The pool goes first; its class, and what the class uses, only once
    // the pool and its instances are gone.
    let at = |line: &str| {
        said.find(line)
            .unwrap_or_else(|| panic!("{line} in {said}"))
    };
    let pool_gone = at("- manifest.platform/NodePool/general: deleted");
    for after in [
        "- manifest.platform/EC2NodeClass/default: deleting",
        "- security_group.",
        "- iam_role.karpenter-nodes: deleting",
    ] {
        assert!(
            at(after) > pool_gone,
            "{after} before the pool was gone:\n{said}"
        );
    }
    let terminated_at = terminated_at.lock().unwrap().expect("terminated");
    assert!(
        destroyed_at > terminated_at,
        "destroy ended before the pool's instances were asked to terminate"
    );
    assert_eq!(get("nodepools.karpenter.sh")["items"], json!([]));
    assert_eq!(get("ec2nodeclasses.karpenter.k8s.aws")["items"], json!([]));
}

/// `bp cost` prices a node pool as a range, from none (it scales to zero)
/// to its limits, spot where it allows only spot; one without limits has
/// no upper bound.
#[test]
fn bp_cost_prices_a_node_pool_by_its_limits_as_a_range() {
    let cost = |pool: &str| {
        let out = Test::new()
            .file("b.rhai", &format!("{HEAD}{CLASS}{pool}"))
            .args(["cost", "b.rhai", "--json"])
            .run();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["address"] == "manifest.platform/NodePool/general")
            .cloned()
            .unwrap_or_else(|| panic!("{v}"))
    };
    // m6i.large in us-east-1: $0.096 an hour for 2 vCPU.
    let on_demand = cost(
        "c.node_pool(\"general\", #{ node_class: nc, requirements: [], limits: #{ cpu: 100 } });\n",
    );
    assert_eq!(on_demand["monthly"], 0.0, "{on_demand}");
    assert_eq!(on_demand["low"], 0.0);
    assert_eq!(on_demand["high"], 3504.0, "100 × 730 × $0.048: {on_demand}");
    let by_memory = cost("c.node_pool(\"general\", #{ node_class: nc, requirements: [], limits: #{ memory: \"400Gi\" } });\n");
    assert_eq!(
        by_memory["high"], 3504.0,
        "400 GiB at 4 GiB a vCPU: {by_memory}"
    );
    let spot = cost("c.node_pool(\"general\", #{ node_class: nc, limits: #{ cpu: 100 }, requirements: [#{ key: \"karpenter.sh/capacity-type\", operator: \"In\", values: [\"spot\"] }] });\n");
    assert_eq!(spot["high"], 1401.6, "at most 40% of on-demand: {spot}");
    let out = Test::new()
        .file(
            "b.rhai",
            &format!(
                "{HEAD}{CLASS}c.node_pool(\"general\", #{{ node_class: nc, requirements: [] }});\n"
            ),
        )
        .args(["cost", "b.rhai"])
        .run();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("a node pool without cpu or memory limits has no upper bound"),
        "{text}"
    );
}
