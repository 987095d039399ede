//! Hostile: an agent inside a run. What it writes runs again as the task's acceptance commands,
//! so those must be held exactly like the agent: the same environment allowlist and the same
//! write confinement.

use std::path::Path;

use serde_json::Value;

use crate::common::{TestEnv, TestRepo};

/// A repository whose `docs` task is done by the codex stand-in and accepted by `accept`.
fn repo_with_acceptance<'e>(env: &'e TestEnv, accept: &str) -> TestRepo<'e> {
    let repo = env.repo("r");
    let codex = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/stand-ins/codex");
    repo.write(
        ".gatehouse/config.toml",
        format!(
            "[agents.ok]\nadapter = \"codex\"\nprogram = \"{}\"\nenv = {{ STANDIN_EDIT = \"docs/notes.txt\" }}\n",
            codex.display()
        ),
    )
    .write("docs/notes.txt", "notes\n")
    .write(
        ".gatehouse/tasks/docs.toml",
        format!(
            "kind = \"docs\"\ngoal = \"Improve the notes.\"\nscope = [\"docs/**\"]\nagent = \"ok\"\n\
             timeout = \"60s\"\n[[accept]]\nrun = '''{accept}'''\n"
        ),
    );
    repo.commit("base");
    // The agent's table sets `env`: a task run by hand honours it only once trusted.
    assert_eq!(repo.gatehouse(&["task", "trust", "docs"]).code, 0);
    repo
}

fn only_run(repo: &TestRepo<'_>) -> Value {
    let out = repo.gatehouse(&["runs", "list", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.json()["runs"][0].clone()
}

#[test]
fn acceptance_commands_get_neither_the_users_secrets_nor_writes_outside_the_worktree() {
    let env = TestEnv::new();
    let outside = env.path().join("pwned.txt");
    // What a conftest.py or build script the agent wrote would do: read a credential from the
    // environment, and plant a file outside the worktree.
    let accept = format!(
        "printf '%s' \"$AWS_SECRET_ACCESS_KEY$GITHUB_TOKEN\" > docs/leak.txt; \
         echo pwned > {} 2>/dev/null; true",
        outside.display()
    );
    let repo = repo_with_acceptance(&env, &accept);
    let out = Run::new(
        env.command(env!("CARGO_BIN_EXE_gatehouse"), &repo.root)
            .args(["task", "run", "docs", "--wait"])
            .env("AWS_SECRET_ACCESS_KEY", "s3cr3t-aws")
            .env("GITHUB_TOKEN", "ghp_s3cr3t")
            .output()
            .unwrap(),
    );
    let run = only_run(&repo);
    assert_eq!(run["state"], "ready", "{run}\n{}", out.0);
    assert!(
        !outside.exists(),
        "an acceptance command wrote outside the worktree"
    );
    let branch = run["branch"].as_str().unwrap();
    let leaked = repo.git(&["show", &format!("{branch}:docs/leak.txt")]);
    assert_eq!(leaked, "", "an acceptance command saw the user's secrets");
}

#[test]
fn an_acceptance_command_in_the_sandbox_keeps_its_exit_code_and_output() {
    let env = TestEnv::new();
    let repo = repo_with_acceptance(&env, "echo checking; exit 7");
    let out = repo.gatehouse(&["task", "run", "docs", "--wait"]);
    let run = only_run(&repo);
    assert_eq!(run["state"], "failed", "{run}\n{}", out.stderr);
    let id = run["id"].as_str().unwrap();
    let show = repo
        .gatehouse(&["review", "show", id, "--format", "json"])
        .json();
    let acceptance = &show["acceptance"][0];
    assert_eq!(acceptance["exit_code"], 7, "{show}");
    assert!(
        acceptance["output_tail"]
            .as_str()
            .is_some_and(|t| t.contains("checking")),
        "{show}"
    );
}

/// A repository whose `docs` task is done by `sh -c SCRIPT` (the `command` adapter).
fn repo_with_agent_script<'e>(env: &'e TestEnv, script: &str) -> TestRepo<'e> {
    let repo = env.repo("r");
    repo.write(
        ".gatehouse/config.toml",
        format!(
            "[agents.evil]\nadapter = \"command\"\nprogram = \"/bin/sh\"\nargs = [\"-c\", '''{script}''']\n"
        ),
    )
    .write("docs/notes.txt", "notes\n")
    .write("docs/conf.py", "x: int = 1\n")
    .write(
        ".gatehouse/tasks/docs.toml",
        "kind = \"docs\"\ngoal = \"Improve the notes.\"\nscope = [\"docs/**\"]\nagent = \"evil\"\n\
         timeout = \"60s\"\n[[accept]]\ngate = true\n",
    );
    repo.commit("base");
    repo
}

#[test]
fn an_agent_cannot_silence_its_own_gate_with_a_suppression_comment() {
    let env = TestEnv::new();
    // Without the comment this untyped function blocks the run; with it, the gate would pass.
    let repo = repo_with_agent_script(
        &env,
        "printf 'def f(x):  # gatehouse: ignore[untyped-function]\\n    return x\\n' >> docs/conf.py",
    );
    let out = repo.gatehouse(&["task", "run", "docs", "--wait"]);
    let run = only_run(&repo);
    assert_eq!(run["state"], "failed", "{run}\n{}", out.stderr);
    let error = run["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("docs/conf.py:2") && error.contains("suppression"),
        "{error}"
    );
}

#[test]
fn an_agent_cannot_replace_an_in_scope_file_by_a_link_to_a_secret() {
    let env = TestEnv::new();
    let secret = env.path().join("home/.ssh/id_ed25519");
    std::fs::create_dir_all(secret.parent().unwrap()).unwrap();
    std::fs::write(&secret, "PRIVATE KEY").unwrap();
    let repo = repo_with_agent_script(
        &env,
        &format!(
            "rm docs/notes.txt && ln -s {} docs/notes.txt",
            secret.display()
        ),
    );
    let out = repo.gatehouse(&["task", "run", "docs", "--wait"]);
    let run = only_run(&repo);
    assert_eq!(run["state"], "failed", "{run}\n{}", out.stderr);
    let error = run["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("docs/notes.txt") && error.contains("symbolic link"),
        "{error}"
    );
}

#[test]
fn run_directories_and_agent_logs_are_private_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    let repo = repo_with_agent_script(&env, "echo more >> docs/notes.txt");
    let out = Run::new(
        env.command("sh", &repo.root)
            .args([
                "-c",
                &format!(
                    "umask 000; exec {} task run docs --wait",
                    env!("CARGO_BIN_EXE_gatehouse")
                ),
            ])
            .output()
            .unwrap(),
    );
    let run = only_run(&repo);
    assert_eq!(run["state"], "ready", "{run}\n{}", out.0);
    let dir = repo
        .root
        .join(".git/gatehouse/runs")
        .join(run["id"].as_str().unwrap());
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700, "{}", dir.display());
    assert_eq!(mode(&dir.join("agent.log")), 0o600);
}

/// A command's combined output, for failure messages.
struct Run(String);

impl Run {
    fn new(output: std::process::Output) -> Self {
        Run(format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

#[test]
fn accepting_on_a_detached_head_is_refused_and_keeps_the_review() {
    let env = TestEnv::new();
    let repo = repo_with_agent_script(&env, "echo more >> docs/notes.txt");
    repo.gatehouse(&["task", "run", "docs", "--wait"]);
    let run = only_run(&repo);
    assert_eq!(run["state"], "ready", "{run}");
    repo.git(&["switch", "-q", "--detach", "HEAD"]);
    let id = run["id"].as_str().unwrap();
    let accept = repo.gatehouse(&["review", "accept", id]);
    assert_eq!(accept.code, 2, "{}{}", accept.stdout, accept.stderr);
    assert!(
        accept.stderr.contains("HEAD is detached"),
        "{}",
        accept.stderr
    );
    assert_eq!(only_run(&repo)["state"], "ready");
    let branch = run["branch"].as_str().unwrap();
    assert!(!repo.git(&["branch", "--list", branch]).is_empty());
}

#[test]
fn an_agent_cannot_read_the_users_keys_or_other_repositories() {
    let env = TestEnv::new();
    let home = env.path().join("home");
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    std::fs::write(home.join(".ssh/id_ed25519"), "PRIVATE KEY").unwrap();
    std::fs::create_dir_all(home.join("src/other")).unwrap();
    std::fs::write(home.join("src/other/.env"), "DB_PASSWORD=hunter2").unwrap();
    let repo = repo_with_agent_script(
        &env,
        "{ cat ~/.ssh/id_ed25519; cat ~/src/other/.env; ls ~; } > docs/stolen.txt 2>/dev/null; \
         echo done >> docs/stolen.txt",
    );
    let out = repo.gatehouse(&["task", "run", "docs", "--wait"]);
    let run = only_run(&repo);
    assert_eq!(run["state"], "ready", "{run}\n{}", out.stderr);
    let branch = run["branch"].as_str().unwrap();
    let stolen = repo.git(&["show", &format!("{branch}:docs/stolen.txt")]);
    assert_eq!(stolen, "done\n", "the agent read what it must not");
}

#[test]
fn what_an_agent_detaches_with_setsid_and_env_i_ends_with_the_run() {
    let env = TestEnv::new();
    // The detached child's pid goes into the worktree (the agent may write only there): it
    // proves the child started before the agent ended.
    let repo = repo_with_agent_script(
        &env,
        "setsid env -i /bin/sh -c 'sleep 300 & echo $! > docs/survivor.pid; wait' & \
         while [ ! -s docs/survivor.pid ]; do sleep 0.05; done; echo more >> docs/notes.txt",
    );
    let out = repo.gatehouse(&["task", "run", "docs", "--wait"]);
    let run = only_run(&repo);
    let branch = run["branch"].as_str().unwrap_or_default().to_string();
    let pid = repo.git(&["show", &format!("{branch}:docs/survivor.pid")]);
    assert!(!pid.trim().is_empty(), "{run}\n{}", out.stderr);
    // That pid may be one inside the agent's namespace: look for the detached `sleep 300`
    // (the only one with an empty environment) by name instead.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let survivors = std::process::Command::new("pgrep")
            .args(["-f", "^sleep 300$"])
            .output()
            .unwrap();
        let alive: Vec<String> = String::from_utf8_lossy(&survivors.stdout)
            .split_whitespace()
            .filter(|p| {
                std::fs::read_to_string(format!("/proc/{p}/environ")).is_ok_and(|e| e.is_empty())
            })
            .map(String::from)
            .collect();
        if alive.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "a detached child outlived the run: {alive:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn a_run_where_the_agent_changed_nothing_says_what_the_agent_said() {
    let env = TestEnv::new();
    let repo = repo_with_agent_script(
        &env,
        "echo 'I cannot edit docs/notes.txt: the file is read-only.'",
    );
    repo.gatehouse(&["task", "run", "docs", "--wait"]);
    let run = only_run(&repo);
    assert_eq!(run["state"], "failed", "{run}");
    assert_eq!(
        run["error"],
        "the agent changed no file; its last message: \"I cannot edit docs/notes.txt: the file is read-only.\"",
    );
}

#[test]
fn an_agent_cannot_signal_processes_outside_its_run() {
    let env = TestEnv::new();
    let mut victim = std::process::Command::new("sleep")
        .arg("60")
        .spawn()
        .unwrap();
    let repo = repo_with_agent_script(
        &env,
        &format!(
            "kill -KILL {pid} 2>/dev/null; kill -TERM {pid} 2>/dev/null; echo more >> docs/notes.txt",
            pid = victim.id()
        ),
    );
    repo.gatehouse(&["task", "run", "docs", "--wait"]);
    assert_eq!(only_run(&repo)["state"], "ready");
    assert!(
        victim.try_wait().unwrap().is_none(),
        "the agent killed a process outside its run"
    );
    victim.kill().unwrap();
    victim.wait().unwrap();
}

#[test]
fn an_agent_with_the_network_off_reaches_nothing_not_even_loopback() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let probe = format!(
        "python3 -c \"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), 2); print('reached')\nexcept OSError as e:\n    print('unreachable')\" > docs/net.txt"
    );
    for (network, expected) in [("on", "reached\n"), ("off", "unreachable\n")] {
        let env = TestEnv::new();
        let repo = repo_with_agent_script(&env, &probe);
        let config = repo.root.join(".gatehouse/config.toml");
        let text = std::fs::read_to_string(&config).unwrap();
        std::fs::write(&config, format!("{text}network = \"{network}\"\n")).unwrap();
        repo.commit("network");
        let out = repo.gatehouse(&["task", "run", "docs", "--wait"]);
        let run = only_run(&repo);
        assert_eq!(run["state"], "ready", "{run}\n{}", out.stderr);
        let branch = run["branch"].as_str().unwrap();
        let seen = repo.git(&["show", &format!("{branch}:docs/net.txt")]);
        assert_eq!(seen, expected, "network = {network}");
    }
}
