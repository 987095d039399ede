//! The file watcher: `.git` itself (not recursively: HEAD, packed-refs, index, the markers of an
//! operation in progress), `.git/refs` and `.git/worktrees` recursively, and any extra paths
//! from config. Events only say "something changed"; what changed is learnt from the refs.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc::UnboundedReceiver;

use super::{DaemonError, Shared};

/// What to watch for one repository.
#[derive(Debug, Clone)]
pub struct WatchSpec {
    pub common_dir: PathBuf,
    /// This worktree's git dir when it differs from the common dir.
    pub git_dir: PathBuf,
    /// The daemon's own directory (`<common>/gatehouse`): its writes are not activity.
    pub state_dir: PathBuf,
    /// Extra directories, watched recursively.
    pub extra: Vec<PathBuf>,
}

impl WatchSpec {
    /// The (path, recursive) pairs that exist now.
    fn targets(&self) -> Vec<(PathBuf, RecursiveMode)> {
        let mut targets = vec![
            (self.common_dir.clone(), RecursiveMode::NonRecursive),
            (self.common_dir.join("refs"), RecursiveMode::Recursive),
            (self.common_dir.join("worktrees"), RecursiveMode::Recursive),
        ];
        if self.git_dir != self.common_dir {
            targets.push((self.git_dir.clone(), RecursiveMode::NonRecursive));
        }
        targets.extend(
            self.extra
                .iter()
                .map(|p| (p.clone(), RecursiveMode::Recursive)),
        );
        targets.retain(|(path, _)| path.exists());
        targets
    }
}

/// A started watcher (keep it alive), what it watches, and the directories that appeared later
/// and need a watch of their own (`.git/worktrees`, created by the first `git worktree add`).
pub struct Started {
    pub watcher: RecommendedWatcher,
    pub watched: Vec<PathBuf>,
    pub late: UnboundedReceiver<PathBuf>,
}

/// Starts watching.
pub fn start(spec: &WatchSpec, shared: Arc<Shared>) -> Result<Started, DaemonError> {
    let state_dir = spec.state_dir.clone();
    let worktrees = spec.common_dir.join("worktrees");
    let (late_tx, late) = tokio::sync::mpsc::unbounded_channel();
    let handler = move |result: notify::Result<Event>| match result {
        Ok(event) if event.need_rescan() => {
            shared.rescan.store(true, Ordering::Relaxed);
            shared.activity();
        }
        Ok(event) => {
            if matches!(event.kind, EventKind::Create(_)) && event.paths.contains(&worktrees) {
                let _ = late_tx.send(worktrees.clone());
            }
            if counts(&event, &state_dir) {
                shared.activity();
            }
        }
        // A watcher error may mean lost events: look at everything again.
        Err(_) => {
            shared.rescan.store(true, Ordering::Relaxed);
            shared.activity();
        }
    };
    let mut watcher =
        notify::recommended_watcher(handler).map_err(|source| DaemonError::Watch {
            path: spec.common_dir.clone(),
            source,
        })?;
    let mut watched = Vec::new();
    for (path, mode) in spec.targets() {
        watcher
            .watch(&path, mode)
            .map_err(|source| DaemonError::Watch {
                path: path.clone(),
                source,
            })?;
        watched.push(path);
    }
    Ok(Started {
        watcher,
        watched,
        late,
    })
}

/// Whether an event is activity: reads (including the daemon's own) and the daemon's own
/// directory are not.
fn counts(event: &Event, state_dir: &Path) -> bool {
    if matches!(event.kind, EventKind::Access(_)) {
        return false;
    }
    event.paths.is_empty() || event.paths.iter().any(|p| !p.starts_with(state_dir))
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{AccessKind, CreateKind, Flag};

    #[test]
    fn reads_and_own_files_are_not_activity() {
        let state = Path::new("/r/.git/gatehouse");
        let event = |kind, path: &str| Event::new(kind).add_path(PathBuf::from(path));
        let create = EventKind::Create(CreateKind::File);
        assert!(counts(&event(create, "/r/.git/refs/heads/main"), state));
        assert!(!counts(
            &event(create, "/r/.git/gatehouse/state.db-wal"),
            state
        ));
        assert!(!counts(&event(create, "/r/.git/gatehouse"), state));
        let open = EventKind::Access(AccessKind::Open(notify::event::AccessMode::Any));
        assert!(!counts(&event(open, "/r/.git/HEAD"), state));
        let rescan = Event::new(EventKind::Other).set_flag(Flag::Rescan);
        assert!(rescan.need_rescan());
    }
}
