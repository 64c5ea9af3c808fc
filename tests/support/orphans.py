"""Counts untagged orphans: resources of the kinds Blueprint creates that
carry no `blueprint:name` tag (made, then lost track of), straight through
the AWS APIs (boto3). Prints {"kind": count} as JSON; AWS's own defaults (the
default VPC and its subnets, main route tables, default security groups,
AWS-managed keys) are not orphans, nor is the table of apply locks.
"""
import json
import sys

import boto3

endpoint = sys.argv[1]
kw = dict(endpoint_url=endpoint, region_name="us-east-1",
          aws_access_key_id="t", aws_secret_access_key="t")
ec2 = boto3.client("ec2", **kw)
kms = boto3.client("kms", **kw)
eks = boto3.client("eks", **kw)
s3 = boto3.client("s3", **kw)
ddb = boto3.client("dynamodb", **kw)
efs = boto3.client("efs", **kw)


def untagged(tags):
    return not any(t.get("Key") == "blueprint:name" for t in tags or [])


default_vpcs = {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if v.get("IsDefault")}
counts = {}
counts["vpc"] = len([v for v in ec2.describe_vpcs()["Vpcs"]
                     if not v.get("IsDefault") and untagged(v.get("Tags"))])
counts["subnet"] = len([s for s in ec2.describe_subnets()["Subnets"]
                        if s["VpcId"] not in default_vpcs and untagged(s.get("Tags"))])
counts["internet_gateway"] = len([g for g in ec2.describe_internet_gateways()["InternetGateways"]
                                  if untagged(g.get("Tags"))
                                  and not any(a.get("VpcId") in default_vpcs for a in g.get("Attachments", []))])
counts["elastic_ip"] = len([a for a in ec2.describe_addresses()["Addresses"] if untagged(a.get("Tags"))])
counts["nat_gateway"] = len([n for n in ec2.describe_nat_gateways()["NatGateways"]
                             if n["State"] not in ("deleted", "deleting") and untagged(n.get("Tags"))])
counts["route_table"] = len([r for r in ec2.describe_route_tables()["RouteTables"]
                             if not any(a.get("Main") for a in r.get("Associations", []))
                             and r["VpcId"] not in default_vpcs and untagged(r.get("Tags"))])
counts["security_group"] = len([g for g in ec2.describe_security_groups()["SecurityGroups"]
                                if g["GroupName"] != "default" and untagged(g.get("Tags"))])
counts["launch_template"] = len([t for t in ec2.describe_launch_templates()["LaunchTemplates"]
                                 if untagged(t.get("Tags"))])
# AWS-managed keys (alias/aws/ebs, made when an encrypted volume is first
# created) are AWS's own, though moto marks them as the customer's.
aws_managed = {a["TargetKeyId"] for a in kms.list_aliases()["Aliases"]
               if a["AliasName"].startswith("alias/aws/") and a.get("TargetKeyId")}
keys = 0
for k in kms.list_keys()["Keys"]:
    meta = kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]
    if (meta.get("KeyManager") != "CUSTOMER" or meta["KeyState"] == "PendingDeletion"
            or k["KeyId"] in aws_managed):
        continue
    tags = [{"Key": t["TagKey"]} for t in kms.list_resource_tags(KeyId=k["KeyId"])["Tags"]]
    keys += untagged(tags)
counts["kms_key"] = keys
counts["cluster"] = len([c for c in eks.list_clusters()["clusters"]
                         if "blueprint:name" not in eks.describe_cluster(name=c)["cluster"].get("tags", {})])
buckets = 0
for b in s3.list_buckets()["Buckets"]:
    try:
        tags = s3.get_bucket_tagging(Bucket=b["Name"])["TagSet"]
    except Exception:
        tags = []
    buckets += untagged(tags)
counts["s3_bucket"] = buckets
tables = 0
for t in ddb.list_tables()["TableNames"]:
    if t == "blueprint-locks":
        continue  # the apply locks' table: Blueprint's own, never an orphan
    arn = ddb.describe_table(TableName=t)["Table"]["TableArn"]
    tables += untagged(ddb.list_tags_of_resource(ResourceArn=arn).get("Tags"))
counts["dynamodb_table"] = tables
counts["efs"] = len([f for f in efs.describe_file_systems()["FileSystems"] if untagged(f.get("Tags"))])
print(json.dumps(counts, sort_keys=True))
