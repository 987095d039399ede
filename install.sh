#!/bin/sh
# Builds gatehouse (release, --locked) and installs the binary into $PREFIX/bin, or
# ~/.cargo/bin when PREFIX is unset. Safe to run again: it replaces the installed binary.
set -eu

here=$(cd "$(dirname "$0")" && pwd)

if ! command -v cargo >/dev/null 2>&1; then
    echo "install.sh: cargo is not on PATH. Install the Rust toolchain (https://rustup.rs) and run ./install.sh again." >&2
    exit 1
fi

root=${PREFIX:-${CARGO_HOME:-$HOME/.cargo}}
cargo install --locked --force --path "$here" --root "$root"

bin="$root/bin/gatehouse"
echo "installed $("$bin" --version) at $bin"
case ":$PATH:" in
    *":$root/bin:"*) ;;
    *) echo "note: $root/bin is not on your PATH; add it to use \`gatehouse\` directly." ;;
esac
