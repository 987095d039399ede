//! The refresher: after activity, re-reads the refs, diffs them against the last snapshot,
//! records what happened, and warms the findings cache for every branch that gained commits.
//! It runs on a blocking thread (git2 and the engine are synchronous); a failure is logged and
//! the next activity tries again.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use git2::Oid;
use serde_json::json;

use super::Shared;
use super::refs::{Change, Snapshot};
use super::state::{EventInfo, WarmInfo, epoch_ms};
use crate::config::{self, LoadError, Scope};
use crate::engine::{self, EngineError, Request, Target};
use crate::git::{GitError, Repo};
use crate::store::{self, Store};

/// Errors of one refresh; none of them stops the daemon.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error(transparent)]
    Git(#[from] GitError),
    #[error("loading the configuration: {0}")]
    Config(#[from] LoadError),
    #[error("warming the cache: {0}")]
    Engine(#[from] EngineError),
}

/// Hands the memory a warm used (parse trees, blobs, per-thread arenas) back to the system, so
/// a daemon that sits idle for weeks stays small.
fn release_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the kernel; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Whether `name` is the branch HEAD points to.
fn is_current_branch(repo: &Repo, name: &str) -> bool {
    repo.git2()
        .find_reference("HEAD")
        .ok()
        .and_then(|h| h.symbolic_target().ok().flatten().map(str::to_string))
        .as_deref()
        == Some(name)
}

/// Re-reads refs and acts on what changed; owns the last snapshot.
pub struct Refresher {
    git_dir: PathBuf,
    state_dir: PathBuf,
    shared: Arc<Shared>,
    last: Option<Snapshot>,
    store: Option<Store>,
    /// The daemon, to queue the tasks a commit triggers (absent in tests of the refresher).
    pub daemon: Option<std::sync::Arc<super::server::Daemon>>,
}

impl Refresher {
    pub fn new(git_dir: PathBuf, state_dir: PathBuf, shared: Arc<Shared>) -> Refresher {
        Refresher {
            git_dir,
            state_dir,
            shared,
            last: None,
            store: None,
            daemon: None,
        }
    }

    /// Takes the first snapshot, so later diffs report only what happens from now on.
    pub fn baseline(&mut self) -> Result<(), RefreshError> {
        let repo = Repo::open(&self.git_dir)?;
        self.last = Some(Snapshot::read(repo.git2())?);
        self.record("daemon-start", &json!({ "pid": std::process::id() }));
        Ok(())
    }

    /// One refresh: snapshot, diff, record, warm.
    pub fn refresh(&mut self) -> Result<(), RefreshError> {
        let repo = Repo::open(&self.git_dir)?;
        let now = Snapshot::read(repo.git2())?;
        if self.shared.rescan.swap(false, Ordering::Relaxed) {
            tracing::info!("events were lost (queue overflow): full rescan of the refs");
            self.record("rescan", &json!({}));
        }
        let Some(last) = self.last.replace(now.clone()) else {
            return Ok(());
        };
        for change in last.diff(&now, repo.git2()) {
            tracing::info!(kind = change.kind, r#ref = %change.name, "ref change");
            self.record(
                change.kind,
                &serde_json::to_value(&change).unwrap_or_default(),
            );
            if self.shared.is_stopping() {
                continue;
            }
            if let (Some(base), Some(tip)) = (change.warm_base, change.new) {
                // A failed warm only costs the hook a cold check; the trigger must still fire.
                if let Err(e) = self.warm(&repo, &change, base, tip) {
                    tracing::warn!(commit = %tip, "cache warm failed: {e}");
                }
                if matches!(change.kind, "commit" | "merge")
                    && is_current_branch(&repo, &change.name)
                    && let Some(daemon) = &self.daemon
                {
                    super::scheduler::on_commit(daemon, &repo, tip, base);
                }
            }
        }
        release_memory();
        Ok(())
    }

    fn warm(
        &mut self,
        repo: &Repo,
        change: &Change,
        base: Option<Oid>,
        tip: Oid,
    ) -> Result<(), RefreshError> {
        let started = Instant::now();
        let settings = config::load_for(repo)?;
        let request = Request {
            target: Target::Commits { base, tip },
            scope: Scope::ChangedFiles,
            rules: Vec::new(),
            level_at_least: None,
            use_cache: true,
        };
        let report = engine::run(repo, &settings, &request)?;
        let elapsed_ms = started.elapsed().as_millis();
        tracing::info!(
            commit = %tip,
            files = report.stats.files_checked,
            parsed = report.stats.parsed,
            elapsed_ms,
            "cache warm"
        );
        self.shared.set_warm(WarmInfo {
            commit: tip.to_string(),
            name: change.name.clone(),
            files: report.stats.files_checked,
            parsed: report.stats.parsed,
            elapsed_ms,
            finished_at: store::now(),
            finished_at_ms: epoch_ms(),
        });
        Ok(())
    }

    /// Records an event in the state database and as the daemon's last event. A database that
    /// cannot be written is logged, not fatal: the daemon's job goes on.
    pub fn record(&mut self, kind: &str, detail: &serde_json::Value) {
        self.shared.set_event(EventInfo {
            time: store::now(),
            kind: kind.to_string(),
            detail: detail.clone(),
        });
        if self.store.is_none() {
            match Store::open(&self.state_dir) {
                Ok(store) => self.store = Some(store),
                Err(e) => tracing::warn!("cannot record the {kind} event: {e}"),
            }
        }
        if let Some(store) = &self.store
            && let Err(e) = store.record_event(kind, &detail.to_string())
        {
            tracing::warn!("cannot record the {kind} event: {e}");
            self.store = None;
        }
    }
}
