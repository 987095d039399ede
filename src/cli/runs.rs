//! `gatehouse runs list|show|log|cancel`: every run of every task, and `gatehouse stats`.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::daemon::StatusFormat;
use super::task::open_store;
use crate::ExitStatus;
use crate::git::Repo;
use crate::store::Store;
use crate::store::runs::{Finish, Run, RunState};
use crate::tasks::run::run_dir;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Option<Action>,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Every run, oldest first.
    List {
        #[arg(long, value_enum, default_value_t = StatusFormat::Human)]
        format: StatusFormat,
    },
    /// One run: state, times, tokens, cost, error, acceptance results.
    Show {
        /// A run id, a unique prefix of one, or `latest`.
        id: String,
        #[arg(long, value_enum, default_value_t = StatusFormat::Human)]
        format: StatusFormat,
    },
    /// The agent's captured output of a run ("no output yet" before it has any).
    Log { id: String },
    /// Cancel a queued or running run.
    Cancel { id: String },
}

pub fn run(args: &Args) -> anyhow::Result<ExitStatus> {
    let repo = Repo::open_from_env()?;
    let store = open_store(&repo)?;
    match &args.action {
        None => list(&store, StatusFormat::Human),
        Some(Action::List { format }) => list(&store, *format),
        Some(Action::Show { id, format }) => {
            let run = find(&store, id)?;
            let mut json = to_json(&run);
            let mut text = human(&run);
            if run.state.is_active() {
                let worktree = crate::tasks::worktree::worktree_path(
                    &crate::tasks::worktree::root(&repo),
                    &run.id,
                );
                text.push_str(&format!("worktree {}\n", worktree.display()));
                json["worktree"] = Value::String(worktree.display().to_string());
            }
            print(*format, &json, &text)
        }
        Some(Action::Log { id }) => {
            let run = find(&store, id)?;
            let log = run_dir(&repo.state_dir(), &run.id).join(crate::agents::LOG_FILE);
            // The run directory is the agent's to write in: `agent.log` may have become a
            // symlink to a secret or a FIFO. Never followed nor opened (see `tail_no_follow`);
            // the log is capped when written, so 64 MiB is never a real log's limit.
            match crate::config::read::tail_no_follow(&log, 64 << 20) {
                Ok(Some(text)) if !text.is_empty() => write_log(&text)?,
                Ok(Some(_)) => eprintln!("run {} ({}): no output yet", run.id, run.state),
                Ok(None) => {
                    let why = if run.state == RunState::Queued {
                        "it has not started"
                    } else if run.started_at.is_none() {
                        "it never started"
                    } else {
                        "its agent wrote nothing"
                    };
                    eprintln!("run {} ({}): no output yet ({why})", run.id, run.state);
                }
                Err(e) => {
                    return Err(e).with_context(|| format!("refusing to read {}", log.display()));
                }
            }
            Ok(ExitStatus::Success)
        }
        Some(Action::Cancel { id }) => cancel(&store, id),
    }
}

/// The agent's output as it wrote it when piped (`runs log ID > file`); on a terminal with its
/// control characters made visible (see [`crate::output::escaped_lines`]): it is whatever the
/// agent printed, and an escape sequence in it must not act on the user's terminal.
fn write_log(bytes: &[u8]) -> std::io::Result<()> {
    use std::io::IsTerminal;
    let mut out = std::io::stdout().lock();
    if out.is_terminal() {
        let text = String::from_utf8_lossy(bytes);
        out.write_all(crate::output::escaped_lines(&text).as_bytes())
    } else {
        out.write_all(bytes)
    }
}

/// A run by id, unique prefix or `latest`.
pub(super) fn find(store: &Store, id: &str) -> anyhow::Result<Run> {
    Ok(crate::tasks::review::find_run(store, id)?)
}

/// A run as the JSON listings print it (stable field names), with its review summary.
pub(super) fn to_json(run: &Run) -> Value {
    let mut value = serde_json::to_value(run).unwrap_or(Value::Null);
    let summary: Value = run
        .summary
        .as_deref()
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.insert("summary".into(), summary);
    }
    value
}

/// Whether the run's cost came from the configured price table (the agent reported none).
fn estimated(run: &Run) -> bool {
    run.summary
        .as_deref()
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
        .is_some_and(|s| s["cost_estimated"] == true)
}

fn list(store: &Store, format: StatusFormat) -> anyhow::Result<ExitStatus> {
    let runs = store.runs(&[])?;
    let rows: Vec<Value> = runs.iter().map(to_json).collect();
    let mut text = String::new();
    for run in &runs {
        let cost = run
            .cost_usd
            .map(|c| format!(" ${c:.2}"))
            .unwrap_or_default();
        text.push_str(&format!(
            "{}  {:12} {:14} {:10} base {}  {} tokens{cost}{}\n",
            run.id,
            run.state.as_str(),
            run.task,
            run.agent,
            &run.base[..run.base.len().min(12)],
            run.tokens.total(),
            run.error
                .as_deref()
                .map(|e| format!("  {e}"))
                .unwrap_or_default()
        ));
    }
    if runs.is_empty() {
        text.push_str("no runs yet\n");
    }
    print(format, &json!({ "runs": rows }), &text)
}

fn human(run: &Run) -> String {
    let mut t = format!("run {}  {}\n", run.id, run.state.as_str());
    t.push_str(&format!(
        "task {} (kind {}), agent {}, trigger {}\n",
        run.task, run.kind, run.agent, run.trigger
    ));
    t.push_str(&format!(
        "base {}{}\n",
        run.base,
        run.branch
            .as_deref()
            .map(|b| format!(", branch {b}"))
            .unwrap_or_default()
    ));
    t.push_str(&format!(
        "queued {}, started {}, finished {}{}\n",
        run.queued_at,
        run.started_at.as_deref().unwrap_or("-"),
        run.finished_at.as_deref().unwrap_or("-"),
        run.duration_ms
            .map(|d| format!(" ({:.1} s)", d as f64 / 1000.0))
            .unwrap_or_default()
    ));
    t.push_str(&format!(
        "tokens: {} input ({} cached), {} output, {} reasoning; cost {}\n",
        run.tokens.input,
        run.tokens.cached_input,
        run.tokens.output,
        run.tokens.reasoning,
        run.cost_usd.map_or("unknown".into(), |c| format!(
            "${c:.4}{}",
            if estimated(run) {
                " (estimated from the price table)"
            } else {
                ""
            }
        ))
    ));
    if let Some(error) = &run.error {
        t.push_str(&format!("error: {error}\n"));
    }
    if let (Some(who), Some(why)) = (&run.decided_by, &run.decision) {
        t.push_str(&format!("decided by {who}: {why}\n"));
    }
    t
}

fn cancel(store: &Store, id: &str) -> anyhow::Result<ExitStatus> {
    let run = find(store, id)?;
    if run.state == RunState::Queued {
        if store.transition(&run.id, RunState::Queued, RunState::Cancelled)? {
            store.finish(
                &run.id,
                RunState::Cancelled,
                &Finish {
                    error: Some("cancelled before it started".into()),
                    ..Finish::default()
                },
            )?;
        }
        eprintln!("cancelled queued run {}", run.id);
        // A follow-up round that will not run: the round before it waits for a decision again.
        if let Some(parent) = &run.parent
            && store.reopen(parent)?
        {
            eprintln!("run {parent} is waiting for review again");
        }
        return Ok(ExitStatus::Success);
    }
    if !run.state.is_active() {
        bail!("run {} has already ended ({})", run.id, run.state);
    }
    store.request_cancel(&run.id)?;
    eprintln!(
        "asked the process running {} to cancel it; its agent is stopped within a second",
        run.id
    );
    Ok(ExitStatus::Success)
}

pub(super) fn print(format: StatusFormat, value: &Value, text: &str) -> anyhow::Result<ExitStatus> {
    let mut out = std::io::stdout().lock();
    match format {
        StatusFormat::Json => writeln!(out, "{value}")?,
        // Control characters an agent or a repository put in its words reach no terminal.
        StatusFormat::Human => out.write_all(crate::output::escaped_lines(text).as_bytes())?,
    }
    Ok(ExitStatus::Success)
}

/// `gatehouse stats [--by kind|task|agent]`.
#[derive(Debug, clap::Args)]
pub struct StatsArgs {
    /// Group runs by task kind (default), task or agent.
    #[arg(long, value_enum, default_value_t = By::Kind)]
    by: By,
    #[arg(long, value_enum, default_value_t = StatusFormat::Human)]
    format: StatusFormat,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum By {
    Kind,
    Task,
    Agent,
}

pub fn stats(args: &StatsArgs) -> anyhow::Result<ExitStatus> {
    let repo = Repo::open_from_env()?;
    let store = open_store(&repo)?;
    let mut groups: BTreeMap<String, Vec<Run>> = BTreeMap::new();
    for run in store.runs(&[])? {
        let key = match args.by {
            By::Kind => run.kind.clone(),
            By::Task => run.task.clone(),
            By::Agent => run.agent.clone(),
        };
        groups.entry(key).or_default().push(run);
    }
    let mut rows = Vec::new();
    let mut text = String::new();
    for (key, runs) in &groups {
        let ended: Vec<&Run> = runs
            .iter()
            .filter(|r| !(r.state == RunState::Queued || r.state.is_active()))
            .collect();
        let succeeded = ended
            .iter()
            .filter(|r| {
                matches!(
                    r.state,
                    RunState::Ready
                        | RunState::Accepted
                        | RunState::Rejected
                        | RunState::ChangesRequested
                )
            })
            .count();
        let mut durations: Vec<u64> = ended.iter().filter_map(|r| r.duration_ms).collect();
        durations.sort_unstable();
        let median = durations.get(durations.len() / 2).copied();
        let tokens: u64 = runs.iter().map(|r| r.tokens.total()).sum();
        // Folded from +0.0: an empty f64 sum is -0.0, printed as "$-0.00".
        let cost = runs
            .iter()
            .filter_map(|r| r.cost_usd)
            .fold(0.0, |a, b| a + b);
        let wasted = runs
            .iter()
            .filter(|r| r.state.is_failure())
            .filter_map(|r| r.cost_usd)
            .fold(0.0, |a, b| a + b);
        let rate = if ended.is_empty() {
            0.0
        } else {
            succeeded as f64 / ended.len() as f64
        };
        let paused = store.paused(key).ok().flatten();
        rows.push(json!({
            "key": key, "runs": runs.len(), "ended": ended.len(), "succeeded": succeeded,
            "success_rate": rate, "median_duration_ms": median, "tokens": tokens,
            "cost_usd": cost, "cost_failed_usd": wasted, "paused": paused,
        }));
        text.push_str(&format!(
            "{key:20} {} runs, {:.0}% succeeded, median {}, {tokens} tokens, ${cost:.2} (${wasted:.2} on failed runs){}\n",
            runs.len(),
            rate * 100.0,
            median.map_or("-".into(), |d| format!("{:.1} s", d as f64 / 1000.0)),
            paused.map(|p| format!(", PAUSED: {p}")).unwrap_or_default()
        ));
    }
    if groups.is_empty() {
        text.push_str("no runs yet\n");
    }
    print(
        args.format,
        &json!({ "by": format!("{:?}", args.by).to_lowercase(), "groups": rows }),
        &text,
    )
}
