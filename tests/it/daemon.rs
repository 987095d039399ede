//! The daemon: in-process on a temp socket with a shutdown future (protocol, concurrency,
//! watching, warming, quiet), and end to end through the binary (start, status, stop, kill -9,
//! racing starts, another user, hint hooks, service files).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gatehouse::config::DaemonSettings;
use gatehouse::daemon::protocol::Command;
use gatehouse::daemon::server::{self, Daemon};
use gatehouse::daemon::{Paths, client};
use gatehouse::git::Repo;
use serde_json::Value;

use crate::common::{TestEnv, TestRepo};

/// A daemon served in-process on its repository's socket until the handle is dropped.
struct InProcess {
    paths: Paths,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl InProcess {
    /// Starts the server and waits until it answers (so its watcher is running).
    async fn start(root: &Path, settings: DaemonSettings) -> InProcess {
        let repo = Repo::open(&root.join(".git")).unwrap();
        let paths = Paths::for_repo(&repo, None);
        paths.create_dirs().unwrap();
        let daemon = Arc::new(Daemon::new(&repo, paths.clone(), settings));
        let listener = server::bind(&paths.socket).unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            server::run(daemon, listener, shutdown).await.unwrap();
        });
        let daemon = InProcess {
            paths,
            stop: Some(stop),
            task: Some(task),
        };
        daemon.request(Command::Ping).await;
        daemon
    }

    async fn request(&self, command: Command) -> Value {
        client::request(&self.paths.socket, command, Duration::from_secs(10))
            .await
            .unwrap()
    }

    /// Polls the status until `done` holds (at most 10 s).
    async fn wait_for(&self, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let started = Instant::now();
        loop {
            let status = self.request(Command::Status).await;
            if done(&status) {
                return status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "timed out waiting for {what}: {status}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn shutdown(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.take().unwrap().await.unwrap();
    }
}

fn repo_with_commit(env: &TestEnv) -> TestRepo<'_> {
    let repo = env.repo("r");
    repo.write("a.py", "def f(x):\n    return x\n");
    repo.commit("base");
    repo
}

/// Sends raw bytes on a fresh connection and reads one response line.
fn raw_exchange(socket: &Path, bytes: &[u8]) -> Value {
    let mut stream = UnixStream::connect(socket).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(bytes).unwrap();
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).unwrap();
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
}

#[tokio::test]
async fn serves_status_and_removes_its_socket_on_shutdown() {
    let env = TestEnv::new();
    let repo = repo_with_commit(&env);
    let daemon = InProcess::start(&repo.root, DaemonSettings::default()).await;
    let status = daemon.request(Command::Status).await;
    assert_eq!(status["running"], true);
    assert_eq!(status["pid"], std::process::id());
    assert_eq!(status["protocol"], 1);
    assert_eq!(status["queue_length"], 0);
    for field in [
        "uptime_s",
        "repository",
        "socket",
        "watched",
        "cache_entries",
        "quiet",
        "last_event",
        "memory_kib",
    ] {
        assert!(status.get(field).is_some(), "missing {field}: {status}");
    }
    let watched: Vec<&str> = status["watched"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        watched.iter().any(|p| p.ends_with(".git")) && watched.iter().any(|p| p.ends_with("refs")),
        "{watched:?}"
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&daemon.paths.socket)
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let socket = daemon.paths.socket.clone();
    daemon.shutdown().await;
    assert!(!socket.exists(), "the socket is removed on shutdown");
}

#[tokio::test]
async fn bad_requests_get_errors_and_the_daemon_carries_on() {
    let env = TestEnv::new();
    let repo = repo_with_commit(&env);
    let daemon = InProcess::start(&repo.root, DaemonSettings::default()).await;
    let socket = daemon.paths.socket.clone();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"hello\n".to_vec(), "malformed"),
        (
            b"{\"v\":1,\"cmd\":\"explode\"}\n".to_vec(),
            "unknown-request",
        ),
        (b"{\"v\":99,\"cmd\":\"status\"}\n".to_vec(), "version"),
        (vec![0xff, 0xfe, 0x00, b'\n'], "malformed"),
        (vec![b'{'; 70_000], "too-large"),
    ];
    for (bytes, code) in cases {
        let socket = socket.clone();
        let response = tokio::task::spawn_blocking(move || raw_exchange(&socket, &bytes))
            .await
            .unwrap();
        assert_eq!(response["ok"], false, "{response}");
        assert_eq!(response["error"]["code"], code, "{response}");
        assert_eq!(response["v"], 1);
    }
    // Several requests on one connection, one of them bad.
    let socket2 = socket.clone();
    let lines = tokio::task::spawn_blocking(move || {
        let mut stream = UnixStream::connect(&socket2).unwrap();
        stream
            .write_all(b"{\"v\":1,\"cmd\":\"ping\"}\nnope\n{\"v\":1,\"cmd\":\"ping\"}\n")
            .unwrap();
        let reader = BufReader::new(stream);
        reader
            .lines()
            .take(3)
            .map(|l| serde_json::from_str::<Value>(&l.unwrap()).unwrap()["ok"].clone())
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    assert_eq!(
        lines,
        vec![Value::Bool(true), Value::Bool(false), Value::Bool(true)]
    );
    assert_eq!(daemon.request(Command::Ping).await["pong"], true);
    daemon.shutdown().await;
}

#[tokio::test]
async fn random_bytes_on_the_wire_get_error_responses() {
    let env = TestEnv::new();
    let repo = repo_with_commit(&env);
    let daemon = InProcess::start(&repo.root, DaemonSettings::default()).await;
    let socket = daemon.paths.socket.clone();
    let answers = tokio::task::spawn_blocking(move || {
        let mut stream = UnixStream::connect(&socket).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut codes = Vec::new();
        for _ in 0..500 {
            let len = (next() % 300) as usize;
            let mut line: Vec<u8> = (0..len)
                .map(|_| next() as u8)
                .filter(|b| *b != b'\n')
                .collect();
            line.push(b'\n');
            stream.write_all(&line).unwrap();
            let mut answer = String::new();
            reader.read_line(&mut answer).unwrap();
            let answer: Value = serde_json::from_str(&answer).unwrap();
            codes.push((answer["ok"].clone(), answer["error"]["code"].clone()));
        }
        codes
    })
    .await
    .unwrap();
    assert_eq!(answers.len(), 500);
    assert!(
        answers
            .iter()
            .all(|(ok, code)| *ok == false && code.is_string()),
        "{answers:?}"
    );
    assert_eq!(daemon.request(Command::Ping).await["pong"], true);
    daemon.shutdown().await;
}

#[tokio::test]
async fn serves_many_clients_at_once() {
    let env = TestEnv::new();
    let repo = repo_with_commit(&env);
    let daemon = InProcess::start(&repo.root, DaemonSettings::default()).await;
    let mut clients = Vec::new();
    for i in 0..100 {
        let socket = daemon.paths.socket.clone();
        let command = if i % 2 == 0 {
            Command::Status
        } else {
            Command::Ping
        };
        clients.push(tokio::spawn(async move {
            client::request(&socket, command, Duration::from_secs(20)).await
        }));
    }
    for client in clients {
        client.await.unwrap().unwrap();
    }
    daemon.shutdown().await;
}

#[tokio::test]
async fn learns_what_happened_and_warms_the_cache_after_a_commit() {
    let env = TestEnv::new();
    let repo = repo_with_commit(&env);
    let daemon = InProcess::start(&repo.root, DaemonSettings::default()).await;
    repo.write("b.py", "def g(y):\n    return y\n");
    let tip = repo.commit("second");
    let status = daemon
        .wait_for("the warm of the new commit", |s| {
            s["last_warm"]["commit"] == tip.as_str()
        })
        .await;
    assert_eq!(status["last_warm"]["ref"], "refs/heads/main");
    assert_eq!(
        status["last_warm"]["files"], 1,
        "only the changed file: {status}"
    );
    assert_eq!(status["last_warm"]["parsed"], 1, "{status}");
    assert_eq!(status["commits_warmed"], 1);
    // What a push of the commit checks is now answered from the cache alone.
    let check = repo.gatehouse(&["check", "--range", "HEAD~1..HEAD", "--stats"]);
    assert!(
        check
            .stderr
            .contains("1 files checked: 0 parsed, 1 from cache"),
        "{}",
        check.stderr
    );
    repo.git(&["reset", "-q", "--hard", "HEAD~1"]);
    daemon
        .wait_for("the reset", |s| s["last_event"]["kind"] == "reset")
        .await;
    repo.git(&["checkout", "-q", "-b", "topic"]);
    daemon
        .wait_for("the new branch", |s| {
            s["last_event"]["kind"] == "branch-created"
        })
        .await;
    let status = daemon.request(Command::Status).await;
    assert_eq!(
        status["commits_warmed"], 1,
        "a reset or a new branch brings nothing to warm"
    );
    daemon.shutdown().await;
    // Everything was recorded in the state database, the daemon's stop included.
    let conn = rusqlite::Connection::open(repo.root.join(".git/gatehouse/state.db")).unwrap();
    let mut stmt = conn.prepare("SELECT kind FROM events ORDER BY id").unwrap();
    let kinds: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for kind in [
        "commit",
        "reset",
        "checkout",
        "branch-created",
        "daemon-stop",
    ] {
        assert!(
            kinds.iter().any(|k| k == kind),
            "no {kind} event in {kinds:?}"
        );
    }
}

#[tokio::test]
async fn quiet_after_the_configured_time_and_not_during_a_git_operation() {
    let env = TestEnv::new();
    let repo = repo_with_commit(&env);
    // The status shows the setting as the configuration has it now, which the scheduler uses.
    repo.write(".gatehouse/config.toml", "[daemon]\nquiet = \"1500ms\"\n");
    let settings = DaemonSettings {
        quiet: Duration::from_millis(1500),
        ..DaemonSettings::default()
    };
    let daemon = InProcess::start(&repo.root, settings).await;
    repo.write("c.py", "c = 1\n");
    repo.commit("activity");
    daemon
        .wait_for("activity", |s| s["last_event"]["kind"] == "commit")
        .await;
    assert_eq!(
        daemon.request(Command::Status).await["quiet"]["quiet"],
        false
    );
    daemon
        .wait_for("quiet", |s| s["quiet"]["quiet"] == true)
        .await;
    std::fs::write(repo.root.join(".git/MERGE_HEAD"), "0000\n").unwrap();
    let status = daemon
        .wait_for("the merge in progress", |s| {
            s["quiet"]["git_operation"] == "merge"
        })
        .await;
    assert_eq!(status["quiet"]["quiet"], false);
    std::fs::remove_file(repo.root.join(".git/MERGE_HEAD")).unwrap();
    daemon.shutdown().await;
}

#[tokio::test]
async fn a_poke_and_a_stop_request() {
    let env = TestEnv::new();
    let repo = repo_with_commit(&env);
    let daemon = InProcess::start(&repo.root, DaemonSettings::default()).await;
    let before = daemon.request(Command::Status).await["events_seen"]
        .as_u64()
        .unwrap();
    let poke = Command::Poke {
        hook: Some("post-commit".into()),
    };
    assert_eq!(daemon.request(poke).await["poked"], true);
    let after = daemon.request(Command::Status).await["events_seen"]
        .as_u64()
        .unwrap();
    assert!(after > before);
    assert_eq!(daemon.request(Command::Stop).await["stopping"], true);
    // The server stops by itself; the shutdown future is never needed.
    let mut daemon = daemon;
    tokio::time::timeout(Duration::from_secs(10), daemon.task.take().unwrap())
        .await
        .unwrap()
        .unwrap();
}

mod binary;
