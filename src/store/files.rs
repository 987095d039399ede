//! The state directory's files on disk: private modes whatever the umask (the directory 0700,
//! files 0600), and moving a corrupt database aside (`state.db.corrupt-<time>`) so that a new
//! one can start, with a notice that says what is lost.

use std::fs::{DirBuilder, File, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Creates `dir` (and missing parents) 0700, and takes group and other access away from an
/// existing one this user owns (an older gatehouse, or a cache write, created it with the umask).
pub fn private_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    restrict(dir, 0o700)
}

/// Opens (creating, 0600) `path` for appending; an existing file this user owns becomes 0600.
pub fn private_append(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    restrict(path, 0o600)?;
    Ok(file)
}

/// Sets `mode` on `path` when it grants more than that and this user owns it.
pub fn restrict(path: &Path, mode: u32) -> io::Result<()> {
    let meta = std::fs::symlink_metadata(path)?;
    // SAFETY: getuid has no preconditions and cannot fail.
    let me = unsafe { libc::getuid() };
    if meta.uid() == me && !meta.file_type().is_symlink() && meta.mode() & 0o777 & !mode != 0 {
        std::fs::set_permissions(path, Permissions::from_mode(mode))?;
    }
    Ok(())
}

/// Which file a path names now (device, inode), to tell whether another process replaced it.
pub fn identity(path: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// Whether SQLite's error means the file is not (or no longer) a sound database.
pub fn is_corruption(error: &rusqlite::Error) -> bool {
    matches!(
        error,
        rusqlite::Error::SqliteFailure(e, _)
            if matches!(
                e.code,
                rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt
            )
    )
}

/// Renames the database at `path` (and its WAL) to `<path>.corrupt-<time>`; the shared-memory
/// index is only a cache of the WAL and is removed. Returns the copy's path.
pub fn quarantine(path: &Path) -> io::Result<PathBuf> {
    let stamp: String = super::now()
        .chars()
        .filter(|c| !matches!(c, '-' | ':'))
        .collect();
    let name = |n: u32| {
        let mut name = path.as_os_str().to_owned();
        name.push(format!(".corrupt-{stamp}"));
        if n > 0 {
            name.push(format!(".{n}"));
        }
        PathBuf::from(name)
    };
    let mut n = 0;
    while name(n).exists() {
        n += 1;
    }
    let copy = name(n);
    std::fs::rename(path, &copy)?;
    let sibling = |base: &Path, suffix: &str| {
        let mut name = base.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    let _ = std::fs::rename(sibling(path, "-wal"), sibling(&copy, "-wal"));
    let _ = std::fs::remove_file(sibling(path, "-shm"));
    Ok(copy)
}

/// What the user is told (on stderr, and so in the daemon's log) when a database was replaced.
pub fn reset_notice(path: &Path, copy: &Path, reason: &str) -> String {
    format!(
        "gatehouse: warning: the state database {} is corrupt ({reason}); it is kept as {} and a \
         new, empty database replaces it. Lost with it (they remain in the copy): the run history \
         and reviews, queued runs and runs in flight (their results are not recorded), trusted \
         tasks (trust them again with `gatehouse task trust`), paused task kinds, today's spend \
         against the daily budget, and the GATEHOUSE_SKIP records.",
        path.display(),
        copy.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_whatever_the_umask_and_a_copy_beside_the_corrupt_file() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        std::fs::create_dir(&state).unwrap();
        std::fs::set_permissions(&state, Permissions::from_mode(0o755)).unwrap();
        private_dir(&state).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().mode() & 0o777;
        assert_eq!(mode(&state), 0o700);
        let db = state.join("state.db");
        std::fs::write(&db, b"garbage").unwrap();
        std::fs::set_permissions(&db, Permissions::from_mode(0o644)).unwrap();
        drop(private_append(&db).unwrap());
        assert_eq!(mode(&db), 0o600);
        std::fs::write(state.join("state.db-wal"), b"wal").unwrap();
        let first = quarantine(&db).unwrap();
        std::fs::write(&db, b"again").unwrap();
        let second = quarantine(&db).unwrap();
        assert_ne!(first, second);
        assert!(!db.exists());
        assert_eq!(std::fs::read(&first).unwrap(), b"garbage");
        assert!(
            first
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("state.db.corrupt-")
        );
        let mut wal = first.into_os_string();
        wal.push("-wal");
        assert_eq!(std::fs::read(PathBuf::from(wal)).unwrap(), b"wal");
    }
}
