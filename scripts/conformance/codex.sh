# codex's part of scripts/conformance.sh (sourced): the pinned OpenAI Codex CLI from npm.
#
# The npm package `@openai/codex` is a small node launcher; the native binary comes in its
# optional dependency `@openai/codex-linux-x64` (an alias of `@openai/codex@VERSION-linux-x64`),
# which npm installs with it. Its own prefix, so that installing another npm agent can never
# prune it.

CODEX_VERSION=0.171.0
SCENARIOS_codex="ok auth server-error outside scope"

install_codex() { # PREFIX
  local dir="$1/codex-npm"
  local program="$dir/node_modules/.bin/codex"
  if [ ! -x "$program" ] || [ "$("$program" --version 2>/dev/null)" != "codex-cli $CODEX_VERSION" ]; then
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error \
      "@openai/codex@$CODEX_VERSION" >&2 || return 1
  fi
  "$program" --version >&2 || return 1
  echo "$program"
}

# The model gpt-5.5 is one codex knows: it declares apply_patch as a freeform tool for it (and
# warns about "fallback metadata" for names it does not know). The key is a dummy the server
# does not check; `base_url` makes gatehouse add a `model_providers.gatehouse` table.
config_codex() { # PROGRAM URL
  cat <<TOML
[agents.codex]
adapter = "codex"
program = "$1"
model = "gpt-5.5"
base_url = "$2/v1"
env = ["OPENAI_API_KEY"]
TOML
}

env_codex() { # URL
  echo "OPENAI_API_KEY=conformance-key"
}

expect_error_codex() { # SCENARIO
  case $1 in
    auth) echo "401 Unauthorized: Incorrect API key provided" ;;
    server-error) echo "high demand" ;; # codex's words for any 5xx, after its 5 retries
    outside) echo "file change refused: " ;;
    *) echo "codex: " ;;
  esac
}
