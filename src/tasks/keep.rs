//! Folders a task keeps between its runs (`keep = [".venv", "node_modules"]`): dependency
//! installs that git ignores and that take long to rebuild. When a run's worktree goes, they are
//! moved (renamed, never copied) into the task's store under [`super::worktree::kept_root`]; the
//! next run of the task moves them into its own worktree before setup.
//!
//! Nothing else crosses from one run to the next: every run still gets a new worktree checked
//! out from its base, so tracked files, other untracked or ignored files and the `.git` file an
//! earlier agent left are gone. Only real directories that git ignores are moved, never through a
//! symlink. Whoever claims the stored folders first takes them (a rename of the task's store), so
//! concurrent runs of a task never share them: the others start without.

use std::path::{Path, PathBuf};

use git2::Repository;

use crate::git::Repo;

/// Errors moving kept folders; a run goes on without them.
#[derive(Debug, thiserror::Error)]
pub enum KeepError {
    #[error("cannot move {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeepError {
    let path = path.to_path_buf();
    move |source| KeepError::Io { path, source }
}

/// [`restore`] for run `run_id` of `task` in `repo`: what it took over, logging what failed.
pub fn restore_run(
    repo: &Repo,
    run_id: &str,
    task: &str,
    patterns: &[String],
    worktree: &Repository,
) -> Vec<String> {
    let store = super::worktree::kept_root(repo);
    restore(&store, task, run_id, patterns, worktree).unwrap_or_else(|e| {
        tracing::warn!(run = %run_id, "starting without the kept folders: {e}");
        Vec::new()
    })
}

/// [`stash`] for run `run_id` of `task` in `repo`, from its worktree as git recorded it (never
/// by following its `.git` file, which the agent could have rewritten).
pub fn stash_run(repo: &Repo, run_id: &str, task: &str, patterns: &[String]) {
    let worktree = repo
        .git2()
        .find_worktree(&super::worktree::worktree_name(run_id))
        .and_then(|w| Repository::open_from_worktree(&w));
    let stored = worktree.map_err(|e| e.to_string()).and_then(|worktree| {
        let store = super::worktree::kept_root(repo);
        stash(&store, task, run_id, patterns, &worktree).map_err(|e| e.to_string())
    });
    if let Err(e) = stored {
        tracing::warn!(run = %run_id, "the kept folders are not kept: {e}");
    }
}

/// Moves the folders stored for `task` matching `patterns` into `worktree` (a fresh checkout);
/// returns them, repository-relative. What the worktree has already, or does not ignore, is
/// dropped.
pub fn restore(
    store: &Path,
    task: &str,
    run_id: &str,
    patterns: &[String],
    worktree: &Repository,
) -> Result<Vec<String>, KeepError> {
    let Some(dir) = worktree.workdir() else {
        return Ok(Vec::new());
    };
    let claimed = store.join(format!(".claimed-{run_id}"));
    match std::fs::rename(store.join(task), &claimed) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(&store.join(task))(e)),
    }
    let mut moved = Vec::new();
    for rel in matches(&claimed, patterns) {
        let target = dir.join(&rel);
        let free = std::fs::symlink_metadata(&target).is_err();
        if !free || !real_dirs(&claimed, &rel) || !make_parents(dir, &rel) {
            continue;
        }
        std::fs::rename(claimed.join(&rel), &target).map_err(io(&target))?;
        if ignored(worktree, &rel) {
            moved.push(text(&rel));
        } else {
            // The new base tracks it or stopped ignoring it: a fresh install it is.
            std::fs::remove_dir_all(&target).map_err(io(&target))?;
        }
    }
    std::fs::remove_dir_all(&claimed).map_err(io(&claimed))?;
    Ok(moved)
}

/// Moves `worktree`'s folders matching `patterns` that git ignores into the store of `task`,
/// replacing what it held; returns them, repository-relative.
pub fn stash(
    store: &Path,
    task: &str,
    run_id: &str,
    patterns: &[String],
    worktree: &Repository,
) -> Result<Vec<String>, KeepError> {
    let Some(dir) = worktree.workdir() else {
        return Ok(Vec::new());
    };
    let candidates: Vec<PathBuf> = matches(dir, patterns)
        .into_iter()
        .filter(|rel| real_dirs(dir, rel) && ignored(worktree, rel))
        .collect();
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let staging = store.join(format!(".stash-{run_id}"));
    private_dir(store)?;
    let mut moved = Vec::new();
    for rel in candidates {
        let target = staging.join(&rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        std::fs::rename(dir.join(&rel), &target).map_err(io(&dir.join(&rel)))?;
        moved.push(text(&rel));
    }
    let old = store.join(format!(".old-{run_id}"));
    if std::fs::rename(store.join(task), &old).is_ok() {
        std::fs::remove_dir_all(&old).map_err(io(&old))?;
    }
    if std::fs::rename(&staging, store.join(task)).is_err() {
        // Another run of the task stored its folders in between: those stay.
        std::fs::remove_dir_all(&staging).map_err(io(&staging))?;
    }
    Ok(moved)
}

/// The paths under `root` matching `patterns`, repository-relative, each once.
fn matches(root: &Path, patterns: &[String]) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = patterns
        .iter()
        .flat_map(|p| super::setup::expand(root, &p.split('/').collect::<Vec<_>>()))
        .collect();
    found.sort();
    found.dedup();
    // A folder inside another kept one moves with it.
    let all = found.clone();
    found.retain(|p| !all.iter().any(|q| q != p && p.starts_with(q)));
    found
}

/// Whether `rel` and every directory on the way to it under `root` is a real directory: a
/// symlink (an agent's `ln -s ~/.ssh .venv`) is never followed nor carried.
fn real_dirs(root: &Path, rel: &Path) -> bool {
    let mut path = root.to_path_buf();
    rel.components().all(|c| {
        path.push(c);
        std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_dir())
    })
}

/// Creates the missing directories above `rel` in `dir`; `false` when one on the way is not a
/// real directory (a tracked symlink must not lead the move out of the worktree).
fn make_parents(dir: &Path, rel: &Path) -> bool {
    let Some(parent) = rel.parent().filter(|p| !p.as_os_str().is_empty()) else {
        return true;
    };
    let mut path = dir.to_path_buf();
    parent.components().all(|c| {
        path.push(c);
        match std::fs::symlink_metadata(&path) {
            Ok(m) => m.file_type().is_dir(),
            Err(_) => std::fs::create_dir(&path).is_ok(),
        }
    })
}

fn ignored(worktree: &Repository, rel: &Path) -> bool {
    worktree.is_path_ignored(rel).unwrap_or(false)
}

fn private_dir(path: &Path) -> Result<(), KeepError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(io(path))
}

fn text(rel: &Path) -> String {
    rel.to_string_lossy().replace('\\', "/")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A repository ignoring `.venv/` and `web/node_modules/`, with a commit.
    fn repo(dir: &Path) -> Repository {
        let repo = Repository::init(dir).unwrap();
        std::fs::write(dir.join(".gitignore"), ".venv/\nnode_modules/\n").unwrap();
        let mut index = repo.index().unwrap();
        index.add_path(Path::new(".gitignore")).unwrap();
        {
            let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
            let sig = git2::Signature::now("t", "t@example.com").unwrap();
            repo.commit(Some("HEAD"), &sig, &sig, "base", &tree, &[])
                .unwrap();
        }
        repo
    }

    fn install(dir: &Path, rel: &str) {
        std::fs::create_dir_all(dir.join(rel)).unwrap();
        std::fs::write(dir.join(rel).join("installed"), rel).unwrap();
    }

    #[test]
    fn kept_folders_move_to_the_next_worktree_and_only_one_run_claims_them() {
        let (a, b, c, store) = (
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
        );
        let store = store.path().join("kept");
        let keep = vec![".venv".to_string(), "web/node_modules".to_string()];
        let first = repo(a.path());
        install(a.path(), ".venv/lib");
        install(a.path(), "web/node_modules");
        std::fs::write(a.path().join("litter.txt"), "not kept").unwrap();
        let moved = stash(&store, "t", "r1", &keep, &first).unwrap();
        assert_eq!(moved, [".venv", "web/node_modules"]);
        assert!(!a.path().join(".venv").exists() && a.path().join("litter.txt").exists());
        let second = repo(b.path());
        let third = repo(c.path());
        let got = restore(&store, "t", "r2", &keep, &second).unwrap();
        assert_eq!(got, [".venv", "web/node_modules"]);
        assert!(b.path().join(".venv/lib/installed").is_file());
        assert!(b.path().join("web/node_modules/installed").is_file());
        assert!(!b.path().join("litter.txt").exists());
        // A run of the same task starting meanwhile finds nothing to share.
        assert!(
            restore(&store, "t", "r3", &keep, &third)
                .unwrap()
                .is_empty()
        );
        assert!(!c.path().join(".venv").exists());
        assert_eq!(
            std::fs::read_dir(&store).unwrap().count(),
            0,
            "no leftovers"
        );
    }

    #[test]
    fn symlinks_and_folders_git_does_not_ignore_are_never_carried() {
        let (a, b, outside, store) = (
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
        );
        let store = store.path().join("kept");
        let keep = vec![
            ".venv".to_string(),
            "vendor".to_string(),
            "web/*".to_string(),
        ];
        let first = repo(a.path());
        std::fs::write(outside.path().join("secret"), "s").unwrap();
        std::os::unix::fs::symlink(outside.path(), a.path().join(".venv")).unwrap();
        std::os::unix::fs::symlink(outside.path(), a.path().join("web")).unwrap();
        install(a.path(), "vendor");
        assert!(stash(&store, "t", "r1", &keep, &first).unwrap().is_empty());
        assert!(outside.path().join("secret").is_file(), "not moved through");
        assert!(
            a.path().join("vendor/installed").is_file(),
            "not ignored: stays"
        );
        // A stored folder the next base tracks a file in stays out of the way.
        std::fs::remove_file(a.path().join(".venv")).unwrap();
        install(a.path(), ".venv");
        assert_eq!(stash(&store, "t", "r1", &keep, &first).unwrap(), [".venv"]);
        let second = repo(b.path());
        std::fs::create_dir_all(b.path().join(".venv")).unwrap();
        std::fs::write(b.path().join(".venv/tracked"), "t").unwrap();
        assert!(
            restore(&store, "t", "r2", &keep, &second)
                .unwrap()
                .is_empty()
        );
        assert!(!b.path().join(".venv/installed").exists());
    }
}
