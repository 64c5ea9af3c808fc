//! A platform that moves (issue 24): fields other controllers own. A node
//! group's desired size belongs to the cluster autoscaler once the group
//! exists, and `ignore: [...]` leaves any field to others; played here by
//! changing them with boto3 as the autoscaler (or a person) would.

use crate::moto::Moto;
use serde_json::Value as Json;

const BP: &str = r#"
let v = vpc("demo", #{ cidr: "10.0.0.0/16", azs: 2, private_subnets: ["10.0.10.0/24", "10.0.11.0/24"] });
let c = cluster("demo", #{ version: "1.32", vpc: v, subnets: v.private_subnets, irsa: false });
c.node_group("app", #{ instance_types: ["m6i.large"], min: parse_int(var("min", "1")),
                       max: parse_int(var("max", "5")), desired: parse_int(var("desired", "2")),
                       scaling: #{ manage_desired: var("manage", "no") == "yes" } });
log_group("/app/orders", #{ retention_days: 7, ignore: ["retention_days"] });
"#;

/// The node group's scaling on the emulator.
fn scaling(m: &Moto) -> Json {
    m.python_json(&[
        "-c",
        &format!(
            "import boto3, json\nprint(json.dumps({}.describe_nodegroup(clusterName='demo', nodegroupName='app')['nodegroup']['scalingConfig']))",
            m.boto3("eks")
        ),
    ])
}

/// Sets the desired size as the cluster autoscaler does.
fn autoscale(m: &Moto, desired: i64) {
    m.python(&[
        "-c",
        &format!(
            "import boto3\n{}.update_nodegroup_config(clusterName='demo', nodegroupName='app', scalingConfig={{'minSize': 1, 'maxSize': 5, 'desiredSize': {desired}}})",
            m.boto3("eks")
        ),
    ]);
}

#[test]
fn the_autoscaler_owns_desired_and_ignored_fields_are_left_alone() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bp.rhai"), BP).unwrap();
    let d = dir.path();
    m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 0);
    assert_eq!(scaling(&m)["desiredSize"], 2, "created as declared");

    // The autoscaler scales out, and someone keeps the orders' logs longer.
    autoscale(&m, 4);
    m.python(&[
        "-c",
        &format!(
            "import boto3\n{}.put_retention_policy(logGroupName='/app/orders', retentionInDays=30)",
            m.boto3("logs")
        ),
    ]);
    // Neither is a change: the plan says so as information, exits 0.
    let out = m.bp(d, &["plan", "bp.rhai", "--detailed-exitcode"], 0);
    assert!(
        out.contains("Left to others: node_group.demo/app scaling.desired is 4 live, declared 2 (ignored: not a change)."),
        "{out}"
    );
    assert!(
        out.contains("Left to others: log_group.app/orders retention_days is 30 live, declared 7"),
        "{out}"
    );
    assert!(out.contains("No changes."), "{out}");
    let json: Json = serde_json::from_str(&m.bp(d, &["plan", "bp.rhai", "--json"], 0)).unwrap();
    let ignored = json["ignored"].as_array().unwrap();
    assert_eq!(ignored.len(), 2, "{json}");
    let group = ignored
        .iter()
        .find(|i| i["address"] == "node_group.demo/app")
        .unwrap();
    assert_eq!(group["field"], "scaling.desired");
    assert_eq!(group["declared"], 2);
    assert_eq!(group["live"], 4);
    // The nodes the autoscaler added cost what they cost now, before and after.
    assert_eq!(
        json["cost"]["before"], json["cost"]["after"],
        "{}",
        json["cost"]
    );

    // A saved plan stays good while the autoscaler moves.
    m.bp(
        d,
        &["plan", "bp.rhai", "--var", "max=6", "-o", "plan.json"],
        0,
    );
    autoscale(&m, 5);
    let out = m.bp(d, &["apply", "plan.json"], 0);
    assert!(out.contains("1 to change"), "{out}");
    // Changing max sends the autoscaler's desired back, not the declared.
    let s = scaling(&m);
    assert_eq!(
        (s["maxSize"].as_i64(), s["desiredSize"].as_i64()),
        (Some(6), Some(5)),
        "{s}"
    );
    assert_eq!(
        m.python_json(&["-c", &format!("import boto3, json\nprint(json.dumps({}.describe_log_groups(logGroupNamePrefix='/app/orders')['logGroups'][0]['retentionInDays']))", m.boto3("logs"))]),
        30
    );

    // A minimum above what the autoscaler left moves desired up to it.
    let raise = ["--var", "max=6", "--var", "min=6", "--var", "desired=6"];
    let apply: Vec<&str> = ["apply", "bp.rhai", "--auto-approve"]
        .into_iter()
        .chain(raise)
        .collect();
    let out = m.bp(d, &apply, 0);
    assert!(out.contains("scaling.min: 1 -> 6"), "{out}");
    assert_eq!(scaling(&m)["desiredSize"], 6);

    // Managed, desired is compared and set again.
    let args = ["--var", "max=6", "--var", "min=1", "--var", "manage=yes"];
    let plan: Vec<&str> = ["plan", "bp.rhai", "--detailed-exitcode"]
        .into_iter()
        .chain(args)
        .collect();
    let out = m.bp(d, &plan, 2);
    assert!(out.contains("scaling.desired: 6 -> 2"), "{out}");
    assert!(!out.contains("Left to others: node_group"), "{out}");
    let apply: Vec<&str> = ["apply", "bp.rhai", "--auto-approve"]
        .into_iter()
        .chain(args)
        .collect();
    m.bp(d, &apply, 0);
    assert_eq!(scaling(&m)["desiredSize"], 2);
}

#[test]
fn ignore_names_fields_of_the_kind() {
    let dir = tempfile::tempdir().unwrap();
    let check = |script: &str| {
        std::fs::write(dir.path().join("bp.rhai"), script).unwrap();
        let out = crate::harness::Test::new()
            .current_dir(dir.path())
            .args(["check", "bp.rhai"])
            .status(1)
            .run();
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let err = check("log_group(\"/a\", #{ retention_days: 7, ignore: [\"retention\"] });\n");
    assert!(
        err.contains("ignore: `retention` is not a field of log_group: `retention` is none of name, retention_days, tags"),
        "{err}"
    );
    assert!(err.contains("bp.rhai:1:1"), "{err}");
    assert!(err.contains("hint: ignore: [\"scaling.desired\"]"), "{err}");
    let err = check("log_group(\"/a\", #{ ignore: \"retention_days\" });\n");
    assert!(
        err.contains("option `ignore` must be a list of field paths, but it is the string \"retention_days\""),
        "{err}"
    );
    let err = check("let r = rule(#{ ports: 443, ignore: [\"ports\"] });\n");
    assert!(
        err.contains("rule(...) declares no resource of its own"),
        "{err}"
    );
}

/// The AWS Load Balancer Controller finds subnets by their tags: public
/// ones for internet-facing load balancers, private ones for internal, and
/// the cluster's own.
#[test]
fn subnets_carry_the_tags_the_load_balancer_controller_looks_for() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let bp = r#"
let tag = var("tag", "yes") == "yes";
let v = vpc("demo", #{ cidr: "10.0.0.0/16", azs: 2, public_subnets: ["10.0.1.0/24", "10.0.2.0/24"],
                      private_subnets: ["10.0.10.0/24", "10.0.11.0/24"], elb_role_tags: tag });
let c = cluster("demo", #{ version: "1.32", vpc: v, subnets: v.private_subnets, irsa: false, tag_subnets: tag });
c.node_group("edge", #{ instance_types: ["m6i.large"], min: 1, max: 2, desired: 1, subnets: [v.public_subnets[0]] });
"#;
    std::fs::write(dir.path().join("bp.rhai"), bp).unwrap();
    let d = dir.path();
    m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 0);
    m.bp(d, &["plan", "bp.rhai", "--detailed-exitcode"], 0);
    let tags = || {
        m.python_json(&[
            "-c",
            &format!(
                "import boto3, json\nout = {{}}\nfor s in {}.describe_subnets()['Subnets']:\n    t = {{x['Key']: x['Value'] for x in s.get('Tags', [])}}\n    if 'Name' in t: out[t['Name']] = {{k: v for k, v in t.items() if k.startswith('kubernetes.io/')}}\nprint(json.dumps(out))",
                m.boto3("ec2")
            ),
        ])
    };
    let t = tags();
    let shared = "kubernetes.io/cluster/demo";
    assert_eq!(t["demo-public-a"]["kubernetes.io/role/elb"], "1", "{t}");
    assert_eq!(t["demo-public-b"]["kubernetes.io/role/elb"], "1", "{t}");
    assert_eq!(
        t["demo-private-a"]["kubernetes.io/role/internal-elb"], "1",
        "{t}"
    );
    assert_eq!(
        t["demo-private-b"]["kubernetes.io/role/internal-elb"], "1",
        "{t}"
    );
    // The cluster's subnets and its node group's are the cluster's.
    assert_eq!(t["demo-private-a"][shared], "shared", "{t}");
    assert_eq!(t["demo-private-b"][shared], "shared", "{t}");
    assert_eq!(t["demo-public-a"][shared], "shared", "{t}");
    assert_eq!(t["demo-public-b"].get(shared), None, "{t}");

    // Turned off, the tags go in place.
    let out = m.bp(
        d,
        &["apply", "bp.rhai", "--auto-approve", "--var", "tag=no"],
        0,
    );
    assert!(
        out.contains("Apply complete: 0 created, 4 updated, 0 deleted."),
        "{out}"
    );
    let t = tags();
    assert!(
        t.as_object()
            .unwrap()
            .values()
            .all(|v| v.as_object().unwrap().is_empty()),
        "{t}"
    );
}

/// Destroy after controllers: the load balancer controller's load
/// balancer, target group and security group, left in the VPC when the
/// cluster goes (played here with boto3), are removed and named, and the
/// VPC goes too.
#[test]
fn destroy_removes_what_the_clusters_controllers_left_in_its_vpc() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let bp = r#"
let v = vpc("demo", #{ cidr: "10.0.0.0/16", azs: 2, public_subnets: ["10.0.1.0/24", "10.0.2.0/24"],
                      private_subnets: ["10.0.10.0/24", "10.0.11.0/24"], nat: "none" });
cluster("demo", #{ version: "1.32", vpc: v, subnets: v.private_subnets, irsa: false });
"#;
    std::fs::write(dir.path().join("bp.rhai"), bp).unwrap();
    let d = dir.path();
    m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 0);
    // The controller, serving an Ingress and a Service of the cluster, and
    // someone else's load balancer in another VPC.
    let play = format!(
        "import boto3, json\n\
ec2, elb = {}, {}\n\
owned = [{{'Name': 'tag:blueprint:name', 'Values': ['bp']}}]\n\
vpc = ec2.describe_vpcs(Filters=owned)['Vpcs'][0]['VpcId']\n\
public = sorted(s['SubnetId'] for s in ec2.describe_subnets(Filters=owned)['Subnets'] if s['MapPublicIpOnLaunch'])\n\
tag = [{{'Key': 'elbv2.k8s.aws/cluster', 'Value': 'demo'}}, {{'Key': 'ingress.k8s.aws/stack', 'Value': 'shop/web'}}]\n\
sg = ec2.create_security_group(GroupName='k8s-shop-web', Description='[k8s] Managed SecurityGroup for LoadBalancer', VpcId=vpc, TagSpecifications=[{{'ResourceType': 'security-group', 'Tags': tag}}])['GroupId']\n\
elb.create_load_balancer(Name='k8s-shop-web', Subnets=public, SecurityGroups=[sg], Tags=tag)\n\
elb.create_target_group(Name='k8s-shop-web-tg', Protocol='HTTP', Port=80, VpcId=vpc, TargetType='ip', Tags=tag)\n\
other = ec2.create_vpc(CidrBlock='10.9.0.0/16')['Vpc']['VpcId']\n\
subs = [ec2.create_subnet(VpcId=other, CidrBlock=c, AvailabilityZone=z)['Subnet']['SubnetId'] for c, z in [('10.9.1.0/24', 'us-east-1a'), ('10.9.2.0/24', 'us-east-1b')]]\n\
elb.create_load_balancer(Name='someone-elses', Subnets=subs, Tags=[{{'Key': 'elbv2.k8s.aws/cluster', 'Value': 'demo'}}])\n\
print(json.dumps(sg))",
        m.boto3("ec2"),
        m.boto3("elbv2")
    );
    let sg = m.python_json(&["-c", &play]);
    let out = m.bp(d, &["destroy", "bp.rhai", "--auto-approve"], 0);
    for line in [
        "- cluster.demo: removed load balancer k8s-shop-web that cluster demo's controllers left in vpc-",
        "- cluster.demo: removed target group k8s-shop-web-tg that cluster demo's controllers left in vpc-",
        &format!("- cluster.demo: removed security group {} (k8s-shop-web) that cluster demo's controllers left in vpc-", sg.as_str().unwrap()),
    ] {
        assert!(out.contains(line), "no `{line}` in\n{out}");
    }
    assert!(
        out.contains("Apply complete: 0 created, 0 updated, "),
        "{out}"
    );
    let left = m.python_json(&[
        "-c",
        &format!(
            "import boto3, json\nelb = {}\nprint(json.dumps([l['LoadBalancerName'] for l in elb.describe_load_balancers()['LoadBalancers']] + [g['TargetGroupName'] for g in elb.describe_target_groups()['TargetGroups']]))",
            m.boto3("elbv2")
        ),
    ]);
    // Only what is outside the cluster's VPC stays.
    assert_eq!(left, serde_json::json!(["someone-elses"]));
    assert_eq!(
        m.owned("bp")
            .as_object()
            .unwrap()
            .values()
            .filter(|n| n.as_u64() != Some(0))
            .count(),
        0,
        "{}",
        m.owned("bp")
    );
}

/// Create before destroy: a node group whose instance type changes is
/// replaced by a new group made first (under a suffixed name while the old
/// one holds its own), so the pool never goes away.
#[test]
fn node_groups_are_replaced_new_one_first() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let bp = r#"
let v = vpc("demo", #{ cidr: "10.0.0.0/16", azs: 2, private_subnets: ["10.0.10.0/24", "10.0.11.0/24"] });
let c = cluster("demo", #{ version: "1.32", vpc: v, subnets: v.private_subnets, irsa: false });
c.node_group("app", #{ instance_types: [var("type", "m6i.large")], min: 1, max: 3, desired: 1 });
"#;
    std::fs::write(dir.path().join("bp.rhai"), bp).unwrap();
    let d = dir.path();
    m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 0);
    let groups = || {
        m.python_json(&[
            "-c",
            &format!(
                "import boto3, json\neks = {}\nprint(json.dumps(sorted([[n, eks.describe_nodegroup(clusterName='demo', nodegroupName=n)['nodegroup']['instanceTypes'][0]] for n in eks.list_nodegroups(clusterName='demo')['nodegroups']])))",
                m.boto3("eks")
            ),
        ])
    };
    assert_eq!(groups(), serde_json::json!([["app", "m6i.large"]]));

    let out = m.bp(d, &["plan", "bp.rhai", "--var", "type=m6i.xlarge"], 0);
    assert!(
        out.contains("  +/- node_group.demo/app  (replace, the new one first: a node group's instance types cannot change in place)"),
        "{out}"
    );
    let json: serde_json::Value = serde_json::from_str(&m.bp(
        d,
        &["plan", "bp.rhai", "--json", "--var", "type=m6i.xlarge"],
        0,
    ))
    .unwrap();
    assert_eq!(
        json["create_first"],
        serde_json::json!(["node_group.demo/app"])
    );
    let out = m.bp(
        d,
        &[
            "apply",
            "bp.rhai",
            "--auto-approve",
            "--var",
            "type=m6i.xlarge",
        ],
        0,
    );
    // The new group exists before the old one is deleted.
    let created = out.find("+ node_group.demo/app: created").expect("created");
    let deleting = out
        .find("- node_group.demo/app: deleting")
        .expect("deleting");
    assert!(created < deleting, "{out}");
    let g = groups();
    let name = g[0][0].as_str().unwrap().to_string();
    assert_eq!(g.as_array().unwrap().len(), 1, "{g}");
    assert!(name.starts_with("app-") && name.len() == 8, "{g}");
    assert_eq!(g[0][1], "m6i.xlarge");
    m.bp(
        d,
        &[
            "plan",
            "bp.rhai",
            "--detailed-exitcode",
            "--var",
            "type=m6i.xlarge",
        ],
        0,
    );

    // Replaced again, the group takes its own name back.
    m.bp(
        d,
        &[
            "apply",
            "bp.rhai",
            "--auto-approve",
            "--var",
            "type=m6i.2xlarge",
        ],
        0,
    );
    assert_eq!(groups(), serde_json::json!([["app", "m6i.2xlarge"]]));
    m.bp(
        d,
        &[
            "plan",
            "bp.rhai",
            "--detailed-exitcode",
            "--var",
            "type=m6i.2xlarge",
        ],
        0,
    );
}

/// Node launch templates: a node group given security groups, a disk and
/// metadata settings runs a launch template Blueprint declares; a change
/// makes a new template version and rolls the group to it in the same
/// apply. The PMS workers' security group is attached this way.
#[test]
fn node_groups_run_a_declared_launch_template_and_roll_to_its_versions() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let bp = r#"
let v = vpc("demo", #{ cidr: "10.0.0.0/16", azs: 2, private_subnets: ["10.0.10.0/24", "10.0.11.0/24"] });
let c = cluster("demo", #{ version: "1.32", vpc: v, subnets: v.private_subnets, irsa: false });
let workers = security_group(v, "workers", #{ description: "EKS worker nodes" });
c.node_group("app", #{ instance_types: ["m6i.large"], min: 1, max: 3, desired: 1,
    security_groups: [workers], disk: #{ size: 50, type: "gp3" },
    imds: #{ hop_limit: parse_int(var("hops", "1")) } });
"#;
    std::fs::write(dir.path().join("bp.rhai"), bp).unwrap();
    let d = dir.path();
    let out = m.bp(d, &["plan", "bp.rhai"], 0);
    assert!(out.contains("+ launch_template.demo/app"), "{out}");
    m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 0);
    m.bp(d, &["plan", "bp.rhai", "--detailed-exitcode"], 0);
    let state = || {
        m.python_json(&[
            "-c",
            &format!(
                "import boto3, json\nec2, eks = {}, {}\n\
ng = eks.describe_nodegroup(clusterName='demo', nodegroupName='app')['nodegroup']\n\
lt = ng['launchTemplate']\n\
data = ec2.describe_launch_template_versions(LaunchTemplateId=lt['id'], Versions=[lt['version']])['LaunchTemplateVersions'][0]['LaunchTemplateData']\n\
sg = [g['GroupId'] for g in ec2.describe_security_groups(Filters=[{{'Name': 'group-name', 'Values': ['workers']}}])['SecurityGroups']]\n\
print(json.dumps({{'version': lt['version'], 'groups': data['SecurityGroupIds'], 'workers': sg, 'disk': data['BlockDeviceMappings'][0]['Ebs'], 'hops': data['MetadataOptions']['HttpPutResponseHopLimit'], 'tokens': data['MetadataOptions']['HttpTokens'], 'disk_size': ng.get('diskSize')}}))",
                m.boto3("ec2"),
                m.boto3("eks")
            ),
        ])
    };
    let s = state();
    assert_eq!(s["version"], "1", "{s}");
    assert_eq!(
        s["groups"], s["workers"],
        "the nodes are in the workers' group: {s}"
    );
    assert_eq!(s["disk"]["VolumeSize"], 50, "{s}");
    assert_eq!(s["disk"]["VolumeType"], "gp3", "{s}");
    assert_eq!(s["disk"]["Encrypted"], true, "{s}");
    assert_eq!(
        (s["hops"].as_i64(), s["tokens"].as_str()),
        (Some(1), Some("required")),
        "{s}"
    );

    // A change is a new version, and the group rolls to it in one apply.
    let out = m.bp(d, &["plan", "bp.rhai", "--var", "hops=2"], 0);
    assert!(out.contains("  ~ launch_template.demo/app"), "{out}");
    assert!(
        out.contains("      imds.hop_limit: 1 -> 2  # declared\n"),
        "{out}"
    );
    assert!(out.contains("  ~ node_group.demo/app"), "{out}");
    assert!(
        out.contains("      launch_template.version: \"1\" -> (known after apply)  # declared\n"),
        "{out}"
    );
    m.bp(
        d,
        &["apply", "bp.rhai", "--auto-approve", "--var", "hops=2"],
        0,
    );
    let s = state();
    assert_eq!(
        (s["version"].as_str(), s["hops"].as_i64()),
        (Some("2"), Some(2)),
        "{s}"
    );
    m.bp(
        d,
        &["plan", "bp.rhai", "--detailed-exitcode", "--var", "hops=2"],
        0,
    );
}

#[test]
fn fargate_profiles_are_replaced_new_one_first_and_a_foreign_one_is_never_taken() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let bp = r#"
let v = vpc("demo", #{ cidr: "10.0.0.0/16", azs: 2, private_subnets: ["10.0.10.0/24", "10.0.11.0/24"] });
let c = cluster("demo", #{ version: "1.32", vpc: v, subnets: v.private_subnets, irsa: false });
c.fargate_profile("apps", #{ selectors: [#{ namespace: var("ns", "apps") }] });
if var("other", "no") == "yes" {
    c.fargate_profile("batch", #{ selectors: [#{ namespace: "batch" }] });
}
"#;
    std::fs::write(dir.path().join("bp.rhai"), bp).unwrap();
    let d = dir.path();
    m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 0);
    let profiles = || {
        m.python_json(&[
            "-c",
            &format!(
                "import boto3, json\neks = {}\nprint(json.dumps(sorted([[n, eks.describe_fargate_profile(clusterName='demo', fargateProfileName=n)['fargateProfile']['selectors'][0]['namespace']] for n in eks.list_fargate_profiles(clusterName='demo')['fargateProfileNames']])))",
                m.boto3("eks")
            ),
        ])
    };
    assert_eq!(profiles(), serde_json::json!([["apps", "apps"]]));

    let out = m.bp(d, &["plan", "bp.rhai", "--var", "ns=web"], 0);
    assert!(
        out.contains("  +/- fargate_profile.demo/apps  (replace, the new one first: a Fargate profile cannot be changed, only replaced)"),
        "{out}"
    );
    let out = m.bp(
        d,
        &["apply", "bp.rhai", "--auto-approve", "--var", "ns=web"],
        0,
    );
    let created = out
        .find("+ fargate_profile.demo/apps: created")
        .expect("created");
    let deleting = out
        .find("- fargate_profile.demo/apps: deleting")
        .expect("deleting");
    assert!(created < deleting, "{out}");
    let p = profiles();
    assert_eq!(p.as_array().unwrap().len(), 1, "{p}");
    let name = p[0][0].as_str().unwrap();
    assert!(name.starts_with("apps-") && name.len() == 9, "{p}");
    assert_eq!(p[0][1], "web");
    m.bp(
        d,
        &["plan", "bp.rhai", "--detailed-exitcode", "--var", "ns=web"],
        0,
    );

    // A profile of that name someone else made is refused, never suffixed.
    m.python(&[
        "-c",
        &format!(
            "import boto3\neks = {}\nrole = {}.create_role(RoleName='fp', AssumeRolePolicyDocument='{{}}')['Role']['Arn']\neks.create_fargate_profile(clusterName='demo', fargateProfileName='batch', podExecutionRoleArn=role, selectors=[{{'namespace': 'batch'}}])",
            m.boto3("eks"),
            m.boto3("iam")
        ),
    ]);
    let out = m.bp(
        d,
        &[
            "apply",
            "bp.rhai",
            "--auto-approve",
            "--var",
            "ns=web",
            "--var",
            "other=yes",
        ],
        1,
    );
    assert!(
        out.contains("Fargate profile batch exists and is not fargate_profile.demo/batch's"),
        "{out}"
    );
    assert_eq!(profiles().as_array().unwrap().len(), 2);
}
