//! Out-of-band changes (issue 24): what someone changes behind Blueprint's
//! back with boto3 shows in the next plan as exactly that difference, with
//! policies diffed statement by statement; apply restores it, and the plan
//! after is a no-op. The autoscaler's changes are not drift.

use crate::moto::Moto;

const BP: &str = r#"
let v = vpc("drift", #{ cidr: "10.0.0.0/16", azs: 2, private_subnets: ["10.0.10.0/24", "10.0.11.0/24"],
                       tags: #{ team: "core" } });
security_group(v, "web", #{ ingress: [rule(#{ protocol: "tcp", port: 443, cidr: "10.0.0.0/16" })] });
let c = cluster("drift", #{ version: "1.32", vpc: v, subnets: v.private_subnets, irsa: false });
c.node_group("app", #{ instance_types: ["m6i.large"], min: 1, max: 3, desired: 1 });
let bucket = "drift-logs-0001";
s3_bucket(bucket, #{ protect: false, policy: #{ Version: "2012-10-17", Statement: [
    #{ Sid: "DenyInsecure", Effect: "Deny", Principal: "*", Action: "s3:*",
       Resource: ["arn:aws:s3:::" + bucket, "arn:aws:s3:::" + bucket + "/*"],
       Condition: #{ Bool: #{ "aws:SecureTransport": "false" } } },
] } });
kms_key("drift", #{ policy: #{ Version: "2012-10-17", Statement: [
    #{ Sid: "Admin", Effect: "Allow", Principal: #{ AWS: "arn:aws:iam::123456789012:root" }, Action: "kms:*", Resource: "*" },
    #{ Sid: "Use", Effect: "Allow", Principal: #{ AWS: "arn:aws:iam::123456789012:root" },
       Action: ["kms:Encrypt", "kms:Decrypt"], Resource: "*",
       Condition: #{ StringEquals: #{ "aws:PrincipalTag/team": "core" } } },
] } });
iam_role("reader", #{ service: "ec2.amazonaws.com", inline_policies: #{ read: #{ Version: "2012-10-17",
    Statement: [#{ Sid: "Read", Effect: "Allow", Action: ["s3:GetObject"], Resource: "arn:aws:s3:::" + bucket + "/*" }] } } });
"#;

/// Runs `change` (Python, with `ec2`, `eks`, `s3`, `iam` and the ids
/// `vpc` and `sg` at hand) on the emulator.
fn behind_the_back(m: &Moto, change: &str) {
    let code = format!(
        "import boto3, json\n\
ec2, eks, s3, iam = {}, {}, {}, {}\n\
owned = [{{'Name': 'tag:blueprint:name', 'Values': ['bp']}}]\n\
vpc = ec2.describe_vpcs(Filters=owned)['Vpcs'][0]['VpcId']\n\
sg = [g['GroupId'] for g in ec2.describe_security_groups(Filters=owned)['SecurityGroups'] if g['GroupName'] == 'web'][0]\n\
{change}\n",
        m.boto3("ec2"),
        m.boto3("eks"),
        m.boto3("s3"),
        m.boto3("iam")
    );
    m.python(&["-c", &code]);
}

/// The plan after a change: exactly one resource to change, showing
/// `lines`; then apply restores it and the next plan is a no-op.
fn shows_and_restores(m: &Moto, d: &std::path::Path, what: &str, lines: &[&str]) {
    let out = m.bp(d, &["plan", "bp.rhai", "--detailed-exitcode"], 2);
    assert!(
        out.contains("Plan: 0 to add, 1 to change, 0 to replace, 0 to destroy."),
        "{what}: {out}"
    );
    for l in lines {
        assert!(out.contains(l), "{what}: no `{l}` in\n{out}");
    }
    m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 0);
    let out = m.bp(d, &["plan", "bp.rhai", "--detailed-exitcode"], 0);
    assert!(out.contains("No changes."), "{what}: {out}");
}

#[test]
fn changes_behind_blueprints_back_show_as_exactly_that_and_are_restored() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bp.rhai"), BP).unwrap();
    let d = dir.path();
    m.bp(d, &["apply", "bp.rhai", "--auto-approve"], 0);
    m.bp(d, &["plan", "bp.rhai", "--detailed-exitcode"], 0);

    // A tag.
    behind_the_back(
        &m,
        "ec2.create_tags(Resources=[vpc], Tags=[{'Key': 'team', 'Value': 'data'}])",
    );
    shows_and_restores(
        &m,
        d,
        "a tag",
        &[
            "  ~ vpc.drift",
            "      tags.team: \"data\" -> \"core\"  # drift\n",
        ],
    );

    // A security-group rule.
    behind_the_back(
        &m,
        "ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[{'IpProtocol': 'tcp', 'FromPort': 22, 'ToPort': 22, 'IpRanges': [{'CidrIp': '0.0.0.0/0'}]}])",
    );
    shows_and_restores(
        &m,
        d,
        "a security-group rule",
        &["  ~ security_group.drift/web", "ingress"],
    );

    // A node group's max.
    behind_the_back(
        &m,
        "eks.update_nodegroup_config(clusterName='drift', nodegroupName='app', scalingConfig={'minSize': 1, 'maxSize': 5, 'desiredSize': 1})",
    );
    shows_and_restores(
        &m,
        d,
        "a node group's max",
        &[
            "  ~ node_group.drift/app",
            "      scaling.max: 5 -> 3  # drift\n",
        ],
    );

    // A bucket policy statement: only that statement shows.
    behind_the_back(
        &m,
        "p = json.loads(s3.get_bucket_policy(Bucket='drift-logs-0001')['Policy'])\n\
p['Statement'].append({'Sid': 'Audit', 'Effect': 'Allow', 'Principal': {'AWS': 'arn:aws:iam::123456789012:root'}, 'Action': 's3:GetObject', 'Resource': 'arn:aws:s3:::drift-logs-0001/*'})\n\
s3.put_bucket_policy(Bucket='drift-logs-0001', Policy=json.dumps(p))",
    );
    let out = m.bp(d, &["plan", "bp.rhai"], 0);
    assert!(
        out.contains("      policy.Statement[Audit]:  # drift\n"),
        "{out}"
    );
    assert!(
        !out.contains("DenyInsecure"),
        "only the changed statement shows: {out}"
    );
    shows_and_restores(
        &m,
        d,
        "a bucket policy statement",
        &["  ~ s3_bucket.drift-logs-0001"],
    );

    // An inline policy's statement, changed in place.
    behind_the_back(
        &m,
        "iam.put_role_policy(RoleName='reader', PolicyName='read', PolicyDocument=json.dumps({'Version': '2012-10-17', 'Statement': [{'Sid': 'Read', 'Effect': 'Allow', 'Action': ['s3:*'], 'Resource': '*'}]}))",
    );
    let out = m.bp(d, &["plan", "bp.rhai"], 0);
    assert!(
        out.contains("      inline_policies.read.Statement[Read]:  # drift\n"),
        "{out}"
    );
    assert!(out.contains("-     \"s3:*\""), "{out}");
    assert!(out.contains("+     \"s3:GetObject\""), "{out}");
    shows_and_restores(&m, d, "an inline policy", &["  ~ iam_role.reader"]);

    // A key policy's statement.
    behind_the_back(
        &m,
        "kms = boto3.client('kms', endpoint_url=iam.meta.endpoint_url, region_name='us-east-1', aws_access_key_id='t', aws_secret_access_key='t')\n\
key = [a['TargetKeyId'] for a in kms.list_aliases()['Aliases'] if a['AliasName'] == 'alias/drift'][0] if any(a['AliasName'] == 'alias/drift' for a in kms.list_aliases()['Aliases']) else [k for k in kms.list_keys()['Keys'] if kms.describe_key(KeyId=k['KeyId'])['KeyMetadata'].get('Description') == 'Blueprint key drift'][0]['KeyId']\n\
p = json.loads(kms.get_key_policy(KeyId=key, PolicyName='default')['Policy'])\n\
p['Statement'][1]['Condition']['StringEquals']['aws:PrincipalTag/team'] = 'everyone'\n\
kms.put_key_policy(KeyId=key, PolicyName='default', Policy=json.dumps(p))",
    );
    let out = m.bp(d, &["plan", "bp.rhai"], 0);
    assert!(
        out.contains("      policy.Statement[Use]:  # drift\n"),
        "{out}"
    );
    assert!(!out.contains("Statement[Admin]"), "{out}");
    shows_and_restores(&m, d, "a key policy statement", &["  ~ kms_key.drift"]);

    // The autoscaler is not drift.
    behind_the_back(
        &m,
        "eks.update_nodegroup_config(clusterName='drift', nodegroupName='app', scalingConfig={'minSize': 1, 'maxSize': 3, 'desiredSize': 3})",
    );
    m.bp(d, &["plan", "bp.rhai", "--detailed-exitcode"], 0);
}
