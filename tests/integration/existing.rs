//! References to what exists outside the blueprint (`existing_vpc`,
//! `v.subnets`, `existing_security_group`, `existing_role`) against the
//! emulator: made with boto3, used by a blueprint, never changed or
//! deleted by it; checked with boto3.

use crate::harness::Test;
use crate::moto::Moto;
use serde_json::Value as Json;

const BP: &str = r#"
let v = existing_vpc(var("vpc_id"));
let nets = v.subnets(#{ tags: #{ tier: var("tier", "private") } });
let ops = existing_security_group(var("sg_id"));
let admin = existing_role(var("role_arn"));
let app = security_group(v, "app", #{ ingress: [
    rule(#{ protocol: "tcp", port: 443, cidr: v.cidr }),
    rule(#{ protocol: "tcp", port: 8443, source: ops }),
] });
subnet(v, "extra", #{ cidr: "10.50.9.0/24", az: "us-east-1a" });
let c = cluster("ex", #{ version: "1.33", vpc: v, subnets: nets, security_groups: [app, ops] });
c.access_entry(admin, #{ policies: [#{ policy: "AmazonEKSClusterAdminPolicy", scope: "cluster" }] });
"#;

/// A VPC with two private subnets (tagged tier=private), a public one, a
/// security group, and an IAM role, none of them the blueprint's.
fn make_existing(m: &Moto) -> Json {
    let script = format!(
        "import boto3, json\n\
ec2 = {}\n\
iam = {}\n\
vpc = ec2.create_vpc(CidrBlock='10.50.0.0/16')['Vpc']['VpcId']\n\
ec2.create_tags(Resources=[vpc], Tags=[{{'Key': 'Name', 'Value': 'shared'}}])\n\
tag = lambda s, tier: (ec2.create_tags(Resources=[s], Tags=[{{'Key': 'tier', 'Value': tier}}]), s)[1]\n\
subnet = lambda cidr, az, tier: tag(ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=az)['Subnet']['SubnetId'], tier)\n\
private = [subnet('10.50.2.0/24', 'us-east-1b', 'private'), subnet('10.50.1.0/24', 'us-east-1a', 'private')]\n\
public = subnet('10.50.100.0/24', 'us-east-1a', 'public')\n\
other = ec2.create_vpc(CidrBlock='10.60.0.0/16')['Vpc']['VpcId']\n\
foreign = ec2.create_subnet(VpcId=other, CidrBlock='10.60.1.0/24', AvailabilityZone='us-east-1a')['Subnet']['SubnetId']\n\
sg = ec2.create_security_group(GroupName='ops', Description='ops', VpcId=vpc)['GroupId']\n\
role = iam.create_role(RoleName='ops-admin', Path='/teams/', AssumeRolePolicyDocument=json.dumps({{'Version': '2012-10-17', 'Statement': []}}))['Role']['Arn']\n\
print(json.dumps({{'vpc': vpc, 'private': private, 'public': public, 'foreign': foreign, 'sg': sg, 'role': role}}))",
        m.boto3("ec2"),
        m.boto3("iam")
    );
    m.python_json(&["-c", &script])
}

/// What the blueprint made, and whether what it uses is still there.
fn state(m: &Moto, made: &Json) -> Json {
    let script = format!(
        "import boto3, json, sys\n\
ec2 = {}\n\
eks = {}\n\
iam = {}\n\
made = json.loads(sys.argv[1])\n\
c = eks.describe_cluster(name='ex')['cluster'] if 'ex' in eks.list_clusters()['clusters'] else None\n\
app = ec2.describe_security_groups(Filters=[{{'Name': 'group-name', 'Values': ['app']}}])['SecurityGroups']\n\
extra = ec2.describe_subnets(Filters=[{{'Name': 'cidr-block', 'Values': ['10.50.9.0/24']}}])['Subnets']\n\
entries = eks.list_access_entries(clusterName='ex')['accessEntries'] if c else []\n\
print(json.dumps({{\n\
  'cluster_subnets': c and c['resourcesVpcConfig']['subnetIds'],\n\
  'cluster_groups': c and sorted(c['resourcesVpcConfig']['securityGroupIds']),\n\
  'app': app and {{'id': app[0]['GroupId'], 'vpc': app[0]['VpcId'], 'ingress': sorted([(p['FromPort'], [r['CidrIp'] for r in p['IpRanges']], [g['GroupId'] for g in p['UserIdGroupPairs']]) for p in app[0]['IpPermissions']])}},\n\
  'extra_vpc': extra and extra[0]['VpcId'],\n\
  'entries': entries,\n\
  'vpc_left': len(ec2.describe_vpcs(VpcIds=[made['vpc']])['Vpcs']),\n\
  'subnets_left': len(ec2.describe_subnets(SubnetIds=made['private'])['Subnets']),\n\
  'sg_left': len(ec2.describe_security_groups(GroupIds=[made['sg']])['SecurityGroups']),\n\
  'role_left': iam.get_role(RoleName='ops-admin')['Role']['Arn'],\n\
}}))",
        m.boto3("ec2"),
        m.boto3("eks"),
        m.boto3("iam")
    );
    m.python_json(&["-c", &script, &made.to_string()])
}

fn vars(made: &Json) -> Vec<String> {
    [
        ("vpc_id", &made["vpc"]),
        ("sg_id", &made["sg"]),
        ("role_arn", &made["role"]),
    ]
    .iter()
    .flat_map(|(k, v)| ["--var".to_string(), format!("{k}={}", v.as_str().unwrap())])
    .collect()
}

fn args<'a>(head: &[&'a str], vars: &'a [String]) -> Vec<&'a str> {
    head.iter()
        .copied()
        .chain(vars.iter().map(String::as_str))
        .collect()
}

#[test]
fn existing_network_and_role_are_used_never_changed() {
    let m = Moto::start();
    let made = make_existing(&m);
    let vars = vars(&made);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bp.rhai"), BP).unwrap();
    let d = dir.path();

    let out = m.bp(d, &args(&["plan", "bp.rhai"], &vars), 0);
    let vpc = made["vpc"].as_str().unwrap();
    assert!(
        out.contains(&format!("+ security_group.{vpc}/app")),
        "{out}"
    );
    assert!(out.contains("+ cluster.ex"), "{out}");
    // Nothing that exists is planned, neither as a create nor as a change.
    assert!(!out.contains("+ vpc."), "{out}");
    assert!(
        !out.contains(&format!("subnet.{}", made["private"][0].as_str().unwrap())),
        "{out}"
    );
    assert!(!out.contains("iam_role.ops-admin"), "{out}");

    m.bp(d, &args(&["apply", "bp.rhai", "--auto-approve"], &vars), 0);
    let out = m.bp(
        d,
        &args(&["plan", "bp.rhai", "--detailed-exitcode"], &vars),
        0,
    );
    assert!(out.contains("No changes."), "{out}");

    let s = state(&m, &made);
    // The tagged subnets, sorted by zone (1a before 1b).
    assert_eq!(
        s["cluster_subnets"],
        serde_json::json!([made["private"][1], made["private"][0]]),
        "{s}"
    );
    let app = s["app"]["id"].as_str().unwrap();
    let mut groups = vec![app, made["sg"].as_str().unwrap()];
    groups.sort();
    assert_eq!(s["cluster_groups"], serde_json::json!(groups), "{s}");
    assert_eq!(s["app"]["vpc"], made["vpc"], "{s}");
    assert_eq!(
        s["app"]["ingress"],
        serde_json::json!([[443, ["10.50.0.0/16"], []], [8443, [], [made["sg"]]]]),
        "{s}"
    );
    assert_eq!(s["extra_vpc"], made["vpc"], "{s}");
    assert_eq!(s["entries"], serde_json::json!([made["role"]]), "{s}");

    // Destroy removes what the blueprint made, and nothing it only used.
    m.bp(
        d,
        &args(&["destroy", "bp.rhai", "--auto-approve"], &vars),
        0,
    );
    let s = state(&m, &made);
    assert_eq!(s["cluster_subnets"], Json::Null, "{s}");
    assert_eq!(s["app"], serde_json::json!([]), "{s}");
    assert_eq!(
        (&s["vpc_left"], &s["subnets_left"], &s["sg_left"]),
        (
            &serde_json::json!(1),
            &serde_json::json!(2),
            &serde_json::json!(1)
        ),
        "{s}"
    );
    assert_eq!(s["role_left"], made["role"], "{s}");
}

#[test]
fn a_missing_existing_resource_is_an_error_at_its_call() {
    let m = Moto::start();
    let made = make_existing(&m);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bp.rhai"), BP).unwrap();
    let d = dir.path();
    let with = |k: &str, v: &str| -> Vec<String> {
        let mut out = vars(&made);
        let i = out
            .iter()
            .position(|a| a.starts_with(&format!("{k}=")))
            .unwrap();
        out[i] = format!("{k}={v}");
        out
    };

    // Each missing reference fails at its own call (role: line 5).
    for (var, id, message, line) in [
        (
            "vpc_id",
            "vpc-0000000000000000f",
            "VPC vpc-0000000000000000f does not exist in us-east-1",
            2,
        ),
        (
            "sg_id",
            "sg-00000000000000000",
            "security group sg-00000000000000000 does not exist",
            4,
        ),
        (
            "role_arn",
            "arn:aws:iam::123456789012:role/teams/nobody",
            "IAM role arn:aws:iam::123456789012:role/teams/nobody does not exist",
            5,
        ),
    ] {
        let out = m.bp(d, &args(&["plan", "bp.rhai"], &with(var, id)), 1);
        assert!(out.contains(message), "{out}");
        assert!(out.contains(&format!("bp.rhai:{line}:")), "{out}");
    }

    let mut bad = vars(&made);
    bad.extend(["--var".into(), "tier=db".into()]);
    let out = m.bp(d, &args(&["plan", "bp.rhai"], &bad), 1);
    assert!(
        out.contains(&format!(
            "VPC {} has no subnets with tags tier=db",
            made["vpc"].as_str().unwrap()
        )),
        "{out}"
    );
    assert!(out.contains("bp.rhai:3:"), "{out}");

    // Subnets by id: one of another VPC is refused, by id.
    let by_ids = format!(
        "let v = existing_vpc(\"{}\");\nlet s = v.subnets(#{{ ids: [\"{}\", \"{}\"] }});\n",
        made["vpc"].as_str().unwrap(),
        made["public"].as_str().unwrap(),
        made["foreign"].as_str().unwrap()
    );
    std::fs::write(d.join("ids.rhai"), by_ids).unwrap();
    let out = m.bp(d, &["plan", "ids.rhai"], 1);
    assert!(
        out.contains(&format!(
            "subnet {} is not a subnet of VPC {}",
            made["foreign"].as_str().unwrap(),
            made["vpc"].as_str().unwrap()
        )),
        "{out}"
    );
    // Nothing was made by the failed plans.
    let owned = m.owned("bp");
    assert!(
        owned.as_object().unwrap().values().all(|n| n == 0),
        "{owned}"
    );
}

/// `bp check` reads no AWS: the references stand for placeholders, and it
/// says so.
#[test]
fn check_takes_existing_references_as_placeholders() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bp.rhai"), BP).unwrap();
    let out = Test::new()
        .current_dir(dir.path())
        .args([
            "check",
            "bp.rhai",
            "--var",
            "vpc_id=vpc-0abc",
            "--var",
            "sg_id=sg-0abc",
            "--var",
            "role_arn=arn:aws:iam::123456789012:role/Admin",
        ])
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .status(0)
        .run();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("uses existing vpc vpc-0abc"), "{stdout}");
    assert!(
        stdout.contains("uses existing iam_role arn:aws:iam::123456789012:role/Admin"),
        "{stdout}"
    );
    assert!(
        stderr.contains("note: existing_vpc(...) stands for a placeholder here"),
        "{stderr}"
    );
    // A reference that is not an id is refused before any AWS call.
    let out = Test::new()
        .current_dir(dir.path())
        .args([
            "check",
            "bp.rhai",
            "--var",
            "vpc_id=default",
            "--var",
            "sg_id=sg-1",
            "--var",
            "role_arn=x",
        ])
        .status(1)
        .run();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "existing_vpc takes an id such as \"vpc-0123456789abcdef0\", not \"default\""
        ),
        "{stderr}"
    );
}

/// What the blueprint does not manage, it does not change: rules are not
/// added to an existing group, an existing role's trust is not touched
/// (a service account only names it), and an existing VPC's subnets come
/// from `subnets(...)`.
#[test]
fn existing_resources_are_not_changed_by_the_script() {
    Test::new()
        .file(
            "bp.rhai",
            r#"
            let sg = existing_security_group("sg-0abc");
            sg.add_ingress(rule(#{ protocol: "tcp", port: 22, cidr: "10.0.0.0/8" }));
            "#,
        )
        .args(["check", "bp.rhai"])
        .status(1)
        .stderr_contains("sg-0abc exists outside this blueprint, which does not manage it: it cannot take ingress rules from this blueprint")
        .stderr_contains("bp.rhai:2:")
        .run();
    Test::new()
        .file(
            "bp.rhai",
            r#"
            let v = existing_vpc("vpc-0abc");
            let s = v.private_subnets;
            "#,
        )
        .args(["check", "bp.rhai"])
        .status(1)
        .stderr_contains("use its subnets(#{ tags: #{ ... } }) or subnets(#{ ids: [...] })")
        .run();
    let out = Test::new()
        .file(
            "bp.rhai",
            r#"
            let c = existing_cluster("shared");
            let r = existing_role("arn:aws:iam::123456789012:role/apps/api");
            c.namespace("apps").service_account("api", #{ role: r });
            "#,
        )
        .args(["check", "bp.rhai", "--json"])
        .run();
    let v: Json = serde_json::from_slice(&out.stdout).unwrap();
    let resources = v["resources"].as_array().unwrap();
    assert!(resources.iter().all(|r| r["kind"] != "iam_role"), "{v}");
    let sa = resources
        .iter()
        .find(|r| r["kind"] == "service_account")
        .unwrap();
    assert_eq!(
        sa["spec"]["annotations"]["eks.amazonaws.com/role-arn"],
        "arn:aws:iam::123456789012:role/apps/api",
        "{sa}"
    );
    assert_eq!(v["existing"][0]["spec"]["name"], "api", "{v}");
}

/// Lint in a plan sees what was read about existing subnets: a node group
/// in one that gives public addresses on launch is a finding (BP006).
#[test]
fn plans_lint_node_groups_in_existing_public_subnets() {
    let m = Moto::start();
    let made = make_existing(&m);
    let public = made["public"].as_str().unwrap();
    m.python_json(&[
        "-c",
        &format!(
            "import boto3, json\nec2 = {}\nec2.modify_subnet_attribute(SubnetId='{public}', MapPublicIpOnLaunch={{'Value': True}})\nprint('{{}}')",
            m.boto3("ec2")
        ),
    ]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bp.rhai"),
        r#"
let v = existing_vpc(var("vpc_id"));
let c = cluster("ex", #{ version: "1.35", vpc: v, subnets: v.subnets(#{ tags: #{ tier: "private" } }),
    endpoint: #{ public: false, private: true }, secrets_key: kms_key("ex", #{}), logging: ["audit"] });
c.node_group("edge", #{ instance_types: ["t3.medium"], min: 1, max: 2, desired: 1,
    subnets: v.subnets(#{ tags: #{ tier: var("tier") } }) });
"#,
    )
    .unwrap();
    let vpc = format!("vpc_id={}", made["vpc"].as_str().unwrap());
    let out = m.bp(
        dir.path(),
        &["plan", "bp.rhai", "--var", &vpc, "--var", "tier=public"],
        0,
    );
    assert!(
        out.contains(&format!(
            "  warning[BP006]: node group edge runs in public subnets: {public}"
        )),
        "{out}"
    );
    let out = m.bp(
        dir.path(),
        &["plan", "bp.rhai", "--var", &vpc, "--var", "tier=private"],
        0,
    );
    assert!(!out.contains("BP006"), "{out}");
}

/// A team's blueprint on the platform team's cluster: `existing_cluster`
/// declares roles for its service accounts through the OIDC provider that
/// exists for the cluster's issuer, looked up when planning.
#[test]
fn roles_trust_service_accounts_of_an_existing_cluster() {
    let m = Moto::start();
    let made = m.python_json(&[
        "-c",
        &format!(
            "import boto3, json\n\
ec2, eks, iam = {}, {}, {}\n\
vpc = ec2.create_vpc(CidrBlock='10.70.0.0/16')['Vpc']['VpcId']\n\
subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=c, AvailabilityZone=z)['Subnet']['SubnetId'] for c, z in [('10.70.1.0/24', 'us-east-1a'), ('10.70.2.0/24', 'us-east-1b')]]\n\
role = iam.create_role(RoleName='platform-eks', AssumeRolePolicyDocument='{{}}')['Role']['Arn']\n\
issuer = eks.create_cluster(name='platform', roleArn=role, resourcesVpcConfig={{'subnetIds': subnets}})['cluster']['identity']['oidc']['issuer']\n\
print(json.dumps({{'issuer': issuer}}))",
            m.boto3("ec2"),
            m.boto3("eks"),
            m.boto3("iam")
        ),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("bp.rhai"),
        "let c = existing_cluster(var(\"cluster\", \"platform\"));\n\
         c.irsa_role(\"orders-api\", #{ namespace: \"orders\", service_account: \"api\" });\n",
    )
    .unwrap();
    // bp check reads nothing: the provider is a placeholder.
    m.bp(d, &["check", "bp.rhai"], 0);

    // A cluster without a provider for its issuer, or no such cluster: a
    // clear error at the call, before any change.
    let out = m.bp(d, &["plan", "bp.rhai"], 1);
    assert!(
        out.contains("cluster platform has no IAM OIDC provider for its issuer https://"),
        "{out}"
    );
    assert!(out.contains("bp.rhai:2:3"), "{out}");
    assert!(
        out.contains("eksctl utils associate-iam-oidc-provider"),
        "{out}"
    );
    let out = m.bp(d, &["plan", "bp.rhai", "--var", "cluster=nope"], 1);
    assert!(
        out.contains("cluster nope does not exist in us-east-1"),
        "{out}"
    );

    // The platform team makes the provider.
    let provider = m.python_json(&[
        "-c",
        &format!(
            "import boto3, json\niam = {}\niam.create_open_id_connect_provider(Url='{}', ClientIDList=['sts.amazonaws.com'], ThumbprintList=['9e99a48a9960b14926bb7f3b02e22da2b0ab7280'])\nprint(json.dumps(iam.list_open_id_connect_providers()['OpenIDConnectProviderList'][0]['Arn']))",
            m.boto3("iam"),
            made["issuer"].as_str().unwrap()
        ),
    ]);
    m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 0);
    m.bp(d, &["plan", "bp.rhai", "--detailed-exitcode"], 0);
    let trust = m.python_json(&[
        "-c",
        &format!(
            "import boto3, json\nprint(json.dumps({}.get_role(RoleName='orders-api')['Role']['AssumeRolePolicyDocument']))",
            m.boto3("iam")
        ),
    ]);
    let statement = &trust["Statement"][0];
    assert_eq!(statement["Principal"]["Federated"], provider, "{trust}");
    assert_eq!(
        statement["Action"], "sts:AssumeRoleWithWebIdentity",
        "{trust}"
    );
    let host = made["issuer"]
        .as_str()
        .unwrap()
        .trim_start_matches("https://");
    assert_eq!(
        statement["Condition"]["StringEquals"][format!("{host}:sub")],
        "system:serviceaccount:orders:api",
        "{trust}"
    );

    // Backups and service accounts with roles need the same trust: on an
    // existing cluster they are declared too.
    std::fs::write(
        d.join("backups.rhai"),
        "let c = existing_cluster(\"platform\");\n\
         c.backups(#{ bucket: s3_bucket(\"platform-velero-backups\", #{}), schedules: [#{ name: \"daily\", cron: \"0 3 * * *\" }] });\n\
         let reader = iam_role(\"reader\", #{ service: \"ec2.amazonaws.com\" });\n\
         c.existing_namespace(\"orders\").service_account(\"worker\", #{ role: reader });\n",
    )
    .unwrap();
    let out = Test::new()
        .current_dir(d)
        .args(["check", "backups.rhai", "--json"])
        .run();
    let checked: Json = serde_json::from_slice(&out.stdout).unwrap();
    let spec = |address: &str| {
        checked["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["address"] == address)
            .unwrap_or_else(|| panic!("{address} in {checked}"))["spec"]
            .clone()
    };
    let velero = spec("iam_role.platform-velero");
    assert_eq!(
        velero["irsa"]["service_account"], "velero-server",
        "{velero}"
    );
    let worker = &spec("iam_role.reader")["service_accounts"][0];
    assert_eq!(worker["service_account"], "worker", "{worker}");
    assert!(
        worker["provider"]
            .as_str()
            .unwrap()
            .ends_with("/id/PLACEHOLDER"),
        "bp check reads nothing: {worker}"
    );
}

/// A team's blueprint gives its role access to the platform team's
/// cluster: an access entry on an `existing_cluster` is created, read back
/// (a no-op plan), kept as declared and pruned when no longer declared,
/// while the platform's own entries are left alone.
#[test]
fn access_entries_are_declared_on_an_existing_cluster() {
    let m = Moto::start();
    m.python(&[
        "-c",
        &format!(
            "import boto3\n\
ec2, eks, iam = {}, {}, {}\n\
vpc = ec2.create_vpc(CidrBlock='10.71.0.0/16')['Vpc']['VpcId']\n\
subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=c, AvailabilityZone=z)['Subnet']['SubnetId'] for c, z in [('10.71.1.0/24', 'us-east-1a'), ('10.71.2.0/24', 'us-east-1b')]]\n\
role = iam.create_role(RoleName='platform-eks', AssumeRolePolicyDocument='{{}}')['Role']['Arn']\n\
eks.create_cluster(name='platform', roleArn=role, resourcesVpcConfig={{'subnetIds': subnets}}, accessConfig={{'authenticationMode': 'API_AND_CONFIG_MAP'}})\n\
ops = iam.create_role(RoleName='platform-ops', AssumeRolePolicyDocument='{{}}')['Role']['Arn']\n\
eks.create_access_entry(clusterName='platform', principalArn=ops)",
            m.boto3("ec2"),
            m.boto3("eks"),
            m.boto3("iam")
        ),
    ]);
    let entries = || {
        m.python_json(&[
            "-c",
            &format!(
                "import boto3, json\neks = {}\nprint(json.dumps(sorted(a.split('/')[-1] for a in eks.list_access_entries(clusterName='platform')['accessEntries'])))",
                m.boto3("eks")
            ),
        ])
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bp = |policy: &str| {
        format!(
            "let c = existing_cluster(\"platform\");\n\
             let deployer = iam_role(\"orders-deployer\", #{{ trust_policy: #{{ Version: \"2012-10-17\", Statement: [\n\
                 #{{ Effect: \"Allow\", Principal: #{{ AWS: \"arn:aws:iam::123456789012:root\" }}, Action: \"sts:AssumeRole\" }}] }} }});\n\
             {policy}"
        )
    };
    let with_entry = bp("c.access_entry(deployer, #{ policies: [#{ policy: \"AmazonEKSEditPolicy\", scope: [\"orders\"] }] });\n");
    std::fs::write(d.join("bp.rhai"), &with_entry).unwrap();
    let out = m.bp(d, &["plan", "bp.rhai"], 0);
    assert!(
        out.contains("  + access_entry.platform/role/orders-deployer"),
        "{out}"
    );
    m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 0);
    assert_eq!(
        entries(),
        serde_json::json!(["orders-deployer", "platform-ops"])
    );
    m.bp(d, &["plan", "bp.rhai", "--detailed-exitcode"], 0);

    // Its policies are kept as declared.
    std::fs::write(
        d.join("bp.rhai"),
        with_entry.replace("AmazonEKSEditPolicy", "AmazonEKSViewPolicy"),
    )
    .unwrap();
    let out = m.bp(d, &["plan", "bp.rhai", "--detailed-exitcode"], 2);
    assert!(
        out.contains("  ~ access_entry.platform/role/orders-deployer"),
        "{out}"
    );
    m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 0);
    m.bp(d, &["plan", "bp.rhai", "--detailed-exitcode"], 0);

    // No longer declared, it is pruned; the platform's own entry stays.
    std::fs::write(d.join("bp.rhai"), bp("")).unwrap();
    let out = m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 0);
    assert!(
        out.contains("- access_entry.platform/role/orders-deployer"),
        "{out}"
    );
    assert_eq!(entries(), serde_json::json!(["platform-ops"]));
}
