//! `bp adopt FILE ADDRESS ID` against the emulator: resources made with
//! boto3 are taken over at the blueprint's addresses, after which a plan
//! shows only how they differ; checked with boto3.

use crate::moto::Moto;

const BP: &str = r#"
let v = vpc("main", #{ cidr: "10.80.0.0/16", tags: #{ team: "platform" } });
security_group(v, "web", #{ description: "web" });
kms_key("data", #{ description: "data" });
dynamodb_table("adopt-audit", #{ hash_key: "id", attributes: #{ id: "S" }, billing: "pay_per_request" });
s3_bucket("adopt-logs-1", #{ versioning: true });
iam_role("ops", #{ service: "ec2.amazonaws.com" });
"#;

#[test]
fn adopted_resources_are_planned_as_the_blueprints() {
    let m = Moto::start();
    let made = m.python_json(&[
        "-c",
        &format!(
            "import boto3, json\n\
ec2 = {}\n\
s3 = {}\n\
vpc = ec2.create_vpc(CidrBlock='10.80.0.0/16')['Vpc']['VpcId']\n\
ec2.create_tags(Resources=[vpc], Tags=[{{'Key': 'team', 'Value': 'network'}}])\n\
s3.create_bucket(Bucket='adopt-logs-1')\n\
s3.put_bucket_tagging(Bucket='adopt-logs-1', Tagging={{'TagSet': [{{'Key': 'keep', 'Value': 'yes'}}]}})\n\
sg = ec2.create_security_group(GroupName='web', Description='web', VpcId=vpc)['GroupId']\n\
key = {}.create_key(Description='data')['KeyMetadata']['KeyId']\n\
{}.create_table(TableName='adopt-audit', KeySchema=[{{'AttributeName': 'id', 'KeyType': 'HASH'}}], AttributeDefinitions=[{{'AttributeName': 'id', 'AttributeType': 'S'}}], BillingMode='PAY_PER_REQUEST')\n\
print(json.dumps({{'vpc': vpc, 'sg': sg, 'key': key}}))",
            m.boto3("ec2"),
            m.boto3("s3"),
            m.boto3("kms"),
            m.boto3("dynamodb")
        ),
    ]);
    let vpc = made["vpc"].as_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bp.rhai"), BP).unwrap();
    let d = dir.path();

    let out = m.bp(d, &["plan", "bp.rhai"], 0);
    assert!(out.contains("+ vpc.main"), "{out}");

    let out = m.bp(d, &["adopt", "bp.rhai", "vpc.main", vpc], 0);
    assert!(
        out.contains(&format!("Adopted vpc {vpc} as vpc.main.")),
        "{out}"
    );
    let out = m.bp(
        d,
        &["adopt", "bp.rhai", "s3_bucket.adopt-logs-1", "adopt-logs-1"],
        0,
    );
    assert!(out.contains("Adopted s3_bucket adopt-logs-1"), "{out}");
    for (address, id) in [
        ("security_group.main/web", made["sg"].as_str().unwrap()),
        ("kms_key.data", made["key"].as_str().unwrap()),
        ("dynamodb_table.adopt-audit", "adopt-audit"),
    ] {
        let out = m.bp(d, &["adopt", "bp.rhai", address, id], 0);
        assert!(out.contains(&format!("as {address}.")), "{out}");
    }

    // Only the real differences: the VPC's tag and DNS hostnames, the
    // bucket's versioning and its own tag; nothing to create for them.
    let out = m.bp(d, &["plan", "bp.rhai"], 0);
    // The security group matches as it is; only the role is new.
    assert!(
        out.contains("Plan: 1 to add, 4 to change, 0 to replace, 0 to destroy."),
        "{out}"
    );
    assert!(out.contains("+ iam_role.ops"), "{out}");
    assert!(out.contains("~ vpc.main"), "{out}");
    assert!(
        out.contains("tags.team: \"network\" -> \"platform\""),
        "{out}"
    );
    assert!(!out.contains("+ s3_bucket.adopt-logs-1"), "{out}");
    assert!(out.contains("~ s3_bucket.adopt-logs-1"), "{out}");
    // The bucket's own tag is not declared: the update removes it, and
    // the plan says so.
    assert!(out.contains("tags.keep: \"yes\" -> null"), "{out}");

    // A second VPC at the same address is refused.
    let other = m.python_json(&[
        "-c",
        &format!(
            "import boto3, json\nprint(json.dumps({}.create_vpc(CidrBlock='10.82.0.0/16')['Vpc']['VpcId']))",
            m.boto3("ec2")
        ),
    ]);
    let out = m.bp(
        d,
        &["adopt", "bp.rhai", "vpc.main", other.as_str().unwrap()],
        1,
    );
    assert!(
        out.contains(&format!("vpc.main exists already, as {vpc}")),
        "{out}"
    );

    // Adopting it again changes nothing.
    let out = m.bp(d, &["adopt", "bp.rhai", "vpc.main", vpc], 0);
    assert!(
        out.contains(&format!("vpc.main is {vpc} already: nothing to adopt.")),
        "{out}"
    );

    m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 0);
    let out = m.bp(d, &["plan", "bp.rhai", "--detailed-exitcode"], 0);
    assert!(out.contains("No changes."), "{out}");
    let after = m.python_json(&[
        "-c",
        &format!(
            "import boto3, json\n\
ec2 = {}\n\
s3 = {}\n\
vpcs = ec2.describe_vpcs(Filters=[{{'Name': 'cidr', 'Values': ['10.80.0.0/16']}}])['Vpcs']\n\
groups = [g['GroupId'] for g in ec2.describe_security_groups(Filters=[{{'Name': 'group-name', 'Values': ['web']}}])['SecurityGroups']]\n\
keys = len({}.list_keys()['Keys'])\n\
tables = [t for t in {}.list_tables()['TableNames'] if t != 'blueprint-locks']\n\
tags = {{t['Key']: t['Value'] for t in s3.get_bucket_tagging(Bucket='adopt-logs-1')['TagSet']}}\n\
print(json.dumps({{'vpcs': [v['VpcId'] for v in vpcs], 'groups': groups, 'keys': keys, 'tables': tables, 'bucket_tags': tags}}))",
            m.boto3("ec2"),
            m.boto3("s3"),
            m.boto3("kms"),
            m.boto3("dynamodb")
        ),
    ]);
    // The same VPC, not a second one.
    assert_eq!(after["vpcs"], serde_json::json!([vpc]), "{after}");
    assert_eq!(after["groups"], serde_json::json!([made["sg"]]), "{after}");
    assert_eq!(after["keys"], 1, "{after}");
    // (blueprint-locks, the apply locks' table, is Blueprint's own.)
    assert_eq!(
        after["tables"],
        serde_json::json!(["adopt-audit"]),
        "{after}"
    );
    assert_eq!(
        after["bucket_tags"]["blueprint:address"], "s3_bucket.adopt-logs-1",
        "{after}"
    );
    assert_eq!(after["bucket_tags"].get("keep"), None, "{after}");
}

#[test]
fn what_cannot_be_adopted_is_refused_with_the_reason() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bp.rhai"), BP).unwrap();
    std::fs::write(
        dir.path().join("other.rhai"),
        r#"vpc("o", #{ cidr: "10.81.0.0/16" });"#,
    )
    .unwrap();
    let d = dir.path();
    m.bp(d, &["apply", "other.rhai", "--auto-approve"], 0);
    let theirs = m.python_json(&[
        "-c",
        &format!(
            "import boto3, json\nprint(json.dumps({}.describe_vpcs(Filters=[{{'Name': 'cidr', 'Values': ['10.81.0.0/16']}}])['Vpcs'][0]['VpcId']))",
            m.boto3("ec2")
        ),
    ]);
    let theirs = theirs.as_str().unwrap();

    let out = m.bp(d, &["adopt", "bp.rhai", "vpc.mian", "vpc-1"], 1);
    assert!(out.contains("bp.rhai does not declare vpc.mian"), "{out}");
    assert!(out.contains("did you mean vpc.main?"), "{out}");

    let out = m.bp(d, &["adopt", "bp.rhai", "iam_role.ops", "ops"], 1);
    assert!(
        out.contains("bp adopt cannot take over a resource of kind iam_role: an IAM role's path cannot change"),
        "{out}"
    );
    assert!(out.contains("existing_role(arn)"), "{out}");

    // A kind bp adopt does not take over yet names the ones it does.
    std::fs::write(
        d.join("backups.rhai"),
        r#"let t = dynamodb_table("adopt-orders", #{ hash_key: "id", attributes: #{ id: "S" }, billing: "pay_per_request" });
backup_plan("nightly", #{ rules: [#{ name: "daily", cron: "0 2 * * *", retain_days: 7 }], resources: [t] });"#,
    )
    .unwrap();
    let out = m.bp(
        d,
        &["adopt", "backups.rhai", "backup_plan.nightly", "p-1"],
        1,
    );
    assert!(
        out.contains("bp adopt cannot take over a resource of kind backup_plan yet; it takes over vpc, subnet, internet_gateway, elastic_ip, nat_gateway, route_table, security_group, oidc_provider, iam_password_policy, kms_key, instance, launch_template, cluster, node_group, fargate_profile, eks_addon, log_group, s3_bucket, dynamodb_table, efs, efs_access_point, db_subnet_group, db_parameter_group, rds_postgres so far"),
        "{out}"
    );

    let out = m.bp(
        d,
        &["adopt", "bp.rhai", "vpc.main", "vpc-00000000000000000"],
        1,
    );
    assert!(
        out.contains("there is no vpc vpc-00000000000000000 in us-east-1"),
        "{out}"
    );

    let out = m.bp(d, &["adopt", "bp.rhai", "vpc.main", theirs], 1);
    assert!(
        out.contains(&format!(
            "vpc {theirs} belongs to blueprint other already (at vpc.o)"
        )),
        "{out}"
    );
    // Nothing was tagged by the refusals.
    let out = m.bp(d, &["plan", "bp.rhai"], 0);
    assert!(out.contains("+ vpc.main"), "{out}");
}

/// An estate made elsewhere (eksctl, Terraform: here boto3) is taken over
/// kind by kind: an EKS cluster, its node group, Fargate profile and
/// add-on, its OIDC provider, an EFS file system and access point, and an
/// RDS subnet group, parameter group and instance. Before, the plan would create each; after, it creates none of
/// them and the next apply leaves a no-op plan.
#[test]
fn an_estate_made_elsewhere_is_adopted_kind_by_kind() {
    let m = Moto::start();
    let made = m.python_json(&[
        "-c",
        &format!(
            "import boto3, json\n\
ec2, eks, iam, efs, rds = {}, {}, {}, {}, {}\n\
vpc = ec2.create_vpc(CidrBlock='10.81.0.0/16')['Vpc']['VpcId']\n\
subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=c, AvailabilityZone=z)['Subnet']['SubnetId'] for c, z in [('10.81.1.0/24', 'us-east-1a'), ('10.81.2.0/24', 'us-east-1b')]]\n\
role = lambda n: iam.create_role(RoleName=n, AssumeRolePolicyDocument='{{}}')['Role']['Arn']\n\
control, nodes, pods = role('estate-control'), role('estate-nodes'), role('estate-pods')\n\
issuer = eks.create_cluster(name='estate', version='1.32', roleArn=control, resourcesVpcConfig={{'subnetIds': subnets}})['cluster']['identity']['oidc']['issuer']\n\
eks.create_nodegroup(clusterName='estate', nodegroupName='workers', nodeRole=nodes, subnets=subnets, scalingConfig={{'minSize': 1, 'maxSize': 3, 'desiredSize': 1}}, instanceTypes=['m6i.large'])\n\
eks.create_fargate_profile(clusterName='estate', fargateProfileName='jobs', podExecutionRoleArn=pods, subnets=subnets, selectors=[{{'namespace': 'jobs'}}])\n\
eks.create_addon(clusterName='estate', addonName='vpc-cni', addonVersion='v1.19.2-eksbuild.1')\n\
oidc = iam.create_open_id_connect_provider(Url=issuer, ClientIDList=['sts.amazonaws.com'], ThumbprintList=['9e99a48a9960b14926bb7f3b02e22da2b0ab7280'])['OpenIDConnectProviderArn']\n\
fs = efs.create_file_system(CreationToken='estate-files', Encrypted=True)['FileSystemId']\n\
ap = efs.create_access_point(FileSystemId=fs, PosixUser={{'Uid': 1000, 'Gid': 1000}}, RootDirectory={{'Path': '/sftp'}})['AccessPointId']\n\
rds.create_db_subnet_group(DBSubnetGroupName='estate-db', DBSubnetGroupDescription='estate', SubnetIds=subnets)\n\
rds.create_db_parameter_group(DBParameterGroupName='estate-db-postgres16', DBParameterGroupFamily='postgres16', Description='estate')\n\
rds.modify_db_parameter_group(DBParameterGroupName='estate-db-postgres16', Parameters=[{{'ParameterName': 'log_min_duration_statement', 'ParameterValue': '500', 'ApplyMethod': 'immediate'}}])\n\
rds.create_db_instance(DBInstanceIdentifier='estate-db', Engine='postgres', EngineVersion='16.4', DBInstanceClass='db.t4g.micro', AllocatedStorage=20, MasterUsername='app', MasterUserPassword='x-very-secret-1', DBSubnetGroupName='estate-db', DBParameterGroupName='estate-db-postgres16', StorageEncrypted=True)\n\
print(json.dumps({{'vpc': vpc, 'subnets': subnets, 'control': control, 'nodes': nodes, 'pods': pods, 'oidc': oidc, 'fs': fs, 'ap': ap}}))",
            m.boto3("ec2"),
            m.boto3("eks"),
            m.boto3("iam"),
            m.boto3("efs"),
            m.boto3("rds")
        ),
    ]);
    let s = |k: &str| made[k].as_str().unwrap().to_string();
    let subnets: Vec<String> = made["subnets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| format!("\"{}\"", x.as_str().unwrap()))
        .collect();
    let bp = format!(
        r#"
let net = existing_vpc("{vpc}");
let subnets = [{subnets}];
let c = cluster("estate", #{{ version: "1.32", vpc: net, subnets: net.subnets(#{{ ids: subnets }}),
                             role: existing_role("{control}"), irsa: true }});
c.node_group("workers", #{{ instance_types: ["m6i.large"], min: 1, max: 3, desired: 1,
                           role: existing_role("{nodes}") }});
c.fargate_profile("jobs", #{{ selectors: [#{{ namespace: "jobs" }}], role: existing_role("{pods}") }});
c.addon("vpc-cni", #{{ version: "v1.19.2-eksbuild.1" }});
let files = efs("estate-files", #{{ vpc: net, subnets: net.subnets(#{{ ids: subnets }}), encrypted: true }});
files.access_point("sftp", #{{ path: "/sftp", uid: 1000, gid: 1000 }});
rds_postgres("estate-db", #{{ vpc: net, subnets: net.subnets(#{{ ids: subnets }}), instance_class: "db.t4g.micro",
                             engine_version: "16.4", storage_gb: 20, username: "app",
                             password: var("pw", #{{ sensitive: true, default: "x-very-secret-1" }}),
                             parameters: #{{ log_min_duration_statement: "500" }} }});
"#,
        vpc = s("vpc"),
        subnets = subnets.join(", "),
        control = s("control"),
        nodes = s("nodes"),
        pods = s("pods"),
    );
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("bp.rhai"), bp).unwrap();
    let check = m.bp(d, &["check", "bp.rhai"], 0);
    assert!(check.contains("ok:"), "{check}");
    let out = m.bp(d, &["plan", "bp.rhai"], 0);
    for a in [
        "cluster.estate",
        "node_group.estate/workers",
        "fargate_profile.estate/jobs",
        "eks_addon.estate/vpc-cni",
        "oidc_provider.estate",
        "efs.estate-files",
        "efs_access_point.estate-files/sftp",
        "db_subnet_group.estate-db",
        "db_parameter_group.estate-db-postgres16",
        "rds_postgres.estate-db",
    ] {
        assert!(
            out.contains(&format!("  + {a}")),
            "{a} before adopt:\n{out}"
        );
    }
    for (address, id) in [
        ("cluster.estate", "estate".to_string()),
        ("node_group.estate/workers", "estate/workers".to_string()),
        ("fargate_profile.estate/jobs", "estate/jobs".to_string()),
        ("eks_addon.estate/vpc-cni", "estate/vpc-cni".to_string()),
        ("oidc_provider.estate", s("oidc")),
        ("efs.estate-files", s("fs")),
        ("efs_access_point.estate-files/sftp", s("ap")),
        ("db_subnet_group.estate-db", "estate-db".to_string()),
        (
            "db_parameter_group.estate-db-postgres16",
            "estate-db-postgres16".to_string(),
        ),
        ("rds_postgres.estate-db", "estate-db".to_string()),
    ] {
        m.bp(d, &["adopt", "bp.rhai", address, &id], 0);
    }
    // Only what the estate lacks is created: the file system's mount
    // targets (which carry no tags, so there is nothing to adopt) and the
    // security group Blueprint gives them.
    let out = m.bp(d, &["plan", "bp.rhai"], 0);
    let created: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("  + "))
        .filter(|l| !l.starts_with("  + efs_mount_target.estate-files/"))
        .filter(|l| !l.ends_with("/estate-files-efs") && !l.ends_with("/estate-db-db"))
        .collect();
    assert!(
        created.is_empty(),
        "{created:?} created after adopt:\n{out}"
    );
    m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 0);
    m.bp(d, &["plan", "bp.rhai", "--detailed-exitcode"], 0);
}
