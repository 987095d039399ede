//! `keep = [...]` in a task file: the ignored dependency folders a run installed are carried to
//! the next run of the task, and nothing else an earlier agent left behind is.

use std::path::Path;

use serde_json::Value;

use crate::common::{TestEnv, TestRepo};

/// A `command` agent that records what it finds in its worktree to `out/seen`, edits
/// docs/notes.txt, and then does what `out/mode` says: `hostile` plants files, changes a tracked
/// one and writes into the kept folder; `git` swaps the `.git` file for a directory with a hook;
/// `symlink` replaces the kept folder with a symlink out of the worktree.
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
esac
exit 0
"#;

/// A repository with task `deps`: setup installs `.venv` (recording when) unless it is there,
/// `keep = [".venv"]` carries it.
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
    .write(".gitignore", ".venv\ncache/\n")
    .write("README.md", "readme\n")
    .write("docs/notes.txt", "notes\n")
    .write(
        ".gatehouse/tasks/deps.toml",
        "kind = \"deps\"\ngoal = \"Improve the notes.\"\nscope = [\"docs/**\"]\nagent = \"look\"\n\
         keep = [\".venv\"]\n\
         [[setup]]\nrun = \"test -f .venv/installed || { mkdir -p .venv && date +%s%N > .venv/installed; }\"\n\
         [[accept]]\nrun = \"test -f .venv/installed\"\n",
    );
    repo.commit("base");
    repo
}

/// Runs task `deps` with the agent in `mode`; returns the run (as `runs list` shows it) and
/// what the agent saw.
fn run(repo: &TestRepo<'_>, mode: &str) -> (Value, String) {
    let out = repo.env.path().join("out");
    std::fs::write(out.join("mode"), mode).unwrap();
    let _ = std::fs::remove_file(out.join("seen"));
    let runs = |repo: &TestRepo<'_>| -> Vec<Value> {
        let list = repo.gatehouse(&["runs", "list", "--format", "json"]).json();
        list["runs"].as_array().cloned().unwrap_or_default()
    };
    let before = runs(repo);
    let result = repo.gatehouse(&["task", "run", "deps"]);
    let last = runs(repo)
        .into_iter()
        .find(|r| !before.iter().any(|b| b["id"] == r["id"]))
        .unwrap_or_else(|| panic!("no new run: {}{}", result.stdout, result.stderr));
    let seen = std::fs::read_to_string(out.join("seen"))
        .unwrap_or_else(|_| panic!("the agent did not start: {last}\n{}", result.stderr));
    (last, seen)
}

fn field<'s>(seen: &'s str, name: &str) -> &'s str {
    seen.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} in {seen}"))
}

/// What is stored for the repository's tasks: only the task's folders, no claim or staging
/// leftovers.
fn stored(repo: &TestRepo<'_>) -> Vec<String> {
    let base = repo.env.path().join("home/.local/state/gatehouse/kept");
    let Ok(dirs) = std::fs::read_dir(&base) else {
        return Vec::new();
    };
    dirs.flatten()
        .flat_map(|d| std::fs::read_dir(d.path()).unwrap().flatten())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
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
    let id = third["id"].as_str().unwrap();
    let shown = repo
        .gatehouse(&["review", "show", id, "--format", "json"])
        .json();
    assert_eq!(
        shown["summary"]["kept"],
        serde_json::json!([".venv"]),
        "{shown}"
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
