//! The daemon's status document (`daemon status --format json`): stable field names.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{Value, json};

use super::server::Daemon;
use super::{protocol, quiet, rss_kib};

/// The status of a running daemon, as the `status` request answers it. `quiet` is the setting
/// as the configuration has it now ([`current_quiet`]), which the scheduler uses; the one read
/// at start stands in when the configuration cannot be read.
pub fn document(
    daemon: &Daemon,
    cache_entries: u64,
    queue: Queue,
    quiet: Option<Duration>,
) -> Value {
    let shared = &daemon.shared;
    let idle = shared.idle();
    let operation = quiet::git_operation(&daemon.git_dir);
    let quiet_after = quiet.unwrap_or(daemon.settings.quiet);
    let is_quiet = idle >= quiet_after && operation.is_none();
    json!({
        "running": true,
        "pid": std::process::id(),
        "version": env!("CARGO_PKG_VERSION"),
        "protocol": protocol::VERSION,
        "uptime_s": shared.uptime().as_secs(),
        "repository": daemon.repository.display().to_string(),
        "socket": daemon.paths.socket.display().to_string(),
        "log": daemon.paths.log.display().to_string(),
        "watched": shared.watched().iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "queue_length": queue.queued,
        "running_runs": queue.running,
        "reviews_waiting": queue.reviews,
        "state_db": queue.notice,
        "cache_entries": cache_entries,
        "quiet": {
            "quiet": is_quiet,
            "idle_s": idle.as_secs(),
            "quiet_after_s": quiet_after.as_secs(),
            "quiet_after_ms": u64::try_from(quiet_after.as_millis()).unwrap_or(u64::MAX),
            "git_operation": operation,
        },
        "events_seen": shared.events_seen.load(Ordering::Relaxed),
        "commits_warmed": shared.warmed.load(Ordering::Relaxed),
        "last_event": shared.last_event(),
        "last_warm": shared.last_warm(),
        "memory_kib": rss_kib(),
    })
}

/// The `quiet` setting of the repository's configuration as it is now (`None` when it cannot be
/// read: a configuration being edited).
pub fn current_quiet(git_dir: &Path) -> Option<Duration> {
    let repo = crate::git::Repo::open(git_dir).ok()?;
    crate::config::load_for(&repo)
        .ok()
        .map(|settings| settings.daemon.quiet)
}

/// The status as a few lines for a person.
pub fn human(status: &Value) -> String {
    if status["running"] != true {
        if let (Some(pid), Some(error)) = (status["pid"].as_u64(), status["error"].as_str()) {
            return format!("daemon: not answering (pid {pid} holds the lock): {error}\n");
        }
        let why = status["error"]
            .as_str()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default();
        return format!("daemon: not running{why}\n");
    }
    let quiet = &status["quiet"];
    let quiet_line = match quiet["git_operation"].as_str() {
        Some(op) => format!("busy: git operation in progress ({op})"),
        None if quiet["quiet"] == true => format!("quiet (idle {} s)", quiet["idle_s"]),
        None => format!(
            "active (idle {} s of {} s)",
            quiet["idle_s"], quiet["quiet_after_s"]
        ),
    };
    let last = |v: &Value, what: &str| match v.is_null() {
        true => format!("{what}: none yet"),
        false => format!(
            "{what}: {} {}",
            v["time"]
                .as_str()
                .or(v["finished_at"].as_str())
                .unwrap_or(""),
            v["kind"].as_str().or(v["commit"].as_str()).unwrap_or("")
        ),
    };
    let state_db = status["state_db"]
        .as_str()
        .map(|n| format!("state database: {n}\n"))
        .unwrap_or_default();
    format!(
        "daemon: running (pid {}, up {} s, {} KiB)\nrepository: {}\nsocket: {}\nstate: {quiet_line}\nqueue: {} task(s)\ncache: {} entries, {} commit(s) warmed\n{}\n{}\n{state_db}",
        status["pid"],
        status["uptime_s"],
        status["memory_kib"],
        status["repository"].as_str().unwrap_or(""),
        status["socket"].as_str().unwrap_or(""),
        status["queue_length"],
        status["cache_entries"],
        status["commits_warmed"],
        last(&status["last_event"], "last event"),
        last(&status["last_warm"], "last warm"),
    )
}

/// The task queue as the state database has it.
#[derive(Debug, Default)]
pub struct Queue {
    pub queued: usize,
    pub running: Vec<String>,
    pub reviews: usize,
    /// What is wrong with the state database, or that it was replaced after corruption (while
    /// the copy of the corrupt one is still there).
    pub notice: Option<String>,
}

/// Reads the queue from the state database (empty, with a notice, when it cannot be read).
pub fn queue(state_dir: &Path) -> Queue {
    use crate::store::runs::RunState;
    let store = match crate::store::Store::open(state_dir) {
        Ok(store) => store,
        Err(e) => {
            return Queue {
                notice: Some(e.to_string()),
                ..Queue::default()
            };
        }
    };
    let runs = match store.runs(&[]) {
        Ok(runs) => runs,
        Err(e) => {
            return Queue {
                notice: Some(e.to_string()),
                ..Queue::default()
            };
        }
    };
    Queue {
        queued: runs.iter().filter(|r| r.state == RunState::Queued).count(),
        running: runs
            .iter()
            .filter(|r| r.state.is_active())
            .map(|r| r.id.clone())
            .collect(),
        reviews: runs.iter().filter(|r| r.state == RunState::Ready).count(),
        notice: reset_notice(&store),
    }
}

/// "replaced …" while the copy of a corrupt database that was replaced is still there.
fn reset_notice(store: &crate::store::Store) -> Option<String> {
    let (time, detail) = store.last_event(crate::store::STATE_RESET).ok()??;
    let detail: Value = serde_json::from_str(&detail).ok()?;
    let copy = detail["copy"].as_str()?;
    Path::new(copy).exists().then(|| {
        format!(
            "replaced at {time}: it was corrupt ({}); the old one is kept as {copy}",
            detail["reason"].as_str().unwrap_or("?")
        )
    })
}

/// How many entries the findings cache holds.
pub fn count_cache_entries(state_dir: &Path) -> u64 {
    crate::engine::Cache::count(state_dir)
}
