#!/bin/sh
# gatehouse hook shim, version @VERSION@ (hook: @HOOK@)
# Written by `gatehouse install`. `gatehouse uninstall` removes it and restores a hook that was
# here before (kept meanwhile as @HOOK@.local, which this shim runs first).
gatehouse='@GATEHOUSE@'
if [ ! -x "$gatehouse" ]; then
    gatehouse=$(command -v gatehouse 2>/dev/null) || gatehouse=
fi
if [ -z "$gatehouse" ]; then
    echo "gatehouse: the gatehouse binary is missing (not at '@GATEHOUSE@', none on PATH)." >&2
    echo "gatehouse: reinstall it (./install.sh), or remove this hook with 'gatehouse uninstall'." >&2
    exit @MISSING_EXIT@
fi
kept="${0%/*}/@HOOK@.local"
if [ -x "$kept" ]; then
    if [ @STDIN@ = yes ]; then
        # Both hooks read the ref lines: keep stdin (and its final newline) for the second.
        input=$(cat; echo .)
        input=${input%.}
        printf '%s' "$input" | "$kept" "$@" || exit $?
        printf '%s' "$input" | "$gatehouse" hook @HOOK@ "$@"
        exit $?
    fi
    "$kept" "$@" || exit $?
fi
exec "$gatehouse" hook @HOOK@ "$@"
