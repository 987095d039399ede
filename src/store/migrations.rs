//! Schema migrations, applied in order; `PRAGMA user_version` counts those applied. Never edit
//! a released migration: add a new one.

pub const ALL: &[&str] = &[
    // 1: events and bypass records.
    "CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        time TEXT NOT NULL,
        kind TEXT NOT NULL,
        detail TEXT NOT NULL
    );
    CREATE INDEX events_kind ON events (kind, id);
    CREATE TABLE bypasses (
        id INTEGER PRIMARY KEY,
        time TEXT NOT NULL,
        who TEXT NOT NULL,
        hook TEXT NOT NULL,
        detail TEXT NOT NULL
    );",
];
