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
    // 2: agent tasks: trusted task files, runs (the queue is the runs in state `queued`), and
    // task kinds paused by the failure breaker.
    "CREATE TABLE trusted_tasks (
        name TEXT PRIMARY KEY,
        hash TEXT NOT NULL,
        time TEXT NOT NULL,
        who TEXT NOT NULL
    );
    CREATE TABLE runs (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        task TEXT NOT NULL,
        kind TEXT NOT NULL,
        agent TEXT NOT NULL,
        trigger TEXT NOT NULL,
        state TEXT NOT NULL,
        base TEXT NOT NULL,
        branch TEXT,
        queued_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT,
        duration_ms INTEGER,
        exit_code INTEGER,
        input_tokens INTEGER NOT NULL DEFAULT 0,
        cached_input_tokens INTEGER NOT NULL DEFAULT 0,
        output_tokens INTEGER NOT NULL DEFAULT 0,
        reasoning_tokens INTEGER NOT NULL DEFAULT 0,
        cost_usd REAL,
        error TEXT,
        summary TEXT,
        runner_pid INTEGER,
        decided_by TEXT,
        decision TEXT,
        cancel_requested INTEGER NOT NULL DEFAULT 0,
        task_hash TEXT
    );
    CREATE INDEX runs_state ON runs (state, seq);
    CREATE INDEX runs_task_base ON runs (task, base);
    CREATE TABLE paused_kinds (
        kind TEXT PRIMARY KEY,
        time TEXT NOT NULL,
        reason TEXT NOT NULL
    );
    CREATE TABLE kind_resumes (
        kind TEXT PRIMARY KEY,
        time TEXT NOT NULL
    );",
    // 3: review rounds (a follow-up run of a review names the run before it, with the
    // reviewer's comment) and when a decision was made.
    "ALTER TABLE runs ADD COLUMN parent TEXT;
    ALTER TABLE runs ADD COLUMN feedback TEXT;
    ALTER TABLE runs ADD COLUMN decided_at TEXT;
    CREATE INDEX runs_parent ON runs (parent);",
    // 4: when a run started, in milliseconds since the epoch, so `duration_ms` has millisecond
    // resolution (the RFC 3339 times have seconds). NULL in runs started before it: their
    // duration comes from the second timestamps, as it did.
    "ALTER TABLE runs ADD COLUMN started_ms INTEGER;",
];
