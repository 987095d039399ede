# aider's part of scripts/conformance.sh (sourced): the pinned aider from PyPI (`aider-chat`), in
# a virtualenv of its own under the prefix (aider pins every dependency, litellm included).

AIDER_VERSION=0.86.2
# No max-turns: aider has no turn limit (it stops when the model stops asking for files).
SCENARIOS_aider="ok auth server-error outside scope"

# The venv's interpreter must be readable inside gatehouse's confinement, which hides users'
# homes (a pyenv Python under /root/.pyenv is not, when HOME is elsewhere): take the first
# python3 on PATH that lives outside /root, /home and /Users.
aider_python() {
  local candidate real
  while IFS= read -r candidate; do
    real=$(readlink -f "$candidate")
    case $real in /root/* | /home/* | /Users/*) continue ;; esac
    echo "$real"
    return 0
  done < <(which -a python3 python3.12 python3.11 python3.10 2>/dev/null)
  return 1
}

install_aider() { # PREFIX
  local venv="$1/aider-venv"
  local program="$venv/bin/aider"
  local python
  python=$(aider_python) || { echo "no python3 outside the users' homes" >&2; return 1; }
  if [ ! -x "$program" ] || [ "$("$program" --version 2>/dev/null)" != "aider $AIDER_VERSION" ] \
    || [ "$(readlink -f "$venv/bin/python3")" != "$python" ]; then
    rm -rf "$venv"
    "$python" -m venv "$venv" >&2 || return 1
    "$venv/bin/pip" install --quiet --disable-pip-version-check "aider-chat==$AIDER_VERSION" >&2 \
      || return 1
  fi
  "$program" --version >&2 || return 1
  echo "$program"
}

# A model name aider does not know: the adapter runs it as `openai/gatehouse-conformance`
# against `--openai-api-base`, aider uses its "whole" edit format for it, and no price is known
# (tokens only). The key is a dummy the server does not check.
config_aider() { # PROGRAM URL
  cat <<TOML
[agents.aider]
adapter = "aider"
program = "$1"
model = "gatehouse-conformance"
base_url = "$2/v1"
env = ["OPENAI_API_KEY"]
TOML
}

env_aider() { # URL
  echo "OPENAI_API_KEY=conformance-key"
}

expect_error_aider() { # SCENARIO
  case $1 in
    auth) echo "litellm.AuthenticationError: AuthenticationError: OpenAIException - Incorrect API key provided" ;;
    server-error) echo "litellm.InternalServerError" ;; # after aider's own retries (about a minute)
    outside) echo "is not in the subpath of" ;;
    *) echo "aider" ;;
  esac
}
