#!/usr/bin/env bash
# The main job: build bp and run it on the PMS seed blueprint (prod).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/blueprint-target}"

scripts/setup.sh
cargo build --locked --bin bp
BP="$CARGO_TARGET_DIR/debug/bp"

echo "== bp check blueprints/pms.rhai --var env=prod"
"$BP" check blueprints/pms.rhai --var env=prod
echo
echo "== bp graph blueprints/pms.rhai --var env=prod --format mermaid"
"$BP" graph blueprints/pms.rhai --var env=prod --format mermaid
