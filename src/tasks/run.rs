//! Executing one queued run: `queued → preparing → running → validating → ready`, or
//! `failed | timed_out | cancelled | over_budget`. The worktree is always removed at the end;
//! the branch stays only when a review exists.

use std::path::{Path, PathBuf};

use git2::{Oid, Repository};
use serde::Serialize;

use super::spec::{Accept, Task};
use super::validate::{self, AcceptResult, Changed, DiffStat};
use super::worktree;
use crate::agents::{self, AgentConfig, CancelToken, Invocation, Usage};
use crate::checks::Finding;
use crate::config::{Level, Scope, Settings};
use crate::engine::{self, Request, Target};
use crate::git::Repo;
use crate::store::Store;
use crate::store::runs::{Finish, Run, RunState, Tokens};

/// Consecutive failures of one kind that pause it.
pub const BREAKER_THRESHOLD: usize = 3;

/// What a review shows, stored as JSON on the run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub goal: String,
    pub agent: String,
    pub command: Vec<String>,
    pub base: String,
    pub commit: Option<String>,
    pub files_changed: Vec<Changed>,
    pub diffstat: Option<DiffStat>,
    pub acceptance: Vec<AcceptResult>,
    pub findings: Vec<Finding>,
    pub final_message: Option<String>,
    pub confinement: Option<String>,
    pub log: String,
    /// The cost was computed from the agent table's `price`, not reported by the agent.
    pub cost_estimated: bool,
    /// What prepared the worktree (files copied, setup commands), when the task has setup.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setup: Option<super::setup::Prepared>,
    /// The `keep` folders this run took over from the task's previous run.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<String>,
    /// Setup finished, so the `keep` folders are fit to carry to the next run.
    #[serde(skip)]
    pub keep_fit: bool,
}

/// Where everything a run needs lives.
pub struct Env<'a> {
    pub repo: &'a Repo,
    pub store: &'a Store,
    pub settings: &'a Settings,
    pub home: Option<&'a Path>,
}

/// The private directory of a run: prompt, agent log, acceptance logs. Kept after the run.
pub fn run_dir(state_dir: &Path, run_id: &str) -> PathBuf {
    state_dir.join("runs").join(run_id)
}

pub use super::commands::{acceptance_error, run_acceptance, run_confined};

/// Git configuration given to everything that runs in a scratch worktree: no hooks, so an
/// agent's or a test's `git commit` there never fires gatehouse's hooks against the user's
/// repository.
pub fn worktree_git_env() -> Vec<(String, String)> {
    vec![
        ("GIT_CONFIG_COUNT".into(), "1".into()),
        ("GIT_CONFIG_KEY_0".into(), "core.hooksPath".into()),
        ("GIT_CONFIG_VALUE_0".into(), "/dev/null".into()),
    ]
}

/// Executes queued run `run` of `task`; returns the state it ended in. Errors of the machinery
/// (git, the database) end the run as `failed` with the error, never leave it half done.
pub fn execute(
    env: &Env<'_>,
    run: &Run,
    task: &Task,
    agent: &AgentConfig,
    cancel: &CancelToken,
) -> RunState {
    let store = env.store;
    match store.transition(&run.id, RunState::Queued, RunState::Preparing) {
        Ok(true) => {}
        _ => return run.state,
    }
    let state_dir = env.repo.state_dir();
    let mut summary = Summary {
        goal: task.goal.clone(),
        agent: run.agent.clone(),
        base: run.base.clone(),
        log: run_dir(&state_dir, &run.id)
            .join(agents::LOG_FILE)
            .display()
            .to_string(),
        ..Summary::default()
    };
    let mut finish = Finish::default();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    watch_cancel_requests(&state_dir, &run.id, cancel.clone(), done.clone());
    let state = match stages(env, run, task, agent, cancel, &mut summary, &mut finish) {
        Ok(state) => state,
        Err(message) => {
            finish.error = Some(message);
            RunState::Failed
        }
    };
    finish.summary = serde_json::to_string(&summary).ok();
    if finish.error.is_none() && state != RunState::Ready {
        finish.error = Some(state.as_str().replace('_', " "));
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    if summary.keep_fit {
        super::keep::stash_run(env.repo, &run.id, &run.task, &task.keep);
    }
    // The scratch goes before the end is recorded, so whoever sees the run ended sees it gone
    // (a crash in between leaves an active run, which recovery interrupts and cleans up).
    // A follow-up round works on its review's branch, which stays whatever the round did.
    let _ = worktree::remove(
        env.repo.git2(),
        &worktree::root(env.repo),
        &run.task,
        &run.id,
        state == RunState::Ready || run.parent.is_some(),
    );
    // The end must be recorded, or the run would hold the queue as if still active.
    for attempt in 0..5 {
        match store.finish(&run.id, state, &finish) {
            Ok(()) => break,
            Err(e) if attempt == 4 => {
                tracing::error!(run = %run.id, "cannot record the end of the run: {e}")
            }
            Err(_) => std::thread::sleep(std::time::Duration::from_secs(1)),
        }
    }
    // A follow-up round without a result: the round before it waits for a decision again.
    if state != RunState::Ready
        && let Some(parent) = &run.parent
    {
        let _ = store.reopen(parent);
    }
    if state.is_failure() {
        trip_breaker(store, &run.kind);
    }
    state
}

/// `gatehouse runs cancel` sets a flag in the database (it may run in another process); a
/// thread polls it and cancels the run's agent.
fn watch_cancel_requests(
    state_dir: &Path,
    id: &str,
    cancel: CancelToken,
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    let (state_dir, id) = (state_dir.to_path_buf(), id.to_string());
    let _ = std::thread::Builder::new()
        .name(format!("cancel-{id}"))
        .spawn(move || {
            let Ok(store) = Store::open(&state_dir) else {
                return;
            };
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                if store.cancel_requested(&id).unwrap_or(false) {
                    cancel.cancel();
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(300));
            }
        });
}

fn stages(
    env: &Env<'_>,
    run: &Run,
    task: &Task,
    agent: &AgentConfig,
    cancel: &CancelToken,
    summary: &mut Summary,
    finish: &mut Finish,
) -> Result<RunState, String> {
    let repo = env.repo.git2();
    let state_dir = env.repo.state_dir();
    let base =
        Oid::from_str(&run.base).map_err(|e| format!("bad base commit {}: {e}", run.base))?;
    let root = worktree::root(env.repo);
    let path = match (&run.parent, &run.branch) {
        // A follow-up round continues on its review's branch, from where the last round left it.
        (Some(_), Some(branch)) => worktree::create_on(repo, &root, branch, &run.id, base),
        _ => worktree::create(repo, &root, &run.task, &run.id, base),
    }
    .map_err(|e| e.to_string())?;
    if run.parent.is_none() {
        let branch = worktree::branch_name(&run.task, &run.id);
        env.store
            .set_branch(&run.id, &branch)
            .map_err(|e| e.to_string())?;
    }
    if !task.keep.is_empty() {
        let tree = open_worktree(env, run)?;
        summary.kept = super::keep::restore_run(env.repo, &run.id, &run.task, &task.keep, &tree);
    }
    if !task.setup.is_empty() {
        let tree = open_worktree(env, run)?;
        let dir = run_dir(&state_dir, &run.id);
        let checkout = env.repo.workdir();
        let prepared = super::setup::prepare(task, checkout, &tree, &dir, env.home, cancel);
        let failed = prepared.as_ref().err().map(|(_, why)| why.clone());
        summary.setup = Some(prepared.unwrap_or_else(|(p, _)| p));
        if cancel.is_cancelled() {
            return Ok(RunState::Cancelled);
        }
        if let Some(why) = failed {
            finish.error = Some(why);
            return Ok(RunState::Failed);
        }
    }
    summary.keep_fit = !task.keep.is_empty();
    if !env
        .store
        .transition(&run.id, RunState::Preparing, RunState::Running)
        .map_err(|e| e.to_string())?
    {
        return Ok(RunState::Cancelled);
    }
    let dir = run_dir(&state_dir, &run.id);
    let prompt = match &run.parent {
        Some(_) => super::prompt::follow_up(task, &round_context(env, run)),
        None => super::prompt::assemble(task),
    };
    let inv = Invocation {
        worktree: &path,
        run_dir: &dir,
        prompt: &prompt,
        timeout: task.timeout,
        home: env.home,
        extra_env: &worktree_git_env(),
        budget: agents::Budget {
            max_tokens: task.budget.max_tokens,
            max_usd: task.budget.max_usd,
        },
    };
    let (program, args) = agents::command_line(agent, &inv);
    summary.command = std::iter::once(program).chain(args).collect();
    let outcome = agents::run(&run.agent, agent, &inv, cancel).map_err(|e| e.to_string())?;
    finish.exit_code = outcome.exit_code.map(i64::from);
    record_usage(finish, &outcome.usage);
    summary.final_message.clone_from(&outcome.final_message);
    summary.cost_estimated = outcome.cost_estimated;
    summary.confinement = Some(format!("{:?}", outcome.confinement));
    if outcome.over_budget {
        finish.error = outcome.error.clone();
        return Ok(RunState::OverBudget);
    }
    if outcome.cancelled {
        return Ok(RunState::Cancelled);
    }
    if outcome.timed_out {
        finish.error = Some(format!(
            "the agent timed out after {} s",
            task.timeout.as_secs()
        ));
        return Ok(RunState::TimedOut);
    }
    let budget = agents::Budget {
        max_tokens: task.budget.max_tokens,
        max_usd: task.budget.max_usd,
    };
    // Agents that report usage only at the end are judged here.
    if let Some(reason) = budget.exceeded(&outcome.usage, None) {
        finish.error = Some(reason);
        return Ok(RunState::OverBudget);
    }
    if !outcome.success {
        finish.error = Some(
            outcome
                .error
                .unwrap_or_else(|| "the agent reported failure".into()),
        );
        return Ok(RunState::Failed);
    }
    if !env
        .store
        .transition(&run.id, RunState::Running, RunState::Validating)
        .map_err(|e| e.to_string())?
    {
        return Ok(RunState::Cancelled);
    }
    validate(env, run, task, &path, &dir, base, cancel, summary, finish)
}

/// Every change must be in scope; `None` when it is, else why not.
pub fn scope_error(task: &Task, changed: &[Changed]) -> Option<String> {
    let outside: Vec<&str> = changed
        .iter()
        .filter(|c| !task.in_scope(&c.path))
        .map(|c| c.path.as_str())
        .collect();
    (!outside.is_empty()).then(|| {
        format!(
            "changed files outside the task's scope: {}",
            outside.join(", ")
        )
    })
}

/// The run's worktree as git recorded it (not by following its `.git` file, which the agent
/// could have rewritten to point at the user's repository).
fn open_worktree(env: &Env<'_>, run: &Run) -> Result<Repository, String> {
    let worktree = env
        .repo
        .git2()
        .find_worktree(&worktree::worktree_name(&run.id))
        .map_err(|e| e.to_string())?;
    Repository::open_from_worktree(&worktree).map_err(|e| e.to_string())
}

#[allow(clippy::too_many_arguments)]
fn validate(
    env: &Env<'_>,
    run: &Run,
    task: &Task,
    path: &Path,
    dir: &Path,
    base: Oid,
    cancel: &CancelToken,
    summary: &mut Summary,
    finish: &mut Finish,
) -> Result<RunState, String> {
    let worktree = open_worktree(env, run)?;
    // The agent must leave its changes uncommitted: a commit of its own would hide them from
    // the scope check below.
    let head = worktree
        .head()
        .and_then(|h| h.peel_to_commit())
        .map(|c| c.id())
        .ok();
    if head != Some(base) {
        finish.error = Some(
            "the agent made commits of its own; agents must leave their changes uncommitted".into(),
        );
        return Ok(RunState::Failed);
    }
    let changed = validate::changed_files(&worktree).map_err(|e| e.to_string())?;
    summary.files_changed.clone_from(&changed);
    if changed.is_empty() {
        // The agent's last words usually say why (a refusal, a question, a missing file).
        let said = summary
            .final_message
            .as_deref()
            .map(|m| m.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|m| !m.is_empty())
            .map(|m| {
                let cut: String = m.chars().take(300).collect();
                format!(
                    "; its last message: \"{cut}{}\"",
                    if cut.len() < m.len() { "…" } else { "" }
                )
            })
            .unwrap_or_default();
        finish.error = Some(format!("the agent changed no file{said}"));
        return Ok(RunState::Failed);
    }
    if let Some(error) = scope_error(task, &changed) {
        finish.error = Some(error);
        return Ok(RunState::Failed);
    }
    summary.acceptance = run_acceptance(task, path, dir, env.home, cancel);
    if cancel.is_cancelled() {
        return Ok(RunState::Cancelled);
    }
    if let Some(error) = acceptance_error(&summary.acceptance) {
        finish.error = Some(error);
        return Ok(RunState::Failed);
    }
    // An acceptance command (a formatter, a lockfile update) may have changed files too: what
    // gets committed must still be in scope.
    let changed = validate::changed_files(&worktree).map_err(|e| e.to_string())?;
    if let Some(error) = scope_error(task, &changed) {
        finish.error = Some(format!("after the acceptance commands, {error}"));
        return Ok(RunState::Failed);
    }
    summary.files_changed = changed;
    let subject = task
        .goal
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .chars()
        .take(60)
        .collect::<String>();
    let commit = validate::commit(&worktree, base, &subject, &run.task, &run.id)
        .map_err(|e| e.to_string())?;
    summary.commit = Some(commit.to_string());
    let refused = validate::refused_content(&worktree, base, commit).map_err(|e| e.to_string())?;
    if !refused.is_empty() {
        finish.error = Some(refused.join("; "));
        return Ok(RunState::Failed);
    }
    summary.diffstat =
        Some(validate::diffstat(env.repo.git2(), base, commit).map_err(|e| e.to_string())?);
    summary.findings = gate(env, base, commit).map_err(|e| e.to_string())?;
    let blocking: Vec<&Finding> = summary
        .findings
        .iter()
        .filter(|f| f.level == Level::Block)
        .collect();
    if task.accept.contains(&Accept::Gate) && !blocking.is_empty() {
        let list: Vec<String> = blocking
            .iter()
            .map(|f| format!("{}:{} {}", f.path, f.line, f.code))
            .collect();
        finish.error = Some(format!("the gate blocks: {}", list.join(", ")));
        return Ok(RunState::Failed);
    }
    let branch = run
        .branch
        .clone()
        .filter(|_| run.parent.is_some())
        .unwrap_or_else(|| worktree::branch_name(&run.task, &run.id));
    env.repo
        .git2()
        .reference(
            &format!("refs/heads/{branch}"),
            commit,
            true,
            &format!("gatehouse: run {}", run.id),
        )
        .map_err(|e| e.to_string())?;
    Ok(RunState::Ready)
}

/// The gate's findings on what the commit brings, as a push of it would see them.
fn gate(env: &Env<'_>, base: Oid, commit: Oid) -> Result<Vec<Finding>, engine::EngineError> {
    let request = Request {
        target: Target::Commits {
            base: Some(base),
            tip: commit,
        },
        scope: env.settings.scope.unwrap_or(Scope::ChangedLines),
        rules: Vec::new(),
        level_at_least: None,
        use_cache: true,
    };
    Ok(engine::run(env.repo, env.settings, &request)?.findings)
}

/// What a follow-up round's prompt adds: its round number, the reviewer's comment, and the
/// review's diff so far (from the first round's base to this round's base, the branch's tip).
fn round_context(env: &Env<'_>, run: &Run) -> super::prompt::Round {
    let rounds = env.store.rounds(&run.id).unwrap_or_default();
    let first_base = rounds.first().and_then(|r| Oid::from_str(&r.base).ok());
    let tip = Oid::from_str(&run.base).ok();
    let diff = match (first_base, tip) {
        (Some(base), Some(tip)) => super::prompt::diff_text(env.repo.git2(), base, tip)
            .unwrap_or_else(|e| format!("(the diff cannot be shown: {e})")),
        _ => String::new(),
    };
    super::prompt::Round {
        number: rounds.len().max(2),
        comment: run.feedback.clone().unwrap_or_default(),
        diff,
    }
}

fn record_usage(finish: &mut Finish, usage: &Usage) {
    finish.tokens = Tokens {
        input: usage.input,
        cached_input: usage.cached_input,
        output: usage.output,
        reasoning: usage.reasoning,
    };
    finish.cost_usd = usage.cost_usd;
}

/// Pauses a kind whose last [`BREAKER_THRESHOLD`] finished runs all failed.
fn trip_breaker(store: &Store, kind: &str) {
    let Ok(runs) = store.runs(&[]) else { return };
    let resumed = store.resumed_at(kind).ok().flatten().unwrap_or_default();
    let ended: Vec<&Run> = runs
        .iter()
        .rev()
        .filter(|r| {
            r.kind == kind
                && r.finished_at.as_deref().unwrap_or("") > resumed.as_str()
                && (r.state.is_failure()
                    || matches!(
                        r.state,
                        RunState::Ready
                            | RunState::Accepted
                            | RunState::Rejected
                            | RunState::ChangesRequested
                    ))
        })
        .take(BREAKER_THRESHOLD)
        .collect();
    if ended.len() == BREAKER_THRESHOLD && ended.iter().all(|r| r.state.is_failure()) {
        let reason = format!(
            "{BREAKER_THRESHOLD} consecutive failed runs (last: {})",
            ended[0].id
        );
        let _ = store.pause_kind(kind, &reason);
    }
}
