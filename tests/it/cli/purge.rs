//! `gatehouse uninstall --purge`: the shims and gatehouse's state for the repository go, the
//! user's branches and notes stay, and nothing is removed while the daemon runs.

use std::path::PathBuf;

use crate::common::{TestEnv, TestRepo};

/// A repository with the hooks installed, a checked tree (state database and cache), an
/// approval note, a review branch, and a locked run worktree where gatehouse keeps them.
fn used_repo(env: &TestEnv) -> (TestRepo<'_>, PathBuf) {
    let repo = env.repo("r");
    repo.write(".gatehouse/config.toml", "")
        .write("app.py", "def f(x: int) -> int:\n    return x\n");
    repo.commit("base");
    assert_eq!(repo.gatehouse(&["install"]).code, 0);
    assert_eq!(repo.gatehouse(&["check"]).code, 0);
    let approve = repo.gatehouse(&["approve", "-m", "fine"]);
    assert_eq!(approve.code, 0, "{}", approve.stderr);
    let root = worktrees_root(&repo);
    let worktree = root.join("20260101t000000-r01");
    repo.git(&[
        "worktree",
        "add",
        "-q",
        "--lock",
        "-b",
        "gatehouse/docs/20260101t000000-r01",
        worktree.to_str().unwrap(),
    ]);
    assert!(repo.root.join(".git/gatehouse/state.db").exists());
    (repo, worktree)
}

/// `$XDG_STATE_HOME/gatehouse/worktrees/<repo>-<hash of the git dir's path>`, as gatehouse
/// names it (git's blob hash of the canonical path, 12 digits).
fn worktrees_root(repo: &TestRepo<'_>) -> PathBuf {
    let common = repo.root.join(".git").canonicalize().unwrap();
    let mut cmd = repo.env.command("git", &repo.root);
    cmd.args(["hash-object", "--stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(common.to_str().unwrap().as_bytes())
        .unwrap();
    let hash = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap();
    repo.env
        .path()
        .join("home/.local/state/gatehouse/worktrees")
        .join(format!("r-{}", &hash.trim()[..12]))
}

#[test]
fn purge_removes_state_and_worktrees_and_keeps_branches_and_notes() {
    let env = TestEnv::new();
    let (repo, worktree) = used_repo(&env);
    let root = worktree.parent().unwrap().to_path_buf();
    assert!(worktree.join("app.py").exists());
    // Another kind of per-repository state beside the worktrees (folders tasks keep).
    let kinds = root.parent().unwrap().parent().unwrap();
    let kept = kinds.join("kept").join(root.file_name().unwrap());
    std::fs::create_dir_all(kept.join("node_modules")).unwrap();
    let other_repo = kinds.join("kept/other-0123456789ab");
    std::fs::create_dir_all(&other_repo).unwrap();
    let out = repo.gatehouse(&["uninstall", "--purge"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("removed the pre-push shim"),
        "{}",
        out.stderr
    );
    for gone in [&repo.root.join(".git/gatehouse"), &root, &worktree, &kept] {
        assert!(!gone.exists(), "{} is still there", gone.display());
        assert!(
            out.stderr
                .contains(&format!("removed {}\n", gone.display())),
            "{} not reported:\n{}",
            gone.display(),
            out.stderr
        );
    }
    assert!(!repo.root.join(".git/hooks/pre-push").exists());
    assert!(
        other_repo.exists(),
        "another repository's state is not touched"
    );
    let worktrees = repo.git(&["worktree", "list", "--porcelain"]);
    assert_eq!(
        worktrees.matches("worktree ").count(),
        1,
        "git forgot the run worktree: {worktrees}"
    );
    assert!(
        repo.git(&["branch", "--list", "gatehouse/*"])
            .contains("gatehouse/docs/20260101t000000-r01"),
        "review branches are kept"
    );
    assert!(
        !repo
            .git(&["notes", "--ref", "refs/notes/gatehouse", "list"])
            .trim()
            .is_empty()
    );
    assert!(repo.root.join(".gatehouse/config.toml").exists());
    assert!(out.stderr.contains("kept: every branch"), "{}", out.stderr);
    // Again: nothing left to remove, and it says so.
    let again = repo.gatehouse(&["uninstall", "--purge"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.stderr.contains("no gatehouse state to remove"),
        "{}",
        again.stderr
    );
}

#[test]
fn purge_refuses_while_the_daemon_runs_and_removes_nothing() {
    let env = TestEnv::new();
    let (repo, _) = used_repo(&env);
    let start = repo.gatehouse(&["daemon", "start"]);
    assert_eq!(start.code, 0, "{}", start.stderr);
    let out = repo.gatehouse(&["uninstall", "--purge"]);
    let stopped = repo.gatehouse(&["daemon", "stop"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("the daemon of this repository is running")
            && out.stderr.contains("gatehouse daemon stop"),
        "{}",
        out.stderr
    );
    assert!(repo.root.join(".git/gatehouse/state.db").exists());
    assert!(
        repo.root.join(".git/hooks/pre-push").exists(),
        "the shims stay too"
    );
    // (The daemon itself clears run worktrees no run owns, so the planted one proves nothing here.)
    assert_eq!(stopped.code, 0, "{}", stopped.stderr);
    let out = repo.gatehouse(&["uninstall", "--purge"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!repo.root.join(".git/gatehouse").exists());
}
