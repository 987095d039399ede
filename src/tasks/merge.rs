//! Landing a review in the user's checkout: `git merge --ff` of its branch (so the user's merge
//! hooks run), undone when it fails, and refused first when a file it touches has uncommitted
//! changes.

use std::path::Path;
use std::process::Command;

use git2::Oid;

use super::review::ReviewError;
use crate::git::Repo;
use crate::store::runs::Run;

/// `git merge --ff` of the review branch; a failed merge is aborted.
pub(super) fn merge(
    workdir: &Path,
    repo: &Repo,
    branch: &str,
    run: &Run,
) -> Result<(), ReviewError> {
    let subject = format!("Merge review of run {} ({})", run.id, run.task);
    let merged = git_in(
        workdir,
        &["merge", "--ff", "--no-edit", "-m", &subject, branch],
    )?;
    if merged.status.success() {
        return Ok(());
    }
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&merged.stdout),
        String::from_utf8_lossy(&merged.stderr)
    );
    let merging = repo.git2().path().join("MERGE_HEAD").exists();
    let aborted = !merging || git_in(workdir, &["merge", "--abort"])?.status.success();
    let branch = branch.to_string();
    Err(if aborted {
        ReviewError::MergeFailed { branch, output }
    } else {
        ReviewError::MergeStuck { branch, output }
    })
}

/// Refuses, changing nothing, when a file the merge touches has uncommitted changes.
pub(super) fn refuse_if_dirty(repo: &Repo, tip: Oid) -> Result<(), ReviewError> {
    let git = repo.git2();
    let head = git.head()?.peel_to_commit()?;
    let base = git.merge_base(head.id(), tip)?;
    let diff = git.diff_tree_to_tree(
        Some(&git.find_commit(base)?.tree()?),
        Some(&git.find_commit(tip)?.tree()?),
        None,
    )?;
    let touched: Vec<String> = diff
        .deltas()
        .flat_map(|d| [d.old_file().path(), d.new_file().path()])
        .flatten()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let mut options = git2::StatusOptions::new();
    options.include_untracked(true).recurse_untracked_dirs(true);
    let dirty: Vec<String> = git
        .statuses(Some(&mut options))?
        .iter()
        .filter_map(|e| e.path().ok().map(str::to_string))
        .filter(|p| touched.contains(p))
        .collect();
    if dirty.is_empty() {
        Ok(())
    } else {
        Err(ReviewError::Dirty(dirty))
    }
}

/// Runs the `git` CLI in `dir` with the hook's repository variables cleared.
fn git_in(dir: &Path, args: &[&str]) -> Result<std::process::Output, ReviewError> {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir).args(args);
    for var in crate::cli::env::git_local_vars() {
        cmd.env_remove(var);
    }
    cmd.output().map_err(ReviewError::GitCommand)
}
