"""Checks the emulator's additions to moto through boto3, as AWS's own
clients see them. Run: test_awsemu.py ENDPOINT_URL (the integration test
`moto::the_emulator_adds_what_moto_lacks` does)."""

import json
import sys

import boto3
import botocore.exceptions

url = sys.argv[1]
backup = boto3.client(
    "backup",
    endpoint_url=url,
    region_name="us-east-1",
    aws_access_key_id="test",
    aws_secret_access_key="test",
)
checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        sys.exit(f"FAIL: {what}")


def error_code(f):
    try:
        f()
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]
    return None


role = "arn:aws:iam::123456789012:role/backup"
backup.create_backup_vault(BackupVaultName="v1")
plan = backup.create_backup_plan(
    BackupPlan={
        "BackupPlanName": "p1",
        "Rules": [{"RuleName": "daily", "TargetBackupVaultName": "v1",
                   "ScheduleExpression": "cron(0 3 * * ? *)"}],
    }
)
pid = plan["BackupPlanId"]

# ListTags with and without the slash after the ARN (boto3 sends one, the
# Rust SDK none)
import urllib.request
vault_arn = backup.describe_backup_vault(BackupVaultName="v1")["BackupVaultArn"]
backup.tag_resource(ResourceArn=vault_arn, Tags={"team": "data"})
check(backup.list_tags(ResourceArn=vault_arn)["Tags"] == {"team": "data"}, "ListTags with a slash")
req = urllib.request.Request(f"{url}/tags/{vault_arn}", headers={
    "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/backup/aws4_request, SignedHeaders=host, Signature=0"})
body = json.loads(urllib.request.urlopen(req).read())
check(body["Tags"] == {"team": "data"}, "ListTags without a slash")

# Selections
sel = backup.create_backup_selection(
    BackupPlanId=pid,
    BackupSelection={"SelectionName": "s1", "IamRoleArn": role,
                     "Resources": ["arn:aws:dynamodb:us-east-1:123456789012:table/t"]},
)
got = backup.get_backup_selection(BackupPlanId=pid, SelectionId=sel["SelectionId"])
check(got["BackupSelection"]["Resources"] == ["arn:aws:dynamodb:us-east-1:123456789012:table/t"],
      "GetBackupSelection returns the resources")
check(got["BackupSelection"]["IamRoleArn"] == role, "GetBackupSelection returns the role")
rows = backup.list_backup_selections(BackupPlanId=pid)["BackupSelectionsList"]
check([r["SelectionName"] for r in rows] == ["s1"], "ListBackupSelections lists it")
check(error_code(lambda: backup.get_backup_selection(BackupPlanId=pid, SelectionId="nope"))
      == "ResourceNotFoundException", "an unknown selection is not found")
check(error_code(lambda: backup.delete_backup_plan(BackupPlanId=pid)) == "InvalidRequestException",
      "a plan with selections cannot be deleted")

# UpdateBackupPlan gives a new version with the new rules
version = backup.get_backup_plan(BackupPlanId=pid)["VersionId"]
backup.update_backup_plan(
    BackupPlanId=pid,
    BackupPlan={"BackupPlanName": "p1",
                "Rules": [{"RuleName": "weekly", "TargetBackupVaultName": "v1",
                           "ScheduleExpression": "cron(0 3 ? * 1 *)"}]},
)
after = backup.get_backup_plan(BackupPlanId=pid)
check(after["VersionId"] != version, "UpdateBackupPlan makes a new version")
check([r["RuleName"] for r in after["BackupPlan"]["Rules"]] == ["weekly"],
      "UpdateBackupPlan replaces the rules")

# Recovery points
job = backup.start_backup_job(BackupVaultName="v1", ResourceArn=rows and
                              "arn:aws:dynamodb:us-east-1:123456789012:table/t",
                              IamRoleArn=role, Lifecycle={"DeleteAfterDays": 7})
points = backup.list_recovery_points_by_backup_vault(BackupVaultName="v1")["RecoveryPoints"]
check([p["RecoveryPointArn"] for p in points] == [job["RecoveryPointArn"]],
      "StartBackupJob leaves a recovery point in the vault")
check(points[0]["Status"] == "COMPLETED" and points[0]["ResourceType"] == "DynamoDB",
      "the recovery point is complete, of the resource's type")
check("DeleteAt" in points[0]["CalculatedLifecycle"], "the lifecycle gives a deletion date")
check(error_code(lambda: backup.delete_backup_vault(BackupVaultName="v1"))
      == "InvalidRequestException", "a vault with recovery points cannot be deleted")

# Deletion in AWS's order, and the name can be used again
backup.delete_backup_selection(BackupPlanId=pid, SelectionId=sel["SelectionId"])
check(backup.list_backup_selections(BackupPlanId=pid)["BackupSelectionsList"] == [],
      "DeleteBackupSelection removes it")
backup.delete_backup_plan(BackupPlanId=pid)
again = backup.create_backup_plan(
    BackupPlan={"BackupPlanName": "p1",
                "Rules": [{"RuleName": "daily", "TargetBackupVaultName": "v1"}]})
check(again["BackupPlanId"] != pid, "a deleted plan's name can be used again")
backup.create_backup_vault(BackupVaultName="v2")
backup.delete_backup_vault(BackupVaultName="v2")
check(error_code(lambda: backup.describe_backup_vault(BackupVaultName="v2"))
      == "ResourceNotFoundException", "an empty vault can be deleted")

# EFS UpdateFileSystem
efs = boto3.client("efs", endpoint_url=url, region_name="us-east-1",
                   aws_access_key_id="test", aws_secret_access_key="test")
fs = efs.create_file_system(CreationToken="t1", ThroughputMode="bursting")["FileSystemId"]
efs.update_file_system(FileSystemId=fs, ThroughputMode="elastic")
check(efs.describe_file_systems(FileSystemId=fs)["FileSystems"][0]["ThroughputMode"] == "elastic",
      "UpdateFileSystem changes the throughput mode")
check(error_code(lambda: efs.update_file_system(FileSystemId="fs-nope", ThroughputMode="elastic"))
      == "FileSystemNotFound", "UpdateFileSystem of an unknown file system")

# EKS add-ons and version updates
eks = boto3.client("eks", endpoint_url=url, region_name="us-east-1",
                   aws_access_key_id="test", aws_secret_access_key="test")
eks.create_cluster(name="c1", version="1.32", roleArn="arn:aws:iam::123456789012:role/eks",
                   resourcesVpcConfig={"subnetIds": []})
a = eks.create_addon(clusterName="c1", addonName="coredns")["addon"]
check(a["addonVersion"] == "v1.11.4-eksbuild.2" and a["status"] == "ACTIVE",
      "CreateAddon picks the default version for the cluster's Kubernetes")
check(eks.list_addons(clusterName="c1")["addons"] == ["coredns"], "ListAddons lists it")
check(error_code(lambda: eks.create_addon(clusterName="c1", addonName="coredns")) == "ResourceInUseException",
      "an add-on exists once")
check(error_code(lambda: eks.create_addon(clusterName="c1", addonName="kube-proxy",
                                          addonVersion="v1.33.0-eksbuild.1")) == "InvalidParameterException",
      "a version for another Kubernetes is refused")
versions = eks.describe_addon_versions(addonName="coredns", kubernetesVersion="1.33")["addons"][0]
check([v["addonVersion"] for v in versions["addonVersions"]] == ["v1.12.1-eksbuild.2"],
      "DescribeAddonVersions filters by Kubernetes version")
check(error_code(lambda: eks.update_cluster_version(name="c1", version="1.31")) == "InvalidParameterException",
      "no downgrades")
enc = [{"provider": {"keyArn": "arn:aws:kms:us-east-1:123456789012:key/k"}}]
up = eks.associate_encryption_config(clusterName="c1", encryptionConfig=enc)["update"]
check(up["type"] == "AssociateEncryptionConfig" and up["status"] == "Successful", "AssociateEncryptionConfig")
check(eks.describe_cluster(name="c1")["cluster"]["encryptionConfig"][0]["provider"]["keyArn"].endswith("key/k"),
      "AssociateEncryptionConfig sets the cluster's encryption")
check(error_code(lambda: eks.associate_encryption_config(clusterName="c1", encryptionConfig=enc)) == "InvalidParameterException",
      "AssociateEncryptionConfig only once")
up = eks.update_cluster_version(name="c1", version="1.33")["update"]
check(eks.describe_cluster(name="c1")["cluster"]["version"] == "1.33", "UpdateClusterVersion changes the version")
check(eks.describe_update(name="c1", updateId=up["id"])["update"]["status"] == "Successful",
      "DescribeUpdate finds the update")
check(error_code(lambda: eks.update_cluster_version(name="c1", version="1.35")) == "InvalidParameterException",
      "one minor version at a time")
eks.update_addon(clusterName="c1", addonName="coredns", addonVersion="v1.12.1-eksbuild.2")
check(eks.describe_addon(clusterName="c1", addonName="coredns")["addon"]["addonVersion"] == "v1.12.1-eksbuild.2",
      "UpdateAddon changes the version")
eks.create_nodegroup(clusterName="c1", nodegroupName="ng", nodeRole="arn:aws:iam::123456789012:role/n",
                     subnets=["subnet-1"], version="1.32")
eks.update_nodegroup_version(clusterName="c1", nodegroupName="ng", version="1.33")
check(eks.describe_nodegroup(clusterName="c1", nodegroupName="ng")["nodegroup"]["version"] == "1.33",
      "UpdateNodegroupVersion changes the version")
lt_ec2 = boto3.client("ec2", endpoint_url=url, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
lt = lt_ec2.create_launch_template(LaunchTemplateName="nodes", LaunchTemplateData={})["LaunchTemplate"]["LaunchTemplateId"]
eks.create_nodegroup(clusterName="c1", nodegroupName="templated", nodeRole="arn:aws:iam::123456789012:role/n",
                     subnets=["subnet-1"], launchTemplate={"id": lt, "version": "1"})
eks.update_nodegroup_version(clusterName="c1", nodegroupName="templated", launchTemplate={"id": lt, "version": "2"})
templated = eks.describe_nodegroup(clusterName="c1", nodegroupName="templated")["nodegroup"]
check(templated["launchTemplate"]["version"] == "2" and templated["launchTemplate"]["id"] == lt,
      "UpdateNodegroupVersion rolls a group to its launch template's new version")
arn = eks.describe_addon(clusterName="c1", addonName="coredns")["addon"]["addonArn"]
eks.tag_resource(resourceArn=arn, tags={"team": "platform"})
check(eks.describe_addon(clusterName="c1", addonName="coredns")["addon"]["tags"] == {"team": "platform"},
      "add-ons take tags")
ng_arn = eks.describe_nodegroup(clusterName="c1", nodegroupName="ng")["nodegroup"]["nodegroupArn"]
eks.tag_resource(resourceArn=ng_arn, tags={"team": "platform"})
eks.untag_resource(resourceArn=ng_arn, tagKeys=["team"])
check("team" not in eks.list_tags_for_resource(resourceArn=ng_arn)["tags"], "node groups take and lose tags")
eks.delete_addon(clusterName="c1", addonName="coredns")
check(error_code(lambda: eks.describe_addon(clusterName="c1", addonName="coredns")) == "ResourceNotFoundException",
      "DeleteAddon removes it")

# EKS access configuration and access entries
eks.create_cluster(name="c2", version="1.32", roleArn="arn:aws:iam::123456789012:role/eks",
                   resourcesVpcConfig={"subnetIds": []}, accessConfig={"authenticationMode": "API"})
check(eks.describe_cluster(name="c2")["cluster"]["accessConfig"]["authenticationMode"] == "API",
      "DescribeCluster returns the authentication mode")
check(error_code(lambda: eks.list_access_entries(clusterName="c1")) == "InvalidRequestException",
      "access entries need an API authentication mode")
admin = "arn:aws:iam::123456789012:role/path/admin"
eks.create_access_entry(clusterName="c2", principalArn=admin, kubernetesGroups=["ops"])
check(eks.list_access_entries(clusterName="c2")["accessEntries"] == [admin], "ListAccessEntries lists it")
check(eks.describe_access_entry(clusterName="c2", principalArn=admin)["accessEntry"]["kubernetesGroups"] == ["ops"],
      "DescribeAccessEntry finds a principal with a path")
eks.update_access_entry(clusterName="c2", principalArn=admin, kubernetesGroups=[])
check(eks.describe_access_entry(clusterName="c2", principalArn=admin)["accessEntry"]["kubernetesGroups"] == [],
      "UpdateAccessEntry changes the groups")
policy = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
eks.associate_access_policy(clusterName="c2", principalArn=admin, policyArn=policy,
                            accessScope={"type": "cluster"})
pols = eks.list_associated_access_policies(clusterName="c2", principalArn=admin)["associatedAccessPolicies"]
check([p["policyArn"] for p in pols] == [policy], "AssociateAccessPolicy associates it")
eks.disassociate_access_policy(clusterName="c2", principalArn=admin, policyArn=policy)
check(eks.list_associated_access_policies(clusterName="c2", principalArn=admin)["associatedAccessPolicies"] == [],
      "DisassociateAccessPolicy removes it")
eks.delete_access_entry(clusterName="c2", principalArn=admin)
check(eks.list_access_entries(clusterName="c2")["accessEntries"] == [], "DeleteAccessEntry removes it")
eks.update_cluster_config(name="c1", accessConfig={"authenticationMode": "API_AND_CONFIG_MAP"})
check(eks.describe_cluster(name="c1")["cluster"]["accessConfig"]["authenticationMode"] == "API_AND_CONFIG_MAP",
      "UpdateClusterConfig changes the authentication mode")
check(error_code(lambda: eks.update_cluster_config(name="c1", accessConfig={"authenticationMode": "CONFIG_MAP"}))
      == "InvalidParameterException", "the authentication mode never goes back")

# EKS Pod Identity associations, and an add-on's
role = "arn:aws:iam::123456789012:role/app"
made = eks.create_pod_identity_association(clusterName="c2", namespace="shop", serviceAccount="orders",
                                           roleArn=role, tags={"team": "shop"},
                                           disableSessionTags=True)["association"]
pid = made["associationId"]
check(made["associationArn"].endswith(f":podidentityassociation/c2/{pid}"), "an association has its ARN")
check(error_code(lambda: eks.create_pod_identity_association(clusterName="c2", namespace="shop",
                                                            serviceAccount="orders", roleArn=role))
      == "ResourceInUseException", "one association per service account")
rows = eks.list_pod_identity_associations(clusterName="c2", namespace="shop")["associations"]
check([r["associationId"] for r in rows] == [pid], "ListPodIdentityAssociations filters by namespace")
eks.update_pod_identity_association(clusterName="c2", associationId=pid, roleArn=role,
                                    targetRoleArn="arn:aws:iam::210987654321:role/x", disableSessionTags=False)
got = eks.describe_pod_identity_association(clusterName="c2", associationId=pid)["association"]
check(got["targetRoleArn"].endswith("role/x") and got["disableSessionTags"] is False and "externalId" in got,
      "UpdatePodIdentityAssociation sets the target role and session tags")
eks.tag_resource(resourceArn=made["associationArn"], tags={"env": "prod"})
check(got["tags"] == {"team": "shop"} and eks.describe_pod_identity_association(
    clusterName="c2", associationId=pid)["association"]["tags"] == {"team": "shop", "env": "prod"},
      "associations take tags")
addon = eks.create_addon(clusterName="c2", addonName="vpc-cni",
                         podIdentityAssociations=[{"serviceAccount": "aws-node", "roleArn": role}])["addon"]
owned = [r for r in eks.list_pod_identity_associations(clusterName="c2")["associations"] if r.get("ownerArn")]
check(len(addon["podIdentityAssociations"]) == 1 and owned[0]["ownerArn"] == addon["addonArn"]
      and owned[0]["namespace"] == "kube-system", "an add-on's podIdentityAssociations are associations it owns")
check(error_code(lambda: eks.delete_pod_identity_association(clusterName="c2", associationId=owned[0]["associationId"]))
      == "InvalidParameterException", "an add-on's association is deleted with the add-on only")
eks.update_addon(clusterName="c2", addonName="vpc-cni", podIdentityAssociations=[])
check(eks.describe_addon(clusterName="c2", addonName="vpc-cni")["addon"]["podIdentityAssociations"] == [],
      "UpdateAddon takes its associations away")
eks.delete_pod_identity_association(clusterName="c2", associationId=pid)
check(eks.list_pod_identity_associations(clusterName="c2")["associations"] == [],
      "DeletePodIdentityAssociation removes it")

# EKS upgrade insights, made by the test through a tag the emulator keeps as an insight
c2 = eks.describe_cluster(name="c2")["cluster"]["arn"]
eks.tag_resource(resourceArn=c2, tags={"awsemu:insight:i1": json.dumps(
    {"name": "Deprecated APIs", "version": "1.33", "status": "ERROR", "reason": "r", "recommendation": "fix"}),
    "team": "x"})
check("awsemu:insight:i1" not in eks.describe_cluster(name="c2")["cluster"]["tags"],
      "an insight's tag is not kept")
rows = eks.list_insights(clusterName="c2", filter={"categories": ["UPGRADE_READINESS"],
                                                   "kubernetesVersions": ["1.33"]})["insights"]
check([(r["id"], r["insightStatus"]["status"]) for r in rows] == [("i1", "ERROR")], "ListInsights lists it")
check(eks.list_insights(clusterName="c2", filter={"kubernetesVersions": ["1.34"]})["insights"] == [],
      "ListInsights filters by version")
check(eks.describe_insight(clusterName="c2", id="i1")["insight"]["recommendation"] == "fix",
      "DescribeInsight gives the recommendation")

# EKS add-on configuration schemas
schema = json.loads(eks.describe_addon_configuration(addonName="coredns", addonVersion="v1.12.1-eksbuild.2")
                    ["configurationSchema"])
check(schema["properties"]["replicaCount"]["type"] == "integer" and schema["additionalProperties"] is False,
      "DescribeAddonConfiguration gives coredns's schema")
check(error_code(lambda: eks.describe_addon_configuration(addonName="coredns", addonVersion="v9"))
      == "InvalidParameterException", "DescribeAddonConfiguration refuses an unknown version")

# EKS Auto Mode: its three settings together
auto = {"computeConfig": {"enabled": True, "nodePools": ["system"], "nodeRoleArn": role},
        "storageConfig": {"blockStorage": {"enabled": True}},
        "kubernetesNetworkConfig": {"elasticLoadBalancing": {"enabled": True}}}
eks.create_cluster(name="c3", version="1.33", roleArn=role, resourcesVpcConfig={"subnetIds": []}, **auto)
c3 = eks.describe_cluster(name="c3")["cluster"]
check(c3["computeConfig"]["nodePools"] == ["system"] and c3["storageConfig"]["blockStorage"]["enabled"]
      and c3["kubernetesNetworkConfig"]["elasticLoadBalancing"]["enabled"], "DescribeCluster returns Auto Mode")
check(error_code(lambda: eks.create_cluster(name="c4", version="1.33", roleArn=role, resourcesVpcConfig={"subnetIds": []},
                                            computeConfig=auto["computeConfig"])) == "InvalidParameterException",
      "Auto Mode's three settings go together")
eks.update_cluster_config(name="c3", computeConfig={"enabled": False},
                          storageConfig={"blockStorage": {"enabled": False}},
                          kubernetesNetworkConfig={"elasticLoadBalancing": {"enabled": False}})
check(eks.describe_cluster(name="c3")["cluster"]["computeConfig"] == {"enabled": False},
      "UpdateClusterConfig turns Auto Mode off")

# RDS: a default parameter group no instance used yet
rds = boto3.client("rds", endpoint_url=url, region_name="us-east-1",
                   aws_access_key_id="test", aws_secret_access_key="test")
rds.create_db_instance(DBInstanceIdentifier="d1", Engine="postgres", EngineVersion="16.4",
                       DBInstanceClass="db.t4g.micro", AllocatedStorage=20, MasterUsername="app",
                       MasterUserPassword="long-enough-1")
rds.modify_db_instance(DBInstanceIdentifier="d1", DBParameterGroupName="default.postgres17",
                       EngineVersion="17.2", AllowMajorVersionUpgrade=True, ApplyImmediately=True)
groups = rds.describe_db_instances(DBInstanceIdentifier="d1")["DBInstances"][0]["DBParameterGroups"]
check([g["DBParameterGroupName"] for g in groups] == ["default.postgres17"],
      "ModifyDBInstance moves to a default group of another family")


# EC2: a create sent again with the same ClientToken answers with the first.
ec2 = boto3.client("ec2", endpoint_url=url, region_name="us-east-1",
                   aws_access_key_id="test", aws_secret_access_key="test")
vpc = ec2.create_vpc(CidrBlock="10.99.0.0/16")["Vpc"]["VpcId"]
sub = ec2.create_subnet(VpcId=vpc, CidrBlock="10.99.1.0/24")["Subnet"]["SubnetId"]
eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
nat1 = ec2.create_nat_gateway(SubnetId=sub, AllocationId=eip, ClientToken="t-1")["NatGateway"]["NatGatewayId"]
nat2 = ec2.create_nat_gateway(SubnetId=sub, AllocationId=eip, ClientToken="t-1")["NatGateway"]["NatGatewayId"]
check(nat1 == nat2, "CreateNatGateway with the same ClientToken answers with the first")
check(len(ec2.describe_nat_gateways()["NatGateways"]) == 1, "and makes no second NAT gateway")
ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
run = lambda: ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1, SubnetId=sub,
                                ClientToken="t-2")["Instances"][0]["InstanceId"]
check(run() == run(), "RunInstances with the same ClientToken answers with the first")
other = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1, SubnetId=sub)["Instances"][0]["InstanceId"]
check(len([i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]) == 2,
      "without a token, RunInstances makes another")

# EFS: CreateAccessPoint sent again with the same ClientToken answers with the first.
efs = boto3.client("efs", endpoint_url=url, region_name="us-east-1",
                   aws_access_key_id="test", aws_secret_access_key="test")
fs = efs.create_file_system(CreationToken="fs-token")["FileSystemId"]
ap = lambda: efs.create_access_point(ClientToken="ap-1", FileSystemId=fs)["AccessPointId"]
check(ap() == ap(), "CreateAccessPoint with the same ClientToken answers with the first")
check(len(efs.describe_access_points(FileSystemId=fs)["AccessPoints"]) == 1,
      "and makes no second access point")

# RDS: a subnet group is still there after ModifyDBSubnetGroup.
rds = boto3.client("rds", endpoint_url=url, region_name="us-east-1",
                   aws_access_key_id="test", aws_secret_access_key="test")
rds_vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
rds_subnets = [ec2.create_subnet(VpcId=rds_vpc, CidrBlock=c, AvailabilityZone=z)["Subnet"]["SubnetId"]
               for c, z in [("10.9.1.0/24", "us-east-1a"), ("10.9.2.0/24", "us-east-1b")]]
rds.create_db_subnet_group(DBSubnetGroupName="kept", DBSubnetGroupDescription="a", SubnetIds=rds_subnets)
rds.modify_db_subnet_group(DBSubnetGroupName="kept", DBSubnetGroupDescription="b", SubnetIds=rds_subnets)
check(rds.describe_db_subnet_groups(DBSubnetGroupName="kept")["DBSubnetGroups"][0]["DBSubnetGroupDescription"] == "b",
      "ModifyDBSubnetGroup keeps the group, changed")

# IAM enforcement: a user allowed exactly eks:ListClusters and
# tag:GetResources gets those (moto refused the bodiless EKS GET's
# signature, and named the tagging action tagging:GetResources), and
# nothing else.
import json as _json
import urllib.request as _request


def enforce(count):
    _request.urlopen(_request.Request(url + "/moto-api/reset-auth", data=count.encode(),
                                      headers={"Content-Type": "text/plain"}, method="POST")).read()


iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1",
                   aws_access_key_id="test", aws_secret_access_key="test")
iam.create_user(UserName="fenced")
policy = iam.create_policy(PolicyName="fenced", PolicyDocument=_json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
        "eks:ListClusters", "tag:GetResources", "s3:GetEncryptionConfiguration", "ec2:DescribeVpcs"]}],
}))["Policy"]["Arn"]
iam.attach_user_policy(UserName="fenced", PolicyArn=policy)
key = iam.create_access_key(UserName="fenced")["AccessKey"]
boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="test",
             aws_secret_access_key="test").create_bucket(Bucket="fenced-bucket")
fenced = dict(endpoint_url=url, region_name="us-east-1",
              aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
enforce("0")
try:
    check(isinstance(boto3.client("eks", **fenced).list_clusters()["clusters"], list),
          "an allowed EKS GET passes the signature check")
    check("ResourceTagMappingList" in boto3.client("resourcegroupstaggingapi", **fenced).get_resources(),
          "tag:GetResources allows GetResources")
    check(error_code(lambda: boto3.client("eks", **fenced).list_nodegroups(clusterName="x"))
          in ("403", "AccessDeniedException"), "an action the policy does not allow is refused")
    check(error_code(lambda: boto3.client("s3", **fenced).get_bucket_encryption(Bucket="fenced-bucket"))
          != "AccessDenied", "s3:GetEncryptionConfiguration allows GetBucketEncryption")
    check(error_code(lambda: boto3.client("s3", **fenced).get_public_access_block(Bucket="fenced-bucket"))
          == "AccessDenied", "GetPublicAccessBlock needs s3:GetBucketPublicAccessBlock")
    check(isinstance(boto3.client("ec2", **fenced).describe_vpcs(
        Filters=[{"Name": "tag:Name", "Values": ["with a space"]}])["Vpcs"], list),
        "a query value with a space passes the signature check")
finally:
    enforce("inf")

print(f"ok: {checks} checks")
