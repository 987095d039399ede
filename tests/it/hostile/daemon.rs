//! Hostile: the daemon and its state. Idle connections that took every slot (status "not
//! running", `stop` failing, SIGTERM ignored), a `stop` that returned while the process lived, a
//! corrupt state database nobody was told about, agents that outlived a `kill -9` of the daemon,
//! world-readable state, and an agent stopping the daemon through its socket.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{Run, TestEnv, TestRepo};

/// Runs `gatehouse ARGS` in the repository with umask 022 (what most users have).
fn gh(repo: &TestRepo<'_>, args: &[&str]) -> Run {
    let mut command = repo
        .env
        .command(env!("CARGO_BIN_EXE_gatehouse"), &repo.root);
    command.args(args);
    // SAFETY: umask is async-signal-safe and cannot fail.
    unsafe {
        command.pre_exec(|| {
            libc::umask(0o022);
            Ok(())
        });
    }
    let out = command.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Kills the daemon (by the pid it reported) when the test ends, however it ends.
struct Daemon {
    pid: i32,
    socket: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // SAFETY: signalling the pid the daemon reported as its own.
        unsafe { libc::kill(self.pid, libc::SIGKILL) };
    }
}

fn start(repo: &TestRepo<'_>) -> Daemon {
    let run = gh(repo, &["daemon", "start"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let status = gh(repo, &["daemon", "status", "--format", "json"]).json();
    assert_eq!(status["running"], true, "{status}");
    Daemon {
        pid: status["pid"].as_i64().unwrap() as i32,
        socket: PathBuf::from(status["socket"].as_str().unwrap()),
    }
}

/// Alive and not a zombie.
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        !s.rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

fn wait_until(what: &str, limit: Duration, done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "waited {limit:?} for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn plain_repo(env: &TestEnv) -> TestRepo<'_> {
    let repo = env.repo("r");
    repo.write("a.py", "a = 1\n");
    repo.commit("base");
    repo
}

/// 100 connections that send nothing (or half a request) and stay open.
fn idle_connections(socket: &Path) -> Vec<UnixStream> {
    let conns: Vec<UnixStream> = (0..100)
        .map(|_| UnixStream::connect(socket).unwrap())
        .collect();
    for mut conn in conns.iter().take(20) {
        conn.write_all(b"{\"v\":1,").unwrap();
    }
    conns
}

#[test]
fn idle_connections_leave_status_stop_and_sigterm_working() {
    let env = TestEnv::new();
    let repo = plain_repo(&env);
    let daemon = start(&repo);
    let _idle = idle_connections(&daemon.socket);
    std::thread::sleep(Duration::from_millis(300));
    let asked = Instant::now();
    let status = gh(&repo, &["daemon", "status", "--format", "json"]).json();
    assert_eq!(status["running"], true, "{status}");
    assert!(
        asked.elapsed() < Duration::from_secs(3),
        "status waited for a slot"
    );
    let stop = gh(&repo, &["daemon", "stop"]);
    assert_eq!(stop.code, 0, "{}", stop.stderr);
    assert!(stop.stderr.contains("stopped"), "{}", stop.stderr);
    assert!(
        !alive(daemon.pid),
        "`daemon stop` returned while the daemon (pid {}) still runs",
        daemon.pid
    );
    // SIGTERM too is handled while every slot is taken.
    let daemon = start(&repo);
    let _idle = idle_connections(&daemon.socket);
    // A peer that sends no whole request within a few seconds is hung up on (it makes room for
    // itself: the others have been idle for a while).
    std::thread::sleep(Duration::from_millis(400));
    let mut last = UnixStream::connect(&daemon.socket).unwrap();
    last.write_all(b"{\"v\":1,").unwrap();
    last.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let opened = Instant::now();
    let read = std::io::Read::read(&mut last, &mut [0u8; 64]);
    let waited = opened.elapsed();
    assert!(
        matches!(read, Ok(0)) && waited > Duration::from_secs(3) && waited < Duration::from_secs(8),
        "{read:?} after {waited:?}"
    );
    // SAFETY: the pid the daemon reported as its own.
    unsafe { libc::kill(daemon.pid, libc::SIGTERM) };
    wait_until(
        "the daemon to end on SIGTERM",
        Duration::from_secs(10),
        || !alive(daemon.pid),
    );
}

#[test]
fn stop_says_so_when_the_daemon_does_not_exit() {
    let env = TestEnv::new();
    let repo = plain_repo(&env);
    let daemon = start(&repo);
    // SAFETY: the pid the daemon reported as its own; SIGKILL at the end still ends it.
    unsafe { libc::kill(daemon.pid, libc::SIGSTOP) };
    let stop = gh(&repo, &["daemon", "stop", "--timeout", "2s"]);
    assert_eq!(stop.code, 2, "{}", stop.stderr);
    assert!(
        stop.stderr.contains(&format!("pid {}", daemon.pid))
            && stop.stderr.contains("still running"),
        "{}",
        stop.stderr
    );
    assert!(alive(daemon.pid));
}

#[test]
fn a_corrupt_state_database_is_reported_and_kept() {
    let env = TestEnv::new();
    let repo = plain_repo(&env);
    let state = repo.root.join(".git/gatehouse");
    std::fs::create_dir_all(&state).unwrap();
    let garbage = b"this is not a database; ".repeat(400);
    std::fs::write(state.join("state.db"), &garbage).unwrap();
    let status = gh(&repo, &["status", "--format", "json"]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    let copies: Vec<PathBuf> = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("state.db.corrupt-")
        })
        .collect();
    assert_eq!(
        copies.len(),
        1,
        "no copy of the corrupt database: {copies:?}"
    );
    assert_eq!(std::fs::read(&copies[0]).unwrap(), garbage);
    let said = &status.stderr;
    assert!(
        said.contains("state.db")
            && said.contains("corrupt")
            && said.contains(&copies[0].display().to_string())
            && said.to_lowercase().contains("lost"),
        "{said}"
    );
    // The new database works and says nothing more.
    let runs = gh(&repo, &["runs", "list", "--format", "json"]);
    assert_eq!((runs.code, runs.stderr.as_str()), (0, ""));
    assert_eq!(runs.json()["runs"], Value::Array(vec![]));
}

/// A repository with a task whose agent hangs and one whose agent asks the daemon to stop.
fn tasks_repo(env: &TestEnv) -> TestRepo<'_> {
    let repo = env.repo("r");
    let stand_in = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/stand-ins/claude");
    let evil = env.path().join("evil-agent");
    std::fs::write(
        &evil,
        "#!/usr/bin/env python3\nimport os, socket\n\
         s = socket.socket(socket.AF_UNIX)\ns.connect(os.environ['EVIL_SOCKET'])\n\
         s.sendall(b'{\"v\":1,\"cmd\":\"stop\"}\\n')\nanswer = s.makefile().readline()\n\
         open(os.environ['EVIL_OUT'], 'w').write(answer)\n",
    )
    .unwrap();
    std::fs::set_permissions(&evil, std::fs::Permissions::from_mode(0o755)).unwrap();
    let outside = env.path().display().to_string();
    let socket = repo.root.join(".git/gatehouse/daemon.sock");
    let config = format!(
        "[daemon]\nquiet = \"300ms\"\n\
         [agents.hang]\nadapter = \"claude\"\nprogram = \"{}\"\nwritable = [\"{outside}\"]\n\
         env = {{ STANDIN_MODE = \"hang\", STANDIN_PIDFILE = \"{outside}/hang.pids\" }}\n\
         [agents.evil]\nadapter = \"claude\"\nprogram = \"{}\"\nwritable = [\"{outside}\"]\n\
         env = {{ EVIL_SOCKET = \"{}\", EVIL_OUT = \"{outside}/evil.out\" }}\n",
        stand_in.display(),
        evil.display(),
        socket.display(),
    );
    repo.write(".gatehouse/config.toml", config)
        .write("docs/notes.txt", "notes\n");
    for (name, agent) in [("hang", "hang"), ("evil", "evil")] {
        repo.write(
            &format!(".gatehouse/tasks/{name}.toml"),
            format!(
                "kind = \"{name}\"\ngoal = \"Improve the notes.\"\nscope = [\"docs/**\"]\n\
                 agent = \"{agent}\"\ntimeout = \"5m\"\n[[accept]]\nrun = \"true\"\n"
            ),
        );
    }
    repo.commit("base");
    // Their agents' tables set `env` and `writable`: honoured by hand only once trusted.
    for task in ["hang", "evil"] {
        assert_eq!(repo.gatehouse(&["task", "trust", task]).code, 0);
    }
    repo
}

fn runs(repo: &TestRepo<'_>) -> Vec<Value> {
    let out = gh(repo, &["runs", "list", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.json()["runs"].as_array().cloned().unwrap_or_default()
}

/// The processes whose environment carries the run marker of runs that `runner` started.
fn marked_processes(runner: i32) -> Vec<i32> {
    let marker = format!("GATEHOUSE_AGENT_RUN={runner}-");
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            environ
                .split(|b| *b == 0)
                .any(|var| var.starts_with(marker.as_bytes()))
                && alive(*pid)
        })
        .collect()
}

#[test]
fn agents_end_soon_after_a_kill_9_of_the_daemon() {
    let env = TestEnv::new();
    let repo = tasks_repo(&env);
    let daemon = start(&repo);
    assert_eq!(gh(&repo, &["task", "run", "hang"]).code, 0);
    let pidfile = env.path().join("hang.pids");
    wait_until("the agent to hang", Duration::from_secs(30), || {
        std::fs::read_to_string(&pidfile).is_ok_and(|p| p.lines().count() >= 2)
    });
    // The agent and the children it detached (their recorded pids may be in a pid namespace of
    // the sandbox's: found here by the run marker instead).
    let agents = marked_processes(daemon.pid);
    assert!(
        agents.len() >= 3,
        "the agent and its two children: {agents:?}"
    );
    // SAFETY: killing the daemon this test started.
    unsafe { libc::kill(daemon.pid, libc::SIGKILL) };
    let killed = Instant::now();
    wait_until(
        "the agent's processes to end",
        Duration::from_secs(5),
        || agents.iter().all(|p| !alive(*p)),
    );
    eprintln!("agent gone {:?} after the kill", killed.elapsed());
    // Recorded without waiting for the next start.
    wait_until("the run to be interrupted", Duration::from_secs(10), || {
        runs(&repo)
            .first()
            .is_some_and(|r| r["state"] == "interrupted")
    });
}

#[test]
fn state_files_are_private_whatever_the_umask() {
    let env = TestEnv::new();
    let repo = plain_repo(&env);
    let state = repo.root.join(".git/gatehouse");
    // An older gatehouse (or `check`'s cache) left the directory open to everyone.
    std::fs::create_dir(&state).unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o755)).unwrap();
    let _daemon = start(&repo);
    assert_eq!(gh(&repo, &["runs", "list"]).code, 0);
    let mode = |p: &str| {
        std::fs::metadata(state.join(p))
            .unwrap_or_else(|e| panic!("{p}: {e}"))
            .permissions()
            .mode()
            & 0o777
    };
    let modes: Vec<(&str, u32)> = [
        "",
        "logs",
        "state.db",
        "daemon.sock",
        "daemon.lock",
        "logs/daemon.log",
    ]
    .into_iter()
    .map(|p| (p, mode(p)))
    .collect();
    assert_eq!(
        modes,
        vec![
            ("", 0o700),
            ("logs", 0o700),
            ("state.db", 0o600),
            ("daemon.sock", 0o600),
            ("daemon.lock", 0o600),
            ("logs/daemon.log", 0o600),
        ]
    );
    for extra in ["state.db-wal", "state.db-shm"] {
        if state.join(extra).exists() {
            assert_eq!(mode(extra), 0o600, "{extra}");
        }
    }
}

#[test]
fn an_agent_cannot_stop_the_daemon_through_its_socket() {
    let env = TestEnv::new();
    let repo = tasks_repo(&env);
    let daemon = start(&repo);
    assert_eq!(gh(&repo, &["task", "run", "evil"]).code, 0);
    let out = env.path().join("evil.out");
    wait_until("the agent's request", Duration::from_secs(30), || {
        std::fs::read_to_string(&out).is_ok_and(|t| t.ends_with('\n'))
    });
    let answer: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(answer["ok"], false, "{answer}");
    assert_eq!(answer["error"]["code"], "forbidden", "{answer}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(message.contains("agent run"), "{message}");
    std::thread::sleep(Duration::from_millis(500));
    let status = gh(&repo, &["daemon", "status", "--format", "json"]).json();
    assert_eq!(status["running"], true, "{status}");
    assert_eq!(status["pid"], daemon.pid);
}
