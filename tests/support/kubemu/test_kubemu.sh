#!/usr/bin/env bash
# Drive kubemu with the real kubectl (1.33) and helm (3.18), then run the raw
# API checks in test_ssa.py.  Exits non-zero if anything fails.
#
#   ./test_kubemu.sh            # uses ./.venv/bin/python, ./bin/kubectl, ./bin/helm
#   PYTHON=... KUBECTL=... HELM=... ./test_kubemu.sh
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
PYTHON=${PYTHON:-$HERE/.venv/bin/python}
KUBECTL=${KUBECTL:-$HERE/bin/kubectl}
HELM=${HELM:-$HERE/bin/helm}
WORK=$(mktemp -d)
SRV=$WORK/srv
export HOME=$WORK/home KUBECONFIG=$WORK/srv/kubeconfig   # private kubectl/helm caches and config
mkdir -p "$HOME"

PASS=0 FAIL=0 SERVER_PID=
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

ok()   { PASS=$((PASS + 1)); echo "ok     $1"; }
bad()  { FAIL=$((FAIL + 1)); echo "FAILED $1"; [ -n "${2:-}" ] && sed 's/^/       | /' <<<"$2" | head -30; }

# expect NAME REGEX CMD...   : CMD succeeds and its output matches REGEX (grep -E)
expect() {
  local name=$1 pattern=$2; shift 2
  local out; out=$("$@" 2>&1)
  if [ $? -eq 0 ] && grep -Eq -- "$pattern" <<<"$out"; then ok "$name"; else bad "$name" "$out"; fi
}
# expect_not NAME REGEX CMD...   : CMD succeeds and its output does NOT match REGEX
expect_not() {
  local name=$1 pattern=$2; shift 2
  local out; out=$("$@" 2>&1)
  if [ $? -eq 0 ] && ! grep -Eq -- "$pattern" <<<"$out"; then ok "$name"; else bad "$name" "$out"; fi
}
# expect_fail NAME REGEX CMD...  : CMD fails and its output matches REGEX
expect_fail() {
  local name=$1 pattern=$2; shift 2
  local out; out=$("$@" 2>&1)
  if [ $? -ne 0 ] && grep -Eq -- "$pattern" <<<"$out"; then ok "$name"; else bad "$name" "$out"; fi
}
k() { "$KUBECTL" "$@"; }
h() { "$HELM" "$@"; }

# ---- start the emulator --------------------------------------------------------
"$PYTHON" "$HERE/kubemu.py" --dir "$SRV" --cluster test-cluster --cluster other-cluster \
  >"$WORK/stdout" 2>"$WORK/stderr" &
SERVER_PID=$!
for _ in $(seq 100); do grep -q "kubemu listening on" "$WORK/stdout" 2>/dev/null && break; sleep 0.1; done
if ! grep -Eq "^kubemu listening on https://127\.0\.0\.1:$(cat "$SRV/port" 2>/dev/null)$" "$WORK/stdout"; then
  echo "kubemu did not start"; cat "$WORK/stdout" "$WORK/stderr"; exit 1
fi
echo "# $(cat "$WORK/stdout")"

# ---- basics ---------------------------------------------------------------------------
expect "kubectl version"              'Server Version: v1\.33\.0' k version
expect "contexts from --cluster"      'test-cluster' k config get-contexts -o name
expect "context per cluster works"    'default +Active' k --context other-cluster get ns
expect "api-resources"                'deployments +deploy +apps/v1 +true +Deployment' k api-resources
expect "api-resources (crd)"          'customresourcedefinitions +crd,crds +apiextensions\.k8s\.io/v1 +false' k api-resources
expect "get ns"                       'kube-system +Active' k get ns
expect "create ns"                    'namespace/demo created' k create ns demo

# ---- client-side apply, then server-side apply conflicts ---------------------------
cat >"$WORK/cm.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata: {name: x, namespace: demo, labels: {app: x}}
data: {key: one, other: two}
---
apiVersion: v1
kind: Secret
metadata: {name: s1, namespace: demo}
stringData: {password: hunter2}
EOF
expect "apply (client-side)"          'configmap/x created' k apply -f "$WORK/cm.yaml"
expect "re-apply is unchanged"        'configmap/x unchanged' k apply -f "$WORK/cm.yaml"
expect "get cm -o yaml shows data"    'key: one' k get cm x -n demo -o yaml
expect "secret stringData folded"     '^aHVudGVyMg==$' k get secret s1 -n demo -o 'jsonpath={.data.password}'
sed 's/key: one/key: changed/' "$WORK/cm.yaml" | head -4 >"$WORK/cm-ssa.yaml"
expect_fail "ssa conflict names the manager" \
  'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using v1: \.data\.key' \
  k apply --server-side --field-manager other -f "$WORK/cm-ssa.yaml"
expect "value kept after conflict"    '^one$' k get cm x -n demo -o 'jsonpath={.data.key}'
expect "ssa --dry-run=server"         'serverside-applied \(server dry run\)' \
  k apply --server-side --field-manager other --force-conflicts --dry-run=server -f "$WORK/cm-ssa.yaml"
expect "dry run stored nothing"       '^one$' k get cm x -n demo -o 'jsonpath={.data.key}'
expect "ssa --force-conflicts"        'configmap/x serverside-applied' \
  k apply --server-side --field-manager other --force-conflicts -f "$WORK/cm-ssa.yaml"
expect "forced value stored"          '^changed$' k get cm x -n demo -o 'jsonpath={.data.key}'
expect "manager now owns the field"   'other:Apply' \
  k get cm x -n demo -o 'jsonpath={range .metadata.managedFields[*]}{.manager}:{.operation} {end}'

# ---- selectors -----------------------------------------------------------------------------
k create cm y -n demo --from-literal=a=b >/dev/null && k label cm y -n demo app=y >/dev/null
k create cm z -n demo --from-literal=a=b >/dev/null
expect "label selector ="             '^x$' k get cm -n demo -l app=x -o 'jsonpath={.items[*].metadata.name}'
expect "label selector in"            '^x y$' k get cm -n demo -l 'app in (x,y)' -o 'jsonpath={.items[*].metadata.name}'
expect "label selector !key"          '^z$' k get cm -n demo -l '!app' -o 'jsonpath={.items[*].metadata.name}'
expect "field selector"               '^x$' k get cm -n demo --field-selector metadata.name=x -o name -o 'jsonpath={.items[*].metadata.name}'
expect "get cm -A"                    'demo +x +2 ' k get cm -A
expect "get cm table"                 '^NAME +DATA +AGE' k get cm -n demo

# ---- patch, label, annotate, scale ---------------------------------------------------------------
expect "patch --type merge"           'patched' k patch cm z -n demo --type merge -p '{"data":{"m":"1"}}'
expect "patch --type json"            'patched' k patch cm z -n demo --type json -p '[{"op":"add","path":"/data/j","value":"2"}]'
expect "patched values"               '^1 2$' k get cm z -n demo -o 'jsonpath={.data.m} {.data.j}'
cat >"$WORK/deploy.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: demo}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: app, image: nginx:1, env: [{name: A, value: "1"}]}
      - {name: sidecar, image: busybox}
EOF
expect "apply deployment"             'deployment.apps/web created' k apply -f "$WORK/deploy.yaml"
expect "patch strategic (default)"    'patched' k patch deploy web -n demo \
  -p '{"spec":{"template":{"spec":{"containers":[{"name":"app","env":[{"name":"B","value":"2"}]}]}}}}'
expect "strategic merge kept lists"   '^app sidecar A B$' k get deploy web -n demo \
  -o 'jsonpath={.spec.template.spec.containers[*].name} {.spec.template.spec.containers[0].env[*].name}'
expect "label"                        'labeled' k label cm z -n demo tier=backend
expect "annotate"                     'annotated' k annotate cm z -n demo note=hello
expect "label and annotation stored"  '^backend hello$' k get cm z -n demo -o 'jsonpath={.metadata.labels.tier} {.metadata.annotations.note}'
expect "label removal"                'unlabeled' k label cm z -n demo tier-
expect "scale deploy"                 'scaled' k scale deploy web -n demo --replicas=3
expect "replicas and generation"      '^3 3$' k get deploy web -n demo -o 'jsonpath={.spec.replicas} {.metadata.generation}'
expect "deploy table"                 'web +[0-9]+s' k get deploy -n demo
(sleep 1; "$KUBECTL" label cm z -n demo watched=yes >/dev/null 2>&1) &
DELETER=$!
expect "get -w streams table rows"    'MODIFIED +z ' sh -c '"$0" get cm z -n demo -w --output-watch-events --request-timeout=3s; true' "$KUBECTL"
wait "$DELETER"

# ---- CRDs -------------------------------------------------------------------------------------------
cat >"$WORK/crd.yaml" <<'EOF'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wg]}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
    subresources: {status: {}}
EOF
cat >"$WORK/widget.yaml" <<'EOF'
apiVersion: example.com/v1
kind: Widget
metadata: {name: w1, namespace: demo, labels: {color: blue}}
spec: {size: 3}
EOF
expect "apply crd"                    'customresourcedefinition.apiextensions.k8s.io/widgets.example.com created' k apply -f "$WORK/crd.yaml"
expect "wait established"             'condition met' k wait --for condition=established --timeout=10s crd/widgets.example.com
expect "apply custom resource"        'widget.example.com/w1 created' k apply -f "$WORK/widget.yaml"
expect "list custom resources"        'w1' k get widgets -n demo
expect "short name and selector"      '^w1$' k get wg -n demo -l color=blue -o 'jsonpath={.items[*].metadata.name}'
expect "ssa on custom resource"       'serverside-applied' k apply --server-side -f "$WORK/widget.yaml"
expect "patch custom resource"        'patched' k patch widget w1 -n demo --type merge -p '{"spec":{"size":4}}'
expect "custom resource generation"   '^4 2$' k get widget w1 -n demo -o 'jsonpath={.spec.size} {.metadata.generation}'
expect "delete crd"                   'deleted' k delete crd widgets.example.com
expect_fail "custom resources gone"   'NotFound|could not find' k get --raw /apis/example.com/v1/namespaces/demo/widgets

# ---- waiting for deletion ---------------------------------------------------------------------------
(sleep 0.5; "$KUBECTL" delete cm y -n demo >/dev/null 2>&1) &
DELETER=$!
expect "wait --for=delete"            'condition met|deleted' k wait --for=delete cm/y -n demo --timeout=10s
wait "$DELETER"
k create ns gone >/dev/null
expect "delete ns --wait=false"       'deleted' k delete ns gone --wait=false
expect "namespace is Terminating"     'Terminating' k get ns gone
expect "wait --for=delete ns"         'condition met|deleted' k wait --for=delete ns/gone --timeout=10s
expect "delete ns demo --wait"        'namespace "demo" deleted' k delete ns demo --wait --timeout=20s
expect_fail "namespace demo gone"     'NotFound' k get ns demo
expect "contents gone with it"        '^$' k get cm -A --field-selector metadata.namespace=demo -o name

# ---- helm ---------------------------------------------------------------------------------------------
mkdir -p "$WORK/chart/templates"
cat >"$WORK/chart/Chart.yaml" <<'EOF'
apiVersion: v2
name: tiny
version: 0.1.0
EOF
echo 'x: default' >"$WORK/chart/values.yaml"
cat >"$WORK/chart/templates/cm.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-cfg
  labels: {app: tiny}
data:
  x: {{ .Values.x | quote }}
EOF
expect "helm install --create-namespace" 'STATUS: deployed' h install r1 "$WORK/chart" -n demo2 --create-namespace
expect "helm list -A"                 'r1[[:space:]]+demo2[[:space:]]+1[[:space:]].*deployed' h list -A
expect "chart object created"         '^default$' k get cm r1-cfg -n demo2 -o 'jsonpath={.data.x}'
expect "helm upgrade --set"           'has been upgraded' h upgrade r1 "$WORK/chart" -n demo2 --set x=y
expect "upgrade patched the object"   '^y$' k get cm r1-cfg -n demo2 -o 'jsonpath={.data.x}'
expect "helm history"                 '^2[[:space:]].*deployed[[:space:]]+tiny-0\.1\.0' h history r1 -n demo2
expect "helm get values"              '^x: "?y"?$' h get values r1 -n demo2
expect "release secrets (protobuf)"   '^sh\.helm\.release\.v1\.r1\.v1=helm\.sh/release\.v1,helm sh\.helm\.release\.v1\.r1\.v2=helm\.sh/release\.v1,helm $' \
  k get secret -n demo2 -o 'jsonpath={range .items[*]}{.metadata.name}={.type},{.metadata.labels.owner} {end}'
expect "superseded revision updated"  '^superseded$' k get secret sh.helm.release.v1.r1.v1 -n demo2 -o 'jsonpath={.metadata.labels.status}'
expect "helm uninstall"               'uninstalled' h uninstall r1 -n demo2
expect "release objects removed"      '^$' k get cm,secret -n demo2 -o name

# ---- raw API checks ------------------------------------------------------------------------------------
if "$PYTHON" "$HERE/test_ssa.py" "$SRV" >"$WORK/ssa.out" 2>&1; then
  ok "test_ssa.py ($(tail -1 "$WORK/ssa.out"))"
else
  bad "test_ssa.py" "$(grep -v '^ok' "$WORK/ssa.out")"
fi

# ---- request log and clean shutdown ---------------------------------------------------------------------
LOG=$SRV/requests.log
if grep -Eq '^POST /api/v1/namespaces/demo2/secrets(\?[^ ]*)? 201$' "$LOG" \
   && ! grep -Evq '^(GET|POST|PUT|PATCH|DELETE) /[^ ]* [0-9]{3}$' "$LOG"; then
  ok "request log ($(wc -l <"$LOG") lines)"
else
  bad "request log" "$(tail -5 "$LOG")"
fi
kill -TERM "$SERVER_PID"
for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
if ! kill -0 "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID"; then ok "exits cleanly on SIGTERM"; else bad "exits cleanly on SIGTERM" "$(tail -5 "$WORK/stderr")"; fi
SERVER_PID=
if [ -s "$WORK/stderr" ]; then bad "no server-side tracebacks" "$(cat "$WORK/stderr")"; else ok "no server-side tracebacks"; fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
