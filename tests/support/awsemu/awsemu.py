"""The project's AWS emulator: moto (pinned in .venv), plus the few
operations moto 5.2.5 lacks that Blueprint uses, added to moto's own
backends the way LocalStack extends moto. State lives in moto's backends,
so moto's own operations see what the additions do and the other way round.

    .venv/bin/python tests/support/awsemu/awsemu.py -H 127.0.0.1 -p PORT

takes moto_server's arguments. What it adds (each listed in README's
emulator table, and checked by test_awsemu.py):

AWS Backup
  - CreateBackupSelection, GetBackupSelection, ListBackupSelections,
    DeleteBackupSelection (moto: HTTP 500 / 404);
  - UpdateBackupPlan (moto: HTTP 500), which gives the plan a new version;
  - StartBackupJob, which completes at once with a recovery point in the
    vault, and ListRecoveryPointsByBackupVault (moto: 404), so that tests
    can make and list recovery points;
  - AWS's refusals that moto skips: DeleteBackupPlan while the plan has
    selections, DeleteBackupVault while the vault holds recovery points;
  - a deleted plan's name can be used again (moto refuses it forever);
  - ListTags as the Rust SDK sends it, with no slash after the ARN (moto
    read the ARN from the wrong path segment and answered no tags).

EFS
  - UpdateFileSystem (moto: no such operation), for the throughput mode.
"""
from urllib.parse import unquote

import json
import sys
import uuid
from datetime import datetime, timedelta, timezone

from moto.backup import urls as backup_urls
from moto.backup.exceptions import InvalidRequestException, ResourceNotFoundException
from moto.backup.models import BackupBackend, Plan
from moto.backup.responses import BackupResponse
from moto.core.utils import unix_time
from moto.moto_api._internal import mock_random


# AWS Backup ------------------------------------------------------------------

backup_urls.url_paths.update(
    {
        "{0}/backup/plans/(?P<name>[^/]+)/selections/$": backup_urls.response.dispatch,
        "{0}/backup/plans/(?P<name>[^/]+)/selections/(?P<selection>[^/]+)/?$": backup_urls.response.dispatch,
        "{0}/backup-vaults/(?P<name>[^/]+)/recovery-points/$": backup_urls.response.dispatch,
        "{0}/backup-jobs/?$": backup_urls.response.dispatch,
    }
)


def _selections(backend):
    if not hasattr(backend, "ext_selections"):
        backend.ext_selections = {}  # selection id -> dict
    return backend.ext_selections


def _points(backend):
    if not hasattr(backend, "ext_points"):
        backend.ext_points = {}  # vault name -> [dict]
    return backend.ext_points


def _live_plan(backend, plan_id):
    plan = backend.plans.get(plan_id)
    if plan is None or plan.deletion_date is not None:
        raise ResourceNotFoundException(msg=f"Backup plan {plan_id} not found")
    return plan


def create_backup_plan(self, backup_plan, backup_plan_tags, creator_request_id):
    name = backup_plan["BackupPlanName"]
    if any(
        p.backup_plan["BackupPlanName"] == name and p.deletion_date is None
        for p in self.plans.values()
    ):
        from moto.backup.exceptions import AlreadyExistsException

        raise AlreadyExistsException(msg="Backup plan with the same plan document already exists")
    plan = Plan(backup_plan=backup_plan, creator_request_id=creator_request_id, backend=self)
    if backup_plan_tags:
        self.tag_resource(plan.backup_plan_arn, backup_plan_tags)
    self.plans[plan.backup_plan_id] = plan
    return plan


_moto_delete_plan = BackupBackend.delete_backup_plan


def delete_backup_plan(self, backup_plan_id):
    if any(s["BackupPlanId"] == backup_plan_id for s in _selections(self).values()):
        raise InvalidRequestException(
            msg="Related backup plan selections must be deleted prior to backup plan deletion"
        )
    return _moto_delete_plan(self, backup_plan_id)


def delete_backup_vault(self, backup_vault_name):
    if backup_vault_name not in self.vaults:
        raise ResourceNotFoundException(msg=f"Backup vault {backup_vault_name} not found")
    if _points(self).get(backup_vault_name):
        raise InvalidRequestException(
            msg="Backup vault cannot be deleted because it contains recovery points"
        )
    self.vaults.pop(backup_vault_name, None)
    _points(self).pop(backup_vault_name, None)


BackupBackend.create_backup_plan = create_backup_plan
BackupBackend.delete_backup_plan = delete_backup_plan
BackupBackend.delete_backup_vault = delete_backup_vault


def _plan_id(self):
    return self.path.split("/backup/plans/")[1].split("/")[0]


def list_tags(self):
    arn = unquote(self.path.split("/tags/", 1)[1].rstrip("/"))
    return json.dumps({"Tags": self.backup_backend.list_tags(resource_arn=arn)})


def update_backup_plan(self):
    params = json.loads(self.body)
    plan = _live_plan(self.backup_backend, _plan_id(self))
    fresh = Plan(backup_plan=params["BackupPlan"], creator_request_id=plan.creator_request_id,
                 backend=self.backup_backend)
    plan.backup_plan = fresh.backup_plan
    plan.advanced_backup_settings = fresh.advanced_backup_settings
    plan.version_id = mock_random.get_random_string(length=48)
    return json.dumps(plan.to_dict())


def create_backup_selection(self):
    params = json.loads(self.body)
    plan_id = _plan_id(self)
    _live_plan(self.backup_backend, plan_id)
    selection = params["BackupSelection"]
    for key in ("SelectionName", "IamRoleArn"):
        if not selection.get(key):
            from moto.backup.exceptions import InvalidParameterValueException

            raise InvalidParameterValueException(msg=f"{key} is required")
    sid = str(uuid.uuid4())
    _selections(self.backup_backend)[sid] = {
        "SelectionId": sid,
        "BackupPlanId": plan_id,
        "BackupSelection": selection,
        "CreationDate": unix_time(),
        "CreatorRequestId": params.get("CreatorRequestId"),
    }
    return json.dumps({"SelectionId": sid, "BackupPlanId": plan_id, "CreationDate": unix_time()})


def _selection(self):
    parts = self.path.rstrip("/").split("/")
    sid = parts[-1]
    found = _selections(self.backup_backend).get(sid)
    if found is None or found["BackupPlanId"] != _plan_id(self):
        raise ResourceNotFoundException(msg=f"Backup selection {sid} not found")
    return found


def get_backup_selection(self):
    return json.dumps({k: v for k, v in _selection(self).items() if v is not None})


def delete_backup_selection(self):
    found = _selection(self)
    del _selections(self.backup_backend)[found["SelectionId"]]
    return "{}"


def list_backup_selections(self):
    plan_id = _plan_id(self)
    _live_plan(self.backup_backend, plan_id)
    rows = [
        {
            "SelectionId": s["SelectionId"],
            "SelectionName": s["BackupSelection"]["SelectionName"],
            "BackupPlanId": plan_id,
            "CreationDate": s["CreationDate"],
            "IamRoleArn": s["BackupSelection"]["IamRoleArn"],
        }
        for s in _selections(self.backup_backend).values()
        if s["BackupPlanId"] == plan_id
    ]
    return json.dumps({"BackupSelectionsList": rows})


def start_backup_job(self):
    params = json.loads(self.body)
    backend = self.backup_backend
    vault_name = params["BackupVaultName"]
    vault = backend.vaults.get(vault_name)
    if vault is None:
        raise ResourceNotFoundException(msg=f"Backup vault {vault_name} not found")
    resource = params["ResourceArn"]
    now = datetime.now(timezone.utc)
    job = str(uuid.uuid4())
    point = f"arn:aws:backup:{backend.region_name}:{backend.account_id}:recovery-point:{job}"
    lifecycle = params.get("Lifecycle") or {}
    calculated = {}
    if lifecycle.get("DeleteAfterDays"):
        calculated["DeleteAt"] = (now + timedelta(days=lifecycle["DeleteAfterDays"])).timestamp()
    if lifecycle.get("MoveToColdStorageAfterDays"):
        calculated["MoveToColdStorageAt"] = (
            now + timedelta(days=lifecycle["MoveToColdStorageAfterDays"])
        ).timestamp()
    service = resource.split(":")[2] if resource.count(":") >= 2 else ""
    _points(backend).setdefault(vault_name, []).append(
        {
            "RecoveryPointArn": point,
            "BackupVaultName": vault_name,
            "BackupVaultArn": vault.backup_vault_arn,
            "ResourceArn": resource,
            "ResourceType": {"elasticfilesystem": "EFS", "rds": "RDS", "dynamodb": "DynamoDB",
                             "s3": "S3", "ec2": "EBS"}.get(service, service),
            "IamRoleArn": params.get("IamRoleArn"),
            "Status": "COMPLETED",
            "CreationDate": now.timestamp(),
            "CompletionDate": now.timestamp(),
            "BackupSizeInBytes": 1024,
            "Lifecycle": lifecycle,
            "CalculatedLifecycle": calculated,
            "EncryptionKeyArn": vault.encryption_key_arn,
            "IsEncrypted": True,
        }
    )
    vault.num_of_recovery_points = len(_points(backend)[vault_name])
    return json.dumps({"BackupJobId": job, "RecoveryPointArn": point,
                       "CreationDate": now.timestamp()})


def list_recovery_points_by_backup_vault(self):
    name = self.path.split("/backup-vaults/")[1].split("/")[0]
    if name not in self.backup_backend.vaults:
        raise ResourceNotFoundException(msg=f"Backup vault {name} not found")
    return json.dumps({"RecoveryPoints": _points(self.backup_backend).get(name, [])})


for _f in (
    list_tags,
    update_backup_plan,
    create_backup_selection,
    get_backup_selection,
    delete_backup_selection,
    list_backup_selections,
    start_backup_job,
    list_recovery_points_by_backup_vault,
):
    setattr(BackupResponse, _f.__name__, _f)


# EFS ---------------------------------------------------------------------------

from moto.efs.exceptions import FileSystemNotFound
from moto.efs.responses import EFSResponse


def update_file_system(self):
    fs_id = self.path.rstrip("/").split("/")[-1]
    fs = self.efs_backend.file_systems_by_id.get(fs_id)
    if fs is None:
        raise FileSystemNotFound(fs_id)
    params = json.loads(self.body or "{}")
    if "ThroughputMode" in params:
        fs.throughput_mode = params["ThroughputMode"]
    if "ProvisionedThroughputInMibps" in params:
        fs.provisioned_throughput_in_mibps = params["ProvisionedThroughputInMibps"]
    return json.dumps(fs.info_json()), {"status": 202, "Content-Type": "application/json"}


EFSResponse.update_file_system = update_file_system


if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
