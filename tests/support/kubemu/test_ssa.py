#!/usr/bin/env python3
"""Raw API checks for kubemu, stdlib only: server-side apply semantics, dry-run,
resourceVersion/generation, Status bodies, selectors, watches, subresources,
namespace termination, protobuf bodies, discovery and the request log.

    python test_ssa.py DIR      # DIR as given to kubemu.py --dir (port, ca.pem)
"""

import json
import os
import re
import ssl
import sys
import threading
import time
import urllib.error
import urllib.request

APPLY = "application/apply-patch+yaml"
MERGE = "application/merge-patch+json"


class Client:
    def __init__(self, directory):
        with open(os.path.join(directory, "port")) as f:
            self.base = f"https://127.0.0.1:{f.read().strip()}"
        self.ctx = ssl.create_default_context(cafile=os.path.join(directory, "ca.pem"))

    def call(self, method, path, body=None, ctype="application/json", accept="application/json", stream=False):
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method, headers={
            "Content-Type": ctype, "Accept": accept, "Authorization": "Bearer whatever",
            "User-Agent": "test-ssa/1.0"})
        try:
            response = urllib.request.urlopen(request, context=self.ctx, timeout=15)
        except urllib.error.HTTPError as e:
            response = e
        if stream:
            return response
        payload = response.read()
        self.headers = response.headers
        return response.status, (json.loads(payload) if payload else None)


PASSED, FAILED = [], []


def check(name, condition, detail=""):
    (PASSED if condition else FAILED).append(name)
    print(("ok     " if condition else "FAILED ") + name + ("" if condition else f"\n       {detail}"))


def fields_of(obj, manager, operation=None):
    for entry in obj["metadata"].get("managedFields", []):
        if entry["manager"] == manager and (operation is None or entry["operation"] == operation):
            return entry["fieldsV1"]
    return None


def cm(name, data=None, labels=None):
    meta = {"name": name, **({"labels": labels} if labels else {})}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, **({"data": data} if data else {})}


def deployment(image, labels=None, env=None):
    container = {"name": "app", "image": image, "ports": [{"containerPort": 80}]}
    if env:
        container["env"] = env
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", **({"labels": labels} if labels else {})},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [container]}}}}


# ---- a hand-written protobuf encoder, independent of the server's decoder ----

def _varint(n):
    out = b""
    while True:
        byte, n = n & 0x7F, n >> 7
        if not n:
            return out + bytes([byte])
        out += bytes([byte | 0x80])


def _len_field(number, payload):
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _map_field(number, mapping):
    return b"".join(_len_field(number, _len_field(1, k.encode()) + _len_field(2, v if isinstance(v, bytes)
                                                                            else v.encode()))
                    for k, v in mapping.items())


def protobuf_secret(name, namespace, labels, data, secret_type):
    meta = _len_field(1, name.encode()) + _len_field(3, namespace.encode()) + _map_field(11, labels)
    secret = _len_field(1, meta) + _map_field(2, data) + _len_field(3, secret_type.encode())
    type_meta = _len_field(1, b"v1") + _len_field(2, b"Secret")
    return b"k8s\x00" + _len_field(1, type_meta) + _len_field(2, secret)


def main(directory):
    c = Client(directory)
    ns = "/api/v1/namespaces/ssa"
    cms = ns + "/configmaps"

    status, _ = c.call("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                     "metadata": {"name": "ssa"}})
    check("create namespace", status == 201, status)

    # ---- apply creates, managedFields in FieldsV1 form -----------------------------------
    config = cm("c1", {"k1": "v1", "k2": "v2"}, {"app": "demo"})
    status, obj = c.call("PATCH", cms + "/c1?fieldManager=a", config, APPLY)
    check("apply creates (201)", status == 201, (status, obj))
    entry = obj["metadata"]["managedFields"][0]
    check("managedFields entry shape",
          {k: entry.get(k) for k in ("manager", "operation", "apiVersion", "fieldsType")} ==
          {"manager": "a", "operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV1"}
          and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", entry.get("time", "")), entry)
    check("fieldsV1 in f: form", entry["fieldsV1"] == {"f:data": {"f:k1": {}, "f:k2": {}},
                                                        "f:metadata": {"f:labels": {"f:app": {}}}}, entry)
    meta = obj["metadata"]
    check("system metadata set", all(meta.get(k) for k in ("uid", "resourceVersion", "creationTimestamp"))
          and meta.get("generation") == 1 and obj["kind"] == "ConfigMap" and obj["apiVersion"] == "v1", meta)
    rv1 = int(meta["resourceVersion"])

    status, obj = c.call("PATCH", cms + "/c1?fieldManager=a", config, APPLY)
    check("identical re-apply is a no-op (same resourceVersion)",
          status == 200 and int(obj["metadata"]["resourceVersion"]) == rv1, obj["metadata"])

    # ---- conflicts ---------------------------------------------------------------------------
    status, body = c.call("PATCH", cms + "/c1?fieldManager=b", cm("c1", {"k1": "other"}), APPLY)
    check("conflicting apply -> 409", status == 409, (status, body))
    check("conflict Status body", body.get("kind") == "Status" and body.get("apiVersion") == "v1"
          and body.get("status") == "Failure" and body.get("reason") == "Conflict" and body.get("code") == 409
          and body.get("message") == 'Apply failed with 1 conflict: conflict with "a": .data.k1', body)
    check("conflict causes", body.get("details", {}).get("causes") == [
        {"reason": "FieldManagerConflict", "message": 'conflict with "a"', "field": ".data.k1"}], body)

    status, obj = c.call("PATCH", cms + "/c1?fieldManager=b", cm("c1", {"k1": "v1"}), APPLY)
    check("same value -> shared ownership, no conflict",
          status == 200 and "f:k1" in fields_of(obj, "a")["f:data"] and "f:k1" in fields_of(obj, "b")["f:data"],
          (status, obj))
    check("shared apply changes nothing -> no new resourceVersion",
          status == 200 and int(obj["metadata"]["resourceVersion"]) == rv1 + 1, obj["metadata"])

    status, obj = c.call("PATCH", cms + "/c1?fieldManager=b&force=true", cm("c1", {"k1": "v1", "k2": "forced"}),
                         APPLY)
    check("force=true takes ownership", status == 200 and obj["data"]["k2"] == "forced"
          and "f:k2" not in fields_of(obj, "a")["f:data"] and "f:k2" in fields_of(obj, "b")["f:data"], obj)

    status, obj = c.call("PATCH", cms + "/c1?fieldManager=a", cm("c1", {"k1": "v1"}), APPLY)
    check("field dropped by its only applier is removed", status == 200 and "labels" not in obj["metadata"]
          and obj["data"] == {"k1": "v1", "k2": "forced"}, obj)
    status, obj = c.call("PATCH", cms + "/c1?fieldManager=b", cm("c1", {"k2": "forced"}), APPLY)
    check("field dropped but co-owned stays", obj["data"] == {"k1": "v1", "k2": "forced"}, obj)

    status, body = c.call("PATCH", cms + "/c1", cm("c1", {"k1": "v1"}), APPLY)
    check("apply without fieldManager is rejected", status in (400, 422) and body["kind"] == "Status"
          and "fieldManager" in body["message"], (status, body))

    # ---- dry run ------------------------------------------------------------------------------
    _, before = c.call("GET", cms + "/c1")
    rv = c.call("GET", cms)[1]["metadata"]["resourceVersion"]
    status, obj = c.call("PATCH", cms + "/c1?fieldManager=a&dryRun=All", cm("c1", {"k1": "dry"}), APPLY)
    _, after = c.call("GET", cms + "/c1")
    check("dryRun apply returns the result", status == 200 and obj["data"]["k1"] == "dry", obj)
    check("dryRun apply stores nothing", after == before, after)
    status, obj = c.call("POST", cms + "?dryRun=All", cm("dry", {"a": "b"}))
    check("dryRun create returns 201 but stores nothing",
          status == 201 and obj["metadata"]["name"] == "dry" and c.call("GET", cms + "/dry")[0] == 404, status)
    c.call("PUT", cms + "/c1?dryRun=All", dict(before, data={"k1": "put"}))
    c.call("PATCH", cms + "/c1?dryRun=All", {"data": {"k1": "patched"}}, MERGE)
    status, _ = c.call("DELETE", cms + "/c1?dryRun=All")
    _, after = c.call("GET", cms + "/c1")
    check("dryRun PUT/PATCH/DELETE store nothing", status == 200 and after == before, after)
    _, listing = c.call("GET", cms)
    check("dry runs do not advance the resourceVersion", listing["metadata"]["resourceVersion"] == rv,
          (rv, listing["metadata"]))

    # ---- Update entries from ordinary writes -------------------------------------------------
    status, obj = c.call("POST", cms + "?fieldManager=creator", cm("c2", {"x": "1"}))
    check("create records an Update entry with map markers",
          fields_of(obj, "creator", "Update") == {"f:data": {".": {}, "f:x": {}}}, obj["metadata"])
    status, obj = c.call("PATCH", cms + "/c2?fieldManager=patcher", {"data": {"y": "2"}}, MERGE)
    check("merge patch records the patcher's fields", fields_of(obj, "patcher", "Update") ==
          {"f:data": {"f:y": {}}} and int(obj["metadata"]["resourceVersion"]) > rv1, obj["metadata"])
    status, obj = c.call("PATCH", cms + "/c2", {"data": {"z": "3"}}, MERGE)
    check("default manager comes from the User-Agent", fields_of(obj, "test-ssa", "Update") is not None,
          obj["metadata"].get("managedFields"))

    # ---- optimistic concurrency -----------------------------------------------------------------
    stale = dict(obj, data={"x": "stale"})
    stale["metadata"] = dict(obj["metadata"], resourceVersion="1")
    status, body = c.call("PUT", cms + "/c2", stale)
    check("PUT with stale resourceVersion -> 409 Conflict", status == 409 and body["reason"] == "Conflict"
          and "the object has been modified" in body["message"]
          and body["details"] == {"name": "c2", "kind": "configmaps"}, body)
    status, obj2 = c.call("PUT", cms + "/c2", dict(obj, data={"x": "fresh"}))
    check("PUT with current resourceVersion bumps it", status == 200 and
          int(obj2["metadata"]["resourceVersion"]) > int(obj["metadata"]["resourceVersion"]), obj2["metadata"])

    # ---- errors ----------------------------------------------------------------------------------
    status, body = c.call("GET", cms + "/missing")
    check("NotFound Status", status == 404 and body == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'configmaps "missing" not found', "reason": "NotFound",
        "details": {"name": "missing", "kind": "configmaps"}, "code": 404}, body)
    status, body = c.call("POST", cms, cm("c2"))
    check("AlreadyExists Status", status == 409 and body["reason"] == "AlreadyExists", body)
    status, body = c.call("POST", "/api/v1/namespaces/nowhere/configmaps", cm("c"))
    check("create in a missing namespace -> 404 namespace", status == 404 and
          body["message"] == 'namespaces "nowhere" not found', body)
    status, body = c.call("POST", cms, cm("Bad_Name"))
    check("invalid name -> 422 Invalid", status == 422 and body["reason"] == "Invalid"
          and body["details"]["causes"][0]["field"] == "metadata.name", body)

    # ---- generation, keyed lists, strategic merge --------------------------------------------
    deps = "/apis/apps/v1/namespaces/ssa/deployments"
    status, obj = c.call("PATCH", deps + "/web?fieldManager=a", deployment("nginx:1"), APPLY)
    containers = fields_of(obj, "a")["f:spec"]["f:template"]["f:spec"]["f:containers"]
    check("keyed list items in managedFields", containers == {'k:{"name":"app"}': {
        ".": {}, "f:image": {}, "f:name": {},
        "f:ports": {'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}}}}}, containers)
    port = obj["spec"]["template"]["spec"]["containers"][0]["ports"][0]
    check("ports default protocol TCP, matching the list key", port == {"containerPort": 80, "protocol": "TCP"},
          port)
    status, obj = c.call("PATCH", deps + "/web?fieldManager=a", deployment("nginx:1", {"team": "x"}), APPLY)
    check("metadata change keeps generation", obj["metadata"]["generation"] == 1, obj["metadata"])
    status, obj = c.call("PATCH", deps + "/web?fieldManager=a", deployment("nginx:2", {"team": "x"}), APPLY)
    check("spec change bumps generation", obj["metadata"]["generation"] == 2, obj["metadata"])
    status, body = c.call("PATCH", deps + "/web?fieldManager=b", deployment("nginx:3"), APPLY)
    causes = body.get("details", {}).get("causes", [])
    check("conflict path inside a keyed list", status == 409 and
          {"reason": "FieldManagerConflict", "message": 'conflict with "a"',
           "field": '.spec.template.spec.containers[name="app"].image'} in causes, body)
    status, obj = c.call("PATCH", deps + "/web", {"spec": {"template": {"spec": {"containers": [
        {"name": "app", "env": [{"name": "MODE", "value": "x"}]}]}}}}, "application/strategic-merge-patch+json")
    container = obj["spec"]["template"]["spec"]["containers"]
    check("strategic merge merges containers by name", len(container) == 1 and container[0]["image"] == "nginx:2"
          and container[0]["env"] == [{"name": "MODE", "value": "x"}], container)

    # ---- status and scale subresources ----------------------------------------------------------
    status, obj = c.call("PUT", deps + "/web", dict(obj, status={"replicas": 7}))
    check("main resource ignores status", "replicas" not in obj.get("status", {}), obj.get("status"))
    gen = obj["metadata"]["generation"]
    status, obj = c.call("PATCH", deps + "/web/status", {"status": {"replicas": 1, "readyReplicas": 1},
                                                          "spec": {"replicas": 9}}, MERGE)
    check("status subresource writes only status", status == 200 and obj["status"]["readyReplicas"] == 1
          and obj["spec"]["replicas"] == 1 and obj["metadata"]["generation"] == gen, obj)
    status, scale = c.call("GET", deps + "/web/scale")
    check("scale subresource", scale.get("kind") == "Scale" and scale["spec"]["replicas"] == 1
          and scale["status"]["selector"] == "app=web", scale)
    status, scale = c.call("PATCH", deps + "/web/scale", {"spec": {"replicas": 4}}, MERGE)
    _, obj = c.call("GET", deps + "/web")
    check("patching scale sets spec.replicas", scale["spec"]["replicas"] == 4 and obj["spec"]["replicas"] == 4
          and obj["metadata"]["generation"] == gen + 1, (scale, obj["spec"]))

    # ---- selectors --------------------------------------------------------------------------------
    for name, labels in (("s-a", {"tier": "a", "env": "prod"}), ("s-b", {"tier": "b"}), ("s-c", {})):
        c.call("POST", cms, cm(name, {"k": "v"}, labels))

    def names(query, base=cms):
        status, listing = c.call("GET", base + "?" + query)
        return status, sorted(i["metadata"]["name"] for i in listing.get("items", []))
    q = urllib.request.quote
    check("selector notin", names("labelSelector=" + q("tier notin (a),tier"))[1] == ["s-b"])
    check("selector != and !key", names("labelSelector=" + q("tier!=a,!env"))[1] == ["c1", "c2", "s-b", "s-c"])
    check("selector in / ==", names("labelSelector=" + q("tier in (a, b),env==prod"))[1] == ["s-a"])
    check("field selector across namespaces", names("fieldSelector=" + q("metadata.namespace=ssa,metadata.name!=c1")
                                                    + "&labelSelector=tier", "/api/v1/configmaps")[1] ==
          ["s-a", "s-b"])
    check("bad selector -> 400", names("labelSelector=" + q("a in b"))[0] == 400)

    status, gone = c.call("DELETE", cms + "?labelSelector=" + q("tier"))
    check("delete collection by label selector", status == 200 and gone["kind"] == "ConfigMapList" and
          sorted(i["metadata"]["name"] for i in gone["items"]) == ["s-a", "s-b"]
          and names("labelSelector=tier")[1] == [], gone)
    c.call("POST", cms, cm("s-a", {"k": "v"}, {"tier": "a"}))

    # ---- watch --------------------------------------------------------------------------------
    _, listing = c.call("GET", cms)
    since = listing["metadata"]["resourceVersion"]
    threading.Timer(0.3, lambda: c.call("PATCH", cms + "/s-c", {"data": {"k": "w"}}, MERGE)).start()
    response = c.call("GET", cms + f"?watch=1&resourceVersion={since}&timeoutSeconds=2", stream=True)
    started = time.time()
    events = [json.loads(line) for line in response.read().decode().splitlines() if line.strip()]
    check("watch streams later events and ends at the timeout", 1.5 < time.time() - started < 4
          and [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("MODIFIED", "s-c")], events)
    response = c.call("GET", cms + f"?watch=true&resourceVersion={rv1}&timeoutSeconds=1"
                      "&fieldSelector=metadata.name%3Dc2", stream=True)
    replay = [json.loads(line)["type"] for line in response.read().decode().splitlines() if line.strip()]
    check("watch from an old resourceVersion replays history", replay[:1] == ["ADDED"] and
          len(replay) >= 3, replay)

    # ---- protobuf bodies --------------------------------------------------------------------------
    body = protobuf_secret("pb", "ssa", {"owner": "helm"}, {"release": b"\x00\x01binary"}, "helm.sh/release.v1")
    status, obj = c.call("POST", ns + "/secrets", body, "application/vnd.kubernetes.protobuf")
    check("protobuf Secret create", status == 201 and obj["data"] == {"release": "AAFiaW5hcnk="}
          and obj["type"] == "helm.sh/release.v1" and obj["metadata"]["labels"] == {"owner": "helm"}, (status, obj))

    # ---- discovery and tables -------------------------------------------------------------------------
    status, body = c.call("GET", "/apis", accept="application/json;g=apidiscovery.k8s.io;v=v2;"
                                                 "as=APIGroupDiscoveryList,application/json")
    check("aggregated discovery", body["kind"] == "APIGroupDiscoveryList"
          and "as=APIGroupDiscoveryList" in c.headers["Content-Type"], c.headers["Content-Type"])
    status, body = c.call("GET", "/api", accept="application/json;g=apidiscovery.k8s.io;v=v2beta1;"
                                                "as=APIGroupDiscoveryList,application/json")
    check("aggregated discovery v2beta1 for the core group",
          body["apiVersion"] == "apidiscovery.k8s.io/v2beta1" and body["items"][0]["versions"][0]["version"] == "v1"
          and any(r["resource"] == "namespaces" and r["scope"] == "Cluster"
                  for r in body["items"][0]["versions"][0]["resources"]), body)
    status, body = c.call("GET", "/api")
    check("plain /api", body["kind"] == "APIVersions" and body["versions"] == ["v1"], body)
    status, body = c.call("GET", "/version")
    check("/version", body["gitVersion"] == "v1.33.0" and body["major"] == "1" and body["minor"] == "33", body)
    status, index = c.call("GET", "/openapi/v3")
    status, doc = c.call("GET", index["paths"]["apis/apps/v1"]["serverRelativeURL"])
    patch_op = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    check("openapi v3 stub declares fieldValidation",
          patch_op["x-kubernetes-group-version-kind"]["kind"] == "Deployment"
          and any(p["name"] == "fieldValidation" and p["in"] == "query" for p in patch_op["parameters"]), patch_op)
    response = c.call("GET", "/openapi/v2", accept="application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
                      stream=True)
    check("openapi v2 as an empty protobuf document", response.status == 200 and response.read() == b"")
    status, body = c.call("GET", "/api/v1")
    byname = {r["name"]: r for r in body["resources"]}
    check("APIResourceList entries", byname["configmaps"]["shortNames"] == ["cm"]
          and byname["configmaps"]["namespaced"] and byname["configmaps"]["singularName"] == "configmap"
          and not byname["namespaces"]["namespaced"] and "namespaces/status" in byname, byname["configmaps"])
    status, body = c.call("GET", cms, accept="application/json;as=Table;v=v1;g=meta.k8s.io,application/json")
    check("Table output", body["kind"] == "Table" and [col["name"] for col in body["columnDefinitions"]] ==
          ["Name", "Data", "Age"] and body["rows"][0]["object"]["kind"] == "PartialObjectMetadata", body)

    # ---- namespace termination ----------------------------------------------------------------------------
    status, obj = c.call("DELETE", "/api/v1/namespaces/ssa")
    check("deleting a namespace marks it Terminating", status == 200 and obj["status"]["phase"] == "Terminating"
          and obj["metadata"].get("deletionTimestamp"), obj)
    status, body = c.call("POST", cms, cm("late"))
    check("no new content in a terminating namespace", status == 403, (status, body))
    time.sleep(1.0)
    check("namespace gone after finalization", c.call("GET", "/api/v1/namespaces/ssa")[0] == 404)
    _, listing = c.call("GET", "/api/v1/configmaps?fieldSelector=metadata.namespace%3Dssa")
    check("its contents are gone", listing["items"] == [], listing)

    # ---- request log ------------------------------------------------------------------------------------
    with open(os.path.join(directory, "requests.log")) as f:
        lines = f.read().splitlines()
    check("request log format", lines and all(re.fullmatch(r"(GET|POST|PUT|PATCH|DELETE) /\S* \d{3}", l)
                                              for l in lines), [l for l in lines if " " not in l][:3])
    check("request log records statuses", "PATCH /api/v1/namespaces/ssa/configmaps/c1?fieldManager=b 409" in lines
          and "GET /api/v1/namespaces/ssa/configmaps/missing 404" in lines)

    print(f"{len(PASSED)} passed, {len(FAILED)} failed")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
