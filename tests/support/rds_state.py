"""RDS as boto3 sees it, as JSON: instances (settings, groups, tags), DB
subnet groups, parameter groups with the parameters they set, snapshots,
and the PostgreSQL rules of the instances' security groups.

    rds_state.py ENDPOINT_URL"""

import json
import sys

import boto3

kw = dict(endpoint_url=sys.argv[1], region_name="us-east-1",
          aws_access_key_id="test", aws_secret_access_key="test")
rds = boto3.client("rds", **kw)
ec2 = boto3.client("ec2", **kw)

out = {"instances": {}, "subnet_groups": {}, "parameter_groups": {}, "snapshots": []}
for d in rds.describe_db_instances()["DBInstances"]:
    groups = [g["VpcSecurityGroupId"] for g in d.get("VpcSecurityGroups", [])]
    rules = []
    for g in ec2.describe_security_groups(GroupIds=groups)["SecurityGroups"] if groups else []:
        for p in g["IpPermissions"]:
            rules += [f'{p.get("IpProtocol")}:{p.get("FromPort")}:{r["CidrIp"]}' for r in p.get("IpRanges", [])]
    out["instances"][d["DBInstanceIdentifier"]] = {
        "class": d["DBInstanceClass"],
        "engine": d["Engine"],
        "version": d["EngineVersion"],
        "storage": d["AllocatedStorage"],
        "max_storage": d.get("MaxAllocatedStorage"),
        "multi_az": d.get("MultiAZ"),
        "user": d.get("MasterUsername"),
        "encrypted": d.get("StorageEncrypted"),
        "deletion_protection": d.get("DeletionProtection"),
        "auto_minor_upgrade": d.get("AutoMinorVersionUpgrade"),
        "retention": d.get("BackupRetentionPeriod"),
        "subnet_group": d.get("DBSubnetGroup", {}).get("DBSubnetGroupName"),
        "parameter_groups": [g["DBParameterGroupName"] for g in d.get("DBParameterGroups", [])],
        "rules": sorted(rules),
        "tags": {t["Key"]: t["Value"] for t in d.get("TagList", [])},
        "managed_password": "MasterUserSecret" in d,
    }
for g in rds.describe_db_subnet_groups()["DBSubnetGroups"]:
    out["subnet_groups"][g["DBSubnetGroupName"]] = len(g["Subnets"])
for g in rds.describe_db_parameter_groups()["DBParameterGroups"]:
    if g["DBParameterGroupName"].startswith("default."):
        continue
    params = rds.describe_db_parameters(DBParameterGroupName=g["DBParameterGroupName"], Source="user")
    out["parameter_groups"][g["DBParameterGroupName"]] = {
        "family": g["DBParameterGroupFamily"],
        "parameters": {p["ParameterName"]: p.get("ParameterValue") for p in params["Parameters"]},
    }
out["snapshots"] = sorted(s["DBSnapshotIdentifier"] for s in rds.describe_db_snapshots()["DBSnapshots"]
                          if s.get("SnapshotType") == "manual")
print(json.dumps(out))
