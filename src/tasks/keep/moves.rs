//! The file-system side of kept folders: the store's lock, moves that check what they move,
//! and removals that survive what an agent did to a folder.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{KeepError, io};

/// The store's lock file.
pub(super) const LOCK: &str = ".lock";
/// The prefix of what waits in the store for removal.
pub(super) const TRASH: &str = ".trash.";
/// How long an operation waits for another's: they hold the lock only while renaming.
pub(super) const LOCK_WAIT: Duration = Duration::from_secs(60);

/// Takes the store's lock, waiting up to [`LOCK_WAIT`] for another process's move to end.
pub(super) fn lock(store: &Path) -> Result<File, KeepError> {
    private_dir(store)?;
    let path = store.join(LOCK);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(io(&path))?;
    let started = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < LOCK_WAIT => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(std::fs::TryLockError::WouldBlock) => return Err(KeepError::Busy { path }),
            Err(std::fs::TryLockError::Error(e)) => return Err(io(&path)(e)),
        }
    }
}

/// Moves `from/rel` to `to/rel` (`to` exists) when it is a real directory all the way down, the
/// target is free, and the directories above it are real (missing ones are created); whether it
/// moved.
///
/// The directories above are opened one by one without following a symlink and the move is a
/// `renameat` between them, so what is checked is what moves: a process an agent left behind
/// swapping a folder on the way for a symlink to `$HOME` at the wrong moment makes the move fail
/// or move the symlink itself, never what it points to.
pub(super) fn carry(from: &Path, to: &Path, rel: &Path) -> Result<bool, KeepError> {
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;
    let (Some(parent), Some(name)) = (rel.parent(), rel.file_name()) else {
        return Ok(false);
    };
    let Ok(name) = std::ffi::CString::new(name.as_bytes()) else {
        return Ok(false);
    };
    let Some(source) = open_dir(from, parent).filter(|d| kind_at(d, &name) == Some(libc::S_IFDIR))
    else {
        return Ok(false);
    };
    if !make_parents(to, rel) {
        return Ok(false);
    }
    let Some(target) = open_dir(to, parent).filter(|d| kind_at(d, &name).is_none()) else {
        return Ok(false);
    };
    // SAFETY: both are open directories and `name` is NUL-terminated.
    let moved = unsafe {
        libc::renameat(
            source.as_raw_fd(),
            name.as_ptr(),
            target.as_raw_fd(),
            name.as_ptr(),
        )
    };
    if moved != 0 {
        return Err(io(&from.join(rel))(std::io::Error::last_os_error()));
    }
    Ok(true)
}

/// The directory `rel` under `root`, opened without following a symlink below `root`.
fn open_dir(root: &Path, rel: &Path) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::ffi::OsStrExt;
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    let mut dir: OwnedFd = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY)
        .open(root)
        .ok()?
        .into();
    for c in rel.components() {
        let std::path::Component::Normal(name) = c else {
            return None;
        };
        let name = std::ffi::CString::new(name.as_bytes()).ok()?;
        // SAFETY: `dir` is an open directory and `name` is NUL-terminated.
        let next = unsafe { libc::openat(dir.as_raw_fd(), name.as_ptr(), flags) };
        if next < 0 {
            return None;
        }
        // SAFETY: openat returned a new descriptor that nothing else owns.
        dir = unsafe { OwnedFd::from_raw_fd(next) };
    }
    Some(dir)
}

/// The file type (`S_IFMT` bits) of `name` in the directory `dir`, not following a symlink;
/// `None` when there is nothing by that name.
fn kind_at(dir: &std::os::fd::OwnedFd, name: &std::ffi::CStr) -> Option<libc::mode_t> {
    use std::os::fd::AsRawFd;
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `dir` is an open directory, `name` is NUL-terminated, `stat` is written on success.
    let found = unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            name.as_ptr(),
            stat.as_mut_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    // SAFETY: fstatat succeeded, so it filled `stat`.
    (found == 0).then(|| unsafe { stat.assume_init() }.st_mode & libc::S_IFMT)
}

/// What a move removes: renamed aside under the lock, removed after it.
pub(super) struct Trash<'a> {
    store: &'a Path,
    pub(super) paths: Vec<PathBuf>,
}

impl<'a> Trash<'a> {
    pub(super) fn new(store: &'a Path) -> Self {
        Trash {
            store,
            paths: Vec::new(),
        }
    }

    /// Renames `path`, in the store, to a free `.trash.` name.
    pub(super) fn put(&mut self, path: &Path) -> Result<(), KeepError> {
        static COUNT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let free = loop {
            let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let to = self
                .store
                .join(format!("{TRASH}{}-{n}", std::process::id()));
            // A process with this pid before may have died leaving this name.
            if std::fs::symlink_metadata(&to).is_err() {
                break to;
            }
        };
        std::fs::rename(path, &free).map_err(io(path))?;
        self.paths.push(free);
        Ok(())
    }

    pub(super) fn empty(self) {
        for path in self.paths {
            if let Err(e) = remove_tree(&path) {
                tracing::warn!("cannot remove {}: {e}", path.display());
            }
        }
    }
}

/// Removes `path` and all below it, never following a symlink; directories an agent made
/// unreadable or unwritable (`chmod 000`) are opened up first. Gone already is fine (another
/// process may be removing the same trash).
fn remove_tree(path: &Path) -> std::io::Result<()> {
    let gone = |r: std::io::Result<()>| match r {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        r => r,
    };
    match std::fs::remove_dir_all(path) {
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            open_up(path);
            gone(std::fs::remove_dir_all(path))
        }
        r => gone(r),
    }
}

/// Makes every real directory from `path` down ours to list and empty (iteratively: an agent's
/// folder may nest deeper than a stack would go).
fn open_up(path: &Path) {
    let mut todo = vec![path.to_path_buf()];
    while let Some(dir) = todo.pop() {
        if !std::fs::symlink_metadata(&dir).is_ok_and(|m| m.file_type().is_dir()) {
            continue;
        }
        let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
        if let Ok(entries) = std::fs::read_dir(&dir) {
            todo.extend(entries.flatten().map(|e| e.path()));
        }
    }
}

/// Whether `rel` and every directory on the way to it under `root` is a real directory: a
/// symlink (an agent's `ln -s ~/.ssh .venv`) is never followed nor carried.
pub(super) fn real_dirs(root: &Path, rel: &Path) -> bool {
    let mut path = root.to_path_buf();
    rel.components().all(|c| {
        path.push(c);
        std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_dir())
    })
}

/// Creates the missing directories above `rel` in `dir`; `false` when one on the way is not a
/// real directory (a tracked symlink must not lead the move out of the worktree).
fn make_parents(dir: &Path, rel: &Path) -> bool {
    let Some(parent) = rel.parent().filter(|p| !p.as_os_str().is_empty()) else {
        return true;
    };
    let mut path = dir.to_path_buf();
    parent.components().all(|c| {
        path.push(c);
        match std::fs::symlink_metadata(&path) {
            Ok(m) => m.file_type().is_dir(),
            Err(_) => std::fs::create_dir(&path).is_ok(),
        }
    })
}

pub(super) fn private_dir(path: &Path) -> Result<(), KeepError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(io(path))
}
