//! The prompt an agent gets on stdin: goal, context files, scope, constraints and the
//! acceptance checks it will be held to.

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
}
