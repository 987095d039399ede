#!/usr/bin/env bash
# Records what the real codex prints, through gatehouse, as the fixtures that
# tests/stand-ins/codex replays:
#
#   scripts/conformance/capture_codex.sh [MODE …]     (default: every mode below)
#
# Each mode runs one scenario of scripts/conformance/server_codex.py like scripts/conformance.sh
# does (a fresh repository, `gatehouse task run edit --wait`, Landlock on), with `program` set to
# a wrapper that tees codex's stdout and stderr and notes its exit code and its rollout file, and
# writes tests/stand-ins/fixtures/codex/MODE/: stdout.jsonl, stderr.txt and exit as captured,
# rollout.jsonl (the rollout's token_count and tool-call lines only; the rest is the prompt) and
# meta.json (the version, and the worktree / outside paths the stand-in substitutes).
# Run it again when codex is updated, then run `cargo test --locked --lib agents::`.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
here="$root/scripts/conformance"
fixtures="$root/tests/stand-ins/fixtures/codex"
# shellcheck source=codex.sh
source "$here/codex.sh"

# MODE -> "SCENARIO [VAR=VALUE …]": the server's scenario and the switches that shape it.
declare -A MODES=(
  [ok]="ok"
  [auth]="auth"
  [server-error]="server-error"
  [refused]="outside"
  [refused-shell]="outside CODEX_SERVER_OUTSIDE_SHELL=1"
  [midfail]="ok CODEX_SERVER_FAIL_AFTER=1"
  [warning]="ok MODEL=gpt-5-codex"
  [config-error]="ok PROVIDER=missing"
)

(cd "$root" && cargo build --locked --quiet --bin gatehouse) || exit 2
program=$(install_codex "$root/target/conformance" 2>/dev/null | tail -n 1)
[ -x "$program" ] || { echo "codex did not install" >&2; exit 2; }

capture() { # MODE
  local mode=$1 spec=${MODES[$1]}
  local scenario=${spec%% *} settings=""
  [ "$spec" != "$scenario" ] && settings=${spec#* }
  local work
  work=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-capture.XXXXXX")
  local cap="$work/capture" repo="$work/repo" outside="$work/outside.txt"
  mkdir -p "$cap" "$repo" "$work/home"
  cat > "$cap/wrapper" <<W
#!/bin/bash
printf '%s\n' "\$@" > "$cap/argv"
"$program" "\$@" > >(tee "$cap/stdout.jsonl") 2> >(tee "$cap/stderr.txt" >&2)
rc=\$?
echo \$rc > "$cap/exit"
wait
find "\$CODEX_HOME/sessions" -name 'rollout-*.jsonl' > "$cap/rollouts" 2>/dev/null
cat "\$(head -n 1 "$cap/rollouts")" > "$cap/rollout.jsonl" 2>/dev/null
exit \$rc
W
  chmod +x "$cap/wrapper"
  (
    export HOME="$work/home" GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_SYSTEM=/dev/null
    export GIT_AUTHOR_NAME="Conformance" GIT_AUTHOR_EMAIL="conformance@example.com"
    export GIT_COMMITTER_NAME="Conformance" GIT_COMMITTER_EMAIL="conformance@example.com"
    unset XDG_STATE_HOME XDG_CONFIG_HOME XDG_DATA_HOME XDG_CACHE_HOME
    local model="" provider=""
    for setting in $settings; do
      case $setting in
        MODEL=*) model=${setting#MODEL=} ;;
        PROVIDER=*) provider=${setting#PROVIDER=} ;;
        *) export "${setting?}" ;;
      esac
    done
    cd "$repo" || exit 2
    git init -q -b main && git config commit.gpgsign false
    printf 'def greet(name):\n    return "hello " + name\n' > hello.py
    printf 'def other(x: int) -> int:\n    return x\n' > other.py
    git add -A && git commit -qm base
    python3 "$here/server_codex.py" --scenario "$scenario" --port-file "$work/port" \
      --log "$work/server.jsonl" --outside-path "$outside" --scope-file other.py \
      >"$work/server.out" 2>&1 &
    local server=$!
    trap 'kill $server 2>/dev/null' EXIT
    for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
    local url="http://127.0.0.1:$(cat "$work/port")"
    mkdir -p .gatehouse/tasks
    {
      config_codex "$cap/wrapper" "$url"
      echo "writable = [\"$cap\"]"
      [ -n "$provider" ] && echo "args = [\"-c\", 'model_provider=\"$provider\"']"
    } > .gatehouse/config.toml
    [ -n "$model" ] && sed -i "s/^model = .*/model = \"$model\"/" .gatehouse/config.toml
    cat > .gatehouse/tasks/edit.toml <<'TOML'
kind = "annotate"
goal = """Add type annotations to the function greet in hello.py: name is a str and it returns a str."""
scope = ["hello.py"]
agent = "codex"
timeout = "180s"
TOML
    git add -A && git commit -qm "gatehouse config"
    while IFS= read -r line; do [ -n "$line" ] && export "${line?}"; done < <(env_codex "$url")
    "$root/target/debug/gatehouse" task run edit --wait >"$work/run.out" 2>&1
    "$root/target/debug/gatehouse" runs list --format json >"$work/runs.json"
  )
  [ -s "$cap/exit" ] || { echo "$mode: codex did not run; see $work" >&2; return 1; }
  mkdir -p "$fixtures/$mode"
  python3 - "$cap" "$fixtures/$mode" "$outside" "$CODEX_VERSION" "$spec" <<'PY'
import json, shutil, sys
cap, out, outside, version, spec = sys.argv[1:]
for name in ("stdout.jsonl", "stderr.txt", "exit"):
    shutil.copyfile(f"{cap}/{name}", f"{out}/{name}")
argv = open(f"{cap}/argv", encoding="utf-8").read().splitlines()
keep = {("event_msg", "token_count"), ("response_item", "custom_tool_call"),
        ("response_item", "custom_tool_call_output"), ("response_item", "function_call"),
        ("response_item", "function_call_output")}
with open(f"{cap}/rollout.jsonl", encoding="utf-8") as src, \
        open(f"{out}/rollout.jsonl", "w", encoding="utf-8") as dst:
    for line in src:
        event = json.loads(line)
        if (event.get("type"), (event.get("payload") or {}).get("type")) in keep:
            dst.write(line)
meta = {
    "codex_version": version,
    "captured_with": f"scripts/conformance/capture_codex.sh (server_codex.py scenario: {spec})",
    "worktree": argv[argv.index("-C") + 1],
    "edited": "hello.py",
    "outside": outside,
    "argv": argv,
}
with open(f"{out}/meta.json", "w", encoding="utf-8") as f:
    json.dump(meta, f, indent=1)
    f.write("\n")
PY
  echo "$mode: exit $(cat "$cap/exit"), $(wc -l < "$cap/stdout.jsonl") events"
  rm -rf "$work"
}

modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=("${!MODES[@]}")
status=0
for mode in "${modes[@]}"; do
  [ -n "${MODES[$mode]:-}" ] || { echo "unknown mode $mode" >&2; status=2; continue; }
  capture "$mode" || status=1
done
exit $status
