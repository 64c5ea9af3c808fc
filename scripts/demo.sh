#!/usr/bin/env bash
# The main job: build bp, start a local AWS emulator, the project's
# Kubernetes API emulator and a chart repository of stand-ins for the charts
# the seed installs, apply the PMS seed blueprint (prod: AWS, in-cluster
# objects and Helm releases) to them, then show that a second plan has
# nothing to do.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/blueprint-target}"

scripts/setup.sh
cargo build --locked --bin bp
BP="$CARGO_TARGET_DIR/debug/bp"

port=$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
MOTO_IAM_LOAD_MANAGED_POLICIES=true .venv/bin/python tests/support/awsemu/awsemu.py -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
moto=$!
kube_dir=$(mktemp -d)
.venv-kube/bin/python tests/support/kubemu/kubemu.py --dir "$kube_dir" --cluster pms-prod >"$kube_dir/out" 2>&1 &
kube=$!
.venv-kube/bin/python tests/support/chart_repo.py --helm .tools/helm --dir "$kube_dir/charts" \
    cluster-autoscaler@9.37.0 prometheus@25.27.0 grafana@8.5.1 velero@7.2.1 >"$kube_dir/charts.out" 2>&1 &
charts=$!
trap 'kill $moto $kube $charts 2>/dev/null || true; rm -rf "$kube_dir"' EXIT
for _ in $(seq 1 100); do
    (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && [ -s "$kube_dir/kubeconfig" ] && [ -s "$kube_dir/charts.out" ] && break
    sleep 0.1
done

export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
# The demo age identity opens the seed's secrets file (demo values only).
export SOPS_AGE_KEY_FILE=blueprints/secrets/demo.agekey
echo "== local AWS emulator (moto) at $AWS_ENDPOINT_URL"
echo "== local Kubernetes API emulator: $(head -1 "$kube_dir/out")"
echo "== stand-in $(head -1 "$kube_dir/charts.out")"
chart_repo=$(head -1 "$kube_dir/charts.out" | sed 's/^chart repository at //')
echo
echo "== bp apply blueprints/pms.rhai --var env=prod --auto-approve"
"$BP" apply blueprints/pms.rhai --var env=prod --auto-approve -v --kubeconfig "$kube_dir/kubeconfig" --helm .tools/helm --var chart_repo="$chart_repo"
echo
echo "== bp plan blueprints/pms.rhai --var env=prod --detailed-exitcode"
"$BP" plan blueprints/pms.rhai --var env=prod --detailed-exitcode -v --kubeconfig "$kube_dir/kubeconfig" --helm .tools/helm --var chart_repo="$chart_repo"
