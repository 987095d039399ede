//! The daemon through the real binary: detaching, one daemon per repository, recovery after
//! `kill -9`, racing starts, another user's connection, hint hooks and service files.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::common::{TestEnv, TestRepo};

/// Stops the repository's daemon when the test ends, however it ends.
struct Running<'r, 'e> {
    repo: &'r TestRepo<'e>,
}

impl Drop for Running<'_, '_> {
    fn drop(&mut self) {
        let status = self
            .repo
            .gatehouse(&["daemon", "status", "--format", "json"]);
        if let Some(pid) = serde_json::from_str::<Value>(&status.stdout)
            .ok()
            .and_then(|s| s["pid"].as_i64())
        {
            // SAFETY: signalling a pid the daemon reported as its own.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
    }
}

fn start<'r, 'e>(repo: &'r TestRepo<'e>) -> (Running<'r, 'e>, Value) {
    let run = repo.gatehouse(&["daemon", "start"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let status = status(repo);
    assert_eq!(status["running"], true, "{status}");
    (Running { repo }, status)
}

fn status(repo: &TestRepo<'_>) -> Value {
    let run = repo.gatehouse(&["daemon", "status", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.json()
}

fn setup(env: &TestEnv) -> TestRepo<'_> {
    let repo = env.repo("r");
    repo.write("a.py", "a = 1\n");
    repo.commit("base");
    repo
}

fn alive(pid: i64) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "))
}

/// The pids of running `gatehouse daemon run` processes whose working directory is `root`.
fn daemons_in(root: &Path) -> Vec<i64> {
    let root = root.canonicalize().unwrap();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<i64>().ok())
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).ok();
            cmdline.windows(11).any(|w| w == b"daemon\0run\0")
                && cwd.as_deref() == Some(root.as_path())
                && alive(*pid)
        })
        .collect()
}

#[test]
fn start_status_stop_and_a_second_start() {
    let env = TestEnv::new();
    let repo = setup(&env);
    let (_guard, first) = start(&repo);
    assert_eq!(
        first["socket"],
        repo.root
            .canonicalize()
            .unwrap()
            .join(".git/gatehouse/daemon.sock")
            .display()
            .to_string()
    );
    let again = repo.gatehouse(&["daemon", "start"]);
    assert_eq!(again.code, 0);
    assert!(again.stderr.contains("already running"), "{}", again.stderr);
    assert_eq!(status(&repo)["pid"], first["pid"]);
    let human = repo.gatehouse(&["daemon", "status"]);
    assert!(human.stdout.contains("daemon: running"), "{}", human.stdout);
    let stop = repo.gatehouse(&["daemon", "stop"]);
    assert_eq!(stop.code, 0, "{}", stop.stderr);
    let after = status(&repo);
    assert_eq!(after["running"], false);
    assert!(!alive(first["pid"].as_i64().unwrap()));
    assert!(!repo.root.join(".git/gatehouse/daemon.sock").exists());
    let logs = repo.gatehouse(&["daemon", "logs"]);
    assert!(
        logs.stdout.contains("daemon ready") && logs.stdout.contains("daemon stopped"),
        "{}",
        logs.stdout
    );
    assert_eq!(
        repo.gatehouse(&["daemon", "stop"]).code,
        0,
        "stopping a stopped daemon is fine"
    );
}

#[test]
fn comes_back_after_kill_9_at_random_moments() {
    let env = TestEnv::new();
    let repo = setup(&env);
    let (_guard, mut status_now) = start(&repo);
    for round in 0..4u64 {
        let pid = status_now["pid"].as_i64().unwrap();
        repo.write(&format!("f{round}.py"), "x = 1\n");
        repo.commit(&format!("round {round}"));
        // A different moment each round: right away, or while it may be warming.
        std::thread::sleep(Duration::from_millis(round * 7 % 20));
        // SAFETY: the pid the daemon reported as its own.
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        while alive(pid) {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(status(&repo)["running"], false);
        let (guard, next) = start(&repo);
        std::mem::forget(guard); // the first guard stops whichever daemon runs at the end
        assert_ne!(next["pid"], status_now["pid"]);
        assert_eq!(next["queue_length"], 0);
        assert_eq!(
            daemons_in(&repo.root).len(),
            1,
            "exactly one daemon after round {round}"
        );
        status_now = next;
    }
}

#[test]
fn two_starts_at_once_make_exactly_one_daemon() {
    let env = TestEnv::new();
    let repo = setup(&env);
    let spawn = || {
        env.command(env!("CARGO_BIN_EXE_gatehouse"), &repo.root)
            .args(["daemon", "start"])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let _guard = Running { repo: &repo };
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    let pid = status(&repo)["pid"].as_i64().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(daemons_in(&repo.root), vec![pid]);
}

#[test]
fn another_users_connection_is_refused() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 || !Path::new("/usr/bin/python3").exists() {
        eprintln!("skipped: needs root (to run a client as nobody) and /usr/bin/python3");
        return;
    }
    let env = TestEnv::new();
    let repo = setup(&env);
    let (_guard, status_now) = start(&repo);
    let socket = status_now["socket"].as_str().unwrap().to_string();
    // Open the way for nobody, so that only the daemon's peer check stands in the way. The
    // daemon narrows its state directory back to 0700 whenever it opens its database, so the
    // way is opened again before each attempt until one connects.
    use std::os::unix::fs::PermissionsExt;
    let open_the_way = || {
        let mut dir = Path::new(&socket).parent();
        while let Some(d) = dir {
            let mode = std::fs::metadata(d).unwrap().permissions().mode();
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(mode | 0o011)).unwrap();
            dir = d.parent();
        }
        std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    };
    let script = "import socket,sys\ns=socket.socket(socket.AF_UNIX)\ns.connect(sys.argv[1])\n\
                  s.sendall(b'{\"v\":1,\"cmd\":\"status\"}\\n')\nprint(s.makefile().readline(),end='')\n";
    let mut attempts = 0;
    let out = loop {
        open_the_way();
        let out = std::process::Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "/usr/bin/python3",
                "-c",
                script,
                &socket,
            ])
            .output()
            .unwrap();
        attempts += 1;
        let refused_by_the_filesystem = String::from_utf8_lossy(&out.stderr).contains("Errno 13");
        if !refused_by_the_filesystem || attempts == 20 {
            break out;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let response: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(response["ok"], false, "{response}");
    assert_eq!(response["error"]["code"], "forbidden");
    assert_eq!(status(&repo)["running"], true, "the daemon carries on");
}

#[test]
fn hint_hooks_only_when_enabled_and_they_never_fail() {
    let env = TestEnv::new();
    let repo = setup(&env);
    assert_eq!(repo.gatehouse(&["install"]).code, 0);
    assert!(!repo.root.join(".git/hooks/post-commit").exists());
    repo.write(".gatehouse/config.toml", "[daemon]\nenabled = true\n");
    assert_eq!(repo.gatehouse(&["install"]).code, 0);
    for hook in ["post-commit", "post-rewrite", "post-checkout", "post-merge"] {
        assert!(repo.root.join(".git/hooks").join(hook).exists(), "{hook}");
    }
    // No daemon: the hint hooks pass silently.
    repo.write("b.py", "b = 1\n");
    repo.commit("no daemon");
    let hint = repo.gatehouse(&["hook", "post-commit"]);
    assert_eq!((hint.code, hint.stderr.as_str()), (0, ""));
    let (_guard, _) = start(&repo);
    repo.write("c.py", "c = 1\n");
    let tip = repo.commit("with daemon");
    let mut warmed = Value::Null;
    for _ in 0..250 {
        warmed = status(&repo)["last_warm"]["commit"].clone();
        if warmed == tip.as_str() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(warmed, tip.as_str());
    let overview = repo.gatehouse(&["status", "--format", "json"]).json();
    assert_eq!(overview["daemon"]["running"], true);
    let hooks = overview["hooks"]["hooks"].as_array().unwrap();
    assert!(
        hooks
            .iter()
            .any(|h| h["name"] == "post-commit" && h["state"] == "installed"),
        "{hooks:?}"
    );
    assert_eq!(overview["queue"]["length"], 0);
    assert_eq!(repo.gatehouse(&["uninstall"]).code, 0);
    assert!(!repo.root.join(".git/hooks/post-commit").exists());
}

#[test]
fn install_service_writes_the_unit_and_uninstall_removes_it() {
    let env = TestEnv::new();
    let repo = setup(&env);
    for (manager, dir) in [
        ("systemd", ".config/systemd/user"),
        ("launchd", "Library/LaunchAgents"),
    ] {
        let run = repo.gatehouse(&["daemon", "install-service", "--manager", manager]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let path = Path::new(run.stdout.trim());
        assert!(
            path.starts_with(env.path().join("home").join(dir)),
            "{path:?}"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let root = repo.root.canonicalize().unwrap().display().to_string();
        assert!(text.contains(&root), "{text}");
        assert!(text.contains(env!("CARGO_BIN_EXE_gatehouse")), "{text}");
        assert!(
            text.contains("daemon") && text.contains("run") && !text.contains('@'),
            "{text}"
        );
        assert_eq!(
            repo.gatehouse(&["daemon", "uninstall-service", "--manager", manager])
                .code,
            0
        );
        assert!(!path.exists());
    }
}

#[test]
fn a_config_error_is_reported_by_start() {
    let env = TestEnv::new();
    let repo = setup(&env);
    repo.write(".gatehouse/config.toml", "[daemon]\nquiet = \"soon\"\n");
    let run = repo.gatehouse(&["daemon", "start"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains(".gatehouse/config.toml:2:9"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_socket_path_too_long_falls_back_to_a_private_directory() {
    let env = TestEnv::new();
    let deep = format!("{}/{}", "d".repeat(60), "e".repeat(60));
    let repo = env.repo(&deep);
    repo.write("a.py", "a = 1\n");
    repo.commit("base");
    let (_guard, status_now) = start(&repo);
    let socket = status_now["socket"].as_str().unwrap();
    // SAFETY: getuid has no preconditions.
    let uid = unsafe { libc::getuid() };
    assert!(
        socket.starts_with(&format!("/tmp/gatehouse-{uid}/")),
        "{socket}"
    );
    assert!(socket.len() <= 100);
    use std::os::unix::fs::PermissionsExt;
    let dir = std::fs::metadata(Path::new(socket).parent().unwrap()).unwrap();
    assert_eq!(dir.permissions().mode() & 0o777, 0o700);
    assert_eq!(repo.gatehouse(&["daemon", "stop"]).code, 0);
    assert!(!Path::new(socket).exists());
}

#[test]
fn a_linked_worktree_finds_the_same_daemon_which_then_watches_worktrees() {
    let env = TestEnv::new();
    let repo = setup(&env);
    let (_guard, first) = start(&repo);
    let linked = env.path().join("linked");
    repo.git(&["worktree", "add", "-q", linked.to_str().unwrap()]);
    let from_linked = repo.gatehouse_in(&linked, &["daemon", "status", "--format", "json"]);
    let linked_status = from_linked.json();
    assert_eq!(
        linked_status["pid"], first["pid"],
        "one daemon per repository, not per worktree"
    );
    let mut watched = Value::Null;
    for _ in 0..250 {
        watched = status(&repo)["watched"].clone();
        if watched
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p.as_str().unwrap().ends_with("worktrees"))
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!(".git/worktrees is not watched: {watched}");
}
