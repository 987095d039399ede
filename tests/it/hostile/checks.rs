//! Hostile: a change or a repository built to get past the checks engine. Code the checks
//! cannot parse, a flood of findings, files over the size limit; nesting that overflows a
//! recursive walk (`checks/depth.rs`); configuration that hangs or loosens the gate
//! (`checks/config_files.rs`).

mod config_files;
mod depth;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Run, TestEnv, TestRepo, findings};

/// Runs `cmd` with its address space capped at 4 GiB and killed after `limit`: a test of a
/// hang or an unbounded allocation must fail, not take the machine down. `None` on timeout.
pub(super) fn bounded(cmd: Command, limit: Duration) -> Option<Run> {
    let out = tempfile::tempdir().unwrap();
    let (stdout, stderr) = (out.path().join("out"), out.path().join("err"));
    let program = cmd.get_program().to_owned();
    let args: Vec<_> = cmd.get_args().map(ToOwned::to_owned).collect();
    let mut wrapped = Command::new("sh");
    wrapped
        .arg("-c")
        .arg("ulimit -v 4194304; exec \"$@\"")
        .arg("sh")
        .arg(program)
        .args(args);
    if let Some(dir) = cmd.get_current_dir() {
        wrapped.current_dir(dir);
    }
    wrapped.env_clear();
    for (key, value) in cmd.get_envs() {
        if let Some(value) = value {
            wrapped.env(key, value);
        }
    }
    let mut child = wrapped
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
    Some(Run {
        code: status.code().unwrap_or(-1),
        stdout: read(&stdout),
        stderr: read(&stderr),
    })
}

/// `gatehouse ARGS` in `repo`, bounded.
pub(super) fn gatehouse(repo: &TestRepo<'_>, args: &[&str], limit: Duration) -> Run {
    let mut cmd = repo
        .env
        .command(env!("CARGO_BIN_EXE_gatehouse"), &repo.root);
    cmd.args(args);
    bounded(cmd, limit)
        .unwrap_or_else(|| panic!("`gatehouse {}` did not finish in {limit:?}", args.join(" ")))
}

/// A work repository with hooks and an `origin` bare remote holding its first commit.
pub(super) fn with_origin<'e>(env: &'e TestEnv, files: &[(&str, &str)]) -> (TestRepo<'e>, PathBuf) {
    let (work, origin) = env.work_with_origin(files);
    let run = work.gatehouse(&["install"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    (work, origin)
}

pub(super) fn push(work: &TestRepo<'_>) -> Run {
    let mut cmd = work.env.command("git", &work.root);
    cmd.args(["push", "origin", "main"]);
    bounded(cmd, Duration::from_secs(120)).expect("the push finished")
}

pub(super) fn has(
    found: &[(String, u64, String, String)],
    path: &str,
    line: u64,
    rule: &str,
    code: &str,
) -> bool {
    found
        .iter()
        .any(|f| f.0 == path && f.1 == line && f.2 == rule && f.3 == code)
}

const BROKEN_PY: &str = "def f(x):\n    return x\n\n\ndef g(:\n    pass\n";
const BROKEN_RS: &str = "fn main() {\n    let x = ;\n}\n";

#[test]
fn a_file_that_does_not_parse_blocks_and_what_did_parse_is_still_checked() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let mut deep_indent = String::from("def f(x):\n    return x\n\n\n");
    for depth in 0..600 {
        deep_indent.push_str(&format!("{}if x:\n", "    ".repeat(depth)));
    }
    deep_indent.push_str(&format!("{}pass\n", "    ".repeat(600)));
    repo.write("a.py", BROKEN_PY)
        .write("b.rs", BROKEN_RS)
        .write("c.py", &deep_indent);
    repo.commit("base");
    let run = repo.gatehouse(&["check", "--format", "json"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let found = findings(&run.json());
    assert!(
        has(&found, "a.py", 5, "parse-error", "syntax-error"),
        "{found:?}"
    );
    assert!(
        has(&found, "a.py", 1, "untyped-function", "ANN001"),
        "{found:?}"
    );
    assert!(
        has(&found, "b.rs", 2, "parse-error", "syntax-error"),
        "{found:?}"
    );
    assert!(
        found.iter().any(|f| f.0 == "c.py" && f.2 == "parse-error"),
        "{found:?}"
    );
    let level = |id: &str| {
        let list = repo
            .gatehouse(&["rules", "list", "--format", "json"])
            .json();
        list["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .map(|r| r["level"].as_str().unwrap().to_string())
    };
    assert_eq!(level("parse-error").as_deref(), Some("block"));
    // Configurable like any rule.
    repo.write(
        ".gatehouse/config.toml",
        "[rules.parse-error]\nlevel = \"warn\"\n",
    );
    let run = repo.gatehouse(&["check", "b.rs"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("b.rs:2:"), "{}", run.stdout);
    assert!(
        run.stdout.contains("parse-error [syntax-error]"),
        "{}",
        run.stdout
    );
}

#[test]
fn in_the_gate_a_file_that_does_not_parse_blocks_whichever_lines_changed() {
    let env = TestEnv::new();
    let (work, _origin) = with_origin(&env, &[("a.py", "x = 1\n"), ("ok.py", "y = 1\n")]);
    // A change elsewhere in a file that parses passes.
    work.write("ok.py", "y = 2\n");
    work.commit("fine");
    let run = push(&work);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // The file stopped parsing in a commit that got past the gate (`--no-verify`); the next
    // push changes only line 1, and the syntax error is on line 5.
    work.write("a.py", "x = 2\n\n\n\ndef g(:\n    pass\n");
    work.commit("broken");
    work.git(&["push", "-q", "--no-verify", "origin", "main"]);
    work.write("a.py", "x = 3\n\n\n\ndef g(:\n    pass\n");
    work.commit("touch line 1 only");
    let run = push(&work);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("a.py:5:") && run.stderr.contains("parse-error [syntax-error]"),
        "{}",
        run.stderr
    );
}

#[test]
fn many_findings_in_one_file_render_in_linear_time_with_a_cap() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let defs: String = (0..20_000)
        .map(|i| format!("def f{i}(a): pass\n"))
        .collect();
    repo.write("a.py", &defs);
    repo.commit("base");
    let run = gatehouse(&repo, &["check"], Duration::from_secs(60));
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("40000 findings (40000 block, 0 review, 0 warn); 1 file checked"),
        "{}",
        &run.stdout[run.stdout.len().saturating_sub(2000)..]
    );
    assert!(
        run.stdout.contains("more findings in a.py not shown"),
        "{}",
        &run.stdout[run.stdout.len().saturating_sub(2000)..]
    );
    assert!(run.stdout.lines().count() < 2_000, "not capped");
    // JSON keeps every finding.
    let run = gatehouse(
        &repo,
        &["check", "--format", "json"],
        Duration::from_secs(60),
    );
    assert_eq!(run.json()["findings"].as_array().unwrap().len(), 40_000);
}

#[test]
fn a_file_over_the_size_limit_is_a_finding_not_a_silent_pass() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    repo.write(".gatehouse/config.toml", "max_file_size = 1000\n")
        .write("small.py", "x = 1\n");
    repo.commit("base");
    let big: String = (0..100).map(|i| format!("def f{i}(a): pass\n")).collect();
    repo.write("big.py", &big)
        .write("bin/tool", format!("#!/usr/bin/env python3\n{big}"))
        .write("notes.txt", "n".repeat(5000))
        .write("small.py", "x = 2\n");
    repo.commit("big files");
    // The working tree, and a commit range (blobs) in the gate's changed-lines scope.
    for args in [
        &["check", "--format", "json"][..],
        &["check", "--range", "HEAD~1..HEAD", "--format", "json"][..],
    ] {
        let run = repo.gatehouse(args);
        assert_eq!(run.code, 3, "{args:?}: {}{}", run.stdout, run.stderr);
        let found = findings(&run.json());
        let large: Vec<(&str, &str)> = found
            .iter()
            .filter(|f| f.2 != "sensitive-path")
            .map(|f| (f.0.as_str(), f.2.as_str()))
            .collect();
        assert_eq!(
            large,
            [("big.py", "file-too-large"), ("bin/tool", "file-too-large")],
            "{args:?}: {found:?}"
        );
    }
}

/// A change whose diff libgit2 gives no lines for cannot hide its findings as "not on a changed
/// line": a file that was binary (or a link, or marked `-diff`) and becomes code with a finding.
#[test]
fn code_that_replaces_a_binary_a_link_or_a_diff_less_file_is_checked_in_full() {
    let env = TestEnv::new();
    let untyped = "def f(x):\n    return x\n";
    let (work, _origin) = with_origin(
        &env,
        &[
            ("was_binary.py", "x\0y\n"),
            ("hidden.py", "x = 1\n"),
            (".gitattributes", "hidden.py -diff\n"),
        ],
    );
    std::os::unix::fs::symlink("elsewhere.py", work.root.join("was_link.py")).unwrap();
    work.git(&["add", "was_link.py"]);
    work.commit("a link");
    work.git(&["push", "-q", "--no-verify", "origin", "main"]);
    std::fs::remove_file(work.root.join("was_link.py")).unwrap();
    work.write("was_binary.py", untyped)
        .write("was_link.py", untyped)
        .write("hidden.py", untyped);
    // Staged first: the pre-commit path diffs the index, with attributes.
    work.git(&["add", "-A"]);
    let staged = gatehouse(&work, &["check", "--staged"], Duration::from_secs(60));
    work.commit("code");
    let range = gatehouse(
        &work,
        &["check", "--range", "HEAD~1..HEAD"],
        Duration::from_secs(60),
    );
    let run = push(&work);
    for (what, out, code) in [
        ("check --staged", &staged.stdout, staged.code),
        ("check --range", &range.stdout, range.code),
        ("pre-push", &run.stderr, run.code),
    ] {
        assert_eq!(code, 1, "{what}: {out}");
        for file in ["was_binary.py", "was_link.py", "hidden.py"] {
            assert!(
                out.contains(&format!("{file}:1:5: untyped-function")),
                "{what} missed {file}: {out}"
            );
        }
    }
}
