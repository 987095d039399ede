#!/usr/bin/env bash
# Wall-time benchmark of `gatehouse check --rule untyped-function` against
# `ruff check --select ANN`, on sympy from PyPI (or DIR).
#
#   scripts/bench-check.sh [DIR] [RUNS]
#
# Builds the release binary, copies the code into a temporary git repository, then runs, in
# alternation RUNS times (default 7): ruff without its cache, gatehouse cold (its cache
# directory `.git/gatehouse/cache` removed first) and gatehouse warm (cache filled by the
# previous run). Both tools write JSON to /dev/null. Prints each median wall time (and CPU
# time, steadier when the machine is busy) and the wall-time ratios to ruff. Then, also in
# alternation, `--rule untyped-function` against `--rule untyped-function --rule missing-import`,
# both without the cache, for what missing-import adds (target: at most 30%).
set -euo pipefail

RUFF_VERSION=0.17.6
SYMPY_VERSION=1.14.0
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/gatehouse-bench
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

(cd "$here" && cargo build --release --quiet)
gatehouse=$here/target/release/gatehouse

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
repo=$work/repo
cp -r "$dir" "$repo"
rm -rf "$repo/.git"
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_SYSTEM=/dev/null
git -C "$repo" init --quiet --initial-branch=main
git -C "$repo" add --all
git -C "$repo" -c user.name=bench -c user.email=bench@localhost -c commit.gpgsign=false -c gc.auto=0 -c maintenance.auto=false \
    commit --quiet --no-verify -m snapshot

python3 - "$repo" "$venv/bin/ruff" "$gatehouse" "$runs" <<'PY'
import os, resource, shutil, statistics, subprocess, sys, time
repo, ruff, gatehouse, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
cache_dir = os.path.join(repo, ".git", "gatehouse", "cache")
ruff_cmd = [ruff, "check", "--isolated", "--select", "ANN", "--no-cache", "--output-format", "json", "."]
gate_cmd = [gatehouse, "check", "--scope", "all", "--rule", "untyped-function", "--format", "json"]

both_cmd = gate_cmd[:-2] + ["--rule", "missing-import", "--format", "json"]
cpu = {"ruff": [], "cold": [], "warm": [], "alone": [], "both": []}

def timed(cmd, kind=None):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if kind:
        cpu[kind].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return wall

files = subprocess.run(["git", "ls-files"], cwd=repo, capture_output=True, text=True).stdout.split()
size = sum(os.path.getsize(os.path.join(repo, f)) for f in files if f.endswith((".py", ".pyi")))
print(f"{sum(f.endswith(('.py', '.pyi')) for f in files)} Python files, {size / 1e6:.1f} MB, {os.cpu_count()} CPUs, {runs} runs each")
# One untimed round first, so every timed run meets the same warm OS page cache.
timed(ruff_cmd); timed(gate_cmd)
times = {"ruff": [], "cold": [], "warm": []}
for _ in range(runs):
    times["ruff"].append(timed(ruff_cmd, "ruff"))
    shutil.rmtree(cache_dir, ignore_errors=True)
    times["cold"].append(timed(gate_cmd, "cold"))
    times["warm"].append(timed(gate_cmd, "warm"))
med = {k: statistics.median(v) for k, v in times.items()}
for k, label in (("ruff", "ruff check --select ANN --no-cache"), ("cold", "gatehouse check, cold cache"), ("warm", "gatehouse check, warm cache")):
    print(f"{label:36} median {med[k] * 1000:8.1f} ms  (min {min(times[k]) * 1000:.1f}, max {max(times[k]) * 1000:.1f});"
          f" CPU (user+sys) median {statistics.median(cpu[k]) * 1000:.0f} ms")
print(f"cold / ruff = {med['cold'] / med['ruff']:.2f}  (target <= 2.0)")
print(f"warm / ruff = {med['warm'] / med['ruff']:.2f}  (target <= 0.25)")
times["alone"], times["both"] = [], []
for _ in range(runs):
    times["alone"].append(timed(gate_cmd + ["--no-cache"], "alone"))
    times["both"].append(timed(both_cmd + ["--no-cache"], "both"))
alone, both = statistics.median(times["alone"]), statistics.median(times["both"])
print(f"untyped-function alone, no cache     median {alone * 1000:8.1f} ms; CPU median {statistics.median(cpu['alone']) * 1000:.0f} ms")
print(f"  + missing-import, no cache         median {both * 1000:8.1f} ms; CPU median {statistics.median(cpu['both']) * 1000:.0f} ms")
print(f"with missing-import / alone = {both / alone:.2f}  (target <= 1.30)")
print(f"load average after: {os.getloadavg()[0]:.2f} (other work on the machine skews wall times)")
PY
