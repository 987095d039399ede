//! ci/gatehouse-ci.sh, the steps of the GitHub Action and the GitLab template, on a real
//! repository: SARIF for the change, the gate's verdict on the pull request's commits only
//! (approvals count), and the temporary remote it uses removed again.

use super::{run_with, setup};
use crate::common::{Run, TestEnv, TestRepo};

fn ci(work: &TestRepo<'_>, base: &str) -> Run {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ci/gatehouse-ci.sh");
    run_with(
        work,
        "sh",
        &[script.to_str().unwrap()],
        &[("GATEHOUSE_BASE", base), ("GATEHOUSE_SARIF", "out.sarif")],
    )
}

fn sarif_rules(work: &TestRepo<'_>) -> Vec<String> {
    let text = std::fs::read_to_string(work.root.join("out.sarif")).unwrap();
    let sarif: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_ci_script_gates_the_pull_requests_commits() {
    let env = TestEnv::new();
    let work = setup(&env, &[]);
    // Legacy code on the base branch is not the pull request's business.
    work.write("legacy.py", "def old(a):\n    return a\n");
    let base = work.commit("legacy, untyped");
    work.git(&["checkout", "-q", "-b", "pr"]);
    work.write("new.py", "def new(b: int) -> int:\n    return b\n");
    work.commit("a clean change");
    let out = ci(&work, &base);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("refs/heads/main: 1 new commit, 1 file changed since"),
        "{}",
        out.stderr
    );
    assert_eq!(
        sarif_rules(&work),
        ["sensitive-path"],
        "the watched .py file, a warning"
    );
    assert!(
        !work.git(&["remote"]).contains("gatehouse-ci"),
        "the temporary remote is gone"
    );
    work.write(
        "new.py",
        "def new(b: int) -> int:\n    return b\n\n\ndef sloppy(c):\n    return c\n",
    );
    work.commit("an untyped function");
    let out = ci(&work, &base);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("new.py:5:5") && out.stderr.contains("BLOCKED"),
        "{}",
        out.stderr
    );
    let rules = sarif_rules(&work);
    assert!(
        rules.iter().filter(|r| *r == "untyped-function").count() == 2,
        "{rules:?}"
    );
    assert!(!work.git(&["remote"]).contains("gatehouse-ci"));
}

#[test]
fn the_ci_script_counts_approvals_and_refuses_without_a_base() {
    let env = TestEnv::new();
    let work = setup(&env, &[]);
    let base = work.git(&["rev-parse", "HEAD"]).trim().to_string();
    work.write(".github/workflows/ci.yml", "on: push\n");
    work.commit("a workflow");
    let out = ci(&work, &base);
    assert_eq!(out.code, 3, "held for review: {}", out.stderr);
    assert_eq!(
        run_with(&work, "gatehouse", &["approve", "-m", "reviewed"], &[]).code,
        0
    );
    let out = ci(&work, &base);
    assert_eq!(out.code, 0, "approved: {}", out.stderr);
    let out = ci(&work, "");
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("set GATEHOUSE_BASE"), "{}", out.stderr);
    let out = ci(&work, &"0".repeat(40));
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("the zero commit"), "{}", out.stderr);
}
