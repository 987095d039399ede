#!/bin/sh
# Installs the hook managers the integration tests run gatehouse beside, at pinned versions,
# from their registries, into target/hook-managers/ (idempotent; a second run only checks):
#   venv/bin/pre-commit, venv/bin/prek        (PyPI, in a virtualenv)
#   npm/node_modules/.bin/husky, …/lefthook   (npm)
# Needs python3 (with venv) and npm. --ignore-scripts: lefthook's postinstall would install its
# hooks into the repository around target/ (this one).
set -eu

PRE_COMMIT_VERSION=4.7.0
PREK_VERSION=0.5.11
HUSKY_VERSION=9.1.7
LEFTHOOK_VERSION=2.2.4

here=$(cd "$(dirname "$0")/.." && pwd)
dest=${HOOK_MANAGERS_DIR:-$here/target/hook-managers}
mkdir -p "$dest"
cd "$dest"

if ! venv/bin/pre-commit --version 2>/dev/null | grep -qx "pre-commit $PRE_COMMIT_VERSION" ||
    ! venv/bin/prek --version 2>/dev/null | grep -q "^prek $PREK_VERSION"; then
    python3 -m venv venv
    venv/bin/pip install -q --disable-pip-version-check \
        "pre-commit==$PRE_COMMIT_VERSION" "prek==$PREK_VERSION"
fi

if [ ! -x npm/node_modules/.bin/husky ] || [ ! -x npm/node_modules/.bin/lefthook ] ||
    ! grep -q "\"version\": \"$HUSKY_VERSION\"" npm/node_modules/husky/package.json ||
    [ "$(npm/node_modules/.bin/lefthook version 2>/dev/null)" != "$LEFTHOOK_VERSION" ]; then
    mkdir -p npm
    [ -f npm/package.json ] || echo '{ "name": "gatehouse-hook-managers", "private": true }' >npm/package.json
    (cd npm && npm install --no-audit --no-fund --silent --ignore-scripts \
        "husky@$HUSKY_VERSION" "lefthook@$LEFTHOOK_VERSION")
fi

venv/bin/pre-commit --version
venv/bin/prek --version
echo "husky $HUSKY_VERSION, lefthook $(npm/node_modules/.bin/lefthook version)"
