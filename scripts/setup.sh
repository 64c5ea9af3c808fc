#!/usr/bin/env bash
# Installs what Blueprint's tests and demo need, idempotently: the age
# command-line tool (Debian) and a project-local Python venv with the pinned
# AWS emulator (moto), whose dependencies include the `cryptography` package
# used by the independent sops check.
set -euo pipefail
cd "$(dirname "$0")/.."

# The age command-line tool, for the interoperability tests of bp secrets.
if ! command -v age >/dev/null 2>&1; then
    echo "setup: installing age (Debian package)" >&2
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq age >/dev/null
fi

MOTO_VERSION=5.2.5
if ! .venv/bin/python -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
    echo "setup: creating .venv with moto[server]==$MOTO_VERSION" >&2
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
fi

# The original sops (1.18, the Python implementation of the same file
# format), in its own venv, for the interoperability tests of bp secrets.
if ! .venv-sops/bin/sops --version 2>/dev/null | grep -q "sops 1.18"; then
    echo "setup: creating .venv-sops with sops==1.18" >&2
    python3 -m venv .venv-sops
    .venv-sops/bin/pip install --quiet --disable-pip-version-check "sops==1.18" "ruamel.yaml<0.17"
fi
