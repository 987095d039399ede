//! The findings cache: one SQLite database, `<git-common-dir>/gatehouse/cache/findings.db`,
//! keyed by a hash of (settings fingerprint, path, blob id), each value an [`Entry`] in the
//! compact form of `codec`. Lookups go to the database as the check asks (one connection per
//! checking thread); results are kept in memory and written at the end of the check in one
//! transaction. The database is a cache: it never syncs to disk, a write that fails only costs
//! a future re-check, and a file SQLite cannot read is deleted and started anew.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use git2::Oid;
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::project::Dependencies;
use crate::checks::Diagnostic;
use crate::git::hash_blob;

/// The diagnostics of one file, by rule id, after inline suppressions.
pub type Diagnostics = Vec<(String, Diagnostic)>;

/// A cached result: the diagnostics and what they depend on beyond the file itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub diagnostics: Diagnostics,
    #[serde(default)]
    pub deps: Dependencies,
}

/// The database's name under the cache directory.
const FILE: &str = "findings.db";
/// Another process writing the cache is waited for this long; then the write is dropped.
const BUSY: Duration = Duration::from_secs(2);

/// The findings cache of one check run; `disabled` neither reads nor writes.
pub struct Cache {
    /// `None`: disabled.
    dir: Option<PathBuf>,
    fingerprint: String,
    /// Connections, one per checking thread (`[0]`: any other thread), each opened at its
    /// thread's first lookup: a check with nothing to look up opens none, and threads reading
    /// results at once do not wait for each other.
    conns: Vec<Mutex<Option<Option<Connection>>>>,
    /// Results computed by this run, written by [`Cache::flush`].
    pending: Mutex<Vec<(Oid, Vec<u8>)>>,
    /// File-list digests of trees computed by this run, written by [`Cache::flush`].
    listings: Mutex<Vec<(Oid, String)>>,
}

impl Cache {
    /// The cache under `state_dir` for this fingerprint of the checks and their settings.
    pub fn new(state_dir: Option<&Path>, fingerprint: &str) -> Cache {
        Cache {
            dir: state_dir.map(|d| d.join("cache")),
            fingerprint: hash_blob(fingerprint.as_bytes()).to_string(),
            conns: (0..=threads()).map(|_| Mutex::new(None)).collect(),
            pending: Mutex::new(Vec::new()),
            listings: Mutex::new(Vec::new()),
        }
    }

    /// A disabled cache.
    pub fn disabled() -> Cache {
        Cache::new(None, "")
    }

    /// How many results the cache under `state_dir` holds (for `daemon status`).
    pub fn count(state_dir: &Path) -> u64 {
        let path = state_dir.join("cache").join(FILE);
        if !path.is_file() {
            return 0;
        }
        Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .and_then(|c| c.query_row("SELECT count(*) FROM entries", [], |r| r.get::<_, i64>(0)))
            .map_or(0, |n| u64::try_from(n).unwrap_or(0))
    }

    fn key(&self, path: &str, blob: Oid) -> Oid {
        let mut material = Vec::with_capacity(self.fingerprint.len() + path.len() + 24);
        material.extend_from_slice(self.fingerprint.as_bytes());
        material.push(0);
        material.extend_from_slice(blob.as_bytes());
        material.extend_from_slice(path.as_bytes());
        hash_blob(&material)
    }

    /// Runs `f` with this thread's connection, opening it first if need be.
    fn with_conn<T>(&self, f: impl FnOnce(&Connection) -> Option<T>) -> Option<T> {
        let dir = self.dir.as_ref()?;
        let slot = rayon::current_thread_index().map_or(0, |i| 1 + i % (self.conns.len() - 1));
        let mut conn = self.conns.get(slot)?.lock().ok()?;
        f(conn.get_or_insert_with(|| open(dir)).as_ref()?)
    }

    /// The cached diagnostics of `path` at `blob`, if present and intact.
    pub fn get(&self, path: &str, blob: Oid) -> Option<Entry> {
        let key = self.key(path, blob);
        self.with_conn(|conn| {
            let mut select = conn
                .prepare_cached("SELECT value FROM entries WHERE key = ?1")
                .ok()?;
            // Decoded from SQLite's own buffer, not a copy of it.
            let decoded = select.query_row([key.as_bytes()], |row| {
                Ok(codec::decode(row.get_ref(0)?.as_blob()?))
            });
            decoded.optional().ok()??
        })
    }

    /// The digest of a tree's file list, as [`Cache::put_listing`] kept it: a tree id names its
    /// file list for good, and listing a large tree costs more than a one-file check.
    pub fn listing(&self, tree: Oid) -> Option<String> {
        self.with_conn(|conn| {
            let mut select = conn
                .prepare_cached("SELECT digest FROM listings WHERE tree = ?1")
                .ok()?;
            select
                .query_row([tree.as_bytes()], |row| row.get(0))
                .optional()
                .ok()?
        })
    }

    /// Keeps the digest of a tree's file list for [`Cache::flush`].
    pub fn put_listing(&self, tree: Oid, digest: &str) {
        if let (Some(_), Ok(mut listings)) = (&self.dir, self.listings.lock()) {
            listings.push((tree, digest.to_string()));
        }
    }

    /// Keeps the diagnostics of `path` at `blob` for [`Cache::flush`].
    pub fn put(&self, path: &str, blob: Oid, entry: &Entry) {
        if self.dir.is_none() {
            return;
        }
        let (key, value) = (self.key(path, blob), codec::encode(entry));
        if let Ok(mut pending) = self.pending.lock() {
            pending.push((key, value));
        }
    }

    /// Writes what this run computed on another thread, so the report can be printed
    /// meanwhile; dropping the returned [`Flush`] waits for the write. A few results are
    /// written at once (a thread would cost more).
    pub fn flush_in_background(self) -> Flush {
        let few = self.pending.lock().is_ok_and(|p| p.len() <= 16);
        if few {
            self.flush();
            return Flush(None);
        }
        let spawned = std::thread::Builder::new()
            .name("gatehouse-cache".into())
            .spawn(move || self.flush());
        Flush(spawned.ok())
    }

    /// Writes what this run computed, in one transaction. Failures only cost a future re-check.
    pub fn flush(&self) {
        let Some(dir) = &self.dir else {
            return;
        };
        let (Ok(pending), Ok(listings)) = (take(&self.pending), take(&self.listings)) else {
            return;
        };
        if pending.is_empty() && listings.is_empty() {
            return;
        }
        let Some(Ok(mut conn)) = self.conns.first().map(Mutex::lock) else {
            return;
        };
        if let Some(conn) = conn.get_or_insert_with(|| open(dir)) {
            let _ = write(conn, &pending, &listings);
        }
    }
}

/// A cache write under way; dropping it waits for the write to end.
#[must_use = "dropping a Flush waits for the cache write"]
pub struct Flush(Option<std::thread::JoinHandle<()>>);

impl Drop for Flush {
    fn drop(&mut self) {
        if let Some(thread) = self.0.take() {
            // A panic in the writer only loses cache entries.
            let _ = thread.join();
        }
    }
}

/// How many threads may read the cache at once: the checking pool's size.
fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(64))
}

fn take<T>(list: &Mutex<Vec<T>>) -> Result<Vec<T>, ()> {
    list.lock()
        .map(|mut v| std::mem::take(&mut *v))
        .map_err(drop)
}

fn write(
    conn: &mut Connection,
    pending: &[(Oid, Vec<u8>)],
    listings: &[(Oid, String)],
) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    {
        let mut insert = tx.prepare_cached("INSERT OR REPLACE INTO entries VALUES (?1, ?2)")?;
        for (key, value) in pending {
            insert.execute((key.as_bytes(), value))?;
        }
        let mut insert = tx.prepare_cached("INSERT OR REPLACE INTO listings VALUES (?1, ?2)")?;
        for (tree, digest) in listings {
            insert.execute((tree.as_bytes(), digest))?;
        }
    }
    tx.commit()
}

/// Opens (creating it if need be) the database in `dir`; one SQLite cannot read is replaced.
fn open(dir: &Path) -> Option<Connection> {
    let path = dir.join(FILE);
    match open_file(dir, &path) {
        Ok(conn) => Some(conn),
        Err(e) if is_unreadable(&e) => {
            for suffix in ["", "-wal", "-shm", "-journal"] {
                let mut name = path.clone().into_os_string();
                name.push(suffix);
                let _ = std::fs::remove_file(name);
            }
            open_file(dir, &path).ok()
        }
        Err(_) => None,
    }
}

fn open_file(dir: &Path, path: &Path) -> rusqlite::Result<Connection> {
    if !path.exists() {
        // Created private before SQLite sees it (it gives its journal the database's mode).
        let _ = create_private(dir, path);
    }
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY)?;
    // A cache never waits for the disk. The rollback journal, not WAL: a reader then opens
    // no `-wal`/`-shm` files (a third of opening the database), and a writer holds the lock
    // only while it commits.
    conn.pragma_update(None, "synchronous", "OFF")?;
    // Read through a memory map: a warm check reads every result once, megabytes of them.
    conn.pragma_update(None, "mmap_size", 1i64 << 30)?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS entries (key BLOB PRIMARY KEY NOT NULL, value BLOB NOT NULL) \
         WITHOUT ROWID; \
         CREATE TABLE IF NOT EXISTS listings (tree BLOB PRIMARY KEY NOT NULL, digest TEXT NOT NULL) \
         WITHOUT ROWID;",
    )?;
    Ok(conn)
}

fn create_private(dir: &Path, path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map(drop)
}

fn is_unreadable(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt)
    )
}

mod codec;
#[cfg(test)]
mod tests;
