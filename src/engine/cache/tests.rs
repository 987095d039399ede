//! The findings cache: keys, batching, corrupt databases and concurrent writers.

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

fn entry(n: usize) -> Entry {
    Entry {
        diagnostics: (0..n).map(|_| ("rule".to_string(), diag())).collect(),
        deps: Dependencies::default(),
    }
}

#[test]
fn round_trips_and_keys_by_fingerprint_path_and_blob() {
    let dir = tempfile::tempdir().unwrap();
    let blob = hash_blob(b"x = 1\n");
    let cache = Cache::new(Some(dir.path()), "fp1");
    assert_eq!(cache.get("a.py", blob), None);
    cache.put("a.py", blob, &entry(1));
    // Nothing is written before the flush, then everything in one transaction.
    assert_eq!(Cache::count(dir.path()), 0);
    cache.flush();
    assert_eq!(Cache::count(dir.path()), 1);
    let next = Cache::new(Some(dir.path()), "fp1");
    assert_eq!(next.get("a.py", blob), Some(entry(1)));
    assert_eq!(next.get("b.py", blob), None);
    assert_eq!(next.get("a.py", hash_blob(b"x = 2\n")), None);
    assert_eq!(Cache::new(Some(dir.path()), "fp2").get("a.py", blob), None);
}

#[test]
fn a_disabled_cache_touches_nothing() {
    let cache = Cache::disabled();
    let blob = hash_blob(b"x");
    cache.put("a.py", blob, &entry(1));
    cache.flush();
    assert_eq!(cache.get("a.py", blob), None);
}

#[test]
fn a_database_sqlite_cannot_read_is_started_anew() {
    let dir = tempfile::tempdir().unwrap();
    let blob = hash_blob(b"y = 2\n");
    let cache = Cache::new(Some(dir.path()), "fp");
    cache.put("a.py", blob, &entry(1));
    cache.flush();
    drop(cache);
    let file = dir.path().join("cache").join(FILE);
    std::fs::write(&file, b"{ torn").unwrap();
    let cache = Cache::new(Some(dir.path()), "fp");
    assert_eq!(cache.get("a.py", blob), None);
    cache.put("a.py", blob, &entry(1));
    cache.flush();
    drop(cache);
    assert_eq!(
        Cache::new(Some(dir.path()), "fp").get("a.py", blob),
        Some(entry(1))
    );
}

#[test]
fn a_value_that_does_not_decode_is_a_miss_and_gets_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let blob = hash_blob(b"z = 3\n");
    let cache = Cache::new(Some(dir.path()), "fp");
    cache.put("a.py", blob, &entry(1));
    cache.flush();
    let conn = Connection::open(dir.path().join("cache").join(FILE)).unwrap();
    conn.execute("UPDATE entries SET value = x'7b'", [])
        .unwrap();
    let cache = Cache::new(Some(dir.path()), "fp");
    assert_eq!(cache.get("a.py", blob), None);
    cache.put("a.py", blob, &entry(2));
    cache.flush();
    assert_eq!(
        Cache::new(Some(dir.path()), "fp").get("a.py", blob),
        Some(entry(2))
    );
}

#[test]
fn concurrent_writers_and_readers_see_whole_entries() {
    let dir = tempfile::tempdir().unwrap();
    let blobs: Vec<Oid> = (0..50)
        .map(|i| hash_blob(format!("{i}").as_bytes()))
        .collect();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for round in 0..5 {
                    let cache = Cache::new(Some(dir.path()), "fp");
                    for blob in &blobs {
                        if let Some(found) = cache.get("a.py", *blob) {
                            assert_eq!(found, entry(200));
                        }
                        cache.put("a.py", *blob, &entry(200));
                    }
                    if round % 2 == 0 {
                        cache.flush();
                    }
                }
            });
        }
    });
    let cache = Cache::new(Some(dir.path()), "fp");
    for blob in &blobs {
        assert_eq!(cache.get("a.py", *blob), Some(entry(200)));
    }
}

#[test]
fn a_trees_file_list_digest_is_kept_by_tree_id() {
    let dir = tempfile::tempdir().unwrap();
    let tree = hash_blob(b"a tree");
    let cache = Cache::new(Some(dir.path()), "fp");
    assert_eq!(cache.listing(tree), None);
    cache.put_listing(tree, "digest");
    cache.flush();
    // Whatever the settings: a tree's file list does not depend on them.
    let other = Cache::new(Some(dir.path()), "other settings");
    assert_eq!(other.listing(tree).as_deref(), Some("digest"));
    assert_eq!(other.listing(hash_blob(b"another tree")), None);
    assert_eq!(Cache::disabled().listing(tree), None);
}

#[test]
fn entries_survive_the_stored_form_and_anything_else_is_a_miss() {
    use super::codec::{decode, encode};
    let full = Entry {
        diagnostics: vec![
            ("untyped-function".into(), diag()),
            (
                "missing-import".into(),
                Diagnostic {
                    level: Some(crate::config::Level::Warn),
                    code: "missing-module".into(),
                    line: u32::MAX,
                    column: 0,
                    end_line: 7,
                    end_column: 8,
                    message: "µ \"quoted\"\nnext".into(),
                    symbol: Some("pkg.mod".into()),
                    help: None,
                },
            ),
        ],
        deps: Dependencies {
            files: vec![
                ("a/__init__.py".into(), Some("abc".into())),
                ("b.py".into(), None),
            ],
            listing: Some("digest".into()),
            dirs: vec![("a".into(), true), ("c".into(), false)],
        },
    };
    for entry in [Entry::default(), entry(3), full.clone()] {
        assert_eq!(decode(&encode(&entry)), Some(entry));
    }
    let bytes = encode(&full);
    for cut in 0..bytes.len() {
        assert_eq!(decode(&bytes[..cut]), None, "cut at {cut}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(decode(&longer), None);
    let json = serde_json::to_vec(&full).unwrap();
    assert_eq!(decode(&json), None, "an older JSON value is a miss");
}
