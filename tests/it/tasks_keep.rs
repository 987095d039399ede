//! `keep = [...]` in a task file: the ignored dependency folders a run installed are carried to
//! the next run of the task, and nothing else an earlier agent left behind is.

use std::path::Path;

use serde_json::Value;

use crate::common::{TestEnv, TestRepo};

/// A `command` agent that records what it finds in its worktree to `out/seen`, edits
/// docs/notes.txt, and then does what `out/mode` says: `hostile` plants files, changes a tracked
/// one and writes into the kept folder; `git` swaps the `.git` file for a directory with a hook;
/// `symlink` replaces the kept folder with a symlink out of the worktree; `newline` installs a
/// folder named to forge a line of `review show` under `vendor/`; `links` swaps a file and a
/// folder setup copied into `.venv` for symlinks out of the worktree; `sleep` sleeps.
const AGENT: &str = r#"#!/bin/sh
out="$2"
cd "$1" || exit 1
{
  echo "installed=$(cat .venv/installed 2>/dev/null)"
  echo "entries=$(ls -A | tr '\n' ' ')"
  echo "git=$(head -c 7 .git 2>/dev/null)"
  echo "readme=$(cat README.md)"
  echo "notes=$(cat docs/notes.txt)"
  echo "carried=$(cat .venv/agent-was-here 2>/dev/null)"
} > "$out/seen"
echo edited >> docs/notes.txt
case "$(cat "$out/mode" 2>/dev/null)" in
hostile)
  echo evil > planted.txt
  mkdir -p cache && echo evil > cache/planted
  echo evil >> README.md
  echo carried > .venv/agent-was-here
  ;;
git)
  rm -f .git && mkdir -p .git/hooks && printf '#!/bin/sh\necho hooked\n' > .git/hooks/post-checkout
  ;;
symlink)
  rm -rf .venv && ln -s "$out/victim" .venv
  ;;
links)
  ln -sf "$out/victim/installed" .venv/pip.conf
  rm -rf .venv/etc && ln -s "$out/victim" .venv/etc
  ;;
sleep)
  sleep 120
  ;;
newline)
  mkdir -p "vendor/x
forged: line"
  ;;
esac
exit 0
"#;

/// A repository with task `deps`: setup installs `.venv` (recording when) unless it is there,
/// `keep = [".venv"]` carries it; and task `wild`, which keeps `vendor/*`.
fn setup(env: &TestEnv) -> TestRepo<'_> {
    let out = env.path().join("out");
    std::fs::create_dir_all(out.join("victim")).unwrap();
    std::fs::write(out.join("victim/installed"), "victim\n").unwrap();
    let agent = env.path().join("agent.sh");
    std::fs::write(&agent, AGENT).unwrap();
    std::fs::set_permissions(&agent, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let repo = env.repo("r");
    repo.write(
        ".gatehouse/config.toml",
        format!(
            "[agents.look]\nadapter = \"command\"\nprogram = \"{}\"\nargs = [\"{{worktree}}\", \"{}\"]\nwritable = [\"{}\"]\n",
            agent.display(),
            out.display(),
            out.display()
        ),
    )
    .write(".gitignore", ".venv\ncache/\nvendor/\n")
    .write("README.md", "readme\n")
    .write("docs/notes.txt", "notes\n")
    .write(
        ".gatehouse/tasks/deps.toml",
        "kind = \"deps\"\ngoal = \"Improve the notes.\"\nscope = [\"docs/**\"]\nagent = \"look\"\n\
         keep = [\".venv\"]\n\
         [[setup]]\nrun = \"test -f .venv/installed || { mkdir -p .venv && date +%s%N > .venv/installed; }\"\n\
         [[accept]]\nrun = \"test -f .venv/installed\"\n",
    )
    .write(
        ".gatehouse/tasks/wild.toml",
        "kind = \"wild\"\ngoal = \"Improve the notes.\"\nscope = [\"docs/**\"]\nagent = \"look\"\n\
         keep = [\"vendor/*\"]\n",
    );
    repo.commit("base");
    repo
}

/// Runs task `deps` with the agent in `mode`; returns the run (as `runs list` shows it) and
/// what the agent saw.
fn run(repo: &TestRepo<'_>, mode: &str) -> (Value, String) {
    run_task(repo, "deps", mode)
}

/// [`run`] for task `task`.
fn run_task(repo: &TestRepo<'_>, task: &str, mode: &str) -> (Value, String) {
    let (last, seen) = try_run(repo, task, mode);
    let seen = seen.unwrap_or_else(|| panic!("the agent did not start: {last}"));
    (last, seen)
}

/// [`run_task`], and what the agent saw if it started.
fn try_run(repo: &TestRepo<'_>, task: &str, mode: &str) -> (Value, Option<String>) {
    let out = repo.env.path().join("out");
    std::fs::write(out.join("mode"), mode).unwrap();
    let _ = std::fs::remove_file(out.join("seen"));
    let runs = |repo: &TestRepo<'_>| -> Vec<Value> {
        let list = repo.gatehouse(&["runs", "list", "--format", "json"]).json();
        list["runs"].as_array().cloned().unwrap_or_default()
    };
    let before = runs(repo);
    // The agent's table sets `writable`: a task run by hand honours it only once trusted.
    assert_eq!(repo.gatehouse(&["task", "trust", task]).code, 0);
    let result = repo.gatehouse(&["task", "run", task]);
    let last = runs(repo)
        .into_iter()
        .find(|r| !before.iter().any(|b| b["id"] == r["id"]))
        .unwrap_or_else(|| panic!("no new run: {}{}", result.stdout, result.stderr));
    (last, std::fs::read_to_string(out.join("seen")).ok())
}

fn field<'s>(seen: &'s str, name: &str) -> &'s str {
    seen.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} in {seen}"))
}

/// The directory of the kept stores of the environment's repositories.
fn kept_base(repo: &TestRepo<'_>) -> std::path::PathBuf {
    repo.env.path().join("home/.local/state/gatehouse/kept")
}

/// What is stored for the repository's tasks besides the store's lock: only the task's folders,
/// no claim, staging or removal leftovers.
fn stored(repo: &TestRepo<'_>) -> Vec<String> {
    let Ok(dirs) = std::fs::read_dir(kept_base(repo)) else {
        return Vec::new();
    };
    let mut names: Vec<String> = dirs
        .flatten()
        .flat_map(|d| std::fs::read_dir(d.path()).unwrap().flatten())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != ".lock")
        .collect();
    names.sort();
    names
}

/// The repository's store (after a run kept something).
fn store(repo: &TestRepo<'_>) -> std::path::PathBuf {
    let mut dirs: Vec<_> = std::fs::read_dir(kept_base(repo))
        .unwrap()
        .flatten()
        .map(|d| d.path())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs.remove(0)
}

/// Asserts that `review show` of `run` (as JSON) lists `kept` alone as kept; returns what it
/// shows people.
fn shows_kept(repo: &TestRepo<'_>, run: &Value, kept: &str) -> String {
    let id = run["id"].as_str().unwrap();
    let shown = repo
        .gatehouse(&["review", "show", id, "--format", "json"])
        .json();
    assert_eq!(
        shown["summary"]["kept"],
        serde_json::json!([kept]),
        "{shown}"
    );
    repo.gatehouse(&["review", "show", id]).stdout
}

fn plant(path: &Path, content: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

#[test]
fn kept_folders_reach_the_next_run_and_nothing_else_an_agent_left_does() {
    let env = TestEnv::new();
    let repo = setup(&env);
    let (first, seen) = run(&repo, "benign");
    assert_eq!(first["state"], "ready", "{first}");
    let installed = field(&seen, "installed").to_string();
    assert!(!installed.is_empty(), "{seen}");
    let review_branch = first["branch"].as_str().unwrap().to_string();
    let review_tip = repo.git(&["rev-parse", &review_branch]);
    assert_eq!(stored(&repo), ["deps"]);

    // The second run starts with the first run's install, and its agent turns hostile.
    let (second, seen) = run(&repo, "hostile");
    assert_eq!(field(&seen, "installed"), installed, "not reused: {seen}");
    assert_eq!(second["state"], "failed", "{second}");

    // The third run: the install again, and of the hostile agent's work only what it wrote
    // into the kept folder (kept folders are carried as a run leaves them).
    let (third, seen) = run(&repo, "benign");
    assert_eq!(third["state"], "ready", "{third}");
    assert_eq!(field(&seen, "installed"), installed, "{seen}");
    let third_installed = installed.clone();
    let entries: Vec<&str> = field(&seen, "entries").split_whitespace().collect();
    assert!(
        !entries.contains(&"planted.txt") && !entries.contains(&"cache"),
        "an earlier agent's files were carried: {seen}"
    );
    assert_eq!(
        field(&seen, "git"),
        "gitdir:",
        "the .git file is fresh: {seen}"
    );
    assert_eq!(field(&seen, "readme"), "readme", "{seen}");
    assert_eq!(
        field(&seen, "notes"),
        "notes",
        "tracked files at the base: {seen}"
    );
    assert_eq!(field(&seen, "carried"), "carried", "{seen}");
    let human = shows_kept(&repo, &third, ".venv");
    assert!(
        human
            .lines()
            .any(|l| l == "kept folders from the task's run before: .venv"),
        "{human}"
    );

    // A worktree whose `.git` file was swapped for a directory with a hook keeps nothing: the
    // next run gets a fresh `.git` file and installs afresh.
    let (fourth, _) = run(&repo, "git");
    assert_eq!(fourth["state"], "failed", "{fourth}");
    let (_, seen) = run(&repo, "benign");
    assert_eq!(field(&seen, "git"), "gitdir:", "{seen}");
    let installed = field(&seen, "installed").to_string();
    assert!(
        !installed.is_empty() && installed != third_installed,
        "{seen}"
    );

    // A kept folder swapped for a symlink out of the worktree is neither followed nor carried:
    // the run after it installs afresh, and what the symlink pointed at stays where it was.
    run(&repo, "symlink");
    let (last, seen) = run(&repo, "benign");
    assert_eq!(last["state"], "ready", "{last}");
    let fresh = field(&seen, "installed");
    assert!(
        fresh != installed && fresh != "victim" && !fresh.is_empty(),
        "{seen}"
    );
    let victim = env.path().join("out/victim");
    assert_eq!(
        std::fs::read_to_string(victim.join("installed")).unwrap(),
        "victim\n"
    );
    assert!(!Path::new(&victim).join(".venv").exists());

    assert_eq!(
        repo.git(&["rev-parse", &review_branch]),
        review_tip,
        "the first run's review branch was touched"
    );
    assert_eq!(stored(&repo), ["deps"], "claims and staging leave nothing");
    let worktrees = repo.git(&["worktree", "list", "--porcelain"]);
    assert_eq!(worktrees.matches("worktree ").count(), 1, "{worktrees}");
}

#[test]
fn what_a_move_killed_mid_way_left_is_adopted_by_the_next_run_and_never_piles_up() {
    let env = TestEnv::new();
    let repo = setup(&env);
    let (first, seen) = run(&repo, "benign");
    let installed = field(&seen, "installed").to_string();
    let store = store(&repo);
    let id = first["id"].as_str().unwrap();
    // Exactly what a gatehouse of the version before was killed leaving: run `id` had claimed
    // the task's folders (renamed them to `.claimed-RUN`) and was replacing older ones
    // (`.old-RUN`); a run the database does not know left its staging; and a removal of this
    // version's did not end.
    std::fs::rename(store.join("deps"), store.join(format!(".claimed-{id}"))).unwrap();
    plant(&store.join(format!(".old-{id}/.venv/installed")), "old");
    plant(
        &store.join(".stash-20260101t000000-1-0/.venv/installed"),
        "unknown",
    );
    plant(&store.join(".trash.4242-0/.venv/installed"), "trash");
    let (second, seen) = run(&repo, "benign");
    assert_eq!(second["state"], "ready", "{second}");
    assert_eq!(field(&seen, "installed"), installed, "adopted: {seen}");
    assert_eq!(stored(&repo), ["deps"], "leftovers are gone");
}

#[test]
fn forgetting_a_deleted_task_removes_its_kept_folders() {
    let env = TestEnv::new();
    let repo = setup(&env);
    run(&repo, "benign");
    assert_eq!(stored(&repo), ["deps"]);
    let listed = repo.gatehouse(&["task", "list"]);
    assert!(
        !listed.stdout.contains("without a file"),
        "{}",
        listed.stdout
    );
    std::fs::remove_file(repo.root.join(".gatehouse/tasks/deps.toml")).unwrap();
    repo.commit("deps is done");
    let listed = repo.gatehouse(&["task", "list"]);
    assert!(
        listed
            .stdout
            .contains("kept folders of tasks without a file: deps"),
        "{}",
        listed.stdout
    );
    let bad = repo.gatehouse(&["task", "forget", "../deps"]);
    assert_eq!(bad.code, 2, "{bad:?}");
    assert!(bad.stderr.contains("not a task name"), "{}", bad.stderr);
    assert_eq!(stored(&repo), ["deps"], "a bad name removes nothing");
    let forgot = repo.gatehouse(&["task", "forget", "deps"]);
    assert_eq!(forgot.code, 0, "{forgot:?}");
    assert!(
        forgot
            .stderr
            .contains("removed the kept folders of task deps"),
        "{}",
        forgot.stderr
    );
    assert!(stored(&repo).is_empty());
    let again = repo.gatehouse(&["task", "forget", "deps"]);
    assert!(
        again.stderr.contains("task deps has no kept folders"),
        "{}",
        again.stderr
    );
}

#[test]
fn a_purge_removes_the_kept_folders() {
    let env = TestEnv::new();
    let repo = setup(&env);
    run(&repo, "benign");
    let store = store(&repo);
    assert!(store.join("deps/.venv").is_dir());
    let purged = repo.gatehouse(&["uninstall", "--purge"]);
    assert_eq!(purged.code, 0, "{purged:?}");
    assert!(!store.exists(), "{}", purged.stderr);
    assert!(
        purged
            .stderr
            .contains(&format!("removed {}", store.display())),
        "{}",
        purged.stderr
    );
}

#[test]
fn hostile_kept_folder_names_cannot_make_up_lines_of_a_review() {
    let env = TestEnv::new();
    let repo = setup(&env);
    run_task(&repo, "wild", "newline");
    let (second, _) = run_task(&repo, "wild", "benign");
    let human = shows_kept(&repo, &second, "vendor/x\nforged: line");
    assert!(
        human.contains("kept folders from the task's run before: vendor/x\\nforged: line\n"),
        "{human}"
    );
    assert!(
        !human.lines().any(|l| l.starts_with("forged")),
        "a made-up line: {human}"
    );
}

#[test]
fn hostile_symlinks_left_in_a_kept_folder_do_not_lead_setup_copies_out_of_the_worktree() {
    let env = TestEnv::new();
    let repo = setup(&env);
    repo.write(
        ".gatehouse/tasks/conf.toml",
        "kind = \"conf\"\ngoal = \"Improve the notes.\"\nscope = [\"docs/**\"]\nagent = \"look\"\n\
         keep = [\".venv\"]\n[[setup]]\ncopy = [\".venv/pip.conf\", \".venv/etc/tool.conf\"]\n",
    );
    repo.commit("conf");
    repo.write(".venv/pip.conf", "user's pip.conf\n")
        .write(".venv/etc/tool.conf", "user's tool.conf\n");
    let (first, _) = run_task(&repo, "conf", "links");
    assert_eq!(first["state"], "ready", "{first}");
    let (second, seen) = try_run(&repo, "conf", "benign");
    assert_eq!(seen, None, "the setup did not end");
    let victim = env.path().join("out/victim");
    assert_eq!(
        std::fs::read_to_string(victim.join("installed")).unwrap(),
        "victim\n",
        "written through a symlink: {second}"
    );
    assert!(
        !victim.join("tool.conf").exists(),
        "copied out of the worktree: {second}"
    );
    assert_eq!(second["state"], "failed", "{second}");
    assert!(
        second["error"].as_str().unwrap_or("").contains("symlink"),
        "{second}"
    );
    // The failed setup kept nothing: the next run starts afresh and copies.
    let (third, _) = run_task(&repo, "conf", "benign");
    assert_eq!(third["state"], "ready", "{third}");
}

/// Runs `deps` once (it installs the kept `.venv`), then starts a second run by hand and kills
/// its runner (-9) while the agent works on the kept folder. Returns what the first run installed.
fn kill_a_runner_at_work(env: &TestEnv, repo: &TestRepo<'_>) -> String {
    let (_, seen) = run(repo, "benign");
    let installed = field(&seen, "installed").to_string();
    let out = env.path().join("out");
    std::fs::write(out.join("mode"), "sleep").unwrap();
    let _ = std::fs::remove_file(out.join("seen"));
    let mut running = env
        .command(env!("CARGO_BIN_EXE_gatehouse"), &repo.root)
        .args(["task", "run", "deps"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !std::fs::read_to_string(out.join("seen")).is_ok_and(|s| s.contains("carried=")) {
        assert!(started.elapsed().as_secs() < 60, "the agent did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    running.kill().unwrap();
    running.wait().unwrap();
    installed
}

#[test]
fn the_kept_folders_of_a_run_killed_with_9_reach_the_next_run() {
    let env = TestEnv::new();
    let repo = setup(&env);
    // The agent is at work on the kept `.venv` when its runner dies; the daemon's start
    // recovers the run.
    let installed = kill_a_runner_at_work(&env, &repo);
    // Until it is recovered the run counts as active: forgetting its task's folders waits.
    let refused = repo.gatehouse(&["task", "forget", "deps"]);
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(refused.stderr.contains("is active"), "{}", refused.stderr);
    assert_eq!(repo.gatehouse(&["daemon", "start"]).code, 0);
    let started = std::time::Instant::now();
    let interrupted = loop {
        let list = repo.gatehouse(&["runs", "list", "--format", "json"]).json();
        if list["runs"]
            .as_array()
            .is_some_and(|runs| runs.iter().any(|r| r["state"] == "interrupted"))
            || started.elapsed().as_secs() > 30
        {
            break list;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let stopped = repo.gatehouse(&["daemon", "stop"]);
    assert_eq!(stopped.code, 0, "{stopped:?}");
    assert!(
        interrupted.to_string().contains("interrupted"),
        "{interrupted}"
    );
    let (next, seen) = run(&repo, "benign");
    assert_eq!(next["state"], "ready", "{next}");
    assert_eq!(
        field(&seen, "installed"),
        installed,
        "lost with the worktree: {seen}"
    );
    assert_eq!(stored(&repo), ["deps"]);
}

/// Without a daemon, a run whose runner was killed (-9) does not hold its task for good: the
/// next `task run` marks it interrupted and runs, with the kept folders the killed run had.
#[test]
fn without_a_daemon_the_next_task_run_recovers_a_run_whose_runner_was_killed() {
    let env = TestEnv::new();
    let repo = setup(&env);
    let installed = kill_a_runner_at_work(&env, &repo);
    let (next, seen) = run(&repo, "benign");
    assert_eq!(next["state"], "ready", "{next}");
    assert_eq!(field(&seen, "installed"), installed, "{seen}");
    let list = repo.gatehouse(&["runs", "list", "--format", "json"]).json();
    let states: Vec<&str> = list["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["state"].as_str().unwrap())
        .collect();
    assert!(states.contains(&"interrupted"), "{list}");
}
