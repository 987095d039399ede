//! `gatehouse task list|run|trust|resume|forget`: the task files and running them.

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::json;

use super::daemon::StatusFormat;
use crate::ExitStatus;
use crate::agents::CancelToken;
use crate::config::{self, Settings};
use crate::git::Repo;
use crate::store::Store;
use crate::store::runs::{Run, RunState};
use crate::tasks::{self, Task, queue, run as runner};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// The task files of .gatehouse/tasks/, their triggers and whether they are trusted.
    List {
        #[arg(long, value_enum, default_value_t = StatusFormat::Human)]
        format: StatusFormat,
    },
    /// Queue a run of task NAME on HEAD (the daemon runs it); without a daemon, run it now.
    #[command(after_long_help = super::examples::TASK_RUN)]
    Run {
        name: String,
        /// Wait for the run to end and print its outcome.
        #[arg(long)]
        wait: bool,
        /// Run in the current checkout, without a worktree or daemon (for CI engines); prints
        /// the summary as JSON.
        #[arg(long, conflicts_with = "wait")]
        here: bool,
    },
    /// Trust task NAME's file as it is now, so its trigger may run it unattended.
    Trust { name: String },
    /// Resume a task kind the failure breaker paused.
    Resume { kind: String },
    /// Remove the folders task NAME keeps between runs (`keep = [...]`): after deleting its
    /// file, or to make its next run install afresh.
    Forget { name: String },
}

pub fn run(args: &Args) -> anyhow::Result<ExitStatus> {
    let repo = Repo::open_from_env()?;
    match &args.action {
        Action::List { format } => list(&repo, *format),
        Action::Run { name, wait, here } => {
            if *here {
                super::task_here::run(&repo, name)
            } else {
                run_task(&repo, name, *wait)
            }
        }
        Action::Trust { name } => {
            let task = find(&repo, name)?;
            let who = super::env::identity(&repo)
                .map_or_else(|_| "unknown".to_string(), |i| i.to_string());
            let settings = config::load_for(&repo)?;
            let digest = queue::digest(&task, &settings);
            open_store(&repo)?.trust(&task.name, &digest, &who)?;
            eprintln!(
                "trusted {} ({} and [agents.{}]) as they are now; editing either untrusts it",
                task.name, task.file, task.agent
            );
            Ok(ExitStatus::Success)
        }
        Action::Forget { name } => forget(&repo, name),
        Action::Resume { kind } => {
            if open_store(&repo)?.resume_kind(kind)? {
                eprintln!("resumed task kind {kind}");
            } else {
                eprintln!("task kind {kind} was not paused");
            }
            Ok(ExitStatus::Success)
        }
    }
}

/// The state database of `repo`.
pub(super) fn open_store(repo: &Repo) -> anyhow::Result<Store> {
    Ok(Store::open(&repo.state_dir())?)
}

/// Every task file of the working tree, those that parse and those that do not.
pub(super) fn load_tasks(repo: &Repo) -> anyhow::Result<tasks::spec::TaskFiles> {
    let Some(workdir) = repo.workdir() else {
        bail!("tasks need a working tree: this repository is bare");
    };
    Ok(tasks::spec::load_each(workdir)?)
}

/// Task `name`, or an error listing the known ones. Another task's broken file does not keep
/// this one from running; its own broken file is the error.
pub(super) fn find(repo: &Repo, name: &str) -> anyhow::Result<Task> {
    let files = load_tasks(repo)?;
    let file = format!("{}/{name}.toml", tasks::spec::TASKS_DIR);
    if let Some(broken) = files.broken.into_iter().find(|b| b.file == file) {
        return Err(broken.error.into());
    }
    let names: Vec<String> = files.tasks.iter().map(|t| t.name.clone()).collect();
    files
        .tasks
        .into_iter()
        .find(|t| t.name == name)
        .with_context(|| {
            format!(
                "no task `{name}` in {} (tasks: {})",
                tasks::spec::TASKS_DIR,
                if names.is_empty() {
                    "none".into()
                } else {
                    names.join(", ")
                }
            )
        })
}

/// Lists the tasks that parse and then each broken file with its error (JSON: `broken`, each
/// `{file, error}`). A broken file is a configuration error, so the exit is 2 once everything is
/// listed: a script or CI step checking its tasks must not pass over it (the spec's `2` is for
/// configuration errors, whatever else the command could still do).
fn list(repo: &Repo, format: StatusFormat) -> anyhow::Result<ExitStatus> {
    let store = open_store(repo)?;
    let settings = config::load_for(repo)?;
    let files = load_tasks(repo)?;
    let broken: Vec<serde_json::Value> = files
        .broken
        .iter()
        .map(|b| json!({ "file": b.file, "error": b.summary() }))
        .collect();
    let mut rows = Vec::new();
    for task in files.tasks {
        let trigger = match &task.trigger {
            tasks::Trigger::Manual => "manual".to_string(),
            tasks::Trigger::Commit { paths } if paths.is_empty() => "on commit".to_string(),
            tasks::Trigger::Commit { paths } => format!("on commit to {}", paths.join(", ")),
            tasks::Trigger::Every(d) => format!("every {}", human_duration(*d)),
        };
        rows.push(json!({
            "name": task.name, "file": task.file, "kind": task.kind, "agent": task.agent,
            "trigger": trigger, "trusted": queue::is_trusted(&store, &task, &settings)?,
            "paused": store.paused(&task.kind)?, "scope": task.scope,
        }));
    }
    let mut out = std::io::stdout().lock();
    match format {
        StatusFormat::Json => writeln!(out, "{}", json!({ "tasks": rows, "broken": broken }))?,
        StatusFormat::Human if rows.is_empty() && broken.is_empty() => {
            writeln!(out, "no tasks in {}", tasks::spec::TASKS_DIR)?
        }
        StatusFormat::Human => {
            for r in &rows {
                let trust = if r["trusted"] == true {
                    "trusted"
                } else {
                    "untrusted: runs only by hand"
                };
                let paused = r["paused"]
                    .as_str()
                    .map(|p| format!(", paused: {p}"))
                    .unwrap_or_default();
                writeln!(
                    out,
                    "{:20} {:18} agent {:10} {} ({trust}{paused})",
                    r["name"].as_str().unwrap_or(""),
                    r["kind"].as_str().unwrap_or(""),
                    r["agent"].as_str().unwrap_or(""),
                    r["trigger"].as_str().unwrap_or("")
                )?;
            }
        }
    }
    if format == StatusFormat::Human {
        for b in &files.broken {
            writeln!(out, "{:20} does not parse: {}", b.file, b.summary())?;
        }
        let has_file = |t: &str| {
            rows.iter().any(|r| r["name"] == t)
                || files
                    .broken
                    .iter()
                    .any(|b| b.file == format!("{}/{t}.toml", tasks::spec::TASKS_DIR))
        };
        let orphans: Vec<String> = tasks::keep::stored_tasks(repo)
            .into_iter()
            .filter(|t| !has_file(t))
            .collect();
        if !orphans.is_empty() {
            writeln!(
                out,
                "kept folders of tasks without a file: {} (`gatehouse task forget NAME` removes them)",
                orphans.join(", ")
            )?;
        }
    }
    if files.broken.is_empty() {
        return Ok(ExitStatus::Success);
    }
    for b in &files.broken {
        eprintln!("error: {}", b.error);
    }
    Ok(ExitStatus::Error)
}

/// A task is its file, so deleting one is deleting the file; what gatehouse keeps for it outside
/// the repository, its `keep` folders, goes with this. Refused while a run of the task is active:
/// that run holds the folders and stores them again when it ends.
fn forget(repo: &Repo, name: &str) -> anyhow::Result<ExitStatus> {
    let active =
        open_store(repo)?.runs(&[RunState::Preparing, RunState::Running, RunState::Validating])?;
    if let Some(run) = active.iter().find(|r| r.task == name) {
        bail!(
            "run {} of task {name} is active and stores its kept folders again when it ends: \
nothing was removed; run this again once it ends (or `gatehouse runs cancel {}`)",
            run.id,
            run.id
        );
    }
    match tasks::keep::forget_task(repo, name)? {
        Some(path) => eprintln!(
            "removed the kept folders of task {name} ({})",
            path.display()
        ),
        None => eprintln!("task {name} has no kept folders: nothing to remove"),
    }
    Ok(ExitStatus::Success)
}

fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// The settings, and the agent config task `task` names.
pub(super) fn agent_for(
    settings: &Settings,
    task: &Task,
) -> anyhow::Result<crate::agents::AgentConfig> {
    settings.agents.get(&task.agent).cloned().with_context(|| {
        format!(
            "task {} names agent `{}`, which has no [agents.{}] table in .gatehouse/config.toml",
            task.name, task.agent, task.agent
        )
    })
}

fn run_task(repo: &Repo, name: &str, wait: bool) -> anyhow::Result<ExitStatus> {
    let task = find(repo, name)?;
    let settings = config::load_for(repo)?;
    agent_for(&settings, &task)?;
    let head = match &task.base {
        Some(branch) => repo
            .resolve_commit(&format!("refs/heads/{branch}"))
            .with_context(|| {
                format!(
                    "task {} starts from the branch `{branch}`, which does not exist",
                    task.name
                )
            })?,
        None => repo
            .resolve_commit("HEAD")
            .context("a task runs on a commit: HEAD has none")?,
    };
    let mut store = open_store(repo)?;
    let up = daemon_up(repo);
    refuse_by_hand(&store, &settings, &task.kind, up)?;
    if let Some(why) = queue::untrusted_widening(&store, &task, &settings)? {
        bail!(why);
    }
    if !up {
        // A run whose process died (kill -9, a crash, a reboot) holds its task's place until
        // someone notices; without a daemon that is this command, as the daemon does at start.
        for id in queue::recover(&store, repo, false)? {
            eprintln!("run {id} was interrupted: the process running it ended");
        }
    }
    let digest = queue::digest(&task, &settings);
    let Some(id) = store.enqueue(
        &task.name,
        &task.kind,
        &task.agent,
        "manual",
        &head.to_string(),
        &digest,
    )?
    else {
        bail!(
            "task {} is already queued or running on {}",
            task.name,
            &head.to_string()[..12]
        );
    };
    eprintln!(
        "queued run {id} of {} on {}",
        task.name,
        &head.to_string()[..12]
    );
    start_queued(repo, &store, &id, wait)
}

/// Starts queued run `id` now: a running daemon takes it at once (a run started by hand does not
/// wait for quiet); without one it runs here, in the foreground. With `wait`, waits for its end,
/// saying on stderr what it waits for.
pub(super) fn start_queued(
    repo: &Repo,
    store: &Store,
    id: &str,
    wait: bool,
) -> anyhow::Result<ExitStatus> {
    let paths = super::daemon::paths(repo);
    let poke = crate::daemon::protocol::Command::Poke {
        hook: Some("task-run".into()),
    };
    let daemon_up =
        crate::daemon::client::request_blocking(&paths.socket, poke, Duration::from_millis(500))
            .is_ok();
    if daemon_up {
        if !wait {
            let settings = config::load_for(repo)?;
            match queue::held(store, settings.tasks.daily_budget_usd)? {
                Some(reason) => eprintln!(
                    "the queue is held ({reason}): the daemon starts it once the budget allows \
(the next UTC day); follow it with `gatehouse runs show {id}`"
                ),
                None => eprintln!(
                    "the daemon starts it now; follow it with `gatehouse runs show {id}` (or `--wait`)"
                ),
            }
            return Ok(ExitStatus::Success);
        }
        return wait_for(repo, store, id);
    }
    let settings = config::load_for(repo)?;
    if let Some(state) = wait_for_place(repo, store, id, settings.tasks.max_parallel)? {
        return Ok(report_end(store, id, state));
    }
    eprintln!("no daemon is running: running {id} now, in the foreground");
    let run = store.run(id)?.context("the queued run vanished")?;
    let task = find(repo, &run.task)?;
    Ok(execute_now(repo, store, &settings, &run, &task))
}

/// Whether a daemon answers for `repo`.
pub(super) fn daemon_up(repo: &Repo) -> bool {
    let socket = super::daemon::paths(repo).socket;
    let ping = crate::daemon::protocol::Command::Ping;
    crate::daemon::client::request_blocking(&socket, ping, Duration::from_millis(500)).is_ok()
}

/// Refuses a run of `kind` started by hand (`task run`, `--here`, `review request-changes`)
/// that the daemon's scheduler would not start either. A kind the failure breaker paused is
/// refused always, daemon or not: resuming it is the user's decision, and a run queued behind
/// the pause would start unannounced later. A spent daily budget holds the daemon's queue (the
/// run waits for the next UTC day there), so it is refused only when there is no daemon, that
/// is when the run would start here and now. Nothing is recorded when refused.
pub(super) fn refuse_by_hand(
    store: &Store,
    settings: &Settings,
    kind: &str,
    daemon: bool,
) -> anyhow::Result<()> {
    if let Some(reason) = store.paused(kind)? {
        bail!(
            "task kind {kind} is paused by the failure breaker ({reason}): nothing was run; \
`gatehouse task resume {kind}` resumes it, then run it again"
        );
    }
    if !daemon && let Some(reason) = queue::held(store, settings.tasks.daily_budget_usd)? {
        bail!(
            "the daily budget is spent ({reason}): nothing was run; runs start again on the next \
UTC day, or raise [tasks] daily_budget_usd in .gatehouse/config.toml"
        );
    }
    Ok(())
}

/// Without a daemon, waits while `max_parallel` runs are working (other `task run`s in the
/// foreground), as the daemon's queue would; runs of processes that died do not count. Returns
/// the run's state if it ended meanwhile (cancelled by `gatehouse runs cancel`).
fn wait_for_place(
    repo: &Repo,
    store: &Store,
    id: &str,
    max_parallel: usize,
) -> anyhow::Result<Option<RunState>> {
    let mut said = false;
    loop {
        let _ = queue::recover(store, repo, false);
        let run = store.run(id)?.context("the queued run vanished")?;
        if run.state != RunState::Queued {
            return Ok(Some(run.state));
        }
        let active = store
            .runs(&[RunState::Preparing, RunState::Running, RunState::Validating])?
            .len();
        if active < max_parallel.max(1) {
            return Ok(None);
        }
        if !said {
            eprintln!(
                "run {id}: waiting: {}",
                queue::waiting_for(store, id, max_parallel, None)?
            );
            said = true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Runs a queued run in this process (no daemon); prints its outcome.
pub(super) fn execute_now(
    repo: &Repo,
    store: &Store,
    settings: &Settings,
    run: &Run,
    task: &Task,
) -> ExitStatus {
    let agent = match agent_for(settings, task) {
        Ok(agent) => agent,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitStatus::Error;
        }
    };
    let home = super::env::home();
    let env = runner::Env {
        repo,
        store,
        settings,
        home: home.as_deref(),
    };
    let cancel = CancelToken::new();
    let flag = cancel.clone();
    let _ = ctrlc_cancel(flag);
    let state = runner::execute(&env, run, task, &agent, &cancel);
    if state == RunState::Queued {
        // A daemon started meanwhile and took the run: wait for it there.
        return wait_for(repo, store, &run.id).unwrap_or(ExitStatus::Error);
    }
    report_end(store, &run.id, state)
}

/// Ctrl-C (and SIGTERM) cancel the run, killing the agent's process group, instead of leaving
/// it running orphaned: the signals are blocked in this thread (and so in every thread started
/// after it) and awaited by one thread that cancels.
pub(super) fn ctrlc_cancel(token: CancelToken) -> std::io::Result<()> {
    // SAFETY: a zeroed sigset_t is a valid argument for sigemptyset, which initialises it.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: signal-set manipulation on a local set, then blocking it for this thread only.
    unsafe {
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGHUP);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
    std::thread::Builder::new()
        .name("gatehouse-signals".into())
        .spawn(move || {
            let mut sig = 0;
            // SAFETY: waits for one of the signals blocked above; `set` was initialised.
            if unsafe { libc::sigwait(&set, &mut sig) } == 0 {
                token.cancel();
            }
        })?;
    Ok(())
}

/// Waits for run `id` to end, saying on stderr what it is waiting for whenever that changes.
fn wait_for(repo: &Repo, store: &Store, id: &str) -> anyhow::Result<ExitStatus> {
    let socket = super::daemon::paths(repo).socket;
    let settings = config::load_for(repo).ok();
    let (max_parallel, budget) = settings.as_ref().map_or((1, None), |s| {
        (s.tasks.max_parallel, s.tasks.daily_budget_usd)
    });
    let mut said = String::new();
    let mut polls = 0u32;
    loop {
        let run = store.run(id)?.context("the run vanished")?;
        if !(run.state == RunState::Queued || run.state.is_active()) {
            return Ok(report_end(store, id, run.state));
        }
        let now = match run.state {
            RunState::Queued => format!(
                "waiting: {}",
                queue::waiting_for(store, id, max_parallel, budget)?
            ),
            RunState::Preparing => "preparing its worktree".into(),
            RunState::Running => format!("the agent ({}) is working", run.agent),
            _ => "validating: scope, acceptance commands, the gate".into(),
        };
        if now != said {
            eprintln!("run {id}: {now}");
            said = now;
        }
        polls += 1;
        // Every few seconds: is there still a daemon to run it?
        if polls.is_multiple_of(20) {
            let ping = crate::daemon::protocol::Command::Ping;
            if crate::daemon::client::request_blocking(&socket, ping, Duration::from_secs(2))
                .is_err()
            {
                bail!(
                    "the daemon stopped; run {id} stays {} (`gatehouse daemon start` resumes the queue)",
                    run.state
                );
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn report_end(store: &Store, id: &str, state: RunState) -> ExitStatus {
    let run = store.run(id).ok().flatten();
    let error = run
        .as_ref()
        .and_then(|r| r.error.clone())
        .unwrap_or_default();
    match state {
        RunState::Ready => {
            let branch = run.and_then(|r| r.branch).unwrap_or_default();
            eprintln!(
                "run {id} is ready for review on {branch}: `gatehouse review show {id}`, then accept or reject it"
            );
            ExitStatus::Success
        }
        other => {
            eprintln!(
                "run {id} ended {other}: {error} (`gatehouse runs show {id}`, `gatehouse runs log {id}`)"
            );
            ExitStatus::Blocked
        }
    }
}
