#!/bin/sh
# The gate on a CI engine: what the GitHub Action (action.yml) and the GitLab template
# (ci/gitlab/gatehouse.gitlab-ci.yml) run, and what any other CI can run as it is:
#
#   GATEHOUSE_BASE=<base commit> sh ci/gatehouse-ci.sh
#
# 1. `gatehouse check --range BASE..HEAD --format sarif` into $GATEHOUSE_SARIF (annotations);
# 2. the pre-push gate on the commits HEAD has and BASE has not, with the approvals in
#    refs/notes/gatehouse (fetched from origin when it has them): the verdict;
# 3. with GATEHOUSE_TASK set, `gatehouse task run $GATEHOUSE_TASK --here`.
#
# Variables: GATEHOUSE_BASE (required), GATEHOUSE_HEAD (default HEAD), GATEHOUSE_SARIF (default
# gatehouse.sarif), GATEHOUSE_TARGET_REF (the ref the change goes to, default refs/heads/main),
# GATEHOUSE_TASK, GATEHOUSE (the binary, default `gatehouse` on PATH).
# Exit: the gate's status (0 passed, 1 blocked, 3 held for review), 2 on an error.
set -u

gatehouse=${GATEHOUSE:-gatehouse}
sarif=${GATEHOUSE_SARIF:-gatehouse.sarif}
head_rev=${GATEHOUSE_HEAD:-HEAD}
target=${GATEHOUSE_TARGET_REF:-refs/heads/main}
# The gate in CI is not skippable, and is not pre-commit's.
unset GATEHOUSE_SKIP PRE_COMMIT PRE_COMMIT_LOCAL_BRANCH PRE_COMMIT_REMOTE_BRANCH

fail() {
    echo "gatehouse-ci: $*" >&2
    exit 2
}

[ -n "${GATEHOUSE_BASE:-}" ] || fail "set GATEHOUSE_BASE to the commit the change starts from (the pull request's base)"
command -v "$gatehouse" >/dev/null 2>&1 || fail "no gatehouse binary ($gatehouse) on PATH"
case $GATEHOUSE_BASE in
    *[!0]*) ;;
    *) fail "GATEHOUSE_BASE is the zero commit (a new branch): pass the commit it was branched from" ;;
esac
base=$(git rev-parse --verify -q "$GATEHOUSE_BASE^{commit}") ||
    fail "$GATEHOUSE_BASE is not a commit here; fetch the full history (actions/checkout with fetch-depth: 0, GIT_DEPTH: 0)"
head=$(git rev-parse --verify -q "$head_rev^{commit}") || fail "$head_rev is not a commit here"

if git remote get-url origin >/dev/null 2>&1; then
    git fetch -q origin '+refs/notes/gatehouse:refs/notes/gatehouse' 2>/dev/null || true
fi

"$gatehouse" check --range "$base..$head" --format sarif >"$sarif"
check_status=$?
echo "gatehouse-ci: check --range ${base%"${base#????????????}"}..${head%"${head#????????????}"}: exit $check_status, SARIF in $sarif" >&2
[ "$check_status" -eq 2 ] && fail "check failed"

# The gate counts as known what a remote has; here that is exactly the base, through a
# temporary remote that is removed again (with its ref) whatever happens.
remote=gatehouse-ci-base
git remote remove "$remote" >/dev/null 2>&1
git remote add "$remote" . || fail "cannot add the temporary remote $remote"
trap 'git remote remove "$remote" >/dev/null 2>&1' EXIT
git update-ref "refs/remotes/$remote/base" "$base" || fail "cannot point refs/remotes/$remote/base at $base"
printf '%s %s %s %s\n' "$target" "$head" "$target" "$base" | "$gatehouse" hook pre-push "$remote" .
gate_status=$?
echo "gatehouse-ci: gate: exit $gate_status" >&2

if [ -n "${GATEHOUSE_TASK:-}" ]; then
    "$gatehouse" task run "$GATEHOUSE_TASK" --here
    task_status=$?
    echo "gatehouse-ci: task $GATEHOUSE_TASK: exit $task_status" >&2
    [ "$gate_status" -eq 0 ] && gate_status=$task_status
fi
exit "$gate_status"
