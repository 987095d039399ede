#!/usr/bin/env bash
# `gatehouse check` against ruff and git, on sympy from PyPI (or DIR), in one alternating run.
#
#   scripts/bench-check.sh [DIR] [RUNS]
#
# Builds the release binary, copies the code into a temporary git repository (committed and
# packed, as after a clone), then times in alternation, RUNS times (default 7):
#
#   ruff      ruff 0.17.6 `check --select ANN --no-cache` (a pinned virtualenv)
#   cold      `gatehouse check --scope all --rule untyped-function`, cache directory removed first
#   warm      the same, the cache filled by the cold run
#   floor     `--rule parse-error --no-cache`: reading, parsing and inspecting every file, no
#             other check; what the cold check costs above it is the checks and the cache
#   alone     `--rule untyped-function --no-cache`, and `both` with `--rule missing-import` too
#
# and then, RUNS * 5 times, the everyday push after a one-file commit, cache warm:
#
#   range     `gatehouse check --range HEAD~1..HEAD` (the configured rules, human output)
#   git       `git diff --stat HEAD~1..HEAD` of the same commit
#
# Every command writes to /dev/null. Prints medians of wall time and of CPU time (user + sys,
# steadier when the machine is busy) and the ratios, with the machine's load. sympy and ruff are
# downloaded once into target/bench/ (never committed).
set -euo pipefail

RUFF_VERSION=0.17.6
SYMPY_VERSION=1.14.0
here=$(cd "$(dirname "$0")/.." && pwd)
cache=$here/target/bench
runs=${2:-7}

venv=$cache/ruff-$RUFF_VERSION
if [[ ! -x $venv/bin/ruff ]]; then
    mkdir -p "$cache"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "ruff==$RUFF_VERSION"
fi
dir=${1:-}
if [[ -z $dir ]]; then
    dir=$cache/sympy-$SYMPY_VERSION
    if [[ ! -d $dir ]]; then
        "$venv/bin/pip" download --quiet --no-deps --no-binary :all: "sympy==$SYMPY_VERSION" -d "$cache"
        tar -xzf "$cache/sympy-$SYMPY_VERSION.tar.gz" -C "$cache"
    fi
fi

(cd "$here" && cargo build --release --locked --quiet)
gatehouse=${CARGO_TARGET_DIR:-$here/target}/release/gatehouse

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
repo=$work/repo
cp -r "$dir" "$repo"
rm -rf "$repo/.git"
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_SYSTEM=/dev/null
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@localhost
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@localhost
git -C "$repo" init --quiet --initial-branch=main
git -C "$repo" config gc.auto 0
git -C "$repo" config maintenance.auto false
git -C "$repo" add --all
git -C "$repo" commit --quiet --no-verify -m snapshot
git -C "$repo" gc --quiet

python3 - "$repo" "$venv/bin/ruff" "$gatehouse" "$runs" <<'PY'
import os, resource, shutil, statistics, subprocess, sys, time
repo, ruff, gatehouse, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
cache_dir = os.path.join(repo, ".git", "gatehouse", "cache")
check = [gatehouse, "check", "--scope", "all", "--format", "json"]
cmds = {
    "ruff": [ruff, "check", "--isolated", "--select", "ANN", "--no-cache", "--output-format", "json", "."],
    "cold": check + ["--rule", "untyped-function"],
    "warm": check + ["--rule", "untyped-function"],
    "floor": check + ["--rule", "parse-error", "--no-cache"],
    "alone": check + ["--rule", "untyped-function", "--no-cache"],
    "both": check + ["--rule", "untyped-function", "--rule", "missing-import", "--no-cache"],
    "range": [gatehouse, "check", "--range", "HEAD~1..HEAD"],
    "git": ["git", "diff", "--stat", "HEAD~1..HEAD"],
}
wall = {k: [] for k in cmds}
cpu = {k: [] for k in cmds}

def timed(kind, keep=True):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmds[kind], cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if keep:
        wall[kind].append(elapsed)
        cpu[kind].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)

files = subprocess.run(["git", "ls-files"], cwd=repo, capture_output=True, text=True).stdout.split()
python = [f for f in files if f.endswith((".py", ".pyi"))]
size = sum(os.path.getsize(os.path.join(repo, f)) for f in python)
print(f"{len(python)} Python files ({len(files)} files), {size / 1e6:.1f} MB, {os.cpu_count()} CPUs, "
      f"{runs} runs each; load average before: {os.getloadavg()[0]:.2f}")
# One untimed round first, so every timed run meets the same warm OS page cache.
for kind in ("ruff", "cold", "floor"):
    timed(kind, keep=False)
for _ in range(runs):
    for kind in ("ruff", "cold", "warm", "floor", "alone", "both"):
        if kind == "cold":
            shutil.rmtree(cache_dir, ignore_errors=True)
        timed(kind)

# The everyday push: one file changed by the last commit, its result in the cache (as the
# daemon or the first push left it).
# A module of some size inside a package (its check reads the packages' `__init__.py`).
sized = [f for f in python if os.path.getsize(os.path.join(repo, f)) > 4096]
packaged = [f for f in sized if f.count("/") >= 2 and f.rsplit("/", 1)[0] + "/__init__.py" in python]
target = (packaged or sized or python)[0]
with open(os.path.join(repo, target), "a") as f:
    f.write("\n\ndef bench_added(x: int) -> int:\n    return x\n")
subprocess.run(["git", "commit", "--quiet", "--no-verify", "-am", "one file"], cwd=repo, check=True)
for kind in ("range", "git"):
    timed(kind, keep=False)
for _ in range(runs * 5):
    timed("range")
    timed("git")

med = lambda v: statistics.median(v)
labels = {
    "ruff": "ruff check --select ANN --no-cache",
    "cold": "gatehouse check, cold cache",
    "warm": "gatehouse check, warm cache",
    "floor": "gatehouse parse-error only (floor)",
    "alone": "untyped-function, no cache",
    "both": "  + missing-import, no cache",
    "range": f"check --range HEAD~1..HEAD ({target})",
    "git": "git diff --stat HEAD~1..HEAD",
}
for k, label in labels.items():
    print(f"{label:42} wall median {med(wall[k]) * 1000:8.1f} ms (min {min(wall[k]) * 1000:7.1f});"
          f" CPU median {med(cpu[k]) * 1000:8.1f} ms")
ratio = lambda a, b, d: med(d[a]) / med(d[b])
print(f"cold / ruff:  wall {ratio('cold', 'ruff', wall):.2f}, CPU {ratio('cold', 'ruff', cpu):.2f}  (target <= 2.0)")
print(f"warm / ruff:  wall {ratio('warm', 'ruff', wall):.2f}, CPU {ratio('warm', 'ruff', cpu):.2f}  (target <= 0.25)")
print(f"floor / ruff: wall {ratio('floor', 'ruff', wall):.2f}, CPU {ratio('floor', 'ruff', cpu):.2f}"
      f"  (cold / floor: wall {ratio('cold', 'floor', wall):.2f}, CPU {ratio('cold', 'floor', cpu):.2f})")
print(f"with missing-import / alone: wall {ratio('both', 'alone', wall):.2f}, CPU {ratio('both', 'alone', cpu):.2f}  (target <= 1.30)")
print(f"range / git diff --stat: wall {ratio('range', 'git', wall):.2f}, CPU {ratio('range', 'git', cpu):.2f}"
      f"  (target <= 2.0; range wall {med(wall['range']) * 1000:.1f} ms, target <= 20)")
print(f"load average after: {os.getloadavg()[0]:.2f} (other work on the machine skews wall times)")
PY
