//! `missing-import` end to end: real repositories, ranges, the cache, and what is installed.

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

fn project(env: &TestEnv) -> TestRepo<'_> {
    let repo = env.repo("r");
    repo.write(
        "pyproject.toml",
        "[project]\nname = \"app\"\nrequires-python = \">=3.10\"\ndependencies = [\"requests\"]\n",
    )
    .write(
        ".gatehouse/config.toml",
        "[rules.untyped-function]\nlevel = \"off\"\n",
    )
    .write("src/app/__init__.py", "")
    .write("src/app/util.py", "def slugify(text):\n    return text\n")
    .write(
        "src/app/main.py",
        "import json\nimport requests\nfrom app.util import slugify\n",
    );
    repo.commit("base");
    repo
}

#[test]
fn hallucinated_imports_in_a_range_block_with_their_positions() {
    let env = TestEnv::new();
    let repo = project(&env);
    repo.write(
        "src/app/main.py",
        "import json\nimport requests\nimport reqeusts\nfrom app.util import slugify, slugfy\nfrom .helpers import x\n",
    );
    repo.commit("agent");
    let run = repo.gatehouse(&["check", "--range", "HEAD~1..HEAD", "--format", "json"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        findings(&run.json()),
        [
            mi("src/app/main.py", 3, "undeclared-package"),
            mi("src/app/main.py", 4, "missing-name"),
            mi("src/app/main.py", 5, "missing-module"),
        ]
    );
    let human = repo.gatehouse(&["check", "--range", "HEAD~1..HEAD"]);
    assert!(
        human.stdout.contains("did you mean `requests`"),
        "{}",
        human.stdout
    );
    assert!(
        human.stdout.contains("did you mean `slugify`"),
        "{}",
        human.stdout
    );
}

#[test]
fn results_do_not_depend_on_what_is_installed() {
    let env = TestEnv::new();
    let repo = project(&env);
    repo.write("src/app/main.py", "import numpy\nimport requests\n");
    let before = repo.gatehouse(&["check", "--format", "json", "--no-cache"]);
    assert_eq!(
        findings(&before.json()),
        [mi("src/app/main.py", 1, "undeclared-package")]
    );
    // A virtualenv in the working tree, not ignored, with numpy installed (and requests not).
    repo.write(".venv/pyvenv.cfg", "home = /usr/bin\n")
        .write(".venv/lib/python3.11/site-packages/numpy/__init__.py", "")
        .write(
            ".venv/lib/python3.11/site-packages/numpy-2.0.dist-info/top_level.txt",
            "numpy\n",
        )
        .write("build/lib/site-packages/numpy/core.py", "");
    let after = repo.gatehouse(&["check", "src", "--format", "json", "--no-cache"]);
    assert_eq!(findings(&after.json()), findings(&before.json()));
    let mut cmd = env.command(env!("CARGO_BIN_EXE_gatehouse"), &repo.root);
    let with_env = cmd
        .args(["check", "src", "--format", "json", "--no-cache"])
        .env("VIRTUAL_ENV", repo.root.join(".venv"))
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&with_env.stdout).unwrap();
    assert_eq!(findings(&report), findings(&before.json()));
}

#[test]
fn cached_results_follow_renamed_modules_and_edited_manifests() {
    let env = TestEnv::new();
    let repo = project(&env);
    let clean = repo.gatehouse(&[
        "check",
        "--rule",
        "missing-import",
        "--stats",
        "--format",
        "json",
    ]);
    assert_eq!(clean.code, 0, "{}{}", clean.stdout, clean.stderr);
    // Renaming the imported module, without touching the importing file, must be seen.
    repo.git(&["mv", "src/app/util.py", "src/app/text.py"]);
    let renamed = repo.gatehouse(&["check", "--rule", "missing-import", "--format", "json"]);
    assert_eq!(
        findings(&renamed.json()),
        [mi("src/app/main.py", 3, "missing-module")]
    );
    repo.git(&["mv", "src/app/text.py", "src/app/util.py"]);
    // So must a dependency dropped from the manifest.
    repo.write(
        "pyproject.toml",
        "[project]\nname = \"app\"\ndependencies = []\n",
    );
    let dropped = repo.gatehouse(&[
        "check",
        "--rule",
        "missing-import",
        "--stats",
        "--format",
        "json",
    ]);
    assert_eq!(
        findings(&dropped.json()),
        [mi("src/app/main.py", 2, "undeclared-package")]
    );
    // Editing the imported module re-checks its importer; editing a file the importer never
    // read does not.
    repo.write(
        "pyproject.toml",
        "[project]\nname = \"app\"\ndependencies = [\"requests\"]\n",
    );
    repo.gatehouse(&["check", "--rule", "missing-import"]);
    repo.write("src/app/util.py", "def slug(text):\n    return text\n");
    let edited = repo.gatehouse(&[
        "check",
        "--rule",
        "missing-import",
        "--stats",
        "--format",
        "json",
    ]);
    assert!(edited.stderr.contains("2 parsed"), "{}", edited.stderr);
    assert_eq!(
        findings(&edited.json()),
        [mi("src/app/main.py", 3, "missing-name")]
    );
    repo.write("src/app/__init__.py", "VERSION = 1\n");
    let unrelated = repo.gatehouse(&["check", "--rule", "missing-import", "--stats"]);
    assert!(
        unrelated.stderr.contains("1 parsed"),
        "{}",
        unrelated.stderr
    );
}
