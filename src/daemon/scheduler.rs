//! The scheduler: queues the tasks a new commit or the clock triggers, and starts queued runs
//! when the repository is quiet and fewer than `max_parallel` are running. Each run executes on
//! a thread of its own; stopping the daemon cancels them (recorded as `cancelled`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::Shared;
use super::quiet::git_operation;
use super::server::Daemon;
use crate::agents::CancelToken;
use crate::config;
use crate::git::Repo;
use crate::store::Store;
use crate::store::runs::{Finish, RunState};
use crate::tasks::{self, queue, run as runner};

/// The runs this daemon is executing: their cancel tokens and threads.
#[derive(Default)]
pub struct Running {
    runs: Mutex<Vec<(String, CancelToken, std::thread::JoinHandle<()>)>>,
}

impl Running {
    fn active(&self) -> usize {
        self.reap();
        self.runs.lock().map_or(0, |r| r.len())
    }

    /// Forgets run `id`, which has recorded its end: its place is free before its thread is gone.
    fn ended(&self, id: &str) {
        if let Ok(mut runs) = self.runs.lock() {
            runs.retain(|(run, _, _)| run != id);
        }
    }

    fn reap(&self) {
        if let Ok(mut runs) = self.runs.lock() {
            runs.retain(|(_, _, handle)| !handle.is_finished());
        }
    }

    /// Cancels every run and waits (up to `limit`) for them to record their end.
    pub fn cancel_all(&self, limit: Duration) {
        let handles: Vec<_> = match self.runs.lock() {
            Ok(mut runs) => runs.drain(..).collect(),
            Err(_) => return,
        };
        for (id, token, _) in &handles {
            tracing::info!(run = %id, "stopping: cancelling the run");
            token.cancel();
        }
        let deadline = std::time::Instant::now() + limit;
        for (_, _, handle) in handles {
            while !handle.is_finished() && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// Runs left behind by a dead process become `interrupted`; their worktrees and branches go.
pub fn recover(daemon: &Daemon) {
    let result = Repo::open(&daemon.git_dir)
        .map_err(|e| e.to_string())
        .and_then(|repo| {
            let store = Store::open(&repo.state_dir()).map_err(|e| e.to_string())?;
            queue::recover(&store, &repo, true).map_err(|e| e.to_string())
        });
    match result {
        Ok(ids) if !ids.is_empty() => {
            tracing::info!(runs = ?ids, "runs of a previous daemon were interrupted")
        }
        Ok(_) => {}
        Err(e) => tracing::warn!("cannot recover interrupted runs: {e}"),
    }
}

/// Whether `commit` is an agent's (a `Gatehouse-Run:` trailer) or the merge `review accept`
/// made of one: accepting a review must not trigger its task again.
fn is_review_commit(repo: &Repo, commit: git2::Oid) -> bool {
    let agent = |c: git2::Oid| {
        repo.trailers(c).is_ok_and(|t| {
            t.iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("Gatehouse-Run"))
        })
    };
    if agent(commit) {
        return true;
    }
    let Ok(found) = repo.git2().find_commit(commit) else {
        return false;
    };
    found.parent_count() == 2 && found.parent_id(1).is_ok_and(agent)
}

/// Queues what a new commit on the current branch triggers.
pub fn on_commit(daemon: &Daemon, repo: &Repo, commit: git2::Oid, base: Option<git2::Oid>) {
    let Some(workdir) = repo.workdir() else {
        return;
    };
    // A broken task file keeps only itself from running; `status` and `doctor` name it.
    let tasks = match tasks::spec::load_each(workdir) {
        Ok(files) => {
            for broken in &files.broken {
                tracing::warn!("task file not loaded: {}", broken.summary());
            }
            files.tasks
        }
        Err(e) => return tracing::warn!("cannot read task files: {e}"),
    };
    if tasks.is_empty() || is_review_commit(repo, commit) {
        return;
    }
    let settings = match config::load_for(repo) {
        Ok(settings) => settings,
        Err(e) => return tracing::warn!("cannot load the configuration: {e}"),
    };
    let changed: Vec<String> = repo
        .diff_trees(
            base.and_then(|b| repo.commit_tree(b).ok()),
            repo.commit_tree(commit).unwrap_or(commit),
            false,
        )
        .map(|changes| {
            changes
                .into_iter()
                .flat_map(|c| std::iter::once(c.path).chain(c.old_path))
                .collect()
        })
        .unwrap_or_default();
    let queued = Store::open(&repo.state_dir())
        .map_err(|e| e.to_string())
        .and_then(|mut store| {
            let at = commit.to_string();
            let base_of = |task: &tasks::Task| queue::start_commit(repo, task, &at);
            queue::on_commit(&mut store, &tasks, &settings, &changed, &base_of)
                .map_err(|e| e.to_string())
        });
    match queued {
        Ok(ids) if !ids.is_empty() => {
            tracing::info!(runs = ?ids, %commit, "queued tasks triggered by the commit");
            daemon.shared.schedule.notify_one();
        }
        Ok(_) => {}
        Err(e) => tracing::warn!("cannot queue triggered tasks: {e}"),
    }
}

/// One scheduling pass: queue due `every` tasks, then start what may start. Returns how long
/// to wait before the next pass when something is waiting on time (quiet, a due task, the
/// daily budget's new day).
pub fn pass(daemon: &Arc<Daemon>, running: &Arc<Running>) -> Option<Duration> {
    let repo = Repo::open(&daemon.git_dir).ok()?;
    let mut store = match Store::open(&repo.state_dir()) {
        Ok(store) => store,
        Err(e) => {
            tracing::warn!("not scheduling: {e}");
            return None;
        }
    };
    let settings = config::load_for(&repo).ok()?;
    // One broken task file must not stop the others: its queued runs fail with its error below.
    let files = match repo.workdir().map(tasks::spec::load_each).transpose() {
        Ok(files) => files.unwrap_or_default(),
        Err(e) => {
            tracing::warn!("not starting runs: {e}");
            return None;
        }
    };
    let tasks = files.tasks;
    // A foreground `task run` that died leaves its run active: it must not hold the queue.
    let _ = queue::recover(&store, &repo, false);
    let now = crate::store::runs::seconds_between("1970-01-01T00:00:00Z", &crate::store::now())
        .unwrap_or(0);
    let head = repo
        .resolve_commit("HEAD")
        .map(|h| h.to_string())
        .unwrap_or_default();
    let base_of = |task: &tasks::Task| {
        (!head.is_empty())
            .then(|| queue::start_commit(&repo, task, &head))
            .flatten()
    };
    let _ = queue::on_clock(&mut store, &tasks, &settings, &base_of, now);
    let due = queue::next_due(&store, &tasks, &settings, &base_of, now);
    if store
        .runs(&[RunState::Queued])
        .map_or(true, |q| q.is_empty())
    {
        return due;
    }
    if let Ok(Some(reason)) = queue::held(&store, settings.tasks.daily_budget_usd) {
        tracing::info!("queue held: {reason}");
        return Some(earliest(due, queue::until_midnight(now)));
    }
    // Quiet holds back automatic runs only: a run started by hand starts now.
    let idle = daemon.shared.idle();
    let mut not_quiet = (idle < settings.daemon.quiet)
        .then(|| settings.daemon.quiet - idle + Duration::from_millis(50));
    if let Some(op) = git_operation(&daemon.git_dir) {
        tracing::debug!("not quiet: {op} in progress");
        not_quiet = Some(Duration::from_secs(1));
    }
    let due = match not_quiet {
        Some(wait) => Some(earliest(due, wait)),
        None => due,
    };
    while running.active() < settings.tasks.max_parallel {
        let Ok(Some(run)) = queue::next(&store, settings.tasks.max_parallel, not_quiet.is_none())
        else {
            break;
        };
        let fail = |why: String| {
            let _ = store.finish(
                &run.id,
                RunState::Failed,
                &Finish {
                    error: Some(why),
                    ..Finish::default()
                },
            );
        };
        let Some(task) = tasks.iter().find(|t| t.name == run.task).cloned() else {
            let file = format!("{}/{}.toml", tasks::spec::TASKS_DIR, run.task);
            match files.broken.iter().find(|b| b.file == file) {
                Some(broken) => fail(format!(
                    "the task file does not parse: {}; fix it and run the task again",
                    broken.summary()
                )),
                None => fail(format!("the task file of {} is gone", run.task)),
            }
            continue;
        };
        let Some(agent) = settings.agents.get(&task.agent).cloned() else {
            fail(format!(
                "no [agents.{}] table in .gatehouse/config.toml",
                task.agent
            ));
            continue;
        };
        // What runs unattended is what was trusted when it was queued.
        if queue::is_automatic(&run.trigger)
            && run.task_hash.as_deref() != Some(queue::digest(&task, &settings).as_str())
        {
            fail(format!(
                "task {} or its agent changed since it was queued; `gatehouse task trust {}` again",
                task.name, task.name
            ));
            continue;
        }
        start(daemon, running, run, task, agent, settings.clone());
    }
    // Every place taken while runs started by hand wait: look again soon, whatever quiet says,
    // in case a place frees without a wake-up reaching this loop.
    let hand_started_waiting = store
        .runs(&[RunState::Queued])
        .is_ok_and(|q| q.iter().any(|r| !queue::is_automatic(&r.trigger)));
    if hand_started_waiting && running.active() >= settings.tasks.max_parallel {
        return Some(earliest(due, Duration::from_secs(1)));
    }
    due
}

fn earliest(a: Option<Duration>, b: Duration) -> Duration {
    a.map_or(b, |a| a.min(b))
}

fn start(
    daemon: &Arc<Daemon>,
    running: &Arc<Running>,
    run: crate::store::runs::Run,
    task: tasks::Task,
    agent: crate::agents::AgentConfig,
    settings: config::Settings,
) {
    let token = CancelToken::new();
    let thread_token = token.clone();
    let git_dir = daemon.git_dir.clone();
    let shared: Arc<Shared> = daemon.shared.clone();
    let places = running.clone();
    let id = run.id.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("run-{id}"))
        .spawn(move || {
            let (Ok(repo), home) = (Repo::open(&git_dir), crate::env::home()) else {
                return;
            };
            let Ok(store) = Store::open(&repo.state_dir()) else {
                return;
            };
            tracing::info!(run = %run.id, task = %run.task, "run starting");
            let env = runner::Env {
                repo: &repo,
                store: &store,
                settings: &settings,
                home: home.as_deref(),
            };
            let state = runner::execute(&env, &run, &task, &agent, &thread_token);
            tracing::info!(run = %run.id, state = %state, "run ended");
            // The next pass, which this wakes, must see the place free: the thread itself is
            // still finishing.
            places.ended(&run.id);
            shared.schedule.notify_one();
        });
    match spawned {
        Ok(handle) => {
            if let Ok(mut runs) = running.runs.lock() {
                runs.push((id, token, handle));
            }
        }
        Err(e) => tracing::warn!(run = %id, "cannot start a thread for the run: {e}"),
    }
}
