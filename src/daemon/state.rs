//! The state the daemon's tasks share: activity (for quiet), the last event, the last cache
//! warm, and the wake-up and stop signals. File-watcher callbacks run on notify's thread, so
//! everything here is thread-safe and never held across an await.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;
use tokio::sync::{Notify, watch};

/// An event the daemon recorded (also in the state database).
#[derive(Debug, Clone, Serialize)]
pub struct EventInfo {
    pub time: String,
    pub kind: String,
    pub detail: Value,
}

/// The last cache warm after a commit.
#[derive(Debug, Clone, Serialize)]
pub struct WarmInfo {
    pub commit: String,
    #[serde(rename = "ref")]
    pub name: String,
    pub files: usize,
    pub parsed: usize,
    pub elapsed_ms: u128,
    pub finished_at: String,
    /// Milliseconds since the Unix epoch, for measuring commit→warm latency.
    pub finished_at_ms: u128,
}

#[derive(Debug, Default)]
struct Inner {
    last_event: Option<EventInfo>,
    last_warm: Option<WarmInfo>,
    watched: Vec<PathBuf>,
}

/// Shared by the server, the refresher and the watcher callback.
#[derive(Debug)]
pub struct Shared {
    inner: Mutex<Inner>,
    /// Wakes the refresher: something changed (a file event or a poke).
    pub wake: Notify,
    /// Wakes the scheduler: a run was queued or ended.
    pub schedule: Notify,
    /// Set when the watcher lost events (queue overflow): the next refresh is a full rescan.
    pub rescan: AtomicBool,
    started: Instant,
    /// Milliseconds since `started` of the last activity.
    last_activity_ms: AtomicU64,
    pub events_seen: AtomicU64,
    pub warmed: AtomicU64,
    stop_tx: watch::Sender<bool>,
}

impl Shared {
    pub fn new() -> Shared {
        Shared {
            inner: Mutex::new(Inner::default()),
            wake: Notify::new(),
            schedule: Notify::new(),
            rescan: AtomicBool::new(false),
            started: Instant::now(),
            last_activity_ms: AtomicU64::new(0),
            events_seen: AtomicU64::new(0),
            warmed: AtomicU64::new(0),
            stop_tx: watch::channel(false).0,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding this lock cannot leave the plain data inconsistent: keep going.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Something happened in the repository: note the time and wake the refresher.
    pub fn activity(&self) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_activity_ms.store(ms, Ordering::Relaxed);
        self.events_seen.fetch_add(1, Ordering::Relaxed);
        self.wake.notify_one();
    }

    /// How long since the last activity (since start when there was none).
    pub fn idle(&self) -> Duration {
        let last = Duration::from_millis(self.last_activity_ms.load(Ordering::Relaxed));
        self.started.elapsed().saturating_sub(last)
    }

    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    pub fn set_event(&self, event: EventInfo) {
        self.lock().last_event = Some(event);
    }

    pub fn last_event(&self) -> Option<EventInfo> {
        self.lock().last_event.clone()
    }

    pub fn set_warm(&self, warm: WarmInfo) {
        self.warmed.fetch_add(1, Ordering::Relaxed);
        self.lock().last_warm = Some(warm);
    }

    pub fn last_warm(&self) -> Option<WarmInfo> {
        self.lock().last_warm.clone()
    }

    pub fn set_watched(&self, paths: Vec<PathBuf>) {
        self.lock().watched = paths;
    }

    pub fn watched(&self) -> Vec<PathBuf> {
        self.lock().watched.clone()
    }

    /// Asks every task of the daemon to stop.
    pub fn stop(&self) {
        self.stop_tx.send_replace(true);
    }

    /// Resolves once [`Shared::stop`] was called (at once if it already was).
    pub async fn stopped(&self) {
        let mut rx = self.stop_tx.subscribe();
        // The sender lives in self, so the channel cannot close while we wait.
        let _ = rx.wait_for(|stop| *stop).await;
    }

    pub fn is_stopping(&self) -> bool {
        *self.stop_tx.borrow()
    }
}

impl Default for Shared {
    fn default() -> Self {
        Shared::new()
    }
}

/// Milliseconds since the Unix epoch.
pub fn epoch_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}
