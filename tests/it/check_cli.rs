//! `gatehouse check` conventions: a subdirectory checks itself and names files from there (like
//! ruff), `--range REV` checks the commits no remote has, git errors reach the user in plain
//! words, and the file counts of the report agree between its lines.

use crate::common::{TestEnv, TestRepo, findings};

const UNTYPED: &str = "def f(x):\n    return x\n";

/// A repository with untyped functions in `pkg/`, `pkg/sub/` and `other/`, and a root config
/// that lowers untyped-function to `warn`.
fn tree(env: &TestEnv) -> TestRepo<'_> {
    let repo = env.repo("r");
    repo.write(
        ".gatehouse/config.toml",
        "[rules.untyped-function]\nlevel = \"warn\"\n",
    )
    .write("pkg/a.py", UNTYPED)
    .write("pkg/sub/b.py", UNTYPED)
    .write("other/c.py", UNTYPED)
    .write("top.py", UNTYPED);
    repo.commit("base");
    repo
}

/// The `path:line:col:` locations of the human report's finding lines.
fn locations(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter(|l| l.contains(": untyped-function ["))
        .map(|l| l.split(": untyped-function").next().unwrap())
        .collect()
}

#[test]
fn check_in_a_subdirectory_checks_it_and_names_files_from_there() {
    let env = TestEnv::new();
    let repo = tree(&env);
    let pkg = repo.root.join("pkg");
    let run = repo.gatehouse_in(&pkg, &["check"]);
    assert_eq!(run.code, 0, "warn from the root config: {}", run.stderr);
    assert_eq!(
        locations(&run.stdout),
        ["a.py:1:5", "a.py:1:7", "sub/b.py:1:5", "sub/b.py:1:7"],
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("1 | def f(x):"), "{}", run.stdout);
    assert!(
        run.stdout
            .ends_with("(0 block, 0 review, 4 warn); 2 files checked\n"),
        "{}",
        run.stdout
    );
    let run = repo.gatehouse_in(&pkg.join("sub"), &["check", "--format", "json"]);
    let found: Vec<(String, String)> = findings(&run.json())
        .into_iter()
        .map(|(path, _, _, code)| (path, code))
        .collect();
    assert_eq!(
        found,
        [
            ("pkg/sub/b.py".to_string(), "ANN201".to_string()),
            ("pkg/sub/b.py".to_string(), "ANN001".to_string())
        ],
        "JSON keeps repository paths"
    );
    assert_eq!(run.json()["findings"][0]["level"], "warn");
    // A path outside the current directory is shown absolute, as ruff shows it.
    let run = repo.gatehouse_in(&pkg, &["check", "../other"]);
    let other = repo.root.canonicalize().unwrap().join("other/c.py");
    assert_eq!(
        locations(&run.stdout)[0],
        format!("{}:1:5", other.display()),
        "{}",
        run.stdout
    );
    let run = repo.gatehouse(&["check", "--format", "json"]);
    assert_eq!(
        run.json()["files_checked"],
        5,
        "the root checks everything, its config included"
    );
}

/// `work` with an `origin` bare remote that has the base commit (`old.py`, untyped).
fn with_remote(env: &TestEnv) -> TestRepo<'_> {
    env.work_with_origin(&[("old.py", UNTYPED)]).0
}

#[test]
fn range_rev_checks_the_commits_on_no_remote() {
    let env = TestEnv::new();
    let work = with_remote(&env);
    work.write("new.py", UNTYPED);
    work.commit("one");
    work.write("newer.py", UNTYPED);
    work.commit("two");
    let run = work.gatehouse(&["check", "--range", "HEAD", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let paths: Vec<String> = findings(&run.json()).into_iter().map(|f| f.0).collect();
    assert_eq!(paths, ["new.py", "new.py", "newer.py", "newer.py"]);
    assert!(
        run.stderr
            .contains("checking 2 commits of HEAD on no remote"),
        "{}",
        run.stderr
    );
    let run = work.gatehouse(&["check", "--range", "origin/main"]);
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "No findings; 0 files checked\n"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("every commit of origin/main is on a remote"),
        "{}",
        run.stderr
    );
}

#[test]
fn range_rev_without_remotes_checks_every_commit_and_says_so() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    repo.write("a.py", UNTYPED);
    repo.commit("one");
    repo.write("b.py", UNTYPED);
    repo.commit("two");
    let run = repo.gatehouse(&["check", "--range", "HEAD", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let paths: Vec<String> = findings(&run.json()).into_iter().map(|f| f.0).collect();
    assert_eq!(paths, ["a.py", "a.py", "b.py", "b.py"]);
    assert!(
        run.stderr.contains(
            "no remote-tracking refs (no remote, or never fetched): checking all 2 commits of \
             HEAD, changes since the empty tree"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn git_errors_are_plain_words() {
    let env = TestEnv::new();
    let repo = tree(&env);
    for range in ["nope..HEAD", "nope"] {
        let run = repo.gatehouse(&["check", "--range", range]);
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert_eq!(
            run.stderr, "error: cannot resolve `nope`: revspec 'nope' not found\n",
            "no libgit2 class/code text, the cause said once"
        );
    }
    let plain = env.path().join("plain");
    std::fs::create_dir_all(&plain).unwrap();
    let out = env
        .command(env!("CARGO_BIN_EXE_gatehouse"), &plain)
        .env("GIT_CEILING_DIRECTORIES", env.path())
        .args(["check"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.starts_with("error: not inside a git repository")
            && stderr.contains("could not find repository")
            && !stderr.contains("class=")
            && !stderr.contains("code="),
        "{stderr}"
    );
}

#[test]
fn file_counts_agree_between_the_lines_of_the_report() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    repo.write(".gatehouse/config.toml", "max_file_size = 1000\n")
        .write("a.py", UNTYPED)
        .write("b.py", "b = 1\n")
        .write("notes.txt", "text\n")
        .write("bin.py", b"x = 1\0\n")
        .write("big.py", "x = 1\n".repeat(300));
    repo.commit("base");
    let run = repo.gatehouse(&["check", "--stats"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    // Five files: the config, a.py, b.py, notes.txt checked; bin.py and big.py skipped, each
    // with a finding of its own.
    assert!(
        run.stdout.ends_with(
            "4 findings (3 block, 1 review, 0 warn); 4 files checked, 2 skipped (1 binary, 1 over \
             the size limit)\n"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains(
            "gatehouse: 4 files checked: 2 parsed, 0 from cache, 2 of a kind no rule reads; 2 \
             skipped;"
        ),
        "{}",
        run.stderr
    );
    let run = repo.gatehouse(&["check", "--format", "json"]);
    assert_eq!(run.json()["files_checked"], 4);
}

#[test]
fn the_push_line_counts_changed_files_and_says_how_many_were_checked() {
    let env = TestEnv::new();
    let work = with_remote(&env);
    let run = work.gatehouse(&["install"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    work.git(&["rm", "-q", "old.py"]);
    work.write("ok.py", "x = 1\n").write("data.bin", b"\0\x01");
    std::os::unix::fs::symlink("ok.py", work.root.join("link.py")).unwrap();
    work.commit("delete one, add three");
    let out = env
        .command("git", &work.root)
        .args(["push", "origin", "main"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("refs/heads/main: 1 new commit, 4 files changed since")
            && stderr.contains(" (2 checked)\n"),
        "{stderr}"
    );
}
