//! The hooks and the gate with real pushes to temp bare repositories. A `watched` sensitive
//! table at level `warn` reports every changed `.py` file, so each test can assert exactly which
//! files a push gated without blocking it.

use std::path::PathBuf;

use crate::common::{Run, TestEnv, TestRepo};

const CONFIG: &str = "[[sensitive]]\nname = \"watched\"\npaths = [\"*.py\"]\nlevel = \"warn\"\n";

/// A work repository with an `origin` bare remote, the base pushed, and the hooks installed.
fn setup(env: &TestEnv) -> (TestRepo<'_>, PathBuf) {
    let (work, origin) = env.work_with_origin(&[
        (".gatehouse/config.toml", CONFIG),
        ("a.py", "a = 1\n"),
        ("b.py", "b = 1\n"),
    ]);
    let run = work.gatehouse(&["install"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    (work, origin)
}

fn push(repo: &TestRepo<'_>, args: &[&str]) -> Run {
    let mut full = vec!["push"];
    full.extend_from_slice(args);
    let out = repo
        .env
        .command("git", &repo.root)
        .args(&full)
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The paths of the `watched` findings a hook printed, in order.
fn gated(run: &Run) -> Vec<String> {
    run.stderr
        .lines()
        .filter(|l| l.contains(": sensitive-path [") && l.contains("(watched)"))
        .map(|l| l.split(':').next().unwrap().to_string())
        .collect()
}

fn remote_has(origin: &std::path::Path, env: &TestEnv, reference: &str) -> Option<String> {
    let out = env
        .command("git", origin)
        .args(["rev-parse", "--verify", "-q", reference])
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[test]
fn fast_forward_push_gates_the_new_commit() {
    let env = TestEnv::new();
    let (work, origin) = setup(&env);
    work.write("a.py", "a = 2\n").write("c.py", "c = 1\n");
    let tip = work.commit("change a, add c");
    let run = push(&work, &["origin", "main"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(gated(&run), ["a.py", "c.py"]);
    assert!(
        run.stderr
            .contains("refs/heads/main: 1 new commit, 2 files changed since"),
        "{}",
        run.stderr
    );
    assert_eq!(remote_has(&origin, &env, "main"), Some(tip));
}

#[test]
fn a_sensitive_change_is_held_until_approved_and_a_new_commit_needs_a_new_approval() {
    let env = TestEnv::new();
    let (work, origin) = setup(&env);
    work.write(".github/workflows/ci.yml", "on: push\n");
    let tip = work.commit("ci");
    let run = push(&work, &["origin", "main"]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("HELD FOR REVIEW"), "{}", run.stderr);
    assert_ne!(remote_has(&origin, &env, "main"), Some(tip.clone()));
    let run = work.gatehouse(&["approve", "-m", "reviewed the workflow"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = push(&work, &["origin", "main"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("1 review finding(s) covered by approvals"),
        "{}",
        run.stderr
    );
    assert_eq!(remote_has(&origin, &env, "main"), Some(tip));
    // A further change to the workflow needs its own approval.
    work.write(".github/workflows/ci.yml", "on: [push, pull_request]\n");
    work.commit("ci again");
    let run = push(&work, &["origin", "main"]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("HELD FOR REVIEW"));
    let list = work.gatehouse(&["approve", "--list"]);
    assert!(
        list.stdout.contains("reviewed the workflow"),
        "{}",
        list.stdout
    );
    assert!(
        list.stdout
            .contains("sensitive-path [added] .github/workflows/ci.yml"),
        "{}",
        list.stdout
    );
}

#[test]
fn a_new_branch_gates_only_its_own_commits() {
    let env = TestEnv::new();
    let (work, origin) = setup(&env);
    work.git(&["checkout", "-q", "-b", "feature"]);
    work.write("f1.py", "x = 1\n");
    work.commit("f1");
    work.write("f2.py", "x = 2\n");
    let tip = work.commit("f2");
    let run = push(&work, &["origin", "feature"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(gated(&run), ["f1.py", "f2.py"]);
    assert!(
        run.stderr.contains("2 new commits, 2 files changed"),
        "{}",
        run.stderr
    );
    assert_eq!(remote_has(&origin, &env, "feature"), Some(tip));
}

#[test]
fn a_rebased_force_push_gates_only_the_users_changes() {
    let env = TestEnv::new();
    let (work, origin) = setup(&env);
    work.git(&["checkout", "-q", "-b", "feature"]);
    work.write("mine.py", "mine = 1\n");
    work.commit("mine");
    assert_eq!(push(&work, &["origin", "feature"]).code, 0);
    // Meanwhile upstream changes 30 other files on main.
    env.git(
        env.path(),
        &["clone", "-q", origin.to_str().unwrap(), "other"],
    );
    let other = TestRepo {
        env: &env,
        root: env.path().join("other"),
    };
    for i in 0..30 {
        other.write(&format!("up/u{i}.py"), format!("u = {i}\n"));
    }
    other.commit("upstream work");
    other.git(&["push", "-q", "origin", "main"]);
    work.git(&["fetch", "-q", "origin"]);
    work.git(&["rebase", "-q", "origin/main"]);
    work.write("mine.py", "mine = 2\n");
    work.commit("mine again");
    let run = push(&work, &["--force", "origin", "feature"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(gated(&run), ["mine.py"], "{}", run.stderr);
    assert!(
        run.stderr.contains("2 new commits, 1 file changed"),
        "{}",
        run.stderr
    );
}

#[test]
fn every_ref_of_a_push_is_gated() {
    let env = TestEnv::new();
    let (work, _origin) = setup(&env);
    work.git(&["checkout", "-q", "-b", "a"]);
    work.write("in_a.py", "a = 1\n");
    work.commit("a");
    work.git(&["checkout", "-q", "-b", "b", "main"]);
    work.write("in_b.py", "b = 1\n");
    work.write("server.key", "secret\n");
    work.commit("b");
    let run = push(&work, &["origin", "a", "b"]);
    assert_ne!(run.code, 0, "b needs review: {}", run.stderr);
    assert_eq!(gated(&run), ["in_a.py", "in_b.py"]);
    assert!(
        run.stderr.contains("refs/heads/a: passed"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("refs/heads/b: HELD FOR REVIEW"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_branch_that_is_not_checked_out_is_gated_by_its_own_content() {
    let env = TestEnv::new();
    let (work, origin) = setup(&env);
    work.git(&["branch", "other"]);
    work.write("head_only.py", "h = 1\n");
    work.commit("on main, not pushed");
    work.git(&["checkout", "-q", "other"]);
    work.write("other_only.py", "o = 1\n");
    let other_tip = work.commit("on other");
    work.git(&["checkout", "-q", "main"]);
    let run = push(&work, &["origin", "other"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(gated(&run), ["other_only.py"]);
    assert_eq!(remote_has(&origin, &env, "other"), Some(other_tip));
}

#[test]
fn deleting_branches_checks_nothing_but_protected_ones_need_review() {
    let env = TestEnv::new();
    let (work, origin) = setup(&env);
    work.git(&[
        "push",
        "-q",
        "--no-verify",
        "origin",
        "main:refs/heads/topic",
        "main:refs/heads/release/1.0",
    ]);
    let run = push(&work, &["origin", "--delete", "topic"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("refs/heads/topic: deletion (nothing to check)"),
        "{}",
        run.stderr
    );
    let run = push(&work, &["origin", "--delete", "release/1.0"]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("deleting the protected branch `release/1.0`"),
        "{}",
        run.stderr
    );
    assert!(remote_has(&origin, &env, "release/1.0").is_some());
    let run = work.gatehouse(&["approve", "main", "--delete", "refs/heads/release/1.0"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = push(&work, &["origin", "--delete", "release/1.0"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(remote_has(&origin, &env, "release/1.0").is_none());
}

#[test]
fn tags_of_pushed_commits_cost_nothing_and_new_tags_are_gated() {
    let env = TestEnv::new();
    let (work, _origin) = setup(&env);
    work.git(&["tag", "v1"]);
    let run = push(&work, &["origin", "v1"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("refs/tags/v1: no new commits"),
        "{}",
        run.stderr
    );
    work.write("tagged.py", "t = 1\n");
    work.commit("unpushed");
    work.git(&["tag", "-a", "-m", "v2", "v2"]);
    let run = push(&work, &["origin", "v2"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(gated(&run), ["tagged.py"]);
}

#[test]
fn a_no_ff_merge_commit_gates_what_the_merge_brings() {
    let env = TestEnv::new();
    let (work, _origin) = setup(&env);
    work.git(&["checkout", "-q", "-b", "feature"]);
    work.write("feature.py", "f = 1\n");
    work.commit("feature");
    work.git(&["checkout", "-q", "main"]);
    work.write("main_side.py", "m = 1\n");
    work.commit("main side");
    work.git(&["merge", "-q", "--no-ff", "-m", "merge feature", "feature"]);
    let run = push(&work, &["origin", "main"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(gated(&run), ["feature.py", "main_side.py"]);
    assert!(
        run.stderr.contains("3 new commits, 2 files changed"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_push_to_a_url_without_a_remote_name_is_gated() {
    let env = TestEnv::new();
    let (work, origin) = setup(&env);
    work.write("c.py", "c = 1\n");
    work.commit("c");
    let url = format!("file://{}", origin.display());
    let run = push(&work, &[&url, "main"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(gated(&run), ["c.py"]);
}

#[test]
fn owners_limit_who_can_approve() {
    let env = TestEnv::new();
    let (work, _origin) = setup(&env);
    work.write(
        ".gatehouse/rules/pay.toml",
        "[[sensitive]]\nname = \"pay\"\npaths = [\"pay/\"]\nowners = [\"alice@example.com\"]\n",
    );
    work.write(
        ".gatehouse/config.toml",
        format!("{CONFIG}\n[[sensitive]]\nname = \"gate-config\"\nlevel = \"off\"\n"),
    );
    work.commit("pay rules");
    work.git(&["push", "-q", "--no-verify", "origin", "main"]);
    work.write("pay/charge.txt", "x\n");
    work.commit("charge");
    let run = work.gatehouse(&["approve"]);
    assert!(
        run.stderr.contains("not counted: you are not an owner"),
        "{}",
        run.stderr
    );
    let run = push(&work, &["origin", "main"]);
    assert_ne!(run.code, 0, "the author is not an owner: {}", run.stderr);
    assert!(
        run.stderr.contains("by one of: alice@example.com"),
        "{}",
        run.stderr
    );
    let out = env
        .command(env!("CARGO_BIN_EXE_gatehouse"), &work.root)
        .env("GIT_COMMITTER_NAME", "Alice")
        .env("GIT_COMMITTER_EMAIL", "alice@example.com")
        .args(["approve"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let run = push(&work, &["origin", "main"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn agent_commits_need_an_approval() {
    let env = TestEnv::new();
    let (work, _origin) = setup(&env);
    work.write("agent.py", "x = 1\n");
    work.git(&["add", "-A"]);
    work.git(&[
        "commit",
        "-q",
        "-m",
        "Add x\n\nGatehouse-Task: types\nGatehouse-Run: 7",
    ]);
    let run = push(&work, &["origin", "main"]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr
            .contains("was made by an agent (task types, run 7)"),
        "{}",
        run.stderr
    );
    assert_eq!(work.gatehouse(&["approve"]).code, 0);
    assert_eq!(push(&work, &["origin", "main"]).code, 0);
}

#[test]
fn a_refused_merge_cannot_be_finished_with_git_commit() {
    let env = TestEnv::new();
    let (work, _origin) = setup(&env);
    work.git(&["checkout", "-q", "-b", "feature"]);
    work.write("deploy/prod.pem", "key\n");
    work.commit("key");
    work.git(&["checkout", "-q", "main"]);
    work.write("side.py", "s = 1\n");
    work.commit("side");
    let out = env
        .command("git", &work.root)
        .args(["merge", "--no-ff", "-m", "merge", "feature"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "pre-merge-commit refuses: {stderr}");
    assert!(stderr.contains("prod.pem"), "{stderr}");
    assert!(work.root.join(".git/MERGE_HEAD").exists());
    let out = env
        .command("git", &work.root)
        .args(["commit", "-m", "merge anyway"])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "pre-commit refuses too: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // After approving the merged branch, the merge goes through.
    assert_eq!(work.gatehouse(&["approve", "feature"]).code, 0);
    let out = env
        .command("git", &work.root)
        .args(["commit", "-m", "merge approved"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn pre_receive_refuses_a_push_that_turns_its_own_rule_off() {
    let env = TestEnv::new();
    let (work, origin) = setup(&env);
    let run = work.gatehouse_in(&origin, &["install", "--server"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    work.write(
        ".gatehouse/config.toml",
        format!("{CONFIG}\n[rules.sensitive-path]\nlevel = \"off\"\n"),
    );
    work.write("certs/server.pem", "k\n");
    work.commit("loosen the gate");
    let run = push(&work, &["--no-verify", "origin", "main"]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("certs/server.pem"), "{}", run.stderr);
    assert!(
        run.stderr.contains(".gatehouse/config.toml"),
        "{}",
        run.stderr
    );
    // Approved on the client, with the notes pushed in the same push: accepted.
    assert_eq!(work.gatehouse(&["approve"]).code, 0);
    let run = push(
        &work,
        &["--no-verify", "origin", "main", "refs/notes/gatehouse"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn an_existing_hook_is_kept_and_run_first_and_uninstall_restores_it() {
    let env = TestEnv::new();
    let (work, _origin) = setup(&env);
    work.gatehouse(&["uninstall"]);
    let hook = work.root.join(".git/hooks/pre-push");
    std::fs::write(&hook, "#!/bin/sh\nread line\necho \"local hook saw: $line\" >&2\n[ -e ../refuse ] && exit 1\nexit 0\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = work.gatehouse(&["install"]);
    assert!(
        run.stderr
            .contains("kept the existing hook as pre-push.local"),
        "{}",
        run.stderr
    );
    let again = work.gatehouse(&["install"]);
    assert!(
        again.stderr.contains("pre-push: up to date"),
        "idempotent: {}",
        again.stderr
    );
    work.write("c.py", "c = 1\n");
    work.commit("c");
    let run = push(&work, &["origin", "main"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("local hook saw: refs/heads/main"),
        "{}",
        run.stderr
    );
    assert_eq!(gated(&run), ["c.py"], "gatehouse saw the same stdin");
    std::fs::write(env.path().join("refuse"), "").unwrap();
    work.write("d.py", "d = 1\n");
    work.commit("d");
    let run = push(&work, &["origin", "main"]);
    assert_ne!(run.code, 0, "the kept hook's failure fails the push");
    work.gatehouse(&["uninstall"]);
    assert!(
        std::fs::read_to_string(&hook)
            .unwrap()
            .contains("local hook saw")
    );
    assert!(!work.root.join(".git/hooks/pre-push.local").exists());
}

#[test]
fn a_stale_shim_is_replaced() {
    let env = TestEnv::new();
    let (work, _origin) = setup(&env);
    let hook = work.root.join(".git/hooks/pre-push");
    let old = std::fs::read_to_string(&hook)
        .unwrap()
        .replace("version 1 ", "version 0 ");
    std::fs::write(&hook, old).unwrap();
    let run = work.gatehouse(&["install"]);
    assert!(run.stderr.contains("pre-push: installed"), "{}", run.stderr);
    assert!(
        std::fs::read_to_string(&hook)
            .unwrap()
            .contains("version 1 ")
    );
}

#[test]
fn core_hooks_path_is_respected() {
    let env = TestEnv::new();
    let (work, _origin) = setup(&env);
    work.gatehouse(&["uninstall"]);
    work.git(&["config", "core.hooksPath", "my hooks"]);
    let run = work.gatehouse(&["install"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(work.root.join("my hooks/pre-push").exists());
    work.write("c.py", "c = 1\n");
    work.commit("c");
    let run = push(&work, &["origin", "main"]);
    assert_eq!(gated(&run), ["c.py"], "{}", run.stderr);
}

#[test]
fn hooks_work_from_a_linked_worktree() {
    let env = TestEnv::new();
    let (work, _origin) = setup(&env);
    let linked = env.path().join("linked wt");
    work.git(&[
        "worktree",
        "add",
        "-q",
        "-b",
        "wt",
        linked.to_str().unwrap(),
    ]);
    let wt = TestRepo {
        env: &env,
        root: linked,
    };
    wt.write("from_wt.py", "w = 1\n");
    wt.commit("in the worktree");
    let run = push(&wt, &["origin", "wt"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(gated(&run), ["from_wt.py"]);
}

#[test]
fn a_missing_binary_fails_closed() {
    let env = TestEnv::new();
    let (work, _origin) = setup(&env);
    let hook = work.root.join(".git/hooks/pre-push");
    let text = std::fs::read_to_string(&hook).unwrap();
    let exe = env!("CARGO_BIN_EXE_gatehouse");
    std::fs::write(&hook, text.replace(exe, "/nonexistent/gatehouse")).unwrap();
    work.write("c.py", "c = 1\n");
    work.commit("c");
    let out = env
        .command("git", &work.root)
        .env("PATH", "/usr/bin:/bin")
        .args(["push", "origin", "main"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("the gatehouse binary is missing"),
        "{stderr}"
    );
}

#[test]
fn gatehouse_skip_skips_and_is_recorded() {
    let env = TestEnv::new();
    let (work, origin) = setup(&env);
    work.write("secrets.env", "x\n");
    let tip = work.commit("secret");
    let out = env
        .command("git", &work.root)
        .env("GATEHOUSE_SKIP", "1")
        .args(["push", "origin", "main"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("GATEHOUSE_SKIP is set"), "{stderr}");
    assert_eq!(remote_has(&origin, &env, "main"), Some(tip.clone()));
    let store = gatehouse::store::Store::open(&work.root.join(".git/gatehouse")).unwrap();
    let bypasses = store.bypasses().unwrap();
    assert_eq!(bypasses.len(), 1);
    assert_eq!(bypasses[0].hook, "pre-push");
    assert_eq!(bypasses[0].who, "Test Author <author@example.com>");
    assert!(bypasses[0].detail.contains(&tip), "{}", bypasses[0].detail);
}

#[test]
fn a_hook_without_stdin_gates_nothing_and_passes() {
    let env = TestEnv::new();
    let (work, _origin) = setup(&env);
    let run = work.gatehouse(&["hook", "pre-push", "origin", "url"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = work.gatehouse(&["hook", "pre-push-typo"]);
    assert_eq!(run.code, 2);
}

#[test]
fn only_the_lines_a_push_introduces_are_gated() {
    let env = TestEnv::new();
    let (work, origin) = setup(&env);
    work.write("legacy.py", "def old(a):\n    return a\n");
    work.git(&["add", "-A"]);
    work.git(&["commit", "-q", "-m", "legacy, untyped"]);
    work.git(&["push", "-q", "--no-verify", "origin", "main"]);
    work.write(
        "legacy.py",
        "def old(a):\n    return a\n\n\ndef fixed(b: int) -> int:\n    return b\n",
    );
    work.commit("a typed function next to legacy code");
    let run = push(&work, &["origin", "main"]);
    assert_eq!(
        run.code, 0,
        "legacy code does not block a new, clean change: {}",
        run.stderr
    );
    work.write("legacy.py", "def old(a):\n    return a\n\n\ndef fixed(b: int) -> int:\n    return b\n\n\ndef sloppy(c):\n    return c\n");
    let tip = work.commit("an untyped function");
    let run = push(&work, &["origin", "main"]);
    assert_ne!(run.code, 0);
    let blocked: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains(": untyped-function ["))
        .collect();
    assert_eq!(blocked.len(), 2, "{}", run.stderr);
    assert!(
        blocked.iter().all(|l| l.starts_with("legacy.py:9:")),
        "{blocked:?}"
    );
    assert!(run.stderr.contains("BLOCKED"), "{}", run.stderr);
    assert_ne!(remote_has(&origin, &env, "main"), Some(tip));
}

/// `gatehouse hook pre-push origin URL` in `work` with `stdin`.
fn pre_push_with(work: &TestRepo<'_>, stdin: &str) -> Run {
    use std::io::Write;
    let mut child = work
        .env
        .command(env!("CARGO_BIN_EXE_gatehouse"), &work.root)
        .args(["hook", "pre-push", "origin", "URL"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn an_unreadable_or_unknown_ref_line_is_an_error_that_fails_closed() {
    let env = TestEnv::new();
    let (work, _origin) = setup(&env);
    let run = pre_push_with(&work, "garbage\n");
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("cannot read the pre-push line"),
        "{}",
        run.stderr
    );
    let base = work.git(&["rev-parse", "HEAD"]);
    let unknown = "1234567890123456789012345678901234567890";
    let run = pre_push_with(
        &work,
        &format!(
            "refs/heads/main {unknown} refs/heads/main {}\n",
            base.trim()
        ),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("BLOCKED"), "{}", run.stderr);
    // `--help` in the place of the hook's name is help; as the remote's name it is a name.
    let help = work.gatehouse(&["hook", "--help"]);
    assert_eq!(help.code, 0, "{}", help.stderr);
    assert!(
        help.stdout.contains("Usage: gatehouse hook <NAME>"),
        "{}",
        help.stdout
    );
    let named = work.gatehouse(&["hook", "pre-push", "--help", "URL"]);
    assert_eq!(
        named.code, 0,
        "no ref lines, nothing to gate: {}",
        named.stderr
    );
    assert!(!named.stdout.contains("Usage"), "{}", named.stdout);
}
