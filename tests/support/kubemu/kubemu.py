#!/usr/bin/env python3
"""kubemu: a small in-memory Kubernetes API server emulator for integration tests.

It speaks enough of the Kubernetes REST API for kubectl, helm and kube-rs:
discovery (plain and aggregated), CRUD on built-in kinds and on kinds defined
by CustomResourceDefinitions, merge / strategic-merge / JSON patches,
server-side apply with field ownership (managedFields), dry-run, label and
field selectors, watches, namespace termination, the status and scale
subresources, Table output for kubectl, and protobuf request bodies for the
few kinds helm sends that way.  There are no controllers: nothing becomes
ready, no pods are scheduled.  All state lives in memory.

    python kubemu.py --dir DIR [--port 0] [--host 127.0.0.1] [--cluster NAME]...

DIR receives ca.pem, kubeconfig, port and requests.log (one line per request:
"METHOD RAW_PATH STATUS").  See NOTES.md for the details and known gaps.
"""

import argparse
import asyncio
import base64
import collections
import copy
import hashlib
import ipaddress
import json
import os
import random
import re
import signal
import socket
import ssl
import sys
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import jsonpatch
import yaml
from aiohttp import web

K8S_VERSION = {
    "major": "1", "minor": "33", "emulationMajor": "1", "emulationMinor": "33",
    "minCompatibilityMajor": "1", "minCompatibilityMinor": "32",
    "gitVersion": "v1.33.0", "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean", "buildDate": "2025-04-23T00:00:00Z",
    "goVersion": "go1.24.2", "compiler": "gc", "platform": "linux/amd64",
}

# =============================================================================
# Resource types
# =============================================================================

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
SUBRESOURCE_VERBS = ["get", "patch", "update"]

# One line per built-in kind.  Columns: group/version, kind, plural,
# scope (N = namespaced, C = cluster), short names, subresources, categories,
# name rule ("subdomain" = DNS-1123 subdomain, "label" = DNS-1123 label,
# "path" = anything usable as a path segment, as RBAC allows).  "-" = none.
BUILTIN_KINDS = """
v1                            Namespace                namespaces                C ns      status       -   label
v1                            ConfigMap                configmaps                N cm      -            -   subdomain
v1                            Secret                   secrets                   N -       -            -   subdomain
v1                            ServiceAccount           serviceaccounts           N sa      -            -   subdomain
v1                            Service                  services                  N svc     status       all label
v1                            Pod                      pods                      N po      status       all subdomain
v1                            PersistentVolumeClaim    persistentvolumeclaims    N pvc     status       -   subdomain
v1                            PersistentVolume         persistentvolumes         C pv      status       -   subdomain
v1                            Event                    events                    N ev      -            -   subdomain
apps/v1                       Deployment               deployments               N deploy  status,scale all subdomain
apps/v1                       StatefulSet              statefulsets              N sts     status,scale all subdomain
apps/v1                       DaemonSet                daemonsets                N ds      status       all subdomain
apps/v1                       ReplicaSet               replicasets               N rs      status,scale all subdomain
batch/v1                      Job                      jobs                      N -       status       all subdomain
batch/v1                      CronJob                  cronjobs                  N cj      status       all subdomain
autoscaling/v2                HorizontalPodAutoscaler  horizontalpodautoscalers  N hpa     status       all subdomain
networking.k8s.io/v1          NetworkPolicy            networkpolicies           N netpol  -            -   subdomain
networking.k8s.io/v1          Ingress                  ingresses                 N ing     status       -   subdomain
networking.k8s.io/v1          IngressClass             ingressclasses            C -       -            -   subdomain
rbac.authorization.k8s.io/v1  Role                     roles                     N -       -            -   path
rbac.authorization.k8s.io/v1  RoleBinding              rolebindings              N -       -            -   path
rbac.authorization.k8s.io/v1  ClusterRole              clusterroles              C -       -            -   path
rbac.authorization.k8s.io/v1  ClusterRoleBinding       clusterrolebindings       C -       -            -   path
storage.k8s.io/v1             StorageClass             storageclasses            C sc      -            -   subdomain
policy/v1                     PodDisruptionBudget      poddisruptionbudgets      N pdb     status       -   subdomain
apiextensions.k8s.io/v1       CustomResourceDefinition customresourcedefinitions C crd,crds status       -   subdomain
coordination.k8s.io/v1        Lease                    leases                    N -       -            -   subdomain
"""

NAMESPACES = ("", "namespaces")
SECRETS = ("", "secrets")
CRDS = ("apiextensions.k8s.io", "customresourcedefinitions")
INITIAL_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
PROTECTED_NAMESPACES = ("default", "kube-system", "kube-public")


@dataclass
class ResourceType:
    group: str
    versions: list            # served versions, preferred first
    kind: str
    plural: str
    namespaced: bool
    short_names: list = field(default_factory=list)
    subresources: tuple = ()  # any of "status", "scale"
    categories: list = field(default_factory=list)
    name_rule: str = "subdomain"
    singular: str = ""
    scale_paths: dict = None  # CRD scale subresource paths
    crd: bool = False

    def __post_init__(self):
        self.singular = self.singular or self.kind.lower()

    @property
    def key(self):
        return (self.group, self.plural)

    @property
    def qualified(self):
        """Resource name as the API server prints it in messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def verbs(self):
        return [v for v in VERBS if not (self.key == NAMESPACES and v == "deletecollection")]

    def api_version(self, version=None):
        version = version or self.versions[0]
        return f"{self.group}/{version}" if self.group else version


def parse_builtin_kinds(table):
    types = []
    for line in table.strip().splitlines():
        gv, kind, plural, scope, short, subs, cats, rule = line.split()
        group, _, version = gv.rpartition("/")
        none = lambda s: [] if s == "-" else s.split(",")  # noqa: E731
        types.append(ResourceType(group, [version], kind, plural, scope == "N", none(short),
                                  tuple(none(subs)), none(cats), rule))
    return types


def version_priority(version):
    """Sort key giving Kubernetes version priority: v2 > v1 > v1beta1 > v1alpha1 > other."""
    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if not m:
        return (3, 0, 0, version)
    stage = {"alpha": 2, "beta": 1, None: 0}[m.group(2)]
    return (stage, -int(m.group(1)), -int(m.group(3) or 0), version)


class Registry:
    """The kinds currently served, keyed by (group, plural)."""

    def __init__(self):
        self.types = {}
        for rt in parse_builtin_kinds(BUILTIN_KINDS):
            self.add(rt)

    def add(self, rt):
        self.types[rt.key] = rt

    def remove(self, key):
        self.types.pop(key, None)

    def get(self, key):
        return self.types.get(key)

    def lookup(self, group, version, plural):
        rt = self.types.get((group, plural))
        return rt if rt and version in rt.versions else None

    def groups(self):
        """{group: [versions, preferred first]}, core group first, in registration order."""
        out = {}
        for rt in self.types.values():
            versions = out.setdefault(rt.group, [])
            versions.extend(v for v in rt.versions if v not in versions)
        return {g: sorted(vs, key=version_priority) for g, vs in out.items()}

    def in_group_version(self, group, version):
        return [rt for rt in self.types.values() if rt.group == group and version in rt.versions]


# =============================================================================
# Errors: every failure reaches the client as a meta/v1 Status
# =============================================================================

class ApiError(Exception):
    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def status(self):
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": self.reason, "code": self.code}
        if self.details is not None:
            body["details"] = self.details
        return body


def _details(rt, name, kind=None):
    details = {"name": name, "kind": kind or rt.plural}
    if rt.group:
        details["group"] = rt.group
    return details


def err_not_found(rt, name):
    return ApiError(404, "NotFound", f'{rt.qualified} "{name}" not found', _details(rt, name))


def err_already_exists(rt, name):
    return ApiError(409, "AlreadyExists", f'{rt.qualified} "{name}" already exists', _details(rt, name))


def err_conflict(rt, name, why="the object has been modified; please apply your changes "
                                  "to the latest version and try again"):
    return ApiError(409, "Conflict", f'Operation cannot be fulfilled on {rt.qualified} "{name}": {why}',
                    _details(rt, name))


def err_invalid(rt, name, causes):
    """causes: [(field, cause type, message)], as field.ErrorList renders them."""
    texts = [f"{f}: {m}" for f, _, m in causes]
    summary = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    details = _details(rt, name, rt.kind)
    details["causes"] = [{"reason": t, "message": m, "field": f} for f, t, m in causes]
    return ApiError(422, "Invalid", f'{rt.kind} "{name}" is invalid: {summary}', details)


def err_bad_request(message):
    return ApiError(400, "BadRequest", message)


def err_forbidden(rt, name, why):
    return ApiError(403, "Forbidden", f'{rt.qualified} "{name}" is forbidden: {why}', _details(rt, name))


ERR_METHOD = ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource",
                      {})
ERR_NO_ROUTE = ApiError(404, "NotFound", "the server could not find the requested resource", {})


# =============================================================================
# Small helpers: time, YAML, object paths
# =============================================================================

def now_iso():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def human_age(timestamp):
    """Age like kubectl prints it: 42s, 5m, 3h, 2d."""
    try:
        then = datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except (TypeError, ValueError):
        return "<unknown>"
    secs = max(0, int((datetime.now(timezone.utc) - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= 2 * size:
            return f"{secs // size}{unit}"
    return f"{secs}s"


class _YamlLoader(yaml.SafeLoader):
    """Safe YAML without timestamp parsing: dates stay strings, as in JSON."""


_YamlLoader.yaml_implicit_resolvers = {
    ch: [r for r in resolvers if r[0] != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def get_path(obj, dotted):
    """Value at a '.spec.replicas'-style path, or None."""
    for part in [p for p in dotted.split(".") if p]:
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


def set_path(obj, dotted, value):
    parts = [p for p in dotted.split(".") if p]
    for part in parts[:-1]:
        obj = obj.setdefault(part, {})
    obj[parts[-1]] = value


def drop_nulls(value):
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value]
    return value


# =============================================================================
# Label and field selectors
# =============================================================================

_LABEL_REQUIREMENT = re.compile(
    r"^(?P<neg>!)?\s*(?P<key>[A-Za-z0-9][-A-Za-z0-9_./]*)\s*"
    r"(?:(?P<op>==|=|!=|>|<)\s*(?P<val>[-A-Za-z0-9_.]*)"
    r"|\s+(?P<setop>in|notin)\s*\((?P<vals>[^()]*)\))?\s*$")


def _split_outside_parens(text):
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    return parts + [current]


def parse_label_selector(text):
    """'a=b,c!=d,e in (f,g),h notin (i),j,!k' -> [(key, op, values)]."""
    requirements = []
    for part in _split_outside_parens(text or ""):
        if not part.strip():
            continue
        m = _LABEL_REQUIREMENT.match(part.strip())
        if not m or (m["neg"] and (m["op"] or m["setop"])):
            raise err_bad_request(f"unable to parse requirement: found '{part.strip()}', invalid label selector")
        if m["neg"]:
            requirements.append((m["key"], "!", ()))
        elif m["setop"]:
            requirements.append((m["key"], m["setop"], tuple(v.strip() for v in m["vals"].split(","))))
        elif m["op"]:
            requirements.append((m["key"], "=" if m["op"] == "==" else m["op"], (m["val"],)))
        else:
            requirements.append((m["key"], "exists", ()))
    return requirements


def labels_match(requirements, labels):
    labels = labels or {}
    for key, op, values in requirements:
        present, value = key in labels, labels.get(key)
        if op == "exists" and not present or op == "!" and present:
            return False
        if op in ("=", "in") and (not present or value not in values):
            return False
        if op in ("!=", "notin") and present and value in values:
            return False
        if op in (">", "<"):
            try:
                have, want = int(value), int(values[0])
            except (TypeError, ValueError):
                return False
            if not (have > want if op == ">" else have < want):
                return False
    return True


def parse_field_selector(text):
    """'metadata.name=x,metadata.namespace!=y' -> [(path, equal?, value)]."""
    requirements = []
    for part in (text or "").split(","):
        if not part.strip():
            continue
        m = re.fullmatch(r"\s*([^!=\s]+)\s*(==|!=|=)\s*(.*?)\s*", part)
        if not m:
            raise err_bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        requirements.append((m[1], m[2] != "!=", m[3]))
    return requirements


def fields_match(requirements, obj):
    for path, equal, want in requirements:
        have = get_path(obj, path)
        have = "" if have is None else ("true" if have is True else "false" if have is False else str(have))
        if (have == want) != equal:
            return False
    return True


# =============================================================================
# Patches: JSON merge patch, strategic merge patch
# =============================================================================

# Lists merged by key (strategic merge patch) and tracked per item (server-side
# apply), keyed by field name since kubemu has no schemas.  Every other list is
# atomic.  "ports" is keyed by containerPort (containers) or port (services).
LIST_KEYS = {
    "containers": ("name",), "initContainers": ("name",), "ephemeralContainers": ("name",),
    "env": ("name",), "volumes": ("name",), "volumeMounts": ("mountPath",),
    "volumeDevices": ("devicePath",), "imagePullSecrets": ("name",), "hostAliases": ("ip",),
    "conditions": ("type",), "ownerReferences": ("uid",),
}
KEY_DEFAULTS = {"protocol": "TCP"}   # defaulted key fields, as the server would fill them
# Fields that are maps (not structs): server-side apply records the map itself
# ("." entries) when an update creates it.
MAP_FIELDS = frozenset({"labels", "annotations", "data", "binaryData", "stringData", "matchLabels",
                        "nodeSelector", "limits", "requests", "parameters"})


def list_keys(field_name, items):
    """Merge keys for a list field, or None when the list is atomic."""
    if field_name == "ports":
        primary = "containerPort" if any(isinstance(i, dict) and "containerPort" in i for i in items) else "port"
        keys = (primary, "protocol")
    else:
        keys = LIST_KEYS.get(field_name)
    if not keys or not items or not all(isinstance(i, dict) and keys[0] in i for i in items):
        return None
    return keys


def item_key(keys, item):
    return {k: item.get(k, KEY_DEFAULTS.get(k)) for k in keys if k in item or k in KEY_DEFAULTS}


def find_item(items, keys, key):
    for i, item in enumerate(items):
        if isinstance(item, dict) and keys[0] in item and item_key(keys, item) == key:
            return i
    return None


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


_DELETE = object()


def strategic_merge(target, patch):
    """Strategic merge patch: a merge patch that merges keyed lists item by item
    and honours the $patch, $retainKeys and $deleteFromPrimitiveList directives."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "delete":
        return _DELETE
    out = dict(target) if isinstance(target, dict) and directive != "replace" else {}
    retain = patch.get("$retainKeys")
    for k, v in patch.items():
        if k.startswith("$deleteFromPrimitiveList/"):
            name = k.split("/", 1)[1]
            if isinstance(out.get(name), list):
                out[name] = [x for x in out[name] if x not in v]
        elif k.startswith("$"):
            continue  # $patch, $retainKeys (below), $setElementOrder (order is not kept)
        elif v is None:
            out.pop(k, None)
        elif isinstance(v, list):
            out[k] = _strategic_merge_list(k, out.get(k), v)
        else:
            merged = strategic_merge(out.get(k), v)
            if merged is _DELETE:
                out.pop(k, None)
            else:
                out[k] = merged
    if retain is not None:
        out = {k: v for k, v in out.items() if k in retain}
    return out


def _strategic_merge_list(name, current, items):
    plain = lambda i: strategic_merge({}, i) if isinstance(i, dict) else i  # noqa: E731
    if any(isinstance(i, dict) and i.get("$patch") == "replace" and len(i) == 1 for i in items):
        return [plain(i) for i in items if not (isinstance(i, dict) and i.get("$patch") == "replace")]
    keys = list_keys(name, items)
    if keys is None or not isinstance(current, list):
        return [plain(i) for i in items if not (isinstance(i, dict) and i.get("$patch") == "delete")]
    out = list(current)
    for item in items:
        idx = find_item(out, keys, item_key(keys, item))
        if item.get("$patch") == "delete":
            if idx is not None:
                del out[idx]
        elif idx is None:
            out.append(plain(item))
        else:
            out[idx] = strategic_merge(out[idx], item)
    return out


def apply_json_patch(obj, patch):
    if not isinstance(patch, list):
        raise err_bad_request("json patch must be a JSON array of operations")
    try:
        return jsonpatch.JsonPatch(patch).apply(obj)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as e:
        raise ApiError(422, "Invalid", f"the server rejected our request due to an error in our request: {e}")


# =============================================================================
# Field ownership (server-side apply)
#
# A field set is a set of paths; a path is a tuple of elements written as in
# FieldsV1: "f:name" for a field, 'k:{"name":"x"}' for an item of a keyed
# list.  A set renders to the nested FieldsV1 form, where ".": {} marks a node
# that is itself a member of the set and also has members below it.
# =============================================================================

_NODE = "\x00node"        # value recorded for keyed-list items and granular maps
_ABSENT = object()
_STRIPPED = {("f:apiVersion",), ("f:kind",), ("f:metadata",)} | {
    ("f:metadata", "f:" + f) for f in ("name", "namespace", "creationTimestamp", "selfLink", "uid",
                                       "clusterName", "generation", "managedFields", "resourceVersion")}


def field_values(obj, prefix=(), name=None, out=None):
    """Flatten an object to {path: value} over its leaves, keyed-list items and maps."""
    out = {} if out is None else out
    if isinstance(obj, dict) and obj:
        if prefix and name in MAP_FIELDS:
            out[prefix] = _NODE
        for k, v in obj.items():
            if not (prefix == ("f:metadata",) and k == "managedFields"):
                field_values(v, prefix + ("f:" + k,), k, out)
    elif isinstance(obj, list) and obj and (keys := list_keys(name, obj)):
        for item in obj:
            path = prefix + ("k:" + json.dumps(item_key(keys, item), sort_keys=True, separators=(",", ":")),)
            out[path] = _NODE
            for k, v in item.items():
                field_values(v, path + ("f:" + k,), k, out)
    elif prefix:
        out[prefix] = obj
    return out


def strip_paths(paths):
    return {p for p in paths if p not in _STRIPPED}


def applied_paths(config):
    """The field set an applied configuration claims: leaves and keyed-list items."""
    return strip_paths(p for p, v in field_values(config).items() if v is not _NODE or p[-1].startswith("k:"))


def diff_paths(old, new):
    """(added or modified, removed) paths between two objects."""
    before, after = field_values(old or {}), field_values(new)
    changed = strip_paths(p for p, v in after.items() if before.get(p, _ABSENT) != v)
    return changed, set(before) - set(after)


def paths_to_fields(paths):
    root = {}
    for path in paths:
        node = root
        for element in path:
            node = node.setdefault(element, {})
    for path in paths:
        node = root
        for element in path:
            node = node[element]
        if node:
            node["."] = {}
    return _sorted_tree(root)


def _sorted_tree(node):
    return {k: _sorted_tree(node[k]) for k in sorted(node)}


def fields_to_paths(fields, prefix=()):
    paths = set()
    for k, v in (fields or {}).items():
        if k == ".":
            paths.add(prefix)
        elif isinstance(v, dict) and v:
            paths |= fields_to_paths(v, prefix + (k,))
        else:
            paths.add(prefix + (k,))
    return paths


def path_string(path):
    """'.spec.containers[name="x"].image', as conflict messages print paths."""
    out = ""
    for element in path:
        kind, _, rest = element.partition(":")
        if kind == "f":
            out += "." + rest
        elif kind == "k":
            out += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in json.loads(rest).items()) + "]"
        elif kind == "v":
            out += f"[={rest}]"
        else:
            out += f"[{rest}]"
    return out


def load_managers(entries):
    managers = []
    for e in entries or []:
        if isinstance(e, dict) and e.get("manager") is not None:
            managers.append({"manager": e["manager"], "operation": e.get("operation", "Update"),
                             "apiVersion": e.get("apiVersion", ""), "time": e.get("time"),
                             "subresource": e.get("subresource", ""),
                             "paths": fields_to_paths(e.get("fieldsV1"))})
    return managers


def render_managers(managers):
    live = [m for m in managers if m["paths"]]
    live.sort(key=lambda m: (m["operation"], m["time"] or "", m["manager"], m["apiVersion"], m["subresource"]))
    out = []
    for m in live:
        entry = {"manager": m["manager"], "operation": m["operation"], "apiVersion": m["apiVersion"],
                 "time": m["time"], "fieldsType": "FieldsV1", "fieldsV1": paths_to_fields(m["paths"])}
        if m["subresource"]:
            entry["subresource"] = m["subresource"]
        out.append(entry)
    return out


def manager_entry(managers, name, operation, api_version, subresource):
    for m in managers:
        if (m["manager"], m["operation"], m["subresource"]) == (name, operation, subresource) and \
                (operation == "Apply" or m["apiVersion"] == api_version):
            return m
    m = {"manager": name, "operation": operation, "apiVersion": api_version, "time": None,
         "subresource": subresource, "paths": set()}
    managers.append(m)
    return m


def record_update(managers, old, new, manager, api_version, subresource=""):
    """Ownership after a non-apply write: the writer takes every field it changed."""
    changed, removed = diff_paths(old, new)
    for m in managers:
        m["paths"] -= changed | removed
    me = manager_entry(managers, manager, "Update", api_version, subresource)
    me["paths"] |= changed
    me["time"] = now_iso()
    managers[:] = [m for m in managers if m["paths"]]


def describe_manager(m):
    text = json.dumps(m["manager"])
    if m["subresource"]:
        text += f" with subresource {json.dumps(m['subresource'])}"
    return text + (f" using {m['apiVersion']}" if m["operation"] == "Update" else "")


def apply_conflict_error(conflicts):
    """409 as the API server words it; conflicts: [(manager entry, path)]."""
    causes = [{"reason": "FieldManagerConflict", "message": f"conflict with {describe_manager(m)}",
               "field": path_string(p)} for m, p in conflicts]
    if len(conflicts) == 1:
        m, p = conflicts[0]
        message = f"Apply failed with 1 conflict: conflict with {describe_manager(m)}: {path_string(p)}"
    else:
        lines = []
        for m in sorted({id(m): m for m, _ in conflicts}.values(), key=lambda m: m["manager"]):
            lines.append(f"conflicts with {describe_manager(m)}:")
            lines += [f"- {path_string(p)}" for m2, p in conflicts if m2 is m]
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return ApiError(409, "Conflict", message, {"causes": causes})


def apply_merge(live, config, name=None):
    """Merge an applied configuration into the live object (keyed lists by item)."""
    if isinstance(live, dict) and isinstance(config, dict):
        out = dict(live)
        for k, v in config.items():
            out[k] = apply_merge(live.get(k), v, k)
        return out
    if isinstance(live, list) and isinstance(config, list) and (keys := list_keys(name, config)):
        out = list(live)
        for item in config:
            idx = find_item(out, keys, item_key(keys, item))
            if idx is None:
                out.append(copy.deepcopy(item))
            else:
                out[idx] = apply_merge(out[idx], item)
        return out
    return copy.deepcopy(config)


def _step(node, element):
    kind, _, rest = element.partition(":")
    if kind == "f" and isinstance(node, dict):
        return node.get(rest)
    if kind == "k" and isinstance(node, list):
        want = json.loads(rest)
        idx = find_item(node, list(want), want)
        return None if idx is None else node[idx]
    return None


def _resolve(obj, path):
    for element in path:
        obj = _step(obj, element)
        if obj is None:
            return None
    return obj


def remove_path(obj, path):
    """Delete the field or keyed-list item at path (in place)."""
    parent = _resolve(obj, path[:-1])
    kind, _, rest = path[-1].partition(":")
    if kind == "f" and isinstance(parent, dict):
        parent.pop(rest, None)
    elif kind == "k" and isinstance(parent, list):
        want = json.loads(rest)
        idx = find_item(parent, list(want), want)
        if idx is not None:
            del parent[idx]


def prune(obj, paths, kept):
    """Remove paths the applier dropped, except nodes with owned fields below
    them, then the maps and lists this left empty (unless someone owns them)."""
    kept = kept | {k[:i] for k in kept for i in range(1, len(k))}
    paths = [p for p in paths if p not in kept]
    for path in sorted(paths, key=len, reverse=True):
        remove_path(obj, path)
    for path in paths:
        for depth in range(len(path) - 1, 1, -1):
            ancestor = path[:depth]
            if _resolve(obj, ancestor) in ({}, []) and ancestor not in kept:
                remove_path(obj, ancestor)


# =============================================================================
# Protobuf request bodies
#
# Clients built on client-go's typed clientsets (helm's release storage) send
# "k8s\0" + runtime.Unknown{typeMeta, raw}, raw being the object message.
# Field numbers are those of k8s.io/api and k8s.io/apimachinery generated.proto.
# Types: string, bytes (base64 in JSON), raw (kept as bytes), int, bool, time,
# fieldsv1 (JSON bytes), map<string> / map<bytes>, "[]T" = repeated, else a message.
# =============================================================================

PROTO_MESSAGES = {
    "Unknown": {1: ("typeMeta", "TypeMeta"), 2: ("raw", "raw"), 3: ("contentEncoding", "string"),
                4: ("contentType", "string")},
    "TypeMeta": {1: ("apiVersion", "string"), 2: ("kind", "string")},
    "Time": {1: ("seconds", "int"), 2: ("nanos", "int")},
    "ObjectMeta": {1: ("name", "string"), 2: ("generateName", "string"), 3: ("namespace", "string"),
                   4: ("selfLink", "string"), 5: ("uid", "string"), 6: ("resourceVersion", "string"),
                   7: ("generation", "int"), 8: ("creationTimestamp", "time"), 9: ("deletionTimestamp", "time"),
                   10: ("deletionGracePeriodSeconds", "int"), 11: ("labels", "map<string>"),
                   12: ("annotations", "map<string>"), 13: ("ownerReferences", "[]OwnerReference"),
                   14: ("finalizers", "[]string"), 17: ("managedFields", "[]ManagedFieldsEntry")},
    "OwnerReference": {1: ("kind", "string"), 3: ("name", "string"), 4: ("uid", "string"),
                       5: ("apiVersion", "string"), 6: ("controller", "bool"), 7: ("blockOwnerDeletion", "bool")},
    "ManagedFieldsEntry": {1: ("manager", "string"), 2: ("operation", "string"), 3: ("apiVersion", "string"),
                           4: ("time", "time"), 6: ("fieldsType", "string"), 7: ("fieldsV1", "fieldsv1"),
                           8: ("subresource", "string")},
    "Secret": {1: ("metadata", "ObjectMeta"), 2: ("data", "map<bytes>"), 3: ("type", "string"),
               4: ("stringData", "map<string>"), 5: ("immutable", "bool")},
    "ConfigMap": {1: ("metadata", "ObjectMeta"), 2: ("data", "map<string>"), 3: ("binaryData", "map<bytes>"),
                  4: ("immutable", "bool")},
    "Namespace": {1: ("metadata", "ObjectMeta"), 2: ("spec", "NamespaceSpec"), 3: ("status", "NamespaceStatus")},
    "NamespaceSpec": {1: ("finalizers", "[]string")},
    "NamespaceStatus": {1: ("phase", "string"), 2: ("conditions", "[]NamespaceCondition")},
    "NamespaceCondition": {1: ("type", "string"), 2: ("status", "string"), 4: ("lastTransitionTime", "time"),
                           5: ("reason", "string"), 6: ("message", "string")},
    "DeleteOptions": {1: ("gracePeriodSeconds", "int"), 2: ("preconditions", "Preconditions"),
                      3: ("orphanDependents", "bool"), 4: ("propagationPolicy", "string"), 5: ("dryRun", "[]string")},
    "Preconditions": {1: ("uid", "string"), 2: ("resourceVersion", "string")},
}
PROTOBUF_KINDS = ("Secret", "ConfigMap", "Namespace", "DeleteOptions")
PROTOBUF_MAGIC = b"k8s\x00"


def _varint(buf, i):
    result = shift = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def _wire_fields(buf):
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 1:
            value, i = int.from_bytes(buf[i:i + 8], "little"), i + 8
        elif wire == 2:
            n, i = _varint(buf, i)
            value, i = bytes(buf[i:i + n]), i + n
        elif wire == 5:
            value, i = int.from_bytes(buf[i:i + 4], "little"), i + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        if i > len(buf):
            raise ValueError("truncated protobuf message")
        yield number, value


def proto_decode(buf, message):
    schema, out = PROTO_MESSAGES[message], {}
    for number, value in _wire_fields(buf):
        if number not in schema:
            continue
        name, typ = schema[number]
        if typ.startswith("map<"):
            entry = dict(_wire_fields(value))
            k, v = entry.get(1, b"").decode(), entry.get(2, b"")
            out.setdefault(name, {})[k] = v.decode() if typ == "map<string>" else base64.b64encode(v).decode()
        elif typ.startswith("[]"):
            out.setdefault(name, []).append(_proto_value(typ[2:], value))
        else:
            out[name] = _proto_value(typ, value)
    return out


def _proto_value(typ, value):
    if typ == "string":
        return value.decode("utf-8")
    if typ == "bytes":
        return base64.b64encode(value).decode()
    if typ == "raw":
        return value
    if typ == "int":
        return value - (1 << 64) if value >= 1 << 63 else value
    if typ == "bool":
        return bool(value)
    if typ == "time":
        seconds = proto_decode(value, "Time").get("seconds", 0)
        return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if typ == "fieldsv1":
        return json.loads(dict(_wire_fields(value)).get(1, b"{}") or b"{}")
    return proto_decode(value, typ)


def decode_k8s_protobuf(body):
    if not body.startswith(PROTOBUF_MAGIC):
        raise err_bad_request("protobuf body does not start with the k8s\\0 magic")
    try:
        unknown = proto_decode(body[len(PROTOBUF_MAGIC):], "Unknown")
        type_meta = unknown.get("typeMeta", {})
        kind = type_meta.get("kind", "")
        if kind not in PROTOBUF_KINDS:
            raise ApiError(415, "UnsupportedMediaType",
                           f"kubemu cannot decode protobuf {kind or 'objects'}; send JSON instead")
        obj = proto_decode(unknown.get("raw", b""), kind)
    except (ValueError, IndexError, UnicodeDecodeError) as e:
        raise err_bad_request(f"cannot decode protobuf body: {e}")
    return {"apiVersion": type_meta.get("apiVersion", "v1"), "kind": kind, **obj}


# =============================================================================
# Validation and per-kind defaulting
# =============================================================================

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_DATA_KEY = re.compile(r"[-._a-zA-Z0-9]+")


def _name_problem(rule, name):
    if rule == "label" and not (len(name) <= 63 and _DNS_LABEL.fullmatch(name)):
        return ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
                "and must start and end with an alphanumeric character")
    if rule == "subdomain" and not (len(name) <= 253 and _DNS_SUBDOMAIN.fullmatch(name)):
        return ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                "and must start and end with an alphanumeric character")
    if rule == "path" and (name in (".", "..") or "/" in name or "%" in name):
        return "may not be '.' or '..' and may not contain '/' or '%'"
    return None


def _key_problem(key):
    prefix, _, name = key.rpartition("/")
    if prefix and not (len(prefix) <= 253 and _DNS_SUBDOMAIN.fullmatch(prefix)):
        return "prefix part must be a lowercase RFC 1123 subdomain"
    if not (len(name) <= 63 and _QUALIFIED_NAME.fullmatch(name)):
        return ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
                "end with an alphanumeric character")
    return None


def validate(rt, old, obj):
    meta, name, causes = obj["metadata"], obj["metadata"]["name"], []
    problem = _name_problem(rt.name_rule, name)
    if problem:
        causes.append(("metadata.name", "FieldValueInvalid", f'Invalid value: "{name}": {problem}'))
    for which in ("labels", "annotations"):
        values = meta.get(which) or {}
        if not isinstance(values, dict):
            raise err_bad_request(f"metadata.{which} must be a map of strings")
        for k, v in values.items():
            if _key_problem(k):
                causes.append((f"metadata.{which}", "FieldValueInvalid", f'Invalid value: "{k}": {_key_problem(k)}'))
            if not isinstance(v, str):
                raise err_bad_request(f"metadata.{which}.{k} must be a string")
            if which == "labels" and not (len(v) <= 63 and _LABEL_VALUE.fullmatch(v)):
                causes.append(("metadata.labels", "FieldValueInvalid",
                               f'Invalid value: "{v}": a valid label must be an empty string or consist of '
                               "alphanumeric characters, '-', '_' or '.', and must start and end with an "
                               "alphanumeric character"))
    if rt.key in (("", "configmaps"), SECRETS):
        for section in ("data", "binaryData"):
            for k in obj.get(section) or {}:
                if not _DATA_KEY.fullmatch(k):
                    causes.append((f"{section}[{k}]", "FieldValueInvalid",
                                   f"Invalid value: \"{k}\": a valid config key must consist of alphanumeric "
                                   "characters, '-', '_' or '.'"))
        if old is not None and old.get("immutable") and any(
                old.get(s) != obj.get(s) for s in ("data", "binaryData", "immutable")):
            causes.append(("data", "FieldValueForbidden", "Forbidden: field is immutable when `immutable` is set"))
    if rt.key == CRDS:
        causes += _crd_problems(obj)
    if causes:
        raise err_invalid(rt, name, causes)


def _crd_problems(crd):
    spec, causes = crd.get("spec") or {}, []
    names = spec.get("names") or {}
    for f in ("group", "scope"):
        if not spec.get(f):
            causes.append((f"spec.{f}", "FieldValueRequired", "Required value"))
    for f in ("plural", "kind"):
        if not names.get(f):
            causes.append((f"spec.names.{f}", "FieldValueRequired", "Required value"))
    if spec.get("scope") not in (None, "Namespaced", "Cluster"):
        causes.append(("spec.scope", "FieldValueNotSupported", f'Unsupported value: "{spec["scope"]}"'))
    versions = spec.get("versions") or []
    if not versions:
        causes.append(("spec.versions", "FieldValueRequired", "Required value"))
    elif sum(bool(v.get("storage")) for v in versions) != 1:
        causes.append(("spec.versions", "FieldValueInvalid",
                       "Invalid value: must have exactly one version marked as storage version"))
    expected = f"{names.get('plural')}.{spec.get('group')}"
    if crd["metadata"]["name"] != expected:
        causes.append(("metadata.name", "FieldValueInvalid",
                       f'Invalid value: "{crd["metadata"]["name"]}": must be spec.names.plural+"."+spec.group'))
    return causes


# =============================================================================
# Cluster state: objects, resource versions, events, lifecycle rules
# =============================================================================

Event = collections.namedtuple("Event", "rv key type obj")


class Watcher:
    def __init__(self, key, namespace, label_selector, field_selector):
        self.key, self.namespace = key, namespace
        self.label_selector, self.field_selector = label_selector, field_selector
        self.queue = asyncio.Queue()

    def matches(self, event):
        meta = event.obj["metadata"]
        return (event.key == self.key and (self.namespace is None or meta.get("namespace") == self.namespace)
                and labels_match(self.label_selector, meta.get("labels"))
                and fields_match(self.field_selector, event.obj))

    def offer(self, event):
        if event is None or self.matches(event):
            self.queue.put_nowait(event)


class Cluster:
    """All API objects and their semantics, independent of HTTP."""

    def __init__(self, namespace_finalize_seconds=0.3, history=10000):
        self.registry = Registry()
        self.objects = {}                      # (group, plural) -> {(namespace, name): object}
        self.rv = 0                            # global resourceVersion counter
        self.history = collections.deque(maxlen=history)
        self.watchers = set()
        self.namespace_finalize_seconds = namespace_finalize_seconds
        self.forbid_list = set()               # plurals whose LIST is refused (--forbid-list)
        self.crd_keys = {}                     # CRD name -> (group, plural) it registered
        self.next_cluster_ip = 1
        ns_type = self.registry.get(NAMESPACES)
        for name in INITIAL_NAMESPACES:
            self.create(ns_type, "v1", None, {"metadata": {"name": name}}, "kube-apiserver")

    # ---- storage and events -------------------------------------------------

    def get(self, rt, namespace, name):
        return self.objects.get(rt.key, {}).get((namespace or "", name))

    def list(self, rt, namespace=None):
        bucket = self.objects.get(rt.key, {})
        return [bucket[k] for k in sorted(bucket) if namespace is None or k[0] == namespace]

    def _store(self, rt, obj, event_type):
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        meta = obj["metadata"]
        self.objects.setdefault(rt.key, {})[(meta.get("namespace", ""), meta["name"])] = obj
        self._emit(Event(self.rv, rt.key, event_type, obj))

    def _drop(self, rt, obj):
        self.rv += 1
        meta = obj["metadata"]
        self.objects.get(rt.key, {}).pop((meta.get("namespace", ""), meta["name"]), None)
        gone = dict(obj, metadata=dict(meta, resourceVersion=str(self.rv)))
        self._emit(Event(self.rv, rt.key, "DELETED", gone))
        if rt.key == CRDS:
            self._unregister_crd(gone["metadata"]["name"])
        return gone

    def _emit(self, event):
        self.history.append(event)
        for watcher in list(self.watchers):
            watcher.offer(event)

    def close_watchers(self):
        for watcher in list(self.watchers):
            watcher.offer(None)

    # ---- writes -----------------------------------------------------------------

    def _input(self, rt, version, namespace, body):
        """Check a request body against the URL; return a private copy."""
        if not isinstance(body, dict):
            raise err_bad_request("the request body must be a JSON or YAML object")
        obj = copy.deepcopy(body)
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if kind and kind != rt.kind:
            raise err_bad_request(f"the kind in the body ({kind}) does not match the resource's kind ({rt.kind})")
        if api_version and api_version not in [rt.api_version(v) for v in rt.versions]:
            raise err_bad_request(f"the API version in the data ({api_version}) does not match the expected "
                                  f"API version ({rt.api_version(version)})")
        obj["apiVersion"], obj["kind"] = rt.api_version(version), rt.kind
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict) or not all(isinstance(meta.get(k, ""), str)
                                                 for k in ("name", "generateName", "namespace")):
            raise err_bad_request("metadata must be an object whose name and namespace are strings")
        if rt.namespaced:
            if meta.get("namespace") and namespace and meta["namespace"] != namespace:
                raise err_bad_request("the namespace of the provided object does not match the namespace "
                                      "sent on the request")
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        return obj

    def _check_name(self, obj, name):
        sent = obj["metadata"].get("name")
        if sent and sent != name:
            raise err_bad_request(f"the name of the object ({sent}) does not match the name on the URL ({name})")
        obj["metadata"]["name"] = name

    def _check_namespace(self, rt, namespace):
        if not rt.namespaced:
            return
        ns = self.get(self.registry.get(NAMESPACES), None, namespace)
        if ns is None:
            raise err_not_found(self.registry.get(NAMESPACES), namespace)
        if ns["metadata"].get("deletionTimestamp"):
            raise ApiError(403, "Forbidden", f'{rt.qualified} "" is forbidden: unable to create new content in '
                                             f"namespace {namespace} because it is being terminated",
                           _details(rt, ""))

    @staticmethod
    def _incoming_managers(obj, old):
        """Managed fields to start from: the stored ones unless the client sent others.
        Returns (managers, track); [{}] is the documented way to wipe them."""
        sent = obj["metadata"].pop("managedFields", None)
        stored = (old or {}).get("metadata", {}).get("managedFields")
        if not sent or sent == stored:
            return load_managers(stored), True
        if all(e == {} for e in sent):
            return [], False
        return load_managers(sent), True

    @staticmethod
    def _keep_status(rt, old, new, subresource):
        """Status and main resource are written through different endpoints."""
        if subresource == "status":
            out = copy.deepcopy(old)
            if "status" in new:
                out["status"] = new["status"]
            else:
                out.pop("status", None)
            return out
        if "status" in rt.subresources:
            if old is not None and "status" in old:
                new["status"] = copy.deepcopy(old["status"])
            else:
                new.pop("status", None)
        return new

    def create(self, rt, version, namespace, body, manager, dry_run=False):
        obj = self._input(rt, version, namespace, body)
        meta = obj["metadata"]
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + "".join(random.choices("bcdfghjklmnpqrstvwxz2456789", k=5))
        if not meta.get("name"):
            raise err_invalid(rt, "", [("metadata.name", "FieldValueRequired",
                                        "Required value: name or generateName is required")])
        self._check_namespace(rt, namespace)
        if self.get(rt, namespace, meta["name"]):
            raise err_already_exists(rt, meta["name"])
        obj = self._keep_status(rt, None, obj, "")
        if not rt.crd:
            default_port_protocols(obj)
        managers, track = self._incoming_managers(obj, None)
        if track:
            record_update(managers, None, obj, manager, obj["apiVersion"])
        return self._commit(rt, version, namespace, None, obj, managers, dry_run)

    def replace(self, rt, version, namespace, name, body, manager, dry_run=False, subresource=""):
        old = self.get(rt, namespace, name)
        if old is None:
            raise err_not_found(rt, name)
        obj = self._input(rt, version, namespace, body)
        return self._update(rt, version, namespace, name, old, obj, manager, dry_run, subresource)

    def patch(self, rt, version, namespace, name, patch_type, patch, manager, dry_run=False, subresource=""):
        old = self.get(rt, namespace, name)
        if old is None:
            raise err_not_found(rt, name)
        base = dict(copy.deepcopy(old), apiVersion=rt.api_version(version))
        obj = self._apply_patch(base, patch_type, patch)
        obj = self._input(rt, version, namespace, obj)
        return self._update(rt, version, namespace, name, old, obj, manager, dry_run, subresource)

    @staticmethod
    def _apply_patch(base, patch_type, patch):
        if patch_type == "json":
            result = apply_json_patch(base, patch)
        elif not isinstance(patch, dict):
            raise err_bad_request("a merge patch must be a JSON object")
        elif patch_type == "merge":
            result = merge_patch(base, patch)
        else:
            result = strategic_merge(base, patch)
        if not isinstance(result, dict):
            raise ApiError(422, "Invalid", "the patch did not produce an object")
        return result

    def _update(self, rt, version, namespace, name, old, obj, manager, dry_run, subresource):
        self._check_name(obj, name)
        sent_rv = obj["metadata"].get("resourceVersion")
        if sent_rv and sent_rv != old["metadata"]["resourceVersion"]:
            raise err_conflict(rt, name)
        managers, track = self._incoming_managers(obj, old)
        obj = self._keep_status(rt, old, obj, subresource)
        if not rt.crd:
            default_port_protocols(obj)
        if track:
            record_update(managers, old, obj, manager, obj["apiVersion"], subresource)
        return self._commit(rt, version, namespace, old, obj, managers, dry_run)

    def apply(self, rt, version, namespace, name, config, manager, force=False, dry_run=False, subresource=""):
        """Server-side apply; returns (object, created?)."""
        if not manager:
            raise ApiError(422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
                                           "is required for apply patch",
                           {"group": "meta.k8s.io", "kind": "PatchOptions", "causes": [
                               {"reason": "FieldValueRequired", "message": "Required value: is required for "
                                "apply patch", "field": "fieldManager"}]})
        if not isinstance(config, dict) or not config.get("apiVersion") or not config.get("kind"):
            raise err_bad_request("an applied configuration must be an object with apiVersion and kind")
        config = drop_nulls(self._input(rt, version, namespace, config))
        self._check_name(config, name)
        config["metadata"].pop("managedFields", None)
        old = self.get(rt, namespace, name)
        if old is None and subresource:
            raise err_not_found(rt, name)
        if old is None:
            self._check_namespace(rt, namespace)
        if subresource == "status":
            config = {k: v for k, v in config.items() if k in ("apiVersion", "kind", "status")} | {
                "metadata": {k: v for k, v in config["metadata"].items() if k in ("name", "namespace")}}
        elif "status" in rt.subresources:
            config.pop("status", None)
        sent_rv = config["metadata"].pop("resourceVersion", None)
        if sent_rv and old is not None and sent_rv != old["metadata"]["resourceVersion"]:
            raise err_conflict(rt, name)

        live = copy.deepcopy(old) if old else {"apiVersion": config["apiVersion"], "kind": rt.kind,
                                                "metadata": {k: v for k, v in config["metadata"].items()
                                                             if k in ("name", "namespace")}}
        managers = load_managers(live["metadata"].pop("managedFields", None))
        me = manager_entry(managers, manager, "Apply", "", subresource)
        others = [m for m in managers if m is not me]
        previous, claimed = set(me["paths"]), applied_paths(config)
        owned_by_others = set().union(*(m["paths"] for m in others))
        merged = copy.deepcopy(apply_merge(live, config))   # private: pruning edits it in place
        prune(merged, previous - claimed - owned_by_others, owned_by_others | claimed)

        changed, removed = diff_paths(live, merged)
        conflicts = [(m, p) for m in others for p in sorted(m["paths"] & changed)]
        if conflicts and not force:
            raise apply_conflict_error(conflicts)
        for m in others:
            m["paths"] -= changed | removed
        me.update(paths=claimed, time=now_iso(), apiVersion=config["apiVersion"])
        managers = [m for m in managers if m["paths"]]
        result = self._commit(rt, version, namespace, old, merged, managers, dry_run)
        return result, old is None

    def _commit(self, rt, version, namespace, old, obj, managers, dry_run):
        """Finish a write: system metadata, defaults, validation, then store."""
        meta = obj["metadata"]
        obj["apiVersion"], obj["kind"] = rt.api_version(version), rt.kind
        meta.pop("selfLink", None)
        if old is None:
            meta.update(uid=str(uuid.uuid4()), creationTimestamp=now_iso(), generation=1)
            for k in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds"):
                meta.pop(k, None)
        else:
            for k in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                      "resourceVersion"):
                if k in old["metadata"]:
                    meta[k] = old["metadata"][k]
                else:
                    meta.pop(k, None)
        NORMALIZERS.get(rt.key, lambda *_: None)(self, old, obj)
        if not rt.crd:
            default_port_protocols(obj)
        if old is not None:                      # generation counts changes outside metadata and status
            bump = _spec_of(old) != _spec_of(obj)
            meta["generation"] = old["metadata"].get("generation", 1) + int(bump)
        validate(rt, old, obj)
        if managers:
            meta["managedFields"] = render_managers(managers)
        else:
            meta.pop("managedFields", None)
        if old is not None and _comparable(old) == _comparable(obj):
            return old                           # no-op: no write, no new resourceVersion
        if dry_run:
            return obj
        if meta.get("deletionTimestamp") and not meta.get("finalizers") and rt.key != NAMESPACES:
            return self._drop(rt, obj)           # the last finalizer is gone
        self._store(rt, obj, "ADDED" if old is None else "MODIFIED")
        if rt.key == CRDS:
            self._register_crd(obj)
        return obj

    # ---- deletes ------------------------------------------------------------------

    def delete(self, rt, namespace, name, dry_run=False, preconditions=None):
        obj = self.get(rt, namespace, name)
        if obj is None:
            raise err_not_found(rt, name)
        preconditions = preconditions or {}
        for field_name, label in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
            want = preconditions.get(field_name)
            if want and want != obj["metadata"].get(field_name):
                raise err_conflict(rt, name, f"Precondition failed: {label} in precondition: {want}, "
                                             f"{label} in object meta: {obj['metadata'].get(field_name)}")
        if rt.key == NAMESPACES:
            return self._terminate_namespace(rt, obj, dry_run)
        if obj["metadata"].get("finalizers"):
            if obj["metadata"].get("deletionTimestamp"):
                return obj
            marked = copy.deepcopy(obj)
            marked["metadata"].update(deletionTimestamp=now_iso(), deletionGracePeriodSeconds=0)
            if not dry_run:
                self._store(rt, marked, "MODIFIED")
            return marked
        return obj if dry_run else self._drop(rt, obj)

    def delete_collection(self, rt, namespace, label_selector, field_selector, dry_run=False):
        doomed = [o for o in self.list(rt, namespace)
                  if labels_match(label_selector, o["metadata"].get("labels")) and fields_match(field_selector, o)]
        return [self.delete(rt, o["metadata"].get("namespace"), o["metadata"]["name"], dry_run) for o in doomed]

    def _terminate_namespace(self, rt, ns, dry_run):
        name = ns["metadata"]["name"]
        if name in PROTECTED_NAMESPACES:
            raise err_forbidden(rt, name, "this namespace may not be deleted")
        if ns["metadata"].get("deletionTimestamp"):
            return ns
        terminating = copy.deepcopy(ns)
        terminating["metadata"]["deletionTimestamp"] = now_iso()
        terminating["status"] = {"phase": "Terminating"}
        if dry_run:
            return terminating
        self._store(rt, terminating, "MODIFIED")
        try:
            asyncio.get_running_loop().call_later(self.namespace_finalize_seconds, self._finalize_namespace, name)
        except RuntimeError:                     # no event loop: finish at once
            self._finalize_namespace(name)
        return terminating

    def _finalize_namespace(self, name):
        """Remove everything in a terminating namespace, then the namespace itself."""
        for rt in list(self.registry.types.values()):
            if rt.namespaced:
                for obj in self.list(rt, name):
                    self._drop(rt, obj)
        ns_type = self.registry.get(NAMESPACES)
        ns = self.get(ns_type, None, name)
        if ns is not None:
            self._drop(ns_type, ns)

    # ---- custom resource definitions -------------------------------------------

    def _register_crd(self, crd):
        spec, names = crd["spec"], crd["spec"]["names"]
        versions = spec.get("versions") or []
        served = sorted((v["name"] for v in versions if v.get("served", True)), key=version_priority)
        storage = next(v for v in versions if v.get("storage"))
        subresources = storage.get("subresources") or {}
        rt = ResourceType(spec["group"], served or [storage["name"]], names["kind"], names["plural"],
                          spec.get("scope", "Namespaced") == "Namespaced", names.get("shortNames") or [],
                          tuple(s for s in ("status", "scale") if s in subresources), names.get("categories") or [],
                          "subdomain", names.get("singular", ""), subresources.get("scale"), crd=True)
        existing = self.registry.get(rt.key)
        if existing is not None and not existing.crd:
            return                               # never shadow a built-in kind
        previous = self.crd_keys.get(crd["metadata"]["name"])
        if previous and previous != rt.key:
            self._unregister_crd(crd["metadata"]["name"])
        self.registry.add(rt)
        self.crd_keys[crd["metadata"]["name"]] = rt.key

    def _unregister_crd(self, crd_name):
        key = self.crd_keys.pop(crd_name, None)
        rt = self.registry.get(key) if key else None
        if rt is None:
            return
        for obj in self.list(rt):
            self._drop(rt, obj)
        self.registry.remove(key)
        self.objects.pop(key, None)

    # ---- scale subresource --------------------------------------------------------

    def scale_of(self, rt, obj):
        paths = rt.scale_paths or {}
        replicas = get_path(obj, paths.get("specReplicasPath", ".spec.replicas"))
        if replicas is None:
            replicas = 0 if rt.crd else 1       # built-ins default spec.replicas to 1
        if rt.crd:
            selector = get_path(obj, paths.get("labelSelectorPath", ".status.selector")) or ""
        else:
            match = (get_path(obj, ".spec.selector.matchLabels") or {})
            selector = ",".join(f"{k}={v}" for k, v in sorted(match.items()))
        meta = obj["metadata"]
        return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                                  "creationTimestamp") if k in meta},
                "spec": {"replicas": replicas},
                "status": {"replicas": get_path(obj, paths.get("statusReplicasPath", ".status.replicas")) or 0,
                           "selector": selector}}

    def write_scale(self, rt, version, namespace, name, scale, manager, dry_run=False):
        old = self.get(rt, namespace, name)
        if old is None:
            raise err_not_found(rt, name)
        sent_rv = (scale.get("metadata") or {}).get("resourceVersion")
        if sent_rv and sent_rv != old["metadata"]["resourceVersion"]:
            raise err_conflict(rt, name)
        replicas = (scale.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise ApiError(422, "Invalid", f'Scale.autoscaling "{name}" is invalid: spec.replicas: Invalid value: '
                                           f"{json.dumps(replicas)}: must be greater than or equal to 0")
        obj = copy.deepcopy(old)
        set_path(obj, (rt.scale_paths or {}).get("specReplicasPath", ".spec.replicas"), replicas)
        managers, _ = self._incoming_managers(obj, old)
        record_update(managers, old, obj, manager, obj["apiVersion"], "scale")
        return self.scale_of(rt, self._commit(rt, version, namespace, old, obj, managers, dry_run))


def _spec_of(obj):
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def _comparable(obj):
    """An object minus what changes on every write (resourceVersion, manager times)."""
    meta = dict(obj["metadata"])
    meta.pop("resourceVersion", None)
    meta["managedFields"] = [dict(e, time=None) for e in meta.get("managedFields") or []]
    return dict(obj, metadata=meta)


# ---- per-kind defaulting ----------------------------------------------------------

def _normalize_namespace(cluster, old, ns):
    ns["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = ns["metadata"]["name"]
    ns.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    ns["status"] = {"phase": "Terminating" if ns["metadata"].get("deletionTimestamp") else "Active"}


def _normalize_secret(cluster, old, secret):
    string_data = secret.pop("stringData", None) or {}
    if string_data:
        data = secret.setdefault("data", {})
        for k, v in string_data.items():
            data[k] = base64.b64encode(str(v).encode()).decode()
    for k, v in (secret.get("data") or {}).items():
        try:
            base64.b64decode(v or "", validate=True)
        except (ValueError, TypeError):
            raise err_bad_request(f'Secret in version "v1" cannot be handled as a Secret: illegal base64 data '
                                  f"in data[{k}]")
    secret.setdefault("type", "Opaque")


def _normalize_service(cluster, old, svc):
    spec = svc.setdefault("spec", {})
    if spec.get("type") == "ExternalName" or spec.get("clusterIP"):
        return
    previous = get_path(old or {}, ".spec.clusterIP")
    if previous:
        spec["clusterIP"] = previous
    else:
        n = cluster.next_cluster_ip
        cluster.next_cluster_ip += 1
        spec["clusterIP"] = f"10.96.{n // 250}.{n % 250 + 1}"
    spec.setdefault("clusterIPs", [spec["clusterIP"]])


def _normalize_crd(cluster, old, crd):
    spec = crd.setdefault("spec", {})
    names = spec.setdefault("names", {})
    if names.get("kind"):
        names.setdefault("singular", names["kind"].lower())
        names.setdefault("listKind", names["kind"] + "List")
    previous = {c.get("type"): c for c in get_path(old or {}, ".status.conditions") or []}
    conditions = [("NamesAccepted", "NoConflicts", "no conflicts found"),
                  ("Established", "InitialNamesAccepted", "the initial names have been accepted")]
    stored = set(get_path(old or {}, ".status.storedVersions") or [])
    stored |= {v["name"] for v in spec.get("versions") or [] if v.get("storage") and v.get("name")}
    crd["status"] = {
        "conditions": [{"type": t, "status": "True",
                        "lastTransitionTime": previous.get(t, {}).get("lastTransitionTime") or now_iso(),
                        "reason": r, "message": m} for t, r, m in conditions],
        "acceptedNames": dict(names), "storedVersions": sorted(stored)}


def default_port_protocols(value, name=None):
    """Built-in kinds default ports[].protocol to TCP, as the API server does;
    list keys in managedFields (k:{"containerPort":80,"protocol":"TCP"}) rely on it."""
    if isinstance(value, dict):
        for k, v in value.items():
            default_port_protocols(v, k)
    elif isinstance(value, list):
        for item in value:
            if name == "ports" and isinstance(item, dict) and ("containerPort" in item or "port" in item):
                item.setdefault("protocol", "TCP")
            default_port_protocols(item)


NORMALIZERS = {NAMESPACES: _normalize_namespace, SECRETS: _normalize_secret,
               ("", "services"): _normalize_service, CRDS: _normalize_crd}


# =============================================================================
# HTTP layer: routing, discovery, OpenAPI stubs, verbs, tables, watches
# =============================================================================

PATCH_TYPES = {"application/merge-patch+json": "merge", "application/strategic-merge-patch+json": "strategic",
               "application/json-patch+json": "json", "application/apply-patch+yaml": "apply",
               "application/apply-patch+cbor": "apply-cbor"}
AGGREGATED_DISCOVERY = re.compile(r"g=apidiscovery\.k8s\.io;\s*v=(v2beta1|v2)\b")
# Extra Table columns per kind, between NAME and AGE, as kubectl shows them.
TABLE_COLUMNS = {
    NAMESPACES: [("Status", lambda o: get_path(o, ".status.phase") or "")],
    ("", "configmaps"): [("Data", lambda o: len(o.get("data") or {}) + len(o.get("binaryData") or {}))],
    SECRETS: [("Type", lambda o: o.get("type", "")), ("Data", lambda o: len(o.get("data") or {}))],
}


def json_response(body, status=200, content_type="application/json"):
    return web.Response(body=json.dumps(body, separators=(",", ":")).encode(), status=status,
                        headers={"Content-Type": content_type})


class HttpApi:
    def __init__(self, cluster, log_path, server_address):
        self.cluster = cluster
        self.registry = cluster.registry
        self.server_address = server_address
        self.log_file = open(log_path, "a", encoding="utf-8") if log_path else None

    def make_app(self):
        app = web.Application(middlewares=[self._log_requests], client_max_size=64 << 20)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        return app

    @web.middleware
    async def _log_requests(self, request, handler):
        status = 499                              # client went away
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as e:
            status = e.status
            raise
        finally:
            if self.log_file:
                self.log_file.write(f"{request.method} {request.raw_path} {request.get('status', status)}\n")
                self.log_file.flush()

    async def _dispatch(self, request):
        try:
            return await self._route(request)
        except ApiError as e:
            return json_response(e.status(), e.code)
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except Exception as e:  # noqa: BLE001 - report, keep serving
            traceback.print_exc(file=sys.stderr)
            return json_response(ApiError(500, "InternalError", f"kubemu internal error: {e!r}").status(), 500)

    async def _route(self, request):
        segs = [s for s in request.path.split("/") if s]
        if segs == ["version"]:
            return json_response(K8S_VERSION)
        if segs and segs[0] in ("healthz", "livez", "readyz"):
            return web.Response(text="ok", content_type="text/plain")
        if segs[:1] == ["openapi"]:
            return self._openapi(request, segs[1:])
        if segs == ["api"]:
            return self._discover_core(request)
        if segs == ["apis"]:
            return self._discover_groups(request)
        if len(segs) >= 2 and segs[0] == "api":
            group, version, rest = "", segs[1], segs[2:]
        elif len(segs) >= 3 and segs[0] == "apis":
            group, version, rest = segs[1], segs[2], segs[3:]
        elif len(segs) == 2 and segs[0] == "apis":
            return self._discover_group(segs[1])
        else:
            raise ERR_NO_ROUTE
        if not rest:
            return self._discover_group_version(group, version)
        rt, namespace, name, sub = self._resolve(group, version, rest)
        return await self._serve(request, rt, version, namespace, name, sub)

    def _resolve(self, group, version, rest):
        """-> (type, namespace, name, subresource) for a path below /api/v1 or /apis/G/V."""
        if len(rest) >= 3 and rest[0] == "namespaces":
            rt = self.registry.lookup(group, version, rest[2])
            if rt is not None and rt.namespaced and len(rest) <= 5:
                tail = rest[3:] + [None, None]
                return rt, rest[1], tail[0], tail[1]
        rt = self.registry.lookup(group, version, rest[0])
        if rt is None or len(rest) > 3 or (rt.namespaced and len(rest) > 1):
            raise ERR_NO_ROUTE
        tail = rest[1:] + [None, None]
        return rt, None, tail[0], tail[1]

    # ---- resources -------------------------------------------------------------------

    async def _serve(self, request, rt, version, namespace, name, sub):
        method, query = request.method, request.query
        dry_run = "All" in query.getall("dryRun", [])
        manager = query.get("fieldManager") or request.headers.get("User-Agent", "unknown").split("/")[0][:128]
        if sub is not None and sub not in rt.subresources:
            raise ERR_NO_ROUTE
        if name is None:
            if method == "GET" and query.get("watch") in ("1", "true"):
                return await self._watch(request, rt, version, namespace)
            if method == "GET":
                if rt.plural in self.cluster.forbid_list:
                    scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
                    raise ApiError(403, "Forbidden",
                                   f'{rt.qualified} is forbidden: User "blueprint" cannot list resource '
                                   f'"{rt.plural}" in API group "{rt.group}" {scope}', _details(rt, ""))
                return self._list(request, rt, version, namespace)
            if method == "POST" and (namespace is not None or not rt.namespaced):
                obj = self.cluster.create(rt, version, namespace, await self._body(request), manager, dry_run)
                return json_response(self._out(rt, version, obj), 201)
            if method == "DELETE" and "deletecollection" in rt.verbs:
                options = await self._delete_options(request)
                gone = self.cluster.delete_collection(
                    rt, namespace, parse_label_selector(query.get("labelSelector")),
                    parse_field_selector(query.get("fieldSelector")), dry_run or options["dryRun"])
                return json_response({"kind": rt.kind + "List", "apiVersion": rt.api_version(version),
                                      "metadata": {"resourceVersion": str(self.cluster.rv)},
                                      "items": [self._out(rt, version, o) for o in gone]})
            raise ERR_METHOD
        if sub == "scale":
            return await self._serve_scale(request, rt, version, namespace, name, manager, dry_run)
        if method == "GET":
            obj = self.cluster.get(rt, namespace, name)
            if obj is None:
                raise err_not_found(rt, name)
            return self._render(request, rt, version, [obj], single=True)
        if method == "PUT":
            obj = self.cluster.replace(rt, version, namespace, name, await self._body(request), manager,
                                       dry_run, sub or "")
            return json_response(self._out(rt, version, obj))
        if method == "PATCH":
            return await self._patch(request, rt, version, namespace, name, sub or "", manager, dry_run)
        if method == "DELETE" and sub is None:
            options = await self._delete_options(request)
            obj = self.cluster.delete(rt, namespace, name, dry_run or options["dryRun"], options["preconditions"])
            return json_response(self._out(rt, version, obj))
        raise ERR_METHOD

    async def _patch(self, request, rt, version, namespace, name, sub, manager, dry_run):
        patch_type = PATCH_TYPES.get(request.content_type)
        if patch_type is None or patch_type == "apply-cbor":
            raise ApiError(415, "UnsupportedMediaType", f"the body of the request was in an unknown format - "
                                                        f"accepted media types include: {', '.join(PATCH_TYPES)}")
        raw = await request.read()
        try:
            body = yaml.load(raw, Loader=_YamlLoader) if patch_type == "apply" else json.loads(raw)
        except (ValueError, yaml.YAMLError) as e:
            raise err_bad_request(f"error decoding patch: {e}")
        if patch_type == "apply":
            obj, created = self.cluster.apply(rt, version, namespace, name, body, request.query.get("fieldManager"),
                                              request.query.get("force") == "true", dry_run, sub)
            return json_response(self._out(rt, version, obj), 201 if created else 200)
        obj = self.cluster.patch(rt, version, namespace, name, patch_type, body, manager, dry_run, sub)
        return json_response(self._out(rt, version, obj))

    async def _serve_scale(self, request, rt, version, namespace, name, manager, dry_run):
        obj = self.cluster.get(rt, namespace, name)
        if obj is None:
            raise err_not_found(rt, name)
        if request.method == "GET":
            return json_response(self.cluster.scale_of(rt, obj))
        if request.method == "PUT":
            scale = await self._body(request)
        elif request.method == "PATCH":
            patch_type = PATCH_TYPES.get(request.content_type)
            if patch_type not in ("merge", "strategic", "json", "apply"):
                raise ApiError(415, "UnsupportedMediaType", "unsupported patch type for scale")
            raw = await request.read()
            patch = yaml.load(raw, Loader=_YamlLoader) if patch_type == "apply" else json.loads(raw)
            current = self.cluster.scale_of(rt, obj)
            scale = merge_patch(current, patch) if patch_type == "apply" else \
                Cluster._apply_patch(current, patch_type, patch)
        else:
            raise ERR_METHOD
        if not isinstance(scale, dict):
            raise err_bad_request("a Scale must be an object")
        return json_response(self.cluster.write_scale(rt, version, namespace, name, scale, manager, dry_run))

    async def _body(self, request):
        raw = await request.read()
        if not raw:
            raise err_bad_request("the request body is empty")
        try:
            if request.content_type == "application/vnd.kubernetes.protobuf":
                return decode_k8s_protobuf(raw)
            if "yaml" in request.content_type:
                return yaml.load(raw, Loader=_YamlLoader)
            return json.loads(raw)
        except (ValueError, yaml.YAMLError) as e:
            raise err_bad_request(f"cannot decode the request body: {e}")

    async def _delete_options(self, request):
        """DeleteOptions from a JSON or protobuf body; anything undecodable is ignored."""
        options = {}
        raw = await request.read()
        if raw:
            try:
                if request.content_type == "application/vnd.kubernetes.protobuf":
                    options = decode_k8s_protobuf(raw)
                else:
                    options = json.loads(raw)
            except (ApiError, ValueError):
                options = {}
        options = options if isinstance(options, dict) else {}
        return {"dryRun": "All" in (options.get("dryRun") or []), "preconditions": options.get("preconditions")}

    def _out(self, rt, version, obj):
        return dict(obj, apiVersion=rt.api_version(version))

    def _list(self, request, rt, version, namespace):
        label_selector = parse_label_selector(request.query.get("labelSelector"))
        field_selector = parse_field_selector(request.query.get("fieldSelector"))
        items = [o for o in self.cluster.list(rt, namespace)
                 if labels_match(label_selector, o["metadata"].get("labels")) and fields_match(field_selector, o)]
        return self._render(request, rt, version, items)

    @staticmethod
    def _meta_format(request):
        """("Table" | "PartialObjectMetadata", meta.k8s.io version) if Accept asks for one, else (None, None)."""
        for clause in request.headers.get("Accept", "").split(","):
            params = dict(p.strip().partition("=")[::2] for p in clause.split(";")[1:])
            if params.get("g") == "meta.k8s.io" and params.get("as") in (
                    "Table", "PartialObjectMetadata", "PartialObjectMetadataList"):
                return params["as"].removesuffix("List"), params.get("v", "v1")
        return None, None

    def _render(self, request, rt, version, items, single=False):
        """Objects as JSON, a Table, or partial metadata, as the Accept header asks."""
        form, meta_version = self._meta_format(request)
        list_meta = {"resourceVersion": str(self.cluster.rv)}
        if form == "Table":
            return json_response(self._table(request, rt, version, items, meta_version, list_meta))
        if form == "PartialObjectMetadata":
            partial = [{"kind": "PartialObjectMetadata", "apiVersion": f"meta.k8s.io/{meta_version}",
                        "metadata": o["metadata"]} for o in items]
            return json_response(partial[0] if single else {
                "kind": "PartialObjectMetadataList", "apiVersion": f"meta.k8s.io/{meta_version}",
                "metadata": list_meta, "items": partial})
        if single:
            return json_response(self._out(rt, version, items[0]))
        return json_response({"kind": rt.kind + "List", "apiVersion": rt.api_version(version),
                              "metadata": list_meta, "items": [self._out(rt, version, o) for o in items]})

    def _table(self, request, rt, version, items, meta_version, list_meta):
        extra = TABLE_COLUMNS.get(rt.key, [])
        columns = [{"name": "Name", "type": "string", "format": "name", "priority": 0,
                    "description": "Name must be unique within a namespace."}]
        columns += [{"name": n, "type": "string", "format": "", "priority": 0, "description": n} for n, _ in extra]
        columns.append({"name": "Age", "type": "string", "format": "", "priority": 0,
                        "description": "CreationTimestamp is a timestamp representing the server time when "
                                       "this object was created."})
        include = request.query.get("includeObject", "Metadata")
        rows = []
        for o in items:
            row = {"cells": [o["metadata"]["name"]] + [f(o) for _, f in extra]
                   + [human_age(o["metadata"].get("creationTimestamp"))]}
            if include == "Object":
                row["object"] = self._out(rt, version, o)
            elif include != "None":
                row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": f"meta.k8s.io/{meta_version}",
                                 "metadata": o["metadata"]}
            rows.append(row)
        return {"kind": "Table", "apiVersion": f"meta.k8s.io/{meta_version}", "metadata": list_meta,
                "columnDefinitions": columns, "rows": rows}

    # ---- watch -------------------------------------------------------------------------

    async def _watch(self, request, rt, version, namespace):
        query = request.query
        watcher = Watcher(rt.key, namespace, parse_label_selector(query.get("labelSelector")),
                          parse_field_selector(query.get("fieldSelector")))
        timeout = float(query.get("timeoutSeconds") or 1800)
        since = query.get("resourceVersion", "")
        initial = query.get("sendInitialEvents") == "true" or since in ("", "0")
        bookmarks = query.get("allowWatchBookmarks") in ("true", "1")
        history = self.cluster.history
        if initial:
            backlog = [Event(self.cluster.rv, rt.key, "ADDED", o) for o in self.cluster.list(rt, namespace)]
            backlog = [e for e in backlog if watcher.matches(e)]
            last = self.cluster.rv
        else:
            try:
                last = int(since)
            except ValueError:
                raise err_bad_request(f"invalid resourceVersion: {since}")
            if last < self.cluster.rv and (not history or history[0].rv > last + 1):
                return json_response({"type": "ERROR", "object": ApiError(
                    410, "Expired", f"too old resource version: {last} ({history[0].rv - 1 if history else 0})"
                ).status()})
            backlog = [e for e in history if e.rv > last and watcher.matches(e)]
        self.cluster.watchers.add(watcher)
        response = web.StreamResponse(headers={"Content-Type": "application/json", "Cache-Control": "no-cache"})
        response.enable_chunked_encoding()
        try:
            await response.prepare(request)
            request["status"] = 200

            form, meta_version = self._meta_format(request)

            async def send(event_type, obj):
                if form == "Table" and event_type != "BOOKMARK":   # kubectl get -w: one-row tables
                    obj = self._table(request, rt, version, [obj], meta_version, {})
                elif form == "PartialObjectMetadata" and event_type != "BOOKMARK":
                    obj = {"kind": "PartialObjectMetadata", "apiVersion": f"meta.k8s.io/{meta_version}",
                           "metadata": obj["metadata"]}
                line = json.dumps({"type": event_type, "object": obj}, separators=(",", ":")) + "\n"
                await response.write(line.encode())

            for event in backlog:
                await send(event.type, self._out(rt, version, event.obj))
                last = max(last, event.rv)
            if initial and bookmarks and query.get("sendInitialEvents") == "true":
                await send("BOOKMARK", {"kind": rt.kind, "apiVersion": rt.api_version(version), "metadata": {
                    "resourceVersion": str(self.cluster.rv),
                    "annotations": {"k8s.io/initial-events-end": "true"}}})
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while (remaining := deadline - loop.time()) > 0:
                try:
                    event = await asyncio.wait_for(watcher.queue.get(), remaining)
                except asyncio.TimeoutError:
                    break
                if event is None:                 # server shutting down
                    break
                if event.rv > last:
                    await send(event.type, self._out(rt, version, event.obj))
                    last = event.rv
            await response.write_eof()
        except ConnectionResetError:
            pass
        finally:
            self.cluster.watchers.discard(watcher)
        return response

    # ---- discovery -----------------------------------------------------------------------

    def _aggregated_version(self, request):
        match = AGGREGATED_DISCOVERY.search(request.headers.get("Accept", ""))
        return match.group(1) if match and "as=APIGroupDiscoveryList" in request.headers.get("Accept", "") else None

    def _aggregated(self, groups, version):
        items = []
        for group, versions in groups.items():
            entry_versions = []
            for v in versions:
                resources = []
                for rt in self.registry.in_group_version(group, v):
                    kind_ref = {"group": "", "version": "", "kind": rt.kind}
                    resource = {"resource": rt.plural, "responseKind": kind_ref,
                                "scope": "Namespaced" if rt.namespaced else "Cluster",
                                "singularResource": rt.singular, "verbs": rt.verbs}
                    if rt.short_names:
                        resource["shortNames"] = rt.short_names
                    if rt.categories:
                        resource["categories"] = rt.categories
                    subs = [{"subresource": s, "verbs": SUBRESOURCE_VERBS,
                             "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"}
                             if s == "scale" else kind_ref} for s in rt.subresources]
                    if subs:
                        resource["subresources"] = subs
                    resources.append(resource)
                entry_versions.append({"version": v, "resources": resources, "freshness": "Current"})
            metadata = {"creationTimestamp": None} | ({"name": group} if group else {})
            items.append({"metadata": metadata, "versions": entry_versions})
        body = {"kind": "APIGroupDiscoveryList", "apiVersion": f"apidiscovery.k8s.io/{version}",
                "metadata": {}, "items": items}
        return json_response(body, content_type=f"application/json;g=apidiscovery.k8s.io;v={version};"
                                                "as=APIGroupDiscoveryList")

    def _discover_core(self, request):
        aggregated = self._aggregated_version(request)
        if aggregated:
            return self._aggregated({"": ["v1"]}, aggregated)
        return json_response({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": self.server_address}]})

    def _group_doc(self, group, versions):
        gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {"name": group, "versions": gvs, "preferredVersion": gvs[0]}

    def _discover_groups(self, request):
        groups = {g: vs for g, vs in self.registry.groups().items() if g}
        aggregated = self._aggregated_version(request)
        if aggregated:
            return self._aggregated(groups, aggregated)
        return json_response({"kind": "APIGroupList", "apiVersion": "v1",
                              "groups": [self._group_doc(g, vs) for g, vs in groups.items()]})

    def _discover_group(self, group):
        versions = self.registry.groups().get(group)
        if not group or not versions:
            raise ERR_NO_ROUTE
        return json_response({"kind": "APIGroup", "apiVersion": "v1", **self._group_doc(group, versions)})

    def _discover_group_version(self, group, version):
        types = self.registry.in_group_version(group, version)
        if not types:
            raise ERR_NO_ROUTE
        resources = []
        for rt in types:
            resource = {"name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced,
                        "kind": rt.kind, "verbs": rt.verbs}
            if rt.short_names:
                resource["shortNames"] = rt.short_names
            if rt.categories:
                resource["categories"] = rt.categories
            resources.append(resource)
            for sub in rt.subresources:
                entry = {"name": f"{rt.plural}/{sub}", "singularName": "", "namespaced": rt.namespaced,
                         "kind": rt.kind, "verbs": SUBRESOURCE_VERBS}
                if sub == "scale":
                    entry.update(group="autoscaling", version="v1", kind="Scale")
                resources.append(entry)
        return json_response({"kind": "APIResourceList", "apiVersion": "v1",
                              "groupVersion": f"{group}/{version}" if group else version, "resources": resources})

    # ---- OpenAPI stubs ---------------------------------------------------------------------
    # kubectl and helm read /openapi/v3 to learn whether PATCH takes the
    # fieldValidation parameter; when it does they leave validation to the
    # server.  No schemas are served, so kubectl computes strategic merge
    # patches from its compiled-in types.

    def _openapi(self, request, segs):
        if segs == ["v2"]:
            if "protobuf" in request.headers.get("Accept", ""):
                # An empty protobuf message is a valid, empty OpenAPI v2 document.
                return web.Response(body=b"", headers={
                    "Content-Type": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"})
            return json_response({"swagger": "2.0", "info": {"title": "Kubernetes", "version": "v1.33.0"},
                                  "paths": {}, "definitions": {}})
        if segs == ["v3"]:
            paths = {}
            for group, versions in self.registry.groups().items():
                for v in versions:
                    prefix = f"apis/{group}/{v}" if group else f"api/{v}"
                    digest = hashlib.sha256(json.dumps(self._openapi_v3_doc(group, v), sort_keys=True)
                                            .encode()).hexdigest()[:32].upper()
                    paths[prefix] = {"serverRelativeURL": f"/openapi/v3/{prefix}?hash={digest}"}
            return json_response({"paths": paths})
        if len(segs) == 3 and segs[1] == "api":
            group, version = "", segs[2]
        elif len(segs) == 4 and segs[1] == "apis":
            group, version = segs[2], segs[3]
        else:
            raise ERR_NO_ROUTE
        if not self.registry.in_group_version(group, version):
            raise ERR_NO_ROUTE
        return json_response(self._openapi_v3_doc(group, version))

    def _openapi_v3_doc(self, group, version):
        base = f"/apis/{group}/{version}" if group else f"/api/{version}"
        params = [{"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
                  for n in ("dryRun", "fieldManager", "fieldValidation")]
        paths = {}
        for rt in self.registry.in_group_version(group, version):
            gvk = {"group": group, "version": version, "kind": rt.kind}
            collection = f"{base}/namespaces/{{namespace}}/{rt.plural}" if rt.namespaced else f"{base}/{rt.plural}"

            def op(action, rt=rt, gvk=gvk):
                return {"operationId": f"{action}{rt.kind}", "x-kubernetes-action": action,
                        "x-kubernetes-group-version-kind": gvk, "parameters": params,
                        "responses": {"200": {"description": "OK"}}}
            paths[collection] = {"get": op("list"), "post": op("post")}
            paths[collection + "/{name}"] = {"get": op("get"), "put": op("put"), "patch": op("patch"),
                                             "delete": op("delete")}
        return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.33.0"},
                "paths": paths, "components": {"schemas": {}}}


# =============================================================================
# TLS, kubeconfig, main
# =============================================================================

def make_tls(directory, host):
    """A throwaway CA and a server certificate for 127.0.0.1 / localhost (and host)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.now(timezone.utc)

    def usage(**on):
        names = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
                 "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")
        return x509.KeyUsage(**{n: on.get(n, False) for n in names})

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubemu-ca")])
    ca_cert = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
               .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=365))
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(usage(digital_signature=True, key_cert_sign=True, crl_sign=True), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
               .sign(ca_key, hashes.SHA256()))

    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    try:
        extra = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        extra = x509.DNSName(host)
    if extra not in names:
        names.append(extra)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubemu")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(usage(digital_signature=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))

    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    cert_path, key_path = os.path.join(directory, "server.pem"), os.path.join(directory, "server-key.pem")
    with open(os.path.join(directory, "ca.pem"), "wb") as f:
        f.write(ca_pem)
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    context.set_alpn_protocols(["http/1.1"])
    return context, ca_pem


def write_kubeconfig(path, server, ca_pem, cluster_names):
    """One 'kubemu' context, plus one context (and cluster entry) per --cluster NAME."""
    ca_data = base64.b64encode(ca_pem).decode()
    names = ["kubemu"] + [n for n in cluster_names if n != "kubemu"]
    config = {
        "apiVersion": "v1", "kind": "Config", "preferences": {}, "current-context": "kubemu",
        "clusters": [{"name": n, "cluster": {"server": server, "certificate-authority-data": ca_data}}
                     for n in names],
        "users": [{"name": "kubemu", "user": {"token": "kubemu"}}],
        "contexts": [{"name": n, "context": {"cluster": n, "user": "kubemu", "namespace": "default"}}
                     for n in names],
    }
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(config, f, sort_keys=False)


async def serve(args):
    os.makedirs(args.dir, exist_ok=True)
    ssl_context, ca_pem = make_tls(args.dir, args.host)
    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    port = sock.getsockname()[1]
    url_host = f"[{args.host}]" if ":" in args.host else args.host

    cluster = Cluster(args.namespace_finalize_seconds, args.watch_history)
    cluster.forbid_list = set(args.forbid_list)
    api = HttpApi(cluster, os.path.join(args.dir, "requests.log"), f"{url_host}:{port}")
    runner = web.AppRunner(api.make_app(), handle_signals=False, access_log=None, handler_cancellation=True)
    await runner.setup()
    await web.SockSite(runner, sock, ssl_context=ssl_context, shutdown_timeout=1.0).start()

    server = f"https://{url_host}:{port}"
    write_kubeconfig(os.path.join(args.dir, "kubeconfig"), server, ca_pem, args.cluster)
    with open(os.path.join(args.dir, "port"), "w", encoding="utf-8") as f:
        f.write(f"{port}\n")
    print(f"kubemu listening on {server}", flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    cluster.close_watchers()
    await runner.cleanup()


def main(argv=None):
    parser = argparse.ArgumentParser(description="In-memory Kubernetes API server emulator for tests.")
    parser.add_argument("--dir", required=True, help="directory for ca.pem, kubeconfig, port, requests.log")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0 = any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--cluster", action="append", default=[], metavar="NAME",
                        help="add a kubeconfig context named NAME (repeatable)")
    parser.add_argument("--namespace-finalize-seconds", type=float, default=0.3,
                        help="how long a deleted namespace stays Terminating")
    parser.add_argument("--watch-history", type=int, default=10000,
                        help="events kept for watches that start from an older resourceVersion")
    parser.add_argument("--forbid-list", action="append", default=[], metavar="RESOURCE",
                        help="answer a LIST of RESOURCE (its plural, e.g. networkpolicies) with 403 "
                             "Forbidden, as RBAC does for a user without the list verb (repeatable)")
    args = parser.parse_args(argv)
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
