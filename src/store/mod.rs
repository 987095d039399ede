//! The SQLite state database `<git-common-dir>/gatehouse/state.db`, shared by the CLI, the
//! hooks and the daemon: WAL mode, a busy timeout, and numbered migrations. The directory is
//! private (0700) and the files 0600; a corrupt database is moved aside and replaced, loudly.

pub mod files;
mod migrations;
pub mod reviews;
pub mod runs;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OptionalExtension, params};

/// Errors of the state database; each names the database file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create {path}: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("state database {path}: {source}")]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "state database {path} is corrupt ({source}) and cannot be moved aside ({io}); move it \
         away by hand (its runs, trusted tasks and skip records are then lost) and try again"
    )]
    CorruptStuck {
        path: PathBuf,
        source: rusqlite::Error,
        io: std::io::Error,
    },
    #[error(
        "state database {path} is at schema version {found}, newer than this gatehouse understands \
         ({known}); upgrade gatehouse"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
}

/// The size of WAL above which the last connection to close checkpoints it (and deletes it).
/// Below it the WAL is left for the next process, which rebuilds its index by reading it all:
/// small, so that costs little (a hook run adds about 8 kB).
const WAL_KEEP_BYTES: u64 = 512 * 1024;

/// The event recorded in a new database that replaced a corrupt one (detail: `copy`, `reason`).
pub const STATE_RESET: &str = "state-reset";

/// An open state database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// A recorded use of `GATEHOUSE_SKIP`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bypass {
    pub time: String,
    pub who: String,
    pub hook: String,
    pub detail: String,
}

/// A process that recorded one event and exits, with no other connection open, would leave
/// the WAL's index behind it: the next process rebuilds it, sees nothing of the WAL checkpointed
/// and so can never restart it, and SQLite's automatic checkpoint would then copy the whole WAL
/// at every commit while the file grew. A big WAL is therefore checkpointed (and deleted) at the
/// last close, as SQLite does by default; with another connection open (the daemon's) the close
/// checkpoints nothing and the automatic checkpoint keeps the WAL short.
impl Drop for Store {
    fn drop(&mut self) {
        let mut wal = self.path.clone().into_os_string();
        wal.push("-wal");
        if std::fs::metadata(&wal).is_ok_and(|m| m.len() > WAL_KEEP_BYTES) {
            let _ = self
                .conn
                .set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, false);
        }
    }
}

impl Store {
    /// Opens (creating and migrating as needed) the database in `state_dir`. A file SQLite
    /// finds corrupt is renamed `state.db.corrupt-<time>` and a new database started; stderr
    /// (the daemon's log, for the daemon) says so and what is lost, and a `state-reset` event
    /// records it.
    pub fn open(state_dir: &Path) -> Result<Store, StoreError> {
        let create = |source| StoreError::Create {
            path: state_dir.to_path_buf(),
            source,
        };
        files::private_dir(state_dir).map_err(create)?;
        let path = state_dir.join("state.db");
        let found = files::identity(&path);
        let reason = match Store::open_file(&path) {
            Err(StoreError::Sqlite { source, .. }) if files::is_corruption(&source) => source,
            other => return other,
        };
        // Another process may have moved it aside already (and started a new one): only the
        // file found corrupt is moved.
        if files::identity(&path) == found {
            let copy = match files::quarantine(&path) {
                Ok(copy) => copy,
                Err(io) => {
                    return Err(StoreError::CorruptStuck {
                        path,
                        source: reason,
                        io,
                    });
                }
            };
            let notice = files::reset_notice(&path, &copy, &reason.to_string());
            // stderr: the user's terminal, or the daemon's log (its stderr when detached).
            eprintln!("{notice}");
            let store = Store::open_file(&path)?;
            let detail = serde_json::json!({
                "copy": copy.display().to_string(),
                "reason": reason.to_string(),
            });
            store.record_event(STATE_RESET, &detail.to_string())?;
            return Ok(store);
        }
        Store::open_file(&path)
    }

    fn open_file(path: &Path) -> Result<Store, StoreError> {
        let path = path.to_path_buf();
        let err = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        // Created 0600 before SQLite sees it (SQLite gives its WAL the database's mode); one an
        // older gatehouse made with the umask is narrowed.
        if !path.exists() {
            files::private_append(&path).map_err(|source| StoreError::Create {
                path: path.clone(),
                source,
            })?;
        }
        for suffix in ["", "-wal", "-shm"] {
            let mut name = path.clone().into_os_string();
            name.push(suffix);
            let _ = files::restrict(Path::new(&name), 0o600);
        }
        let conn = Connection::open(&path).map_err(err)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(err)?;
        // With the WAL, NORMAL syncs at checkpoints, not at every commit: a hook that records
        // its run does not wait for the disk (a power cut may lose the last records, never the
        // database). FULL cost the pre-push hook five fsyncs, ~15 ms.
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(err)?;
        // The last connection to close checkpoints the WAL into the database and deletes it:
        // three fsyncs and two files created and removed on every hook run, each fsync
        // milliseconds when other work writes to the disk. Skip that until the WAL is big
        // (see `Drop`).
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
            .map_err(err)?;
        // Switching a new database to WAL needs it to itself; a process opening it at the same
        // moment gets SQLITE_BUSY without the busy handler being asked, so retry briefly.
        let mut attempts = 0;
        loop {
            match conn.pragma_update(None, "journal_mode", "WAL") {
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::DatabaseBusy && attempts < 250 =>
                {
                    attempts += 1;
                    std::thread::sleep(Duration::from_millis(20));
                }
                result => break result.map_err(err)?,
            }
        }
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(err)?;
        let mut store = Store { conn, path };
        store.migrate()?;
        Ok(store)
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        |source| StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let known = migrations::ALL.len() as i64;
        let found: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(self.err())?;
        if found > known {
            return Err(StoreError::TooNew {
                path: self.path.clone(),
                found,
                known,
            });
        }
        let path = self.path.clone();
        let err = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        for (index, sql) in migrations::ALL
            .iter()
            .enumerate()
            .skip(usize::try_from(found).unwrap_or(0))
        {
            // Another process (the daemon, a hook) may be migrating the same database right
            // now: take the write lock first, then look again at what is applied.
            let tx = self
                .conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(err)?;
            let applied: i64 = tx
                .pragma_query_value(None, "user_version", |r| r.get(0))
                .map_err(err)?;
            if applied > index as i64 {
                continue;
            }
            tx.execute_batch(sql).map_err(err)?;
            tx.pragma_update(None, "user_version", index as i64 + 1)
                .map_err(err)?;
            tx.commit().map_err(err)?;
        }
        Ok(())
    }

    /// Records an event (`kind`, free-form JSON `detail`).
    pub fn record_event(&self, kind: &str, detail: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO events (time, kind, detail) VALUES (?1, ?2, ?3)",
                params![now(), kind, detail],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// Records a skipped hook: who, which hook, and what it would have checked.
    pub fn record_bypass(&self, who: &str, hook: &str, detail: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO bypasses (time, who, hook, detail) VALUES (?1, ?2, ?3, ?4)",
                params![now(), who, hook, detail],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// The bypass records, oldest first.
    pub fn bypasses(&self) -> Result<Vec<Bypass>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT time, who, hook, detail FROM bypasses ORDER BY id")
            .map_err(self.err())?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Bypass {
                    time: r.get(0)?,
                    who: r.get(1)?,
                    hook: r.get(2)?,
                    detail: r.get(3)?,
                })
            })
            .map_err(self.err())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.err())
    }

    /// Every event of a kind, oldest first, as (time, detail).
    pub fn events(&self, kind: &str) -> Result<Vec<(String, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT time, detail FROM events WHERE kind = ?1 ORDER BY id")
            .map_err(self.err())?;
        let rows = stmt
            .query_map(params![kind], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(self.err())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.err())
    }

    /// The newest event of a kind, as (time, detail).
    pub fn last_event(&self, kind: &str) -> Result<Option<(String, String)>, StoreError> {
        self.conn
            .query_row(
                "SELECT time, detail FROM events WHERE kind = ?1 ORDER BY id DESC LIMIT 1",
                params![kind],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(self.err())
    }
}

/// The current time as RFC 3339 UTC with seconds, e.g. `2026-11-24T04:36:51Z`.
pub fn now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    rfc3339(i64::try_from(secs).unwrap_or(0))
}

/// Formats seconds since the epoch as RFC 3339 UTC (proleptic Gregorian calendar).
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_494_611), "2026-11-24T04:30:11Z");
    }

    #[test]
    fn records_bypasses_and_events_across_connections() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .record_bypass("A <a@x>", "pre-push", "refs/heads/main")
            .unwrap();
        store.record_event("push", "{}").unwrap();
        let again = Store::open(dir.path()).unwrap();
        let bypasses = again.bypasses().unwrap();
        assert_eq!(bypasses.len(), 1);
        assert_eq!(
            (bypasses[0].who.as_str(), bypasses[0].hook.as_str()),
            ("A <a@x>", "pre-push")
        );
        assert_eq!(
            again.last_event("push").unwrap().map(|e| e.1),
            Some("{}".to_string())
        );
    }

    #[test]
    fn a_process_leaves_a_small_wal_and_checkpoints_a_big_one() {
        let dir = tempfile::tempdir().unwrap();
        let wal = dir.path().join("state.db-wal");
        let mut largest = 0;
        for i in 0..200 {
            let store = Store::open(dir.path()).unwrap();
            store
                .record_event("hook-run", &format!("{{\"n\": {i}}}"))
                .unwrap();
            drop(store);
            let size = std::fs::metadata(&wal).map_or(0, |m| m.len());
            if i == 0 {
                assert!(size > 0, "the first close checkpointed and deleted the WAL");
            }
            largest = largest.max(size);
        }
        // One run's records past the limit, never the WAL of every run.
        assert!(
            largest <= WAL_KEEP_BYTES + 64 * 1024,
            "WAL grew to {largest} bytes"
        );
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.events("hook-run").unwrap().len(), 200);
    }

    #[test]
    fn concurrent_first_opens_migrate_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || {
                    Store::open(&path).map(|_| ()).map_err(|e| e.to_string())
                })
            })
            .collect();
        for t in threads {
            assert_eq!(t.join().unwrap(), Ok(()));
        }
    }

    #[test]
    fn a_newer_database_is_a_clear_error_and_a_corrupt_one_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(dir.path()).unwrap());
        let conn = Connection::open(dir.path().join("state.db")).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let err = Store::open(dir.path()).err().unwrap().to_string();
        assert!(err.contains("schema version 99"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let garbage = b"this is not a database, not at all........".repeat(50);
        std::fs::write(dir.path().join("state.db"), &garbage).unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (_, detail) = store.last_event(STATE_RESET).unwrap().unwrap();
        let detail: serde_json::Value = serde_json::from_str(&detail).unwrap();
        let copy = std::path::PathBuf::from(detail["copy"].as_str().unwrap());
        assert_eq!(std::fs::read(&copy).unwrap(), garbage);
        assert!(
            detail["reason"]
                .as_str()
                .unwrap()
                .contains("not a database")
        );
        drop(store);
        // Opened again: nothing more to do.
        let again = Store::open(dir.path()).unwrap();
        assert_eq!(again.bypasses().unwrap(), vec![]);
        let copies = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .contains("corrupt")
            })
            .count();
        assert_eq!(copies, 1);
    }
}
