//! Agent tasks end to end: real repositories, the real binary, the daemon, and stand-in agents
//! (tests/stand-ins/) that print exactly what the real agents print.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{TestEnv, TestRepo};

fn stand_in(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/stand-ins")
        .join(name)
}

/// A repository with a `docs` task for each agent behaviour: `ok` edits docs/notes.txt,
/// `outside` edits README.md, `fail` reports an error with exit 0, `hang` never ends.
fn setup(env: &TestEnv) -> TestRepo<'_> {
    let repo = env.repo("r");
    let codex = stand_in("codex").display().to_string();
    let pidfile = env.path().join("hang.pids").display().to_string();
    // The hanging agent records its children's pids outside its worktree: allowed explicitly.
    let outside = env.path().display().to_string();
    let agent = |name: &str, vars: &str| {
        format!(
            "[agents.{name}]\nadapter = \"codex\"\nprogram = \"{codex}\"\nenv = {{ {vars} }}\nwritable = [\"{outside}\"]\n"
        )
    };
    let config = [
        "[daemon]\nquiet = \"300ms\"\n".to_string(),
        agent("ok", "STANDIN_EDIT = \"docs/notes.txt\""),
        agent("outside", "STANDIN_EDIT = \"README.md\""),
        agent(
            "fail",
            "STANDIN_MODE = \"fail\", STANDIN_EDIT = \"docs/notes.txt\"",
        ),
        agent(
            "hang",
            &format!("STANDIN_MODE = \"hang\", STANDIN_PIDFILE = \"{pidfile}\""),
        ),
        agent(
            "costly",
            "STANDIN_EDIT = \"docs/notes.txt\", STANDIN_USAGE = \"900000,0,5000,0\", STANDIN_LINGER = \"120\"",
        ),
    ]
    .concat();
    repo.write(".gatehouse/config.toml", config)
        .write("README.md", "readme\n")
        .write("docs/notes.txt", "notes\n")
        .write("app.py", "def f(x: int) -> int:\n    return x\n");
    for (name, agent, accept, trigger) in [
        (
            "docs",
            "ok",
            "grep -q edited docs/notes.txt",
            "trigger = { on = \"commit\", paths = [\"docs/**\"] }\n",
        ),
        ("docs-outside", "outside", "true", ""),
        ("docs-fail", "fail", "true", ""),
        ("docs-reject", "ok", "false", ""),
        ("docs-hang", "hang", "true", ""),
        ("docs-costly", "costly", "true", ""),
        ("docs-sneaky", "ok", "echo sneaked >> README.md", ""),
    ] {
        let timeout = if agent == "hang" { "2s" } else { "60s" };
        repo.write(
            &format!(".gatehouse/tasks/{name}.toml"),
            format!(
                "kind = \"{name}\"\ngoal = \"Improve the notes.\"\ncontext = [\"README.md\"]\nscope = [\"docs/**\"]\n\
                 agent = \"{agent}\"\ntimeout = \"{timeout}\"\n{trigger}\n[[accept]]\nrun = \"{accept}\"\n[[accept]]\ngate = true\n\
                 [budget]\nmax_tokens = 300000\n"
            ),
        );
    }
    repo.commit("base");
    // Their agents' tables set `env` and `writable`, which a task run by hand honours only once
    // trusted. `docs` is left untrusted: it is the one a commit triggers.
    trust(
        &repo,
        &[
            "docs-outside",
            "docs-fail",
            "docs-reject",
            "docs-hang",
            "docs-costly",
            "docs-sneaky",
        ],
    );
    repo
}

/// `gatehouse task trust` for each of `tasks`, as they are now.
fn trust(repo: &TestRepo<'_>, tasks: &[&str]) {
    for task in tasks {
        let out = repo.gatehouse(&["task", "trust", task]);
        assert_eq!(out.code, 0, "{task}: {}", out.stderr);
    }
}

/// The children the hanging stand-in detached (it records their pids) are gone (or zombies).
fn assert_hang_children_gone(env: &TestEnv) {
    let pids = std::fs::read_to_string(env.path().join("hang.pids")).unwrap();
    assert!(
        !pids.trim().is_empty(),
        "the hanging agent recorded no children"
    );
    for pid in pids.split_whitespace() {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        assert!(
            stat.is_empty() || stat.contains(") Z "),
            "child {pid} of the hanging agent survived: {stat}"
        );
    }
}

/// Gives the hanging task a timeout long enough to act on it while it runs.
fn hang_for_minutes(repo: &TestRepo<'_>) {
    let file = repo.root.join(".gatehouse/tasks/docs-hang.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("timeout = \"2s\"", "timeout = \"5m\"")).unwrap();
    repo.commit("longer");
    trust(repo, &["docs-hang"]);
}

/// The user's working tree, index and refs, to compare byte for byte.
fn snapshot(repo: &TestRepo<'_>) -> (Vec<u8>, Vec<u8>, Vec<u8>, String, String) {
    let read = |p: &str| std::fs::read(repo.root.join(p)).unwrap_or_default();
    (
        read("README.md"),
        read("docs/notes.txt"),
        read(".git/index"),
        repo.git(&["rev-parse", "HEAD"]),
        repo.git(&[
            "for-each-ref",
            "--format=%(refname) %(objectname)",
            "refs/heads/main",
        ]),
    )
}

/// Task `name` as `task list --format json` shows it.
fn listed(repo: &TestRepo<'_>, name: &str) -> Value {
    let list = repo.gatehouse(&["task", "list", "--format", "json"]).json();
    let tasks = list["tasks"].as_array().cloned().unwrap_or_default();
    tasks
        .into_iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no task {name}: {list}"))
}

fn runs(repo: &TestRepo<'_>) -> Vec<Value> {
    let out = repo.gatehouse(&["runs", "list", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.json()["runs"].as_array().cloned().unwrap_or_default()
}

/// Where the scratch worktrees of `repo` live: under the (test) home's state directory, one
/// directory per repository, never inside `.git/`.
fn worktrees_root(repo: &TestRepo<'_>) -> std::path::PathBuf {
    let base = repo
        .env
        .path()
        .join("home/.local/state/gatehouse/worktrees");
    let mut dirs: Vec<_> = std::fs::read_dir(&base)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(
        dirs.len() <= 1,
        "one repository, one worktree root: {dirs:?}"
    );
    dirs.pop().unwrap_or(base)
}

fn assert_no_scratch(repo: &TestRepo<'_>, id: &str, branch_kept: bool) {
    assert!(
        !worktrees_root(repo).join(id).exists(),
        "worktree of {id} left behind"
    );
    assert!(!repo.root.join(".git/gatehouse/worktrees").exists());
    let worktrees = repo.git(&["worktree", "list", "--porcelain"]);
    assert_eq!(worktrees.matches("worktree ").count(), 1, "{worktrees}");
    let branches = repo.git(&["branch", "--list", "gatehouse/*"]);
    assert_eq!(branches.contains(id), branch_kept, "{branches}");
}

#[test]
fn a_run_becomes_a_review_and_accept_merges_it_with_the_trailers() {
    let env = TestEnv::new();
    let repo = setup(&env);
    trust(&repo, &["docs"]);
    // Uncommitted and staged changes of the user's own stay untouched throughout.
    repo.write("README.md", "readme, edited by the user\n");
    repo.git(&["add", "README.md"]);
    repo.write("README.md", "readme, edited again\n");
    let before = snapshot(&repo);
    let run = repo.gatehouse(&["task", "run", "docs"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        snapshot(&repo),
        before,
        "a run changed the user's files, index or branches"
    );
    let all = runs(&repo);
    let run = &all[0];
    let id = run["id"].as_str().unwrap();
    for field in [
        "id",
        "task",
        "kind",
        "agent",
        "state",
        "base",
        "branch",
        "started_at",
        "finished_at",
        "duration_ms",
        "tokens",
        "cost_usd",
        "error",
    ] {
        assert!(run.get(field).is_some(), "runs JSON lacks {field}: {run}");
    }
    assert_eq!(run["state"], "ready", "{run}");
    assert_eq!(run["tokens"]["input"], 24763);
    assert_eq!(run["tokens"]["cached_input"], 24448);
    assert_no_scratch(&repo, id, true);
    let show = repo
        .gatehouse(&["review", "show", id, "--format", "json"])
        .json();
    assert_eq!(show["acceptance"][0]["exit_code"], 0, "{show}");
    assert_eq!(show["files_changed"][0]["path"], "docs/notes.txt", "{show}");
    assert_eq!(
        show["summary"]["final_message"].as_str().map(str::trim),
        Some("Updated docs/notes.txt.")
    );
    let human = repo.gatehouse(&["review", "show", id, "--diff"]);
    assert!(
        human.stdout.contains("+edited by the codex stand-in"),
        "{}",
        human.stdout
    );
    let status = repo.gatehouse(&["status", "--format", "json"]).json();
    assert_eq!(status["reviews"]["waiting"], 1, "{status}");
    // Accepting with a dirty file the review touches is refused and changes nothing.
    repo.write("docs/notes.txt", "local edit\n");
    let refused = repo.gatehouse(&["review", "accept", id]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("docs/notes.txt"),
        "{}",
        refused.stderr
    );
    repo.git(&["checkout", "docs/notes.txt"]);
    repo.git(&["stash"]);
    let accepted = repo.gatehouse(&["review", "accept", id]);
    assert_eq!(accepted.code, 0, "{}", accepted.stderr);
    let message = repo.git(&["log", "-1", "--format=%an%n%B", "HEAD"]);
    assert!(message.starts_with("gatehouse\n"), "{message}");
    assert!(
        message.contains("Gatehouse-Task: docs")
            && message.contains(&format!("Gatehouse-Run: {id}")),
        "{message}"
    );
    assert!(
        std::fs::read_to_string(repo.root.join("docs/notes.txt"))
            .unwrap()
            .contains("edited by the codex stand-in")
    );
    let note = repo.git(&["notes", "--ref", "refs/notes/gatehouse", "show", "HEAD"]);
    assert!(
        note.contains("agent-commit"),
        "the acceptance is the approval: {note}"
    );
    assert_eq!(runs(&repo)[0]["state"], "accepted");
    let stats = repo.gatehouse(&["stats", "--format", "json"]).json();
    assert_eq!(stats["groups"][0]["succeeded"], 1, "{stats}");
}

#[test]
fn failures_fail_the_run_and_leave_nothing_behind() {
    let env = TestEnv::new();
    let repo = setup(&env);
    let before = snapshot(&repo);
    for (task, state, error) in [
        (
            "docs-outside",
            "failed",
            "outside the task's scope: README.md",
        ),
        ("docs-fail", "failed", "401 Unauthorized"),
        ("docs-reject", "failed", "acceptance failed: false"),
        ("docs-hang", "timed_out", "timed out"),
        ("docs-costly", "over_budget", "over the budget of 300000"),
        (
            "docs-sneaky",
            "failed",
            "after the acceptance commands, changed files outside the task's scope: README.md",
        ),
    ] {
        let started = Instant::now();
        let out = repo.gatehouse(&["task", "run", task]);
        assert_eq!(out.code, 1, "{task}: {}", out.stderr);
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{task} took {:?}",
            started.elapsed()
        );
        let run = runs(&repo)
            .into_iter()
            .rev()
            .find(|r| r["task"] == task)
            .unwrap();
        assert_eq!(run["state"], state, "{task}: {run}");
        assert!(
            run["error"].as_str().unwrap_or("").contains(error),
            "{task}: {run}"
        );
        assert_no_scratch(&repo, run["id"].as_str().unwrap(), false);
    }
    // The hanging agent's children, detached with setsid, died with it.
    assert_hang_children_gone(&env);
    assert_eq!(snapshot(&repo), before);
    // Three failed runs of one kind in a row pause it.
    for _ in 0..2 {
        repo.gatehouse(&["task", "run", "docs-fail"]);
    }
    let fail = listed(&repo, "docs-fail");
    assert!(
        fail["paused"]
            .as_str()
            .is_some_and(|p| p.contains("3 consecutive")),
        "{fail}"
    );
}

/// Stops the repository's daemon when the test ends, however it ends.
struct Daemon<'r, 'e>(&'r TestRepo<'e>);

impl Drop for Daemon<'_, '_> {
    fn drop(&mut self) {
        if let Some(pid) = daemon_pid(self.0) {
            // SAFETY: signalling the pid the daemon reported as its own.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

fn daemon_pid(repo: &TestRepo<'_>) -> Option<i32> {
    let status = repo.gatehouse(&["daemon", "status", "--format", "json"]);
    serde_json::from_str::<Value>(&status.stdout).ok()?["pid"]
        .as_i64()
        .map(|p| p as i32)
}

fn wait_for(
    repo: &TestRepo<'_>,
    what: &str,
    limit: Duration,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let all = runs(repo);
        if done(&all) {
            return all;
        }
        assert!(
            started.elapsed() < limit,
            "waited {limit:?} for {what}: {all:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_commit_triggers_a_trusted_task_in_the_daemon() {
    let env = TestEnv::new();
    let repo = setup(&env);
    let start = repo.gatehouse(&["daemon", "start"]);
    assert_eq!(start.code, 0, "{}", start.stderr);
    let _daemon = Daemon(&repo);
    let quiet_enough = || std::thread::sleep(Duration::from_millis(1500));
    // An untrusted task is not triggered.
    repo.write("docs/early.txt", "early\n");
    repo.commit("docs while untrusted");
    quiet_enough();
    assert!(
        runs(&repo).is_empty(),
        "an untrusted task ran: {:?}",
        runs(&repo)
    );
    assert_eq!(repo.gatehouse(&["task", "trust", "docs"]).code, 0);
    // A commit that does not touch docs/ triggers nothing; one that does queues the task.
    repo.write("app.py", "def f(x: int) -> int:\n    return x + 1\n");
    repo.commit("code");
    repo.write("docs/more.txt", "more\n");
    let commit = repo.commit("docs");
    repo.write("README.md", "the user's own edit, not committed\n");
    let before = snapshot(&repo);
    let all = wait_for(
        &repo,
        "the triggered run to be ready",
        Duration::from_secs(30),
        |runs| runs.iter().any(|r| r["state"] == "ready"),
    );
    assert_eq!(
        snapshot(&repo),
        before,
        "the daemon's run touched the user's files"
    );
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["base"], commit.as_str());
    assert_eq!(all[0]["trigger"], "commit");
    let id = all[0]["id"].as_str().unwrap().to_string();
    assert_no_scratch(&repo, &id, true);
    let accepted = repo.gatehouse(&["review", "accept", &id]);
    assert_eq!(accepted.code, 0, "{}", accepted.stderr);
    assert!(
        repo.git(&["log", "-1", "--format=%B"])
            .contains("Gatehouse-Task: docs")
    );
    assert_eq!(
        std::fs::read_to_string(repo.root.join("README.md")).unwrap(),
        "the user's own edit, not committed\n"
    );
    // The accepted commit touches docs/ too, but it is the task's own result: no new run.
    quiet_enough();
    assert_eq!(
        runs(&repo).len(),
        1,
        "accepting re-triggered the task: {:?}",
        runs(&repo)
    );
}

#[test]
fn kill_9_of_the_daemon_mid_run_leaves_an_interrupted_run_and_no_worktree() {
    let env = TestEnv::new();
    let repo = setup(&env);
    hang_for_minutes(&repo);
    let before = snapshot(&repo);
    assert_eq!(repo.gatehouse(&["daemon", "start"]).code, 0);
    let guard = Daemon(&repo);
    let queued = repo.gatehouse(&["task", "run", "docs-hang"]);
    assert_eq!(queued.code, 0, "{}", queued.stderr);
    let all = wait_for(&repo, "the run to start", Duration::from_secs(30), |runs| {
        runs.iter().any(|r| r["state"] == "running")
    });
    let id = all[0]["id"].as_str().unwrap().to_string();
    let worktree = worktrees_root(&repo).join(&id);
    assert!(worktree.exists(), "{}", worktree.display());
    let shown = repo
        .gatehouse(&["runs", "show", &id, "--format", "json"])
        .json();
    assert_eq!(shown["worktree"], worktree.display().to_string().as_str());
    let pid = daemon_pid(&repo).unwrap();
    // The agent has detached its children (the daemon's watchdog ends them at once).
    let pidfile = env.path().join("hang.pids");
    let started = Instant::now();
    while !std::fs::read_to_string(&pidfile).is_ok_and(|p| p.lines().count() >= 2) {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the agent never hung"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: killing the daemon this test started.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(repo.gatehouse(&["daemon", "start"]).code, 0);
    let all = wait_for(
        &repo,
        "the run to be interrupted",
        Duration::from_secs(20),
        |runs| runs.iter().any(|r| r["state"] == "interrupted"),
    );
    assert_eq!(all[0]["id"], id.as_str());
    assert_no_scratch(&repo, &id, false);
    assert_eq!(snapshot(&repo), before);
    assert_hang_children_gone(&env);
    drop(guard);
}

#[test]
fn task_files_are_validated_listed_and_trusted() {
    let env = TestEnv::new();
    let repo = setup(&env);
    assert_eq!(listed(&repo, "docs")["trusted"], false);
    assert_eq!(repo.gatehouse(&["task", "trust", "docs"]).code, 0);
    assert_eq!(listed(&repo, "docs")["trusted"], true);
    // Editing the file untrusts it.
    let file = repo.root.join(".gatehouse/tasks/docs.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replace("Improve the notes.", "Improve the notes a lot."),
    )
    .unwrap();
    assert_eq!(listed(&repo, "docs")["trusted"], false);
    // A broken task file names file, line and column.
    repo.write(
        ".gatehouse/tasks/bad.toml",
        "kind = \"k\"\ngoal = \"g\"\nscope = [\"a\"]\nagent = \"ok\"\ntimeout = \"soon\"\n",
    );
    let bad = repo.gatehouse(&["task", "list"]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains(".gatehouse/tasks/bad.toml:5:11"),
        "{}",
        bad.stderr
    );
}

#[test]
fn reject_deletes_the_branch_and_here_runs_in_the_checkout() {
    let env = TestEnv::new();
    let repo = setup(&env);
    trust(&repo, &["docs"]);
    assert_eq!(repo.gatehouse(&["task", "run", "docs"]).code, 0);
    let id = runs(&repo)[0]["id"].as_str().unwrap().to_string();
    let rejected = repo.gatehouse(&["review", "reject", &id, "-m", "not needed"]);
    assert_eq!(rejected.code, 0, "{}", rejected.stderr);
    assert_no_scratch(&repo, &id, false);
    let run = runs(&repo)[0].clone();
    assert_eq!(
        (run["state"].as_str(), run["decision"].as_str()),
        (Some("rejected"), Some("not needed"))
    );
    let here = repo.gatehouse(&["task", "run", "docs", "--here"]);
    assert_eq!(here.code, 0, "{}{}", here.stdout, here.stderr);
    let summary = here.json();
    assert_eq!(summary["state"], "ready", "{summary}");
    assert_eq!(summary["files_changed"][0]["path"], "docs/notes.txt");
    assert!(
        std::fs::read_to_string(repo.root.join("docs/notes.txt"))
            .unwrap()
            .contains("edited by the codex stand-in")
    );
}

#[test]
fn automatic_runs_wait_for_quiet_and_a_queued_run_can_be_cancelled() {
    let env = TestEnv::new();
    let repo = setup(&env);
    let config = std::fs::read_to_string(repo.root.join(".gatehouse/config.toml")).unwrap();
    repo.write(
        ".gatehouse/config.toml",
        config.replace("quiet = \"300ms\"", "quiet = \"1h\""),
    );
    repo.commit("never quiet");
    assert_eq!(repo.gatehouse(&["task", "trust", "docs"]).code, 0);
    assert_eq!(repo.gatehouse(&["daemon", "start"]).code, 0);
    let _daemon = Daemon(&repo);
    // A commit triggers the trusted task: queued at once, started only when quiet.
    repo.write("docs/more.txt", "more\n");
    repo.commit("docs");
    let all = wait_for(
        &repo,
        "the triggered run",
        Duration::from_secs(20),
        |runs| !runs.is_empty(),
    );
    std::thread::sleep(Duration::from_millis(1000));
    let run = runs(&repo)[0].clone();
    assert_eq!(
        (run["state"].as_str(), run["trigger"].as_str()),
        (Some("queued"), Some("commit")),
        "the repository is not quiet yet: {all:?}"
    );
    let status = repo
        .gatehouse(&["daemon", "status", "--format", "json"])
        .json();
    assert_eq!(status["queue_length"], 1, "{status}");
    let id = run["id"].as_str().unwrap();
    assert_eq!(repo.gatehouse(&["runs", "cancel", id]).code, 0);
    assert_eq!(runs(&repo)[0]["state"], "cancelled");
    let again = repo.gatehouse(&["runs", "cancel", id]);
    assert_eq!(again.code, 2, "{}", again.stderr);
}

#[test]
fn a_conflicting_accept_is_undone_and_the_review_stays_open() {
    let env = TestEnv::new();
    let repo = setup(&env);
    trust(&repo, &["docs"]);
    assert_eq!(repo.gatehouse(&["task", "run", "docs"]).code, 0);
    let id = runs(&repo)[0]["id"].as_str().unwrap().to_string();
    repo.write("docs/notes.txt", "notes, rewritten by the user\n");
    repo.commit("conflicting");
    let head = repo.git(&["rev-parse", "HEAD"]);
    let accept = repo.gatehouse(&["review", "accept", &id]);
    assert_eq!(accept.code, 2, "{}", accept.stderr);
    assert!(accept.stderr.contains("undone"), "{}", accept.stderr);
    assert_eq!(repo.git(&["rev-parse", "HEAD"]), head);
    assert!(!repo.root.join(".git/MERGE_HEAD").exists());
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
    assert_eq!(runs(&repo)[0]["state"], "ready");
}

#[test]
fn cancelling_a_running_run_and_stopping_the_daemon_are_recorded() {
    let env = TestEnv::new();
    let repo = setup(&env);
    hang_for_minutes(&repo);
    assert_eq!(repo.gatehouse(&["daemon", "start"]).code, 0);
    let _daemon = Daemon(&repo);
    assert_eq!(repo.gatehouse(&["task", "run", "docs-hang"]).code, 0);
    let all = wait_for(&repo, "the run to start", Duration::from_secs(30), |runs| {
        runs.iter().any(|r| r["state"] == "running")
    });
    let id = all[0]["id"].as_str().unwrap().to_string();
    assert_eq!(repo.gatehouse(&["runs", "cancel", &id]).code, 0);
    wait_for(
        &repo,
        "the run to be cancelled",
        Duration::from_secs(20),
        |runs| runs[0]["state"] == "cancelled",
    );
    assert_no_scratch(&repo, &id, false);
    // A run in flight when the daemon stops is cancelled, not lost.
    repo.commit("again");
    let queued = repo.gatehouse(&["task", "run", "docs-hang"]);
    assert_eq!(queued.code, 0, "{}{}", queued.stdout, queued.stderr);
    let all = wait_for(
        &repo,
        "the second run to start",
        Duration::from_secs(30),
        |runs| runs.iter().any(|r| r["state"] == "running"),
    );
    let second = all.iter().find(|r| r["state"] == "running").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(repo.gatehouse(&["daemon", "stop"]).code, 0);
    let all = wait_for(
        &repo,
        "the second run to be cancelled",
        Duration::from_secs(20),
        |runs| {
            runs.iter()
                .any(|r| r["id"] == second.as_str() && r["state"] == "cancelled")
        },
    );
    assert_eq!(all.len(), 2);
    assert_no_scratch(&repo, &second, false);
}

#[test]
fn setup_copies_ignored_files_runs_confined_and_base_picks_the_branch() {
    let env = TestEnv::new();
    let repo = setup(&env);
    repo.write(".gitignore", ".env\nvendor/\n");
    repo.commit("ignores");
    let main = repo.git(&["rev-parse", "HEAD"]).trim().to_string();
    repo.write(".env", "SECRET=1\n");
    let escaped = env.path().join("escaped");
    let task = |name: &str, setup: &str| {
        repo.write(
            &format!(".gatehouse/tasks/{name}.toml"),
            format!(
                "kind = \"{name}\"\ngoal = \"Improve the notes.\"\nscope = [\"docs/**\"]\nagent = \"ok\"\n\
                 base = \"main\"\n{setup}\n[[accept]]\nrun = \"test -f vendor/dep.txt && grep -q SECRET .env\"\n"
            ),
        );
    };
    task(
        "prep",
        "[[setup]]\ncopy = [\".env\"]\n[[setup]]\nrun = \"mkdir -p vendor && echo dep > vendor/dep.txt && test -f .env\"\n",
    );
    task(
        "prep-escape",
        &format!("[[setup]]\nrun = \"touch {}\"\n", escaped.display()),
    );
    task("prep-litter", "[[setup]]\nrun = \"echo x > litter.txt\"\n");
    // The user works on another branch: `base = "main"` runs start from main all the same.
    repo.git(&["switch", "-q", "-c", "elsewhere"]);
    repo.commit("the user's work elsewhere");
    trust(&repo, &["prep", "prep-escape", "prep-litter"]);
    let run = repo.gatehouse(&["task", "run", "prep"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let all = runs(&repo);
    let prep = all.iter().find(|r| r["task"] == "prep").unwrap();
    assert_eq!(prep["state"], "ready", "{prep}");
    assert_eq!(prep["base"], main.as_str());
    let id = prep["id"].as_str().unwrap();
    let shown = repo
        .gatehouse(&["review", "show", id, "--format", "json"])
        .json();
    assert_eq!(shown["summary"]["setup"]["copied"][0], ".env", "{shown}");
    assert_eq!(shown["summary"]["setup"]["commands"][0]["exit_code"], 0);
    let files = repo.git(&[
        "show",
        "--name-only",
        "--format=",
        prep["branch"].as_str().unwrap(),
    ]);
    assert_eq!(
        files.trim(),
        "docs/notes.txt",
        "setup's files are not the agent's change"
    );
    // Setup commands are confined like acceptance commands, and may leave only ignored files.
    for (name, error) in [
        ("prep-escape", "setup failed: `touch"),
        (
            "prep-litter",
            "setup left files git does not ignore: litter.txt",
        ),
    ] {
        let out = repo.gatehouse(&["task", "run", name]);
        assert_eq!(out.code, 1, "{name}: {}", out.stderr);
        let run = runs(&repo).into_iter().find(|r| r["task"] == name).unwrap();
        assert_eq!(run["state"], "failed", "{run}");
        assert!(run["error"].as_str().unwrap().contains(error), "{run}");
        assert_no_scratch(&repo, run["id"].as_str().unwrap(), false);
    }
    assert!(
        !escaped.exists(),
        "a setup command wrote outside its worktree"
    );
}

#[test]
fn a_broken_task_file_stops_only_its_own_task_and_is_shown_everywhere() {
    let env = TestEnv::new();
    let repo = setup(&env);
    repo.write(
        ".gatehouse/tasks/bad.toml",
        "kind = \"k\"\ngoal = \"g\"\nscope = [\"a\"]\nagent = \"ok\"\ntimeout = \"soon\"\n",
    );
    repo.commit("a broken task file");
    assert_eq!(repo.gatehouse(&["task", "trust", "docs"]).code, 0);
    let at = ".gatehouse/tasks/bad.toml:5:11";
    // The list shows the good tasks and the broken file; the exit says a file is broken.
    let list = repo.gatehouse(&["task", "list", "--format", "json"]);
    assert_eq!(list.code, 2, "{}", list.stderr);
    let list = list.json();
    assert!(list["tasks"].as_array().unwrap().len() >= 7, "{list}");
    assert_eq!(list["broken"][0]["file"], ".gatehouse/tasks/bad.toml");
    assert!(
        list["broken"][0]["error"].as_str().unwrap().starts_with(at),
        "{list}"
    );
    let human = repo.gatehouse(&["task", "list"]);
    assert!(
        human.stdout.contains("docs ") && human.stdout.contains(at),
        "{}",
        human.stdout
    );
    // Another task still runs by hand; the broken one says why not.
    let own = repo.gatehouse(&["task", "run", "bad"]);
    assert_eq!(own.code, 2);
    assert!(own.stderr.contains(at), "{}", own.stderr);
    assert_eq!(repo.gatehouse(&["daemon", "start"]).code, 0);
    let _daemon = Daemon(&repo);
    for args in [
        &["status", "--format", "json"][..],
        &["daemon", "status", "--format", "json"],
    ] {
        let status = repo.gatehouse(args).json();
        assert!(
            status["broken_task_files"][0]
                .as_str()
                .is_some_and(|e| e.starts_with(at)),
            "{args:?}: {status}"
        );
    }
    assert!(repo.gatehouse(&["daemon", "status"]).stdout.contains(at));
    let doctor = repo.gatehouse(&["doctor", "--format", "json"]).json();
    assert!(
        doctor["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p.as_str().unwrap().contains(at)),
        "{doctor}"
    );
    // A commit still triggers the trusted task.
    repo.write("docs/more.txt", "more\n");
    repo.commit("docs");
    let all = wait_for(
        &repo,
        "the triggered run to be ready",
        Duration::from_secs(30),
        |runs| runs.iter().any(|r| r["state"] == "ready"),
    );
    assert_eq!(all[0]["task"], "docs", "{all:?}");
}

#[test]
fn by_hand_without_a_daemon_the_breaker_the_budget_and_max_parallel_hold() {
    let env = TestEnv::new();
    let repo = setup(&env);
    hang_for_minutes(&repo);
    for task in ["docs", "docs-fail", "docs-hang"] {
        assert_eq!(repo.gatehouse(&["task", "trust", task]).code, 0);
    }
    // The breaker: three failures pause the kind; by hand it is refused, nothing recorded.
    for _ in 0..3 {
        assert_eq!(repo.gatehouse(&["task", "run", "docs-fail"]).code, 1);
    }
    let before = runs(&repo).len();
    for args in [
        &["task", "run", "docs-fail"][..],
        &["task", "run", "docs-fail", "--here"],
    ] {
        let refused = repo.gatehouse(args);
        assert_eq!(refused.code, 2, "{args:?}: {}", refused.stderr);
        assert!(
            refused.stderr.contains("paused")
                && refused.stderr.contains("`gatehouse task resume docs-fail`"),
            "{}",
            refused.stderr
        );
    }
    assert_eq!(runs(&repo).len(), before);
    assert_eq!(repo.gatehouse(&["task", "resume", "docs-fail"]).code, 0);
    // A spent daily budget (0 spends nothing at all) refuses a run by hand too.
    let config = repo.root.join(".gatehouse/config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("{text}[tasks]\ndaily_budget_usd = 0.0\n")).unwrap();
    for args in [
        &["task", "run", "docs"][..],
        &["task", "run", "docs", "--here"],
    ] {
        let refused = repo.gatehouse(args);
        assert_eq!(refused.code, 2, "{args:?}: {}", refused.stderr);
        assert!(
            refused.stderr.contains("daily budget"),
            "{}",
            refused.stderr
        );
    }
    assert_eq!(runs(&repo).len(), before);
    std::fs::write(&config, text).unwrap();
    // max_parallel = 1: a second run by hand waits for the first to end.
    let bin = env!("CARGO_BIN_EXE_gatehouse");
    let mut first = env
        .command(bin, &repo.root)
        .args(["task", "run", "docs-hang"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&repo, "the hang to run", Duration::from_secs(30), |runs| {
        runs.iter().any(|r| r["state"] == "running")
    });
    let second = env
        .command(bin, &repo.root)
        .args(["task", "run", "docs"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let queued = wait_for(&repo, "the second run", Duration::from_secs(10), |runs| {
        runs.iter().any(|r| r["task"] == "docs")
    });
    std::thread::sleep(Duration::from_secs(2));
    let docs = |all: Vec<Value>| all.into_iter().find(|r| r["task"] == "docs").unwrap();
    assert_eq!(docs(runs(&repo))["state"], "queued", "{queued:?}");
    // SAFETY: signalling the child this test started; it cancels its run.
    unsafe { libc::kill(first.id() as i32, libc::SIGTERM) };
    first.wait().unwrap();
    let out = second.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("waiting"), "{stderr}");
    assert_eq!(docs(runs(&repo))["state"], "ready");
}

#[test]
fn daemon_status_shows_the_quiet_setting_the_scheduler_uses_now() {
    let env = TestEnv::new();
    let repo = setup(&env);
    assert_eq!(repo.gatehouse(&["daemon", "start"]).code, 0);
    let _daemon = Daemon(&repo);
    let quiet = || {
        repo.gatehouse(&["daemon", "status", "--format", "json"])
            .json()["quiet"]["quiet_after_ms"]
            .clone()
    };
    assert_eq!(quiet(), 300);
    let config = repo.root.join(".gatehouse/config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("quiet = \"300ms\"", "quiet = \"7s\"")).unwrap();
    assert_eq!(quiet(), 7000);
    let status = repo
        .gatehouse(&["daemon", "status", "--format", "json"])
        .json();
    assert_eq!(status["quiet"]["quiet_after_s"], 7, "{status}");
    let status = repo.gatehouse(&["daemon", "status"]);
    assert!(
        status.stdout.contains("of 7 s") || status.stdout.contains("quiet (idle"),
        "{}",
        status.stdout
    );
}
