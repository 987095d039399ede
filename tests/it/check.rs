//! `gatehouse check` end to end: targets, formats, exit codes, and bad input.

use crate::common::{TestEnv, findings};

fn repo_with_ci_change(env: &TestEnv) -> crate::common::TestRepo<'_> {
    let repo = env.repo("r");
    repo.write("app.py", "x = 1\n");
    repo.commit("base");
    repo.write(".github/workflows/ci.yml", "on: push\n");
    repo.commit("ci");
    repo
}

#[test]
fn a_ci_change_needs_review_and_exits_3() {
    let env = TestEnv::new();
    let repo = repo_with_ci_change(&env);
    let run = repo.gatehouse(&["check", "--range", "HEAD~1..HEAD"]);
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    insta::assert_snapshot!(run.stdout, @r"
    .github/workflows/ci.yml:1:1: sensitive-path [added] .github/workflows/ci.yml added: sensitive (ci-config)
      = help: CI configuration decides what runs with the repository's secrets and what gates a merge; approve with `gatehouse approve`

    1 finding (0 block, 1 review, 0 warn); 1 file checked
    ");
}

#[test]
fn json_report_has_exactly_the_specified_shape() {
    let env = TestEnv::new();
    let repo = repo_with_ci_change(&env);
    let run = repo.gatehouse(&["check", "--range", "HEAD~1..HEAD", "--format", "json"]);
    assert_eq!(run.code, 3);
    let mut report = run.json();
    let keys: Vec<&str> = report
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["elapsed_ms", "files_checked", "findings", "verdict"]);
    assert!(report["elapsed_ms"].is_u64());
    report["elapsed_ms"] = 0.into();
    insta::assert_json_snapshot!(report, @r#"
    {
      "elapsed_ms": 0,
      "files_checked": 1,
      "findings": [
        {
          "code": "added",
          "column": 1,
          "end_column": 1,
          "end_line": 1,
          "help": "CI configuration decides what runs with the repository's secrets and what gates a merge; approve with `gatehouse approve`",
          "level": "review",
          "line": 1,
          "message": ".github/workflows/ci.yml added: sensitive (ci-config)",
          "path": ".github/workflows/ci.yml",
          "rule": "sensitive-path",
          "symbol": "ci-config"
        }
      ],
      "verdict": "review"
    }
    "#);
}

#[test]
fn sarif_output_is_sarif_2_1_0() {
    let env = TestEnv::new();
    let repo = repo_with_ci_change(&env);
    let run = repo.gatehouse(&["check", "--range", "HEAD~1..HEAD", "--format", "sarif"]);
    assert_eq!(run.code, 3);
    let log = run.json();
    assert_eq!(log["version"], "2.1.0");
    assert!(log["$schema"].as_str().unwrap().contains("sarif-2.1.0"));
    let driver = &log["runs"][0]["tool"]["driver"];
    assert_eq!(driver["name"], "gatehouse");
    let rules: Vec<&str> = driver["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"sensitive-path"));
    let result = &log["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "sensitive-path");
    assert_eq!(result["level"], "error");
    assert!(
        result["message"]["text"]
            .as_str()
            .unwrap()
            .contains("ci.yml added")
    );
    let location = &result["locations"][0]["physicalLocation"];
    assert_eq!(
        location["artifactLocation"]["uri"],
        ".github/workflows/ci.yml"
    );
    assert_eq!(location["region"]["startLine"], 1);
    assert_eq!(
        rules[result["ruleIndex"].as_u64().unwrap() as usize],
        "sensitive-path"
    );
}

#[test]
fn a_clean_range_passes_and_level_and_rule_filters_apply() {
    let env = TestEnv::new();
    let repo = repo_with_ci_change(&env);
    repo.write("notes.txt", "hello\n");
    repo.commit("notes");
    let run = repo.gatehouse(&["check", "--range", "HEAD~1..HEAD"]);
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "No findings; 1 file checked\n")
    );
    let run = repo.gatehouse(&[
        "check",
        "--range",
        "HEAD~2..HEAD",
        "--level-at-least",
        "block",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 0, "the review finding is filtered out");
    assert_eq!(run.json()["verdict"], "pass");
    let run = repo.gatehouse(&["check", "--range", "HEAD~2..HEAD", "--rule", "no-such-rule"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("unknown rule `no-such-rule`"),
        "{}",
        run.stderr
    );
}

#[test]
fn three_dot_ranges_and_diverged_branches_use_the_merge_base() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    repo.write("a.txt", "a\n");
    repo.commit("base");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("feature.txt", "f\n");
    repo.commit("feature");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("Cargo.toml", "[package]\n");
    repo.commit("upstream changed a manifest");
    // Only the feature's own changes count, not what main did meanwhile.
    for spec in ["main..feature", "main...feature"] {
        let run = repo.gatehouse(&["check", "--range", spec, "--format", "json"]);
        assert_eq!(run.code, 0, "{spec}: {}", run.stdout);
        assert_eq!(run.json()["files_checked"], 1);
    }
}

#[test]
fn staged_checks_the_index_and_worktree_checks_tracked_changes() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    repo.write("a.txt", "a\n");
    repo.commit("base");
    repo.write("id_rsa", "key\n");
    repo.git(&["add", "id_rsa"]);
    repo.write("Cargo.lock", "# not staged, untracked\n");
    let run = repo.gatehouse(&["check", "--staged", "--format", "json"]);
    assert_eq!(run.code, 3);
    assert_eq!(
        findings(&run.json()),
        [(
            "id_rsa".to_string(),
            1,
            "sensitive-path".to_string(),
            "added".to_string()
        )]
    );
    let run = repo.gatehouse(&["check", "--format", "json"]);
    assert_eq!(
        findings(&run.json()).len(),
        1,
        "untracked files are not changes: {}",
        run.stdout
    );
}

#[test]
fn an_unresolvable_range_is_an_error_with_gits_message() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    repo.write("a.txt", "a\n");
    repo.commit("only commit");
    let run = repo.gatehouse(&["check", "--range", "HEAD~1..HEAD"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.starts_with("error: cannot resolve `HEAD~1`"),
        "{}",
        run.stderr
    );
    let run = repo.gatehouse(&["check", "--range", "nope"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("cannot resolve `nope`"),
        "{}",
        run.stderr
    );
}

#[test]
fn empty_and_unborn_repositories() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let run = repo.gatehouse(&["check"]);
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "No findings; 0 files checked\n"),
        "{}",
        run.stderr
    );
    let run = repo.gatehouse(&["check", "--range", "HEAD~1..HEAD"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("cannot resolve"), "{}", run.stderr);
    repo.write("server.pem", "k\n");
    repo.git(&["add", "server.pem"]);
    let run = repo.gatehouse(&["check", "--staged", "--format", "json"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_eq!(findings(&run.json())[0].0, "server.pem");
}

#[test]
fn shallow_clones_and_detached_heads() {
    let env = TestEnv::new();
    let origin = repo_with_ci_change(&env);
    origin.write("b.txt", "b\n");
    origin.commit("b");
    let url = format!("file://{}", origin.root.display());
    env.git(
        env.path(),
        &["clone", "-q", "--depth", "1", &url, "shallow"],
    );
    let shallow = env.path().join("shallow");
    let run = origin.gatehouse_in(&shallow, &["check"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = origin.gatehouse_in(&shallow, &["check", "--range", "HEAD~1..HEAD"]);
    assert_eq!(run.code, 2, "the parent is beyond the shallow boundary");
    assert!(
        run.stderr.contains("cannot resolve `HEAD~1`"),
        "{}",
        run.stderr
    );
    origin.git(&["checkout", "-q", "--detach", "HEAD~1"]);
    let run = origin.gatehouse(&["check", "--range", "HEAD~1..HEAD", "--format", "json"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_eq!(findings(&run.json())[0].0, ".github/workflows/ci.yml");
}

#[test]
fn paths_with_spaces_and_newlines() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    repo.write("a.txt", "a\n");
    repo.commit("base");
    repo.write("my keys/prod server.pem", "k\n");
    repo.write("odd\nname.key", "k\n");
    repo.commit("keys");
    let run = repo.gatehouse(&["check", "--range", "HEAD~1..HEAD", "--format", "json"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let paths: Vec<String> = findings(&run.json()).into_iter().map(|f| f.0).collect();
    assert_eq!(paths, ["my keys/prod server.pem", "odd\nname.key"]);
    let run = repo.gatehouse_in(
        &repo.root.join("my keys"),
        &["check", "prod server.pem", "--format", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["files_checked"], 1);
}

#[test]
fn outside_a_repository_is_a_clear_error() {
    let env = TestEnv::new();
    let dir = env.path().join("plain");
    std::fs::create_dir_all(&dir).unwrap();
    let out = env
        .command(env!("CARGO_BIN_EXE_gatehouse"), &dir)
        .env("GIT_CEILING_DIRECTORIES", env.path())
        .args(["check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not inside a git repository"));
}

#[test]
fn reftable_and_sha256_repositories_get_a_clear_message() {
    let env = TestEnv::new();
    for (name, args, words) in [
        ("reftable", &["--ref-format=reftable"][..], "reftable"),
        ("sha256", &["--object-format=sha256"][..], "SHA-256"),
    ] {
        let repo = env.repo_with(name, args);
        repo.write("a.txt", "a\n");
        repo.commit("one");
        let run = repo.gatehouse(&["check"]);
        assert_eq!(run.code, 2, "{name}: {}", run.stderr);
        assert!(run.stderr.contains(words), "{name}: {}", run.stderr);
    }
}

#[test]
fn a_bare_repository_checks_ranges_with_config_from_head() {
    let env = TestEnv::new();
    let repo = repo_with_ci_change(&env);
    repo.write(
        ".gatehouse/config.toml",
        "[[sensitive]]\nname = \"ci-config\"\nlevel = \"block\"\n",
    );
    repo.commit("stricter");
    env.git(
        env.path(),
        &[
            "clone",
            "-q",
            "--bare",
            repo.root.to_str().unwrap(),
            "bare.git",
        ],
    );
    let bare = env.path().join("bare.git");
    let run = repo.gatehouse_in(&bare, &["check", "--range", "HEAD~2..HEAD~1"]);
    assert_eq!(
        run.code, 1,
        "ci-config is block in HEAD's config: {}{}",
        run.stdout, run.stderr
    );
    let run = repo.gatehouse_in(&bare, &["check"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("bare repository"), "{}", run.stderr);
}

#[test]
fn a_second_identical_check_parses_nothing() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    repo.write("a.py", "def f(x):\n    return x\n")
        .write("b.py", "def g(y: int) -> int:\n    return y\n");
    repo.commit("base");
    let first = repo.gatehouse(&["check", "--stats", "--format", "json"]);
    assert_eq!(first.code, 1, "{}", first.stderr);
    assert!(
        first
            .stderr
            .contains("2 files checked: 2 parsed, 0 from cache"),
        "{}",
        first.stderr
    );
    let second = repo.gatehouse(&["check", "--stats", "--format", "json"]);
    assert!(
        second
            .stderr
            .contains("2 files checked: 0 parsed, 2 from cache"),
        "{}",
        second.stderr
    );
    let strip = |run: &crate::common::Run| {
        let mut v = run.json();
        v["elapsed_ms"] = 0.into();
        v
    };
    assert_eq!(
        strip(&first),
        strip(&second),
        "the cache answers exactly what parsing did"
    );
    // An edited file is parsed again; the other still comes from the cache.
    repo.write("b.py", "def g(y):\n    return y\n");
    let third = repo.gatehouse(&["check", "--stats", "--format", "json"]);
    assert!(
        third
            .stderr
            .contains("2 files checked: 1 parsed, 1 from cache"),
        "{}",
        third.stderr
    );
    assert_eq!(findings(&third.json()).len(), 4);
    // A corrupt cache entry is ignored and rewritten.
    let cache = repo.root.join(".git/gatehouse/cache");
    for entry in walk(&cache) {
        std::fs::write(entry, b"{ torn").unwrap();
    }
    let fourth = repo.gatehouse(&["check", "--stats", "--format", "json"]);
    assert!(
        fourth.stderr.contains("2 parsed, 0 from cache"),
        "{}",
        fourth.stderr
    );
    assert_eq!(strip(&fourth), strip(&third));
    let fifth = repo.gatehouse(&["check", "--stats"]);
    assert!(
        fifth.stderr.contains("0 parsed, 2 from cache"),
        "{}",
        fifth.stderr
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path))
        } else {
            files.push(path)
        }
    }
    files
}

#[test]
fn binary_large_and_non_utf8_files() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    repo.write(".gatehouse/config.toml", "max_file_size = 1000\n");
    repo.write("bin.py", b"def f(x):\x00\n    pass\n");
    repo.write(
        "big.py",
        format!("def big(x):\n    pass\n{}", "# padding\n".repeat(200)),
    );
    repo.write(
        "latin1.py",
        b"# caf\xe9\nname = \"\xe9t\xe9\"\n\n\ndef g(y):\n    pass\n",
    );
    repo.commit("odd files");
    let run = repo.gatehouse(&["check", "--format", "json", "--rule", "untyped-function"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let found: Vec<(String, u64, String, String)> = findings(&run.json());
    let paths: Vec<&str> = found.iter().map(|f| f.0.as_str()).collect();
    assert!(
        paths.iter().all(|p| *p == "latin1.py"),
        "binary and large files are skipped: {paths:?}"
    );
    assert!(
        found.iter().any(|f| f.1 == 5 && f.3 == "ANN001"),
        "the intact part is checked: {found:?}"
    );
    let human = repo.gatehouse(&["check", "--rule", "untyped-function"]);
    assert!(
        human
            .stdout
            .contains(", 2 skipped (1 binary, 1 over the size limit)"),
        "{}",
        human.stdout
    );
}

#[test]
fn changed_lines_scoping_in_a_range() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    repo.write(
        "legacy.py",
        "def old(a):\n    return a\n\n\ndef also_old(b):\n    return b\n",
    );
    repo.commit("legacy");
    repo.write("legacy.py", "def old(a):\n    return a\n\n\ndef also_old(b):\n    return b\n\n\ndef new(c):\n    return c\n");
    repo.commit("one new function");
    let run = repo.gatehouse(&["check", "--range", "HEAD~1..HEAD", "--format", "json"]);
    assert_eq!(run.code, 1);
    let lines: Vec<(u64, String)> = findings(&run.json())
        .into_iter()
        .map(|f| (f.1, f.3))
        .collect();
    assert_eq!(
        lines,
        [(9, "ANN201".to_string()), (9, "ANN001".to_string())]
    );
    let run = repo.gatehouse(&[
        "check",
        "--range",
        "HEAD~1..HEAD",
        "--scope",
        "changed-files",
        "--format",
        "json",
    ]);
    assert_eq!(findings(&run.json()).len(), 6);
}

#[test]
fn human_output_shows_the_line_and_a_caret() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    repo.write(
        "src/app.py",
        "import os\n\n\ndef handler(request):\n    return os.getcwd()\n",
    );
    repo.commit("app");
    let run = repo.gatehouse(&["check", "src"]);
    assert_eq!(run.code, 1);
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn inline_suppressions() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    repo.write("a.py", "def f(x):  # gatehouse: ignore[untyped-function]\n    pass\n\n# gatehouse: ignore[untyped-function]\ndef g(y):\n    pass\n\ndef h(z):\n    pass\n");
    repo.commit("a");
    let run = repo.gatehouse(&["check", "--format", "json"]);
    let lines: Vec<u64> = findings(&run.json()).into_iter().map(|f| f.1).collect();
    assert_eq!(lines, [8, 8]);
}
