# gemini's part of scripts/conformance.sh (sourced): the pinned Gemini CLI from npm.
#
# The npm package `@google/gemini-cli` is a self-contained bundle (bundle/gemini.js and its
# chunks; node-pty and keytar are optional and unused headless). Its own prefix, so that
# installing another npm agent can never prune it.
#
# Against the local server (scripts/conformance/server_gemini.py) the CLI needs
# GOOGLE_GEMINI_BASE_URL (from `base_url`), an API key and an auth type; the adapter gives it a
# per-run home (GEMINI_CLI_HOME) whose settings.json selects `gemini-api-key`, cuts retries to 3
# attempts, turns off usage statistics (play.googleapis.com) and auto-update, and sets
# model.maxSessionTurns from max_turns; GEMINI_CLI_TRUST_WORKSPACE=true skips the trust check.
# With those, a run makes no connection beyond 127.0.0.1.

GEMINI_VERSION=0.61.0
SCENARIOS_gemini=${GEMINI_SCENARIOS:-"ok auth server-error max-turns outside scope"}

install_gemini() { # PREFIX
  local dir="$1/gemini-npm"
  local program="$dir/node_modules/.bin/gemini"
  if [ ! -x "$program" ] || [ "$("$program" --version 2>/dev/null)" != "$GEMINI_VERSION" ]; then
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error \
      "@google/gemini-cli@$GEMINI_VERSION" >&2 || return 1
  fi
  "$program" --version >&2 || return 1
  echo "$program"
}

# A fixed model: with none (`auto`) the CLI first asks a flash-lite model to route the prompt
# (a side request the server answers and counts too, but which retries 5 times on its own in
# server-error). max_turns = 4: the ok conversation takes 2 model turns (the edit, the final
# answer); max-turns never ends and is stopped after the 4th. `--include-directories` of the
# conformance directory (the parent of the repository, where the outside scenario writes) lets
# the CLI's own workspace check pass, so that the write outside the worktree reaches gatehouse's
# Landlock ruleset, which must refuse it (without it the CLI refuses the write itself, "Path not
# in workspace", which gatehouse also reports: tests/stand-ins/fixtures/gemini/outside-denied.*).
config_gemini() { # PROGRAM URL
  local program=$1 extra="" args model=""
  [ -z "${GEMINI_MODEL-gemini-2.5-flash}" ] || model="model = \"${GEMINI_MODEL-gemini-2.5-flash}\""
  args="args = [\"--include-directories\", \"$(dirname "$PWD")\"]"
  [ -z "${GEMINI_NO_INCLUDE:-}" ] || args=""
  if [ -n "${GEMINI_CAPTURE:-}" ]; then
    capture_wrapper_gemini "$program" "$GEMINI_CAPTURE"
    program="$GEMINI_CAPTURE/gemini"
    extra="writable = [\"$GEMINI_CAPTURE\"]"
  fi
  cat <<TOML
[agents.gemini]
adapter = "gemini"
program = "$program"
$model
base_url = "$2"
max_turns = 4
$args
env = ["GEMINI_API_KEY"]
$extra
TOML
}

# Capturing the stand-in's fixtures (tests/stand-ins/fixtures/gemini/capture.sh): with
# GEMINI_CAPTURE=DIR, gatehouse runs DIR/gemini, which runs the real CLI exactly as gatehouse
# would (same arguments, environment and confinement) and keeps its stdout, stderr and exit
# code in DIR. GEMINI_MODEL= (empty) leaves the model to the CLI (`auto`: a routing side request
# first), GEMINI_NO_INCLUDE=1 leaves `--include-directories` out (the CLI then refuses the
# outside write itself), GEMINI_NO_KEY=1 the API key (the CLI then has no auth).
capture_wrapper_gemini() { # PROGRAM DIR
  mkdir -p "$2"
  cat > "$2/gemini" <<SH
#!/bin/sh
"$1" "\$@" > "$2/stdout" 2> "$2/stderr"
code=\$?
echo \$code > "$2/exit"
cat "$2/stdout"
cat "$2/stderr" >&2
exit \$code
SH
  chmod +x "$2/gemini"
}

# A dummy key: the server does not check it.
env_gemini() { # URL
  [ -n "${GEMINI_NO_KEY:-}" ] || echo "GEMINI_API_KEY=conformance-key"
}

expect_error_gemini() { # SCENARIO
  case $1 in
    auth) echo "API error 401 (UNAUTHENTICATED)" ;;
    server-error) echo "API error 500 (INTERNAL)" ;;
    max-turns) echo "Reached max session turns" ;;
    outside) echo "gemini was refused a write: write_file " ;;
    *) echo "gemini" ;;
  esac
}
