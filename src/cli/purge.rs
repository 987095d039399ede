//! `gatehouse uninstall --purge`: after the shims, gatehouse's state for this repository goes
//! too: `<git-common-dir>/gatehouse` (state database, check cache, logs, run records, the daemon's
//! lock and socket) and the task worktrees under the user's state home, with git's records of
//! them. It refuses while the repository's daemon runs (the daemon holds the database open and
//! would recreate what is removed); what people made stays: every branch (review branches
//! included), the approval and audit notes, `.gatehouse/`, a service file.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::daemon::lock;
use crate::git::Repo;

/// What a purge keeps, printed after what it removed.
const KEPT: &str = "kept: every branch (review branches gatehouse/* included), the approval and audit notes \
(refs/notes/gatehouse*), .gatehouse/ (config and tasks), and a service file from \
`gatehouse daemon install-service` (`gatehouse daemon uninstall-service` removes it)";

/// Refuses while the repository's daemon runs: it holds the state database open and would
/// recreate what a purge removes. Called before anything is removed.
pub fn refuse_while_daemon_runs(repo: &Repo) -> anyhow::Result<()> {
    let paths = super::daemon::paths(repo);
    if let Some(pid) = lock::holder(&paths.lock).filter(|pid| lock::is_daemon(*pid)) {
        bail!(
            "the daemon of this repository is running (pid {pid}): nothing was removed; stop it \
with `gatehouse daemon stop` (and `gatehouse daemon uninstall-service` if a service starts it), \
then run `gatehouse uninstall --purge` again"
        );
    }
    Ok(())
}

/// Removes gatehouse's state for `repo`, printing each path removed.
pub fn purge(repo: &Repo) -> anyhow::Result<Vec<PathBuf>> {
    refuse_while_daemon_runs(repo)?;
    let paths = super::daemon::paths(repo);
    let root = crate::tasks::worktree::root(repo);
    let mut removed = prune_worktrees(repo, &root)?;
    for dir in per_repository_dirs(&root, &paths.state_dir)? {
        if remove_dir(&dir)? {
            removed.push(dir);
        }
    }
    // A socket too long for the state directory lives in the runtime directory.
    if !paths.socket.starts_with(&paths.state_dir) && remove_file(&paths.socket)? {
        removed.push(paths.socket.clone());
    }
    for path in &removed {
        eprintln!("removed {}", path.display());
    }
    if removed.is_empty() {
        eprintln!("no gatehouse state to remove for this repository");
    }
    eprintln!("{KEPT}");
    Ok(removed)
}

/// Unlocks and prunes every git worktree whose directory is under `root` (the run worktrees),
/// so git forgets them; returns their directories. Their branches stay.
fn prune_worktrees(repo: &Repo, root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let git = repo.git2();
    let canonical = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let root = canonical(root);
    let names = git.worktrees().context("listing the git worktrees")?;
    let mut pruned = Vec::new();
    for name in names.iter().flatten().flatten() {
        let Ok(worktree) = git.find_worktree(name) else {
            continue;
        };
        let path = worktree.path().to_path_buf();
        if !canonical(&path).starts_with(&root) {
            continue;
        }
        let _ = worktree.unlock();
        let mut options = git2::WorktreePruneOptions::new();
        options.valid(true).locked(true).working_tree(true);
        worktree
            .prune(Some(&mut options))
            .with_context(|| format!("removing the worktree {}", path.display()))?;
        pruned.push(path);
    }
    Ok(pruned)
}

/// The repository's directories under the user's state home: `<kind>/<repo>-<hash>` of every
/// kind beside the worktrees' (`root`), then the state directory.
fn per_repository_dirs(root: &Path, state_dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut dirs = vec![root.to_path_buf()];
    let (Some(key), Some(kinds)) = (root.file_name(), root.parent().and_then(Path::parent)) else {
        return Ok(dirs);
    };
    if !root.starts_with(state_dir) && kinds.is_dir() {
        let entries =
            std::fs::read_dir(kinds).with_context(|| format!("listing {}", kinds.display()))?;
        for entry in entries.flatten() {
            let dir = entry.path().join(key);
            if dir != root && dir.is_dir() {
                dirs.push(dir);
            }
        }
    }
    dirs.push(state_dir.to_path_buf());
    Ok(dirs)
}

/// Removes a directory tree; `false` when there was none.
fn remove_dir(dir: &Path) -> anyhow::Result<bool> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e).with_context(|| format!("removing {}", dir.display())),
    }
}

fn remove_file(path: &Path) -> anyhow::Result<bool> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e).with_context(|| format!("removing {}", path.display())),
    }
}
