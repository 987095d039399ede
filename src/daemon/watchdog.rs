//! The watchdog: a small process the daemon starts (`gatehouse daemon watchdog`, in a process
//! group of its own) that outlives it. Its stdin is the read end of a pipe whose write end only
//! the daemon holds (close-on-exec, so no agent inherits it), so it reads end-of-file as soon as
//! the daemon's process ends, however it ends — `kill -9` and the OOM killer included. It then
//! kills what the daemon's runs left running (found by their run marker) and records those runs
//! as interrupted, so an agent does not go on unsupervised, with no timeout, until the next
//! start. After a graceful stop there is nothing left to do and it just exits.

use std::io::{PipeWriter, Read};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::DaemonError;
use crate::git::Repo;
use crate::store::Store;
use crate::tasks::queue;

/// How long the watchdog waits for the daemon's process to be gone for good (its pipe closes a
/// moment before it is a zombie) before it records the runs.
const DAEMON_EXIT: Duration = Duration::from_secs(10);

/// The daemon's end of the watchdog: dropping it (or dying) wakes the watchdog.
#[derive(Debug)]
pub struct Watchdog {
    _pipe: PipeWriter,
    child: Child,
}

impl Watchdog {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// Starts the watchdog of this process (the daemon) for the repository at `git_dir`.
pub fn spawn(git_dir: &Path, cwd: &Path) -> Result<Watchdog, DaemonError> {
    let binary =
        std::env::current_exe().map_err(DaemonError::io("cannot locate the binary for", cwd))?;
    let (reader, writer) = std::io::pipe().map_err(DaemonError::io(
        "cannot make a pipe for the watchdog of",
        cwd,
    ))?;
    let mut command = Command::new(&binary);
    command
        .args([
            "daemon",
            "watchdog",
            "--pid",
            &std::process::id().to_string(),
        ])
        .arg("--git-dir")
        .arg(git_dir)
        .current_dir(cwd)
        .stdin(reader)
        .stdout(Stdio::null())
        // Not in the daemon's group: a Ctrl-C or a `kill` of the group must leave it standing.
        .process_group(0);
    for var in crate::env::git_local_vars() {
        command.env_remove(var);
    }
    let child = command
        .spawn()
        .map_err(DaemonError::io("cannot start the watchdog", &binary))?;
    Ok(Watchdog {
        _pipe: writer,
        child,
    })
}

/// The watchdog itself: waits for the daemon `daemon_pid` to end, then cleans up after its runs.
/// Returns what it did, for its log line.
pub fn watch(daemon_pid: u32, git_dir: &Path) -> Option<String> {
    // SAFETY: ignoring signals has no preconditions; a hang-up of the terminal the daemon was
    // started from, or a Ctrl-C meant for it, must not end the watchdog first.
    unsafe {
        libc::signal(libc::SIGHUP, libc::SIG_IGN);
        libc::signal(libc::SIGINT, libc::SIG_IGN);
    }
    let mut stdin = std::io::stdin().lock();
    let mut buf = [0u8; 64];
    loop {
        match stdin.read(&mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    // First what is still running (every second counts), then the records.
    let killed = crate::agents::kill_leftovers(daemon_pid);
    let started = Instant::now();
    while queue::alive(i64::from(daemon_pid)) && started.elapsed() < DAEMON_EXIT {
        std::thread::sleep(Duration::from_millis(20));
    }
    let recovered = Repo::open(git_dir)
        .map_err(|e| e.to_string())
        .and_then(|repo| {
            let store = Store::open(&repo.state_dir()).map_err(|e| e.to_string())?;
            queue::recover(&store, &repo, false).map_err(|e| e.to_string())
        });
    match recovered {
        Ok(ids) if ids.is_empty() && killed == 0 => None,
        Ok(ids) => Some(format!(
            "the daemon (pid {daemon_pid}) ended with runs in flight: killed {killed} \
             process(es) they left; interrupted: {}",
            if ids.is_empty() {
                "none".to_string()
            } else {
                ids.join(", ")
            }
        )),
        Err(e) => Some(format!(
            "the daemon (pid {daemon_pid}) ended: killed {killed} process(es) its runs left, \
             but cannot record its runs as interrupted: {e}"
        )),
    }
}
