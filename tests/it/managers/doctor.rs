//! `gatehouse doctor`: whether the gate runs on the next push and merge as git sees it, and the
//! pushes that did not pass it, named with their commits; `status` repeats the first problem.

use super::{run, run_with, setup};
use crate::common::{TestEnv, TestRepo};

fn doctor(work: &TestRepo<'_>) -> (i32, serde_json::Value) {
    let out = run(work, "gatehouse", &["doctor", "--format", "json"]);
    (out.code, out.json())
}

fn problems(report: &serde_json::Value) -> String {
    report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_push_with_no_verify_is_reported_with_its_commits() {
    let env = TestEnv::new();
    let work = setup(&env, &[]);
    assert_eq!(run(&work, "gatehouse", &["install"]).code, 0);
    assert_eq!(doctor(&work).0, 0, "{:#}", doctor(&work).1);
    work.write("b.py", "b = 1\n");
    let first = work.commit("first unchecked");
    work.write("c.py", "c = 1\n");
    let second = work.commit("second unchecked");
    work.git(&["push", "-q", "--no-verify", "origin", "main"]);
    let (code, report) = doctor(&work);
    assert_eq!(code, 1, "{report:#}");
    let push = &report["ungated_pushes"][0];
    assert_eq!(push["tracking_ref"], "refs/remotes/origin/main");
    let ids: Vec<&str> = push["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [second.as_str(), first.as_str()]);
    assert_eq!(push["commits"][1]["subject"], "first unchecked");
    let human = run(&work, "gatehouse", &["doctor"]);
    assert!(
        human
            .stdout
            .contains(&format!("{} second unchecked", &second[..12])),
        "{}",
        human.stdout
    );
    assert!(human.stdout.contains("NOT OK"), "{}", human.stdout);
    let status = run(&work, "gatehouse", &["status"]);
    assert!(status.stdout.contains(&format!("doctor: refs/remotes/origin/main moved to {} by a push that did not pass the gate (2 commits)", &second[..12])), "{}", status.stdout);
    // Acknowledged, it is no longer reported; a gated push and a recorded skip are no problem.
    assert_eq!(
        run(&work, "gatehouse", &["doctor", "--acknowledge"]).code,
        1
    );
    assert_eq!(doctor(&work).0, 0);
    work.write("d.py", "d = 1\n");
    work.commit("gated");
    assert_eq!(run(&work, "git", &["push", "-q", "origin", "main"]).code, 0);
    work.write("e.py", "e = 1\n");
    work.commit("skipped");
    assert_eq!(
        run_with(
            &work,
            "git",
            &["push", "-q", "origin", "main"],
            &[("GATEHOUSE_SKIP", "1")]
        )
        .code,
        0
    );
    let (code, report) = doctor(&work);
    assert_eq!(code, 0, "{report:#}");
    assert!(
        report["warnings"]
            .to_string()
            .contains("skipped with GATEHOUSE_SKIP (Test Author"),
        "{report:#}"
    );
    assert!(
        !run(&work, "gatehouse", &["status"])
            .stdout
            .contains("doctor:")
    );
}

#[test]
fn doctor_says_when_the_gate_is_off_and_why() {
    let env = TestEnv::new();
    let work = setup(&env, &[]);
    let (code, report) = doctor(&work);
    assert_eq!(code, 1);
    assert!(
        problems(&report).contains("pre-push: the gate does not run on push: no hook is installed"),
        "{report:#}"
    );
    assert_eq!(run(&work, "gatehouse", &["install"]).code, 0);
    let out = run_with(&work, "gatehouse", &["doctor"], &[("GATEHOUSE_SKIP", "1")]);
    assert_eq!(out.code, 1);
    assert!(
        out.stdout
            .contains("GATEHOUSE_SKIP=1 is set in this environment"),
        "{}",
        out.stdout
    );
    // The shim's binary gone and none on PATH: every push would fail.
    let hook = work.root.join(".git/hooks/pre-push");
    let text = std::fs::read_to_string(&hook).unwrap();
    std::fs::write(
        &hook,
        text.replace(env!("CARGO_BIN_EXE_gatehouse"), "/nonexistent/gatehouse"),
    )
    .unwrap();
    let out = work
        .env
        .command(env!("CARGO_BIN_EXE_gatehouse"), &work.root)
        .env("PATH", "/usr/bin:/bin")
        .args(["doctor"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout.contains("pre-push: the shim's gatehouse binary is missing at /nonexistent/gatehouse and none is on PATH"), "{stdout}");
}

#[test]
fn lefthook_taking_over_turns_the_gate_off_and_doctor_says_so() {
    let env = TestEnv::new();
    let work = setup(
        &env,
        &[(
            "lefthook.yml",
            "pre-push:\n  commands:\n    test:\n      run: \"true\"\n",
        )],
    );
    assert_eq!(run(&work, "gatehouse", &["install"]).code, 0);
    assert_eq!(run(&work, "lefthook", &["install"]).code, 0);
    let (code, report) = doctor(&work);
    assert_eq!(code, 1);
    assert!(
        problems(&report)
            .contains("pre-push: the gate does not run on push: lefthook owns the hook"),
        "{report:#}"
    );
    let status = run(&work, "gatehouse", &["status"]);
    assert!(
        status.stdout.contains("pre-push off (lefthook in control)"),
        "{}",
        status.stdout
    );
    // A plain install refuses and prints the lines; --via adds them, and lefthook runs the gate.
    let out = run(&work, "gatehouse", &["install"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("pre-push:\n  commands:\n    gatehouse:\n      run: gatehouse hook pre-push {0}\n      use_stdin: true"), "{}", out.stderr);
    let out = run(&work, "gatehouse", &["install", "--via", "lefthook"]);
    assert!(
        out.stdout
            .starts_with("--- a/lefthook.yml\n+++ b/lefthook.yml\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("+    gatehouse:\n+      run: gatehouse hook pre-push {0}\n"),
        "{}",
        out.stdout
    );
    let (code, report) = doctor(&work);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["hooks"][0]["routes"][0], "lefthook (lefthook.yml)");
}

#[test]
fn husky_directories_are_never_written_and_the_lines_are_printed() {
    let env = TestEnv::new();
    let work = setup(&env, &[("package.json", "{ \"private\": true }\n")]);
    assert_eq!(run(&work, "gatehouse", &["install"]).code, 0);
    assert_eq!(run(&work, "husky", &[]).code, 0);
    let (code, report) = doctor(&work);
    assert_eq!(
        code, 1,
        "husky's core.hooksPath turned the gate off: {report:#}"
    );
    assert!(
        report["hooks_dir"].as_str().unwrap().ends_with(".husky/_"),
        "{report:#}"
    );
    let stub = work.root.join(".husky/_/pre-push");
    let before = std::fs::read_to_string(&stub).unwrap();
    let out = run(&work, "gatehouse", &["install"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains(".husky/pre-push:  gatehouse hook pre-push \"$@\""),
        "{}",
        out.stderr
    );
    assert_eq!(
        std::fs::read_to_string(&stub).unwrap(),
        before,
        "nothing written in .husky/_"
    );
    let out = run(
        &work,
        "gatehouse",
        &["install", "--via", "husky", "--dry-run"],
    );
    assert!(out.stdout.contains("--- /dev/null\n+++ b/.husky/pre-push\n@@ -0,0 +1,1 @@\n+gatehouse hook pre-push \"$@\"\n"), "{}", out.stdout);
    assert!(
        !work.root.join(".husky/pre-push").exists(),
        "a dry run writes nothing"
    );
    assert_eq!(
        run(&work, "gatehouse", &["install", "--via", "husky"]).code,
        0
    );
    let out = run(&work, "gatehouse", &["install"]);
    assert_eq!(out.code, 0, "husky runs the gate now: {}", out.stderr);
    let status = run(&work, "gatehouse", &["status", "--format", "json"]).json();
    assert_eq!(
        status["hooks"]["hooks"][0]["state"],
        format!(
            "via the hook script {}",
            work.root.join(".husky/pre-push").display()
        )
    );
}

#[test]
fn doctor_follows_git_into_linked_worktrees_and_core_hooks_path() {
    let env = TestEnv::new();
    let work = setup(&env, &[]);
    assert_eq!(run(&work, "gatehouse", &["install"]).code, 0);
    let linked = env.path().join("linked");
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
    let (code, report) = doctor(&wt);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        report["hooks_dir"],
        work.root.join(".git/hooks").display().to_string()
    );
    work.git(&["config", "core.hooksPath", "githooks"]);
    let (code, report) = doctor(&work);
    assert_eq!(code, 1, "git no longer runs .git/hooks: {report:#}");
    assert_eq!(run(&work, "gatehouse", &["install"]).code, 0);
    let (code, report) = doctor(&work);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        report["hooks_dir"],
        work.root.join("githooks").display().to_string()
    );
}

#[test]
fn the_gui_path_warning_is_printed_once_for_all_hooks() {
    let env = TestEnv::new();
    let work = setup(&env, &[]);
    assert_eq!(work.gatehouse(&["install"]).code, 0);
    // Every shim's binary gone; `gatehouse` on this PATH, but not on a GUI client's.
    for hook in ["pre-push", "pre-merge-commit", "pre-commit"] {
        let file = work.root.join(".git/hooks").join(hook);
        let text = std::fs::read_to_string(&file).unwrap();
        std::fs::write(
            &file,
            text.replace(env!("CARGO_BIN_EXE_gatehouse"), "/nonexistent/gatehouse"),
        )
        .unwrap();
    }
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_gatehouse"))
        .parent()
        .unwrap();
    let out = work
        .env
        .command(env!("CARGO_BIN_EXE_gatehouse"), &work.root)
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .args(["doctor"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let gui: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("GUI client"))
        .collect();
    assert_eq!(
        gui,
        [
            "warning: pre-push, pre-merge-commit, pre-commit: the gatehouse binary the shims name is missing at /nonexistent/gatehouse; a shim then falls back to the PATH, where a GUI client or IDE (/usr/bin:/bin:/usr/sbin:/sbin) finds none (`gatehouse install` again)"
        ],
        "{stdout}"
    );
}
