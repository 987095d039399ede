#!/bin/sh
# How soon a hand-started run starts with a daemon running whose repository is never quiet
# (`quiet = "1h"`, a commit just made): the time from launching `gatehouse task run` to the run
# leaving the queue (state read from state.db every 2 ms), for N runs (default 20).
#
#   scripts/bench-manual-run.sh [N]        GATEHOUSE=path/to/gatehouse to pick the binary
set -eu
N=${1:-20}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
GATEHOUSE=${GATEHOUSE:-$ROOT/target/release/gatehouse}
[ -x "$GATEHOUSE" ] || GATEHOUSE=$ROOT/target/debug/gatehouse
case $GATEHOUSE in /*) ;; *) GATEHOUSE=$PWD/$GATEHOUSE ;; esac
WORK=$(mktemp -d)
trap '"$GATEHOUSE" daemon stop >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
. "$ROOT/scripts/lib/bench-env.sh"
bench_repo "$WORK"
mkdir -p .gatehouse/tasks docs
cat > .gatehouse/config.toml <<'TOML'
[daemon]
quiet = "1h"

[agents.touch]
adapter = "command"
program = "/bin/sh"
args = ["-c", "echo edited >> docs/notes.txt"]
TOML
cat > .gatehouse/tasks/touch.toml <<'TOML'
kind = "touch"
goal = "Touch the notes."
scope = ["docs/**"]
agent = "touch"
TOML
echo notes > docs/notes.txt
git add -A && git commit -qm base
"$GATEHOUSE" daemon start >/dev/null 2>&1
export GATEHOUSE N
python3 - <<'PY'
import os, sqlite3, statistics, subprocess, time
gh, n = os.environ["GATEHOUSE"], int(os.environ["N"])
db = os.path.join(".git", "gatehouse", "state.db")
latencies = []
for i in range(n):
    with open("docs/busy.txt", "w") as f:
        f.write(f"{i}\n")
    subprocess.run(["git", "add", "-A"], check=True)
    subprocess.run(["git", "commit", "-qm", f"busy {i}"], check=True)  # activity: not quiet
    before = sqlite3.connect(db).execute("SELECT count(*) FROM runs").fetchone()[0]
    t0 = time.monotonic()
    cli = subprocess.Popen([gh, "task", "run", "touch"], stderr=subprocess.DEVNULL)
    while True:
        rows = sqlite3.connect(db).execute(
            "SELECT state FROM runs ORDER BY seq DESC LIMIT 1 OFFSET 0").fetchall()
        count = sqlite3.connect(db).execute("SELECT count(*) FROM runs").fetchone()[0]
        if count > before and rows and rows[0][0] != "queued":
            break
        if time.monotonic() - t0 > 60:
            raise SystemExit("a hand-started run did not start within 60 s")
        time.sleep(0.002)
    latencies.append((time.monotonic() - t0) * 1000)
    cli.wait()
    while sqlite3.connect(db).execute(
            "SELECT count(*) FROM runs WHERE state IN ('queued','preparing','running','validating')").fetchone()[0]:
        time.sleep(0.01)
latencies.sort()
print(f"hand-started run left the queue after: median {statistics.median(latencies):.1f} ms, "
      f"p90 {latencies[int(len(latencies) * 0.9) - 1]:.1f} ms, max {latencies[-1]:.1f} ms "
      f"({n} runs, daemon quiet = 1h, a commit just before each)")
PY
