//! The server: binds the socket, then [`run`] serves clients, watches the repository and
//! refreshes after activity until the shutdown future resolves or a client asks it to stop.
//! Every connection is served on its own task; a bad request gets an error response and
//! never takes the daemon down. Accepting never waits (see `conns`), each
//! request must arrive whole within [`REQUEST_DEADLINE`], and a `stop` from a process of an
//! agent run is refused (see `peer`).

use std::future::Future;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use interprocess::local_socket::tokio::{Listener, Stream};
use interprocess::local_socket::traits::StreamCommon;
use interprocess::local_socket::traits::tokio::Listener as _;
use interprocess::local_socket::{GenericFilePath, ListenerOptions, ToFsName};
use interprocess::os::unix::local_socket::ListenerOptionsExt;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::sync::Semaphore;

use super::conns::{Slot, Table, refuse, respond};
use super::protocol::{self, Command, MAX_REQUEST, ProtocolError, Response};
use super::refresh::Refresher;
use super::watcher::{self, WatchSpec};
use super::{DaemonError, Paths, Shared, current_uid, status};
use crate::config::DaemonSettings;
use crate::git::Repo;

/// Bursts of file events (git writes several files per commit) settle for this long before the
/// refs are read.
const SETTLE: Duration = Duration::from_millis(15);
/// Connections served at once; when full, the longest idle one makes room, or a newcomer is
/// refused (`busy`).
const MAX_CONNECTIONS: usize = 64;
/// A connection idle this long may be closed to make room for a new one (a client sends its
/// request as soon as it is connected).
const EVICT_GRACE: Duration = Duration::from_millis(250);
/// A connection that does not send a whole request within this time is closed.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(5);
/// Refusals (`busy`, `forbidden`) being written at once; beyond that a refused peer is just
/// closed.
const MAX_REFUSALS: usize = 64;

/// Everything the daemon knows about its repository.
#[derive(Debug)]
pub struct Daemon {
    pub paths: Paths,
    /// The working tree, or the common dir of a bare repository.
    pub repository: PathBuf,
    pub git_dir: PathBuf,
    pub settings: DaemonSettings,
    pub shared: Arc<Shared>,
}

impl Daemon {
    pub fn new(repo: &Repo, paths: Paths, settings: DaemonSettings) -> Daemon {
        // Collecting the components drops the trailing slash git2 gives a working tree.
        let repository = repo
            .workdir()
            .unwrap_or_else(|| repo.common_dir())
            .components()
            .collect();
        Daemon {
            paths,
            repository,
            git_dir: repo.git_dir().to_path_buf(),
            settings,
            shared: Arc::new(Shared::new()),
        }
    }

    fn watch_spec(&self) -> WatchSpec {
        WatchSpec {
            common_dir: self.paths.common_dir.clone(),
            git_dir: self.git_dir.clone(),
            state_dir: self.paths.state_dir.clone(),
            extra: self.settings.watch_dirs(&self.repository),
        }
    }
}

/// Binds the socket at `path`, mode 0600. The caller holds the daemon lock, so a socket file
/// already there is a dead daemon's and is replaced.
pub fn bind(path: &Path) -> Result<Listener, DaemonError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(DaemonError::io("cannot remove the stale socket", path)(e));
        }
        _ => {}
    }
    let name = path
        .to_fs_name::<GenericFilePath>()
        .map_err(DaemonError::io("invalid socket path", path))?;
    let listener = ListenerOptions::new()
        .name(name)
        .mode(0o600)
        .create_tokio()
        .map_err(DaemonError::io("cannot listen on", path))?;
    // Belt and braces: the mode must hold whatever the platform did with the umask.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(DaemonError::io("cannot set the mode of", path))?;
    Ok(listener)
}

/// Runs the daemon until `shutdown` resolves or a client sends `stop`.
pub async fn run(
    daemon: Arc<Daemon>,
    listener: Listener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), DaemonError> {
    let watch = watcher::start(&daemon.watch_spec(), daemon.shared.clone())?;
    let (mut watcher, mut late) = (watch.watcher, watch.late);
    daemon.shared.set_watched(watch.watched);
    let refresher = tokio::spawn(refresh_loop(daemon.clone()));
    let running = Arc::new(super::scheduler::Running::default());
    let scheduler = tokio::spawn(schedule_loop(daemon.clone(), running.clone()));
    tracing::info!(socket = %daemon.paths.socket.display(), pid = std::process::id(), "daemon ready");
    let table = Table::new(MAX_CONNECTIONS, EVICT_GRACE);
    let refusals = Arc::new(Semaphore::new(MAX_REFUSALS));
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            () = daemon.shared.stopped() => break,
            Some(dir) = late.recv() => add_watch(&daemon, &mut watcher, dir),
            accepted = listener.accept() => match accepted {
                Ok(stream) => admit(&daemon, &table, &refusals, stream),
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    daemon.shared.stop();
    let _ = scheduler.await;
    // In-flight runs are cancelled (their agents killed) and end recorded as `cancelled`.
    let cancelling = running.clone();
    let _ =
        tokio::task::spawn_blocking(move || cancelling.cancel_all(Duration::from_secs(8))).await;
    if tokio::time::timeout(Duration::from_secs(2), refresher)
        .await
        .is_err()
    {
        // A warm is still running on its blocking thread: it is abandoned (cache entries are
        // written atomically, so nothing is left half-done), and the stop says so.
        tracing::warn!("stopping with a refresh in progress: cancelled");
        let detail = json!({ "pid": std::process::id(), "cancelled": "refresh in progress" });
        let mut recorder = Refresher::new(
            daemon.git_dir.clone(),
            daemon.paths.state_dir.clone(),
            daemon.shared.clone(),
        );
        let _ = tokio::task::spawn_blocking(move || recorder.record("daemon-stop", &detail)).await;
    }
    tracing::info!("daemon stopped");
    Ok(())
}

/// Serves `stream` on a task of its own if the table has (or makes) room, else refuses it.
fn admit(daemon: &Arc<Daemon>, table: &Arc<Table>, refusals: &Arc<Semaphore>, stream: Stream) {
    let Some(slot) = table.admit() else {
        tracing::debug!(
            connections = table.len(),
            "too many connections: refusing one"
        );
        if let Ok(permit) = refusals.clone().try_acquire_owned() {
            tokio::spawn(async move {
                let _ = refuse(stream, &ProtocolError::Busy).await;
                drop(permit);
            });
        }
        return;
    };
    let daemon = daemon.clone();
    tokio::spawn(async move {
        if let Err(e) = serve(&daemon, stream, &slot).await {
            tracing::debug!("connection ended: {e}");
        }
        drop(slot);
    });
}

/// Watches a directory that appeared after the start (recursively).
fn add_watch(daemon: &Daemon, watcher: &mut notify::RecommendedWatcher, dir: PathBuf) {
    use notify::Watcher;
    let mut watched = daemon.shared.watched();
    if watched.contains(&dir) {
        return;
    }
    match watcher.watch(&dir, notify::RecursiveMode::Recursive) {
        Ok(()) => {
            tracing::info!(dir = %dir.display(), "now watching");
            watched.push(dir);
            daemon.shared.set_watched(watched);
        }
        Err(e) => tracing::warn!(dir = %dir.display(), "cannot watch: {e}"),
    }
}

/// Wakes on activity, lets the burst settle, then refreshes on a blocking thread.
async fn refresh_loop(daemon: Arc<Daemon>) {
    let new = || {
        Refresher::new(
            daemon.git_dir.clone(),
            daemon.paths.state_dir.clone(),
            daemon.shared.clone(),
        )
    };
    let mut refresher = new();
    refresher.daemon = Some(daemon.clone());
    let mut baseline = true;
    loop {
        let job = tokio::task::spawn_blocking(move || {
            let result = if baseline {
                refresher.baseline()
            } else {
                refresher.refresh()
            };
            (refresher, result)
        });
        refresher = match job.await {
            Ok((back, Ok(()))) => back,
            Ok((back, Err(e))) => {
                tracing::warn!("refresh failed: {e}");
                back
            }
            Err(e) => {
                tracing::error!("refresh panicked: {e}; starting from a new snapshot");
                new()
            }
        };
        baseline = false;
        tokio::select! {
            () = daemon.shared.stopped() => break,
            () = daemon.shared.wake.notified() => {}
        }
        tokio::time::sleep(SETTLE).await;
    }
    let mut refresher = refresher;
    let detail = json!({ "pid": std::process::id() });
    let _ = tokio::task::spawn_blocking(move || refresher.record("daemon-stop", &detail)).await;
}

/// Recovers interrupted runs, then schedules whenever woken (a queued or ended run, a poke), or
/// when a wait on time (quiet, a due `every` task) is over. Idle, it only waits.
async fn schedule_loop(daemon: Arc<Daemon>, running: Arc<super::scheduler::Running>) {
    let recovering = daemon.clone();
    let _ = tokio::task::spawn_blocking(move || super::scheduler::recover(&recovering)).await;
    loop {
        let (d, r) = (daemon.clone(), running.clone());
        let wait = tokio::task::spawn_blocking(move || super::scheduler::pass(&d, &r))
            .await
            .ok()
            .flatten();
        let sleep = async {
            match wait {
                Some(wait) => tokio::time::sleep(wait).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = daemon.shared.stopped() => break,
            () = daemon.shared.schedule.notified() => {}
            () = sleep => {}
        }
    }
}

/// Serves one connection: checks the peer, then answers request lines until EOF, the request
/// deadline, or the table closing it to make room.
async fn serve(daemon: &Daemon, stream: Stream, slot: &Slot) -> std::io::Result<()> {
    let creds = stream.peer_creds()?;
    let (peer, peer_pid) = (creds.euid(), creds.pid());
    if peer != Some(current_uid()) {
        tracing::warn!(?peer, "refused a connection from another user");
        return refuse(stream, &ProtocolError::Forbidden).await;
    }
    let (recv, mut send) = tokio::io::split(stream);
    let mut reader = BufReader::new(recv);
    let mut line = Vec::new();
    loop {
        slot.waiting();
        line.clear();
        let limit = (MAX_REQUEST + 1) as u64;
        let mut limited = (&mut reader).take(limit);
        let read = tokio::time::timeout(REQUEST_DEADLINE, limited.read_until(b'\n', &mut line));
        let n = tokio::select! {
            read = read => match read {
                Ok(n) => n?,
                // No whole request in time: an idle or a slow peer.
                Err(_) => return Ok(()),
            },
            () = slot.evicted() => return Ok(()),
        };
        slot.working();
        if n == 0 {
            return Ok(());
        }
        if line.last() != Some(&b'\n') && line.len() > MAX_REQUEST {
            // The rest of an oversized line cannot be told from the next request: hang up.
            return respond(&mut send, &Response::error(&ProtocolError::TooLarge)).await;
        }
        let (response, stop) = match protocol::decode(trim_newline(&line)) {
            Ok(request) if request.command == Command::Stop => match from_a_run(peer_pid) {
                Some(why) => {
                    tracing::warn!("refused a stop request: {why}");
                    let refusal = ProtocolError::FromARun {
                        command: "stop",
                        why,
                    };
                    (Response::error(&refusal), false)
                }
                None => (answer(daemon, Command::Stop).await, true),
            },
            Ok(request) => (answer(daemon, request.command).await, false),
            Err(err) => (Response::error(&err), false),
        };
        respond(&mut send, &response).await?;
        if stop {
            // Only after the answer is out: stopping ends this task with the runtime.
            daemon.shared.stop();
            return Ok(());
        }
    }
}

/// Why the peer with this pid may not stop the daemon (it is a process of an agent run).
fn from_a_run(peer_pid: Option<libc::pid_t>) -> Option<String> {
    let pid = u32::try_from(peer_pid?).ok()?;
    super::peer::run_process(pid, std::process::id())
}

fn trim_newline(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

async fn answer(daemon: &Daemon, command: Command) -> Response {
    match command {
        Command::Ping => Response::ok(json!({ "pong": true, "pid": std::process::id() })),
        Command::Status => {
            let state_dir = daemon.paths.state_dir.clone();
            let git_dir = daemon.git_dir.clone();
            let (entries, queue, quiet) = tokio::task::spawn_blocking(move || {
                (
                    status::count_cache_entries(&state_dir),
                    status::queue(&state_dir),
                    status::current_quiet(&git_dir),
                )
            })
            .await
            .unwrap_or_default();
            Response::ok(status::document(daemon, entries, queue, quiet))
        }
        Command::Poke { hook } => {
            tracing::debug!(?hook, "poked");
            // `gatehouse task run` queued a run: look at the queue, without it counting as
            // activity in the repository (which would delay quiet).
            if hook.as_deref() != Some("task-run") {
                daemon.shared.activity();
            }
            daemon.shared.schedule.notify_one();
            Response::ok(json!({ "poked": true }))
        }
        Command::Stop => {
            tracing::info!("stop requested by a client");
            Response::ok(json!({ "stopping": true, "pid": std::process::id() }))
        }
    }
}
