#!/usr/bin/env bash
# The main job: build bp, start a local AWS emulator, apply the PMS seed
# blueprint (prod) to it, then show that a second plan has nothing to do.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/blueprint-target}"

scripts/setup.sh
cargo build --locked --bin bp
BP="$CARGO_TARGET_DIR/debug/bp"

port=$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
MOTO_IAM_LOAD_MANAGED_POLICIES=true .venv/bin/moto_server -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
moto=$!
trap 'kill $moto 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
    (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done

export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
echo "== local AWS emulator (moto) at $AWS_ENDPOINT_URL"
echo
echo "== bp apply blueprints/pms.rhai --var env=prod --auto-approve"
"$BP" apply blueprints/pms.rhai --var env=prod --auto-approve -v
echo
echo "== bp plan blueprints/pms.rhai --var env=prod --detailed-exitcode"
"$BP" plan blueprints/pms.rhai --var env=prod --detailed-exitcode -v
