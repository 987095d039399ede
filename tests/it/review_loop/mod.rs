//! The review loop as people live it, end to end with real pushes to a temp bare repository:
//! accepting approves exactly the agent's commits (never the user's own changes), approvals
//! survive unrelated commits and identical rebases but nothing else, a hand-started run starts
//! now, request-changes makes a second round on the same branch, and the messages say what
//! happened.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{Run, TestEnv, TestRepo};

mod approvals;
mod history;
mod rounds;
mod team;

fn stand_in(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/stand-ins")
        .join(name)
}

/// A repository with an `origin` bare remote (base pushed), the hooks installed, and a `docs`
/// task whose codex stand-in appends a line to docs/notes.txt, copies its prompt to
/// `<env>/prompt.txt` and costs by the price table.
fn setup<'e>(env: &'e TestEnv, quiet: &str) -> (TestRepo<'e>, PathBuf) {
    let origin = env.path().join("origin.git");
    let bare = origin.to_str().unwrap();
    env.git(env.path(), &["init", "-q", "--bare", "-b", "main", bare]);
    let repo = env.repo("work");
    repo.git(&["remote", "add", "origin", bare]);
    let codex = stand_in("codex").display().to_string();
    let outside = env.path().display().to_string();
    let prompt = env.path().join("prompt.txt").display().to_string();
    repo.write(
        ".gatehouse/config.toml",
        format!(
            "[daemon]\nquiet = \"{quiet}\"\n\n[agents.ok]\nadapter = \"codex\"\nprogram = \"{codex}\"\n\
             env = {{ STANDIN_EDIT = \"docs/notes.txt\", STANDIN_PROMPT_COPY = \"{prompt}\" }}\n\
             writable = [\"{outside}\"]\nprice = {{ input = 3.0, output = 15.0 }}\n\n\
             [agents.deps]\nadapter = \"codex\"\nprogram = \"{codex}\"\n\
             env = {{ STANDIN_EDIT = \"requirements.txt\" }}\nprice = {{ input = 3.0, output = 15.0 }}\n"
        ),
    )
    .write(
        ".gatehouse/tasks/deps.toml",
        "kind = \"deps\"\ngoal = \"Pin the requirements.\"\nscope = [\"requirements.txt\"]\n\
         agent = \"deps\"\ntimeout = \"60s\"\n[[accept]]\nrun = \"grep -q edited requirements.txt\"\n",
    )
    .write(
        ".gatehouse/tasks/docs.toml",
        "kind = \"docs\"\ngoal = \"Improve the notes.\"\nscope = [\"docs/**\"]\nagent = \"ok\"\n\
         timeout = \"60s\"\ntrigger = { on = \"commit\", paths = [\"docs/**\"] }\n\
         [[accept]]\nrun = \"grep -q edited docs/notes.txt\"\n[[accept]]\ngate = true\n",
    )
    .write("README.md", "readme\n")
    .write("docs/notes.txt", "notes\n")
    .write("app.py", "def f(x: int) -> int:\n    return x\n");
    repo.commit("base");
    repo.git(&["push", "-q", "origin", "main"]);
    let installed = repo.gatehouse(&["install"]);
    assert_eq!(installed.code, 0, "{}", installed.stderr);
    (repo, origin)
}

fn git_run(repo: &TestRepo<'_>, args: &[&str]) -> Run {
    let out = repo
        .env
        .command("git", &repo.root)
        .args(args)
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn runs(repo: &TestRepo<'_>) -> Vec<Value> {
    let out = repo.gatehouse(&["runs", "list", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.json()["runs"].as_array().cloned().unwrap_or_default()
}

/// Runs the docs task in the foreground (no daemon) and returns the ready run's id.
/// `gatehouse task trust TASK` as it is now: the agents' tables set `env` (and `writable`),
/// which a task run by hand honours only once trusted.
fn trust(repo: &TestRepo<'_>, task: &str) {
    let out = repo.gatehouse(&["task", "trust", task]);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

fn ready_run(repo: &TestRepo<'_>) -> String {
    ready_run_of(repo, "docs")
}

fn ready_run_of(repo: &TestRepo<'_>, task: &str) -> String {
    trust(repo, task);
    let run = repo.gatehouse(&["task", "run", task]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let all = runs(repo);
    let last = all.last().unwrap();
    assert_eq!(last["state"], "ready", "{last}");
    last["id"].as_str().unwrap().to_string()
}

/// The approval notes: (annotated commit, note JSON).
fn notes(repo: &TestRepo<'_>) -> Vec<(String, Value)> {
    let list = git_run(repo, &["notes", "--ref", "refs/notes/gatehouse", "list"]);
    list.stdout
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .map(|target| {
            let text = repo.git(&["notes", "--ref", "refs/notes/gatehouse", "show", target]);
            (target.to_string(), serde_json::from_str(&text).unwrap())
        })
        .collect()
}

/// Stops the repository's daemon when the test ends, however it ends.
struct Daemon<'r, 'e>(&'r TestRepo<'e>);

impl Drop for Daemon<'_, '_> {
    fn drop(&mut self) {
        let status = self.0.gatehouse(&["daemon", "status", "--format", "json"]);
        if let Some(pid) = serde_json::from_str::<Value>(&status.stdout)
            .ok()
            .and_then(|s| s["pid"].as_i64())
        {
            // SAFETY: signalling the pid the daemon reported as its own.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
    }
}

/// `git` or `gatehouse` in `dir` as `name` (committer identity and approver).
fn as_person(env: &TestEnv, dir: &Path, name: &str, program: &str, args: &[&str]) -> Run {
    let program = if program == "gatehouse" {
        env!("CARGO_BIN_EXE_gatehouse")
    } else {
        program
    };
    let email = format!("{}@example.com", name.to_lowercase());
    let out = env
        .command(program, dir)
        .args(args)
        .env("GIT_COMMITTER_NAME", name)
        .env("GIT_COMMITTER_EMAIL", &email)
        .env("GIT_AUTHOR_NAME", name)
        .env("GIT_AUTHOR_EMAIL", &email)
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
