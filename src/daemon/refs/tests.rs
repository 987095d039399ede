//! Snapshot diffs on real repositories changed by real git commands.

use std::path::Path;
use std::process::Command;

use super::*;

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_SYSTEM", "/dev/null")
        .env("GIT_AUTHOR_NAME", "T")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "T")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn commit(dir: &Path, file: &str) {
    std::fs::write(dir.join(file), file).unwrap();
    git(dir, &["add", file]);
    git(dir, &["commit", "-q", "-m", file]);
}

struct Fixture {
    dir: tempfile::TempDir,
    repo: Repository,
    last: Snapshot,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        git(dir.path(), &["init", "-q", "-b", "main"]);
        commit(dir.path(), "a");
        let repo = Repository::open(dir.path()).unwrap();
        let last = Snapshot::read(&repo).unwrap();
        Fixture { dir, repo, last }
    }

    /// The (kind, ref, warmed-from-something) of what happened since the last call.
    fn changes(&mut self) -> Vec<(&'static str, String, bool)> {
        let now = Snapshot::read(&self.repo).unwrap();
        let changes = self.last.diff(&now, &self.repo);
        self.last = now;
        changes
            .into_iter()
            .map(|c| (c.kind, c.name, c.warm_base.is_some()))
            .collect()
    }
}

fn main_ref(kind: &'static str, warm: bool) -> (&'static str, String, bool) {
    (kind, "refs/heads/main".to_string(), warm)
}

#[test]
fn learns_commits_resets_checkouts_and_deletions() {
    let mut f = Fixture::new();
    let dir = f.dir.path().to_path_buf();
    assert_eq!(f.changes(), vec![]);
    commit(&dir, "b");
    assert_eq!(f.changes(), vec![main_ref("commit", true)]);
    git(&dir, &["reset", "-q", "--hard", "HEAD~1"]);
    assert_eq!(f.changes(), vec![main_ref("reset", false)]);
    git(&dir, &["checkout", "-q", "-b", "topic"]);
    assert_eq!(
        f.changes(),
        vec![
            ("checkout", "refs/heads/topic".to_string(), false),
            ("branch-created", "refs/heads/topic".to_string(), false),
        ]
    );
    git(&dir, &["checkout", "-q", "main"]);
    git(&dir, &["branch", "-q", "-D", "topic"]);
    assert_eq!(
        f.changes(),
        vec![
            ("checkout", "refs/heads/main".to_string(), false),
            ("branch-deleted", "refs/heads/topic".to_string(), false),
        ]
    );
}

#[test]
fn a_finished_rebase_and_an_amend_are_warmed() {
    let mut f = Fixture::new();
    let dir = f.dir.path().to_path_buf();
    git(&dir, &["checkout", "-q", "-b", "topic"]);
    commit(&dir, "t");
    git(&dir, &["checkout", "-q", "main"]);
    commit(&dir, "m");
    git(&dir, &["checkout", "-q", "topic"]);
    f.changes();
    git(&dir, &["rebase", "-q", "main"]);
    assert_eq!(
        f.changes(),
        vec![("rebase", "refs/heads/topic".to_string(), true)]
    );
    git(&dir, &["commit", "-q", "--amend", "-m", "t2"]);
    assert_eq!(
        f.changes(),
        vec![("commit", "refs/heads/topic".to_string(), true)]
    );
}

#[test]
fn own_scratch_branches_are_ignored() {
    let mut f = Fixture::new();
    let dir = f.dir.path().to_path_buf();
    git(&dir, &["branch", "gatehouse/task/run-1"]);
    assert_eq!(f.changes(), vec![]);
}
