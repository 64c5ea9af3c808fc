//! Provider instances (`aws(#{ region, assume_role })`): one blueprint
//! over two regions with a provider loop and over a second account by an
//! assumed role, applied from a saved plan, converged and destroyed, each
//! resource checked with boto3 in its own account and region; and the
//! mistakes `bp check` catches before any call.

use crate::harness::Test;
use crate::moto::Moto;
use serde_json::Value as Json;

const BP: &str = r#"
// One network per region, made by a provider loop.
fn network(p) {
    let v = vpc("edge", #{
        cidr: "10.20.0.0/16",
        azs: 2,
        public_subnets: ["10.20.0.0/24", "10.20.1.0/24"],
        nat: "none",
        provider: p,
    });
    security_group(v, "web", #{ ingress: [rule(#{ protocol: "tcp", port: 443, cidr: "0.0.0.0/0" })] });
    kms_key("edge", #{ provider: p });
    v
}
for r in var("regions", "eu-west-1,us-west-2").split(",") {
    network(aws(#{ region: r }));
}
// A tenant's account, reached by assuming its role.
let tenant = aws(#{
    region: var("tenant_region", "us-east-1"),
    assume_role: "arn:aws:iam::222222222222:role/platform",
    external_id: "bp-test",
    alias: "tenant",
});
vpc("tenant", #{ cidr: "10.30.0.0/16", azs: 1, private_subnets: ["10.30.0.0/24"], provider: tenant });
iam_role("tenant-nodes", #{ service: "ec2.amazonaws.com", provider: tenant });
// And one of the command line's own.
iam_role("edge-ops", #{ service: "ec2.amazonaws.com" });
"#;

/// Where boto3 finds the blueprint's VPCs and roles, and the lock tables:
/// by account (the default one, and the tenant's through its role) and
/// region.
fn placed(m: &Moto) -> Json {
    let script = format!(
        r#"
import boto3, json
def client(svc, region, creds=None):
    kw = dict(endpoint_url='{url}', region_name=region, aws_access_key_id='t', aws_secret_access_key='t')
    if creds:
        kw.update(aws_access_key_id=creds['AccessKeyId'], aws_secret_access_key=creds['SecretAccessKey'], aws_session_token=creds['SessionToken'])
    return boto3.client(svc, **kw)
creds = client('sts', 'us-east-1').assume_role(RoleArn='arn:aws:iam::222222222222:role/platform', RoleSessionName='check')['Credentials']
out = {{}}
for account, c in [('123456789012', None), ('222222222222', creds)]:
    for r in ['us-east-1', 'eu-west-1', 'us-west-2']:
        ec2 = client('ec2', r, c)
        vpcs = ec2.describe_vpcs(Filters=[{{'Name': 'tag:blueprint:name', 'Values': ['multi']}}])['Vpcs']
        out[account + '/' + r + '/vpcs'] = sorted({{t['Key']: t['Value'] for t in v['Tags']}}['blueprint:address'] for v in vpcs)
        zones = sorted(s['AvailabilityZone'] for s in ec2.describe_subnets(Filters=[{{'Name': 'tag:blueprint:name', 'Values': ['multi']}}])['Subnets'])
        out[account + '/' + r + '/zones'] = zones
        keys = [k['KeyId'] for k in client('kms', r, c).list_keys()['Keys']]
        out[account + '/' + r + '/keys'] = len([k for k in keys if client('kms', r, c).describe_key(KeyId=k)['KeyMetadata']['KeyState'] == 'Enabled'])
        out[account + '/' + r + '/locks'] = 'blueprint-locks' in client('dynamodb', r, c).list_tables()['TableNames']
    out[account + '/roles'] = sorted(x['RoleName'] for x in client('iam', 'us-east-1', c).list_roles()['Roles'])
print(json.dumps(out))
"#,
        url = m.url
    );
    m.python_json(&["-c", &script])
}

#[test]
fn a_provider_loop_and_an_assumed_account_apply_converge_and_destroy() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("multi.rhai"), BP).unwrap();
    let d = dir.path();

    // The plan groups its changes by account and region; addresses carry
    // the instance's alias.
    // One instance alone, by its alias.
    let only = m.bp(d, &["plan", "multi.rhai", "--target", "tenant:*"], 0);
    assert!(only.contains("Plan: 4 to add"), "{only}");
    assert!(!only.contains("  + eu-west-1:vpc.edge\n"), "{only}");

    let plan = m.bp(d, &["plan", "multi.rhai", "-o", "plan.json"], 0);
    for group in [
        "in aws:eu-west-1:",
        "in aws:us-west-2:",
        "in aws:222222222222/us-east-1:",
        "in aws:us-east-1:",
    ] {
        assert!(plan.contains(group), "{group}: {plan}");
    }
    assert!(plan.contains("+ eu-west-1:vpc.edge"), "{plan}");
    assert!(plan.contains("+ tenant:iam_role.tenant-nodes"), "{plan}");
    assert!(plan.contains("+ iam_role.edge-ops"), "{plan}");
    assert!(plan.contains("Plan: 19 to add"), "{plan}");
    let saved: Json =
        serde_json::from_str(&std::fs::read_to_string(d.join("plan.json")).unwrap()).unwrap();
    assert_eq!(
        saved["providers"]["tenant"]["assume_role"],
        "arn:aws:iam::222222222222:role/platform"
    );
    assert_eq!(saved["providers"]["us-west-2"]["region"], "us-west-2");

    // The saved plan is applied with its provider instances.
    let out = m.bp(d, &["apply", "plan.json"], 0);
    assert!(out.contains("Apply complete: 19 created"), "{out}");
    let p = placed(&m);
    assert_eq!(
        p["123456789012/eu-west-1/vpcs"],
        serde_json::json!(["eu-west-1:vpc.edge"]),
        "{p}"
    );
    assert_eq!(
        p["123456789012/us-west-2/vpcs"],
        serde_json::json!(["us-west-2:vpc.edge"]),
        "{p}"
    );
    assert_eq!(
        p["123456789012/us-east-1/vpcs"],
        serde_json::json!([]),
        "{p}"
    );
    assert_eq!(
        p["222222222222/us-east-1/vpcs"],
        serde_json::json!(["tenant:vpc.tenant"]),
        "{p}"
    );
    assert_eq!(
        p["222222222222/eu-west-1/vpcs"],
        serde_json::json!([]),
        "{p}"
    );
    // Zones of each instance's region.
    assert_eq!(
        p["123456789012/eu-west-1/zones"],
        serde_json::json!(["eu-west-1a", "eu-west-1b"]),
        "{p}"
    );
    assert_eq!(
        p["123456789012/us-west-2/zones"],
        serde_json::json!(["us-west-2a", "us-west-2b"]),
        "{p}"
    );
    assert_eq!(p["123456789012/eu-west-1/keys"], 1, "{p}");
    assert_eq!(p["123456789012/us-west-2/keys"], 1, "{p}");
    assert_eq!(p["123456789012/us-east-1/keys"], 0, "{p}");
    // IAM is each account's own.
    assert_eq!(
        p["123456789012/roles"],
        serde_json::json!(["edge-ops"]),
        "{p}"
    );
    assert_eq!(
        p["222222222222/roles"],
        serde_json::json!(["tenant-nodes"]),
        "{p}"
    );
    // A lock was taken in each account and region touched.
    for place in [
        "123456789012/us-east-1",
        "123456789012/eu-west-1",
        "123456789012/us-west-2",
        "222222222222/us-east-1",
    ] {
        assert_eq!(p[format!("{place}/locks")], true, "{place}: {p}");
    }

    // Each instance's resources are read back as its own: nothing to do.
    m.bp(d, &["plan", "multi.rhai", "--detailed-exitcode"], 0);
    // A fleet's table names every place a blueprint makes resources in.
    let fleet = m.bp(d, &["plan", "--all", "."], 0);
    assert!(
        fleet.contains("us-east-1 + 222222222222/us-east-1, eu-west-1, us-west-2  no changes"),
        "{fleet}"
    );

    // A lock left in one region (a killed apply's) stops an apply, and
    // `bp lock` shows and breaks it there.
    let lock_item = |op: &str| {
        format!(
            "import boto3, json\nd = boto3.client('dynamodb', endpoint_url='{url}', region_name='eu-west-1', aws_access_key_id='t', aws_secret_access_key='t')\n{op}",
            url = m.url
        )
    };
    m.python(&[
        "-c",
        &lock_item("d.put_item(TableName='blueprint-locks', Item={'blueprint': {'S': 'multi'}, 'token': {'S': 'x'}, 'holder': {'S': json.dumps({'user': 'ci', 'host': 'runner-7', 'pid': 4242, 'command': 'bp apply', 'started': '2026-12-08T00:00:00Z'})}})"),
    ]);
    let status = m.bp(d, &["lock", "status", "multi.rhai"], 0);
    assert!(
        status.contains(
            "Blueprint multi is locked in aws:eu-west-1 by ci on runner-7 (process 4242)"
        ),
        "{status}"
    );
    assert!(
        status.contains("Blueprint multi is not locked in aws:us-east-1."),
        "{status}"
    );
    assert!(
        status.contains("Blueprint multi is not locked in aws:222222222222/us-east-1."),
        "{status}"
    );
    let err = m.bp(d, &["apply", "multi.rhai", "--auto-approve"], 1);
    assert!(
        err.contains("blueprint multi is locked by ci on runner-7"),
        "{err}"
    );
    let out = m.bp(d, &["lock", "break", "multi.rhai", "--auto-approve"], 0);
    assert!(
        out.contains("Removed the lock of blueprint multi in aws:eu-west-1."),
        "{out}"
    );
    let left = m.python_json(&[
        "-c",
        &lock_item("print(json.dumps('Item' in d.get_item(TableName='blueprint-locks', Key={'blueprint': {'S': 'multi'}})))"),
    ]);
    assert_eq!(left, false);

    // A region dropped from the loop: the instance the script no longer
    // makes is read all the same (the apply recorded it), and what the
    // blueprint has there is deleted.
    let one = ["--var", "regions=eu-west-1"];
    let plan = m.bp(d, &[&["plan", "multi.rhai"][..], &one].concat(), 0);
    assert!(plan.contains("in aws:us-west-2:"), "{plan}");
    assert!(plan.contains("- us-west-2:vpc.edge"), "{plan}");
    assert!(plan.contains("- us-west-2:kms_key.edge"), "{plan}");
    assert!(
        plan.contains("0 to add, 0 to change, 0 to replace, 7 to destroy"),
        "{plan}"
    );
    m.bp(
        d,
        &[&["apply", "multi.rhai", "--auto-approve"][..], &one].concat(),
        0,
    );
    let p = placed(&m);
    assert_eq!(
        p["123456789012/us-west-2/vpcs"],
        serde_json::json!([]),
        "{p}"
    );
    assert_eq!(p["123456789012/us-west-2/keys"], 0, "{p}");
    assert_eq!(
        p["123456789012/eu-west-1/vpcs"],
        serde_json::json!(["eu-west-1:vpc.edge"]),
        "{p}"
    );
    m.bp(
        d,
        &[&["plan", "multi.rhai", "--detailed-exitcode"][..], &one].concat(),
        0,
    );

    // An alias that now means another place would leave its resources
    // behind: refused, before anything changes.
    let moved = [&one[..], &["--var", "tenant_region=us-east-2"]].concat();
    let err = m.bp(d, &[&["plan", "multi.rhai"][..], &moved].concat(), 1);
    assert!(
        err.contains("provider instance `tenant` held the blueprint's resources in aws:222222222222/us-east-1 when it was last applied, and is aws:222222222222/us-east-2 now"),
        "{err}"
    );

    // Destroy deletes what each instance holds, each with its own clients.
    let out = m.bp(
        d,
        &[&["destroy", "multi.rhai", "--auto-approve"][..], &one].concat(),
        0,
    );
    assert!(out.contains("12 deleted"), "{out}");
    let p = placed(&m);
    for (k, v) in p.as_object().unwrap() {
        if k.ends_with("/vpcs") {
            assert_eq!(v, &serde_json::json!([]), "{k}: {p}");
        }
    }
    assert_eq!(p["222222222222/roles"], serde_json::json!([]), "{p}");
}

/// Each mistake is an error at `bp check`, with the file, line and column,
/// before any AWS call.
#[test]
fn provider_mistakes_are_errors_at_check() {
    let cases = [
        (
            r#"let p = aws(#{ region: "eu-wset-1" });"#,
            "`eu-wset-1` is not an AWS region",
            "did you mean eu-west-1?",
        ),
        (
            r#"let p = aws(#{ region: "eu-west-1", assume_role: "platform" });"#,
            "assume_role `platform` is not the ARN of an IAM role",
            "arn:aws:iam::123456789012:role/platform",
        ),
        (
            r#"let p = aws(#{ region: "eu-west-1", external_id: "x" });"#,
            "external_id is given without assume_role",
            "add assume_role",
        ),
        (
            r#"aws(#{ region: "eu-west-1", alias: "a" });
aws(#{ region: "us-east-2", alias: "a" });"#,
            "provider alias `a` is taken by another provider instance (region eu-west-1)",
            "give each instance its own alias",
        ),
        (
            r#"let eu = aws(#{ region: "eu-west-1" });
let home = vpc("home", #{ cidr: "10.0.0.0/16", azs: 1, private_subnets: ["10.0.0.0/24"] });
let admin = security_group(home, "admin", #{});
let v = vpc("edge", #{ cidr: "10.1.0.0/16", azs: 1, private_subnets: ["10.1.0.0/24"], provider: eu });
security_group(v, "web", #{ ingress: [rule(#{ protocol: "tcp", port: 443, source: admin })] });"#,
            "eu-west-1:security_group.edge/web (eu-west-1) refers to security_group.home/admin, which is in region us-east-1: AWS cannot use it there",
            "declare what eu-west-1:security_group.edge/web needs with the same provider",
        ),
        (
            r#"let other = aws(#{ region: "us-east-1", assume_role: "arn:aws:iam::222222222222:role/p" });
let key = kms_key("k", #{});
s3_bucket("bp-provider-check", #{ encryption_key: key, provider: other });"#,
            "refers to kms_key.k, which is in another account (the command line's)",
            "with the same provider",
        ),
        (
            r#"let v = vpc("edge", #{ cidr: "10.1.0.0/16", azs: ["us-east-1a"], private_subnets: ["10.1.0.0/24"], provider: aws(#{ region: "eu-west-1" }) });"#,
            "availability zone `us-east-1a` is not in region eu-west-1",
            "eu-west-1 has eu-west-1a",
        ),
        (
            r#"let v = vpc("edge", #{ cidr: "10.1.0.0/16", azs: 1, private_subnets: ["10.1.0.0/24"] });
subnet(v, "x", #{ cidr: "10.1.9.0/24", az: "us-east-1a", provider: aws(#{ region: "eu-west-1" }) });"#,
            "unknown option `provider` for subnet",
            "subnet takes",
        ),
    ];
    for (script, said, hint) in cases {
        let out = Test::new()
            .file("b.rhai", script)
            .args(["check", "b.rhai"])
            .status(1)
            .run();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(said), "{script}\n---\n{err}");
        assert!(err.contains(hint), "{script}\n---\n{err}");
        assert!(err.contains("b.rhai:"), "{script}\n---\n{err}");
    }
}

/// A blueprint reads the outputs another published in another region
/// through a provider instance, tags them as read there, and keeps that
/// one from being destroyed while it reads them.
#[test]
fn outputs_are_read_from_another_region_through_a_provider_instance() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("src.rhai"),
        r#"output("purpose", "orders database", #{ description: "what the reader's group guards" });"#,
    )
    .unwrap();
    std::fs::write(
        d.join("reader.rhai"),
        r#"
let eu = aws(#{ region: "eu-west-1" });
let o = blueprint_outputs("src", #{ provider: eu });
let v = vpc("reader", #{ cidr: "10.40.0.0/16", azs: 1, private_subnets: ["10.40.0.0/24"], provider: eu });
security_group(v, "db", #{ description: o.purpose });
"#,
    )
    .unwrap();
    m.bp(
        d,
        &[
            "apply",
            "src.rhai",
            "--region",
            "eu-west-1",
            "--auto-approve",
        ],
        0,
    );
    // From us-east-1, the outputs are found only through the instance.
    let out = m.bp(d, &["apply", "reader.rhai", "--auto-approve"], 0);
    assert!(out.contains("Apply complete"), "{out}");
    let live = m.python_json(&[
        "-c",
        &format!(
            "import boto3, json\nkw = dict(endpoint_url='{url}', region_name='eu-west-1', aws_access_key_id='t', aws_secret_access_key='t')\nec2, ssm = boto3.client('ec2', **kw), boto3.client('ssm', **kw)\ng = ec2.describe_security_groups(Filters=[{{'Name': 'tag:blueprint:name', 'Values': ['reader']}}])['SecurityGroups']\nt = ssm.list_tags_for_resource(ResourceType='Parameter', ResourceId='/blueprint/src/outputs/purpose')['TagList']\nprint(json.dumps({{'groups': [x['Description'] for x in g], 'tags': {{x['Key']: x['Value'] for x in t}}}}))",
            url = m.url
        ),
    ]);
    assert_eq!(
        live["groups"],
        serde_json::json!(["orders database"]),
        "{live}"
    );
    assert!(
        live["tags"].get("blueprint:reader:reader").is_some(),
        "{live}"
    );
    m.bp(d, &["plan", "reader.rhai", "--detailed-exitcode"], 0);
    // The source is read: its destroy is refused.
    let err = m.bp(
        d,
        &[
            "destroy",
            "src.rhai",
            "--region",
            "eu-west-1",
            "--auto-approve",
        ],
        1,
    );
    assert!(err.contains("is read by blueprint reader"), "{err}");
    m.bp(d, &["destroy", "reader.rhai", "--auto-approve"], 0);
    m.bp(
        d,
        &[
            "destroy",
            "src.rhai",
            "--region",
            "eu-west-1",
            "--auto-approve",
        ],
        0,
    );
}

/// A cluster takes its VPC's provider instance when given none, and all a
/// cluster's own declarations follow it: node groups, roles, access
/// entries, and what `c.karpenter(...)` declares (its roles, queue, rules
/// and instance profile). In-cluster objects keep their cluster's name.
#[test]
fn a_clusters_declarations_follow_its_vpcs_provider_instance() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("eu.rhai"),
        r#"
let eu = aws(#{ region: "eu-west-1" });
let v = vpc("edge", #{ cidr: "10.50.0.0/16", azs: 2, private_subnets: ["10.50.0.0/24", "10.50.1.0/24"], nat: "none", provider: eu });
let c = cluster("edge", #{ version: "1.33", vpc: v, subnets: v.private_subnets });
c.node_group("apps", #{ instance_types: ["m6i.large"], min: 1, desired: 1, max: 3 });
c.karpenter(#{ version: "1.14.1" });
c.backups(#{ bucket: s3_bucket("bp-edge-backups", #{ provider: eu }), schedules: [#{ name: "nightly", cron: "0 1 * * *", ttl_days: 7 }] });
"#,
    )
    .unwrap();
    let checked: Json =
        serde_json::from_str(&m.bp(dir.path(), &["check", "eu.rhai", "--json"], 0)).unwrap();
    let plan: Json =
        serde_json::from_str(&m.bp(dir.path(), &["plan", "eu.rhai", "--json"], 0)).unwrap();
    let places: std::collections::BTreeMap<String, String> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["address"].as_str().unwrap().to_string(),
                c["provider"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for a in [
        "eu-west-1:cluster.edge",
        "eu-west-1:iam_role.edge-cluster",
        "eu-west-1:node_group.edge/apps",
        "eu-west-1:iam_role.edge-node",
        "eu-west-1:iam_role.edge-karpenter-node",
        "eu-west-1:iam_role.edge-karpenter",
        "eu-west-1:instance_profile.edge-karpenter-node",
        "eu-west-1:sqs_queue.edge-karpenter",
        "eu-west-1:event_rule.edge-karpenter-spot-interruption",
        "eu-west-1:eks_addon.edge/eks-pod-identity-agent",
        "eu-west-1:pod_identity.edge/kube-system/karpenter",
        "eu-west-1:s3_bucket.bp-edge-backups",
        "eu-west-1:iam_role.edge-velero",
    ] {
        assert_eq!(
            places.get(a).map(String::as_str),
            Some("aws:eu-west-1"),
            "{a}: {places:?}"
        );
    }
    assert!(
        places
            .keys()
            .any(|a| a.starts_with("eu-west-1:access_entry.edge/")),
        "{places:?}"
    );
    assert_eq!(
        places
            .get("helm_release.edge/kube-system/karpenter")
            .map(String::as_str),
        Some("kubernetes:edge"),
        "{places:?}"
    );
    assert!(
        !places
            .keys()
            .any(|a| a.starts_with("iam_role.") || a.starts_with("sqs_queue.")),
        "nothing of the cluster's is made with the command line's provider: {places:?}"
    );
    // Velero is told its bucket's region.
    let velero = checked["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == "helm_release.edge/velero/velero")
        .expect("the Velero release");
    assert!(
        velero
            .to_string()
            .contains(r#""config":{"region":"eu-west-1"}"#),
        "{velero}"
    );
}

/// What exists in another region is looked up there: an existing VPC, its
/// subnets and a security group, through the instance given; what is
/// declared in that VPC is made there.
#[test]
fn existing_resources_are_looked_up_in_their_instances_region() {
    let m = Moto::start();
    let made = m.python_json(&[
        "-c",
        &format!(
            "import boto3, json\nec2 = boto3.client('ec2', endpoint_url='{url}', region_name='eu-west-1', aws_access_key_id='t', aws_secret_access_key='t')\nv = ec2.create_vpc(CidrBlock='10.60.0.0/16')['Vpc']['VpcId']\ns = ec2.create_subnet(VpcId=v, CidrBlock='10.60.1.0/24', AvailabilityZone='eu-west-1b')['Subnet']['SubnetId']\ng = ec2.create_security_group(GroupName='legacy', Description='made elsewhere', VpcId=v)['GroupId']\nprint(json.dumps({{'vpc': v, 'subnet': s, 'group': g}}))",
            url = m.url
        ),
    ]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("there.rhai"),
        r#"
let eu = aws(#{ region: "eu-west-1" });
let v = existing_vpc(var("vpc"), #{ provider: eu });
let legacy = existing_security_group(var("group"), #{ provider: eu });
let found = v.subnets(#{ ids: [var("subnet")] });
security_group(v, "app", #{ description: "subnets " + found.len(), ingress: [rule(#{ protocol: "tcp", port: 443, source: legacy })] });
"#,
    )
    .unwrap();
    let d = dir.path();
    m.bp(
        d,
        &[
            "check",
            "there.rhai",
            "--var",
            "vpc=vpc-0123456789abcdef0",
            "--var",
            "group=sg-0123456789abcdef0",
            "--var",
            "subnet=subnet-0123456789abcdef0",
        ],
        0,
    );
    let vars = [
        "--var".to_string(),
        format!("vpc={}", made["vpc"].as_str().unwrap()),
        "--var".to_string(),
        format!("group={}", made["group"].as_str().unwrap()),
        "--var".to_string(),
        format!("subnet={}", made["subnet"].as_str().unwrap()),
    ];
    let vars: Vec<&str> = vars.iter().map(String::as_str).collect();
    let out = m.bp(
        d,
        &[&["apply", "there.rhai", "--auto-approve"][..], &vars].concat(),
        0,
    );
    assert!(
        out.contains("+ eu-west-1:security_group.") && out.contains("/app: created"),
        "{out}"
    );
    let live = m.python_json(&[
        "-c",
        &format!(
            "import boto3, json\nec2 = boto3.client('ec2', endpoint_url='{url}', region_name='eu-west-1', aws_access_key_id='t', aws_secret_access_key='t')\ng = ec2.describe_security_groups(Filters=[{{'Name': 'group-name', 'Values': ['app']}}])['SecurityGroups']\nprint(json.dumps([{{'vpc': x['VpcId'], 'description': x['Description'], 'sources': [p['GroupId'] for r in x['IpPermissions'] for p in r['UserIdGroupPairs']]}} for x in g]))",
            url = m.url
        ),
    ]);
    assert_eq!(live[0]["vpc"], made["vpc"], "{live}");
    assert_eq!(live[0]["description"], "subnets 1", "{live}");
    assert_eq!(live[0]["sources"][0], made["group"], "{live}");
    m.bp(
        d,
        &[&["plan", "there.rhai", "--detailed-exitcode"][..], &vars].concat(),
        0,
    );
    m.bp(
        d,
        &[&["destroy", "there.rhai", "--auto-approve"][..], &vars].concat(),
        0,
    );

    // `bp adopt` takes over a VPC made elsewhere in the instance's region.
    std::fs::write(
        d.join("adopt.rhai"),
        r#"vpc("found", #{ cidr: "10.60.0.0/16", azs: 1, provider: aws(#{ region: "eu-west-1" }) });"#,
    )
    .unwrap();
    let vpc = made["vpc"].as_str().unwrap();
    let out = m.bp(d, &["adopt", "adopt.rhai", "eu-west-1:vpc.found", vpc], 0);
    assert!(out.contains("as eu-west-1:vpc.found"), "{out}");
    let plan = m.bp(d, &["plan", "adopt.rhai"], 0);
    assert!(!plan.contains("+ eu-west-1:vpc.found"), "{plan}");
    let tags = m.python_json(&[
        "-c",
        &format!(
            "import boto3, json\nec2 = boto3.client('ec2', endpoint_url='{url}', region_name='eu-west-1', aws_access_key_id='t', aws_secret_access_key='t')\nv = ec2.describe_vpcs(VpcIds=['{vpc}'])['Vpcs'][0]\nprint(json.dumps({{t['Key']: t['Value'] for t in v.get('Tags', [])}}))",
            url = m.url
        ),
    ]);
    assert_eq!(tags["blueprint:address"], "eu-west-1:vpc.found", "{tags}");
    assert_eq!(tags["blueprint:name"], "adopt", "{tags}");
}

/// An instance profile is found by its IAM path, from every region of the
/// account: a host of a provider instance keeps its profile, which the
/// command line's read does not take for one of its own to delete.
#[test]
fn a_profile_seen_from_every_region_is_its_instances() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("host.rhai"),
        r#"
let eu = aws(#{ region: "eu-west-1" });
let v = vpc("edge", #{ cidr: "10.70.0.0/16", azs: 1, public_subnets: ["10.70.0.0/24"], nat: "none", provider: eu });
let r = iam_role("edge-host", #{ service: "ec2.amazonaws.com", provider: eu });
instance("host", #{ subnet: v.public_subnets[0], instance_type: "t3.small", ami: "al2023", role: r });
iam_role("home", #{ service: "ec2.amazonaws.com" });
"#,
    )
    .unwrap();
    let d = dir.path();
    let out = m.bp(d, &["apply", "host.rhai", "--auto-approve"], 0);
    assert!(
        out.contains("+ eu-west-1:instance_profile.host: created"),
        "{out}"
    );
    m.bp(d, &["plan", "host.rhai", "--detailed-exitcode"], 0);
    let out = m.bp(d, &["destroy", "host.rhai", "--auto-approve"], 0);
    assert!(
        out.contains("- eu-west-1:instance_profile.host: deleted"),
        "{out}"
    );
}

/// A cluster of a provider instance with what is declared on it (a node
/// group, an add-on, an IRSA role, an access entry, a Pod Identity
/// association, control plane logs) is made in the instance's region,
/// read back as the instance's, and destroyed.
#[test]
fn a_cluster_of_a_provider_instance_applies_converges_and_destroys() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("cl.rhai"),
        r#"
let eu = aws(#{ region: "eu-west-1" });
let v = vpc("edge", #{ cidr: "10.50.0.0/16", azs: 2, private_subnets: ["10.50.0.0/24", "10.50.1.0/24"], nat: "none", provider: eu });
let c = cluster("edge", #{ version: "1.33", vpc: v, subnets: v.private_subnets, irsa: true });
c.node_group("apps", #{ instance_types: ["m6i.large"], min: 1, desired: 1, max: 3 });
c.addon("vpc-cni", #{});
c.irsa_role("edge-app", #{ namespace: "app", service_account: "app" });
c.access_entry(iam_role("edge-admin", #{ service: "ec2.amazonaws.com", provider: eu }), #{});
c.pod_identity("app", "app2", pod_identity_role("edge-app2", #{ provider: eu }), #{});
control_plane_logs(c, #{ retention_days: 7 });
log_group("home-logs", #{ retention_days: 7 });
"#,
    )
    .unwrap();
    let d = dir.path();
    let out = m.bp(d, &["apply", "cl.rhai", "--auto-approve"], 0);
    assert!(out.contains("Apply complete: 18 created"), "{out}");
    m.bp(d, &["plan", "cl.rhai", "--detailed-exitcode"], 0);
    let found = m.python_json(&[
        "-c",
        &format!(
            "import boto3, json\nkw = dict(endpoint_url='{url}', aws_access_key_id='t', aws_secret_access_key='t')\neks = {{r: boto3.client('eks', region_name=r, **kw) for r in ['eu-west-1', 'us-east-1']}}\nlogs = {{r: boto3.client('logs', region_name=r, **kw) for r in ['eu-west-1', 'us-east-1']}}\nprint(json.dumps({{r: {{'clusters': eks[r].list_clusters()['clusters'], 'groups': sorted(g['logGroupName'] for g in logs[r].describe_log_groups()['logGroups'])}} for r in eks}}))",
            url = m.url
        ),
    ]);
    assert_eq!(
        found["eu-west-1"]["clusters"],
        serde_json::json!(["edge"]),
        "{found}"
    );
    assert_eq!(
        found["us-east-1"]["clusters"],
        serde_json::json!([]),
        "{found}"
    );
    assert_eq!(
        found["eu-west-1"]["groups"],
        serde_json::json!(["/aws/eks/edge/cluster"]),
        "{found}"
    );
    assert_eq!(
        found["us-east-1"]["groups"],
        serde_json::json!(["home-logs"]),
        "{found}"
    );
    let out = m.bp(d, &["destroy", "cl.rhai", "--auto-approve"], 0);
    assert!(out.contains("18 deleted"), "{out}");
}

const NAT: &str = r#"
vpc("home", #{ cidr: "10.0.0.0/16", azs: 1, public_subnets: ["10.0.0.0/24"], private_subnets: ["10.0.1.0/24"] });
vpc("edge", #{ cidr: "10.1.0.0/16", azs: 1, public_subnets: ["10.1.0.0/24"], private_subnets: ["10.1.1.0/24"], provider: aws(#{ region: "eu-west-1" }) });
"#;

/// Each resource is priced in its own region: a NAT gateway of an
/// instance in eu-west-1 at eu-west-1's rate, the command line's at
/// us-east-1's.
#[test]
fn resources_of_an_instance_are_priced_in_its_region() {
    let out = Test::new()
        .file("nat.rhai", NAT)
        .args(["cost", "nat.rhai", "--json"])
        .run();
    let cost: Json = serde_json::from_slice(&out.stdout).unwrap();
    let monthly = |address: &str| {
        cost["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["address"] == address)
            .map(|r| r["monthly"].as_f64().unwrap())
    };
    // $0.045 an hour (and per GB) in us-east-1, $0.048 in eu-west-1.
    let home = monthly("nat_gateway.home/a").expect("the NAT of home");
    let edge = monthly("eu-west-1:nat_gateway.edge/a").expect("the NAT of edge");
    assert!(
        (edge / home - 0.048 / 0.045).abs() < 0.01,
        "{home} {edge}: {cost}"
    );
    // And so does a plan.
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("nat.rhai"), NAT).unwrap();
    let plan: Json =
        serde_json::from_str(&m.bp(dir.path(), &["plan", "nat.rhai", "--json"], 0)).unwrap();
    let after = |address: &str| {
        plan["cost"]["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["address"] == address)
            .and_then(|c| c["after"].as_f64())
    };
    assert_eq!(after("nat_gateway.home/a"), Some(home), "{plan}");
    assert_eq!(after("eu-west-1:nat_gateway.edge/a"), Some(edge), "{plan}");
}

/// An RDS instance and an EFS file system take their subnets' provider
/// instance, with all they declare (subnet and parameter groups, security
/// groups, mount targets, access points).
#[test]
fn databases_and_file_systems_take_their_subnets_instance() {
    let out = Test::new()
        .file(
            "data.rhai",
            r#"
let v = vpc("data", #{ cidr: "10.80.0.0/16", azs: 2, private_subnets: ["10.80.0.0/24", "10.80.1.0/24"], nat: "none", provider: aws(#{ region: "eu-west-1" }) });
rds_postgres("orders", #{ vpc: v, subnets: v.private_subnets, instance_class: "db.t4g.micro", engine_version: "16.4", username: "app", password: "long-enough-1", storage_gb: 20, parameters: #{ log_min_duration_statement: "500" } });
let fs = efs("shared", #{ vpc: v, subnets: v.private_subnets });
fs.access_point("app", #{ path: "/app", uid: 1000, gid: 1000 });
"#,
        )
        .args(["check", "data.rhai", "--json"])
        .run();
    let checked: Json = serde_json::from_slice(&out.stdout).unwrap();
    let addresses: Vec<&str> = checked["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["address"].as_str().unwrap())
        .collect();
    for kind in [
        "rds_postgres.",
        "db_subnet_group.",
        "db_parameter_group.",
        "efs.",
        "efs_mount_target.",
        "efs_access_point.",
        "security_group.",
    ] {
        assert!(
            addresses
                .iter()
                .any(|a| a.starts_with(&format!("eu-west-1:{kind}"))),
            "{kind}: {addresses:?}"
        );
    }
    assert!(
        addresses.iter().all(|a| a.starts_with("eu-west-1:")),
        "{addresses:?}"
    );
}
