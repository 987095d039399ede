#!/bin/sh
# Builds gatehouse (release, --locked) and installs it into $PREFIX, or ~/.cargo when PREFIX is
# unset:
#   bin/gatehouse
#   share/man/man1/gatehouse.1, gatehouse-SUBCOMMAND.1   man pages (man finds them beside bin/)
# and the shell completions under $PREFIX/share, or without PREFIX under the user's data
# directory (${XDG_DATA_HOME:-~/.local/share}), where bash-completion and fish look:
#   bash-completion/completions/gatehouse, zsh/site-functions/_gatehouse,
#   fish/vendor_completions.d/gatehouse.fish
# Safe to run again: it replaces what it installed.
#   --binary PATH   install that already-built gatehouse binary instead of building one
set -eu

here=$(cd "$(dirname "$0")" && pwd)
binary=
while [ $# -gt 0 ]; do
    case $1 in
        --binary) binary=${2:?install.sh: --binary needs a path}; shift 2 ;;
        *) echo "install.sh: unknown argument '$1' (usage: ./install.sh [--binary PATH])" >&2; exit 2 ;;
    esac
done

root=${PREFIX:-${CARGO_HOME:-$HOME/.cargo}}
bin="$root/bin/gatehouse"
if [ -n "$binary" ]; then
    mkdir -p "$root/bin"
    cp "$binary" "$bin.tmp" && chmod 755 "$bin.tmp" && mv "$bin.tmp" "$bin"
else
    if ! command -v cargo >/dev/null 2>&1; then
        echo "install.sh: cargo is not on PATH. Install the Rust toolchain (https://rustup.rs) and run ./install.sh again." >&2
        exit 1
    fi
    cargo install --locked --force --path "$here" --root "$root"
fi
echo "installed $("$bin" --version) at $bin"

man1="$root/share/man/man1"
data=${PREFIX:+$PREFIX/share}
data=${data:-${XDG_DATA_HOME:-$HOME/.local/share}}
mkdir -p "$data/bash-completion/completions" "$data/zsh/site-functions" \
    "$data/fish/vendor_completions.d" "$man1"
"$bin" completions bash >"$data/bash-completion/completions/gatehouse"
"$bin" completions zsh >"$data/zsh/site-functions/_gatehouse"
"$bin" completions fish >"$data/fish/vendor_completions.d/gatehouse.fish"
# Pages of subcommands that no longer exist must not linger.
rm -f "$man1/gatehouse.1" "$man1"/gatehouse-*.1
"$bin" manpage "$man1"
echo "installed completions for bash, zsh and fish under $data"

case ":$PATH:" in
    *":$root/bin:"*) ;;
    *) echo "note: $root/bin is not on your PATH; add it to use \`gatehouse\` directly (man then finds the pages beside it)." ;;
esac
case ":${XDG_DATA_HOME:-$HOME/.local/share}:${XDG_DATA_DIRS:-/usr/local/share:/usr/share}:" in
    *":$data:"*) ;;
    *) echo "note: bash-completion and fish look in XDG_DATA_DIRS: add $data to it (or run ./install.sh without PREFIX)." ;;
esac
case $data in
    /usr/share | /usr/local/share) ;;
    *) echo "note: zsh: add fpath=($data/zsh/site-functions \$fpath) before compinit." ;;
esac
