#!/usr/bin/env bash
# Finding-for-finding comparison of `gatehouse check --rule untyped-function` with
# `ruff check --select ANN` (ANN401 aside) on a directory of Python code.
#
#   scripts/compare-ruff.sh DIR [--mypy-init-return] [--suppress-dummy-args]
#       [--suppress-none-returning] [--ignore-fully-untyped] [--ignore-noqa]
#
# Installs a pinned ruff from PyPI into a cached virtualenv, copies DIR into a temporary git
# repository (gatehouse checks repositories), runs both tools, and prints the findings only one
# side has as `path:line:column: CODE`, with counts. Exits 1 on any difference.
# --ignore-noqa makes ruff ignore `# noqa` comments, which gatehouse does not read.
# GATEHOUSE (default: target/release/gatehouse, built if missing) picks the binary.
set -euo pipefail

RUFF_VERSION=0.17.6
here=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:?usage: compare-ruff.sh DIR [--OPTION]... [--ignore-noqa]}
shift
options=()
ruff_flags=()
for arg in "$@"; do
    case $arg in
        --mypy-init-return | --suppress-dummy-args | --suppress-none-returning | --ignore-fully-untyped)
            options+=("${arg#--}")
            # An inline override: --isolated still keeps the project's own ruff settings out.
            ruff_flags+=(--config "lint.flake8-annotations.${arg#--} = true")
            ;;
        --ignore-noqa) ruff_flags+=(--ignore-noqa) ;;
        *) echo "unknown argument: $arg" >&2; exit 2 ;;
    esac
done

cache=${XDG_CACHE_HOME:-$HOME/.cache}/gatehouse-bench
venv=$cache/ruff-$RUFF_VERSION
if [[ ! -x $venv/bin/ruff ]]; then
    mkdir -p "$cache"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "ruff==$RUFF_VERSION"
fi
ruff=$venv/bin/ruff

gatehouse=${GATEHOUSE:-$here/target/release/gatehouse}
if [[ ! -x $gatehouse ]]; then
    (cd "$here" && cargo build --release --quiet)
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
repo=$work/repo
cp -r "$dir" "$repo"
rm -rf "$repo/.git"
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_SYSTEM=/dev/null
git -C "$repo" init --quiet --initial-branch=main
mkdir -p "$repo/.gatehouse"
if ((${#options[@]})); then
    table=$(printf '%s = true, ' "${options[@]}")
    printf '[rules.untyped-function]\noptions = { %s }\n' "${table%, }" >"$repo/.gatehouse/config.toml"
fi
git -C "$repo" add --all
git -C "$repo" -c user.name=compare -c user.email=compare@localhost -c commit.gpgsign=false -c gc.auto=0 -c maintenance.auto=false \
    commit --quiet --no-verify -m snapshot

# gatehouse also checks extensionless scripts with a python `#!` line; ruff checks a file of
# any name when it is named on the command line, so name those.
(cd "$repo" && git ls-files -z) | (cd "$repo" && python3 -c '
import os, sys
for path in sys.stdin.buffer.read().decode().split("\0"):
    if not path or "." in path.rsplit("/", 1)[-1]:
        continue
    with open(path, "rb") as f:
        head = f.readline()
    if not head.startswith(b"#!"):
        continue
    words = head[2:].decode(errors="replace").split()
    program = os.path.basename(words[0]) if words else ""
    if program == "env":
        program = next((w for w in words[1:] if not w.startswith("-")), "")
    if program.startswith("python"):
        print(path)
') >"$work/scripts.txt" || true
mapfile -t scripts <"$work/scripts.txt"

(cd "$repo" && "$ruff" check --isolated --select ANN --no-cache --output-format json \
    "${ruff_flags[@]}" . "${scripts[@]}" >"$work/ruff.json" 2>"$work/ruff.err" || true)
(cd "$repo" && "$gatehouse" check --scope all --rule untyped-function --format json \
    >"$work/gatehouse.json" 2>"$work/gatehouse.err" || true)

python3 - "$repo" "$work/ruff.json" "$work/gatehouse.json" <<'PY'
import json, os, sys
repo, ruff_path, gate_path = sys.argv[1:]
with open(ruff_path) as f:
    ruff = json.load(f)
with open(gate_path) as f:
    gate = json.load(f)["findings"]

def key(path, line, column, code):
    return (os.path.relpath(path, repo) if os.path.isabs(path) else path, line, column, code)

r = {key(d["filename"], d["location"]["row"], d["location"]["column"], d["code"])
     for d in ruff if d.get("code") and d["code"].startswith("ANN") and d["code"] != "ANN401"}
# ruff lints nothing in a file that does not parse; gatehouse still checks what parsed there
# (its `parse-error` rule reports the error), so such files are left out of the comparison.
broken = {key(d["filename"], 0, 0, "")[0] for d in ruff if d.get("code") in (None, "invalid-syntax")}
g = {key(d["path"], d["line"], d["column"], d["code"]) for d in gate
     if d["rule"] == "untyped-function" and d["path"] not in broken}
only_r, only_g = sorted(r - g), sorted(g - r)
for label, items in (("only ruff", only_r), ("only gatehouse", only_g)):
    for path, line, column, code in items:
        print(f"{label}: {path}:{line}:{column}: {code}")
syntax = sum(1 for d in ruff if d.get("code") in (None, "invalid-syntax"))
print(f"ruff: {len(r)} findings ({syntax} syntax errors), gatehouse: {len(g)} findings, "
      f"only ruff: {len(only_r)}, only gatehouse: {len(only_g)}")
sys.exit(1 if only_r or only_g else 0)
PY
