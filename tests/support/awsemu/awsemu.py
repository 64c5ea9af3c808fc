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

RDS
  - ModifyDBSubnetGroup keeps the group (moto: the group is gone after it);
  - ModifyDBInstance to a default parameter group (`default.postgres17`)
    that no instance has used yet (moto: DBParameterGroupNotFound; AWS has
    a default group per family).

EKS
  - add-ons: CreateAddon, DescribeAddon, UpdateAddon, DeleteAddon,
    ListAddons, DescribeAddonVersions (moto: 404), for vpc-cni, coredns,
    kube-proxy, aws-ebs-csi-driver and aws-efs-csi-driver, with a table of
    versions per Kubernetes version (ADDON_VERSIONS below: emulator data,
    shaped like AWS's, not AWS's own list);
  - UpdateClusterVersion (one minor version at a time, as AWS allows),
    UpdateNodegroupVersion and DescribeUpdate (moto: 404); updates
    complete at once;
  - TagResource, UntagResource and ListTagsForResource of node groups,
    Fargate profiles, add-ons and access entries (moto: clusters only);
  - the cluster's access configuration (authentication mode) in
    CreateCluster, DescribeCluster and UpdateClusterConfig (moto: dropped),
    and access entries: CreateAccessEntry, DescribeAccessEntry,
    UpdateAccessEntry, DeleteAccessEntry, ListAccessEntries,
    AssociateAccessPolicy, DisassociateAccessPolicy,
    ListAssociatedAccessPolicies (moto: 404), refused unless the cluster's
    mode allows them, as AWS does;
  - EKS Auto Mode: computeConfig, storageConfig and
    kubernetesNetworkConfig.elasticLoadBalancing in CreateCluster,
    UpdateClusterConfig and DescribeCluster (moto: dropped), refused unless
    all three are on or all off, and without a node role for built-in node
    pools, as AWS does;
  - Pod Identity associations: CreatePodIdentityAssociation,
    DescribePodIdentityAssociation, UpdatePodIdentityAssociation,
    DeletePodIdentityAssociation, ListPodIdentityAssociations (moto: 404),
    one per namespace and service account, with tags, session tags and a
    target role; and an add-on's podIdentityAssociations in CreateAddon,
    UpdateAddon and DescribeAddon, which make associations the add-on owns
    (ownerArn) and delete them with it;
  - DescribeAddonConfiguration (moto: 404), with schemas shaped like
    EKS's for vpc-cni and coredns (ADDON_SCHEMAS below: emulator data) and
    an open one for the others;
  - upgrade insights: ListInsights (by category, Kubernetes version and
    status) and DescribeInsight (moto: 404), of insights a test makes by
    tagging the cluster `awsemu:insight:<id>` with the insight as JSON
    (`{"name", "version", "status", "reason", "recommendation"}`): the
    test plays EKS's insight engine, and the tag is never kept.

IAM enforcement (moto's INITIAL_NO_AUTH_ACTION_COUNT)
  - the signature of REST requests with no body (moto: SignatureDoesNotMatch
    for every GET of EKS, Backup and EFS once enforcement is on);
  - the Resource Groups Tagging API's actions as IAM names them,
    `tag:GetResources` (moto: `tagging:GetResources`);
  - S3 bucket encryption and public access block requests checked against
    IAM's actions, `s3:GetEncryptionConfiguration`,
    `s3:PutEncryptionConfiguration`, `s3:GetBucketPublicAccessBlock`,
    `s3:PutBucketPublicAccessBlock` (moto: `s3:ListBucket`,
    `s3:CreateBucket`, `s3:GetPublicAccessBlock`, ...);
  - query-protocol requests whose values hold a space (moto re-encoded the
    form with `+` and refused the signature).
  moto checks the action of each request against the caller's policies; it
  takes every request's resource as "*" and evaluates no conditions.
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

# AWS answers a CreateAccessPoint sent again with the same ClientToken with
# the access point the first made; moto makes a second one.
from moto.efs.models import EFSBackend

_moto_create_access_point = EFSBackend.create_access_point


def create_access_point_once(self, client_token, tags, file_system_id, posix_user, root_directory):
    for ap in self.access_points.values():
        if client_token and ap.client_token == client_token:
            return ap
    return _moto_create_access_point(self, client_token, tags, file_system_id, posix_user,
                                     root_directory)


EFSBackend.create_access_point = create_access_point_once


# RDS ---------------------------------------------------------------------------

from moto.rds.models import DBParameterGroup, RDSBackend

_moto_modify_db_instance = RDSBackend.modify_db_instance


def modify_db_instance(self, db_instance_identifier, db_kwargs):
    name = db_kwargs.get("db_parameter_group_name")
    if name and name.startswith("default.") and name not in self.db_parameter_groups:
        family = name[len("default."):]
        self.db_parameter_groups[name] = DBParameterGroup(
            backend=self, db_parameter_group_name=name, db_parameter_group_family=family,
            description=f"Default parameter group for {family}", tags=[])
    return _moto_modify_db_instance(self, db_instance_identifier, db_kwargs)


RDSBackend.modify_db_instance = modify_db_instance


# EKS ---------------------------------------------------------------------------

from moto.eks import urls as eks_urls
from moto.eks.exceptions import InvalidParameterException as EksInvalid
from moto.eks.exceptions import ResourceInUseException as EksInUse
from moto.eks.exceptions import ResourceNotFoundException as EksNotFound
from moto.eks.responses import EKSResponse

eks_urls.url_paths.update(
    {
        "{0}/clusters/(?P<name>[^/]+)/addons$": eks_urls.response.dispatch,
        "{0}/clusters/(?P<name>[^/]+)/addons/(?P<addonName>[^/]+)$": eks_urls.response.dispatch,
        "{0}/clusters/(?P<name>[^/]+)/addons/(?P<addonName>[^/]+)/update$": eks_urls.response.dispatch,
        "{0}/addons/supported-versions$": eks_urls.response.dispatch,
        "{0}/addons/configuration-schemas$": eks_urls.response.dispatch,
        "{0}/clusters/(?P<name>[^/]+)/updates$": eks_urls.response.dispatch,
        "{0}/clusters/(?P<name>[^/]+)/updates/(?P<updateId>[^/]+)$": eks_urls.response.dispatch,
        "{0}/clusters/(?P<name>[^/]+)/node-groups/(?P<nodegroupName>[^/]+)/update-version$": eks_urls.response.dispatch,
        "{0}/clusters/(?P<name>[^/]+)/encryption-config/associate$": eks_urls.response.dispatch,
    }
)

K8S_VERSIONS = ["1.28", "1.29", "1.30", "1.31", "1.32", "1.33", "1.34", "1.35"]
# Per add-on: (version, Kubernetes versions it supports, default for them).
ADDON_VERSIONS = {
    "vpc-cni": [("v1.19.2-eksbuild.1", K8S_VERSIONS, K8S_VERSIONS),
                ("v1.18.6-eksbuild.1", K8S_VERSIONS[:5], [])],
    "coredns": [("v1.10.1-eksbuild.18", ["1.28"], ["1.28"]),
                ("v1.11.1-eksbuild.9", ["1.29", "1.30"], ["1.29", "1.30"]),
                ("v1.11.4-eksbuild.2", ["1.31", "1.32"], ["1.31", "1.32"]),
                ("v1.12.1-eksbuild.2", ["1.33"], ["1.33"]),
                ("v1.12.4-eksbuild.1", ["1.34", "1.35"], ["1.34", "1.35"])],
    "kube-proxy": [(f"v{k}.0-eksbuild.1", [k], [k]) for k in K8S_VERSIONS],
    "aws-ebs-csi-driver": [("v1.38.1-eksbuild.1", K8S_VERSIONS, K8S_VERSIONS)],
    "aws-efs-csi-driver": [("v2.1.4-eksbuild.1", K8S_VERSIONS, K8S_VERSIONS)],
    "eks-pod-identity-agent": [("v1.3.4-eksbuild.1", K8S_VERSIONS, K8S_VERSIONS)],
}


def _cluster(self, name):
    cluster = self.eks_backend.clusters.get(name)
    if cluster is None:
        raise EksNotFound(clusterName=name, nodegroupName=None, fargateProfileName=None,
                          addonName=None, message=f"No cluster found for name: {name}.")
    return cluster


def _addons(cluster):
    if not hasattr(cluster, "ext_addons"):
        cluster.ext_addons = {}
    return cluster.ext_addons


def _updates(cluster):
    if not hasattr(cluster, "ext_updates"):
        cluster.ext_updates = {}
    return cluster.ext_updates


def _default_version(addon, k8s):
    for version, supported, default in ADDON_VERSIONS.get(addon, []):
        if k8s in default:
            return version
    return None


def _supported(addon, version, k8s):
    return any(v == version and k8s in supported for v, supported, _ in ADDON_VERSIONS.get(addon, []))


def _tagged(backend, arn):
    """The tags dict of the EKS resource with this ARN, or None."""
    for c in backend.clusters.values():
        if c.arn == arn:
            return c.tags
        for ng in c.nodegroups.values():
            if ng.arn == arn:
                return ng.tags
        for fp in c.fargate_profiles.values():
            if fp.fargate_profile_arn == arn:
                return fp.tags
        for a in _addons(c).values():
            if a["arn"] == arn:
                return a["tags"]
        for e in getattr(c, "ext_entries", {}).values():
            if e["arn"] == arn:
                return e["tags"]
        for p in getattr(c, "ext_pods", {}).values():
            if p["associationArn"] == arn:
                return p["tags"]
    return None


def _not_found(op):
    return EksNotFound(clusterName=None, nodegroupName=None, fargateProfileName=None, addonName=None,
                       message=f"An error occurred (NotFoundException) when calling the {op} operation: Resource was not found")


def eks_tag_resource(self, resource_arn, tags):
    found = _tagged(self, resource_arn)
    if found is None:
        raise _not_found("TagResource")
    # The tests play EKS's insight engine: a tag `awsemu:insight:<id>` on a
    # cluster, holding the insight as JSON, makes an upgrade insight of it
    # (and is never kept as a tag).
    for key in [k for k in tags if k.startswith(INSIGHT_TAG)]:
        cluster = next(c for c in self.clusters.values() if c.arn == resource_arn)
        _insights(cluster)[key[len(INSIGHT_TAG):]] = json.loads(tags.pop(key))
    found.update(tags)


def eks_untag_resource(self, resource_arn, tag_keys):
    found = _tagged(self, resource_arn)
    if found is None:
        raise _not_found("UntagResource")
    for k in tag_keys if isinstance(tag_keys, list) else [tag_keys]:
        found.pop(k, None)


def eks_list_tags(self, resource_arn):
    found = _tagged(self, resource_arn)
    if found is None:
        raise _not_found("ListTagsForResource")
    return found


from moto.eks.models import EKSBackend

EKSBackend.tag_resource = eks_tag_resource
EKSBackend.untag_resource = eks_untag_resource
EKSBackend.list_tags_for_resource = eks_list_tags


def _addon_json(cluster, a):
    owned = [p["associationArn"] for p in _pods(cluster).values() if p.get("ownerArn") == a["arn"]]
    return {
        "podIdentityAssociations": sorted(owned),
        "addonName": a["name"], "clusterName": cluster.name, "status": "ACTIVE",
        "addonVersion": a["version"], "health": {"issues": []},
        "addonArn": a["arn"],
        "createdAt": a["created"], "modifiedAt": a["modified"],
        **({"serviceAccountRoleArn": a["role"]} if a.get("role") else {}),
        **({"configurationValues": a["config"]} if a.get("config") else {}),
        "tags": a.get("tags") or {},
    }


def _update(cluster, kind, params, nodegroup=None, addon=None):
    uid = str(uuid.uuid4())
    u = {"id": uid, "status": "Successful", "type": kind, "createdAt": unix_time(),
         "params": [{"type": k, "value": v} for k, v in params.items()], "errors": []}
    _updates(cluster)[uid] = (u, nodegroup, addon)
    return u


def create_addon(self):
    cluster = _cluster(self, self._get_param("name"))
    name = self._get_param("addonName")
    if name not in ADDON_VERSIONS:
        raise EksInvalid(clusterName=cluster.name, addonName=name,
                         message=f"Addon {name} specified is not supported")
    if name in _addons(cluster):
        raise EksInUse(clusterName=cluster.name, addonName=name, nodegroupName=None,
                       message=f"Addon already exists with name: {name} and cluster name: {cluster.name}")
    version = self._get_param("addonVersion") or _default_version(name, cluster.version)
    if not _supported(name, version, cluster.version):
        raise EksInvalid(clusterName=cluster.name, addonName=name,
                         message=f"Addon version specified is not supported: {version} on Kubernetes {cluster.version}")
    aid = str(uuid.uuid4())[:8]
    a = {"name": name, "id": aid, "version": version, "created": unix_time(),
         "modified": unix_time(), "role": self._get_param("serviceAccountRoleArn"),
         "config": self._get_param("configurationValues"), "tags": self._get_param("tags") or {},
         "arn": f"{cluster.arn.replace(':cluster/', ':addon/')}/{name}/{aid}"}
    _addons(cluster)[name] = a
    _addon_pods(self, cluster, a, self._get_param("podIdentityAssociations") or [])
    return json.dumps({"addon": _addon_json(cluster, a)})


def _addon(self):
    cluster = _cluster(self, self._get_param("name"))
    name = self._get_param("addonName")
    a = _addons(cluster).get(name)
    if a is None:
        raise EksNotFound(clusterName=cluster.name, addonName=name, nodegroupName=None,
                          fargateProfileName=None, message=f"No addon: {name} found in cluster: {cluster.name}")
    return cluster, a


def describe_addon(self):
    cluster, a = _addon(self)
    return json.dumps({"addon": _addon_json(cluster, a)})


def update_addon(self):
    cluster, a = _addon(self)
    version = self._get_param("addonVersion")
    if version:
        if not _supported(a["name"], version, cluster.version):
            raise EksInvalid(clusterName=cluster.name, addonName=a["name"],
                             message=f"Addon version specified is not supported: {version} on Kubernetes {cluster.version}")
        a["version"] = version
    for key, param in (("role", "serviceAccountRoleArn"), ("config", "configurationValues")):
        value = self._get_param(param)
        if value is not None:
            a[key] = value
    pods = self._get_param("podIdentityAssociations")
    if pods is not None:
        _addon_pods(self, cluster, a, pods)
    a["modified"] = unix_time()
    u = _update(cluster, "AddonUpdate", {"AddonVersion": a["version"]}, addon=a["name"])
    return json.dumps({"update": u})


def delete_addon(self):
    cluster, a = _addon(self)
    _addon_pods(self, cluster, a, [])
    del _addons(cluster)[a["name"]]
    return json.dumps({"addon": {**_addon_json(cluster, a), "status": "DELETING"}})


def list_addons(self):
    cluster = _cluster(self, self._get_param("name"))
    return json.dumps({"addons": sorted(_addons(cluster))})


def _schema(properties, **extra):
    return {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
            "additionalProperties": False, "properties": properties, **extra}


_RESOURCES = {"type": "object", "additionalProperties": False, "properties": {
    "limits": {"type": "object", "additionalProperties": False,
               "properties": {"cpu": {"type": "string"}, "memory": {"type": "string"}}},
    "requests": {"type": "object", "additionalProperties": False,
                 "properties": {"cpu": {"type": "string"}, "memory": {"type": "string"}}}}}
_STRINGS = {"type": "object", "additionalProperties": {"type": "string"}}
_BOOL_TEXT = {"type": "string", "enum": ["true", "false"]}
_NUMBER_TEXT = {"type": "string", "pattern": "^[0-9]+$"}

# The shape of EKS's published schemas (DescribeAddonConfiguration): the
# parts of vpc-cni's and coredns's that Blueprint's tests use, with their
# types, patterns and closed objects; emulator data, not AWS's own text.
ADDON_SCHEMAS = {
    "vpc-cni": _schema({
        "env": {"type": "object", "additionalProperties": False, "properties": {
            "AWS_VPC_K8S_CNI_LOGLEVEL": {"type": "string", "enum": ["DEBUG", "INFO", "WARN", "ERROR", "FATAL"]},
            "ENABLE_PREFIX_DELEGATION": _BOOL_TEXT,
            "ENABLE_POD_ENI": _BOOL_TEXT,
            "WARM_ENI_TARGET": _NUMBER_TEXT,
            "WARM_IP_TARGET": _NUMBER_TEXT,
            "WARM_PREFIX_TARGET": _NUMBER_TEXT,
            "MINIMUM_IP_TARGET": _NUMBER_TEXT,
            "AWS_VPC_ENI_MTU": _NUMBER_TEXT,
            "ADDITIONAL_ENI_TAGS": {"type": "string"},
        }},
        "enableNetworkPolicy": _BOOL_TEXT,
        "nodeAgent": {"type": "object", "additionalProperties": False, "properties": {
            "enablePolicyEventLogs": _BOOL_TEXT, "healthProbeBindAddr": _NUMBER_TEXT}},
        "resources": _RESOURCES,
        "tolerations": {"type": "array", "items": {"type": "object"}},
    }),
    "coredns": _schema({
        "replicaCount": {"type": "integer", "minimum": 1},
        "autoScaling": {"type": "object", "additionalProperties": False, "properties": {
            "enabled": {"type": "boolean"}, "minReplicas": {"type": "integer", "minimum": 2},
            "maxReplicas": {"type": "integer", "minimum": 2}}},
        "corefile": {"type": "string"},
        "nodeSelector": _STRINGS,
        "podAnnotations": _STRINGS,
        "podLabels": _STRINGS,
        "podDisruptionBudget": {"type": "object", "additionalProperties": False, "properties": {
            "enabled": {"type": "boolean"}, "maxUnavailable": {"type": ["integer", "string"]},
            "minAvailable": {"type": ["integer", "string"]}}},
        "resources": _RESOURCES,
        "tolerations": {"type": "array", "items": {"type": "object"}},
        "topologySpreadConstraints": {"type": "array", "items": {"type": "object"}},
    }),
}


def describe_addon_configuration(self):
    name = self._get_param("addonName")
    version = self._get_param("addonVersion")
    if not any(v == version for v, _, _ in ADDON_VERSIONS.get(name, [])):
        raise EksInvalid(clusterName=None, nodegroupName=None, addonName=name,
                         message=f"Addon {name} version {version} is not supported")
    schema = ADDON_SCHEMAS.get(name, {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"})
    return json.dumps({"addonName": name, "addonVersion": version,
                       "configurationSchema": json.dumps(schema), "podIdentityConfiguration": []})


def describe_addon_versions(self):
    name = self._get_param("addonName")
    k8s = self._get_param("kubernetesVersion")
    out = []
    for addon, versions in sorted(ADDON_VERSIONS.items()):
        if name and addon != name:
            continue
        rows = [
            {"addonVersion": v, "architecture": ["amd64", "arm64"],
             "compatibilities": [{"clusterVersion": k, "platformVersions": ["*"],
                                  "defaultVersion": k in default}
                                 for k in supported if not k8s or k == k8s]}
            for v, supported, default in versions if not k8s or k8s in supported
        ]
        if rows:
            out.append({"addonName": addon, "type": "networking", "addonVersions": rows})
    return json.dumps({"addons": out})


def update_cluster_version(self):
    cluster = _cluster(self, self._get_param("name"))
    version = self._get_param("version")
    have = [int(x) for x in cluster.version.split(".")]
    want = [int(x) for x in version.split(".")]
    if want[0] != have[0] or want[1] != have[1] + 1:
        raise EksInvalid(clusterName=cluster.name, nodegroupName=None, addonName=None,
                         message=f"Unsupported Kubernetes minor version update from {cluster.version} to {version}")
    cluster.version = version
    return json.dumps({"update": _update(cluster, "VersionUpdate", {"Version": version})})


def associate_encryption_config(self):
    cluster = _cluster(self, self._get_param("name"))
    config = self._get_param("encryptionConfig") or []
    if cluster.encryption_config:
        raise EksInvalid(clusterName=cluster.name, nodegroupName=None, addonName=None,
                         message="Encryption is already enabled on the cluster")
    if len(config) != 1 or not (config[0].get("provider") or {}).get("keyArn"):
        raise EksInvalid(clusterName=cluster.name, nodegroupName=None, addonName=None,
                         message="encryptionConfig needs one entry with a provider keyArn")
    cluster.encryption_config = config
    return json.dumps({"update": _update(cluster, "AssociateEncryptionConfig",
                                         {"EncryptionConfig": json.dumps(config)})})


def update_nodegroup_version(self):
    cluster = _cluster(self, self._get_param("name"))
    name = self._get_param("nodegroupName")
    ng = cluster.nodegroups.get(name)
    if ng is None:
        raise EksNotFound(clusterName=cluster.name, nodegroupName=name, fargateProfileName=None,
                          addonName=None, message=f"No node group found for name: {name}.")
    template = self._get_param("launchTemplate")
    if template:
        # A new version of the group's launch template: the nodes roll.
        ng.launch_template = {**(ng.launch_template or {}), **template}
    version = self._get_param("version") or (ng.version if template else cluster.version)
    if [int(x) for x in version.split(".")] > [int(x) for x in cluster.version.split(".")]:
        raise EksInvalid(clusterName=cluster.name, nodegroupName=name, addonName=None,
                         message=f"Requested Kubernetes version {version} is newer than the cluster's {cluster.version}")
    ng.version = version
    ng.release_version = self._get_param("releaseVersion") or f"{version}.0-20251001"
    u = _update(cluster, "VersionUpdate", {"Version": version, "ReleaseVersion": ng.release_version},
                nodegroup=name)
    return json.dumps({"update": u})


def describe_update(self):
    cluster = _cluster(self, self._get_param("name"))
    uid = self.path.rstrip("/").split("/")[-1].split("?")[0]
    found = _updates(cluster).get(uid)
    if found is None:
        raise EksNotFound(clusterName=cluster.name, nodegroupName=None, fargateProfileName=None,
                          addonName=None, message=f"No update found for ID: {uid}")
    return json.dumps({"update": found[0]})


eks_urls.url_paths.update(
    {
        "{0}/clusters/(?P<name>[^/]+)/access-entries$": eks_urls.response.dispatch,
        "{0}/clusters/(?P<name>[^/]+)/access-entries/(?P<principalArn>.+)$": eks_urls.response.dispatch,
    }
)

AUTH_MODES = ["CONFIG_MAP", "API_AND_CONFIG_MAP", "API"]

_moto_create_cluster = EKSResponse.create_cluster
_moto_update_cluster_config = EKSResponse.update_cluster_config


def _access(cluster):
    if not hasattr(cluster, "ext_access"):
        cluster.ext_access = {"authenticationMode": "CONFIG_MAP",
                              "bootstrapClusterCreatorAdminPermissions": True}
    return cluster.ext_access


def _auto_mode(self, cluster_name):
    """EKS Auto Mode's three settings from a request, checked as AWS checks
    them (all on or all off; a node role for built-in node pools), or None
    when the request has none of them."""
    compute = self._get_param("computeConfig")
    storage = (self._get_param("storageConfig") or {}).get("blockStorage")
    network = (self._get_param("kubernetesNetworkConfig") or {}).get("elasticLoadBalancing")
    if compute is None and storage is None and network is None:
        return None
    flags = [bool((x or {}).get("enabled")) for x in (compute, storage, network)]
    if len(set(flags)) != 1:
        raise EksInvalid(clusterName=cluster_name, nodegroupName=None, addonName=None,
                         message="For EKS Auto Mode, computeConfig, storageConfig.blockStorage and "
                                 "kubernetesNetworkConfig.elasticLoadBalancing must all be enabled or all disabled")
    on = flags[0]
    pools = (compute or {}).get("nodePools") or []
    if on and pools and not (compute or {}).get("nodeRoleArn"):
        raise EksInvalid(clusterName=cluster_name, nodegroupName=None, addonName=None,
                         message="nodeRoleArn is required when nodePools are specified")
    return {"enabled": on, **({"nodePools": pools, "nodeRoleArn": compute.get("nodeRoleArn")} if on else {})}


def _set_auto_mode(cluster, compute):
    cluster.compute_config = compute
    cluster.storage_config = {"blockStorage": {"enabled": compute["enabled"]}}
    net = dict(cluster.kubernetes_network_config or {})
    net["elasticLoadBalancing"] = {"enabled": compute["enabled"]}
    cluster.kubernetes_network_config = net


def create_cluster(self):
    access = self._get_param("accessConfig") or {}
    auto = _auto_mode(self, self._get_param("name"))
    result = _moto_create_cluster(self)
    cluster = self.eks_backend.clusters[self._get_param("name")]
    if auto is not None:
        _set_auto_mode(cluster, auto)
    a = _access(cluster)
    if access.get("authenticationMode"):
        a["authenticationMode"] = access["authenticationMode"]
    if "bootstrapClusterCreatorAdminPermissions" in access:
        a["bootstrapClusterCreatorAdminPermissions"] = access["bootstrapClusterCreatorAdminPermissions"]
    cluster.access_config = dict(a)
    return result


def update_cluster_config(self):
    access = self._get_param("accessConfig")
    cluster = _cluster(self, self._get_param("name"))
    auto = _auto_mode(self, cluster.name)
    if auto is not None:
        _set_auto_mode(cluster, auto)
        return json.dumps({"update": _update(cluster, "AutoModeUpdate",
                                             {"ComputeConfig": json.dumps(auto)})})
    if access and access.get("authenticationMode"):
        have = AUTH_MODES.index(_access(cluster)["authenticationMode"])
        want = access["authenticationMode"]
        if want not in AUTH_MODES or AUTH_MODES.index(want) < have:
            raise EksInvalid(clusterName=cluster.name, nodegroupName=None, addonName=None,
                             message=f"Unsupported authentication mode update from {AUTH_MODES[have]} to {want}")
        _access(cluster)["authenticationMode"] = want
        cluster.access_config = dict(_access(cluster))
        return json.dumps({"update": _update(cluster, "AccessConfigUpdate",
                                             {"AuthenticationMode": want})})
    return _moto_update_cluster_config(self)


def _entries(cluster):
    if not hasattr(cluster, "ext_entries"):
        cluster.ext_entries = {}
    return cluster.ext_entries


from moto.eks.exceptions import InvalidRequestException as EksInvalidRequest


def _check_api(cluster):
    if _access(cluster)["authenticationMode"] == "CONFIG_MAP":
        raise EksInvalidRequest(clusterName=cluster.name, nodegroupName=None, addonName=None,
                                message="The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP] to perform this operation.")


def _principal_and_rest(self):
    from urllib.parse import unquote
    raw = self.path.split("/access-entries/", 1)[1]
    if "/access-policies" in raw:
        principal, rest = raw.split("/access-policies", 1)
        return unquote(principal), unquote(rest.lstrip("/"))
    return unquote(raw), None


def _entry_json(cluster, e):
    return {"clusterName": cluster.name, "principalArn": e["principal"],
            "kubernetesGroups": e["groups"], "accessEntryArn": e["arn"],
            "createdAt": e["created"], "modifiedAt": e["modified"], "tags": e["tags"],
            "username": e["username"], "type": e["type"]}


def create_access_entry(self):
    cluster = _cluster(self, self._get_param("name"))
    _check_api(cluster)
    params = json.loads(self.body or "{}")
    principal = params["principalArn"]
    if principal in _entries(cluster):
        raise EksInUse(clusterName=cluster.name, addonName=None, nodegroupName=None,
                       message=f"The specified access entry resource is already in use on this cluster.")
    e = {"principal": principal, "groups": params.get("kubernetesGroups") or [],
         "username": params.get("username") or principal, "type": params.get("type") or "STANDARD",
         "tags": params.get("tags") or {}, "created": unix_time(), "modified": unix_time(),
         "arn": cluster.arn.replace(":cluster/", ":access-entry/") + "/" + str(uuid.uuid4())[:8],
         "policies": {}}
    _entries(cluster)[principal] = e
    return json.dumps({"accessEntry": _entry_json(cluster, e)})


def _entry(self):
    cluster = _cluster(self, self._get_param("name"))
    _check_api(cluster)
    principal, rest = _principal_and_rest(self)
    e = _entries(cluster).get(principal)
    if e is None:
        raise EksNotFound(clusterName=cluster.name, nodegroupName=None, fargateProfileName=None,
                          addonName=None, message=f"The specified principalArn could not be found: {principal}")
    return cluster, e, rest


def describe_access_entry(self):
    cluster, e, _ = _entry(self)
    return json.dumps({"accessEntry": _entry_json(cluster, e)})


def update_access_entry(self):
    cluster, e, _ = _entry(self)
    params = json.loads(self.body or "{}")
    if "kubernetesGroups" in params:
        e["groups"] = params["kubernetesGroups"] or []
    if params.get("username"):
        e["username"] = params["username"]
    e["modified"] = unix_time()
    return json.dumps({"accessEntry": _entry_json(cluster, e)})


def delete_access_entry(self):
    _cluster_, e, _ = _entry(self)
    del _entries(_cluster_)[e["principal"]]
    return "{}"


def list_access_entries(self):
    cluster = _cluster(self, self._get_param("name"))
    _check_api(cluster)
    return json.dumps({"accessEntries": sorted(_entries(cluster))})


def associate_access_policy(self):
    cluster, e, _ = _entry(self)
    params = json.loads(self.body or "{}")
    policy = params["policyArn"]
    if not policy.startswith("arn:aws:eks::aws:cluster-access-policy/"):
        raise EksInvalid(clusterName=cluster.name, nodegroupName=None, addonName=None,
                         message=f"The policyArn {policy} is not a valid access policy")
    e["policies"][policy] = {"policyArn": policy, "accessScope": params.get("accessScope") or {"type": "cluster"},
                             "associatedAt": unix_time(), "modifiedAt": unix_time()}
    return json.dumps({"clusterName": cluster.name, "principalArn": e["principal"],
                       "associatedAccessPolicy": e["policies"][policy]})


def disassociate_access_policy(self):
    cluster, e, policy = _entry(self)
    e["policies"].pop(policy, None)
    return "{}"


def list_associated_access_policies(self):
    cluster, e, _ = _entry(self)
    return json.dumps({"clusterName": cluster.name, "principalArn": e["principal"],
                       "associatedAccessPolicies": list(e["policies"].values())})


for _f in (create_cluster, update_cluster_config, create_access_entry, describe_access_entry,
           update_access_entry, delete_access_entry, list_access_entries,
           associate_access_policy, disassociate_access_policy, list_associated_access_policies):
    setattr(EKSResponse, _f.__name__, _f)


# Upgrade insights ------------------------------------------------------------------

eks_urls.url_paths.update(
    {
        "{0}/clusters/(?P<name>[^/]+)/insights$": eks_urls.response.dispatch,
        "{0}/clusters/(?P<name>[^/]+)/insights/(?P<id>[^/]+)$": eks_urls.response.dispatch,
    }
)

INSIGHT_TAG = "awsemu:insight:"


def _insights(cluster):
    if not hasattr(cluster, "ext_insights"):
        cluster.ext_insights = {}
    return cluster.ext_insights


def _insight_json(iid, i, full):
    out = {"id": iid, "name": i["name"], "category": "UPGRADE_READINESS",
           "kubernetesVersion": i["version"], "lastRefreshTime": unix_time(),
           "lastTransitionTime": unix_time(), "description": i.get("description", i["name"]),
           "insightStatus": {"status": i["status"], "reason": i.get("reason", "")}}
    if full:
        out["recommendation"] = i.get("recommendation", "")
        out["additionalInfo"] = {}
        out["resources"] = []
    return out


def list_insights(self):
    cluster = _cluster(self, self._get_param("name"))
    f = json.loads(self.body or "{}").get("filter") or {}
    rows = [_insight_json(iid, i, False) for iid, i in sorted(_insights(cluster).items())
            if (not f.get("categories") or "UPGRADE_READINESS" in f["categories"])
            and (not f.get("kubernetesVersions") or i["version"] in f["kubernetesVersions"])
            and (not f.get("statuses") or i["status"] in f["statuses"])]
    return json.dumps({"insights": rows})


def describe_insight(self):
    cluster = _cluster(self, self._get_param("name"))
    iid = self.path.split("?")[0].rstrip("/").split("/")[-1]
    i = _insights(cluster).get(iid)
    if i is None:
        raise EksNotFound(clusterName=cluster.name, nodegroupName=None, fargateProfileName=None,
                          addonName=None, message=f"No insight found for id: {iid}")
    return json.dumps({"insight": _insight_json(iid, i, True)})


for _f in (list_insights, describe_insight):
    setattr(EKSResponse, _f.__name__, _f)


# Pod Identity ----------------------------------------------------------------------

eks_urls.url_paths.update(
    {
        "{0}/clusters/(?P<name>[^/]+)/pod-identity-associations$": eks_urls.response.dispatch,
        "{0}/clusters/(?P<name>[^/]+)/pod-identity-associations/(?P<associationId>[^/]+)$": eks_urls.response.dispatch,
    }
)

# The namespace of the service accounts an add-on's associations are for.
ADDON_NAMESPACE = "kube-system"


def _pods(cluster):
    if not hasattr(cluster, "ext_pods"):
        cluster.ext_pods = {}
    return cluster.ext_pods


def _new_pod(cluster, namespace, service_account, role, tags, owner=None,
             disable_session_tags=False, target_role=None):
    for p in _pods(cluster).values():
        if p["namespace"] == namespace and p["serviceAccount"] == service_account:
            raise EksInUse(clusterName=cluster.name, addonName=None, nodegroupName=None,
                           message="Association already exists: " + p["associationId"])
    if not (role or "").startswith("arn:aws:iam::"):
        raise EksInvalid(clusterName=cluster.name, nodegroupName=None, addonName=None,
                         message=f"roleArn {role} is not a valid IAM role ARN")
    aid = "a-" + uuid.uuid4().hex[:17]
    p = {"clusterName": cluster.name, "namespace": namespace, "serviceAccount": service_account,
         "roleArn": role, "associationId": aid,
         "associationArn": cluster.arn.replace(":cluster/", ":podidentityassociation/") + "/" + aid,
         "tags": tags or {}, "createdAt": unix_time(), "modifiedAt": unix_time(),
         "disableSessionTags": bool(disable_session_tags)}
    if target_role:
        p["targetRoleArn"] = target_role
        p["externalId"] = str(uuid.uuid4())
    if owner:
        p["ownerArn"] = owner
    _pods(cluster)[aid] = p
    return p


def _addon_pods(self, cluster, a, wanted):
    """An add-on's associations, made and deleted as its podIdentityAssociations say."""
    mine = {p["serviceAccount"]: p for p in _pods(cluster).values() if p.get("ownerArn") == a["arn"]}
    want = {w["serviceAccount"]: w["roleArn"] for w in wanted}
    for sa, p in mine.items():
        if sa not in want:
            del _pods(cluster)[p["associationId"]]
        elif p["roleArn"] != want[sa]:
            p["roleArn"] = want[sa]
            p["modifiedAt"] = unix_time()
    for sa, role in want.items():
        if sa not in mine:
            _new_pod(cluster, ADDON_NAMESPACE, sa, role, {}, owner=a["arn"])


def _pod(self):
    cluster = _cluster(self, self._get_param("name"))
    aid = self.path.split("?")[0].rstrip("/").split("/")[-1]
    p = _pods(cluster).get(aid)
    if p is None:
        raise EksNotFound(clusterName=cluster.name, nodegroupName=None, fargateProfileName=None,
                          addonName=None, message=f"Association not found: {aid}")
    return cluster, p


def create_pod_identity_association(self):
    cluster = _cluster(self, self._get_param("name"))
    params = json.loads(self.body or "{}")
    p = _new_pod(cluster, params.get("namespace"), params.get("serviceAccount"), params.get("roleArn"),
                 params.get("tags"), disable_session_tags=params.get("disableSessionTags"),
                 target_role=params.get("targetRoleArn"))
    return json.dumps({"association": p})


def describe_pod_identity_association(self):
    _c, p = _pod(self)
    return json.dumps({"association": p})


def update_pod_identity_association(self):
    cluster, p = _pod(self)
    if p.get("ownerArn"):
        raise EksInvalid(clusterName=cluster.name, nodegroupName=None, addonName=None,
                         message="This association is owned by an add-on: update the add-on")
    params = json.loads(self.body or "{}")
    if params.get("roleArn"):
        p["roleArn"] = params["roleArn"]
    if "disableSessionTags" in params:
        p["disableSessionTags"] = bool(params["disableSessionTags"])
    if "targetRoleArn" in params:
        if params["targetRoleArn"]:
            p["targetRoleArn"] = params["targetRoleArn"]
            p.setdefault("externalId", str(uuid.uuid4()))
        else:
            p.pop("targetRoleArn", None)
            p.pop("externalId", None)
    p["modifiedAt"] = unix_time()
    return json.dumps({"association": p})


def delete_pod_identity_association(self):
    cluster, p = _pod(self)
    if p.get("ownerArn"):
        raise EksInvalid(clusterName=cluster.name, nodegroupName=None, addonName=None,
                         message="This association is owned by an add-on: update or delete the add-on")
    del _pods(cluster)[p["associationId"]]
    return json.dumps({"association": p})


def list_pod_identity_associations(self):
    cluster = _cluster(self, self._get_param("name"))
    ns, sa = self._get_param("namespace"), self._get_param("serviceAccount")
    rows = [{k: p[k] for k in ("clusterName", "namespace", "serviceAccount", "associationArn",
                               "associationId", "ownerArn") if k in p}
            for p in sorted(_pods(cluster).values(), key=lambda p: p["associationId"])
            if (not ns or p["namespace"] == ns) and (not sa or p["serviceAccount"] == sa)]
    return json.dumps({"associations": rows})


for _f in (create_pod_identity_association, describe_pod_identity_association,
           update_pod_identity_association, delete_pod_identity_association,
           list_pod_identity_associations):
    setattr(EKSResponse, _f.__name__, _f)


for _f in (create_addon, describe_addon, update_addon, delete_addon, list_addons,
           describe_addon_versions, describe_addon_configuration, update_cluster_version, update_nodegroup_version,
           describe_update, associate_encryption_config):
    setattr(EKSResponse, _f.__name__, _f)


# EC2: ClientToken -----------------------------------------------------------------
# AWS answers a CreateNatGateway or RunInstances sent again with the same
# ClientToken with what the first made; moto keeps the token but makes a
# second one.

import threading

from moto.ec2.models import EC2Backend
from moto.ec2.responses.instances import InstanceResponse
from moto.ec2.responses.nat_gateways import NatGateways

_request_token = threading.local()
_moto_nat_response = NatGateways.create_nat_gateway
_moto_create_nat_gateway = EC2Backend.create_nat_gateway
_moto_run_instances = EC2Backend.run_instances


def create_nat_gateway_response(self):
    _request_token.value = self._get_param("ClientToken")
    try:
        return _moto_nat_response(self)
    finally:
        _request_token.value = None


def create_nat_gateway_once(self, *args, **kwargs):
    token = getattr(_request_token, "value", None)
    if token:
        for gw in self.nat_gateways.values():
            if getattr(gw, "_client_token", None) == token:
                return gw
    gw = _moto_create_nat_gateway(self, *args, **kwargs)
    gw._client_token = token
    return gw


def run_instances_once(self, image_id, count, user_data, security_group_names, **kwargs):
    token = kwargs.get("client_token")
    if token and token != "ABCDE":  # moto's stand-in when none is given
        for reservation in self.reservations.values():
            if any(getattr(i, "client_token", None) == token for i in reservation.instances):
                return reservation
    return _moto_run_instances(self, image_id, count, user_data, security_group_names, **kwargs)


NatGateways.create_nat_gateway = create_nat_gateway_response
EC2Backend.create_nat_gateway = create_nat_gateway_once
EC2Backend.run_instances = run_instances_once


# RDS: ModifyDBSubnetGroup ------------------------------------------------------
# moto takes the group out of its table to change it and never puts it back:
# the group is gone after any change.

from moto.rds.models import RDSBackend

_moto_modify_db_subnet_group = RDSBackend.modify_db_subnet_group


def modify_db_subnet_group_kept(self, subnet_name, description, subnets):
    group = _moto_modify_db_subnet_group(self, subnet_name, description, subnets)
    self.subnet_groups[subnet_name] = group
    return group


RDSBackend.modify_db_subnet_group = modify_db_subnet_group_kept


# IAM enforcement (INITIAL_NO_AUTH_ACTION_COUNT, /moto-api/reset-auth) ------------
# moto signs a REST request with no body (every GET of EKS, Backup, EFS)
# over its headers instead of the empty body, so it refuses each with
# SignatureDoesNotMatch, and a query-protocol request whose values hold a
# space over a body encoded otherwise than it was sent; and it names the Resource Groups Tagging API's
# actions after the signing name (`tagging:GetResources`), where IAM says
# `tag:GetResources`.

from botocore.awsrequest import AWSRequest
from moto.iam import access_control as _access_control


def _signed_request(self):
    signed = self._get_string_between(
        "SignedHeaders=", ",", self._headers["Authorization"]).split(";")
    headers = self._create_headers_for_aws_request(signed, self._headers)
    # The body as it was sent (kept by _keep_raw_body below); a bodiless
    # GET or DELETE has only headers in _data.
    if self._body:
        body = self._body
    elif self._method == "POST":
        body = self._data
    else:
        body = b""
    request = AWSRequest(method=self._method, url=self._path, data=body, headers=headers)
    request.context["timestamp"] = headers["X-Amz-Date"]
    return request


_moto_iam_request_init = _access_control.IAMRequestBase.__init__


def _iam_request_init(self, *args, **kwargs):
    _moto_iam_request_init(self, *args, **kwargs)
    if self._action.startswith("tagging:"):
        self._action = "tag:" + self._action.split(":", 1)[1]


# S3: moto checks a bucket request against an action it reads from the
# query; it knows no `encryption` (so GetBucketEncryption is checked as
# s3:ListBucket and PutBucketEncryption as s3:CreateBucket) and names the
# public access block's actions otherwise than IAM.
from moto.s3 import responses as _s3_responses

_bucket_actions = _s3_responses.ACTION_MAP["BUCKET"]
_bucket_actions["GET"]["encryption"] = "GetEncryptionConfiguration"
_bucket_actions["PUT"]["encryption"] = "PutEncryptionConfiguration"
_bucket_actions["DELETE"]["encryption"] = "PutEncryptionConfiguration"
_bucket_actions["GET"]["publicAccessBlock"] = "GetBucketPublicAccessBlock"
_bucket_actions["PUT"]["publicAccessBlock"] = "PutBucketPublicAccessBlock"
_bucket_actions["DELETE"]["publicAccessBlock"] = "PutBucketPublicAccessBlock"
_bucket_actions["GET"]["public_access_block"] = "GetBucketPublicAccessBlock"
_bucket_actions["PUT"]["public_access_block"] = "PutBucketPublicAccessBlock"
_bucket_actions["DELETE"]["public_access_block"] = "PutBucketPublicAccessBlock"

# A form-encoded body (EC2, IAM) is parsed by the web framework before moto
# sees it, and moto signs its own re-encoding of the form (a space as `+`,
# where the Rust SDK sent %20): the raw body is kept first, so moto reads it.
from moto.core import utils as _moto_utils

_moto_flask_call = _moto_utils.convert_to_flask_response.__call__


def _keep_raw_body(self, *args, **kwargs):
    from flask import request as flask_request

    flask_request.get_data(cache=True)
    return _moto_flask_call(self, *args, **kwargs)


_moto_utils.convert_to_flask_response.__call__ = _keep_raw_body

_access_control.IAMRequestBase._create_aws_request = _signed_request
_access_control.IAMRequestBase.__init__ = _iam_request_init


if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
