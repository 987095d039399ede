#!/usr/bin/env bash
# Pre-push overhead benchmark: builds a 2,000-file Python repository with a bare remote, then
# times `git push` of one new commit (one changed file) with no hook, with a hand-written shell
# hook running `true`, with gatehouse's hook (checks actually running on the pushed change) and,
# with --references, with pre-commit, prek and lefthook each running `true` (installed from PyPI
# into a temporary virtualenv). Runs alternate; prints medians and overheads in milliseconds.
#
#   scripts/bench-hook.sh [--runs N] [--references]
set -euo pipefail
runs=25
references=no
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) runs=$2; shift 2 ;;
        --references) references=yes; shift ;;
        *) echo "usage: $0 [--runs N] [--references]" >&2; exit 2 ;;
    esac
done

here=$(cd "$(dirname "$0")/.." && pwd)
(cd "$here" && cargo build --release --locked --quiet)
gatehouse="${CARGO_TARGET_DIR:-$here/target}/release/gatehouse"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_SYSTEM=/dev/null HOME="$work/home"
export GIT_AUTHOR_NAME=Bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=Bench GIT_COMMITTER_EMAIL=bench@example.com
mkdir -p "$HOME"

if [ "$references" = yes ]; then
    python3 -m venv "$work/venv" >/dev/null
    "$work/venv/bin/pip" install -q pre-commit prek lefthook >/dev/null
    export PATH="$work/venv/bin:$PATH"
fi

python3 - "$work" "$runs" "$gatehouse" "$references" <<'PY'
import os, statistics, subprocess, sys, time

work, runs, gatehouse, references = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4] == "yes"

def git(*args, cwd):
    subprocess.run(["git", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

setups = {}

def make_repo(name):
    origin = os.path.join(work, name + ".git")
    repo = os.path.join(work, name)
    git("init", "-q", "--bare", "-b", "main", origin, cwd=work)
    git("init", "-q", "-b", "main", repo, cwd=work)
    for i in range(2000):
        d = os.path.join(repo, "pkg%02d" % (i % 40))
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "mod%04d.py" % i), "w") as f:
            f.write("def f%d(x: int) -> int:\n    return x + %d\n\n\ndef g%d(y: str) -> str:\n    return y * 2\n" % (i, i, i))
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "base", cwd=repo)
    git("remote", "add", "origin", origin, cwd=repo)
    git("push", "-q", "origin", "main", cwd=repo)
    return repo

def shell_hook(repo):
    path = os.path.join(repo, ".git/hooks/pre-push")
    with open(path, "w") as f:
        f.write("#!/bin/sh\ntrue\n")
    os.chmod(path, 0o755)

def gatehouse_hook(repo):
    subprocess.run([gatehouse, "install"], cwd=repo, check=True, stderr=subprocess.DEVNULL)

def pre_commit_hook(repo):
    with open(os.path.join(repo, ".pre-commit-config.yaml"), "w") as f:
        f.write("repos:\n- repo: local\n  hooks:\n  - id: 'true'\n    name: 'true'\n    entry: 'true'\n    language: system\n    stages: [pre-push]\n    pass_filenames: false\n    always_run: true\n")
    git("add", "-A", cwd=repo); git("commit", "-q", "-m", "cfg", cwd=repo); git("push", "-q", "origin", "main", cwd=repo)
    subprocess.run(["pre-commit", "install", "-t", "pre-push"], cwd=repo, check=True, stdout=subprocess.DEVNULL)

def prek_hook(repo):
    pre_commit_hook_config_only(repo)
    subprocess.run(["prek", "install", "-t", "pre-push"], cwd=repo, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

def pre_commit_hook_config_only(repo):
    with open(os.path.join(repo, ".pre-commit-config.yaml"), "w") as f:
        f.write("repos:\n- repo: local\n  hooks:\n  - id: 'true'\n    name: 'true'\n    entry: 'true'\n    language: system\n    stages: [pre-push]\n    pass_filenames: false\n    always_run: true\n")
    git("add", "-A", cwd=repo); git("commit", "-q", "-m", "cfg", cwd=repo); git("push", "-q", "origin", "main", cwd=repo)

def lefthook_hook(repo):
    with open(os.path.join(repo, "lefthook.yml"), "w") as f:
        f.write("pre-push:\n  commands:\n    'true':\n      run: 'true'\n")
    git("add", "-A", cwd=repo); git("commit", "-q", "-m", "cfg", cwd=repo); git("push", "-q", "origin", "main", cwd=repo)
    subprocess.run(["lefthook", "install"], cwd=repo, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

variants = [("none", None), ("shell", shell_hook), ("gatehouse", gatehouse_hook)]
if references:
    variants += [("pre-commit", pre_commit_hook), ("prek", prek_hook), ("lefthook", lefthook_hook)]
repos = {}
for name, install in variants:
    repo = make_repo(name)
    if install:
        install(repo)
    repos[name] = repo

times = {name: [] for name, _ in variants}
for i in range(runs + 2):
    for name, _ in variants:
        repo = repos[name]
        path = os.path.join(repo, "pkg%02d" % (i % 40), "mod%04d.py" % i)
        with open(path, "a") as f:
            # A change that passes the gate: a refused push sends no pack, so timing one
            # would understate the hook's cost (the gate still checks this file in full).
            f.write("\n\ndef added%d(z: int) -> int:\n    return z\n" % i)
        git("commit", "-q", "-am", "change %d" % i, cwd=repo)
        start = time.perf_counter()
        r = subprocess.run(["git", "push", "-q", "origin", "main"], cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        elapsed = (time.perf_counter() - start) * 1000
        if r.returncode != 0:
            sys.exit("push failed for %s: %s" % (name, r.stderr.decode()))
        if i >= 2:  # warm-up
            times[name].append(elapsed)

base = statistics.median(times["none"])
print("pre-push of one commit, 2,000-file repository, %d runs each (median ms):" % runs)
for name, _ in variants:
    med = statistics.median(times[name])
    print("  %-11s %7.1f ms   overhead %+6.1f ms" % (name, med, med - base))
PY
