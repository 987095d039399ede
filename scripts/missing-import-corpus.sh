#!/usr/bin/env bash
# Zero-false-positive and planted-fault check of `missing-import` on real projects.
#
#   scripts/missing-import-corpus.sh [--keep]
#
# Downloads real Python sdists from PyPI and real crates from crates.io at run time (nothing is
# committed), makes each a git repository, and runs
#   gatehouse check --scope all --rule missing-import --format json
# on it: every finding there is a false positive (these projects build and pass their tests).
# Then it plants faults an agent makes into copies (a hallucinated package, a real but
# undeclared one, a near-miss of a declared name, a missing first-party submodule, a renamed
# first-party function, a bad relative import; in Rust a hallucinated crate, a crate only
# another workspace member declares, a missing `crate::` module, a missing `super::` sibling,
# an unknown `extern crate`) and requires each to be caught. It exits 1 on any false positive
# or missed fault. GATEHOUSE (default: target/release/gatehouse, else target/debug/gatehouse).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
gh=${GATEHOUSE:-}
if [ -z "$gh" ]; then
    if [ -x "$here/target/release/gatehouse" ]; then gh=$here/target/release/gatehouse; else gh=$here/target/debug/gatehouse; fi
fi
work=$(mktemp -d)
[ "${1:-}" = --keep ] && echo "work dir: $work" || trap 'rm -rf "$work"' EXIT
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_SYSTEM=/dev/null
export GIT_AUTHOR_NAME=corpus GIT_AUTHOR_EMAIL=c@example.com GIT_COMMITTER_NAME=corpus GIT_COMMITTER_EMAIL=c@example.com

PYTHON_PROJECTS="sympy==1.14.0 flask==3.1.3 httpx==0.28.1 rich==15.0.0 black==26.10.1 attrs==26.1.0 requests==2.34.2 pydantic==2.14.4"

# The configuration each project gets, as its maintainers would write it. Every project runs with
# guarded-level = "warn" (optional imports inside `try/except ImportError` are reported, not
# blocking). Beyond that, what an sdist lacks or the project does not declare:
python_config() {
    case $1 in
        # Optional dependencies sympy imports but declares nowhere (its docs list them), and its
        # doc/ requirements, which the sdist does not ship; `all` is examples/all.py, put on
        # sys.path by runtests. One true finding stays: an XFAIL test imports
        # sympy.plotting.plot.ScreenShot, which does not exist.
        sympy) echo 'exclude = ["doc/"]
options = { guarded-level = "warn", allow = ["gmpy2", "flint", "IPython", "pyglet", "aesara", "theano", "antlr4", "Cython", "symengine", "matchpy", "pysat", "pycosat", "pymc3", "pymc", "sage", "pydy", "lxml", "PIL", "multiset", "all"] }' ;;
        # docs/ requirements are not in the sdist; the tests import modules they write at run time.
        flask) echo 'exclude = ["docs/"]
options = { guarded-level = "warn", allow = ["config_module_app", "config_package_app", "installed_package", "namespace", "site_app", "site_package"] }' ;;
        # Test requirements live in the repository's requirements.txt, not in the sdist; trio is
        # optional (imported under TYPE_CHECKING and when running under trio).
        httpx) echo 'exclude = ["tests/"]
options = { guarded-level = "warn", allow = ["trio"] }' ;;
        # IPython arrives with the `jupyter` extra's ipywidgets.
        rich) echo 'options = { guarded-level = "warn", allow = ["IPython"] }' ;;
        # tests/data holds formatter inputs, not code.
        black) echo 'exclude = ["tests/data/"]
options = { guarded-level = "warn" }' ;;
        # simplejson is used when the guarded import found it.
        requests) echo 'options = { guarded-level = "warn", allow = ["simplejson"] }' ;;
        # tests/mypy holds mypy plugin inputs; optional packages of tests and plugins.
        pydantic) echo 'exclude = ["tests/mypy/"]
options = { guarded-level = "warn", allow = ["hypothesis", "rich", "numpy", "matplotlib", "tqdm", "module_1"] }' ;;
        *) echo 'options = { guarded-level = "warn" }' ;;
    esac
}
# True findings the projects carry (see python_config).
expected_findings() { case $1 in sympy) echo 1 ;; *) echo 0 ;; esac; }
CRATES="tokio@1.48.0 serde@1.0.228 clap_builder@4.5.51 rusqlite@0.37.0 rayon@1.11.0 git2@0.20.2"

fail=0
commit_all() { git -C "$1" add -A >/dev/null && git -C "$1" commit -qm "$2" >/dev/null; }

# Runs the check in $1; prints the number of blocking findings and, with $2, every finding.
findings() {
    (cd "$1" && "$gh" check --scope all --rule missing-import --format json --no-cache >"$work/out.json" 2>"$work/err.txt") || true
    python3 - "$work/out.json" "${2:-}" <<'PY'
import json, sys
try:
    data = json.load(open(sys.argv[1]))
except Exception:
    print("error"); sys.exit(0)
fs = data["findings"]
print(sum(1 for f in fs if f["level"] != "warn"))
if sys.argv[2]:
    for f in fs:
        print(f"    {f['level']:5} {f['path']}:{f['line']}:{f['column']} {f['code']} {f['message']}", file=sys.stderr)
PY
}

python_repo() {
    local spec=$1 name=${1%%==*} version=${1##*==}
    local dest=$work/py/$name
    mkdir -p "$work/dl" "$work/py"
    python3 -m pip download -q --no-deps --no-binary :all: "$spec" -d "$work/dl" >/dev/null 2>&1 \
        || { echo "  $spec: download failed" >&2; return 1; }
    local archive
    archive=$(ls "$work/dl" | grep -i "^${name}-${version}\.\(tar\.gz\|zip\)$" | head -1)
    mkdir -p "$dest" && tar -xzf "$work/dl/$archive" -C "$dest" --strip-components=1
    mkdir -p "$dest/.gatehouse"
    printf '[rules.missing-import]\n%s\n' "$(python_config "$name")" >"$dest/.gatehouse/config.toml"
    git -C "$dest" init -q -b main && commit_all "$dest" "import $spec"
    echo "$dest"
}

crate_repo() {
    local spec=$1 name=${1%%@*} version=${1##*@}
    local dest=$work/rs/$name
    mkdir -p "$work/rs" "$dest"
    curl -sSfL "https://static.crates.io/crates/$name/$name-$version.crate" | tar -xz -C "$dest" --strip-components=1 \
        || { echo "  $spec: download failed" >&2; return 1; }
    git -C "$dest" init -q -b main && commit_all "$dest" "import $spec"
    echo "$dest"
}

# plant REPO FILE LINE: appends LINE to FILE, expects at least one more finding, then reverts.
plant() {
    local repo=$1 file=$2 line=$3 label=$4
    local before after
    before=$(findings "$repo")
    printf '\n%s\n' "$line" >>"$repo/$file"
    commit_all "$repo" "plant"
    after=$(findings "$repo")
    git -C "$repo" reset -q --hard HEAD~1
    if [ "$after" -gt "$before" ] 2>/dev/null; then
        printf '  caught   %-34s %s\n' "$label" "$line"
    else
        printf '  MISSED   %-34s %s\n' "$label" "$line"; fail=1
    fi
}

echo "== Python: zero findings on real projects (scope all)"
for spec in $PYTHON_PROJECTS; do
    repo=$(python_repo "$spec") || { fail=1; continue; }
    files=$(git -C "$repo" ls-files '*.py' | wc -l)
    start=$(date +%s%N)
    n=$(findings "$repo" show)
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    want=$(expected_findings "${spec%%==*}")
    printf '  %-22s %5s .py files  %4s blocking findings (%s known)  %6s ms\n' "$spec" "$files" "$n" "$want" "$ms"
    [ "$n" = "$want" ] || fail=1
done

echo "== Python: planted faults"
flask=$work/py/flask
if [ -d "$flask" ]; then
    plant "$flask" src/flask/app.py "import fastjsonx" "hallucinated package"
    plant "$flask" src/flask/app.py "import numpy" "real but undeclared package"
    plant "$flask" src/flask/app.py "import werkzueg" "near-miss of a declared name"
    plant "$flask" src/flask/app.py "import flask.sansio_helpers" "missing first-party submodule"
    plant "$flask" src/flask/app.py "from flask.helpers import get_debug_flags, url_for_static" "renamed first-party function"
    plant "$flask" src/flask/app.py "from .sansio.nope import Scaffold" "bad relative import"
    plant "$flask" src/flask/app.py "from ..flask_extras import thing" "relative import above the package"
fi

echo "== Rust: zero findings on real crates (scope all)"
for spec in $CRATES; do
    repo=$(crate_repo "$spec") || { fail=1; continue; }
    files=$(git -C "$repo" ls-files '*.rs' | wc -l)
    n=$(findings "$repo" show)
    printf '  %-22s %5s .rs files  %4s findings\n' "$spec" "$files" "$n"
    [ "$n" = 0 ] || fail=1
done

echo "== Rust: planted faults"
git2=$work/rs/git2
if [ -d "$git2" ]; then
    plant "$git2" src/lib.rs "use fancy_utils::helper;" "hallucinated crate"
    plant "$git2" src/lib.rs "pub fn planted() { tempdir_helper::make(); }" "hallucinated crate in an expression"
    plant "$git2" src/lib.rs "use crate::nope::Thing;" "missing crate:: module"
    plant "$git2" src/util.rs "use super::nope_sibling::Thing;" "missing super:: sibling"
    plant "$git2" src/lib.rs "extern crate nonexistent_crate;" "unknown extern crate"
    plant "$git2" src/lib.rs "use tempfile::TempDir;" "dev-dependency in library code"
fi
ws=$work/rs/workspace
mkdir -p "$ws/crates/a/src" "$ws/crates/b/src"
cat >"$ws/Cargo.toml" <<'TOML'
[workspace]
members = ["crates/*"]
[workspace.dependencies]
serde = "1"
TOML
printf '[package]\nname = "a"\nversion = "0.1.0"\nedition = "2021"\n[dependencies]\nserde = { workspace = true }\n' >"$ws/crates/a/Cargo.toml"
printf '[package]\nname = "b"\nversion = "0.1.0"\nedition = "2021"\n[dependencies]\nregex = "1"\n' >"$ws/crates/b/Cargo.toml"
printf 'use serde::Serialize;\npub fn f() {}\n' >"$ws/crates/a/src/lib.rs"
printf 'use regex::Regex;\npub fn g() {}\n' >"$ws/crates/b/src/lib.rs"
git -C "$ws" init -q -b main && commit_all "$ws" "workspace"
n=$(findings "$ws" show)
printf '  %-22s %4s findings\n' "workspace (2 members)" "$n"
[ "$n" = 0 ] || fail=1
plant "$ws" crates/a/src/lib.rs "use regex::Regex as R;" "crate of another member only"

[ "$fail" = 0 ] && echo "OK: no false positives, every planted fault caught" || echo "FAILED"
exit "$fail"
