//! Scratch worktrees: `$XDG_STATE_HOME/gatehouse/worktrees/<repo-key>/<run-id>` on branch
//! `gatehouse/<task>/<run-id>`, created from the base commit with libgit2 (no hooks run, the
//! user's working tree, index and HEAD are never touched), locked with the run id, and removed
//! when the run ends.
//!
//! They live outside the repository's `.git/` because agents treat everything under `.git/` as
//! off limits (Claude Code refuses every edit there), and outside the user's tree so that no
//! tool of the user's sees them.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use crate::git::Repo;

use git2::{Oid, Repository, WorktreeAddOptions, WorktreePruneOptions};

/// Errors of worktree handling.
#[derive(Debug, thiserror::Error)]
pub enum WorktreeError {
    #[error("{action} {what}: {source}")]
    Git {
        action: &'static str,
        what: String,
        source: git2::Error,
    },
    #[error("the review branch {branch} moved since changes were requested (it was at {expected})")]
    Moved { branch: String, expected: Oid },
    #[error("cannot remove {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn git(action: &'static str, what: impl Into<String>) -> impl FnOnce(git2::Error) -> WorktreeError {
    let what = what.into();
    move |source| WorktreeError::Git {
        action,
        what,
        source,
    }
}

/// The branch of a run.
pub fn branch_name(task: &str, run_id: &str) -> String {
    format!("gatehouse/{task}/{run_id}")
}

/// The directory holding `repo`'s scratch worktrees: one per repository under the user's state
/// home, named after the repository's directory and a hash of its git directory's canonical path
/// (two clones never share one). Without a home, `<git-common-dir>/gatehouse/worktrees`.
pub fn root(repo: &Repo) -> PathBuf {
    per_repository(repo, "worktrees")
}

/// The directory holding the folders `repo`'s tasks keep between runs (see
/// [`super::keep`]), beside [`root`] so that moving them in and out is a rename.
pub fn kept_root(repo: &Repo) -> PathBuf {
    per_repository(repo, "kept")
}

/// `<state home>/gatehouse/<kind>/<repo-name>-<hash>`, or `<git-common-dir>/gatehouse/<kind>`.
fn per_repository(repo: &Repo, kind: &str) -> PathBuf {
    let common = repo.common_dir();
    let common = common
        .canonicalize()
        .unwrap_or_else(|_| common.to_path_buf());
    let Some(state_home) = crate::env::state_home() else {
        return repo.state_dir().join(kind);
    };
    let hash = crate::git::hash_blob(common.as_os_str().as_encoded_bytes()).to_string();
    let name = common
        .parent()
        .and_then(|p| p.file_name())
        .map(|n| {
            n.to_string_lossy().replace(
                |c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_',
                "_",
            )
        })
        .unwrap_or_default();
    state_home
        .join("gatehouse")
        .join(kind)
        .join(format!("{name}-{}", &hash[..12]))
}

/// Where a run's worktree lives, under [`root`].
pub fn worktree_path(root: &Path, run_id: &str) -> PathBuf {
    root.join(run_id)
}

/// A git worktree's name may not hold `/` or start with `.`.
pub fn worktree_name(run_id: &str) -> String {
    format!("gatehouse-{run_id}")
}

/// Creates the branch at `base` and a worktree checked out on it, locked with the run id.
pub fn create(
    repo: &Repository,
    root: &Path,
    task: &str,
    run_id: &str,
    base: Oid,
) -> Result<PathBuf, WorktreeError> {
    let branch = branch_name(task, run_id);
    let commit = repo
        .find_commit(base)
        .map_err(git("cannot find", format!("base commit {base}")))?;
    let reference = repo
        .branch(&branch, &commit, false)
        .map_err(git("cannot create branch", branch.clone()))?
        .into_reference();
    add_locked(repo, root, run_id, &reference)
}

/// A worktree for run `run_id` checked out on the existing branch `branch`, which must be at
/// `base` (a follow-up round of a review continues where the last round left it).
pub fn create_on(
    repo: &Repository,
    root: &Path,
    branch: &str,
    run_id: &str,
    base: Oid,
) -> Result<PathBuf, WorktreeError> {
    let found = repo
        .find_branch(branch, git2::BranchType::Local)
        .map_err(git("cannot find the review branch", branch))?;
    let reference = found.into_reference();
    if reference.target() != Some(base) {
        return Err(WorktreeError::Moved {
            branch: branch.to_string(),
            expected: base,
        });
    }
    add_locked(repo, root, run_id, &reference)
}

/// Adds run `run_id`'s worktree under `root` (created private) on `reference`, locked with the
/// run id.
fn add_locked(
    repo: &Repository,
    root: &Path,
    run_id: &str,
    reference: &git2::Reference<'_>,
) -> Result<PathBuf, WorktreeError> {
    let path = worktree_path(root, run_id);
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(root)
        .map_err(|source| WorktreeError::Io {
            path: root.to_path_buf(),
            source,
        })?;
    let mut options = WorktreeAddOptions::new();
    options.reference(Some(reference));
    let worktree = repo
        .worktree(&worktree_name(run_id), &path, Some(&options))
        .map_err(git("cannot create worktree", path.display().to_string()))?;
    worktree
        .lock(Some(&format!("gatehouse run {run_id}")))
        .map_err(git("cannot lock worktree", path.display().to_string()))?;
    Ok(path)
}

/// Removes a run's worktree (files and administrative entry); deletes its branch too unless
/// `keep_branch`. Whatever is already gone is fine.
pub fn remove(
    repo: &Repository,
    root: &Path,
    task: &str,
    run_id: &str,
    keep_branch: bool,
) -> Result<(), WorktreeError> {
    let path = worktree_path(root, run_id);
    if let Ok(worktree) = repo.find_worktree(&worktree_name(run_id)) {
        let _ = worktree.unlock();
        let mut prune = WorktreePruneOptions::new();
        prune.valid(true).locked(true).working_tree(true);
        worktree
            .prune(Some(&mut prune))
            .map_err(git("cannot remove worktree", path.display().to_string()))?;
    }
    if path.exists() {
        std::fs::remove_dir_all(&path).map_err(|source| WorktreeError::Io {
            path: path.clone(),
            source,
        })?;
    }
    if !keep_branch {
        delete_branch(repo, &branch_name(task, run_id))?;
    }
    Ok(())
}

/// Deletes a local branch if it exists.
pub fn delete_branch(repo: &Repository, branch: &str) -> Result<(), WorktreeError> {
    match repo.find_branch(branch, git2::BranchType::Local) {
        Ok(mut b) => b.delete().map_err(git("cannot delete branch", branch)),
        Err(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_with_commit(dir: &Path) -> (Repository, Oid) {
        let repo = Repository::init(dir).unwrap();
        std::fs::write(dir.join("a.txt"), "a\n").unwrap();
        let mut index = repo.index().unwrap();
        index.add_path(Path::new("a.txt")).unwrap();
        let id = {
            let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
            let sig = git2::Signature::now("t", "t@example.com").unwrap();
            repo.commit(Some("HEAD"), &sig, &sig, "base", &tree, &[])
                .unwrap()
        };
        (repo, id)
    }

    #[test]
    fn creates_locks_and_removes_without_touching_head() {
        let dir = tempfile::tempdir().unwrap();
        let (repo, base) = repo_with_commit(dir.path());
        let head = repo.head().unwrap().name().unwrap().to_string();
        let state = dir.path().join("worktrees");
        let path = create(&repo, &state, "annotate", "r1", base).unwrap();
        assert!(path.join("a.txt").is_file());
        let worktree = repo.find_worktree("gatehouse-r1").unwrap();
        assert!(
            matches!(worktree.is_locked().unwrap(), git2::WorktreeLockStatus::Locked(Some(r)) if r.contains("r1"))
        );
        assert_eq!(repo.head().unwrap().name().unwrap(), head);
        remove(&repo, &state, "annotate", "r1", true).unwrap();
        assert!(!path.exists() && repo.find_worktree("gatehouse-r1").is_err());
        assert!(
            repo.find_branch("gatehouse/annotate/r1", git2::BranchType::Local)
                .is_ok()
        );
        remove(&repo, &state, "annotate", "r1", false).unwrap();
        assert!(
            repo.find_branch("gatehouse/annotate/r1", git2::BranchType::Local)
                .is_err()
        );
    }
}
