//! `missing-import` on real project layouts, end to end: Cargo targets found by Cargo's rules
//! (a `[[bin]] path`, `autotests = false`), files no target compiles, declaration scopes in
//! Python, and dependencies a change adds without a lockfile that pins them.

use crate::common::{TestEnv, TestRepo, findings};

/// A missing-import finding as `findings` lists it.
fn mi(path: &str, line: u64, code: &str) -> (String, u64, String, String) {
    (
        path.to_string(),
        line,
        "missing-import".to_string(),
        code.to_string(),
    )
}

const OFF: &str = "[rules.untyped-function]\nlevel = \"off\"\n";

/// ripgrep's layout: the binary's root outside `src/`, one integration test whose modules are
/// other files of `tests/`.
fn ripgrep_like(env: &TestEnv) -> TestRepo<'_> {
    let repo = env.repo("rg");
    repo.write(".gatehouse/config.toml", OFF)
        .write(
            "Cargo.toml",
            "[package]\nname = \"rg-like\"\nversion = \"0.1.0\"\nedition = \"2021\"\nautotests = false\n\n\
             [[bin]]\nname = \"rg\"\npath = \"crates/core/main.rs\"\n\n\
             [[test]]\nname = \"integration\"\npath = \"tests/tests.rs\"\n\n\
             [dependencies]\nanyhow = \"1\"\n\n[dev-dependencies]\nwalkdir = \"2\"\n",
        )
        .write(
            "Cargo.lock",
            "version = 4\n\n[[package]]\nname = \"anyhow\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"00\"\n\n\
             [[package]]\nname = \"walkdir\"\nversion = \"2.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"01\"\n",
        )
        .write("crates/core/main.rs", "mod flags;\n\nfn main() {\n    flags::run();\n}\n")
        .write("crates/core/flags/mod.rs", "pub fn run() {\n    let _ = anyhow::anyhow!(\"x\");\n}\n")
        .write("tests/tests.rs", "mod util;\nmod misc;\n")
        .write("tests/util.rs", "pub fn dir() -> walkdir::WalkDir {\n    walkdir::WalkDir::new(\".\")\n}\n")
        .write("tests/misc.rs", "use crate::util::dir;\n\n#[test]\nfn walks() {\n    dir();\n}\n");
    repo.commit("base");
    repo
}

fn check_range(repo: &TestRepo<'_>) -> crate::common::Run {
    repo.gatehouse(&[
        "check",
        "--range",
        "HEAD~1..HEAD",
        "--rule",
        "missing-import",
        "--format",
        "json",
    ])
}

#[test]
fn every_cargo_target_is_checked_and_tests_modules_are_not_crate_roots() {
    let env = TestEnv::new();
    let repo = ripgrep_like(&env);
    let clean = repo.gatehouse(&["check", "--rule", "missing-import", "--format", "json"]);
    assert_eq!(clean.code, 0, "{}{}", clean.stdout, clean.stderr);
    assert_eq!(findings(&clean.json()), []);
    // A module of the binary, reached only through `[[bin]] path`: a hallucinated crate in an
    // expression and a dev-dependency both fail to compile there.
    repo.write(
        "crates/core/flags/mod.rs",
        "pub fn run() {\n    let _ = anyhow::anyhow!(\"x\");\n    let _ = chrono::Utc::now();\n    let _ = walkdir::WalkDir::new(\".\");\n}\n",
    )
    .write("tests/misc.rs", "use crate::util::dir;\nuse crate::fixtures::data;\n");
    repo.commit("agent");
    let run = check_range(&repo);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        findings(&run.json()),
        [
            mi("crates/core/flags/mod.rs", 3, "undeclared-crate"),
            mi("crates/core/flags/mod.rs", 4, "undeclared-crate"),
            mi("tests/misc.rs", 2, "missing-module"),
        ]
    );
    let human = repo.gatehouse(&[
        "check",
        "--range",
        "HEAD~1..HEAD",
        "--rule",
        "missing-import",
    ]);
    assert!(
        human
            .stdout
            .contains("only a dev-dependency of package `rg-like`, and this is binary `rg` code"),
        "{}",
        human.stdout
    );
}

#[test]
fn a_file_no_target_compiles_is_reported_once_until_a_mod_declares_it() {
    let env = TestEnv::new();
    let repo = ripgrep_like(&env);
    // A new test file: with `autotests = false` no target compiles it; a module nobody declares.
    repo.write(
        "tests/new_suite.rs",
        "#[test]\nfn t() {\n    fancy_crate::go();\n}\n",
    )
    .write("crates/core/helpers.rs", "pub fn help() {}\n");
    repo.commit("agent");
    let run = check_range(&repo);
    assert_eq!(run.code, 0, "warn only: {}{}", run.stdout, run.stderr);
    assert_eq!(
        findings(&run.json()),
        [
            mi("crates/core/helpers.rs", 1, "unreached-file"),
            mi("tests/new_suite.rs", 1, "unreached-file"),
        ]
    );
    let report = run.json();
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["level"] == "warn")
    );
    // The cached answer for helpers.rs must not survive the `mod` that reaches it.
    let first = repo.gatehouse(&["check", "--rule", "missing-import", "--format", "json"]);
    assert_eq!(findings(&first.json()).len(), 2);
    repo.write(
        "crates/core/main.rs",
        "mod flags;\nmod helpers;\n\nfn main() {\n    flags::run();\n}\n",
    );
    let after = repo.gatehouse(&["check", "--rule", "missing-import", "--format", "json"]);
    assert_eq!(
        findings(&after.json()),
        [mi("tests/new_suite.rs", 1, "unreached-file")]
    );
}

#[test]
fn a_dependency_added_without_a_lock_needs_review_and_a_pinned_one_passes() {
    let env = TestEnv::new();
    let repo = ripgrep_like(&env);
    repo.write(
        "Cargo.toml",
        "[package]\nname = \"rg-like\"\nversion = \"0.1.0\"\nedition = \"2021\"\nautotests = false\n\n\
         [[bin]]\nname = \"rg\"\npath = \"crates/core/main.rs\"\n\n\
         [[test]]\nname = \"integration\"\npath = \"tests/tests.rs\"\n\n\
         [dependencies]\nanyhow = \"1\"\nfast-glob-utils = \"0.3\"\n\n[dev-dependencies]\nwalkdir = \"2\"\n",
    )
    .write(
        "crates/core/flags/mod.rs",
        "pub fn run() {\n    let _ = anyhow::anyhow!(\"x\");\n    fast_glob_utils::init();\n}\n",
    );
    repo.commit("agent");
    let run = check_range(&repo);
    assert_eq!(run.code, 3, "review: {}{}", run.stdout, run.stderr);
    assert_eq!(
        findings(&run.json()),
        [
            mi("Cargo.toml", 17, "new-dependency"),
            mi("crates/core/flags/mod.rs", 3, "unlocked-dependency"),
        ]
    );
    // The same change with Cargo.lock pinning the crate by its checksum passes.
    let mut lock = std::fs::read_to_string(repo.root.join("Cargo.lock")).unwrap();
    lock.push_str("\n[[package]]\nname = \"fast-glob-utils\"\nversion = \"0.3.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"02\"\n");
    repo.write("Cargo.lock", lock);
    repo.git(&["commit", "-qam", "lock"]);
    repo.git(&["reset", "-q", "--soft", "HEAD~2"]);
    repo.commit("agent, locked");
    let locked = check_range(&repo);
    assert_eq!(locked.code, 0, "{}{}", locked.stdout, locked.stderr);
    assert_eq!(findings(&locked.json()), []);
}

#[test]
fn python_library_code_may_import_only_what_users_get() {
    let env = TestEnv::new();
    let repo = env.repo("py");
    repo.write(".gatehouse/config.toml", OFF)
        .write(
            "pyproject.toml",
            "[project]\nname = \"shop\"\ndependencies = [\"requests\"]\n\n[dependency-groups]\ntests = [\"pytest\", \"responses\"]\ndocs = [\"sphinx\"]\n",
        )
        .write("src/shop/__init__.py", "import requests\n")
        .write("tests/test_shop.py", "import pytest\n")
        .write("docs/conf.py", "import sphinx\n");
    repo.commit("base");
    repo.write(
        "src/shop/__init__.py",
        "import requests\nimport responses\n",
    )
    .write("tests/test_shop.py", "import pytest\nimport responses\n")
    .write("docs/conf.py", "import sphinx\nimport docutils\n");
    repo.commit("agent");
    let run = check_range(&repo);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        findings(&run.json()),
        [mi("src/shop/__init__.py", 2, "undeclared-package")]
    );
    let message = run.json()["findings"][0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.contains("declared only for dependency group `tests`")
            && message.contains("library code"),
        "{message}"
    );
}

#[test]
fn python_new_dependencies_and_the_lockfile() {
    let env = TestEnv::new();
    let repo = env.repo("py");
    repo.write(".gatehouse/config.toml", OFF)
        .write("pyproject.toml", "[project]\nname = \"shop\"\ndependencies = [\"requests\"]\n")
        .write(
            "uv.lock",
            "version = 1\n\n[[package]]\nname = \"requests\"\nversion = \"2.0\"\nsource = { registry = \"https://pypi.org/simple\" }\nsdist = { url = \"https://x/requests.tar.gz\", hash = \"sha256:00\" }\n",
        )
        .write("src/shop/__init__.py", "import requests\n");
    repo.commit("base");
    repo.write(
        "pyproject.toml",
        "[project]\nname = \"shop\"\ndependencies = [\n    \"requests\",\n    \"fastjsonx\",\n]\n",
    )
    .write(
        "src/shop/__init__.py",
        "import requests\nimport fastjsonx\n",
    );
    repo.commit("agent");
    let run = check_range(&repo);
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        findings(&run.json()),
        [
            mi("pyproject.toml", 5, "new-dependency"),
            mi("src/shop/__init__.py", 2, "unlocked-dependency"),
        ]
    );
}
