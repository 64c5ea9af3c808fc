#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit and integration tests.
# Builds into $CARGO_TARGET_DIR (default ~/.cache/blueprint-target) so that
# the large AWS SDK crates are built once and reused across clones.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/blueprint-target}"
export CARGO_TERM_COLOR=never

scripts/setup.sh
cargo fmt --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked
