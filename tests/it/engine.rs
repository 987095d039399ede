//! The engine's fast paths answer exactly what checking everything afresh answers: the
//! threaded pass and the few-files path, the SQLite cache, file lists remembered by tree, and
//! files deleted from the working tree.

use crate::common::{Run, TestEnv, TestRepo, findings};

fn json_without_time(run: &Run) -> serde_json::Value {
    let mut value = run.json();
    value["elapsed_ms"] = 0.into();
    value
}

fn stats(run: &Run) -> &str {
    run.stderr
        .lines()
        .find(|l| l.contains("files checked"))
        .unwrap_or_else(|| panic!("no --stats line: {}", run.stderr))
}

/// Twelve modules, some untyped, in a package: more than the engine checks without its pool.
fn package(repo: &TestRepo<'_>) {
    repo.write("pkg/__init__.py", "");
    for i in 0..12 {
        let body = if i % 3 == 0 {
            format!("def f{i}(x):\n    return x\n")
        } else {
            format!("def f{i}(x: int) -> int:\n    return x\n")
        };
        repo.write(&format!("pkg/m{i:02}.py"), body);
    }
    repo.write("README.md", "# pkg\n");
}

#[test]
fn many_files_cold_warm_and_uncached_agree() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    package(&repo);
    repo.commit("base");
    let args = [
        "check",
        "--stats",
        "--format",
        "json",
        "--rule",
        "untyped-function",
    ];
    let cold = repo.gatehouse(&args);
    assert_eq!(cold.code, 1, "{}", cold.stderr);
    assert!(
        stats(&cold).contains("14 files checked: 13 parsed, 0 from cache"),
        "{}",
        cold.stderr
    );
    let warm = repo.gatehouse(&args);
    assert!(
        stats(&warm).contains("14 files checked: 0 parsed, 13 from cache"),
        "{}",
        warm.stderr
    );
    let fresh = repo.gatehouse(&[&args[..], &["--no-cache"]].concat());
    assert_eq!(json_without_time(&cold), json_without_time(&warm));
    assert_eq!(json_without_time(&cold), json_without_time(&fresh));
    // Four untyped modules, two findings each (ANN201, ANN001), sorted by path.
    let found = findings(&cold.json());
    assert_eq!(found.len(), 8, "{found:?}");
    let paths: Vec<&str> = found.iter().map(|f| f.0.as_str()).collect();
    assert!(paths.is_sorted(), "{paths:?}");
    // The results live in one SQLite database.
    let db = repo.root.join(".git/gatehouse/cache/findings.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 13);
}

#[test]
fn files_deleted_from_the_working_tree_are_not_counted_as_checked() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    package(&repo);
    repo.commit("base");
    std::fs::remove_file(repo.root.join("pkg/m00.py")).unwrap();
    std::fs::remove_file(repo.root.join("README.md")).unwrap();
    let run = repo.gatehouse(&["check", "--stats", "--format", "json"]);
    assert!(
        stats(&run).contains("12 files checked: 12 parsed"),
        "{}",
        run.stderr
    );
    assert!(
        findings(&run.json()).iter().all(|f| f.0 != "pkg/m00.py"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_range_reuses_results_that_depend_on_the_file_list_only_while_it_holds() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    repo.write("pkg/__init__.py", "")
        .write("pkg/mod.py", "VALUE = 1\n")
        .write("app.py", "import pkg.mod\n");
    repo.commit("base");
    repo.write("notes.txt", "one\n");
    repo.commit("notes");
    let args = [
        "check",
        "--range",
        "HEAD~1..HEAD",
        "--scope",
        "all",
        "--rule",
        "missing-import",
        "--stats",
        "--format",
        "json",
    ];
    let first = repo.gatehouse(&args);
    assert_eq!(findings(&first.json()), vec![], "{}", first.stdout);
    assert!(stats(&first).contains("0 from cache"), "{}", first.stderr);
    // The second time nothing is parsed, and the tree's file list was not listed again: its
    // digest is remembered by tree id.
    let second = repo.gatehouse(&args);
    assert!(stats(&second).contains("0 parsed"), "{}", second.stderr);
    let db = repo.root.join(".git/gatehouse/cache/findings.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let tip_tree = repo.git(&["rev-parse", "HEAD^{tree}"]);
    let tree = git2::Oid::from_str(tip_tree.trim()).unwrap();
    let listed: i64 = conn
        .query_row(
            "SELECT count(*) FROM listings WHERE tree = ?1",
            [tree.as_bytes()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(listed, 1);
    // A commit that renames the imported module changes the file list: the importer's cached
    // result no longer holds, and it is checked again.
    repo.git(&["mv", "pkg/mod.py", "pkg/other.py"]);
    repo.commit("rename");
    let third = repo.gatehouse(&args);
    let found = findings(&third.json());
    assert!(
        found
            .iter()
            .any(|f| f.0 == "app.py" && f.3 == "missing-module"),
        "{found:?}"
    );
}
