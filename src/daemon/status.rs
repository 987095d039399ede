//! The daemon's status document (`daemon status --format json`): stable field names.

use std::path::Path;
use std::sync::atomic::Ordering;

use serde_json::{Value, json};

use super::server::Daemon;
use super::{protocol, quiet, rss_kib};

/// The status of a running daemon, as the `status` request answers it.
pub fn document(daemon: &Daemon, cache_entries: u64, queue: Queue) -> Value {
    let shared = &daemon.shared;
    let idle = shared.idle();
    let operation = quiet::git_operation(&daemon.git_dir);
    let is_quiet = idle >= daemon.settings.quiet && operation.is_none();
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
        "cache_entries": cache_entries,
        "quiet": {
            "quiet": is_quiet,
            "idle_s": idle.as_secs(),
            "quiet_after_s": daemon.settings.quiet.as_secs(),
            "git_operation": operation,
        },
        "events_seen": shared.events_seen.load(Ordering::Relaxed),
        "commits_warmed": shared.warmed.load(Ordering::Relaxed),
        "last_event": shared.last_event(),
        "last_warm": shared.last_warm(),
        "memory_kib": rss_kib(),
    })
}

/// The task queue as the state database has it.
#[derive(Debug, Default)]
pub struct Queue {
    pub queued: usize,
    pub running: Vec<String>,
    pub reviews: usize,
}

/// Reads the queue from the state database (empty when it cannot be read).
pub fn queue(state_dir: &Path) -> Queue {
    use crate::store::runs::RunState;
    let Ok(store) = crate::store::Store::open(state_dir) else {
        return Queue::default();
    };
    let runs = store.runs(&[]).unwrap_or_default();
    Queue {
        queued: runs.iter().filter(|r| r.state == RunState::Queued).count(),
        running: runs
            .iter()
            .filter(|r| r.state.is_active())
            .map(|r| r.id.clone())
            .collect(),
        reviews: runs.iter().filter(|r| r.state == RunState::Ready).count(),
    }
}

/// How many entries the findings cache holds (`cache/<fingerprint>/<xx>/<rest>`).
pub fn count_cache_entries(state_dir: &Path) -> u64 {
    let subdirs = |dir: &Path| -> Vec<std::path::PathBuf> {
        std::fs::read_dir(dir)
            .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default()
    };
    subdirs(&state_dir.join("cache"))
        .iter()
        .flat_map(|fingerprint| subdirs(fingerprint))
        .map(|prefix| subdirs(&prefix).len() as u64)
        .sum()
}
