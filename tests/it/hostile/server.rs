//! Hostile: a pusher to a shared bare repository gated by pre-receive, and the client pre-push
//! gate. Each test pushes real commits with `--no-verify` (the client gate is the pusher's to
//! skip) and checks what the server refused, what it said, and what its refs hold afterwards.

use std::path::{Path, PathBuf};

use crate::common::{Run, TestEnv, TestRepo};

/// An untyped function: the `untyped-function` rule blocks it.
const UNTYPED: &str = "def f(x):\n    return x\n";

/// A bare `origin` with the server hook, and a work repository whose base `origin` already has.
/// `rules` (a rule pack) is part of the base, so it is the server's configuration.
fn server<'e>(env: &'e TestEnv, rules: Option<&str>) -> (TestRepo<'e>, PathBuf) {
    let origin = env.path().join("origin.git");
    let path = origin.to_str().unwrap();
    env.git(env.path(), &["init", "-q", "--bare", "-b", "main", path]);
    let work = env.repo("work");
    work.git(&["remote", "add", "origin", path]);
    work.write("a.py", "a = 1\n");
    if let Some(rules) = rules {
        work.write(".gatehouse/rules/owned.toml", rules);
    }
    work.commit("base");
    work.git(&["push", "-q", "origin", "main"]);
    let run = work.gatehouse_in(&origin, &["install", "--server"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    (work, origin)
}

/// `git push --no-verify ARGS` with extra environment (e.g. the user a hosting layer vouches for).
fn push_as(repo: &TestRepo<'_>, vars: &[(&str, &str)], args: &[&str]) -> Run {
    let mut cmd = repo.env.command("git", &repo.root);
    cmd.args(["push", "--no-verify"]).args(args);
    for (key, value) in vars {
        cmd.env(key, value);
    }
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn push(repo: &TestRepo<'_>, args: &[&str]) -> Run {
    push_as(repo, &[], args)
}

/// What `reference` names in the bare repository, if anything.
fn remote_has(env: &TestEnv, origin: &Path, reference: &str) -> Option<String> {
    let out = env
        .command("git", origin)
        .args(["rev-parse", "--verify", "-q", reference])
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A commit on a side branch `evil` (from main) adding an untyped function; main stays put.
fn evil_commit(work: &TestRepo<'_>) -> String {
    work.git(&["checkout", "-q", "-b", "evil"]);
    work.write("b.py", UNTYPED);
    let evil = work.commit("evil");
    work.git(&["checkout", "-q", "main"]);
    evil
}

/// A merge into main that keeps main's tree (`-s ours`): it carries `evil` without its content.
fn smuggling_merge(work: &TestRepo<'_>) -> String {
    work.git(&["merge", "-q", "-s", "ours", "-m", "carry", "evil"]);
    let merge = work.git(&["rev-parse", "HEAD"]).trim().to_string();
    work.git(&["reset", "-q", "--hard", "HEAD~1"]);
    merge
}

fn assert_blocked_untyped(run: &Run) {
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("untyped-function"), "{}", run.stderr);
    assert!(run.stderr.contains("BLOCKED"), "{}", run.stderr);
}

#[test]
fn a_notes_ref_refuses_code_and_cannot_feed_a_branch() {
    let env = TestEnv::new();
    let (work, origin) = server(&env, None);
    let evil = evil_commit(&work);
    let run = push(&work, &["origin", "evil:refs/notes/evil"]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("refs/notes/evil: REFUSED")
            && run.stderr.contains("not a notes commit"),
        "{}",
        run.stderr
    );
    assert_eq!(remote_has(&env, &origin, "refs/notes/evil"), None);
    assert_blocked_untyped(&push(&work, &["origin", "evil:main"]));
    assert_ne!(remote_has(&env, &origin, "main"), Some(evil));
}

#[test]
fn a_commit_that_only_a_notes_ref_holds_is_not_checked() {
    let env = TestEnv::new();
    let (work, origin) = server(&env, None);
    let evil = evil_commit(&work);
    // Put there without the hook (as a push before the fix could): the server has the commit.
    let work_path = work.root.to_str().unwrap();
    env.git(&origin, &["fetch", "-q", work_path, "evil:refs/notes/evil"]);
    assert_blocked_untyped(&push(&work, &["origin", "evil:main"]));
    assert_ne!(remote_has(&env, &origin, "main"), Some(evil));
}

#[test]
fn an_arbitrary_ref_then_fast_forward_main_is_gated() {
    let env = TestEnv::new();
    let (work, origin) = server(&env, None);
    let evil = evil_commit(&work);
    // Straight to another ref: gated like a branch.
    assert_blocked_untyped(&push(&work, &["origin", "evil:refs/foo/x"]));
    // Carried in by a merge that drops its content: the merge passes, the commit is not checked.
    let merge = smuggling_merge(&work);
    let run = push(&work, &["origin", &format!("{merge}:refs/foo/x")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = push(&work, &["origin", "evil:main"]);
    assert_blocked_untyped(&run);
    assert_ne!(remote_has(&env, &origin, "main"), Some(evil));
}

#[test]
fn a_tag_then_fast_forward_main_is_gated() {
    let env = TestEnv::new();
    let (work, origin) = server(&env, None);
    let evil = evil_commit(&work);
    let merge = smuggling_merge(&work);
    work.git(&["tag", "-a", "-m", "release", "v1", &merge]);
    let run = push(&work, &["origin", "v1"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = push(&work, &["origin", "evil:refs/heads/feature"]);
    assert_blocked_untyped(&run);
    assert_blocked_untyped(&push(&work, &["origin", "evil:main"]));
    assert_ne!(remote_has(&env, &origin, "main"), Some(evil));
}

#[test]
fn rewinding_or_recreating_a_branch_at_an_unchecked_commit_is_gated() {
    let env = TestEnv::new();
    let (work, origin) = server(&env, None);
    work.write("b.py", UNTYPED);
    let bad = work.commit("add");
    work.git(&["rm", "-q", "b.py"]);
    let good = work.commit("remove");
    // Together the two commits add nothing: accepted.
    let run = push(&work, &["origin", "main"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(remote_has(&env, &origin, "main"), Some(good.clone()));
    // The state in between was never checked.
    assert_blocked_untyped(&push(&work, &["origin", "--force", &format!("{bad}:main")]));
    assert_blocked_untyped(&push(
        &work,
        &["origin", &format!("{bad}:refs/heads/topic")],
    ));
    assert_blocked_untyped(&push(&work, &["origin", &format!("{bad}:refs/tags/v0")]));
    assert_eq!(remote_has(&env, &origin, "main"), Some(good.clone()));
    // A checked state may be pointed at again (a tag of the tip, a branch from it).
    let run = push(&work, &["origin", &format!("{good}:refs/tags/v1")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = push(&work, &["origin", &format!("{good}:refs/heads/topic")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn replace_refs_are_refused() {
    let env = TestEnv::new();
    let (work, origin) = server(&env, None);
    work.write("evil.txt", UNTYPED);
    let blob = work.git(&["hash-object", "-w", "evil.txt"]);
    std::fs::remove_file(work.root.join("evil.txt")).unwrap();
    let original = work.git(&["rev-parse", "main:a.py"]);
    work.git(&["replace", original.trim(), blob.trim()]);
    let run = push(&work, &["origin", "refs/replace/*:refs/replace/*"]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("REFUSED") && run.stderr.contains("replace"),
        "{}",
        run.stderr
    );
    let shown = env.git(&origin, &["show", "main:a.py"]);
    assert_eq!(shown, "a = 1\n", "the server's main still reads as it was");
}

#[test]
fn an_approval_pushed_to_the_notes_ref_still_works() {
    let env = TestEnv::new();
    let (work, origin) = server(&env, None);
    work.write(".github/workflows/ci.yml", "on: push\n");
    let tip = work.commit("ci");
    let run = push(&work, &["origin", "main"]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("HELD FOR REVIEW"), "{}", run.stderr);
    assert_eq!(work.gatehouse(&["approve"]).code, 0);
    // The notes alone first (checked as notes), then the branch they approve.
    let run = push(&work, &["origin", "refs/notes/gatehouse"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("refs/notes/gatehouse: notes"),
        "{}",
        run.stderr
    );
    let run = push(&work, &["origin", "main"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("covered by approvals"),
        "{}",
        run.stderr
    );
    assert_eq!(remote_has(&env, &origin, "main"), Some(tip));
}

const OWNED: &str =
    "[[sensitive]]\nname = \"pay\"\npaths = [\"pay/\"]\nowners = [\"alice@example.com\"]\n";

/// `gatehouse approve` with the committer identity `email`.
fn approve_as(work: &TestRepo<'_>, email: &str) {
    let out = work
        .env
        .command(env!("CARGO_BIN_EXE_gatehouse"), &work.root)
        .env("GIT_COMMITTER_NAME", "Alice")
        .env("GIT_COMMITTER_EMAIL", email)
        .args(["approve"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_pusher_cannot_forge_an_owners_approval() {
    let env = TestEnv::new();
    let (work, origin) = server(&env, Some(OWNED));
    work.write("pay/charge.txt", "x\n");
    let tip = work.commit("charge");
    // Bob claims to be Alice in the note's identity.
    approve_as(&work, "alice@example.com");
    let both = ["origin", "main", "refs/notes/gatehouse"];
    let run = push_as(&work, &[("REMOTE_USER", "bob")], &both);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("HELD FOR REVIEW"), "{}", run.stderr);
    assert!(
        run.stderr.contains("does not count on this server")
            && run.stderr.contains("pushed by bob"),
        "{}",
        run.stderr
    );
    // With no authenticated user at all, no owner's approval can count.
    let run = push(&work, &both);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("no authenticated user"),
        "{}",
        run.stderr
    );
    assert_ne!(remote_has(&env, &origin, "main"), Some(tip.clone()));
    // Alice, authenticated by the hosting layer, pushes her approval; then Bob's push passes.
    env.git(
        &origin,
        &["config", "gatehouse-user.alice.email", "alice@example.com"],
    );
    approve_as(&work, "alice@example.com");
    let run = push_as(
        &work,
        &[("GL_USERNAME", "alice")],
        &["origin", "refs/notes/gatehouse"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = push_as(&work, &[("REMOTE_USER", "bob")], &["origin", "main"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(remote_has(&env, &origin, "main"), Some(tip));
}

/// A work repository with the client hooks and a plain bare `origin` (no server hook).
fn client(env: &TestEnv) -> TestRepo<'_> {
    let origin = env.path().join("plain.git");
    let path = origin.to_str().unwrap();
    env.git(env.path(), &["init", "-q", "--bare", "-b", "main", path]);
    let work = env.repo("work");
    work.git(&["remote", "add", "origin", path]);
    work.write("a.py", "a = 1\n");
    work.commit("base");
    work.git(&["push", "-q", "origin", "main"]);
    let run = work.gatehouse(&["install"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    work
}

fn client_push(work: &TestRepo<'_>, args: &[&str]) -> Run {
    let out = work
        .env
        .command("git", &work.root)
        .arg("push")
        .args(args)
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn pre_push_refuses_code_on_a_notes_ref_and_passes_real_notes() {
    let env = TestEnv::new();
    let work = client(&env);
    evil_commit(&work);
    let run = client_push(&work, &["origin", "evil:refs/notes/evil"]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("refs/notes/evil: REFUSED")
            && run.stderr.contains("not a notes commit"),
        "{}",
        run.stderr
    );
    work.git(&["notes", "--ref", "gatehouse", "add", "-m", "a note", "HEAD"]);
    let run = client_push(&work, &["origin", "refs/notes/gatehouse"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn a_remote_named_like_an_option_is_still_gated() {
    let env = TestEnv::new();
    let work = client(&env);
    work.write("b.py", UNTYPED);
    work.commit("evil");
    // `origin` has the commit (pushed past the gate); the remotes below do not, so pushing to one
    // must gate it, whatever the remote's name looks like to an argument parser.
    let run = client_push(&work, &["--no-verify", "origin", "main"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for (i, name) in ["--help", "-h", "--version", "-V", "--"].iter().enumerate() {
        let url = env.path().join(format!("other{i}.git"));
        let url = url.to_str().unwrap();
        env.git(env.path(), &["init", "-q", "--bare", "-b", "main", url]);
        work.git(&["remote", "add", "--", name, url]);
        let run = client_push(&work, &["--", name, "main"]);
        assert_blocked_untyped(&run);
    }
}
