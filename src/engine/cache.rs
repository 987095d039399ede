//! The findings cache: one small file per (settings fingerprint, path, blob id) under
//! `<git-common-dir>/gatehouse/cache/`. Entries are written to a temporary file and renamed into
//! place, so concurrent writers never expose a torn entry; an entry that does not parse is
//! ignored (and rewritten by the next check that computes it).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use git2::Oid;
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

#[derive(Serialize, Deserialize)]
struct Stored {
    key: String,
    entry: Entry,
}

/// A cache directory for one settings fingerprint; `None` disables caching.
pub struct Cache {
    dir: Option<PathBuf>,
    fingerprint: String,
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl Cache {
    /// The cache under `state_dir` for this fingerprint of the checks and their settings.
    pub fn new(state_dir: Option<&Path>, fingerprint: &str) -> Cache {
        let fingerprint = hash_blob(fingerprint.as_bytes()).to_string();
        let dir = state_dir.map(|d| d.join("cache").join(&fingerprint[..16]));
        Cache { dir, fingerprint }
    }

    /// A disabled cache.
    pub fn disabled() -> Cache {
        Cache {
            dir: None,
            fingerprint: String::new(),
        }
    }

    fn key(&self, path: &str, blob: Oid) -> String {
        let mut material = Vec::with_capacity(path.len() + 100);
        material.extend_from_slice(self.fingerprint.as_bytes());
        material.push(0);
        material.extend_from_slice(blob.as_bytes());
        material.extend_from_slice(path.as_bytes());
        hash_blob(&material).to_string()
    }

    fn entry_path(&self, key: &str) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join(&key[..2]).join(&key[2..]))
    }

    /// The cached diagnostics of `path` at `blob`, if present and intact.
    pub fn get(&self, path: &str, blob: Oid) -> Option<Entry> {
        let key = self.key(path, blob);
        let bytes = fs::read(self.entry_path(&key)?).ok()?;
        let stored: Stored = serde_json::from_slice(&bytes).ok()?;
        (stored.key == key).then_some(stored.entry)
    }

    /// Stores the diagnostics of `path` at `blob`. Failures only cost a future re-check.
    pub fn put(&self, path: &str, blob: Oid, entry: &Entry) {
        let key = self.key(path, blob);
        let Some(target) = self.entry_path(&key) else {
            return;
        };
        let stored = Stored {
            key,
            entry: entry.clone(),
        };
        let Ok(bytes) = serde_json::to_vec(&stored) else {
            return;
        };
        let _ = write_atomically(&target, &bytes);
    }
}

fn write_atomically(target: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = target.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".tmp-{}-{n}", std::process::id()));
    let result = fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes))
        .and_then(|()| fs::rename(&tmp, target));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diag() -> Diagnostic {
        Diagnostic {
            level: None,
            code: "X".into(),
            line: 1,
            column: 2,
            end_line: 1,
            end_column: 3,
            message: "m".into(),
            symbol: None,
            help: Some("h".into()),
        }
    }

    #[test]
    fn round_trips_and_keys_by_fingerprint_path_and_blob() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(Some(dir.path()), "fp1");
        let blob = hash_blob(b"x = 1\n");
        let entry = Entry {
            diagnostics: vec![("rule".to_string(), diag())],
            deps: Dependencies::default(),
        };
        assert_eq!(cache.get("a.py", blob), None);
        cache.put("a.py", blob, &entry);
        assert_eq!(cache.get("a.py", blob), Some(entry.clone()));
        assert_eq!(cache.get("b.py", blob), None);
        assert_eq!(Cache::new(Some(dir.path()), "fp2").get("a.py", blob), None);
    }

    #[test]
    fn corrupt_entries_are_misses_and_get_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(Some(dir.path()), "fp");
        let blob = hash_blob(b"y = 2\n");
        let entry = Entry {
            diagnostics: vec![("rule".to_string(), diag())],
            deps: Dependencies::default(),
        };
        cache.put("a.py", blob, &entry);
        let path = cache.entry_path(&cache.key("a.py", blob)).unwrap();
        fs::write(&path, b"{not json").unwrap();
        assert_eq!(cache.get("a.py", blob), None);
        cache.put("a.py", blob, &entry);
        assert_eq!(cache.get("a.py", blob), Some(entry));
    }

    #[test]
    fn concurrent_writers_never_expose_a_torn_entry() {
        let dir = tempfile::tempdir().unwrap();
        let blob = hash_blob(b"z = 3\n");
        let entry = Entry {
            diagnostics: (0..200).map(|_| ("rule".to_string(), diag())).collect(),
            deps: Dependencies::default(),
        };
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    let cache = Cache::new(Some(dir.path()), "fp");
                    for _ in 0..50 {
                        cache.put("a.py", blob, &entry);
                        let got = cache.get("a.py", blob);
                        assert_eq!(got.as_ref(), Some(&entry));
                    }
                });
            }
        });
    }
}
