//! Hostile: refs that point at a tree or a blob (a lightweight tag, or an annotated tag of one).
//! The gate checks what commits bring; a ref to anything else once passed as "no new commits".
//! pre-push and pre-receive refuse it, with a message; deleting one still passes.

use std::path::{Path, PathBuf};

use crate::common::{Run, TestEnv, TestRepo};

/// `work` with the client hooks and `origin` with the server hook.
fn gated(env: &TestEnv) -> (TestRepo<'_>, PathBuf) {
    let (work, origin) = env.work_with_origin(&[("a.py", "def f(x: int) -> int:\n    return x\n")]);
    for (dir, args) in [
        (&work.root, &["install"][..]),
        (&origin, &["install", "--server"][..]),
    ] {
        let run = work.gatehouse_in(dir, args);
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    (work, origin)
}

fn push(repo: &TestRepo<'_>, args: &[&str]) -> Run {
    repo.try_git(&[&["push"][..], args].concat())
}

fn remote_has(env: &TestEnv, origin: &Path, reference: &str) -> bool {
    env.command("git", origin)
        .args(["rev-parse", "--verify", "-q", reference])
        .output()
        .unwrap()
        .status
        .success()
}

/// Makes the tags `tree`, `blob` and `annotated` (an annotated tag of the tree).
fn tags(work: &TestRepo<'_>) {
    work.git(&["tag", "tree", "HEAD^{tree}"]);
    let blob = work.git(&["rev-parse", "HEAD:a.py"]);
    work.git(&["tag", "blob", blob.trim()]);
    work.git(&["tag", "-a", "-m", "a tree", "annotated", "HEAD^{tree}"]);
}

#[test]
fn pre_push_refuses_a_tag_of_a_tree_or_a_blob() {
    let env = TestEnv::new();
    let (work, origin) = gated(&env);
    tags(&work);
    for (tag, kind) in [("tree", "tree"), ("blob", "blob"), ("annotated", "tree")] {
        let run = push(&work, &["origin", tag]);
        assert_ne!(run.code, 0, "{tag}: {}", run.stderr);
        let name = format!("refs/tags/{tag}: REFUSED: it points at {kind} ");
        assert!(run.stderr.contains(&name), "{tag}: {}", run.stderr);
        assert!(!run.stderr.contains("passed"), "{tag}: {}", run.stderr);
        assert!(!remote_has(&env, &origin, &format!("refs/tags/{tag}")));
    }
}

#[test]
fn pre_receive_refuses_a_tag_of_a_tree_or_a_blob() {
    let env = TestEnv::new();
    let (work, origin) = gated(&env);
    tags(&work);
    for (tag, kind) in [("tree", "tree"), ("blob", "blob"), ("annotated", "tree")] {
        let run = push(&work, &["--no-verify", "origin", tag]);
        assert_ne!(run.code, 0, "{tag}: {}", run.stderr);
        let name = format!("refs/tags/{tag}: REFUSED: it points at {kind} ");
        assert!(run.stderr.contains(&name), "{tag}: {}", run.stderr);
        assert!(!remote_has(&env, &origin, &format!("refs/tags/{tag}")));
    }
}

#[test]
fn deleting_a_tag_of_a_tree_passes() {
    let env = TestEnv::new();
    let (work, origin) = gated(&env);
    // One that got there before the gate (or by the server's own hand).
    let tree = work.git(&["rev-parse", "HEAD^{tree}"]);
    env.git(&origin, &["tag", "tree", tree.trim()]);
    let run = push(&work, &["origin", ":refs/tags/tree"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!remote_has(&env, &origin, "refs/tags/tree"));
}
