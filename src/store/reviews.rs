//! Reviews in the state database: the rounds of one review (a follow-up run names the run
//! before it and the reviewer's comment), reopening a review whose follow-up failed, and the
//! events of the review history (`gatehouse log`).

use rusqlite::{OptionalExtension, params};

use super::runs::{Run, RunState, new_run_id};
use super::{Store, StoreError, now};

/// One recorded event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: i64,
    pub time: String,
    pub kind: String,
    pub detail: String,
}

impl Store {
    /// Queues the next round of the review whose latest round is `previous`: the same task on
    /// `base` (the review branch's tip) and on `branch`, answering `feedback`. The previous round
    /// must be `changes_requested` already (see [`Store::decide`]).
    pub fn enqueue_round(
        &mut self,
        previous: &Run,
        base: &str,
        task_hash: &str,
        feedback: &str,
    ) -> Result<String, StoreError> {
        let id = new_run_id();
        self.conn
            .execute(
                "INSERT INTO runs (id, task, kind, agent, trigger, state, base, branch, queued_at, task_hash, parent, feedback) \
                 VALUES (?1, ?2, ?3, ?4, 'changes', 'queued', ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    id,
                    previous.task,
                    previous.kind,
                    previous.agent,
                    base,
                    previous.branch,
                    now(),
                    task_hash,
                    previous.id,
                    feedback
                ],
            )
            .map_err(self.err())?;
        Ok(id)
    }

    /// Puts a review whose follow-up round ended without a result back to `ready`.
    pub fn reopen(&self, id: &str) -> Result<bool, StoreError> {
        let changed = self
            .conn
            .execute(
                "UPDATE runs SET state = 'ready' WHERE id = ?1 AND state = 'changes_requested'",
                params![id],
            )
            .map_err(self.err())?;
        Ok(changed == 1)
    }

    /// The rounds of the review `id` belongs to, in the order they were queued: the first run
    /// and every run that follows one of them (a failed round has none after it: the round it
    /// followed was reopened, and the next round follows that one again).
    pub fn rounds(&self, id: &str) -> Result<Vec<Run>, StoreError> {
        let all = self.runs(&[])?;
        let Some(mut first) = all.iter().find(|r| r.id == id) else {
            return Ok(Vec::new());
        };
        while let Some(parent) = first
            .parent
            .as_deref()
            .and_then(|p| all.iter().find(|r| r.id == p))
        {
            first = parent;
        }
        let mut chain: Vec<Run> = Vec::new();
        for run in all.iter().skip_while(|r| r.id != first.id) {
            let follows = run
                .parent
                .as_deref()
                .is_some_and(|p| chain.iter().any(|c| c.id == p));
            if run.id == first.id || follows {
                chain.push(run.clone());
            }
        }
        Ok(chain)
    }

    /// The latest round of a review that is waiting or working (ready, queued or active), if any.
    pub fn open_round(&self, id: &str) -> Result<Option<Run>, StoreError> {
        Ok(self.rounds(id)?.into_iter().rev().find(|r| {
            r.state == RunState::Ready || r.state == RunState::Queued || r.state.is_active()
        }))
    }

    /// The id of the newest run, if any.
    pub fn latest_run(&self) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row("SELECT id FROM runs ORDER BY seq DESC LIMIT 1", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(self.err())
    }

    /// The ids of the runs whose id starts with `prefix`.
    pub fn run_ids_with_prefix(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let escaped = prefix
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let mut stmt = self
            .conn
            .prepare("SELECT id FROM runs WHERE id LIKE ?1 ESCAPE '\\' ORDER BY seq")
            .map_err(self.err())?;
        let rows = stmt
            .query_map(params![format!("{escaped}%")], |r| r.get(0))
            .map_err(self.err())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.err())
    }

    /// The ids of the runs whose id contains `part`.
    pub fn run_ids_containing(&self, part: &str) -> Result<Vec<String>, StoreError> {
        let all = self.runs(&[])?;
        Ok(all
            .into_iter()
            .filter(|r| r.id.contains(part))
            .map(|r| r.id)
            .collect())
    }

    /// The events of `kinds` (all, when empty), newest first.
    pub fn events_of(&self, kinds: &[&str]) -> Result<Vec<Event>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, time, kind, detail FROM events ORDER BY id DESC")
            .map_err(self.err())?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Event {
                    id: r.get(0)?,
                    time: r.get(1)?,
                    kind: r.get(2)?,
                    detail: r.get(3)?,
                })
            })
            .map_err(self.err())?
            .collect::<Result<Vec<_>, _>>()
            .map_err(self.err())?;
        Ok(rows
            .into_iter()
            .filter(|e| kinds.is_empty() || kinds.contains(&e.kind.as_str()))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::runs::Finish;

    #[test]
    fn rounds_chain_and_a_failed_follow_up_reopens_the_review() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let first = store
            .enqueue("t", "k", "a", "manual", "b0", "h")
            .unwrap()
            .unwrap();
        store
            .transition(&first, RunState::Queued, RunState::Preparing)
            .unwrap();
        store.set_branch(&first, "gatehouse/t/x").unwrap();
        store
            .finish(&first, RunState::Ready, &Finish::default())
            .unwrap();
        assert!(
            store
                .decide(&first, RunState::ChangesRequested, "me", "more")
                .unwrap()
        );
        let run = store.run(&first).unwrap().unwrap();
        let second = store.enqueue_round(&run, "c1", "h", "more").unwrap();
        let chain = store.rounds(&second).unwrap();
        assert_eq!(
            chain.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            [first.as_str(), second.as_str()]
        );
        assert_eq!(chain[1].branch.as_deref(), Some("gatehouse/t/x"));
        assert_eq!(chain[1].feedback.as_deref(), Some("more"));
        assert_eq!(store.rounds(&first).unwrap().len(), 2);
        assert_eq!(store.open_round(&first).unwrap().unwrap().id, second);
        assert!(store.reopen(&first).unwrap() && !store.reopen(&first).unwrap());
        assert_eq!(store.latest_run().unwrap(), Some(second.clone()));
        assert_eq!(
            store.run_ids_with_prefix("%").unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(store.run_ids_with_prefix(&first[..8]).unwrap().len(), 2);
    }
}
