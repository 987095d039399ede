//! The daemon: one long-running process per repository that watches `.git`, learns from ref
//! changes what happened, keeps the findings cache warm after each commit, and answers a local
//! socket (see [`protocol`]). [`server::run`] is the whole daemon given a bound listener and a
//! shutdown future, so tests run it in-process.

pub mod client;
mod conns;
pub mod lock;
pub mod logs;
mod peer;
pub mod protocol;
pub mod quiet;
mod refresh;
pub mod refs;
pub mod scheduler;
pub mod server;
pub mod service;
mod state;
pub mod status;
pub mod watchdog;
mod watcher;

use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

pub use state::Shared;

use crate::git::{self, GitError, Repo};

/// Unix sockets paths longer than this do not fit `sockaddr_un` on every platform (macOS: 104).
pub const MAX_SOCKET_PATH: usize = 100;

/// Errors of the daemon and its client.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("{context} {}: {source}", path.display())]
    Io {
        context: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a private directory of this user (owner uid {uid}, mode {mode:o}); remove it", path.display())]
    UnsafeDir { path: PathBuf, uid: u32, mode: u32 },
    #[error("a daemon is already running for this repository{}", pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    AlreadyRunning { pid: Option<u32> },
    #[error("no daemon is running for this repository (socket {})", socket.display())]
    NotRunning { socket: PathBuf },
    #[error("the daemon did not answer within {millis} ms (socket {})", socket.display())]
    Timeout { socket: PathBuf, millis: u128 },
    #[error("the daemon refused the request: {code}: {message}")]
    Refused { code: String, message: String },
    #[error("the daemon's answer is not a protocol response: {0}")]
    BadResponse(String),
    #[error("cannot watch {}: {source}", path.display())]
    Watch {
        path: PathBuf,
        source: notify::Error,
    },
    #[error(transparent)]
    Git(#[from] GitError),
}

impl DaemonError {
    pub(crate) fn io(context: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.to_path_buf();
        move |source| DaemonError::Io {
            context,
            path,
            source,
        }
    }
}

/// Where a repository's daemon keeps its lock, socket and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// The repository's git common dir.
    pub common_dir: PathBuf,
    /// `<git-common-dir>/gatehouse`.
    pub state_dir: PathBuf,
    pub lock: PathBuf,
    pub socket: PathBuf,
    pub log_dir: PathBuf,
    pub log: PathBuf,
}

impl Paths {
    /// The paths of `repo`'s daemon. The socket is `<state>/daemon.sock` unless that is longer
    /// than [`MAX_SOCKET_PATH`]; then `<runtime_dir>/gatehouse/<hash>.sock`, or without a
    /// runtime dir (`$XDG_RUNTIME_DIR`) `/tmp/gatehouse-<uid>/<hash>.sock`.
    pub fn for_repo(repo: &Repo, runtime_dir: Option<&Path>) -> Paths {
        let common_dir = repo.common_dir().to_path_buf();
        let common_dir = common_dir.canonicalize().unwrap_or(common_dir);
        Paths::for_common_dir(&common_dir, runtime_dir)
    }

    pub fn for_common_dir(common_dir: &Path, runtime_dir: Option<&Path>) -> Paths {
        let state_dir = common_dir.join("gatehouse");
        let mut socket = state_dir.join("daemon.sock");
        if socket.as_os_str().len() > MAX_SOCKET_PATH {
            let hash = git::hash_blob(common_dir.as_os_str().as_encoded_bytes()).to_string();
            let dir = match runtime_dir {
                Some(dir) => dir.join("gatehouse"),
                None => PathBuf::from(format!("/tmp/gatehouse-{}", current_uid())),
            };
            socket = dir.join(format!("{}.sock", &hash[..16]));
        }
        let log_dir = state_dir.join("logs");
        Paths {
            common_dir: common_dir.to_path_buf(),
            lock: state_dir.join("daemon.lock"),
            log: log_dir.join("daemon.log"),
            log_dir,
            socket,
            state_dir,
        }
    }

    /// Creates the state, log and socket directories, 0700 whatever the umask (existing ones
    /// are narrowed); a socket directory outside the state directory must be private to this
    /// user already (it may be in a shared `/tmp`).
    pub fn create_dirs(&self) -> Result<(), DaemonError> {
        for dir in [&self.state_dir, &self.log_dir] {
            crate::store::files::private_dir(dir).map_err(DaemonError::io("cannot create", dir))?;
        }
        let Some(socket_dir) = self.socket.parent() else {
            return Ok(());
        };
        if socket_dir == self.state_dir {
            return Ok(());
        }
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(socket_dir)
            .map_err(DaemonError::io("cannot create", socket_dir))?;
        let meta = std::fs::symlink_metadata(socket_dir)
            .map_err(DaemonError::io("cannot inspect", socket_dir))?;
        let mode = meta.permissions().mode() & 0o777;
        if meta.uid() != current_uid() || mode & 0o077 != 0 || !meta.is_dir() {
            return Err(DaemonError::UnsafeDir {
                path: socket_dir.to_path_buf(),
                uid: meta.uid(),
                mode,
            });
        }
        Ok(())
    }
}

/// The real user id of this process.
pub fn current_uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

/// This process's resident memory in KiB, where the platform tells (`/proc/self/status`).
pub fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_paths_fall_back_to_the_runtime_dir() {
        let short = Paths::for_common_dir(Path::new("/r/.git"), None);
        assert_eq!(short.socket, Path::new("/r/.git/gatehouse/daemon.sock"));
        assert_eq!(short.lock, Path::new("/r/.git/gatehouse/daemon.lock"));
        let deep = format!("/{}/.git", "d".repeat(120));
        let long = Paths::for_common_dir(Path::new(&deep), Some(Path::new("/run/user/7")));
        assert!(
            long.socket.starts_with("/run/user/7/gatehouse/"),
            "{long:?}"
        );
        assert!(long.socket.as_os_str().len() <= MAX_SOCKET_PATH);
        let tmp = Paths::for_common_dir(Path::new(&deep), None);
        assert!(
            tmp.socket
                .starts_with(format!("/tmp/gatehouse-{}", current_uid()))
        );
    }
}
