#!/usr/bin/env bash
# Benchmark of request pacing: applies a generated blueprint (a VPC with
# SUBNETS subnets and GROUPS security groups with a rule each, a cluster
# with NODE_GROUPS node groups) through tests/support/faultproxy.py in its
# bucket mode (throttling as AWS's request-rate buckets do), paced by the
# same buckets (BP_PACE=aws), and prints the time, the throttles met, and
# the floor the buckets allow: for each bucket, the requests beyond its
# burst at its rate; the slowest bucket's is the floor.
#
#     scripts/bench-paced.sh [SUBNETS GROUPS NODE_GROUPS]   (default 400 300 100)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/blueprint-target}"
subnets=${1:-400} groups=${2:-300} node_groups=${3:-100}

scripts/setup.sh
cargo build --locked --bin bp
BP="$CARGO_TARGET_DIR/debug/bp"
work=$(mktemp -d)
free_port() { .venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
moto_port=$(free_port)
MOTO_IAM_LOAD_MANAGED_POLICIES=true .venv/bin/python tests/support/awsemu/awsemu.py -H 127.0.0.1 -p "$moto_port" >/dev/null 2>&1 &
moto=$!
proxy_port=$(free_port)
.venv/bin/python tests/support/faultproxy.py --port "$proxy_port" --upstream "http://127.0.0.1:$moto_port" \
    --rate 0 --buckets 1 --log "$work/log" >"$work/proxy.out" 2>&1 &
proxy=$!
trap 'kill $moto $proxy 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
    (echo > "/dev/tcp/127.0.0.1/$moto_port") 2>/dev/null && [ -s "$work/proxy.out" ] && break
    sleep 0.1
done

.venv/bin/python scripts/bench_blueprint.py "$work/bench.rhai" paced "$subnets" "$groups" "$node_groups"

export AWS_ENDPOINT_URL="http://127.0.0.1:$proxy_port" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
"$BP" check "$work/bench.rhai" | tail -1
start=$(date +%s.%N)
BP_PACE=aws "$BP" apply "$work/bench.rhai" --auto-approve >"$work/apply.out" 2>&1 || { tail -20 "$work/apply.out"; exit 1; }
end=$(date +%s.%N)
tail -1 "$work/apply.out"
.venv/bin/python - "$work/log" "$start" "$end" <<'PY'
import collections, sys
sys.path.insert(0, "tests/support")
from faultproxy import limit
log, start, end = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
counts, throttled = collections.Counter(), 0
for line in open(log):
    parts = line.split()
    if parts[-1] == "throttle":
        throttled += 1
    elif parts[-2] == "pass":
        counts[(parts[0], parts[-1])] += 1
floors = {k: max(0, n - limit(*k)[0]) / limit(*k)[1] for k, n in counts.items()}
slowest = max(floors, key=floors.get)
took = end - start
print(f"apply through AWS's buckets: {took:.1f} s, {sum(counts.values())} requests, {throttled} throttled")
print(f"floor: {floors[slowest]:.1f} s ({counts[slowest]} {slowest[0]} {slowest[1]} requests, "
      f"{limit(*slowest)[0]} at once then {limit(*slowest)[1]} a second); "
      f"time / floor = {took / floors[slowest]:.2f}" if floors[slowest] else "floor: 0 s")
PY
