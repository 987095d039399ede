#!/usr/bin/env bash
# The conformance suite against the real agent CLIs.
#
#   scripts/conformance.sh [codex|claude|gemini|aider …]     (default: all four)
#
# For each agent it installs the pinned CLI from its registry (npm or PyPI) under
# target/conformance/ (or $GATEHOUSE_CONFORMANCE_PREFIX), starts the model server the project
# writes (scripts/conformance/server_<agent>.py, loopback only) with one scripted scenario, and
# drives the real CLI through gatehouse (`task run --wait`) in a fresh repository:
#   ok           the run is `ready`, its branch has the edit, the tokens gatehouse recorded equal
#                the tokens the server sent, and `review accept` merges it
#   outside      the agent tries to write outside its worktree: the file never appears and the
#                run does not become ready
#   scope        the agent edits a file outside the task's scope: the run fails on scope
#   auth, server-error, max-turns
#                the run fails with the agent's own reason (a substring per agent and scenario)
# Per-agent knowledge (pinned version, install, the [agents.X] table, expected reasons) is in
# scripts/conformance/<agent>.sh. Exit 0 only when every scenario of every agent passed; the
# last line is "N passed, M failed". A CLI that changes its output format fails here loudly.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
here="$root/scripts/conformance"
prefix=${GATEHOUSE_CONFORMANCE_PREFIX:-$root/target/conformance}
agents=("$@")
[ ${#agents[@]} -gt 0 ] || agents=(codex claude gemini aider)
mkdir -p "$prefix"

(cd "$root" && cargo build --locked --quiet --bin gatehouse) || exit 2
gatehouse="$root/target/debug/gatehouse"

passed=0
failed=0
failures=()
pass() { passed=$((passed + 1)); printf '  ok    %s\n' "$1"; }
fail() {
  failed=$((failed + 1))
  failures+=("$1")
  printf '  FAIL  %s\n' "$1"
  [ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/        /' | head -n 40
  return 0
}

# A JSON field of the only run, with python (always there: the servers need it too).
run_field() { # RUN_JSON EXPR
  python3 -c 'import json,sys; r=json.load(sys.stdin)["runs"][0]; print(eval(sys.argv[1]))' "$2" <<<"$1"
}

# The sum of each token kind the server reported, as "input cached_input output reasoning".
tokens_sent() { # LOG
  python3 - "$1" <<'PY'
import json, sys
total = {"input": 0, "cached_input": 0, "output": 0, "reasoning": 0}
for line in open(sys.argv[1], encoding="utf-8"):
    entry = json.loads(line)
    for key, value in entry.get("usage", {}).items():
        if key in total:
            total[key] += value
print(total["input"], total["cached_input"], total["output"], total["reasoning"])
PY
}

# One scenario of one agent in a fresh repository and home; prints its verdict.
scenario() { # AGENT PROGRAM SCENARIO
  local agent=$1 program=$2 name=$3
  local work
  work=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-conformance.XXXXXX")
  local repo="$work/repo" log="$work/server.jsonl" outside="$work/outside.txt"
  mkdir -p "$repo" "$work/home"
  (
    export HOME="$work/home" GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_SYSTEM=/dev/null
    export GIT_AUTHOR_NAME="Conformance" GIT_AUTHOR_EMAIL="conformance@example.com"
    export GIT_COMMITTER_NAME="Conformance" GIT_COMMITTER_EMAIL="conformance@example.com"
    unset XDG_STATE_HOME XDG_CONFIG_HOME XDG_DATA_HOME XDG_CACHE_HOME
    cd "$repo" || exit 2
    git init -q -b main
    git config commit.gpgsign false
    printf 'def greet(name):\n    return "hello " + name\n' > hello.py
    printf 'def other(x: int) -> int:\n    return x\n' > other.py
    git add -A && git commit -qm base

    python3 "$here/server_$agent.py" --scenario "$name" --port-file "$work/port" --log "$log" \
      --outside-path "$outside" --scope-file other.py >"$work/server.out" 2>&1 &
    local server=$!
    trap 'kill $server 2>/dev/null' EXIT
    for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
    [ -s "$work/port" ] || { echo "server did not start: $(cat "$work/server.out")"; exit 1; }
    local url="http://127.0.0.1:$(cat "$work/port")"

    mkdir -p .gatehouse/tasks
    "config_$agent" "$program" "$url" > .gatehouse/config.toml
    cat > .gatehouse/tasks/edit.toml <<'TOML'
kind = "annotate"
goal = """Add type annotations to the function greet in hello.py: name is a str and it returns a str."""
scope = ["hello.py"]
agent = "AGENT"
timeout = "180s"

[[accept]]
gate = true
TOML
    sed -i "s/AGENT/$agent/" .gatehouse/tasks/edit.toml
    git add -A && git commit -qm "gatehouse config"
    if declare -F "env_$agent" >/dev/null; then
      while IFS= read -r line; do [ -n "$line" ] && export "${line?}"; done < <("env_$agent" "$url")
    fi

    # The agent table passes the API key's variable (`env`): the user reads it and trusts the
    # task, as gatehouse asks before a run by hand.
    "$gatehouse" task trust edit >"$work/trust.out" 2>&1 \
      || { echo "task trust failed: $(cat "$work/trust.out")"; exit 1; }
    timeout 300 "$gatehouse" task run edit --wait >"$work/run.out" 2>&1
    local runs
    runs=$("$gatehouse" runs list --format json)
    local state error id
    state=$(run_field "$runs" 'r["state"]')
    error=$(run_field "$runs" 'r["error"] or ""')
    id=$(run_field "$runs" 'r["id"]')
    local detail="state=$state error=$error
$(tail -n 15 "$work/run.out")
agent log: $("$gatehouse" runs log "$id" 2>&1 | tail -n 15)"
    case $name in
      ok)
        [ "$state" = ready ] || { echo "$detail"; exit 1; }
        local branch
        branch=$(run_field "$runs" 'r["branch"]')
        git show "$branch:hello.py" | grep -q 'def greet(name: str) -> str:' \
          || { echo "the branch lacks the edit: $(git show "$branch:hello.py")"; exit 1; }
        local got want
        got=$(run_field "$runs" '"%d %d %d %d" % tuple(r["tokens"][k] for k in ("input","cached_input","output","reasoning"))')
        want=$(tokens_sent "$log")
        [ "$got" = "$want" ] || { echo "tokens recorded (input cached output reasoning) $got, sent $want"; exit 1; }
        "$gatehouse" review accept "$id" >"$work/accept.out" 2>&1 \
          || { echo "review accept failed: $(cat "$work/accept.out")"; exit 1; }
        grep -q 'def greet(name: str) -> str:' hello.py || { echo "accept did not merge"; exit 1; }
        echo "tokens $got"
        ;;
      outside)
        [ ! -e "$outside" ] || { echo "the agent wrote outside its worktree: $outside"; exit 1; }
        [ "$state" != ready ] || { echo "a run refused a write still became ready"; exit 1; }
        local want
        want=$("expect_error_$agent" outside)
        [[ "$error" == *"$want"* ]] || { echo "error lacks \"$want\": $detail"; exit 1; }
        ;;
      scope)
        [ "$state" = failed ] && [[ "$error" == *"outside the task's scope"* ]] \
          || { echo "$detail"; exit 1; }
        ;;
      *)
        local want
        want=$("expect_error_$agent" "$name")
        [ "$state" = failed ] && [[ "$error" == *"$want"* ]] \
          || { echo "expected failed with \"$want\": $detail"; exit 1; }
        ;;
    esac
  ) >"$work/verdict" 2>&1
  local rc=$?
  if [ $rc -eq 0 ]; then
    pass "$agent $name $(tail -n 1 "$work/verdict" | grep '^tokens' || true)"
    rm -rf "$work"
  else
    fail "$agent $name" "$(cat "$work/verdict")
(kept: $work)"
  fi
}

for agent in "${agents[@]}"; do
  if [ ! -f "$here/$agent.sh" ]; then
    fail "$agent" "no scripts/conformance/$agent.sh"
    continue
  fi
  # shellcheck source=/dev/null
  source "$here/$agent.sh"
  echo "$agent:"
  program=$("install_$agent" "$prefix" 2>"$prefix/install-$agent.log" | tail -n 1)
  if [ -z "$program" ] || [ ! -x "$program" ]; then
    fail "$agent install" "$(tail -n 20 "$prefix/install-$agent.log")"
    continue
  fi
  version_var="$(echo "$agent" | tr '[:lower:]' '[:upper:]')_VERSION"
  echo "  $program (${!version_var:-?})"
  scenarios_var="SCENARIOS_$agent"
  for name in ${!scenarios_var}; do
    scenario "$agent" "$program" "$name"
  done
done

echo
for f in "${failures[@]}"; do echo "failed: $f"; done
echo "conformance: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
