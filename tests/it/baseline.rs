//! `gatehouse baseline` end to end: recording, matching that survives unrelated edits, counting
//! duplicates, shrinking after fixes, bad baseline files, and the gate ignoring the baseline.

use crate::common::{Run, TestEnv, TestRepo, findings};

const BASELINE: &str = ".gatehouse/baseline.json";

/// Two untyped functions: four findings (ANN201 and ANN001 for each).
const TWO: &str = "def f(x):\n    return x\n\n\ndef g(y):\n    return y\n";

fn repo_with<'e>(env: &'e TestEnv, text: &str) -> TestRepo<'e> {
    let repo = env.repo("r");
    repo.write("a.py", text);
    repo.commit("base");
    repo
}

fn record(repo: &TestRepo<'_>) -> Run {
    let run = repo.gatehouse(&["baseline"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    run
}

/// `check --format json`: (path, line, code) of each finding, and the run.
fn check(repo: &TestRepo<'_>, extra: &[&str]) -> (Vec<(String, u64, String)>, Run) {
    let mut args = vec!["check", "--format", "json"];
    args.extend_from_slice(extra);
    let run = repo.gatehouse(&args);
    assert!(
        matches!(run.code, 0 | 1 | 3),
        "{}{}",
        run.stdout,
        run.stderr
    );
    let found = findings(&run.json())
        .into_iter()
        .map(|(path, line, _, code)| (path, line, code))
        .collect();
    (found, run)
}

fn at(path: &str, line: u64, code: &str) -> (String, u64, String) {
    (path.to_string(), line, code.to_string())
}

fn entries(repo: &TestRepo<'_>) -> Vec<String> {
    let text = std::fs::read_to_string(repo.root.join(BASELINE)).unwrap();
    text.lines()
        .filter(|l| l.trim_start().starts_with("{\"path\""))
        .map(|l| l.trim().trim_end_matches(',').to_string())
        .collect()
}

#[test]
fn after_recording_only_a_new_finding_is_reported() {
    let env = TestEnv::new();
    let repo = repo_with(&env, TWO);
    let run = record(&repo);
    assert_eq!(
        run.stdout,
        "recorded 4 findings in .gatehouse/baseline.json\n"
    );
    let text = std::fs::read_to_string(repo.root.join(BASELINE)).unwrap();
    assert!(
        text.starts_with("{\n  \"version\": 1,\n  \"findings\": [\n"),
        "{text}"
    );
    let lines = entries(&repo);
    assert_eq!(lines.len(), 4, "{text}");
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(lines, sorted, "entries are sorted");
    assert!(!text.contains("\"line\""), "no line numbers: {text}");
    let (found, run) = check(&repo, &[]);
    assert_eq!((found, run.code), (vec![], 0), "{}", run.stderr);
    assert!(
        run.stderr.contains("4 findings baselined"),
        "{}",
        run.stderr
    );
    // A new function, and a second `def f(x)` identical to the recorded one: a baseline entry
    // matches one finding, so the copy is new.
    let text = format!("{TWO}\n\ndef h(z: int):\n    return z\n\n\ndef f(x):\n    return x\n");
    repo.write("a.py", &text);
    let (found, run) = check(&repo, &[]);
    assert_eq!(
        found,
        [
            at("a.py", 9, "ANN201"),
            at("a.py", 13, "ANN201"),
            at("a.py", 13, "ANN001")
        ]
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("4 findings baselined"),
        "{}",
        run.stderr
    );
    // With PATHS, and with --scope all spelled out: still whole-tree checks.
    let (found, _) = check(&repo, &["a.py", "--scope", "all"]);
    assert_eq!(found.len(), 3, "{found:?}");
    let (found, run) = check(&repo, &["--no-baseline"]);
    assert_eq!(found.len(), 7, "{found:?}");
    assert!(!run.stderr.contains("baselined"), "{}", run.stderr);
}

#[test]
fn help_shows_examples_and_says_which_checks_read_the_baseline() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let help = repo.gatehouse(&["baseline", "--help"]);
    assert_eq!(help.code, 0, "{}", help.stderr);
    let examples = help.stdout.split("Examples:\n").nth(1).unwrap_or_default();
    assert!(
        examples.contains("  gatehouse baseline "),
        "{}",
        help.stdout
    );
    assert!(
        examples.contains("never do: new lines are new code"),
        "{}",
        help.stdout
    );
    let help = repo.gatehouse(&["check", "--help"]);
    assert!(help.stdout.contains("--no-baseline"), "{}", help.stdout);
    let top = repo.gatehouse(&["--help"]);
    assert!(top.stdout.contains("\n  baseline "), "{}", top.stdout);
}

#[test]
fn lines_added_above_a_baselined_finding_keep_it_baselined() {
    let env = TestEnv::new();
    let repo = repo_with(&env, TWO);
    record(&repo);
    let shifted = format!(
        "import os\n\n\nCONSTANT = os.sep\n\n{}",
        TWO.replace("return y", "return y + 1")
    );
    repo.write("a.py", &shifted);
    let (found, run) = check(&repo, &[]);
    assert_eq!((found, run.code), (vec![], 0), "{}", run.stderr);
    // Editing the finding's own line makes it new.
    repo.write("a.py", shifted.replace("def g(y):", "def g(y, z=1):"));
    let (found, _) = check(&repo, &[]);
    assert_eq!(
        found,
        [
            at("a.py", 10, "ANN201"),
            at("a.py", 10, "ANN001"),
            at("a.py", 10, "ANN001")
        ]
    );
}

#[test]
fn fixing_a_baselined_finding_reports_nothing_and_recording_again_shrinks_the_file() {
    let env = TestEnv::new();
    let repo = repo_with(&env, TWO);
    record(&repo);
    let before = entries(&repo);
    repo.write("a.py", TWO.replace("def g(y):", "def g(y: int) -> int:"));
    let (found, run) = check(&repo, &["--stats"]);
    assert_eq!((found, run.code), (vec![], 0), "{}", run.stderr);
    assert!(
        run.stderr.contains("2 findings baselined"),
        "{}",
        run.stderr
    );
    let run = record(&repo);
    assert_eq!(
        run.stdout,
        "recorded 2 findings in .gatehouse/baseline.json (it held 4)\n"
    );
    let after = entries(&repo);
    assert_eq!(after.len(), 2);
    assert!(after.iter().all(|e| before.contains(e)), "{after:?}");
    assert!(
        after
            .iter()
            .all(|e| e.contains("\"symbol\":\"f\"") || e.contains("\"symbol\":\"x\""))
    );
    // Recording an unchanged tree again writes the same bytes.
    let text = std::fs::read(repo.root.join(BASELINE)).unwrap();
    record(&repo);
    assert_eq!(std::fs::read(repo.root.join(BASELINE)).unwrap(), text);
}

#[test]
fn a_bad_baseline_is_an_error_naming_the_file_and_position() {
    let env = TestEnv::new();
    let repo = repo_with(&env, TWO);
    record(&repo);
    let malformed = "{\"version\": 1,\n  \"findings\": [,]\n}\n";
    repo.write(BASELINE, malformed);
    let run = repo.gatehouse(&["check"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains(".gatehouse/baseline.json:2:16: malformed baseline: expected value"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, "");
    // --no-baseline does not read it; changed-lines checks never do.
    assert_eq!(repo.gatehouse(&["check", "--no-baseline"]).code, 1);
    assert_eq!(repo.gatehouse(&["check", "--staged"]).code, 0);
    let newer = "{\"version\": 2, \"findings\": {\"a.py\": []}}\n";
    repo.write(BASELINE, newer);
    let run = repo.gatehouse(&["check"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains(
            "was written by a newer gatehouse (baseline version 2; this one reads up to version 1)"
        ),
        "{}",
        run.stderr
    );
    // `gatehouse baseline` leaves a newer file alone, and replaces a malformed one.
    let run = repo.gatehouse(&["baseline"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .starts_with("error: not replacing .gatehouse/baseline.json: "),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_to_string(repo.root.join(BASELINE)).unwrap(),
        newer
    );
    repo.write(BASELINE, malformed);
    let run = record(&repo);
    assert!(run.stderr.contains("replacing it"), "{}", run.stderr);
    assert_eq!(entries(&repo).len(), 4);
}

fn push(repo: &TestRepo<'_>) -> Run {
    repo.try_git(&["push", "origin", "main"])
}

fn remote_main(env: &TestEnv, origin: &std::path::Path) -> String {
    env.git(origin, &["rev-parse", "main"]).trim().to_string()
}

#[test]
fn the_gate_ignores_the_baseline_and_holds_an_edit_of_it_for_review() {
    let env = TestEnv::new();
    let (work, origin) = env.work_with_origin(&[("a.py", TWO)]);
    record(&work);
    work.commit("baseline");
    assert_eq!(push(&work).code, 0);
    let run = work.gatehouse(&["install"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Re-indenting `f` keeps its findings baselined for a whole-tree check, but its lines are
    // changed lines of the push: new code to the gate.
    let nested = TWO.replace(
        "def f(x):\n    return x\n",
        "if True:\n    def f(x):\n        return x\n",
    );
    work.write("a.py", &nested);
    let tip = work.commit("nest f");
    let (found, _) = check(&work, &[]);
    assert_eq!(found, vec![]);
    let (found, _) = check(&work, &["--range", "origin/main..HEAD"]);
    assert_eq!(found, [at("a.py", 2, "ANN201"), at("a.py", 2, "ANN001")]);
    let run = push(&work);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("a.py:2:9: untyped-function [ANN201]"),
        "{}",
        run.stderr
    );
    assert_ne!(remote_main(&env, &origin), tip);
    // An agent that adds code and records the baseline again to hide its findings changes
    // .gatehouse/: the gate reports that change too (and the new lines still block).
    work.git(&["reset", "-q", "--hard", "origin/main"]);
    work.write("b.py", "def h(z):\n    return z\n");
    work.git(&["add", "b.py"]);
    record(&work);
    // Uncommitted, the edit shows in whole-tree checks too: sensitive-path is never baselined.
    let (found, run) = check(&work, &[]);
    assert_eq!(found, [at(BASELINE, 1, "modified")]);
    assert_eq!(run.code, 3);
    work.commit("add h, hide it");
    let run = push(&work);
    assert_ne!(run.code, 0, "{}", run.stderr);
    for line in [
        ".gatehouse/baseline.json:1:1: sensitive-path [modified]",
        "b.py:1:5: untyped-function [ANN201]",
    ] {
        assert!(run.stderr.contains(line), "{line}: {}", run.stderr);
    }
    // A commit that only edits the baseline is held for review.
    work.git(&["reset", "-q", "--hard", "origin/main"]);
    let text = std::fs::read_to_string(work.root.join(BASELINE)).unwrap();
    work.write(
        BASELINE,
        text.replace("\"symbol\":\"g\"", "\"symbol\":\"h\""),
    );
    let tip = work.commit("edit the baseline");
    let run = push(&work);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("HELD FOR REVIEW"), "{}", run.stderr);
    assert_ne!(remote_main(&env, &origin), tip);
    let run = work.gatehouse(&["check", "--range", "HEAD~1..HEAD"]);
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
}
