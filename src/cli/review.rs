//! `gatehouse review list|show|accept|reject|request-changes`: the human decision on what an
//! agent did. The decisions themselves are `tasks::review`'s, shared with the review page.

use anyhow::Context;
use serde_json::{Value, json};

use super::daemon::StatusFormat;
use super::runs::{print, to_json};
use super::task::open_store;
use crate::ExitStatus;
use crate::config;
use crate::git::Repo;
use crate::store::Store;
use crate::store::runs::{Run, RunState};
use crate::tasks::review::{self as decision, Accepted, ChangesRequested, Landing, Rejected};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Option<Action>,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Runs waiting for a decision.
    List {
        #[arg(long, value_enum, default_value_t = StatusFormat::Human)]
        format: StatusFormat,
    },
    /// Goal, agent, base, duration, tokens and cost, acceptance results, findings, diffstat,
    /// the gate's result of accepting, the agent's final message; every round of the review.
    Show {
        /// A run id (any round of the review), a unique prefix of one, or `latest`.
        id: String,
        /// Also print the diff (of every round together).
        #[arg(long)]
        diff: bool,
        #[arg(long, value_enum, default_value_t = StatusFormat::Human)]
        format: StatusFormat,
    },
    /// Merge the review branch into the current branch (fast-forward when possible) through
    /// the gate, recording your approval of the agent's commits of this review.
    Accept {
        id: String,
        #[arg(long, short)]
        message: Option<String>,
    },
    /// Delete the review branch, recording who and why.
    Reject {
        id: String,
        #[arg(long, short)]
        message: Option<String>,
    },
    /// Ask for changes: the task runs again on the same review branch, with your comment and
    /// the diff so far in its prompt.
    RequestChanges {
        id: String,
        /// What should change.
        #[arg(long, short, required = true)]
        message: String,
        /// Wait for the new round to end and print its outcome.
        #[arg(long)]
        wait: bool,
    },
    /// The review page on 127.0.0.1: queue, runs, reviews with their findings, cost; accept,
    /// reject or request changes from the browser.
    Serve(super::serve::Args),
}

pub fn run(args: &Args) -> anyhow::Result<ExitStatus> {
    let repo = Repo::open_from_env()?;
    let mut store = open_store(&repo)?;
    match &args.action {
        None => list(&store, StatusFormat::Human),
        Some(Action::List { format }) => list(&store, *format),
        Some(Action::Show { id, diff, format }) => {
            let run = decision::find_review(&store, id)?;
            super::review_show::show(&repo, &store, &run, *diff, *format)
        }
        Some(Action::Accept { id, message }) => {
            let run = decision::find_review(&store, id)?;
            let accepted = accept(&repo, &store, &run, message.clone())?;
            eprint!("{}", describe_accepted(&accepted));
            Ok(ExitStatus::Success)
        }
        Some(Action::Reject { id, message }) => {
            let run = decision::find_review(&store, id)?;
            let rejected = reject(&repo, &store, &run, message.clone())?;
            eprintln!(
                "rejected run {}: its branch {} is deleted",
                rejected.run,
                rejected.branch.as_deref().unwrap_or("-")
            );
            Ok(ExitStatus::Success)
        }
        Some(Action::RequestChanges { id, message, wait }) => {
            let run = decision::find_review(&store, id)?;
            let settings = config::load_for(&repo)?;
            let daemon = super::task::daemon_up(&repo);
            super::task::refuse_by_hand(&store, &settings, &run.kind, daemon)?;
            let requested = request_changes(&repo, &mut store, &run, message)?;
            eprintln!(
                "asked for changes to run {}: round {} (run {}) of task {} will work on {}",
                requested.previous, requested.round, requested.run, run.task, requested.branch
            );
            super::task::start_queued(&repo, &store, &requested.run, *wait)
        }
        Some(Action::Serve(args)) => super::serve::run(args),
    }
}

/// Accepts the review of `run` as the user (see `tasks::review::accept`).
pub(super) fn accept(
    repo: &Repo,
    store: &Store,
    run: &Run,
    message: Option<String>,
) -> anyhow::Result<Accepted> {
    let who = super::env::identity(repo)?;
    let settings = config::load_for(repo)?;
    super::notes::join_fetched(repo);
    Ok(decision::accept(
        repo, store, &settings, run, &who, message,
    )?)
}

/// Rejects the review of `run` as the user.
pub(super) fn reject(
    repo: &Repo,
    store: &Store,
    run: &Run,
    message: Option<String>,
) -> anyhow::Result<Rejected> {
    let who = super::env::identity(repo)?;
    Ok(decision::reject(repo, store, run, &who, message)?)
}

/// Asks for changes to the review of `run` as the user: the next round is queued (start it with
/// `task::start_queued`, or let a running daemon take it).
pub(super) fn request_changes(
    repo: &Repo,
    store: &mut Store,
    run: &Run,
    comment: &str,
) -> anyhow::Result<ChangesRequested> {
    let who = super::env::identity(repo)?;
    let settings = config::load_for(repo)?;
    let task = super::task::find(repo, &run.task)?;
    if let Some(why) = crate::tasks::queue::untrusted_widening(store, &task, &settings)? {
        anyhow::bail!(why);
    }
    let digest = crate::tasks::queue::digest(&task, &settings);
    Ok(decision::request_changes(
        repo, store, run, &who, comment, &digest,
    )?)
}

/// What accepting did, in words: how it landed, what it approved, and what is left to do.
pub(super) fn describe_accepted(accepted: &Accepted) -> String {
    let short = |id: &str| id.get(..12).unwrap_or(id).to_string();
    let how = match accepted.landing {
        Landing::FastForward => format!(
            "{} fast-forwarded to {}",
            accepted.into,
            short(&accepted.head)
        ),
        Landing::MergeCommit => format!(
            "merged into {} with the merge commit {}",
            accepted.into,
            short(&accepted.head)
        ),
    };
    let mut text = format!(
        "accepted run {}: {how}; the review branch {} is deleted\n",
        accepted.run, accepted.branch
    );
    let commits = accepted.approved_commits.len();
    if !accepted.approved.is_empty() {
        text.push_str(&format!(
            "approved {} finding{} of the agent's {} commit{} as part of accepting (nothing else)\n",
            accepted.approved.len(),
            if accepted.approved.len() == 1 { "" } else { "s" },
            commits,
            if commits == 1 { "" } else { "s" }
        ));
    }
    if !accepted.acceptance.still_review.is_empty() {
        text.push_str(&format!(
            "{} finding(s) of commits that are not the agent's still need `gatehouse approve` before they can be pushed\n",
            accepted.acceptance.still_review.len()
        ));
    }
    text.push_str("nothing was pushed: `git push` when you are ready");
    if !accepted.approved.is_empty() {
        text.push_str(&format!(
            ", with the approval: `git push <remote> HEAD {}`",
            config::NOTES_REF
        ));
    }
    text.push('\n');
    text
}

fn review_json(run: &Run) -> Value {
    let mut value = to_json(run);
    let summary = value["summary"].clone();
    if let Value::Object(map) = &mut value {
        for key in ["acceptance", "findings", "files_changed"] {
            map.insert(key.into(), summary[key].clone());
        }
    }
    value
}

fn list(store: &Store, format: StatusFormat) -> anyhow::Result<ExitStatus> {
    let runs = store.runs(&[RunState::Ready])?;
    let mut text = String::new();
    for run in &runs {
        let summary: Value = run
            .summary
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or(Value::Null);
        let goal = summary["goal"]
            .as_str()
            .unwrap_or("")
            .lines()
            .next()
            .unwrap_or("")
            .to_string();
        let rounds = store.rounds(&run.id).map_or(1, |r| r.len());
        let round = if rounds > 1 {
            format!(" (round {rounds})")
        } else {
            String::new()
        };
        text.push_str(&format!(
            "{}  {:14} {}  {goal}{round}\n",
            run.id,
            run.task,
            run.branch.as_deref().unwrap_or(""),
        ));
    }
    if runs.is_empty() {
        text.push_str("no reviews waiting\n");
    }
    let rows: Vec<Value> = runs.iter().map(review_json).collect();
    print(format, &json!({ "reviews": rows }), &text)
}

/// The review JSON of one round (stable fields: a run's, plus summary, acceptance, findings,
/// files_changed).
pub(super) fn round_json(run: &Run) -> Value {
    review_json(run)
}

/// `serde_json` of a value that cannot fail to serialise.
pub(super) fn value_of(value: &impl serde::Serialize) -> anyhow::Result<Value> {
    serde_json::to_value(value).context("serialising")
}
