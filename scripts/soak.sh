#!/usr/bin/env bash
# The long runs of the reliability tests, beyond what the default suite
# runs: many more generated bad inputs, and the fault, kill and
# destroy-loop tests repeated. Usage: scripts/soak.sh [ROUNDS] (default 5).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/blueprint-target}"
rounds="${1:-5}"
scripts/setup.sh
BP_GENERATED_CASES="${BP_GENERATED_CASES:-100000}" \
    cargo test --locked --test integration generated -- --nocapture
for i in $(seq 1 "$rounds"); do
    echo "soak: round $i of $rounds"
    cargo test --locked --test integration -- \
        converges_under_faults killed_at_ten_points fifty_destroys concurrent a_second_apply
done
