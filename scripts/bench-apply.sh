#!/usr/bin/env bash
# Benchmark of an apply from empty against the local AWS emulator: a
# generated blueprint (a VPC with SUBNETS subnets, all in its private
# route table, GROUPS security groups with a rule each, a cluster with
# NODE_GROUPS node groups), applied with PARALLELISM changes at once.
# Prints the wall time, the AWS requests, and the slowest operations, to
# find what holds an apply up.
#
#     scripts/bench-apply.sh [SUBNETS GROUPS NODE_GROUPS PARALLELISM]   (default 200 200 100 10)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/blueprint-target}"
subnets=${1:-200} groups=${2:-200} node_groups=${3:-100} parallelism=${4:-10}

scripts/setup.sh
cargo build --locked --bin bp
BP="$CARGO_TARGET_DIR/debug/bp"
work=$(mktemp -d)
port=$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
MOTO_IAM_LOAD_MANAGED_POLICIES=true .venv/bin/python tests/support/awsemu/awsemu.py -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
moto=$!
trap 'kill $moto 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
    (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done

.venv/bin/python scripts/bench_blueprint.py "$work/bench.rhai" bench-apply "$subnets" "$groups" "$node_groups"

export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
start=$(date +%s.%N)
"$BP" apply "$work/bench.rhai" --auto-approve --parallelism "$parallelism" -v >"$work/apply.out" 2>&1 || { tail -20 "$work/apply.out"; exit 1; }
end=$(date +%s.%N)
grep -E "^Apply complete|^applied in" "$work/apply.out"
python3 - "$work/apply.out" "$start" "$end" "$parallelism" <<'PY'
import re, sys
out, start, end, parallelism = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
ops = []
for line in open(out):
    m = re.match(r"[-+~]+ (\S+): (?:created|updated|deleted).* after ([0-9.]+)s", line)
    if m:
        ops.append((float(m.group(2)), m.group(1)))
ops.sort(reverse=True)
print(f"apply wall: {end - start:.1f} s with --parallelism {parallelism}; the slowest operations:")
for took, address in ops[:5]:
    print(f"  {took:5.1f} s  {address}")
PY
