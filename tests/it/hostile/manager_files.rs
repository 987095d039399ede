//! Hostile: a cloned repository whose hook managers' files (`lefthook.yml`,
//! `.pre-commit-config.yaml`, `.husky/`) are symlinks out of it or FIFOs, so that `gatehouse
//! install --via MANAGER`, which reads and rewrites them, would edit `~/.bashrc`, create a
//! script in `~/bin`, or hang.

use std::time::Duration;

use super::checks::gatehouse;
use crate::common::{TestEnv, TestRepo};

const LIMIT: Duration = Duration::from_secs(30);

fn refused(repo: &TestRepo<'_>, via: &str, file: &str, why: &str) {
    let run = gatehouse(repo, &["install", "--via", via], LIMIT);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(file) && run.stderr.contains(why),
        "expected `{file}` and `{why}` in: {}",
        run.stderr
    );
}

#[test]
fn install_via_a_manager_edits_nothing_through_a_symlink_out_of_the_repository() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    repo.write("a.py", "x = 1\n");
    repo.commit("base");

    // lefthook.yml is the user's shell profile: appending the gate's lines would edit it.
    let profile = env.path().join("bashrc");
    std::fs::write(&profile, "export PATH=/usr/bin\n").unwrap();
    let lefthook = repo.root.join("lefthook.yml");
    std::os::unix::fs::symlink(&profile, &lefthook).unwrap();
    refused(&repo, "lefthook", "lefthook.yml", "outside the repository");
    assert_eq!(
        std::fs::read_to_string(&profile).unwrap(),
        "export PATH=/usr/bin\n"
    );
    std::fs::remove_file(&lefthook).unwrap();

    // .husky is a directory outside: the new `pre-push` script would be created there.
    let bin = env.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(&bin, repo.root.join(".husky")).unwrap();
    refused(&repo, "husky", "pre-push", "outside the repository");
    assert_eq!(
        std::fs::read_dir(&bin).unwrap().count(),
        0,
        "written in bin"
    );
    std::fs::remove_file(repo.root.join(".husky")).unwrap();

    // A FIFO: reading it must not wait for a writer.
    let config = repo.root.join(".pre-commit-config.yaml");
    let fifo = std::ffi::CString::new(config.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    refused(
        &repo,
        "pre-commit",
        ".pre-commit-config.yaml",
        "not a regular file",
    );
    std::fs::remove_file(&config).unwrap();

    // A symlink to a regular file inside the repository is edited as before.
    repo.write("tools/lefthook.yml", "pre-commit:\n  commands: {}\n");
    std::os::unix::fs::symlink("tools/lefthook.yml", &lefthook).unwrap();
    let run = gatehouse(&repo, &["install", "--via", "lefthook"], LIMIT);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let edited = std::fs::read_to_string(repo.root.join("tools/lefthook.yml")).unwrap();
    assert!(edited.contains("run: gatehouse hook pre-push"), "{edited}");
}
