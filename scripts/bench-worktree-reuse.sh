#!/bin/sh
# What `keep = [".venv"]` saves: the time from launching `gatehouse task run` (no daemon: the run
# starts in the foreground) to the agent's first instruction, for a task whose setup creates a
# Python virtualenv (`python3 -m venv .venv`, pip included, no network) unless the worktree has
# one already. "fresh": the task's kept folders are deleted before each run, so every run
# installs; "reused": the previous run's `.venv` is carried over. Runs alternate; prints the
# median and the spread of N runs each (default 7) in milliseconds.
#
#   scripts/bench-worktree-reuse.sh [N]    GATEHOUSE=path/to/gatehouse to pick the binary
#
# The release binary is built with CARGO_TARGET_DIR=/tmp/bench-target unless GATEHOUSE is set.
set -eu
N=${1:-7}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${GATEHOUSE:-}" ]; then
    (cd "$ROOT" && CARGO_TARGET_DIR=/tmp/bench-target cargo build --release --locked --quiet)
    GATEHOUSE=/tmp/bench-target/release/gatehouse
fi
case $GATEHOUSE in /*) ;; *) GATEHOUSE=$PWD/$GATEHOUSE ;; esac
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
. "$ROOT/scripts/lib/bench-env.sh"
bench_repo "$WORK"
mkdir -p .gatehouse/tasks docs src
cat > .gatehouse/config.toml <<'TOML'
[agents.stamp]
adapter = "command"
program = "/bin/sh"
args = ["-c", "date +%s.%N > {run_dir}/agent-started; echo edited >> docs/notes.txt"]
TOML
cat > .gatehouse/tasks/deps.toml <<'TOML'
kind = "deps"
goal = "Touch the notes."
scope = ["docs/**"]
agent = "stamp"
keep = [".venv"]

[[setup]]
run = "test -x .venv/bin/python || python3 -m venv .venv"
TOML
printf '.venv/\n' > .gitignore
echo notes > docs/notes.txt
# A few hundred tracked files, so the checkout of each fresh worktree costs what it would.
i=0
while [ $i -lt 500 ]; do
    printf 'def f%d(x: int) -> int:\n    return x + %d\n' $i $i > src/mod$i.py
    i=$((i + 1))
done
git add -A && git commit -qm base
export GATEHOUSE N
python3 - <<'PY'
import glob, os, shutil, statistics, subprocess, time

gh, n = os.environ["GATEHOUSE"], int(os.environ["N"])
kept = os.path.join(os.environ["HOME"], ".local", "state", "gatehouse", "kept")
seen = set()


def one(fresh):
    if fresh:
        shutil.rmtree(kept, ignore_errors=True)
    t0 = time.time()
    done = subprocess.run([gh, "task", "run", "deps"], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    stamps = set(glob.glob(".git/gatehouse/runs/*/agent-started")) - seen
    if done.returncode != 0 or len(stamps) != 1:
        raise SystemExit(f"the run failed ({done.returncode}): {done.stderr}")
    seen.update(stamps)
    with open(stamps.pop()) as f:
        return (float(f.read()) - t0) * 1000


one(True)  # warm the page cache and leave a .venv to reuse
times = {"fresh": [], "reused": []}
for _ in range(n):
    times["fresh"].append(one(True))  # it leaves its .venv for the next run
    times["reused"].append(one(False))
for name, values in times.items():
    values.sort()
    print(f"{name:6}: task run -> agent start median {statistics.median(values):7.1f} ms "
          f"(min {values[0]:.1f}, max {values[-1]:.1f}; {n} runs)")
saved = statistics.median(times["fresh"]) / statistics.median(times["reused"])
print(f"reused worktree dependencies: {saved:.1f}x faster to the agent's start")
PY
