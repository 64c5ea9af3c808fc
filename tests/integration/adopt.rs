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
        out.contains("bp adopt cannot take over a resource of kind backup_plan yet; it takes over vpc, subnet, internet_gateway, elastic_ip, nat_gateway, route_table, security_group, iam_password_policy, kms_key, instance, launch_template, log_group, s3_bucket, dynamodb_table so far"),
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
