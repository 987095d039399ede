//! Preparing a run's fresh worktree before the agent starts: copying files of the user's
//! checkout that git ignores (`.env`, local settings) and running setup commands (installing
//! dependencies), confined exactly like acceptance commands. What setup leaves must be ignored
//! by git: it is the agent's starting point, never part of its change.

use std::path::{Path, PathBuf};

use git2::Repository;
use serde::Serialize;

use super::spec::{Setup, Task};
use super::validate::{self, AcceptResult};
use crate::agents::CancelToken;

/// What setup did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Prepared {
    /// Files copied from the checkout, repository-relative.
    pub copied: Vec<String>,
    /// The setup commands, as acceptance results (exit code, duration, output tail).
    pub commands: Vec<AcceptResult>,
}

/// Runs `task`'s setup in `worktree` (files copied from `checkout`); `Err` says why the run
/// fails. Each command gets `run_dir/setup-N/` for its log and temp files.
pub fn prepare(
    task: &Task,
    checkout: Option<&Path>,
    worktree: &Repository,
    run_dir: &Path,
    home: Option<&Path>,
    cancel: &CancelToken,
) -> Result<Prepared, (Prepared, String)> {
    let mut prepared = Prepared::default();
    let Some(dir) = worktree.workdir().map(Path::to_path_buf) else {
        return Err((
            prepared,
            "the run's worktree has no working directory".into(),
        ));
    };
    for (n, step) in task.setup.iter().enumerate() {
        if cancel.is_cancelled() {
            break;
        }
        match step {
            Setup::Copy { patterns } => {
                let Some(checkout) = checkout else {
                    return Err((
                        prepared,
                        "setup copies from your checkout, and this repository has none".into(),
                    ));
                };
                match copy(checkout, worktree, &dir, patterns) {
                    Ok(copied) => prepared.copied.extend(copied),
                    Err(why) => return Err((prepared, format!("setup failed: {why}"))),
                }
            }
            Setup::Run { command, timeout } => {
                let own = run_dir.join(format!("setup-{n}"));
                let result =
                    super::commands::run_confined(command, &dir, &own, *timeout, home, cancel);
                let passed = result.passed();
                let why = format!(
                    "setup failed: `{command}` {}",
                    match (result.timed_out, result.exit_code) {
                        (true, _) => "timed out".to_string(),
                        (_, Some(code)) => format!("exited {code}"),
                        (_, None) => "did not run".to_string(),
                    }
                );
                prepared.commands.push(result);
                if !passed {
                    return Err((prepared, why));
                }
            }
        }
    }
    // Setup prepares; it does not change: anything it left that git would see would become
    // part of the agent's change (and be judged against its scope).
    match validate::changed_files(worktree) {
        Ok(changed) if changed.is_empty() => Ok(prepared),
        Ok(changed) => {
            let paths: Vec<&str> = changed.iter().map(|c| c.path.as_str()).collect();
            Err((
                prepared,
                format!(
                    "setup left files git does not ignore: {} (setup may only create ignored files: add them to .gitignore)",
                    paths.join(", ")
                ),
            ))
        }
        Err(e) => Err((prepared, format!("reading the worktree after setup: {e}"))),
    }
}

/// Copies the files of `checkout` matching `patterns` that git ignores in the worktree.
fn copy(
    checkout: &Path,
    worktree: &Repository,
    dir: &Path,
    patterns: &[String],
) -> Result<Vec<String>, String> {
    let root = checkout
        .canonicalize()
        .map_err(|e| format!("reading {}: {e}", checkout.display()))?;
    let mut copied = Vec::new();
    for pattern in patterns {
        let segments: Vec<&str> = pattern.split('/').collect();
        for rel in expand(&root, &segments) {
            let rel_text = rel.to_string_lossy().replace('\\', "/");
            let source = root.join(&rel);
            // Only regular files inside the checkout: no symlink out, no FIFO, no device.
            let inside = source.canonicalize().is_ok_and(|c| c.starts_with(&root));
            let regular = std::fs::symlink_metadata(&source).is_ok_and(|m| m.file_type().is_file());
            if !inside || !regular {
                continue;
            }
            if !worktree.is_path_ignored(&rel).unwrap_or(false) {
                return Err(format!(
                    "`{rel_text}` is not ignored by git: copied, it would become part of the agent's change (add it to .gitignore)"
                ));
            }
            let target = dir.join(&rel);
            if !leads_inside(dir, &rel) {
                return Err(format!(
                    "`{rel_text}` not copied: a symlink on the way to it in the worktree leads out \
                     of it (a kept folder holds what the task's last agent left)"
                ));
            }
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| format!("creating {}: {e}", parent.display()))?;
            }
            // A symlink (or hard link) there is replaced, never written through.
            if std::fs::symlink_metadata(&target).is_ok_and(|m| !m.is_dir()) {
                std::fs::remove_file(&target).map_err(|e| format!("replacing {rel_text}: {e}"))?;
            }
            std::fs::copy(&source, &target).map_err(|e| format!("copying {rel_text}: {e}"))?;
            copied.push(rel_text);
        }
    }
    copied.sort();
    copied.dedup();
    Ok(copied)
}

/// Whether the directories on the way to `rel` in the worktree `dir` that exist are directories
/// inside it. Before setup the worktree holds the task's kept folders (see `super::keep`), as the
/// task's last agent left them: a symlink there to a home directory must not lead a copy, which
/// gatehouse makes unconfined, out of the worktree; a symlink within it (pnpm's) may.
fn leads_inside(dir: &Path, rel: &Path) -> bool {
    let Ok(root) = dir.canonicalize() else {
        return false;
    };
    let mut path = dir.to_path_buf();
    for c in rel.parent().into_iter().flat_map(Path::components) {
        path.push(c);
        if std::fs::symlink_metadata(&path).is_err() {
            return true;
        }
        if !path
            .canonicalize()
            .is_ok_and(|p| p.starts_with(&root) && p.is_dir())
        {
            return false;
        }
    }
    true
}

/// The repository-relative paths under `root` matching `segments` (each `*`/`?` within one
/// segment), never inside `.git`.
pub(super) fn expand(root: &Path, segments: &[&str]) -> Vec<PathBuf> {
    let mut found = vec![PathBuf::new()];
    for segment in segments {
        let mut next = Vec::new();
        for prefix in &found {
            if !segment.contains(['*', '?']) {
                if root.join(prefix).join(segment).exists() {
                    next.push(prefix.join(segment));
                }
                continue;
            }
            let Ok(entries) = std::fs::read_dir(root.join(prefix)) else {
                continue;
            };
            let mut names: Vec<String> = entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n != ".git" && wildcard(segment, n))
                .collect();
            names.sort();
            next.extend(names.into_iter().map(|n| prefix.join(n)));
        }
        found = next;
    }
    found.retain(|p| !p.as_os_str().is_empty() && !p.starts_with(".git"));
    found
}

/// Whether `name` matches `pattern` (`*` any run, `?` one character).
fn wildcard(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_stay_within_a_segment() {
        assert!(wildcard("*.local", "db.local"));
        assert!(wildcard(".env*", ".env"));
        assert!(wildcard("a?c", "abc") && !wildcard("a?c", "abbc"));
        assert!(!wildcard("*.local", "db.local.bak"));
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("config/sub")).unwrap();
        std::fs::create_dir_all(dir.path().join(".git")).unwrap();
        for f in [
            "config/a.local",
            "config/b.local",
            "config/sub/c.local",
            ".env",
            ".git/x",
        ] {
            std::fs::write(dir.path().join(f), "x").unwrap();
        }
        let found = |p: &str| {
            let segments: Vec<&str> = p.split('/').collect();
            expand(dir.path(), &segments)
                .into_iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            found("config/*.local"),
            ["config/a.local", "config/b.local"]
        );
        assert_eq!(found(".env"), [".env"]);
        assert!(found("missing").is_empty());
        assert!(found("*/x").is_empty(), "never inside .git");
    }
}
