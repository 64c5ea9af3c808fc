"""The blueprint's EC2 instances as boto3 sees them, as JSON keyed by Name:
state, type, image, subnet CIDR, groups, IMDSv2, public address, user
data, the role its profile carries, the root volume and the tags.

    ec2_state.py ENDPOINT_URL BLUEPRINT"""

import base64
import json
import sys

import boto3

kw = dict(endpoint_url=sys.argv[1], region_name="us-east-1",
          aws_access_key_id="test", aws_secret_access_key="test")
ec2 = boto3.client("ec2", **kw)
iam = boto3.client("iam", **kw)
ssm = boto3.client("ssm", **kw)

out = {}
res = ec2.describe_instances(Filters=[{"Name": "tag:blueprint:name", "Values": [sys.argv[2]]}])
for r in res["Reservations"]:
    for i in r["Instances"]:
        if i["State"]["Name"] in ("terminated", "shutting-down"):
            continue
        tags = {t["Key"]: t["Value"] for t in i.get("Tags", [])}
        data = ec2.describe_instance_attribute(InstanceId=i["InstanceId"], Attribute="userData")
        user_data = data.get("UserData", {}).get("Value")
        role = None
        if i.get("IamInstanceProfile"):
            name = i["IamInstanceProfile"]["Arn"].split("/")[-1]
            roles = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Roles"]
            role = roles[0]["RoleName"] if roles else None
        root = next(m for m in i["BlockDeviceMappings"] if m["DeviceName"] == i["RootDeviceName"])
        vol = ec2.describe_volumes(VolumeIds=[root["Ebs"]["VolumeId"]])["Volumes"][0]
        subnet = ec2.describe_subnets(SubnetIds=[i["SubnetId"]])["Subnets"][0]
        groups = sorted({g["GroupId"] for n in i.get("NetworkInterfaces", []) for g in n.get("Groups", [])}
                        | {g["GroupId"] for g in i.get("SecurityGroups", [])})
        out[tags.get("Name", i["InstanceId"])] = {
            "id": i["InstanceId"],
            "state": i["State"]["Name"],
            "type": i["InstanceType"],
            "image": i["ImageId"],
            "subnet_cidr": subnet["CidrBlock"],
            "groups": len(groups),
            "imds_v2": i.get("MetadataOptions", {}).get("HttpTokens") == "required",
            "public_ip": bool(i.get("PublicIpAddress")),
            "user_data": base64.b64decode(user_data).decode() if user_data else None,
            "role": role,
            "root": {"size": vol["Size"], "encrypted": vol["Encrypted"], "type": vol["VolumeType"]},
            "tags": tags,
        }
al2023 = ssm.get_parameter(Name="/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64")
print(json.dumps({"instances": out, "al2023": al2023["Parameter"]["Value"]}))
