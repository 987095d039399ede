# claude's part of scripts/conformance.sh (sourced): the pinned Claude Code CLI from npm.
#
# The npm package `@anthropic-ai/claude-code` is a placeholder `bin/claude.exe` plus a postinstall
# (`node install.cjs`) that links the native binary of its optional dependency
# `@anthropic-ai/claude-code-linux-x64` over it. Its own prefix, so that installing another npm
# agent can never prune it.
#
# Against the local server (scripts/conformance/server_claude.py), Claude Code needs nothing but
# ANTHROPIC_BASE_URL (from `base_url`) and an API key: with -p it shows no login, onboarding or
# trust prompt, even in the fresh CLAUDE_CONFIG_DIR gatehouse gives it. The adapter sets
# CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 itself (no telemetry, error reporting or auto-update
# to api.anthropic.com, no session-title request).

CLAUDE_VERSION=2.1.197
SCENARIOS_claude=${CLAUDE_SCENARIOS:-"ok auth server-error max-turns outside scope"}

install_claude() { # PREFIX
  local dir="$1/claude-npm"
  local program="$dir/node_modules/.bin/claude"
  if [ ! -x "$program" ] || [ "$("$program" --version 2>/dev/null)" != "$CLAUDE_VERSION (Claude Code)" ]; then
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error \
      "@anthropic-ai/claude-code@$CLAUDE_VERSION" >&2 || return 1
  fi
  # npm skips the postinstall with ignore-scripts (and may, one day, by default): run it then.
  if ! "$program" --version >/dev/null 2>&1; then
    (cd "$dir/node_modules/@anthropic-ai/claude-code" && node install.cjs) >&2 || return 1
  fi
  "$program" --version >&2 || return 1
  echo "$program"
}

# max_turns = 4: the ok conversation takes 3 (Read, Edit, the final answer); max-turns never ends
# and is stopped after the 4th. `--add-dir` of the conformance directory (the parent of the
# repository, where the outside scenario writes) lets Claude Code's own permission check pass,
# so that the write outside the worktree reaches gatehouse's Landlock ruleset, which must refuse
# it (without it, Claude Code refuses the write itself: a permission denial, which gatehouse also
# reports, see tests/stand-ins/fixtures/claude/outside-denied.*).
config_claude() { # PROGRAM URL
  local program=$1 extra="" args
  args="args = [\"--add-dir\", \"$(dirname "$PWD")\"]"
  [ -z "${CLAUDE_NO_ADD_DIR:-}" ] || args=""
  if [ -n "${CLAUDE_CAPTURE:-}" ]; then
    capture_wrapper "$program" "$CLAUDE_CAPTURE"
    program="$CLAUDE_CAPTURE/claude"
    extra="writable = [\"$CLAUDE_CAPTURE\"]"
  fi
  cat <<TOML
[agents.claude]
adapter = "claude"
program = "$program"
model = "claude-sonnet-4-5"
base_url = "$2"
max_turns = 4
$args
env = ["ANTHROPIC_API_KEY", "CLAUDE_CODE_MAX_RETRIES"]
$extra
TOML
}

# Capturing the stand-in's fixtures (tests/stand-ins/fixtures/claude/capture.sh): with
# CLAUDE_CAPTURE=DIR, gatehouse runs DIR/claude, which runs the real CLI exactly as gatehouse
# would (same arguments, environment, stdin and confinement) and keeps its stdout, stderr and
# exit code in DIR. CLAUDE_NO_ADD_DIR=1 leaves `--add-dir` out (Claude Code then refuses the
# outside write itself), CLAUDE_NO_KEY=1 the API key (Claude Code is then not logged in).
capture_wrapper() { # PROGRAM DIR
  mkdir -p "$2"
  cat > "$2/claude" <<SH
#!/bin/sh
"$1" "\$@" > "$2/stdout" 2> "$2/stderr"
code=\$?
echo \$code > "$2/exit"
cat "$2/stdout"
cat "$2/stderr" >&2
exit \$code
SH
  chmod +x "$2/claude"
}

# A dummy key (the server does not check it); one retry instead of ten, so that auth (which Claude
# Code retries too) and server-error end in seconds, not minutes.
env_claude() { # URL
  [ -n "${CLAUDE_NO_KEY:-}" ] || echo "ANTHROPIC_API_KEY=sk-ant-conformance"
  echo "CLAUDE_CODE_MAX_RETRIES=1"
}

expect_error_claude() { # SCENARIO
  case $1 in
    auth) echo "Invalid API key" ;;
    server-error) echo "API Error: 500" ;;
    max-turns) echo "Reached maximum number of turns (4)" ;;
    outside) echo "claude was refused a write: Write " ;;
    *) echo "claude" ;;
  esac
}
