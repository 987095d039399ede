//! `.pre-commit-hooks.yaml`: real pre-commit and real prek use this project as a hook repository
//! (a local clone of it, with the working tree's hooks file): the `gatehouse` hook gates a push,
//! and the manual `gatehouse-check` hook checks files.

use std::path::{Path, PathBuf};

use super::{run, setup};
use crate::common::{TestEnv, TestRepo};

/// A clone of this project whose tip has the working tree's `.pre-commit-hooks.yaml`; its commit.
fn hook_repository(env: &TestEnv) -> (PathBuf, String) {
    let project = Path::new(env!("CARGO_MANIFEST_DIR"));
    let clone = env.path().join("gatehouse-clone");
    let url = format!("file://{}", project.display());
    env.git(
        env.path(),
        &["clone", "-q", "--depth", "1", &url, clone.to_str().unwrap()],
    );
    std::fs::copy(
        project.join(".pre-commit-hooks.yaml"),
        clone.join(".pre-commit-hooks.yaml"),
    )
    .unwrap();
    env.git(&clone, &["add", ".pre-commit-hooks.yaml"]);
    env.git(
        &clone,
        &[
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "hooks file of the working tree",
        ],
    );
    let rev = env.git(&clone, &["rev-parse", "HEAD"]).trim().to_string();
    (clone, rev)
}

fn config(repo: &Path, rev: &str) -> String {
    format!(
        "repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n      - id: gatehouse\n      - id: gatehouse-merge\n      - id: gatehouse-check\n",
        repo.display()
    )
}

fn gates_a_push_and_checks_files(tool: &str) {
    let env = TestEnv::new();
    let (hooks, rev) = hook_repository(&env);
    let work: TestRepo<'_> = setup(&env, &[(".pre-commit-config.yaml", &config(&hooks, &rev))]);
    let out = run(
        &work,
        tool,
        &["install", "-t", "pre-push", "-t", "pre-merge-commit"],
    );
    assert_eq!(out.code, 0, "{tool} install: {}", out.stderr);
    let status = run(&work, "gatehouse", &["status", "--format", "json"]).json();
    let pre_push = status["hooks"]["hooks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == "pre-push")
        .unwrap()
        .clone();
    assert_eq!(
        pre_push["state"],
        format!("via {tool} (.pre-commit-config.yaml)"),
        "{status:#}"
    );
    work.write("bad.py", "def f(x):\n    return x\n");
    work.commit("untyped");
    let out = run(&work, "git", &["push", "origin", "main"]);
    let output = format!("{}{}", out.stdout, out.stderr);
    assert_ne!(out.code, 0, "{tool}: the gate refuses the push:\n{output}");
    assert!(
        output.contains("bad.py:1:5") && output.contains("untyped-function"),
        "{output}"
    );
    work.write("bad.py", "def f(x: int) -> int:\n    return x\n");
    work.commit("typed");
    let out = run(&work, "git", &["push", "origin", "main"]);
    assert_eq!(
        out.code, 0,
        "{tool}: a clean push passes:\n{}{}",
        out.stdout, out.stderr
    );
    work.write("worse.py", "def g(y):\n    return y\n");
    let out = run(
        &work,
        tool,
        &[
            "run",
            "--hook-stage",
            "manual",
            "gatehouse-check",
            "--files",
            "worse.py",
            "bad.py",
        ],
    );
    let output = format!("{}{}", out.stdout, out.stderr);
    assert_eq!(out.code, 1, "{tool} run gatehouse-check:\n{output}");
    assert!(
        output.contains("worse.py:1:5") && !output.contains("bad.py:1"),
        "{output}"
    );
}

#[test]
fn pre_commit_uses_the_hook_repository() {
    gates_a_push_and_checks_files("pre-commit");
}

#[test]
fn prek_uses_the_hook_repository() {
    gates_a_push_and_checks_files("prek");
}
