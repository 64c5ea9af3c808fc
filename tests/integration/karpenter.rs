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

/// In what a destroy said after the plan it showed, each of `later`
/// starts only after `first`.
fn deleted_after(said: &str, first: &str, later: &[&str]) {
    let said = &said[said.find("Plan: ").expect("a plan")..];
    let at = |line: &str| {
        said.find(line)
            .unwrap_or_else(|| panic!("{line} in {said}"))
    };
    let gone = at(first);
    for after in later {
        assert!(at(after) > gone, "{after} before {first}:\n{said}");
    }
}

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
    // The pool goes first; its class, and what the class uses, only once
    // the pool and its instances are gone.
    deleted_after(
        &said,
        "- manifest.platform/NodePool/general: deleted",
        &[
            "- manifest.platform/EC2NodeClass/default: deleting",
            "- security_group.",
            "- iam_role.karpenter-nodes: deleting",
        ],
    );
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

/// PMS with `--var autoscaler=karpenter`: `c.karpenter(...)` declares the
/// AWS side (the scoped controller role by Pod Identity, the node role with
/// its access entry and instance profile, the interruption queue and its
/// four EventBridge rules, the discovery tags) and the release from the
/// mirror, whose chart installs the CRDs the node pools need. It converges,
/// and destroy deletes the node pools first, waits for the instances
/// Karpenter launched (the test plays the controller) and leaves nothing.
#[test]
fn pms_with_karpenter_converges_and_destroy_leaves_no_instance() {
    let emu = Emulators::start();
    let m = &emu.moto;
    let file = "blueprints/pms.rhai";
    let vars = ["autoscaler=karpenter"];
    bp(&emu, &["apply", file, "--auto-approve"], &vars).run();
    let aws = m.python_json(&[
        "-c",
        &format!(
            r#"import boto3, json
sqs, ev, iam, eks, ec2 = {}, {}, {}, {}, {}
url = sqs.get_queue_url(QueueName='pms-prod-karpenter')['QueueUrl']
attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=['All'])['Attributes']
rules = {{r['Name']: [json.loads(r['EventPattern']), [t['Arn'] for t in ev.list_targets_by_rule(Rule=r['Name'])['Targets']]]
          for r in ev.list_rules(NamePrefix='pms-prod-karpenter')['Rules']}}
node_role = iam.get_role(RoleName='pms-prod-karpenter-node')['Role']
controller = iam.get_role(RoleName='pms-prod-karpenter')['Role']
policy = iam.get_role_policy(RoleName='pms-prod-karpenter', PolicyName='karpenter-controller')['PolicyDocument']
assoc = [eks.describe_pod_identity_association(clusterName='pms-prod', associationId=a['associationId'])['association']
         for a in eks.list_pod_identity_associations(clusterName='pms-prod')['associations']]
entry = eks.describe_access_entry(clusterName='pms-prod', principalArn=node_role['Arn'])['accessEntry']
profile = iam.get_instance_profile(InstanceProfileName='pms-prod-karpenter-node')['InstanceProfile']
tagged = lambda items: sorted(i.get('CidrBlock') or i['GroupName'] for i in items)
discovery = [{{'Name': 'tag:karpenter.sh/discovery', 'Values': ['pms-prod']}}]
print(json.dumps({{
  'queue': attrs, 'rules': rules, 'node_role': node_role['Arn'], 'controller': controller, 'policy': policy,
  'assoc': [[a['namespace'], a['serviceAccount'], a['roleArn']] for a in assoc],
  'entry_type': entry['type'], 'profile_roles': [r['Arn'] for r in profile['Roles']],
  'subnets': tagged(ec2.describe_subnets(Filters=discovery)['Subnets']),
  'groups': tagged(ec2.describe_security_groups(Filters=discovery)['SecurityGroups']),
}}, default=str))"#,
            m.boto3("sqs"),
            m.boto3("events"),
            m.boto3("iam"),
            m.boto3("eks"),
            m.boto3("ec2")
        ),
    ]);
    let queue_arn = aws["queue"]["QueueArn"].as_str().unwrap().to_string();
    assert_eq!(aws["queue"]["MessageRetentionPeriod"], "300", "{aws}");
    assert_eq!(aws["queue"]["SqsManagedSseEnabled"], "true");
    let queue_policy: Value =
        serde_json::from_str(aws["queue"]["Policy"].as_str().unwrap()).unwrap();
    assert_eq!(
        queue_policy["Statement"][0]["Principal"]["Service"],
        json!(["events.amazonaws.com", "sqs.amazonaws.com"])
    );
    // The four rules, each to the queue.
    let rules = aws["rules"].as_object().unwrap();
    let mut detail_types: Vec<&str> = rules
        .values()
        .map(|r| {
            assert_eq!(r[1], json!([queue_arn]), "{r}");
            r[0]["detail-type"][0].as_str().unwrap()
        })
        .collect();
    detail_types.sort();
    assert_eq!(
        detail_types,
        [
            "AWS Health Event",
            "EC2 Instance Rebalance Recommendation",
            "EC2 Instance State-change Notification",
            "EC2 Spot Instance Interruption Warning"
        ]
    );
    // The controller's role: Pod Identity, scoped as documented.
    let trust = aws["controller"]["AssumeRolePolicyDocument"].to_string();
    assert!(trust.contains("pods.eks.amazonaws.com") && trust.contains("sts:TagSession"));
    let statements = aws["policy"]["Statement"].as_array().unwrap();
    let sid = |id: &str| {
        statements
            .iter()
            .find(|s| s["Sid"] == id)
            .unwrap_or_else(|| panic!("{id} in {statements:?}"))
            .clone()
    };
    assert_eq!(
        sid("AllowScopedDeletion")["Condition"]["StringEquals"]
            ["aws:ResourceTag/kubernetes.io/cluster/pms-prod"],
        "owned"
    );
    assert_eq!(
        sid("AllowPassingInstanceRole")["Resource"],
        aws["node_role"]
    );
    assert_eq!(
        sid("AllowInterruptionQueueActions")["Resource"],
        json!(queue_arn)
    );
    assert_eq!(
        aws["assoc"],
        json!([["kube-system", "karpenter", aws["controller"]["Arn"]]])
    );
    assert_eq!(aws["entry_type"], "EC2_LINUX");
    assert_eq!(aws["profile_roles"], json!([aws["node_role"]]));
    assert_eq!(
        aws["subnets"],
        json!(["10.0.10.0/24", "10.0.11.0/24", "10.0.12.0/24"])
    );
    assert_eq!(aws["groups"], json!(["eks-workers"]));

    // In the cluster: the release's settings, and the node pools on the
    // CRDs its chart installed; no cluster autoscaler.
    let settings = emu.kube.get_json(&[
        "--context",
        "pms-prod",
        "-n",
        "kube-system",
        "configmap",
        "karpenter-settings",
    ]);
    let values: Value =
        serde_json::from_str(settings["data"]["values.json"].as_str().unwrap()).unwrap();
    assert_eq!(values["settings"]["clusterName"], "pms-prod", "{values}");
    assert_eq!(
        values["settings"]["interruptionQueue"],
        "pms-prod-karpenter"
    );
    assert!(values["settings"]["clusterEndpoint"]
        .as_str()
        .is_some_and(|e| e.starts_with("https://")));
    let pools = emu
        .kube
        .get_json(&["--context", "pms-prod", "nodepools.karpenter.sh"]);
    let mut names: Vec<&str> = pools["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["app", "db", "spot"]);
    let class = emu
        .kube
        .get_json(&["--context", "pms-prod", "ec2nodeclasses.karpenter.k8s.aws"]);
    assert_eq!(
        class["items"][0]["spec"]["subnetSelectorTerms"],
        json!([{"tags": {"karpenter.sh/discovery": "pms-prod"}}])
    );
    assert_eq!(
        class["items"][0]["spec"]["instanceProfile"],
        "pms-prod-karpenter-node"
    );
    let releases = emu.kube.kubectl(&[
        "--context",
        "pms-prod",
        "get",
        "secrets",
        "-A",
        "-l",
        "owner=helm",
        "-o",
        "name",
    ]);
    assert!(!releases.contains("cluster-autoscaler"), "{releases}");

    bp(&emu, &["plan", file, "--detailed-exitcode"], &vars)
        .stdout_contains("No changes.")
        .run();

    // Karpenter launched nodes for two pools (the test plays it); destroy
    // waits for them to go, which the controller does once the pools are
    // gone, and leaves nothing of the blueprint.
    let subnet = m.python_json(&[
        "-c",
        &format!(
            "import boto3, json\nprint(json.dumps({}.describe_subnets(Filters=[{{'Name': 'tag:karpenter.sh/discovery', 'Values': ['pms-prod']}}])['Subnets'][0]['SubnetId']))",
            m.boto3("ec2")
        ),
    ]);
    let launched = m.python_json(&[
        "-c",
        &format!(
            "import boto3, json\nec2 = {}\nids = []\nfor pool in ['app', 'spot']:\n    r = ec2.run_instances(ImageId='ami-12c6146b', MinCount=1, MaxCount=1, InstanceType='m6i.large', SubnetId={subnet}, TagSpecifications=[{{'ResourceType': 'instance', 'Tags': [{{'Key': 'karpenter.sh/nodepool', 'Value': pool}}, {{'Key': 'kubernetes.io/cluster/pms-prod', 'Value': 'owned'}}]}}])\n    ids += [i['InstanceId'] for i in r['Instances']]\nprint(json.dumps(ids))",
            m.boto3("ec2")
        ),
    ]);
    let said = std::thread::scope(|s| {
        s.spawn(|| {
            while emu
                .kube
                .get_json(&["--context", "pms-prod", "nodepools.karpenter.sh"])["items"]
                != json!([])
            {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            std::thread::sleep(std::time::Duration::from_secs(1));
            m.python(&[
                "-c",
                &format!(
                    "import boto3\n{}.terminate_instances(InstanceIds={launched})",
                    m.boto3("ec2")
                ),
            ]);
        });
        let out = bp(
            &emu,
            &["destroy", file, "--auto-approve", "--include-protected"],
            &vars,
        )
        .run();
        String::from_utf8_lossy(&out.stdout).into_owned()
    });
    deleted_after(
        &said,
        "- manifest.pms-prod/NodePool/app: deleted",
        &[
            "- helm_release.pms-prod/kube-system/karpenter: deleting",
            "- iam_role.pms-prod-karpenter: deleting",
            "- pod_identity.pms-prod/kube-system/karpenter: deleting",
            "- sqs_queue.pms-prod-karpenter: deleting",
            "- instance_profile.pms-prod-karpenter-node: deleting",
            "- security_group.pms-prod/eks-workers: deleting",
            "- subnet.pms-prod/private-a: deleting",
        ],
    );
    let running = m.python_json(&[
        "-c",
        &format!(
            "import boto3, json\nr = {}.describe_instances(Filters=[{{'Name': 'tag-key', 'Values': ['karpenter.sh/nodepool']}}, {{'Name': 'instance-state-name', 'Values': ['pending', 'running']}}])['Reservations']\nprint(json.dumps(sum(len(x['Instances']) for x in r)))",
            m.boto3("ec2")
        ),
    ]);
    assert_eq!(running, json!(0));
    assert_eq!(
        crate::lifecycle::owned_nonzero(m, "pms-prod"),
        std::collections::BTreeMap::new()
    );
}

/// What `c.karpenter(...)`, node classes, queues and rules refuse at
/// `bp check`, with the line.
#[test]
fn karpenter_queues_and_rules_refuse_bad_input_at_check() {
    let cases: &[(&str, &str)] = &[
        (
            "c.karpenter(#{ via: \"pod_identity\" });",
            "missing required option `version`",
        ),
        (
            "c.karpenter(#{ version: \"1.14.1\", via: \"kiam\" });",
            "kiam",
        ),
        (
            "let k = c.karpenter(#{ version: \"1.14.1\" });\nc.node_class(\"d\", #{ subnets: subnets, security_groups: [sg], role: role, instance_profile: k.instance_profile });",
            "must specify exactly one of ['role', 'instanceProfile']",
        ),
        (
            "c.node_class(\"d\", #{ subnets: subnets, security_groups: [sg], role: role, discovery: true });",
            "is not one this blueprint manages, so it cannot be given the tag karpenter.sh/discovery",
        ),
        (
            "let v2 = vpc(\"d\", #{ cidr: \"10.90.0.0/16\", azs: 2, private_subnets: [\"10.90.1.0/24\", \"10.90.2.0/24\"] });\nc.node_class(\"a\", #{ subnets: v2.private_subnets, security_groups: [sg], role: role, discovery: true });\nexisting_cluster(\"other\").node_class(\"b\", #{ subnets: v2.private_subnets, security_groups: [sg], role: role, discovery: true });",
            "has the tag karpenter.sh/discovery = platform already",
        ),
        (
            "let q = sqs_queue(\"q\", #{});\nevent_rule(\"r\", #{ pattern: #{ source: [\"aws.ec2\"] }, target: q });",
            "does not let events.amazonaws.com send to it",
        ),
        (
            "let q = sqs_queue(\"q\", #{ allow_send_from: [\"events.amazonaws.com\"] });\nevent_rule(\"r\", #{ pattern: #{}, target: q });",
            "its pattern is empty",
        ),
        (
            "sqs_queue(\"q\", #{ retention_seconds: 30 });",
            "retention_seconds is 30, outside 60 to 1209600",
        ),
        ("sqs_queue(\"q.fifo\", #{});", "FIFO queues are not supported yet"),
        (
            "sqs_queue(\"q\", #{ allow_send_from: [\"*\"] });",
            "allow_send_from takes AWS service principals, not \"*\"",
        ),
        (
            "event_rule(\"r\", #{ pattern: #{ source: [\"aws.ec2\"] }, target: sg });",
            "target",
        ),
    ];
    for (tail, said) in cases {
        let out = Test::new()
            .file("b.rhai", &format!("{HEAD}{tail}\n"))
            .args(["check", "b.rhai"])
            .status(1)
            .run();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(said) && err.contains("b.rhai:"),
            "{tail}: {err}"
        );
    }
}

/// BP022: a role that launches fleets as Karpenter does, without the
/// documented scoping, is a warning naming what is loose; the role
/// `c.karpenter(...)` declares is not.
#[test]
fn a_karpenter_controller_role_without_its_scoping_is_a_lint_warning() {
    let lint = |text: &str| -> Vec<String> {
        let out = Test::new()
            .file("b.rhai", text)
            .args(["lint", "b.rhai", "--format", "json"])
            .any_status()
            .run();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == "BP022")
            .map(|f| f["message"].as_str().unwrap().to_string())
            .collect()
    };
    let loose = r#"pod_identity_role("karpenter-controller", #{ inline_policies: #{ karpenter: #{
  Version: "2012-10-17",
  Statement: [
    #{ Effect: "Allow", Action: ["ec2:CreateFleet", "ec2:RunInstances", "ec2:TerminateInstances"], Resource: "arn:aws:ec2:us-east-1:*:*",
       Condition: #{ StringEquals: #{ "aws:RequestedRegion": "us-east-1" } } },
    #{ Effect: "Allow", Action: "iam:PassRole", Resource: "*" },
  ] } } });
"#;
    assert_eq!(
        lint(loose),
        ["role karpenter-controller launches instances as Karpenter does, but without its documented scoping: ec2:TerminateInstances, iam:PassRole on any role"]
    );
    assert_eq!(
        lint(&format!("{HEAD}c.karpenter(#{{ version: \"1.14.1\" }});\n")),
        Vec::<String>::new()
    );
    // Not Karpenter's: a role that terminates instances but launches no
    // fleet is BP015's business, not this rule's.
    assert_eq!(
        lint(&loose.replace("\"ec2:CreateFleet\", ", "")),
        Vec::<String>::new()
    );
}
