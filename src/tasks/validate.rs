//! Validating what an agent did in its worktree: which files changed, whether they are in
//! scope, the acceptance commands, and gatehouse's own gate; then the commit.

use std::path::Path;

use git2::{Oid, Repository, Status, StatusOptions};
use serde::Serialize;

/// How much of an acceptance command's output is kept.
pub const OUTPUT_TAIL: u64 = 4096;

/// A changed file of the worktree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Changed {
    pub path: String,
    /// added | modified | deleted | renamed | type-changed
    pub status: &'static str,
}

/// Every file that differs from the base commit (staged or not, untracked included, ignored
/// files excluded), sorted.
pub fn changed_files(worktree: &Repository) -> Result<Vec<Changed>, git2::Error> {
    let mut options = StatusOptions::new();
    options
        .include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false)
        .renames_head_to_index(false)
        .renames_index_to_workdir(false);
    let statuses = worktree.statuses(Some(&mut options))?;
    let mut changed: Vec<Changed> = statuses
        .iter()
        .filter_map(|entry| {
            let path = entry.path().ok()?.to_string();
            let s = entry.status();
            let status = if s.intersects(Status::WT_NEW | Status::INDEX_NEW) {
                "added"
            } else if s.intersects(Status::WT_DELETED | Status::INDEX_DELETED) {
                "deleted"
            } else if s.intersects(Status::WT_TYPECHANGE | Status::INDEX_TYPECHANGE) {
                "type-changed"
            } else if s.intersects(
                Status::WT_MODIFIED
                    | Status::INDEX_MODIFIED
                    | Status::WT_RENAMED
                    | Status::INDEX_RENAMED,
            ) {
                "modified"
            } else {
                return None;
            };
            Some(Changed { path, status })
        })
        .collect();
    changed.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(changed)
}

/// What one acceptance command did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AcceptResult {
    pub command: String,
    /// `None` when it was killed (timeout) or could not start.
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    pub duration_ms: u64,
    /// The last bytes of its combined output.
    pub output_tail: String,
}

impl AcceptResult {
    pub fn passed(&self) -> bool {
        self.exit_code == Some(0)
    }
}

/// The last `max` bytes of a file, lossily decoded. The file is in a directory the agent (or an
/// acceptance command) writes in, so it may have become a symlink to a secret gatehouse can read
/// and the agent cannot, or a FIFO: those are named, never read or followed.
pub fn tail(path: &Path, max: u64) -> String {
    match crate::config::read::tail_no_follow(path, max) {
        Ok(bytes) => String::from_utf8_lossy(&bytes.unwrap_or_default()).into_owned(),
        Err(why) => format!("[gatehouse: {} not shown: {why}]", path.display()),
    }
}

/// Commits everything in the worktree on top of `base` (author and committer "gatehouse",
/// with the task trailers) without moving any reference; returns the commit.
pub fn commit(
    worktree: &Repository,
    base: Oid,
    subject: &str,
    task: &str,
    run_id: &str,
) -> Result<Oid, git2::Error> {
    let mut index = worktree.index()?;
    index.add_all(["*"], git2::IndexAddOption::DEFAULT, None)?;
    index.update_all(["*"], None)?;
    index.write()?;
    let tree = worktree.find_tree(index.write_tree()?)?;
    let parent = worktree.find_commit(base)?;
    let signature = git2::Signature::now("gatehouse", "gatehouse@localhost")?;
    let message = format!("{task}: {subject}\n\nGatehouse-Task: {task}\nGatehouse-Run: {run_id}\n");
    worktree.commit(None, &signature, &signature, &message, &tree, &[&parent])
}

/// Insertions and deletions of a commit against its parent, with the number of files.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DiffStat {
    pub files: usize,
    pub insertions: usize,
    pub deletions: usize,
}

/// What an agent may not bring, whatever its scope: a symbolic link (an in-scope file replaced by
/// a link to `~/.ssh/id_rsa` would hand the secret to whatever reads the file next) and a new
/// suppression comment (`gatehouse: ignore[…]`: an agent must not switch off its own gate; a
/// human adds those). Returns one reason per offence, `path:line` first.
pub fn refused_content(repo: &Repository, base: Oid, tip: Oid) -> Result<Vec<String>, git2::Error> {
    let old = repo.find_commit(base)?.tree()?;
    let new = repo.find_commit(tip)?.tree()?;
    let diff = repo.diff_tree_to_tree(Some(&old), Some(&new), None)?;
    let mut reasons = Vec::new();
    for delta in diff.deltas() {
        if delta.new_file().mode() == git2::FileMode::Link {
            let path = delta.new_file().path().map(|p| p.display().to_string());
            reasons.push(format!(
                "{}: the agent made this a symbolic link (agents may not add links)",
                path.unwrap_or_default()
            ));
        }
    }
    diff.foreach(
        &mut |_, _| true,
        None,
        None,
        Some(&mut |delta, _hunk, line| {
            if line.origin() == '+'
                && let Ok(text) = std::str::from_utf8(line.content())
                && text.contains("gatehouse: ignore")
            {
                let path = delta.new_file().path().map(|p| p.display().to_string());
                reasons.push(format!(
                    "{}:{}: the agent added a suppression comment; suppressions need a human",
                    path.unwrap_or_default(),
                    line.new_lineno().unwrap_or(0)
                ));
            }
            true
        }),
    )?;
    Ok(reasons)
}

pub fn diffstat(repo: &Repository, base: Oid, tip: Oid) -> Result<DiffStat, git2::Error> {
    let old = repo.find_commit(base)?.tree()?;
    let new = repo.find_commit(tip)?.tree()?;
    let stats = repo
        .diff_tree_to_tree(Some(&old), Some(&new), None)?
        .stats()?;
    Ok(DiffStat {
        files: stats.files_changed(),
        insertions: stats.insertions(),
        deletions: stats.deletions(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("big");
        std::fs::write(&file, "x".repeat(10_000) + "END").unwrap();
        let t = tail(&file, 100);
        assert_eq!(t.len(), 100);
        assert!(t.ends_with("END"));
    }
}
