//! Bringing upstream into a branch: what a merge takes in from a side the remote already has is
//! not the user's change (a combined diff), while what a new side brings, and what the merge
//! commit itself adds, is gated. Real pushes to a temp bare repository through the real hooks.

use std::path::PathBuf;

use crate::common::{Run, TestEnv, TestRepo};

/// An untyped function: the `untyped-function` rule blocks it.
const UNTYPED: &str = "def legacy(x):\n    return x\n";
/// Typed code: no finding.
const TYPED: &str = "def f(x: int) -> int:\n    return x\n";

/// `work` (hooks installed) with a pushed branch `feat`, and a colleague's commit on `origin`'s
/// `main` adding `legacy2.py` with a finding (pushed past the client gate with `--no-verify`),
/// fetched into `work` as `origin/main`. `server`: then the bare repository gets the
/// pre-receive gate, so everything it holds so far is a checked state (its baseline).
fn upstream_with_a_finding(env: &TestEnv, server: bool) -> (TestRepo<'_>, PathBuf) {
    let (work, origin) = env.work_with_origin(&[("a.py", TYPED)]);
    let run = work.gatehouse(&["install"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    work.git(&["checkout", "-q", "-b", "feat"]);
    work.write("feat.py", TYPED);
    work.commit("feat");
    let run = work.try_git(&["push", "origin", "feat"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let colleague = env.repo("colleague");
    colleague.git(&["pull", "-q", origin.to_str().unwrap(), "main"]);
    colleague.write("legacy2.py", UNTYPED);
    colleague.commit("legacy code");
    colleague.git(&[
        "push",
        "-q",
        "--no-verify",
        origin.to_str().unwrap(),
        "HEAD:main",
    ]);
    if server {
        let run = work.gatehouse_in(&origin, &["install", "--server"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    work.git(&["fetch", "-q", "origin"]);
    (work, origin)
}

/// The `path:line` of the findings a hook printed, each once.
fn reported(run: &Run) -> Vec<String> {
    let mut found: Vec<String> = run
        .stderr
        .lines()
        .map(|l| l.trim_start_matches("remote: "))
        .filter(|l| l.contains(": untyped-function"))
        .map(|l| l.split(':').take(2).collect::<Vec<_>>().join(":"))
        .collect();
    found.dedup();
    found
}

#[test]
fn a_no_ff_merge_of_upstream_brings_nothing_of_upstreams_into_the_push() {
    let env = TestEnv::new();
    let (work, _origin) = upstream_with_a_finding(&env, false);
    // The merge hook is tested on its own below; here only the push gate decides.
    work.git(&[
        "merge",
        "-q",
        "--no-ff",
        "--no-verify",
        "-m",
        "sync",
        "origin/main",
    ]);
    let run = work.try_git(&["push", "origin", "feat"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(reported(&run).is_empty(), "{}", run.stderr);
    // `check --range feat` agrees with the push.
    let run = work.gatehouse(&["check", "--range", "feat"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

#[test]
fn what_the_merge_commit_itself_adds_is_gated() {
    let env = TestEnv::new();
    let (work, _origin) = upstream_with_a_finding(&env, false);
    work.git(&["merge", "-q", "--no-ff", "--no-commit", "origin/main"]);
    // An evil merge: the resolution adds a finding of its own to a file the merge brought.
    work.write(
        "legacy2.py",
        format!("{UNTYPED}\n\ndef added(y):\n    return y\n"),
    );
    work.git(&["add", "legacy2.py"]);
    work.git(&["commit", "-q", "--no-verify", "-m", "sync"]);
    let run = work.try_git(&["push", "origin", "feat"]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("BLOCKED"), "{}", run.stderr);
    // Only the merge's own line counts, not the colleague's function.
    assert_eq!(reported(&run), ["legacy2.py:5"], "{}", run.stderr);
}

#[test]
fn merging_an_unpushed_branch_gates_what_it_brings() {
    let env = TestEnv::new();
    let (work, _origin) = upstream_with_a_finding(&env, false);
    // A local branch started from the newer upstream: upstream's part of it is known, its own
    // commit is not.
    work.git(&["checkout", "-q", "-b", "topic", "origin/main"]);
    work.write("topic.py", UNTYPED);
    work.commit("topic");
    work.git(&["checkout", "-q", "feat"]);
    work.git(&[
        "merge",
        "-q",
        "--no-ff",
        "--no-verify",
        "-m",
        "take topic",
        "topic",
    ]);
    let run = work.try_git(&["push", "origin", "feat"]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert_eq!(reported(&run), ["topic.py:1"], "{}", run.stderr);
}

#[test]
fn pre_merge_commit_lets_a_merge_of_upstream_through_and_stops_an_unpushed_side() {
    let env = TestEnv::new();
    let (work, _origin) = upstream_with_a_finding(&env, false);
    let run = work.try_git(&["merge", "--no-ff", "-m", "sync", "origin/main"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(reported(&run).is_empty(), "{}", run.stderr);
    assert!(work.root.join("legacy2.py").exists());
    // A local side's own finding is still refused.
    work.git(&["checkout", "-q", "-b", "topic"]);
    work.write("topic.py", UNTYPED);
    work.commit("topic");
    work.git(&["checkout", "-q", "feat"]);
    work.write("other.py", TYPED);
    work.commit("other");
    let run = work.try_git(&["merge", "--no-ff", "-m", "take topic", "topic"]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert_eq!(reported(&run), ["topic.py:1"], "{}", run.stderr);
}

#[test]
fn pre_receive_credits_a_checked_upstream_and_gates_an_evil_merge() {
    let env = TestEnv::new();
    let (work, origin) = upstream_with_a_finding(&env, true);
    work.git(&[
        "merge",
        "-q",
        "--no-ff",
        "--no-verify",
        "-m",
        "sync",
        "origin/main",
    ]);
    let run = work.try_git(&["push", "--no-verify", "origin", "feat"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(reported(&run).is_empty(), "{}", run.stderr);
    // An evil merge on top of it: the server refuses the line the merge adds.
    work.git(&["checkout", "-q", "-b", "evil", "feat~1"]);
    work.git(&["merge", "-q", "--no-ff", "--no-commit", "origin/main"]);
    work.write(
        "legacy2.py",
        format!("{UNTYPED}\n\ndef added(y):\n    return y\n"),
    );
    work.git(&["add", "legacy2.py"]);
    work.git(&["commit", "-q", "--no-verify", "-m", "sync"]);
    let run = work.try_git(&["push", "--no-verify", "origin", "evil"]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert_eq!(reported(&run), ["legacy2.py:5"], "{}", run.stderr);
    let out = env
        .command("git", &origin)
        .args(["rev-parse", "--verify", "-q", "refs/heads/evil"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "the server kept the evil merge out");
}

#[test]
fn a_conflict_resolution_that_adds_a_finding_is_refused_at_commit() {
    let env = TestEnv::new();
    let (work, _origin) = upstream_with_a_finding(&env, false);
    work.write("legacy2.py", TYPED);
    work.commit("my own legacy2.py");
    let run = work.try_git(&["merge", "--no-ff", "-m", "sync", "origin/main"]);
    assert_ne!(run.code, 0, "an add/add conflict: {}", run.stderr);
    // Resolved as upstream's side plus a finding of the resolution's own.
    work.write(
        "legacy2.py",
        format!("{UNTYPED}\n\ndef added(y):\n    return y\n"),
    );
    work.git(&["add", "legacy2.py"]);
    let run = work.try_git(&["commit", "-m", "sync"]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert_eq!(reported(&run), ["legacy2.py:5"], "{}", run.stderr);
    // Resolved as upstream's side alone: nothing of the merge's own.
    work.write("legacy2.py", UNTYPED);
    work.git(&["add", "legacy2.py"]);
    let run = work.try_git(&["commit", "-m", "sync"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

/// A dependency upstream added to a manifest that the branch changed too is upstream's, not a
/// new dependency of the push; one the branch adds itself still is.
#[test]
fn a_dependency_upstream_added_is_not_new_in_a_merge_of_it() {
    let env = TestEnv::new();
    let manifest = |version: &str, deps: &[&str]| {
        let deps: String = deps.iter().map(|d| format!("    \"{d}\",\n")).collect();
        format!(
            "[project]\nname = \"shop\"\nversion = \"{version}\"\ndescription = \"a shop\"\n\
             readme = \"README.md\"\nlicense = \"MIT\"\ndependencies = [\n{deps}]\n"
        )
    };
    let (work, origin) = env.work_with_origin(&[
        ("a.py", TYPED),
        ("pyproject.toml", &manifest("0.1.0", &["requests"])),
    ]);
    let run = work.gatehouse(&["install"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    work.git(&["checkout", "-q", "-b", "feat"]);
    work.write("pyproject.toml", manifest("0.2.0", &["requests"]));
    work.commit("bump");
    // A changed manifest is held for review (sensitive-path): approved, as a human would.
    assert_eq!(work.gatehouse(&["approve"]).code, 0);
    let run = work.try_git(&["push", "origin", "feat"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let colleague = env.repo("colleague");
    colleague.git(&["pull", "-q", origin.to_str().unwrap(), "main"]);
    colleague.write("pyproject.toml", manifest("0.1.0", &["requests", "attrs"]));
    colleague.commit("attrs");
    colleague.git(&[
        "push",
        "-q",
        "--no-verify",
        origin.to_str().unwrap(),
        "HEAD:main",
    ]);
    work.git(&["fetch", "-q", "origin"]);
    // The merge is a changed manifest (held for review by pre-merge-commit), but `attrs` is
    // upstream's: it is not called a new dependency.
    let merging = ["merge", "-q", "--no-ff", "-m", "merge main", "origin/main"];
    let held = work.try_git(&merging);
    assert!(
        held.stderr.contains("sensitive-path") && !held.stderr.contains("new dependency"),
        "{}",
        held.stderr
    );
    work.git(&["merge", "--abort"]);
    let merged = work.try_git(&[&merging[..], &["--no-verify"]].concat());
    assert_eq!(merged.code, 0, "{}{}", merged.stdout, merged.stderr);
    assert!(
        std::fs::read_to_string(work.root.join("pyproject.toml"))
            .unwrap()
            .contains("version = \"0.2.0\"")
    );
    // The merged manifest is a changed manifest (held for review), but `attrs` is upstream's.
    let run = work.try_git(&["push", "origin", "feat"]);
    assert!(
        run.stderr.contains("sensitive-path") && !run.stderr.contains("new dependency"),
        "{}",
        run.stderr
    );
    assert_eq!(work.gatehouse(&["approve"]).code, 0);
    let run = work.try_git(&["push", "origin", "feat"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // The branch's own new dependency is still one.
    work.write(
        "pyproject.toml",
        manifest("0.2.0", &["requests", "attrs", "fastjsonx"]),
    );
    work.commit("fastjsonx");
    let run = work.try_git(&["push", "origin", "feat"]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("new dependency `fastjsonx`") && !run.stderr.contains("`attrs`"),
        "{}",
        run.stderr
    );
}
