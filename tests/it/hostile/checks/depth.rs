//! Hostile: nesting built to overflow a recursive walk (and crash `check`, a hook or the
//! daemon) is a finding; nesting just under the limit is checked like any code.

use std::time::Duration;

use super::{gatehouse, has, push, with_origin};
use crate::common::{TestEnv, findings};

/// A package, so that the Rust checks walk its files (before, their recursive walk overflowed).
const CARGO_TOML: &str = "[package]\nname = \"x\"\nversion = \"0.1.0\"\nedition = \"2021\"\n";

fn nested(open: &str, inner: &str, close: &str, depth: usize) -> String {
    format!("{}{inner}{}", open.repeat(depth), close.repeat(depth))
}

#[test]
fn deep_nesting_is_a_finding_not_a_stack_overflow() {
    let env = TestEnv::new();
    let (work, origin) = with_origin(&env, &[("Cargo.toml", CARGO_TOML)]);
    let n = 100_000;
    work.write(
        "deep.rs",
        format!("fn main() {}\n", nested("{", "", "}", n)),
    )
    .write(
        "deep_parens.rs",
        format!("fn main() {{ let x = {}; }}\n", nested("(", "1", ")", n)),
    )
    .write(
        "deep.py",
        format!(
            "def f(x: int) -> int:\n    return {}\n",
            nested("[", "", "]", n)
        ),
    )
    .write(
        "deep_call.py",
        format!(
            "def f(x: int) -> int:\n    return {}\n",
            nested("g(", "x", ")", n)
        ),
    );
    work.git(&["add", "-A"]);
    work.git(&["commit", "-q", "--no-verify", "-m", "deep"]);
    let run = gatehouse(
        &work,
        &["check", "--format", "json"],
        Duration::from_secs(120),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let found = findings(&run.json());
    for path in ["deep.rs", "deep_parens.rs", "deep.py", "deep_call.py"] {
        assert!(
            found
                .iter()
                .any(|f| f.0 == path && f.2 == "parse-error" && f.3 == "too-deep"),
            "{path}: {found:?}"
        );
    }
    // The same through the pre-push hook: refused with the finding, not killed by a signal.
    let run = push(&work);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("parse-error [too-deep]"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("overflow"), "{}", run.stderr);
    let remote = env
        .command("git", &origin)
        .args(["rev-parse", "main"])
        .output()
        .unwrap();
    let local = work.git(&["rev-parse", "HEAD"]);
    assert_ne!(String::from_utf8_lossy(&remote.stdout).trim(), local.trim());
}

/// Just under the depth limit, every check walks the file (on the checking threads' stack)
/// instead of giving up: the limit is not a way to hide code, and no walk overflows before it.
#[test]
fn nesting_just_under_the_limit_is_checked_by_every_rule() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    // Repetitions that stay under 1,500 tree levels (about 5% below, measured per shape).
    let rust = [
        (
            "blocks",
            format!("fn main() {}", nested("{", "nope::x();", "}", 700)),
        ),
        (
            "mods",
            format!(
                "{}fn f() {{ nope::x(); }}{}",
                "mod a { ".repeat(700),
                " }".repeat(700)
            ),
        ),
        (
            "uses",
            format!("use nope::{{{}}};", nested("a::{", "b", "}", 700)),
        ),
        (
            "closures",
            format!("fn main() {{ let f = {}nope::x(); }}", "|x| ".repeat(1400)),
        ),
        (
            "else_if",
            format!(
                "fn main() {{ if a {{}} {}nope::x(); }}",
                "else if a {} ".repeat(700)
            ),
        ),
        (
            "attrs",
            format!(
                "#[cfg({})]\nuse nope::x;",
                nested("all(", "test", ")", 1400)
            ),
        ),
        (
            "macros",
            format!("fn main() {{ {}; }}", nested("m!(", "nope::x", ")", 1400)),
        ),
        (
            "matches",
            format!(
                "fn main() {{ {} }}",
                nested("match x { _ => ", "nope::x()", " }", 470)
            ),
        ),
    ];
    let python = [
        (
            "parens",
            format!("def f(a):\n    return {}\n", nested("(", "a", ")", 1400)),
        ),
        (
            "calls",
            format!("def f(a):\n    return {}\n", nested("g(", "a", ")", 700)),
        ),
        (
            "lambdas",
            format!("def f(a):\n    return {}1\n", "lambda: ".repeat(1400)),
        ),
        (
            "binary",
            format!("def f(a):\n    return 1{}\n", " + a".repeat(1400)),
        ),
    ];
    repo.write("Cargo.toml", CARGO_TOML);
    let mods: String = rust
        .iter()
        .map(|(name, _)| format!("mod {name};\n"))
        .collect();
    repo.write("src/lib.rs", mods);
    for (name, text) in &rust {
        repo.write(&format!("src/{name}.rs"), format!("{text}\n"));
    }
    for (name, text) in &python {
        repo.write(&format!("{name}.py"), text);
    }
    repo.commit("deep but not too deep");
    let run = gatehouse(
        &repo,
        &["check", "--format", "json"],
        Duration::from_secs(120),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let found = findings(&run.json());
    assert!(!found.iter().any(|f| f.2 == "parse-error"), "{found:?}");
    for (name, _) in &rust {
        let path = format!("src/{name}.rs");
        assert!(
            found.iter().any(|f| f.0 == path && f.2 == "missing-import"),
            "{path}: {found:?}"
        );
    }
    for (name, _) in &python {
        let path = format!("{name}.py");
        assert!(
            has(&found, &path, 1, "untyped-function", "ANN001"),
            "{path}: {found:?}"
        );
    }
}

/// Stops the daemon when the test ends, however it ends: `daemon stop`, then SIGKILL.
struct Daemon<'r, 'e> {
    repo: &'r crate::common::TestRepo<'e>,
    pid: i64,
}

impl Drop for Daemon<'_, '_> {
    fn drop(&mut self) {
        let _ = self.repo.gatehouse(&["daemon", "stop"]);
        // SAFETY: signalling the pid the daemon reported as its own.
        unsafe { libc::kill(self.pid as i32, libc::SIGKILL) };
    }
}

#[test]
fn a_deep_commit_does_not_kill_the_daemon() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    repo.write("a.py", "a = 1\n")
        .write("Cargo.toml", CARGO_TOML);
    repo.commit("base");
    assert_eq!(repo.gatehouse(&["daemon", "start"]).code, 0);
    let status = repo
        .gatehouse(&["daemon", "status", "--format", "json"])
        .json();
    let daemon = Daemon {
        repo: &repo,
        pid: status["pid"].as_i64().unwrap(),
    };
    let n = 100_000;
    repo.write(
        "deep.rs",
        format!("fn main() {}\n", nested("{", "", "}", n)),
    )
    .write("deep.py", format!("x = {}\n", nested("(", "1", ")", n)));
    let commit = repo.commit("deep");
    // After a commit the daemon checks the changed files to warm the cache.
    let log = repo.root.join(".git/gatehouse/logs/daemon.log");
    let warmed = format!("cache warm commit={commit}");
    let started = std::time::Instant::now();
    while !std::fs::read_to_string(&log).is_ok_and(|l| l.contains(&warmed)) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the daemon never warmed the cache for {commit}: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = repo
        .gatehouse(&["daemon", "status", "--format", "json"])
        .json();
    assert_eq!(status["running"], true, "{status}");
    assert_eq!(status["pid"].as_i64(), Some(daemon.pid), "{status}");
    // The warm cache holds the finding: the check answers from it.
    let run = gatehouse(
        &repo,
        &["check", "--format", "json"],
        Duration::from_secs(60),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        findings(&run.json())
            .iter()
            .any(|f| f.0 == "deep.rs" && f.3 == "too-deep"),
        "{}",
        run.stdout
    );
}
