//! Task runs, trusted task files and paused task kinds in the state database. The queue is the
//! runs in state `queued`, oldest first.

use std::fmt;
use std::str::FromStr;

use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

use super::{Store, StoreError, now};

/// Where a run is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    Queued,
    Preparing,
    Running,
    Validating,
    Ready,
    Failed,
    TimedOut,
    Cancelled,
    Interrupted,
    OverBudget,
    Accepted,
    Rejected,
    /// A reviewer asked for changes: a follow-up round runs on the same branch.
    ChangesRequested,
}

const STATES: &[(RunState, &str)] = &[
    (RunState::Queued, "queued"),
    (RunState::Preparing, "preparing"),
    (RunState::Running, "running"),
    (RunState::Validating, "validating"),
    (RunState::Ready, "ready"),
    (RunState::Failed, "failed"),
    (RunState::TimedOut, "timed_out"),
    (RunState::Cancelled, "cancelled"),
    (RunState::Interrupted, "interrupted"),
    (RunState::OverBudget, "over_budget"),
    (RunState::Accepted, "accepted"),
    (RunState::Rejected, "rejected"),
    (RunState::ChangesRequested, "changes_requested"),
];

impl RunState {
    pub fn as_str(self) -> &'static str {
        STATES
            .iter()
            .find(|(s, _)| *s == self)
            .map_or("?", |(_, n)| n)
    }

    /// Preparing, running or validating: a process is working on it.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            RunState::Preparing | RunState::Running | RunState::Validating
        )
    }

    /// Ended without a review: counts against the failure breaker.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            RunState::Failed | RunState::TimedOut | RunState::OverBudget
        )
    }
}

impl fmt::Display for RunState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RunState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        STATES
            .iter()
            .find(|(_, n)| *n == s)
            .map(|(state, _)| *state)
            .ok_or_else(|| format!("unknown run state `{s}`"))
    }
}

/// Token counts of a run, normalised: `input` includes `cached_input`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tokens {
    pub input: u64,
    pub cached_input: u64,
    pub output: u64,
    pub reasoning: u64,
}

impl Tokens {
    pub fn total(&self) -> u64 {
        self.input + self.output
    }
}

/// One run, as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    pub id: String,
    pub task: String,
    pub kind: String,
    pub agent: String,
    pub trigger: String,
    pub state: RunState,
    pub base: String,
    pub branch: Option<String>,
    pub queued_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub duration_ms: Option<u64>,
    pub exit_code: Option<i64>,
    pub tokens: Tokens,
    pub cost_usd: Option<f64>,
    pub error: Option<String>,
    /// The review summary (JSON), once validated.
    #[serde(skip)]
    pub summary: Option<String>,
    #[serde(skip)]
    pub runner_pid: Option<i64>,
    pub decided_by: Option<String>,
    pub decision: Option<String>,
    /// The trust digest of the task (file and agent) when it was queued.
    #[serde(skip)]
    pub task_hash: Option<String>,
    /// The run of the same review before this one (a follow-up round), if any.
    pub parent: Option<String>,
    /// The reviewer's comment this round answers.
    pub feedback: Option<String>,
    pub decided_at: Option<String>,
}

const COLUMNS: &str = "id, task, kind, agent, trigger, state, base, branch, queued_at, started_at, \
    finished_at, duration_ms, exit_code, input_tokens, cached_input_tokens, output_tokens, \
    reasoning_tokens, cost_usd, error, summary, runner_pid, decided_by, decision, task_hash, parent, \
    feedback, decided_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Run> {
    let state: String = r.get(5)?;
    let count =
        |i: usize| -> rusqlite::Result<u64> { Ok(u64::try_from(r.get::<_, i64>(i)?).unwrap_or(0)) };
    Ok(Run {
        id: r.get(0)?,
        task: r.get(1)?,
        kind: r.get(2)?,
        agent: r.get(3)?,
        trigger: r.get(4)?,
        state: state.parse().unwrap_or(RunState::Failed),
        base: r.get(6)?,
        branch: r.get(7)?,
        queued_at: r.get(8)?,
        started_at: r.get(9)?,
        finished_at: r.get(10)?,
        duration_ms: r
            .get::<_, Option<i64>>(11)?
            .map(|d| u64::try_from(d).unwrap_or(0)),
        exit_code: r.get(12)?,
        tokens: Tokens {
            input: count(13)?,
            cached_input: count(14)?,
            output: count(15)?,
            reasoning: count(16)?,
        },
        cost_usd: r.get(17)?,
        error: r.get(18)?,
        summary: r.get(19)?,
        runner_pid: r.get(20)?,
        decided_by: r.get(21)?,
        decision: r.get(22)?,
        task_hash: r.get(23)?,
        parent: r.get(24)?,
        feedback: r.get(25)?,
        decided_at: r.get(26)?,
    })
}

/// What a finished stage records on its run.
#[derive(Debug, Clone, Default)]
pub struct Finish {
    pub exit_code: Option<i64>,
    pub tokens: Tokens,
    pub cost_usd: Option<f64>,
    pub error: Option<String>,
    pub summary: Option<String>,
}

fn sql_count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Store {
    /// Queues a run of `task` on `base` unless one is already queued or working on that base
    /// (or, for automatic triggers, ever was). `task_hash` is the task's trust digest now.
    /// Returns the new run id, or `None` when deduplicated. The check and the insert are one
    /// transaction, so a daemon and a CLI queuing at once make one run.
    pub fn enqueue(
        &mut self,
        task: &str,
        kind: &str,
        agent: &str,
        trigger: &str,
        base: &str,
        task_hash: &str,
    ) -> Result<Option<String>, StoreError> {
        let path = self.path.clone();
        let err = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let automatic = trigger != "manual" && trigger != "here";
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(err)?;
        let existing: Option<String> = tx
            .query_row(
                "SELECT id FROM runs WHERE task = ?1 AND base = ?2 AND (?3 OR state IN ('queued', 'preparing', 'running', 'validating')) LIMIT 1",
                params![task, base, automatic],
                |r| r.get(0),
            )
            .optional()
            .map_err(err)?;
        if existing.is_some() {
            return Ok(None);
        }
        let id = new_run_id();
        tx.execute(
            "INSERT INTO runs (id, task, kind, agent, trigger, state, base, queued_at, task_hash) VALUES (?1, ?2, ?3, ?4, ?5, 'queued', ?6, ?7, ?8)",
            params![id, task, kind, agent, trigger, base, now(), task_hash],
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(Some(id))
    }

    /// Moves a run from `from` to `to` (compare-and-set: `false` if it was not in `from`).
    pub fn transition(&self, id: &str, from: RunState, to: RunState) -> Result<bool, StoreError> {
        let started = if from == RunState::Queued {
            Some(now())
        } else {
            None
        };
        let started_ms = started.as_ref().map(|_| now_ms());
        let changed = self
            .conn
            .execute(
                "UPDATE runs SET state = ?3, started_at = COALESCE(?4, started_at), runner_pid = COALESCE(?5, runner_pid), \
                 started_ms = COALESCE(?6, started_ms) WHERE id = ?1 AND state = ?2",
                params![id, from.as_str(), to.as_str(), started, started.as_ref().map(|_| i64::from(std::process::id())), started_ms],
            )
            .map_err(self.err())?;
        Ok(changed == 1)
    }

    /// Asks whoever runs `id` to cancel it.
    pub fn request_cancel(&self, id: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE runs SET cancel_requested = 1 WHERE id = ?1",
                params![id],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// Whether a cancel of `id` was asked for.
    pub fn cancel_requested(&self, id: &str) -> Result<bool, StoreError> {
        self.conn
            .query_row(
                "SELECT cancel_requested FROM runs WHERE id = ?1",
                params![id],
                |r| r.get::<_, i64>(0),
            )
            .optional()
            .map(|v| v == Some(1))
            .map_err(self.err())
    }

    /// Records the branch of a run.
    pub fn set_branch(&self, id: &str, branch: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE runs SET branch = ?2 WHERE id = ?1",
                params![id, branch],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// Ends a run in `state` with what it produced.
    pub fn finish(&self, id: &str, state: RunState, finish: &Finish) -> Result<(), StoreError> {
        let started: Option<(Option<String>, Option<i64>)> = self
            .conn
            .query_row(
                "SELECT started_at, started_ms FROM runs WHERE id = ?1",
                params![id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(self.err())?;
        let (started_at, started_ms) = started.unwrap_or_default();
        let ended = now();
        // Milliseconds; a run started before `started_ms` existed gets whole seconds.
        let duration = match started_ms {
            Some(ms) => Some((now_ms() - ms).max(0)),
            None => started_at
                .and_then(|s| seconds_between(&s, &ended))
                .map(|s| sql_count(s * 1000)),
        };
        self.conn
            .execute(
                "UPDATE runs SET state = ?2, finished_at = ?3, duration_ms = ?4, exit_code = ?5, input_tokens = ?6, \
                 cached_input_tokens = ?7, output_tokens = ?8, reasoning_tokens = ?9, cost_usd = ?10, error = ?11, \
                 summary = COALESCE(?12, summary) WHERE id = ?1",
                params![
                    id, state.as_str(), ended, duration, finish.exit_code,
                    sql_count(finish.tokens.input), sql_count(finish.tokens.cached_input),
                    sql_count(finish.tokens.output), sql_count(finish.tokens.reasoning),
                    finish.cost_usd, finish.error, finish.summary
                ],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// Records a human's decision on a ready run (accepted, rejected, changes requested).
    pub fn decide(
        &self,
        id: &str,
        state: RunState,
        who: &str,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let changed = self
            .conn
            .execute(
                "UPDATE runs SET state = ?2, decided_by = ?3, decision = ?4, decided_at = ?5 WHERE id = ?1 AND state = 'ready'",
                params![id, state.as_str(), who, reason, now()],
            )
            .map_err(self.err())?;
        Ok(changed == 1)
    }

    /// A run by id (or unique id prefix).
    pub fn run(&self, id: &str) -> Result<Option<Run>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {COLUMNS} FROM runs WHERE id = ?1 OR id LIKE ?2 ORDER BY seq"
            ))
            .map_err(self.err())?;
        let rows: Vec<Run> = stmt
            .query_map(params![id, format!("{id}%")], from_row)
            .map_err(self.err())?
            .collect::<Result<_, _>>()
            .map_err(self.err())?;
        Ok(match rows.as_slice() {
            [one] => Some(one.clone()),
            many => many.iter().find(|r| r.id == id).cloned(),
        })
    }

    /// Runs, oldest first, optionally only those in `states`.
    pub fn runs(&self, states: &[RunState]) -> Result<Vec<Run>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {COLUMNS} FROM runs ORDER BY seq"))
            .map_err(self.err())?;
        let rows = stmt
            .query_map([], from_row)
            .map_err(self.err())?
            .collect::<Result<Vec<_>, _>>()
            .map_err(self.err())?;
        Ok(rows
            .into_iter()
            .filter(|r| states.is_empty() || states.contains(&r.state))
            .collect())
    }

    /// Records that `name`'s file with digest `hash` is trusted to run unattended.
    pub fn trust(&self, name: &str, hash: &str, who: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO trusted_tasks (name, hash, time, who) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (name) DO UPDATE SET hash = ?2, time = ?3, who = ?4",
                params![name, hash, now(), who],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// The digest a task was trusted with, if any.
    pub fn trusted_hash(&self, name: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row(
                "SELECT hash FROM trusted_tasks WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err())
    }

    /// Pauses a task kind (the failure breaker).
    pub fn pause_kind(&self, kind: &str, reason: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO paused_kinds (kind, time, reason) VALUES (?1, ?2, ?3)",
                params![kind, now(), reason],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// Resumes a paused kind; `false` if it was not paused. Failures before now no longer
    /// count towards the breaker.
    pub fn resume_kind(&self, kind: &str) -> Result<bool, StoreError> {
        let n = self
            .conn
            .execute("DELETE FROM paused_kinds WHERE kind = ?1", params![kind])
            .map_err(self.err())?;
        self.conn
            .execute(
                "INSERT OR REPLACE INTO kind_resumes (kind, time) VALUES (?1, ?2)",
                params![kind, now()],
            )
            .map_err(self.err())?;
        Ok(n == 1)
    }

    /// When a kind was last resumed, if ever.
    pub fn resumed_at(&self, kind: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row(
                "SELECT time FROM kind_resumes WHERE kind = ?1",
                params![kind],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err())
    }

    /// Why a kind is paused, if it is.
    pub fn paused(&self, kind: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row(
                "SELECT reason FROM paused_kinds WHERE kind = ?1",
                params![kind],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err())
    }

    /// What runs finished today (UTC) cost.
    pub fn spent_today(&self) -> Result<f64, StoreError> {
        let today = &now()[..10];
        self.conn
            .query_row(
                "SELECT COALESCE(SUM(cost_usd), 0) FROM runs WHERE substr(COALESCE(finished_at, started_at, queued_at), 1, 10) = ?1",
                params![today],
                |r| r.get(0),
            )
            .map_err(self.err())
    }
}

/// A new run id: time-ordered and unique (`20261201t033012-1a2b-3`): the time, this process's
/// id and a counter of the ids it made.
pub(super) fn new_run_id() -> String {
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let stamp: String = now()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    format!(
        "{}-{:x}-{n:x}",
        stamp.trim_end_matches('Z').to_ascii_lowercase(),
        std::process::id()
    )
}

/// Milliseconds since the epoch.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Seconds from one RFC 3339 time (as [`now`] writes) to another.
pub fn seconds_between(a: &str, b: &str) -> Option<u64> {
    let secs = |t: &str| -> Option<i64> {
        let date: Vec<i64> = t
            .get(0..10)?
            .split('-')
            .map(|p| p.parse().ok())
            .collect::<Option<_>>()?;
        let time: Vec<i64> = t
            .get(11..19)?
            .split(':')
            .map(|p| p.parse().ok())
            .collect::<Option<_>>()?;
        let (&[y, m, d], &[hh, mm, ss]) = (date.as_slice(), time.as_slice()) else {
            return None;
        };
        // Days from civil (Howard Hinnant), the inverse of rfc3339().
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
    };
    u64::try_from(secs(b)? - secs(a)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_dedupes_transitions_and_finishes() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let id = store
            .enqueue("annotate", "types", "codex", "commit", "abc", "h")
            .unwrap()
            .unwrap();
        assert_eq!(
            store
                .enqueue("annotate", "types", "codex", "commit", "abc", "h")
                .unwrap(),
            None
        );
        assert_eq!(
            store
                .enqueue("annotate", "types", "codex", "manual", "abc", "h")
                .unwrap(),
            None,
            "still queued"
        );
        assert!(
            store
                .transition(&id, RunState::Queued, RunState::Preparing)
                .unwrap()
        );
        assert!(
            !store
                .transition(&id, RunState::Queued, RunState::Preparing)
                .unwrap()
        );
        let tokens = Tokens {
            input: 10,
            cached_input: 4,
            output: 3,
            reasoning: 1,
        };
        store
            .finish(
                &id,
                RunState::Failed,
                &Finish {
                    tokens,
                    cost_usd: Some(0.5),
                    error: Some("no".into()),
                    ..Finish::default()
                },
            )
            .unwrap();
        let run = store.run(&id[..12]).unwrap().unwrap();
        assert_eq!(
            (run.state, run.tokens, run.cost_usd),
            (RunState::Failed, tokens, Some(0.5))
        );
        assert!(run.started_at.is_some() && run.finished_at.is_some());
        // Automatic triggers never run twice on one base; a manual run may once the first ended.
        assert_eq!(
            store
                .enqueue("annotate", "types", "codex", "commit", "abc", "h")
                .unwrap(),
            None
        );
        assert!(
            store
                .enqueue("annotate", "types", "codex", "manual", "abc", "h")
                .unwrap()
                .is_some()
        );
        assert_eq!(store.runs(&[RunState::Queued]).unwrap().len(), 1);
    }

    #[test]
    fn durations_have_milliseconds_and_old_rows_keep_seconds() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let mut run = |task: &str| {
            let id = store
                .enqueue(task, "k", "codex", "manual", "abc", "h")
                .unwrap()
                .unwrap();
            store
                .transition(&id, RunState::Queued, RunState::Preparing)
                .unwrap();
            id
        };
        let (fresh, old) = (run("fresh"), run("old"));
        // A run a binary from before started_ms started: only its second timestamp.
        store
            .conn
            .execute(
                "UPDATE runs SET started_ms = NULL, started_at = '2000-01-01T00:00:00Z' WHERE id = ?1",
                params![old],
            )
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(30));
        for id in [&fresh, &old] {
            store
                .finish(id, RunState::Failed, &Finish::default())
                .unwrap();
        }
        let ms = store.run(&fresh).unwrap().unwrap().duration_ms.unwrap();
        assert!((30..1000).contains(&ms), "{ms}");
        let ms = store.run(&old).unwrap().unwrap().duration_ms.unwrap();
        assert!(ms > 1000 && ms.is_multiple_of(1000), "{ms}");
    }

    #[test]
    fn trust_pause_and_time_arithmetic() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.trusted_hash("t").unwrap(), None);
        store.trust("t", "h1", "me").unwrap();
        store.trust("t", "h2", "me").unwrap();
        assert_eq!(store.trusted_hash("t").unwrap().as_deref(), Some("h2"));
        store.pause_kind("types", "3 failures").unwrap();
        assert_eq!(
            store.paused("types").unwrap().as_deref(),
            Some("3 failures")
        );
        assert!(store.resume_kind("types").unwrap() && !store.resume_kind("types").unwrap());
        assert_eq!(
            seconds_between("2026-02-28T23:59:50Z", "2026-03-01T00:00:10Z"),
            Some(20)
        );
        for state in STATES {
            assert_eq!(state.1.parse::<RunState>().unwrap(), state.0);
        }
    }
}
