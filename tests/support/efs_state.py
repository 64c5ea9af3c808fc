"""The EFS file systems in the emulator, read independently with boto3, as
JSON keyed by their Name tag: settings, lifecycle, tags, mount targets
(subnet, security groups and the groups' NFS rules) and access points.

    efs_state.py ENDPOINT_URL"""

import json
import sys

import boto3

kw = dict(endpoint_url=sys.argv[1], region_name="us-east-1",
          aws_access_key_id="test", aws_secret_access_key="test")
efs = boto3.client("efs", **kw)
ec2 = boto3.client("ec2", **kw)

out = {}
for fs in efs.describe_file_systems()["FileSystems"]:
    tags = {t["Key"]: t["Value"] for t in fs.get("Tags", [])}
    fid = fs["FileSystemId"]
    targets = []
    for m in efs.describe_mount_targets(FileSystemId=fid)["MountTargets"]:
        groups = efs.describe_mount_target_security_groups(MountTargetId=m["MountTargetId"])["SecurityGroups"]
        rules = []
        for g in ec2.describe_security_groups(GroupIds=groups)["SecurityGroups"]:
            for p in g["IpPermissions"]:
                rules += [f'{p.get("IpProtocol")}:{p.get("FromPort")}:{r["CidrIp"]}' for r in p.get("IpRanges", [])]
        subnet = ec2.describe_subnets(SubnetIds=[m["SubnetId"]])["Subnets"][0]
        targets.append({"subnet_cidr": subnet["CidrBlock"], "rules": sorted(rules)})
    points = [
        {"path": a["RootDirectory"]["Path"], "uid": a["PosixUser"]["Uid"],
         "permissions": a["RootDirectory"].get("CreationInfo", {}).get("Permissions")}
        for a in efs.describe_access_points(FileSystemId=fid)["AccessPoints"]
    ]
    life = efs.describe_lifecycle_configuration(FileSystemId=fid)["LifecyclePolicies"]
    out[tags.get("Name", fid)] = {
        "encrypted": fs.get("Encrypted"),
        "throughput_mode": fs.get("ThroughputMode"),
        "performance_mode": fs.get("PerformanceMode"),
        "lifecycle": [p.get("TransitionToIA") for p in life],
        "tags": tags,
        "mount_targets": sorted(targets, key=lambda t: t["subnet_cidr"]),
        "access_points": points,
    }
print(json.dumps(out))
