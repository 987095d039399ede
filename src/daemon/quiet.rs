//! "Quiet": no events for the configured time and no git operation in progress, the moment
//! the daemon may do background work without getting in the user's way.

use std::path::Path;

/// Markers of a git operation in progress, in `$GIT_DIR`, and what each means.
const OPERATIONS: &[(&str, &str)] = &[
    ("rebase-merge", "rebase"),
    ("rebase-apply", "rebase"),
    ("MERGE_HEAD", "merge"),
    ("CHERRY_PICK_HEAD", "cherry-pick"),
    ("REVERT_HEAD", "revert"),
    ("sequencer", "sequencer"),
    ("BISECT_LOG", "bisect"),
];

/// The git operation in progress in `git_dir`, if any: a rebase, merge, cherry-pick, revert,
/// bisect, or a lock file (`index.lock`, `HEAD.lock`, …) that says git is writing right now.
pub fn git_operation(git_dir: &Path) -> Option<String> {
    for (marker, what) in OPERATIONS {
        if git_dir.join(marker).exists() {
            return Some((*what).to_string());
        }
    }
    let entries = std::fs::read_dir(git_dir).ok()?;
    entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|name| name.ends_with(".lock"))
        .map(|name| format!("lock:{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_operation_in_progress() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(git_operation(dir.path()), None);
        std::fs::write(dir.path().join("index.lock"), "").unwrap();
        assert_eq!(
            git_operation(dir.path()).as_deref(),
            Some("lock:index.lock")
        );
        std::fs::create_dir(dir.path().join("rebase-merge")).unwrap();
        assert_eq!(git_operation(dir.path()).as_deref(), Some("rebase"));
    }
}
