"""Counts what a blueprint owns, straight through the AWS APIs (boto3), as an
independent check of `bp`: prints {"kind": count} as JSON.

usage: count_owned.py ENDPOINT BLUEPRINT
"""
import json
import sys

import boto3

endpoint, blueprint = sys.argv[1], sys.argv[2]
kw = dict(endpoint_url=endpoint, region_name="us-east-1",
          aws_access_key_id="test", aws_secret_access_key="test")
ec2 = boto3.client("ec2", **kw)
owner = [{"Name": "tag:blueprint:name", "Values": [blueprint]}]


def owned(tags):
    return any(t["Key"] == "blueprint:name" and t["Value"] == blueprint for t in tags or [])


counts = {
    "vpc": len(ec2.describe_vpcs(Filters=owner)["Vpcs"]),
    "subnet": len(ec2.describe_subnets(Filters=owner)["Subnets"]),
    "internet_gateway": len(ec2.describe_internet_gateways(Filters=owner)["InternetGateways"]),
    "elastic_ip": len(ec2.describe_addresses(Filters=owner)["Addresses"]),
    # The emulator ignores tag filters on NAT gateways: filter here.
    "nat_gateway": len([g for g in ec2.describe_nat_gateways()["NatGateways"]
                        if owned(g.get("Tags")) and g["State"] in ("pending", "available")]),
    "route_table": len(ec2.describe_route_tables(Filters=owner)["RouteTables"]),
    "security_group": len(ec2.describe_security_groups(Filters=owner)["SecurityGroups"]),
    "launch_template": len([t for t in ec2.describe_launch_templates()["LaunchTemplates"]
                            if owned(t.get("Tags"))]),
}

iam = boto3.client("iam", **kw)
counts["iam_role"] = len(iam.list_roles(PathPrefix=f"/blueprint/{blueprint}/")["Roles"])
counts["iam_group"] = len(iam.list_groups(PathPrefix=f"/blueprint/{blueprint}/")["Groups"])
counts["iam_user"] = len(iam.list_users(PathPrefix=f"/blueprint/{blueprint}/")["Users"])
# The account's password policy takes no tags: the claim in the lock table
# says whose it is, and it counts only while the policy exists.
policy = 0
try:
    iam.get_account_password_policy()
    item = boto3.client("dynamodb", **kw).get_item(
        TableName="blueprint-locks",
        Key={"blueprint": {"S": "claim:account-password-policy"}}).get("Item")
    policy = int(bool(item) and item["owner"]["S"] == blueprint)
except (iam.exceptions.NoSuchEntityException,
        boto3.client("dynamodb", **kw).exceptions.ResourceNotFoundException):
    pass
counts["iam_password_policy"] = policy
providers = 0
for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]:
    if owned(iam.get_open_id_connect_provider(OpenIDConnectProviderArn=p["Arn"]).get("Tags")):
        providers += 1
counts["oidc_provider"] = providers

kms = boto3.client("kms", **kw)
keys = 0
for k in kms.list_keys()["Keys"]:
    meta = kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]
    if meta["KeyState"] == "PendingDeletion":
        continue
    tags = [{"Key": t["TagKey"], "Value": t["TagValue"]}
            for t in kms.list_resource_tags(KeyId=k["KeyId"]).get("Tags", [])]
    if owned(tags):
        keys += 1
counts["kms_key"] = keys

eks = boto3.client("eks", **kw)
clusters = groups = profiles = addons = entries = 0
for name in eks.list_clusters()["clusters"]:
    c = eks.describe_cluster(name=name)["cluster"]
    if c.get("tags", {}).get("blueprint:name") != blueprint:
        # A cluster of others: only the access entries the blueprint put
        # there are its own.
        try:
            for arn in eks.list_access_entries(clusterName=name)["accessEntries"]:
                e = eks.describe_access_entry(clusterName=name, principalArn=arn)["accessEntry"]
                entries += e.get("tags", {}).get("blueprint:name") == blueprint
        except eks.exceptions.InvalidRequestException:
            pass
        continue
    clusters += 1
    groups += len(eks.list_nodegroups(clusterName=name)["nodegroups"])
    profiles += len(eks.list_fargate_profiles(clusterName=name)["fargateProfileNames"])
    addons += len(eks.list_addons(clusterName=name)["addons"])
    try:
        entries += len(eks.list_access_entries(clusterName=name)["accessEntries"])
    except eks.exceptions.InvalidRequestException:
        pass
counts["cluster"] = clusters
counts["node_group"] = groups
counts["fargate_profile"] = profiles
counts["eks_addon"] = addons
counts["access_entry"] = entries

s3 = boto3.client("s3", **kw)
buckets = 0
for b in s3.list_buckets()["Buckets"]:
    try:
        tags = s3.get_bucket_tagging(Bucket=b["Name"])["TagSet"]
    except s3.exceptions.ClientError:
        continue
    if owned(tags):
        buckets += 1
counts["s3_bucket"] = buckets

db = boto3.client("dynamodb", **kw)
tables = 0
for name in db.list_tables()["TableNames"]:
    arn = db.describe_table(TableName=name)["Table"]["TableArn"]
    if owned(db.list_tags_of_resource(ResourceArn=arn).get("Tags")):
        tables += 1
counts["dynamodb_table"] = tables

efs = boto3.client("efs", **kw)
systems = targets = points = 0
for fs in efs.describe_file_systems()["FileSystems"]:
    if not owned(fs.get("Tags")):
        continue
    systems += 1
    targets += len(efs.describe_mount_targets(FileSystemId=fs["FileSystemId"])["MountTargets"])
    points += len([a for a in efs.describe_access_points(FileSystemId=fs["FileSystemId"])["AccessPoints"]
                   if owned(a.get("Tags"))])
counts["efs"] = systems
counts["efs_mount_target"] = targets
counts["efs_access_point"] = points

backup = boto3.client("backup", **kw)
counts["backup_vault"] = len([v for v in backup.list_backup_vaults()["BackupVaultList"]
                              if backup.list_tags(ResourceArn=v["BackupVaultArn"])["Tags"].get("blueprint:name") == blueprint])
plans = selections = 0
for p in backup.list_backup_plans()["BackupPlansList"]:
    if backup.list_tags(ResourceArn=p["BackupPlanArn"])["Tags"].get("blueprint:name") != blueprint:
        continue
    plans += 1
    selections += len(backup.list_backup_selections(BackupPlanId=p["BackupPlanId"])["BackupSelectionsList"])
counts["backup_plan"] = plans
counts["backup_selection"] = selections

rds = boto3.client("rds", **kw)
counts["rds_postgres"] = len([d for d in rds.describe_db_instances()["DBInstances"]
                              if owned(d.get("TagList"))])
counts["db_subnet_group"] = len([g for g in rds.describe_db_subnet_groups()["DBSubnetGroups"]
                                 if owned(rds.list_tags_for_resource(ResourceName=g["DBSubnetGroupArn"])["TagList"])])
counts["db_parameter_group"] = len([g for g in rds.describe_db_parameter_groups()["DBParameterGroups"]
                                    if owned(rds.list_tags_for_resource(ResourceName=g["DBParameterGroupArn"])["TagList"])])

instances = 0
for r in ec2.describe_instances(Filters=owner)["Reservations"]:
    instances += len([i for i in r["Instances"] if i["State"]["Name"] not in ("terminated", "shutting-down")])
counts["instance"] = instances
counts["instance_profile"] = len(iam.list_instance_profiles(PathPrefix=f"/blueprint/{blueprint}/")["InstanceProfiles"])

logs = boto3.client("logs", **kw)
counts["log_group"] = len([g for g in logs.describe_log_groups()["logGroups"]
                           if logs.list_tags_for_resource(resourceArn=g["logGroupArn"])["tags"].get("blueprint:name") == blueprint])

sqs = boto3.client("sqs", **kw)
counts["sqs_queue"] = len([u for u in sqs.list_queues().get("QueueUrls", [])
                           if sqs.list_queue_tags(QueueUrl=u).get("Tags", {}).get("blueprint:name") == blueprint])
events = boto3.client("events", **kw)
counts["event_rule"] = len([r for r in events.list_rules()["Rules"]
                            if owned(events.list_tags_for_resource(ResourceARN=r["Arn"])["Tags"])])
associations = 0
for name in eks.list_clusters()["clusters"]:
    for a in eks.list_pod_identity_associations(clusterName=name)["associations"]:
        d = eks.describe_pod_identity_association(
            clusterName=name, associationId=a["associationId"])["association"]
        associations += d.get("tags", {}).get("blueprint:name") == blueprint
counts["pod_identity"] = associations

print(json.dumps(counts, sort_keys=True))
