//! The one-daemon-per-repository lock: an exclusive advisory lock on `daemon.lock`, which also
//! holds the owner's pid. The kernel drops the lock when the process dies, however it dies, so
//! a lock file left by a killed daemon is simply taken over.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::DaemonError;

/// A held lock; dropping it releases the lock.
#[derive(Debug)]
pub struct Lock {
    file: File,
    path: PathBuf,
}

impl Lock {
    /// Takes the lock at `path` and writes this process's pid into it, or reports the holder.
    pub fn acquire(path: &Path) -> Result<Lock, DaemonError> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(DaemonError::io("cannot open the lock file", path))?;
        let _ = crate::store::files::restrict(path, 0o600);
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(DaemonError::AlreadyRunning {
                    pid: read_pid(&mut file),
                });
            }
            Err(TryLockError::Error(source)) => {
                return Err(DaemonError::io("cannot lock", path)(source));
            }
        }
        let pid = std::process::id();
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| writeln!(file, "{pid}"))
            .and_then(|()| file.flush())
            .map_err(DaemonError::io("cannot write", path))?;
        Ok(Lock {
            file,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Emptying the file says "no owner" to a reader; the lock itself goes with the handle.
        let _ = self.file.set_len(0);
    }
}

/// The pid a lock file names when that process is alive. It does not take the lock, even
/// briefly: that could make a daemon starting at the same moment think another one runs.
pub fn holder(path: &Path) -> Option<u32> {
    let mut file = File::open(path).ok()?;
    let pid = read_pid(&mut file)?;
    let raw = libc::pid_t::try_from(pid).ok()?;
    // SAFETY: kill with signal 0 only checks that the process exists; it sends nothing.
    let alive = unsafe { libc::kill(raw, 0) } == 0
        || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    alive.then_some(pid)
}

/// Whether `pid` runs `gatehouse daemon run` (so that a signal meant for the daemon never goes to
/// a process that merely reused a stale lock file's pid). Without `/proc`, assumed.
pub fn is_daemon(pid: u32) -> bool {
    match std::fs::read(format!("/proc/{pid}/cmdline")) {
        Ok(cmdline) => cmdline.windows(11).any(|w| w == b"daemon\0run\0"),
        Err(_) => !std::path::Path::new("/proc/self").exists(),
    }
}

fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("daemon.lock");
        let lock = Lock::acquire(&path).unwrap();
        assert_eq!(holder(&path), Some(std::process::id()));
        match Lock::acquire(&path) {
            Err(DaemonError::AlreadyRunning { pid }) => assert_eq!(pid, Some(std::process::id())),
            other => panic!("expected AlreadyRunning, got {other:?}"),
        }
        drop(lock);
        assert_eq!(holder(&path), None, "a released lock file is emptied");
        let again = Lock::acquire(&path).unwrap();
        assert_eq!(again.path(), path);
    }

    #[test]
    fn a_stale_lock_file_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("daemon.lock");
        std::fs::write(&path, "4194303\n").unwrap();
        assert_eq!(holder(&path), None);
        Lock::acquire(&path).unwrap();
    }
}
