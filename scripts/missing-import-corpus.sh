#!/usr/bin/env bash
# Zero-false-positive and planted-fault check of `missing-import` on real projects.
#
#   scripts/missing-import-corpus.sh [--keep] [--only python|rust]
#
# Downloads release sources from PyPI (sdists) and crates.io (.crate files) at run time into
# target/missing-import-corpus/ (never committed; downloads are reused), makes each project a
# git repository and runs
#   gatehouse check --scope all --rule missing-import --format json
# on it: these projects build and pass their tests, so every finding there is a false positive.
# The Rust workspaces are rebuilt as their repositories lay them out, from each crate's
# Cargo.toml.orig (ripgrep: a `[[bin]] path`, `autotests = false`, `[[test]] path`, nine
# members; tokio, clap and serde: `workspace = true` inheritance, `[lib] path` and `#[path]`
# modules); the published crates (normalized manifests with explicit targets) are checked too.
# Then it plants the faults agents make, one at a time, each in a commit on top of the pristine
# tree, and requires each to be caught (see `plant` calls below for the classes). It exits 1 on
# any false positive or missed fault. GATEHOUSE: the binary (default: the newer of
# target/release/gatehouse and target/debug/gatehouse).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
gh=${GATEHOUSE:-}
if [ -z "$gh" ]; then
    # The newer of the release and debug builds.
    gh=$here/target/debug/gatehouse
    if [ -x "$here/target/release/gatehouse" ] && [ "$here/target/release/gatehouse" -nt "$gh" ]; then
        gh=$here/target/release/gatehouse
    fi
fi
gh=$(cd "$(dirname "$gh")" && pwd)/$(basename "$gh")
keep=0 only=
while [ $# -gt 0 ]; do
    case $1 in
        --keep) keep=1 ;;
        --only) only=$2; shift ;;
        *) echo "usage: $0 [--keep] [--only python|rust]" >&2; exit 2 ;;
    esac
    shift
done
base=$here/target/missing-import-corpus
dl=$base/downloads
work=$base/run.$$
mkdir -p "$dl" "$work"
[ "$keep" = 1 ] && echo "work dir: $work" || trap 'rm -rf "$work"' EXIT
# A copy: others building the same tree must not swap the binary under a run.
cp "$gh" "$work/gatehouse" && gh=$work/gatehouse
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_SYSTEM=/dev/null HOME=$work
export GIT_AUTHOR_NAME=corpus GIT_AUTHOR_EMAIL=c@example.com GIT_COMMITTER_NAME=corpus GIT_COMMITTER_EMAIL=c@example.com

fail=0 caught=0 missed=0
commit_all() { git -C "$1" add -A >/dev/null && git -C "$1" commit -qm "$2" >/dev/null; }

# Runs the check in $1; prints "BLOCKING ALL" counts and, with $2, every finding.
findings() {
    (cd "$1" && "$gh" check --scope all --rule missing-import --format json --no-cache >"$work/out.json" 2>"$work/err.txt") || true
    python3 - "$work/out.json" "${2:-}" <<'PY'
import json, sys
try:
    data = json.load(open(sys.argv[1]))
except Exception:
    print("error error"); sys.exit(0)
fs = data["findings"]
print(sum(1 for f in fs if f["level"] != "warn"), len(fs))
if sys.argv[2]:
    for f in fs:
        print(f"    {f['level']:6} {f['path']}:{f['line']}:{f['column']} {f['code']} {f['message']}", file=sys.stderr)
PY
}

# The findings of the last commit of $1 only (what a push of it would be told), as JSON lines.
push_findings() {
    (cd "$1" && "$gh" check --range HEAD~1..HEAD --rule missing-import --format json --no-cache >"$work/out.json" 2>"$work/err.txt") || true
    python3 - "$work/out.json" <<'PY'
import json, sys
try:
    data = json.load(open(sys.argv[1]))
except Exception:
    print("error"); sys.exit(0)
for f in data["findings"]:
    print(f"{f['level']} {f['code']} {f['path']}:{f['line']} {f['message']}")
PY
}

# plant REPO FILE CODE LABEL TEXT: appends TEXT to FILE (creating it) in a commit, requires a
# finding of CODE in FILE for that commit, then drops the commit.
plant() {
    local repo=$1 file=$2 code=$3 label=$4 text=$5
    mkdir -p "$(dirname "$repo/$file")"
    printf '\n%s\n' "$text" >>"$repo/$file"
    commit_all "$repo" "plant"
    local out
    out=$(push_findings "$repo")
    git -C "$repo" reset -q --hard HEAD~1
    git -C "$repo" clean -qfd
    if printf '%s\n' "$out" | grep -q " $code $file:"; then
        caught=$((caught + 1))
        printf '  caught  %-16s %-44s %s\n' "$code" "$label" "$(printf '%s' "$text" | head -1 | cut -c1-60)"
    else
        missed=$((missed + 1)); fail=1
        printf '  MISSED  %-16s %-44s %s\n' "$code" "$label" "$(printf '%s' "$text" | head -1 | cut -c1-60)"
        printf '%s\n' "$out" | sed 's/^/      /'
    fi
}

# plant_edit REPO FILE CODE LABEL PYTHON: runs the Python statements PYTHON in REPO (the
# helpers `sub(path, old, new)` and `add(path, text)` edit files), commits, and requires a
# finding of CODE in FILE for that commit.
plant_edit() {
    local repo=$1 file=$2 code=$3 label=$4 script=$5
    (cd "$repo" && python3 -c "
def sub(path, old, new):
    text = open(path).read()
    assert old in text, (path, old)
    open(path, 'w').write(text.replace(old, new, 1))
def add(path, text):
    open(path, 'a').write('\n' + text + '\n')
$script")
    commit_all "$repo" "plant"
    local out
    out=$(push_findings "$repo")
    git -C "$repo" reset -q --hard HEAD~1
    git -C "$repo" clean -qfd
    if printf '%s\n' "$out" | grep -q " $code $file:"; then
        caught=$((caught + 1))
        printf '  caught  %-16s %s\n' "$code" "$label"
    else
        missed=$((missed + 1)); fail=1
        printf '  MISSED  %-16s %s\n' "$code" "$label"
        printf '%s\n' "$out" | sed 's/^/      /'
    fi
}

# pristine LABEL REPO: requires zero findings (any level) on the whole tree, or KNOWN ones.
pristine() {
    local label=$1 repo=$2 want_block=${3:-0} lang=${4:-rs}
    local files start counts ms
    files=$(git -C "$repo" ls-files "*.$lang" | wc -l)
    start=$(date +%s%N)
    counts=$(findings "$repo" show)
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    set -- $counts
    printf '  %-26s %5s .%s files  %3s blocking  %3s total  (%s known)  %6s ms\n' "$label" "$files" "$lang" "$1" "$2" "$want_block" "$ms"
    if [ "$lang" = rs ]; then [ "$2" = "$want_block" ] || fail=1; else [ "$1" = "$want_block" ] || fail=1; fi
}

. "$here/scripts/missing-import-corpus-rust.sh"
. "$here/scripts/missing-import-corpus-python.sh"

if [ "$only" != python ]; then rust_corpus; fi
if [ "$only" != rust ]; then python_corpus; fi

echo "planted faults: $caught caught, $missed missed"
[ "$fail" = 0 ] && echo "OK: no false positives, every planted fault caught" || echo "FAILED"
exit "$fail"
