# Sourced by the task benchmarks (POSIX sh): `bench_repo DIR` makes the rest of the benchmark
# hermetic and starts it in an empty repository. HOME becomes DIR/home, and XDG_STATE_HOME is
# unset so that gatehouse's state home (run worktrees, kept folders) is in there too and goes
# with DIR; git reads no user or system config and commits as `bench`. Then DIR/repo is
# `git init`ed on `main` and made the current directory.
bench_repo() {
    export HOME="$1/home" GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_SYSTEM=/dev/null NO_COLOR=1
    export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
    export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
    unset XDG_STATE_HOME
    mkdir -p "$HOME" "$1/repo"
    cd "$1/repo"
    git init -q -b main .
}
