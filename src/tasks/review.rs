//! The human decision on a review, shared by the command line and the review page: accept
//! (merge through the gate, approving exactly the agent's commits), reject (delete the branch),
//! request changes (queue a follow-up round on the same branch). Each returns what it did and
//! prints nothing; the caller says it.

use git2::Oid;
use serde::Serialize;

use super::acceptance::{self, Acceptance, AcceptanceError};
use super::merge::{approve, merge, refuse_if_dirty, withdraw};
use super::worktree;
use crate::config::Settings;
use crate::gate::approvals::Covered;
use crate::git::{Identity, Repo};
use crate::store::runs::{Run, RunState};
use crate::store::{Store, StoreError};

/// Why a decision could not be made; nothing was changed unless the variant says otherwise.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("no run `{0}` (see `gatehouse runs list`)")]
    NotFound(String),
    #[error("`{prefix}` names {} runs: {}; give more of the id", candidates.len(), candidates.join(", "))]
    Ambiguous {
        prefix: String,
        candidates: Vec<String>,
    },
    #[error("run {id} is {state}, not waiting for review")]
    NotReady { id: String, state: RunState },
    #[error("round {id} of this review is still {state}; decide once it is ready")]
    RoundInFlight { id: String, state: RunState },
    #[error("run {0} has no review branch")]
    NoBranch(String),
    #[error("the review branch {0} is gone")]
    BranchGone(String),
    #[error("accepting needs a working tree: this repository is bare")]
    Bare,
    #[error(
        "HEAD is detached: switch to the branch the review should land on (`git switch BRANCH`), then accept again"
    )]
    Detached,
    #[error(
        "uncommitted changes in files the review changes: {}; commit or stash them first (nothing was changed)",
        .0.join(", ")
    )]
    Dirty(Vec<String>),
    #[error("the gate blocks what this review brings: {}", .0.join(", "))]
    Blocked(Vec<String>),
    #[error("the merge of {branch} failed and was undone; the review stays open:\n{output}")]
    MergeFailed { branch: String, output: String },
    #[error(
        "the merge of {branch} failed and `git merge --abort` failed too: finish or abort the merge by hand; the review stays open:\n{output}"
    )]
    MergeStuck { branch: String, output: String },
    #[error(
        "{failure}\nThe approval recorded for this accept could not be withdrawn ({why}): see `git notes --ref refs/notes/gatehouse list`"
    )]
    ApprovalLeft {
        failure: Box<ReviewError>,
        why: String,
    },
    #[error("running git: {0}")]
    GitCommand(#[source] std::io::Error),
    #[error("git: {0}")]
    Git(#[from] git2::Error),
    #[error(transparent)]
    Repo(#[from] crate::git::GitError),
    #[error(transparent)]
    Acceptance(#[from] AcceptanceError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Worktree(#[from] worktree::WorktreeError),
}

/// How accepting landed the review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Landing {
    /// The current branch moved to the review's tip.
    FastForward,
    /// A merge commit joins the current branch and the review.
    MergeCommit,
}

/// What accepting did.
#[derive(Debug, Clone, Serialize)]
pub struct Accepted {
    /// The round accepted, and every round of the review.
    pub run: String,
    pub rounds: Vec<String>,
    pub branch: String,
    /// The branch it landed on, and its new tip.
    pub into: String,
    pub head: String,
    pub landing: Landing,
    /// The agent's commits the approval names, and the findings it covers.
    pub approved_commits: Vec<String>,
    pub approved: Vec<Covered>,
    /// The gate's result of the acceptance (what is left for `gatehouse approve`, if anything).
    pub acceptance: Acceptance,
}

/// What rejecting did.
#[derive(Debug, Clone, Serialize)]
pub struct Rejected {
    pub run: String,
    pub branch: Option<String>,
}

/// What requesting changes did: the follow-up round is queued (the caller starts it).
#[derive(Debug, Clone, Serialize)]
pub struct ChangesRequested {
    /// The round the comment is about, and the new one.
    pub previous: String,
    pub run: String,
    pub branch: String,
    pub round: usize,
}

/// Event kinds of the review history (`gatehouse log`).
pub const ACCEPTED: &str = "review-accepted";
pub const REJECTED: &str = "review-rejected";
pub const CHANGES_REQUESTED: &str = "review-changes-requested";

/// A run by id: the whole id, a unique prefix of it (else a unique part of it), or `latest`
/// (the newest run).
pub fn find_run(store: &Store, id: &str) -> Result<Run, ReviewError> {
    let id = id.trim();
    let not_found = || ReviewError::NotFound(id.to_string());
    let found = if id == "latest" {
        store.latest_run()?.ok_or_else(not_found)?
    } else {
        let mut ids = store.run_ids_with_prefix(id)?;
        if ids.is_empty() {
            // Ids start with their time, which runs share: a unique part of the rest names one.
            ids = store.run_ids_containing(id)?;
        }
        match (ids.iter().position(|i| i == id), ids.len()) {
            _ if id.is_empty() => return Err(not_found()),
            (Some(exact), _) => ids.swap_remove(exact),
            (None, 1) => ids.remove(0),
            (None, 0) => return Err(not_found()),
            (None, _) => {
                return Err(ReviewError::Ambiguous {
                    prefix: id.to_string(),
                    candidates: ids,
                });
            }
        }
    };
    store.run(&found)?.ok_or_else(not_found)
}

/// A review by the id of any of its rounds (or a unique prefix), or `latest`: the newest run
/// waiting for a decision.
pub fn find_review(store: &Store, id: &str) -> Result<Run, ReviewError> {
    if id.trim() != "latest" {
        return find_run(store, id);
    }
    store
        .runs(&[RunState::Ready])?
        .pop()
        .ok_or_else(|| ReviewError::NotFound("latest (no review is waiting)".into()))
}

/// The round of `run`'s review waiting for a decision (any round's id names the review).
pub fn deciding_round(store: &Store, run: &Run) -> Result<Run, ReviewError> {
    let rounds = store.rounds(&run.id)?;
    match rounds.last() {
        Some(last) if last.state == RunState::Queued || last.state.is_active() => {
            Err(ReviewError::RoundInFlight {
                id: last.id.clone(),
                state: last.state,
            })
        }
        Some(last) if last.state == RunState::Ready => Ok(last.clone()),
        // A failed follow-up reopened the round before it.
        _ => match rounds.iter().rev().find(|r| r.state == RunState::Ready) {
            Some(ready) => Ok(ready.clone()),
            None => Err(ReviewError::NotReady {
                id: run.id.clone(),
                state: run.state,
            }),
        },
    }
}

/// The review branch of `run` and its tip.
pub fn branch_tip(repo: &Repo, run: &Run) -> Result<(String, Oid), ReviewError> {
    let branch = run
        .branch
        .clone()
        .ok_or_else(|| ReviewError::NoBranch(run.id.clone()))?;
    let tip = repo
        .resolve_commit(&format!("refs/heads/{branch}"))
        .map_err(|_| ReviewError::BranchGone(branch.clone()))?;
    Ok((branch, tip))
}

/// The gate's result of accepting `run`'s review into the current branch now.
pub fn acceptance(
    repo: &Repo,
    store: &Store,
    settings: &Settings,
    run: &Run,
) -> Result<Acceptance, ReviewError> {
    let (_, tip) = branch_tip(repo, run)?;
    let rounds = store.rounds(&run.id)?;
    Ok(acceptance::evaluate(repo, settings, &rounds, tip)?)
}

/// Accepts the review of `run` (any of its rounds): merges its branch into the current branch
/// with `git merge --ff` (so the user's merge hooks run), after recording `who`'s approval of
/// exactly the agent's commits of the review; deletes the branch.
pub fn accept(
    repo: &Repo,
    store: &Store,
    settings: &Settings,
    run: &Run,
    who: &Identity,
    message: Option<String>,
) -> Result<Accepted, ReviewError> {
    let run = deciding_round(store, run)?;
    let (branch, tip) = branch_tip(repo, &run)?;
    let workdir = repo.workdir().ok_or(ReviewError::Bare)?.to_path_buf();
    // On a detached HEAD the merge would land on no branch, and the review would be gone.
    if repo.git2().head_detached().unwrap_or(false) {
        return Err(ReviewError::Detached);
    }
    refuse_if_dirty(repo, tip)?;
    let rounds = store.rounds(&run.id)?;
    let gate = acceptance::evaluate(repo, settings, &rounds, tip)?;
    if !gate.blocking.is_empty() {
        let list = gate
            .blocking
            .iter()
            .map(|f| format!("{}:{} {} [{}]", f.path, f.line, f.rule, f.code))
            .collect();
        return Err(ReviewError::Blocked(list));
    }
    let why = message.unwrap_or_else(|| format!("accepted review of run {}", run.id));
    let agent: Vec<Oid> = gate
        .agent_commits
        .iter()
        .filter_map(|c| Oid::from_str(c).ok())
        .collect();
    // The human decision is the approval the gate asks for, of the agent's commits only: the
    // merge hook and later pushes accept what they brought, and nothing anyone else wrote. It
    // is recorded for the merge and stays only if the merge lands.
    let tentative = approve(repo, &agent, who, &why, &gate.approved_by_accepting)?;
    let merged = repo
        .resolve_commit("HEAD")
        .map_err(ReviewError::from)
        .and_then(|before| merge(&workdir, repo, &branch, &run).map(|()| before));
    let before = match (merged, &tentative) {
        (Ok(before), _) => before,
        (Err(failure), None) => return Err(failure),
        (Err(failure), Some(t)) => {
            return Err(match withdraw(repo, t, who) {
                Ok(()) => failure,
                Err(e) => ReviewError::ApprovalLeft {
                    failure: Box::new(failure),
                    why: e.to_string(),
                },
            });
        }
    };
    let approved = tentative.map(|t| t.approval.covers).unwrap_or_default();
    let after = repo.resolve_commit("HEAD")?;
    let landing = if after == tip && after != before {
        Landing::FastForward
    } else {
        Landing::MergeCommit
    };
    store.decide(&run.id, RunState::Accepted, &who.to_string(), &why)?;
    worktree::delete_branch(repo.git2(), &branch)?;
    let into = repo
        .git2()
        .head()
        .ok()
        .and_then(|h| h.shorthand().ok().map(str::to_string))
        .unwrap_or_default();
    let accepted = Accepted {
        run: run.id.clone(),
        rounds: rounds.iter().map(|r| r.id.clone()).collect(),
        branch,
        into,
        head: after.to_string(),
        landing,
        approved_commits: gate.agent_commits.clone(),
        approved,
        acceptance: gate,
    };
    record(
        store,
        ACCEPTED,
        who,
        &serde_json::json!({
            "run": accepted.run, "rounds": accepted.rounds, "branch": accepted.branch,
            "into": accepted.into, "head": accepted.head, "landing": accepted.landing,
            "commits": accepted.approved_commits, "message": why,
        }),
    );
    Ok(accepted)
}

/// Rejects the review of `run`: deletes its branch and records who and why.
pub fn reject(
    repo: &Repo,
    store: &Store,
    run: &Run,
    who: &Identity,
    message: Option<String>,
) -> Result<Rejected, ReviewError> {
    let run = deciding_round(store, run)?;
    let why = message.unwrap_or_else(|| "rejected".into());
    if let Some(branch) = &run.branch {
        worktree::delete_branch(repo.git2(), branch)?;
    }
    store.decide(&run.id, RunState::Rejected, &who.to_string(), &why)?;
    record(
        store,
        REJECTED,
        who,
        &serde_json::json!({
            "run": run.id, "branch": run.branch, "message": why,
        }),
    );
    Ok(Rejected {
        run: run.id,
        branch: run.branch,
    })
}

/// Asks for changes to the review of `run`: the round waiting for a decision becomes
/// `changes_requested`, and a follow-up round of the same task is queued on the same branch,
/// from its tip, with `comment` (the caller starts it: the daemon, or in the foreground).
/// `task_hash` is the task's trust digest now.
pub fn request_changes(
    repo: &Repo,
    store: &mut Store,
    run: &Run,
    who: &Identity,
    comment: &str,
    task_hash: &str,
) -> Result<ChangesRequested, ReviewError> {
    let run = deciding_round(store, run)?;
    let (branch, tip) = branch_tip(repo, &run)?;
    if !store.decide(
        &run.id,
        RunState::ChangesRequested,
        &who.to_string(),
        comment,
    )? {
        return Err(ReviewError::NotReady {
            id: run.id.clone(),
            state: run.state,
        });
    }
    let next = store.enqueue_round(&run, &tip.to_string(), task_hash, comment)?;
    let round = store.rounds(&next)?.len();
    record(
        store,
        CHANGES_REQUESTED,
        who,
        &serde_json::json!({
            "run": run.id, "next": next, "branch": branch, "message": comment,
        }),
    );
    Ok(ChangesRequested {
        previous: run.id,
        run: next,
        branch,
        round,
    })
}

/// Records a decision in the review history; the decision itself is already made.
fn record(store: &Store, kind: &str, who: &Identity, detail: &serde_json::Value) {
    let mut detail = detail.clone();
    detail["by"] = serde_json::Value::String(who.to_string());
    if let Err(e) = store.record_event(kind, &detail.to_string()) {
        tracing::warn!("cannot record the {kind} event: {e}");
    }
}
