//! Hostile: a cloned repository whose configuration is a special file (a symlink to
//! `/dev/zero` or outside the repository, a FIFO, a huge file), or whose configuration quietly
//! turns a rule off (an empty or malformed pattern, a NaN budget).

use std::time::Duration;

use super::gatehouse;
use crate::common::{TestEnv, TestRepo};

const LIMIT: Duration = Duration::from_secs(30);

fn repo(env: &TestEnv) -> TestRepo<'_> {
    let repo = env.repo("r");
    repo.write("a.py", "def f(x):\n    return x\n");
    repo.commit("base");
    repo
}

fn assert_refused(repo: &TestRepo<'_>, file: &str, what: &str) {
    let run = gatehouse(repo, &["check"], LIMIT);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(file) && run.stderr.contains(what),
        "expected `{file}` and `{what}` in: {}",
        run.stderr
    );
}

#[test]
fn configuration_is_read_only_from_regular_files_inside_the_repository() {
    let env = TestEnv::new();
    let repo = repo(&env);
    let config = repo.root.join(".gatehouse/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();

    std::os::unix::fs::symlink("/dev/zero", &config).unwrap();
    assert_refused(&repo, ".gatehouse/config.toml", "outside the repository");
    std::fs::remove_file(&config).unwrap();

    let fifo = std::ffi::CString::new(config.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    assert_refused(&repo, ".gatehouse/config.toml", "not a regular file");
    std::fs::remove_file(&config).unwrap();

    let mut huge = String::from("scope = \"all\"\n");
    huge.push_str(&"# padding\n".repeat(300_000));
    std::fs::write(&config, huge).unwrap();
    assert_refused(&repo, ".gatehouse/config.toml", "larger than");
    std::fs::remove_file(&config).unwrap();

    // A rule pack that is a symlink to a file outside the repository, turning a rule off.
    let outside = env.path().join("loose.toml");
    std::fs::write(&outside, "[rules.untyped-function]\nlevel = \"off\"\n").unwrap();
    let rules = repo.root.join(".gatehouse/rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::os::unix::fs::symlink(&outside, rules.join("loose.toml")).unwrap();
    assert_refused(
        &repo,
        ".gatehouse/rules/loose.toml",
        "outside the repository",
    );
    std::fs::remove_file(rules.join("loose.toml")).unwrap();
    // The same with the whole rules directory a symlink.
    std::fs::remove_dir(&rules).unwrap();
    std::os::unix::fs::symlink(env.path(), &rules).unwrap();
    assert_refused(
        &repo,
        ".gatehouse/rules/loose.toml",
        "outside the repository",
    );
    std::fs::remove_file(&rules).unwrap();

    // A symlink to a regular file inside the repository is fine.
    repo.write(
        "shared/gate.toml",
        "[rules.untyped-function]\nlevel = \"warn\"\n",
    );
    std::os::unix::fs::symlink("../shared/gate.toml", &config).unwrap();
    let run = gatehouse(&repo, &["check", "a.py"], LIMIT);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);

    // Task files are configuration too.
    let tasks = repo.root.join(".gatehouse/tasks");
    std::fs::create_dir_all(&tasks).unwrap();
    std::os::unix::fs::symlink("/dev/zero", tasks.join("t.toml")).unwrap();
    let run = gatehouse(&repo, &["task", "list"], LIMIT);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(".gatehouse/tasks/t.toml")
            && run.stderr.contains("outside the repository"),
        "{}",
        run.stderr
    );
}

#[test]
fn configuration_in_a_commit_is_read_only_from_regular_blobs_of_bounded_size() {
    let env = TestEnv::new();
    let work = repo(&env);
    let bare = env.path().join("bare.git");
    let bare_str = bare.to_str().unwrap();
    env.git(
        env.path(),
        &[
            "clone",
            "-q",
            "--bare",
            work.root.to_str().unwrap(),
            bare_str,
        ],
    );
    let in_bare = |args: &[&str]| {
        let mut cmd = env.command(env!("CARGO_BIN_EXE_gatehouse"), &bare);
        cmd.args(args);
        super::bounded(cmd, LIMIT).expect("finished")
    };

    std::fs::create_dir_all(work.root.join(".gatehouse")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", work.root.join(".gatehouse/config.toml")).unwrap();
    work.commit("config is a symlink");
    work.git(&["push", "-q", "--no-verify", bare_str, "main"]);
    let run = in_bare(&["check", "--range", "HEAD~1..HEAD"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(".gatehouse/config.toml") && run.stderr.contains("symlink"),
        "{}",
        run.stderr
    );

    std::fs::remove_file(work.root.join(".gatehouse/config.toml")).unwrap();
    let mut huge = String::from("scope = \"all\"\n");
    huge.push_str(&"# padding\n".repeat(300_000));
    work.write(".gatehouse/config.toml", huge);
    work.commit("config is huge");
    work.git(&["push", "-q", "--no-verify", bare_str, "main"]);
    let run = in_bare(&["check", "--range", "HEAD~1..HEAD"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(".gatehouse/config.toml") && run.stderr.contains("larger than"),
        "{}",
        run.stderr
    );
}

/// `text` as `.gatehouse/config.toml` must be an error at `line:column` saying `what`.
fn assert_config_error(repo: &TestRepo<'_>, text: &str, at: &str, what: &str) {
    repo.write(".gatehouse/config.toml", text);
    let run = repo.gatehouse(&["check", "a.py"]);
    assert_eq!(run.code, 2, "{text}: {}{}", run.stdout, run.stderr);
    let location = format!(".gatehouse/config.toml:{at}:");
    assert!(
        run.stderr.contains(&location) && run.stderr.contains(what),
        "{text}: expected `{location}` and `{what}` in: {}",
        run.stderr
    );
}

#[test]
fn patterns_that_can_never_match_are_config_errors_not_a_rule_turned_off() {
    let env = TestEnv::new();
    let repo = repo(&env);
    let rule = "[rules.untyped-function]\n";
    assert_config_error(&repo, &format!("{rule}paths = [\"\"]\n"), "2:10", "empty");
    assert_config_error(
        &repo,
        &format!("{rule}paths = [\"   \"]\n"),
        "2:10",
        "empty",
    );
    assert_config_error(&repo, &format!("{rule}paths = []\n"), "2:9", "no pattern");
    assert_config_error(
        &repo,
        &format!("{rule}paths = [\"src/[ab\"]\n"),
        "2:10",
        "unclosed `[`",
    );
    assert_config_error(
        &repo,
        &format!("{rule}paths = [\"*.py\", \"#x\"]\n"),
        "2:18",
        "comment",
    );
    assert_config_error(
        &repo,
        &format!("{rule}paths = [\"[[:word:]]*\"]\n"),
        "2:10",
        "class",
    );
    assert_config_error(
        &repo,
        &format!("{rule}paths = [\"a\\\\\"]\n"),
        "2:10",
        "backslash",
    );
    assert_config_error(
        &repo,
        &format!("{rule}paths = [\"./a.py\"]\n"),
        "2:10",
        "`./`",
    );
    assert_config_error(
        &repo,
        &format!("{rule}exclude = [\"!\"]\n"),
        "2:12",
        "empty",
    );
    assert_config_error(
        &repo,
        "[[sensitive]]\nname = \"x\"\npaths = [\"\"]\n",
        "3:10",
        "empty",
    );
    assert_config_error(&repo, "protected = [\"\"]\n", "1:14", "empty");
    // Valid patterns still load.
    repo.write(
        ".gatehouse/config.toml",
        format!("{rule}paths = [\"*.py\", \"src/**/[a-z]*.py\", \"\\\\#literal\"]\n"),
    );
    let run = repo.gatehouse(&["check", "a.py"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
}

#[test]
fn budgets_must_be_finite_and_not_negative() {
    let env = TestEnv::new();
    let repo = repo(&env);
    assert_config_error(
        &repo,
        "[tasks]\ndaily_budget_usd = nan\n",
        "2:20",
        "daily_budget_usd",
    );
    assert_config_error(
        &repo,
        "[tasks]\ndaily_budget_usd = -1.0\n",
        "2:20",
        "daily_budget_usd",
    );
    assert_config_error(
        &repo,
        "[tasks]\ndaily_budget_usd = inf\n",
        "2:20",
        "daily_budget_usd",
    );
    repo.write(
        ".gatehouse/config.toml",
        "[agents.a]\nadapter = \"codex\"\nprice = { input = nan, output = 1.0 }\n",
    );
    let run = repo.gatehouse(&["check", "a.py"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("price.input"), "{}", run.stderr);
    repo.write(".gatehouse/config.toml", "");
    repo.write(
        ".gatehouse/tasks/t.toml",
        "kind = \"k\"\ngoal = \"g\"\nscope = [\"a.py\"]\nagent = \"x\"\n[budget]\nmax_usd = nan\n",
    );
    let run = repo.gatehouse(&["task", "list"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(".gatehouse/tasks/t.toml:6:11") && run.stderr.contains("max_usd"),
        "{}",
        run.stderr
    );
}
