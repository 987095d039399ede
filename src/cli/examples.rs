//! The "Examples:" blocks that `--help` prints after the options of the main commands (and the
//! man pages carry in their EXTRA section): one place, so the examples read as one set.

pub const TOP: &str = "\
Examples:
  gatehouse init                       write .gatehouse/config.toml and install the hooks
  gatehouse check                      check the tracked files here and below
  gatehouse check --range origin/main..HEAD
                                       what a push of HEAD would bring
  gatehouse doctor                     will the gate run on the next push and merge?
  gatehouse completions bash           a completion script (./install.sh installs it)

Exit codes: 0 passed (warnings allowed), 1 blocked by findings, 2 error, 3 elevated review
required and not yet approved.";

pub const CHECK: &str = "\
Examples:
  gatehouse check                      the tracked files of this directory and below
                                       (at the root: the whole working tree)
  gatehouse check --range HEAD         the commits of HEAD that no remote has yet
  gatehouse check src/ tests/test_a.py only these files and directories
  gatehouse check --staged             the index, as a commit would take it
  gatehouse check --range origin/main..HEAD
                                       the changes a push of HEAD would bring, at HEAD
  gatehouse check --format sarif > gatehouse.sarif
                                       for a code-scanning service
  gatehouse check --rule sensitive-path --level-at-least review
  gatehouse check --no-baseline        baselined findings too (`gatehouse baseline` records
                                       them; only checks of scope all leave them out)";

pub const INSTALL: &str = "\
Examples:
  gatehouse install                    the hook shims, beside hooks already there
  gatehouse install --via pre-commit --dry-run
                                       show the entry it would add to .pre-commit-config.yaml
  gatehouse install --via husky        let husky run the gate (.husky/pre-push)
  gatehouse install --server           the pre-receive hook of a shared bare repository
  gatehouse uninstall --purge          remove the shims and gatehouse's state";

pub const UNINSTALL: &str = "\
Examples:
  gatehouse uninstall                  remove the shims, restoring the hooks they kept
  gatehouse uninstall --purge          also remove the state database, cache, logs and task
                                       worktrees of this repository (the daemon must be stopped)

Kept by --purge: your branches (review branches gatehouse/* included), approval and audit notes
(refs/notes/gatehouse*), .gatehouse/ (config and tasks, which you commit), and a service file
from `gatehouse daemon install-service`.";

pub const DOCTOR: &str = "\
Examples:
  gatehouse doctor                     what runs the gate, and pushes that skipped it
  gatehouse doctor --format json       the same for scripts (exit 1 when there are problems)
  gatehouse doctor --acknowledge       stop reporting the ungated pushes listed now";

pub const APPROVE: &str = "\
Examples:
  gatehouse approve -m \"migration reviewed with the DBA\"
                                       approve the review findings a push of HEAD brings
  gatehouse approve v1.2.0             approve another commit (the tip that will be pushed)
  gatehouse approve --delete refs/heads/release/1.0 origin/release/1.0
                                       approve deleting a protected remote branch
  gatehouse approve --list             the approvals recorded";

pub const TASK: &str = "\
Examples:
  gatehouse task list                  the tasks of .gatehouse/tasks/ and whether they are trusted
  gatehouse task run fix-lint --wait   run task fix-lint on HEAD and wait for its review
  gatehouse task run fix-lint --here   in this checkout, no worktree or daemon (for CI engines)
  gatehouse task trust fix-lint        let its trigger run it unattended";

pub const TASK_RUN: &str = "\
Examples:
  gatehouse task run fix-lint          queue a run on HEAD (the daemon runs it; without one, now)
  gatehouse task run fix-lint --wait   wait for the run to end and print its outcome
  gatehouse task run fix-lint --here   in this checkout, printing the summary as JSON (CI)";

pub const REVIEW: &str = "\
Examples:
  gatehouse review                     the runs waiting for a decision
  gatehouse review show latest --diff  the newest review, with its diff
  gatehouse review accept 20261206t0412
                                       merge it through the gate, recording your approval
  gatehouse review request-changes latest -m \"keep the public API\"
                                       another round on the same review branch
  gatehouse review reject latest -m \"wrong approach\"
  gatehouse review serve --open        the review page in your browser";

pub const AUDIT: &str = "\
Examples:
  gatehouse audit                      agent-written code since the last audit of this branch
  gatehouse audit --since 30d          of the last 30 days
  gatehouse audit --since v1.0 --branch main --no-record
                                       look without moving the next audit's start
  gatehouse audit --format json";

pub const BASELINE: &str = "\
Examples:
  gatehouse baseline                   record every finding of the working tree, then commit
                                       .gatehouse/baseline.json
  gatehouse check                      now reports only findings the baseline does not hold
  gatehouse check --no-baseline        every finding, baselined ones too
  gatehouse baseline                   again after fixing some: the file shrinks

A finding is recorded by rule, code, path, symbol (else message) and its source line's text,
not its line number: lines added above it keep it baselined, editing its line makes it new.
Only checks of scope all read the baseline; --staged, --range and the hooks (changed lines)
never do: new lines are new code. Findings about uncommitted changes (sensitive-path,
new-dependency) are never recorded. .gatehouse/ is a sensitive path, so a change to the
baseline needs review at the gate.";
