#!/usr/bin/env bash
# Installs what Blueprint's tests and demo need, idempotently:
# a project-local Python venv with the pinned AWS emulator (moto).
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION=5.2.5
if ! .venv/bin/python -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
    echo "setup: creating .venv with moto[server]==$MOTO_VERSION" >&2
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
fi
