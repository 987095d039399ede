//! The prompt an agent gets on stdin: goal, context files, scope, constraints and the
//! acceptance checks it will be held to; for a follow-up round of a review, also the reviewer's
//! comment and the change so far.

use std::fmt::Write as _;

use super::spec::{Accept, Task};

/// The prompt for a run of `task`.
pub fn assemble(task: &Task) -> String {
    let mut p = String::new();
    let _ = writeln!(p, "# Task: {} ({})\n", task.name, task.kind);
    let _ = writeln!(p, "{}\n", task.goal.trim());
    if !task.context.is_empty() {
        p.push_str("## Context\n\nRead these files first; they are what the goal refers to:\n\n");
        for file in &task.context {
            let _ = writeln!(p, "- {file}");
        }
        p.push('\n');
    }
    p.push_str("## Scope\n\nChange only files matching these patterns (gitignore syntax, relative to the repository root):\n\n");
    for pattern in &task.scope {
        let _ = writeln!(p, "- {pattern}");
    }
    p.push_str("\nA change to any other file fails the task.\n\n");
    p.push_str(
        "## Constraints\n\n\
         - Edit files only: do not commit, push, create branches or change git configuration; \
         gatehouse validates and commits your changes itself.\n\
         - Stay inside the current directory; do not modify .gatehouse/ or any git hooks.\n\
         - Do not add dependencies the project does not declare.\n\n",
    );
    p.push_str("## Acceptance\n\nYour change is accepted only if all of these pass:\n\n");
    for accept in &task.accept {
        match accept {
            Accept::Run { command, .. } => {
                let _ = writeln!(p, "- `{command}` exits 0 (run from the repository root)");
            }
            Accept::Gate => p.push_str(
                "- gatehouse's checks pass on the lines you change: every Python function fully annotated, \
                 no imports of undeclared packages or of modules and names that do not exist\n",
            ),
        }
    }
    if task.accept.is_empty() {
        p.push_str("- the scope above is respected\n");
    }
    p
}

/// How much of the change so far a follow-up prompt quotes.
const MAX_DIFF: usize = 60_000;

/// A follow-up round: which one, what the reviewer asked, and the review's diff so far.
#[derive(Debug, Clone, Default)]
pub struct Round {
    pub number: usize,
    pub comment: String,
    pub diff: String,
}

/// The prompt of a follow-up round of `task`: the task's prompt, then the reviewer's comment and
/// the change so far (already in the worktree), to be revised rather than redone.
pub fn follow_up(task: &Task, round: &Round) -> String {
    let mut p = assemble(task);
    let _ = writeln!(p, "\n## Review feedback (round {})\n", round.number);
    p.push_str(
        "Your previous change is already applied in this worktree. A reviewer read it and asks \
         for changes:\n\n",
    );
    for line in round.comment.trim().lines() {
        let _ = writeln!(p, "> {line}");
    }
    p.push_str(
        "\nRevise the change to address this comment; keep what the comment does not question. \
         Scope, constraints and acceptance above still apply.\n\n",
    );
    p.push_str("## The change so far\n\n```diff\n");
    if round.diff.len() > MAX_DIFF {
        let mut cut = MAX_DIFF;
        while !round.diff.is_char_boundary(cut) {
            cut -= 1;
        }
        p.push_str(&round.diff[..cut]);
        let _ = writeln!(
            p,
            "\n… ({} more bytes not shown; the files in the worktree are complete)",
            round.diff.len() - cut
        );
    } else {
        p.push_str(&round.diff);
    }
    if !p.ends_with('\n') {
        p.push('\n');
    }
    p.push_str("```\n");
    p
}

/// The patch from commit `base` to commit `tip`, as `git diff` prints it.
pub fn diff_text(
    repo: &git2::Repository,
    base: git2::Oid,
    tip: git2::Oid,
) -> Result<String, git2::Error> {
    let old = repo.find_commit(base)?.tree()?;
    let new = repo.find_commit(tip)?.tree()?;
    let diff = repo.diff_tree_to_tree(Some(&old), Some(&new), None)?;
    let mut text = String::new();
    diff.print(git2::DiffFormat::Patch, |_, _, line| {
        if matches!(line.origin(), '+' | '-' | ' ') {
            text.push(line.origin());
        }
        text.push_str(&String::from_utf8_lossy(line.content()));
        true
    })?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_goal_context_scope_constraints_and_checks() {
        let text = "kind = \"types\"\ngoal = \"Annotate api/handlers.py.\"\ncontext = [\"api/models.py\"]\n\
                    scope = [\"api/handlers.py\"]\nagent = \"codex\"\n[[accept]]\nrun = \"mypy api\"\n[[accept]]\ngate = true\n";
        let task = super::super::spec::parse(".gatehouse/tasks/annotate.toml", text).unwrap();
        let prompt = assemble(&task);
        for needle in [
            "Annotate api/handlers.py.",
            "- api/models.py",
            "- api/handlers.py",
            "do not commit",
            "`mypy api` exits 0",
            "gatehouse's checks",
        ] {
            assert!(prompt.contains(needle), "{needle} missing from:\n{prompt}");
        }
    }

    #[test]
    fn a_follow_up_quotes_the_comment_and_the_change_so_far() {
        let text = "kind = \"docs\"\ngoal = \"Improve the notes.\"\nscope = [\"docs/**\"]\nagent = \"x\"\n";
        let task = super::super::spec::parse(".gatehouse/tasks/docs.toml", text).unwrap();
        let round = Round {
            number: 2,
            comment: "Also mention the installer.\nAnd be brief.".into(),
            diff: "--- a/docs/notes.txt\n+++ b/docs/notes.txt\n+edited\n".into(),
        };
        let prompt = follow_up(&task, &round);
        for needle in [
            "Improve the notes.",
            "## Review feedback (round 2)",
            "> Also mention the installer.\n> And be brief.",
            "```diff\n--- a/docs/notes.txt",
            "+edited\n```",
        ] {
            assert!(prompt.contains(needle), "{needle} missing from:\n{prompt}");
        }
        let long = Round {
            diff: "+é".repeat(MAX_DIFF),
            ..round
        };
        let prompt = follow_up(&task, &long);
        assert!(prompt.contains("more bytes not shown"));
        assert!(prompt.len() < MAX_DIFF + 5_000);
    }
}
