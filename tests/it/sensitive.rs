//! `sensitive-path` against git itself: for each pattern list and path, gatehouse must flag the
//! path exactly when `git check-ignore --no-index` says the same patterns match it.

use std::collections::BTreeSet;

use crate::common::TestEnv;

/// (patterns, paths): every path is committed, then checked against the patterns.
const CASES: &[(&[&str], &[&str])] = &[
    (
        &["*.pem"],
        &["key.pem", "a/b/key.pem", "key.pem.txt", "keypem", "a/.pem"],
    ),
    (
        &["/.github/workflows/"],
        &[
            ".github/workflows/ci.yml",
            "x/.github/workflows/ci.yml",
            ".github/workflows.yml",
        ],
    ),
    (
        &[".github/workflows/"],
        &[".github/workflows/ci.yml", "sub/.github/workflows/ci.yml"],
    ),
    (
        &["migrations/"],
        &[
            "migrations/0001.sql",
            "app/migrations/0002.py",
            "migrations.py",
            "app/migrations.sql",
        ],
    ),
    (
        &["**/migrations/**"],
        &[
            "migrations/a.sql",
            "x/y/migrations/b/c.sql",
            "other/migrations",
        ],
    ),
    (
        &["a/**/b.txt"],
        &["a/b.txt", "a/x/b.txt", "a/x/y/b.txt", "x/a/b.txt"],
    ),
    (
        &["docs/*.md"],
        &["docs/a.md", "docs/sub/b.md", "x/docs/c.md"],
    ),
    (
        &["*.lock", "!poetry.lock"],
        &["Cargo.lock", "poetry.lock", "sub/poetry.lock", "uv.lock"],
    ),
    (
        &["secrets/", "!secrets/public.txt"],
        &["secrets/public.txt", "secrets/private.txt"],
    ),
    (
        &["Cargo.toml"],
        &["Cargo.toml", "crates/x/Cargo.toml", "cargo.toml"],
    ),
    (
        &["requirements*.txt"],
        &[
            "requirements.txt",
            "requirements-dev.txt",
            "req/requirements.in",
        ],
    ),
    (&["file?.py"], &["file1.py", "file12.py", "file.py"]),
    (&["[abc]*.cfg"], &["a.cfg", "b1.cfg", "d.cfg"]),
    (&["[!a]*.cfg"], &["a.cfg", "b.cfg"]),
    (&["\\!important"], &["!important", "important"]),
    (&["\\#notes"], &["#notes"]),
    (&["trailing.txt   "], &["trailing.txt"]),
    (
        &["*secret*"],
        &["my_secret_key.txt", "config/secrets.yaml", "SECRET.txt"],
    ),
    (
        &["space dir/"],
        &["space dir/a b.txt", "other/space dir/c.txt"],
    ),
    (&["/root-only.txt"], &["root-only.txt", "sub/root-only.txt"]),
    (&["**/deep.txt"], &["deep.txt", "a/b/c/deep.txt"]),
    (&["build/**"], &["build/out.o", "build/x/y.o", "x/build"]),
    (&["*.yml"], &[".gitlab-ci.yml", "ci/x.yml", "x.yaml"]),
    (&[".env", ".env.*"], &[".env", "app/.env.local", "env"]),
    (
        &["auth/", "*auth.py"],
        &[
            "auth/login.py",
            "src/oauth.py",
            "src/author.py",
            "pkg/auth/x/y.rs",
        ],
    ),
    (&["a/b/"], &["a/b/c.txt", "x/a/b/c.txt"]),
    (&["!*.md", "*.md"], &["README.md"]),
    (
        &["*.md", "!README.md"],
        &["README.md", "docs/README.md", "CHANGES.md"],
    ),
    (&["**/*.key"], &["x.key", "a/b/x.key"]),
    (&["*"], &["anything", "a/b/c"]),
];

#[test]
fn sensitive_paths_match_exactly_as_git_check_ignore_does() {
    let env = TestEnv::new();
    let mut mismatches = Vec::new();
    let mut total = 0;
    for (n, (patterns, paths)) in CASES.iter().enumerate() {
        let repo = env.repo(&format!("case{n}"));
        repo.write("base.txt", "base\n");
        repo.commit("base");
        let list = patterns
            .iter()
            .map(|p| format!("{p:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        repo.write(
            ".gatehouse/rules/t.toml",
            format!("[[sensitive]]\nname = \"t\"\npaths = [{list}]\n"),
        );
        for path in *paths {
            repo.write(path, "x\n");
        }
        repo.commit("paths");
        let run = repo.gatehouse(&["check", "--range", "HEAD~1..HEAD", "--format", "json"]);
        let flagged: BTreeSet<String> = run.json()["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["symbol"] == "t")
            .map(|f| f["path"].as_str().unwrap().to_string())
            .collect();
        std::fs::write(repo.root.join(".gitignore"), patterns.join("\n") + "\n").unwrap();
        for path in *paths {
            total += 1;
            let out = env
                .command("git", &repo.root)
                .args(["check-ignore", "--no-index", "-q", "--", path])
                .output()
                .unwrap();
            let git_says = out.status.code() == Some(0);
            if git_says != flagged.contains(*path) {
                mismatches.push(format!(
                    "{patterns:?} {path:?}: git {git_says}, gatehouse {}",
                    !git_says
                ));
            }
        }
    }
    assert!(total >= 30, "only {total} cases");
    assert!(
        mismatches.is_empty(),
        "disagreements with git:\n{}",
        mismatches.join("\n")
    );
}

#[test]
fn renames_count_old_and_new_path_and_deletions_and_mode_changes_count() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    repo.write("deploy/prod.pem", "k\n")
        .write("ci.sh", "echo\n")
        .write("Cargo.lock", "# lock\n");
    repo.write(
        "keep.txt",
        "a long enough file to be detected as a rename\n".repeat(5),
    );
    repo.commit("base");
    repo.git(&["mv", "deploy/prod.pem", "deploy/prod.txt"]);
    repo.git(&["mv", "keep.txt", "server.key"]);
    repo.git(&["rm", "-q", "Cargo.lock"]);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        repo.root.join("ci.sh"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    repo.write(
        ".gatehouse/rules/t.toml",
        "[[sensitive]]\nname = \"scripts\"\npaths = [\"*.sh\"]\n",
    );
    repo.commit("changes");
    let run = repo.gatehouse(&["check", "--range", "HEAD~1..HEAD", "--format", "json"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let got: BTreeSet<(String, String, String)> = run.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().into(),
                f["code"].as_str().unwrap().into(),
                f["symbol"].as_str().unwrap().into(),
            )
        })
        .collect();
    let want: BTreeSet<(String, String, String)> = [
        (".gatehouse/rules/t.toml", "added", "gate-config"),
        ("Cargo.lock", "deleted", "dependency-manifests"),
        ("ci.sh", "mode-changed", "scripts"),
        ("deploy/prod.pem", "renamed", "secrets-and-keys"),
        ("server.key", "renamed", "secrets-and-keys"),
    ]
    .into_iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    assert_eq!(got, want);
}

#[test]
fn owners_are_named_in_the_help_and_levels_are_configurable() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    repo.write("a.txt", "a\n");
    repo.commit("base");
    repo.write(
        ".gatehouse/config.toml",
        "[[sensitive]]\nname = \"payments\"\npaths = [\"payments/\"]\nlevel = \"block\"\nowners = [\"alice@example.com\"]\n\n[[sensitive]]\nname = \"gate-config\"\nlevel = \"off\"\n",
    );
    repo.write("payments/charge.py", "x = 1\n");
    repo.commit("pay");
    let run = repo.gatehouse(&["check", "--range", "HEAD~1..HEAD", "--format", "json"]);
    assert_eq!(run.code, 1, "block wins: {}", run.stdout);
    let report = run.json();
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "gate-config is off: {findings:?}");
    assert_eq!(findings[0]["level"], "block");
    assert!(
        findings[0]["help"]
            .as_str()
            .unwrap()
            .contains("alice@example.com")
    );
}
