#!/usr/bin/env bash
# Daemon resource benchmark: creates a repository of 50,000 small Python files, starts
# `gatehouse daemon`, makes 100 one-file commits and reports
#   - the daemon's RSS after start and after the commits (target <= 30 MB),
#   - the CPU time it used while the repository sat idle for 60 s (target: none beyond noise),
#   - the time from `git commit` returning to the daemon having warmed the cache for that commit
#     (the daemon's own `last_warm.finished_at_ms` minus the moment `git commit` returned;
#     target <= 200 ms median).
#
#   scripts/bench-daemon.sh [--files N] [--commits N] [--idle SECONDS] [--binary PATH]
set -euo pipefail
files=50000
commits=100
idle=60
binary=
while [ $# -gt 0 ]; do
    case "$1" in
        --files) files=$2; shift 2 ;;
        --commits) commits=$2; shift 2 ;;
        --idle) idle=$2; shift 2 ;;
        --binary) binary=$2; shift 2 ;;
        *) echo "usage: $0 [--files N] [--commits N] [--idle SECONDS] [--binary PATH]" >&2; exit 2 ;;
    esac
done

here=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "$binary" ]; then
    (cd "$here" && cargo build --release --locked --quiet)
    binary="$here/target/release/gatehouse"
fi
work=$(mktemp -d)
cleanup() {
    (cd "$work/repo" 2>/dev/null && "$binary" daemon stop >/dev/null 2>&1) || true
    rm -rf "$work"
}
trap cleanup EXIT
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_SYSTEM=/dev/null HOME="$work/home"
export GIT_AUTHOR_NAME=Bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=Bench GIT_COMMITTER_EMAIL=bench@example.com
mkdir -p "$HOME"

python3 - "$work" "$binary" "$files" "$commits" "$idle" <<'PY'
import json, os, random, socket, statistics, subprocess, sys, time

work, gatehouse, files, commits, idle = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
repo = os.path.join(work, "repo")

def run(*args, **kw):
    return subprocess.run(list(args), cwd=repo, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw).stdout

os.makedirs(repo)
run("git", "init", "-q", "-b", "main")
run("git", "config", "commit.gpgsign", "false")
t = time.time()
for i in range(files):
    d = os.path.join(repo, "pkg%03d" % (i // 100))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "m%05d.py" % i), "w") as f:
        f.write("def f%d(x: int) -> int:\n    return x + %d\n" % (i, i))
run("git", "add", "-A")
run("git", "commit", "-q", "-m", "base")
print("repository: %d files, created in %.1f s" % (files, time.time() - t))

run(gatehouse, "daemon", "start")
status = json.loads(run(gatehouse, "daemon", "status", "--format", "json"))
pid, sock = status["pid"], status["socket"]

def rss_kib():
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

def cpu_ms():
    fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    return ticks * 1000 / os.sysconf("SC_CLK_TCK")

def ask(cmd):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    s.sendall(json.dumps({"v": 1, "cmd": cmd}).encode() + b"\n")
    line = s.makefile().readline()
    s.close()
    return json.loads(line)["result"]

time.sleep(1)
print("RSS after start: %.1f MB" % (rss_kib() / 1024))

rng = random.Random(7)
latencies, missed = [], 0
for n in range(commits):
    i = rng.randrange(files)
    path = os.path.join(repo, "pkg%03d" % (i // 100), "m%05d.py" % i)
    with open(path, "a") as f:
        f.write("\ndef g%d_%d(y):\n    return y\n" % (i, n))
    run("git", "add", path)
    run("git", "commit", "-q", "-m", "commit %d" % n)
    returned_ms = time.time() * 1000
    head = run("git", "rev-parse", "HEAD").strip()
    deadline = time.time() + 10
    while time.time() < deadline:
        warm = ask("status")["last_warm"]
        if warm and warm["commit"] == head:
            latencies.append(max(0.0, warm["finished_at_ms"] - returned_ms))
            break
        time.sleep(0.005)
    else:
        missed += 1
print("RSS after %d commits: %.1f MB" % (commits, rss_kib() / 1024))
if latencies:
    latencies.sort()
    print("commit -> cache warm: median %.0f ms, p90 %.0f ms, max %.0f ms (%d warmed, %d not within 10 s)" % (
        statistics.median(latencies), latencies[int(len(latencies) * 0.9) - 1], latencies[-1], len(latencies), missed))

time.sleep(2)
before = cpu_ms()
time.sleep(idle)
used = cpu_ms() - before
print("CPU while idle for %d s: %.0f ms" % (idle, used))
print("RSS at the end: %.1f MB" % (rss_kib() / 1024))
PY
