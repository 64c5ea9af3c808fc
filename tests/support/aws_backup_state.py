"""What AWS Backup holds, read independently with boto3, as JSON for the
tests: vaults (key, recovery points), plans (rules) and their selections,
and whether the KMS keys are still enabled.

    aws_backup_state.py ENDPOINT_URL [start-job VAULT RESOURCE_ARN]

With `start-job`, first backs RESOURCE_ARN up into VAULT (a recovery point,
as AWS Backup's scheduler would make one)."""

import json
import sys

import boto3

url = sys.argv[1]
kw = dict(endpoint_url=url, region_name="us-east-1",
          aws_access_key_id="test", aws_secret_access_key="test")
backup = boto3.client("backup", **kw)
kms = boto3.client("kms", **kw)
iam = boto3.client("iam", **kw)

if sys.argv[2:3] == ["start-job"]:
    backup.start_backup_job(BackupVaultName=sys.argv[3], ResourceArn=sys.argv[4],
                            IamRoleArn="arn:aws:iam::123456789012:role/test",
                            Lifecycle={"DeleteAfterDays": 35})

out = {"vaults": {}, "plans": {}, "keys": {}}
for v in backup.list_backup_vaults()["BackupVaultList"]:
    points = backup.list_recovery_points_by_backup_vault(BackupVaultName=v["BackupVaultName"])
    out["vaults"][v["BackupVaultName"]] = {
        "key": v.get("EncryptionKeyArn"),
        "points": len(points["RecoveryPoints"]),
        "tags": backup.list_tags(ResourceArn=v["BackupVaultArn"])["Tags"],
    }
for p in backup.list_backup_plans()["BackupPlansList"]:
    doc = backup.get_backup_plan(BackupPlanId=p["BackupPlanId"])
    selections = []
    for s in backup.list_backup_selections(BackupPlanId=p["BackupPlanId"])["BackupSelectionsList"]:
        sel = backup.get_backup_selection(BackupPlanId=p["BackupPlanId"],
                                          SelectionId=s["SelectionId"])["BackupSelection"]
        role = iam.get_role(RoleName=sel["IamRoleArn"].split("/")[-1])["Role"]
        selections.append({
            "id": s["SelectionId"],
            "name": sel["SelectionName"],
            "resources": sorted(sel.get("Resources", [])),
            "role_trusts": [st["Principal"].get("Service") for st in
                            role["AssumeRolePolicyDocument"]["Statement"]],
        })
    out["plans"][p["BackupPlanName"]] = {
        "id": p["BackupPlanId"],
        "rules": {
            r["RuleName"]: {
                "vault": r["TargetBackupVaultName"],
                "schedule": r.get("ScheduleExpression"),
                "lifecycle": r.get("Lifecycle", {}),
            }
            for r in doc["BackupPlan"]["Rules"]
        },
        "selections": selections,
    }
for k in kms.list_keys()["Keys"]:
    meta = kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]
    out["keys"][meta["Arn"]] = meta["KeyState"]
print(json.dumps(out))
