//! `gatehouse review list|show|accept|reject`: the human decision on what an agent did.

use std::process::Command;

use anyhow::{Context, bail};
use git2::Oid;
use serde_json::{Value, json};

use super::daemon::StatusFormat;
use super::runs::{find, print, to_json};
use super::task::open_store;
use crate::ExitStatus;
use crate::checks::Finding;
use crate::config::{self, Level};
use crate::gate::{approvals, push};
use crate::git::{Known, Repo};
use crate::store::runs::{Run, RunState};
use crate::tasks::worktree;

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
    /// the agent's final message.
    Show {
        id: String,
        /// Also print the diff.
        #[arg(long)]
        diff: bool,
        #[arg(long, value_enum, default_value_t = StatusFormat::Human)]
        format: StatusFormat,
    },
    /// Merge the review branch into the current branch (fast-forward when possible) through
    /// the gate, recording your approval.
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
}

pub fn run(args: &Args) -> anyhow::Result<ExitStatus> {
    let repo = Repo::open_from_env()?;
    let store = open_store(&repo)?;
    match &args.action {
        None => list(&store, StatusFormat::Human),
        Some(Action::List { format }) => list(&store, *format),
        Some(Action::Show { id, diff, format }) => show(&repo, &find(&store, id)?, *diff, *format),
        Some(Action::Accept { id, message }) => {
            accept(&repo, &store, &find(&store, id)?, message.clone())
        }
        Some(Action::Reject { id, message }) => {
            let run = find(&store, id)?;
            ready(&run)?;
            let who = super::env::identity(&repo)?.to_string();
            let why = message.clone().unwrap_or_else(|| "rejected".into());
            if let Some(branch) = &run.branch {
                worktree::delete_branch(repo.git2(), branch)?;
            }
            store.decide(&run.id, RunState::Rejected, &who, &why)?;
            eprintln!("rejected run {}: its branch is deleted", run.id);
            Ok(ExitStatus::Success)
        }
    }
}

fn ready(run: &Run) -> anyhow::Result<()> {
    if run.state != RunState::Ready {
        bail!("run {} is {}, not waiting for review", run.id, run.state);
    }
    Ok(())
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

fn list(store: &crate::store::Store, format: StatusFormat) -> anyhow::Result<ExitStatus> {
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
        text.push_str(&format!(
            "{}  {:14} {}  {}\n",
            run.id,
            run.task,
            run.branch.as_deref().unwrap_or(""),
            goal
        ));
    }
    if runs.is_empty() {
        text.push_str("no reviews waiting\n");
    }
    let rows: Vec<Value> = runs.iter().map(review_json).collect();
    print(format, &json!({ "reviews": rows }), &text)
}

fn show(repo: &Repo, run: &Run, diff: bool, format: StatusFormat) -> anyhow::Result<ExitStatus> {
    let value = review_json(run);
    let s = &value["summary"];
    let mut t = format!(
        "run {} ({}) of task {} by agent {}\n",
        run.id, run.state, run.task, run.agent
    );
    t.push_str(&format!(
        "goal: {}\n",
        s["goal"].as_str().unwrap_or("").trim()
    ));
    t.push_str(&format!(
        "base {}  branch {}\n",
        run.base,
        run.branch.as_deref().unwrap_or("-")
    ));
    t.push_str(&format!(
        "duration {}, tokens {} in ({} cached) / {} out / {} reasoning, cost {}\n",
        run.duration_ms
            .map_or("-".into(), |d| format!("{:.1} s", d as f64 / 1000.0)),
        run.tokens.input,
        run.tokens.cached_input,
        run.tokens.output,
        run.tokens.reasoning,
        run.cost_usd
            .map_or("unknown".into(), |c| format!("${c:.4}"))
    ));
    for a in s["acceptance"].as_array().into_iter().flatten() {
        t.push_str(&format!(
            "accept: `{}` exit {}\n",
            a["command"].as_str().unwrap_or(""),
            a["exit_code"]
        ));
    }
    for f in s["findings"].as_array().into_iter().flatten() {
        t.push_str(&format!(
            "finding: {}:{} {} [{}] ({}) {}\n",
            f["path"].as_str().unwrap_or(""),
            f["line"],
            f["rule"].as_str().unwrap_or(""),
            f["code"].as_str().unwrap_or(""),
            f["level"].as_str().unwrap_or(""),
            f["message"].as_str().unwrap_or("")
        ));
    }
    for c in s["files_changed"].as_array().into_iter().flatten() {
        t.push_str(&format!(
            "  {:9} {}\n",
            c["status"].as_str().unwrap_or(""),
            c["path"].as_str().unwrap_or("")
        ));
    }
    if let Some(stat) = s["diffstat"].as_object() {
        t.push_str(&format!(
            "{} files changed, {} insertions(+), {} deletions(-)\n",
            stat["files"], stat["insertions"], stat["deletions"]
        ));
    }
    if let Some(message) = s["final_message"].as_str() {
        t.push_str(&format!("agent's final message:\n{}\n", message.trim()));
    }
    if diff
        && let (Some(base), Some(commit)) = (Oid::from_str(&run.base).ok(), s["commit"].as_str())
    {
        t.push_str(&patch(repo, base, commit)?);
    }
    print(format, &value, &t)
}

fn patch(repo: &Repo, base: Oid, commit: &str) -> anyhow::Result<String> {
    let git = repo.git2();
    let old = git.find_commit(base)?.tree()?;
    let new = git.find_commit(Oid::from_str(commit)?)?.tree()?;
    let diff = git.diff_tree_to_tree(Some(&old), Some(&new), None)?;
    let mut text = String::new();
    diff.print(git2::DiffFormat::Patch, |_, _, line| {
        if matches!(line.origin(), '+' | '-' | ' ') {
            text.push(line.origin());
        }
        text.push_str(&String::from_utf8_lossy(line.content()));
        true
    })?;
    Ok(text)
}

fn accept(
    repo: &Repo,
    store: &crate::store::Store,
    run: &Run,
    message: Option<String>,
) -> anyhow::Result<ExitStatus> {
    ready(run)?;
    let branch = run.branch.clone().context("the run has no branch")?;
    let tip = repo
        .resolve_commit(&format!("refs/heads/{branch}"))
        .with_context(|| format!("the review branch {branch} is gone"))?;
    let workdir = repo
        .workdir()
        .context("accepting needs a working tree")?
        .to_path_buf();
    // On a detached HEAD the merge would land on no branch, and the review would be gone.
    if repo.git2().head_detached().unwrap_or(false) {
        bail!(
            "HEAD is detached: switch to the branch the review should land on \
             (`git switch BRANCH`), then accept again"
        );
    }
    refuse_if_dirty(repo, tip)?;
    let who = super::env::identity(repo)?;
    let settings = config::load_for(repo)?;
    // A fast-forward runs no hook: accepting must not land what the gate blocks.
    let findings = push::evaluate(repo, &settings, tip, &Known::AllRemotes)?.3;
    let blocking: Vec<String> = findings
        .iter()
        .filter(|f| f.level == Level::Block)
        .map(|f| format!("{}:{} {} [{}]", f.path, f.line, f.rule, f.code))
        .collect();
    if !blocking.is_empty() {
        bail!(
            "the gate blocks what this review brings: {}",
            blocking.join(", ")
        );
    }
    // The human decision is the approval the gate asks for: record it on the agent's commit,
    // so the merge hook and later pushes accept the review findings it brings.
    let review: Vec<Finding> = findings
        .into_iter()
        .filter(|f| f.level == Level::Review)
        .collect();
    let why = message
        .clone()
        .unwrap_or_else(|| format!("accepted review of run {}", run.id));
    if !review.is_empty() {
        approvals::record(repo, tip, &who, Some(why.clone()), &review)
            .context("recording the approval")?;
    }
    let before = repo.resolve_commit("HEAD")?;
    let merged = git_in(
        &workdir,
        &[
            "merge",
            "--ff",
            "--no-edit",
            "-m",
            &format!("Merge review of run {} ({})", run.id, run.task),
            &branch,
        ],
    )?;
    if !merged.status.success() {
        let output = format!(
            "{}{}",
            String::from_utf8_lossy(&merged.stdout),
            String::from_utf8_lossy(&merged.stderr)
        );
        let merging = repo.git2().path().join("MERGE_HEAD").exists();
        let aborted = !merging || git_in(&workdir, &["merge", "--abort"])?.status.success();
        if !aborted {
            bail!(
                "the merge of {branch} failed and `git merge --abort` failed too: finish or abort the merge by hand; the review stays open:\n{output}"
            );
        }
        bail!("the merge of {branch} failed and was undone; the review stays open:\n{output}");
    }
    let after = repo.resolve_commit("HEAD")?;
    if after != tip {
        // A merge commit: it is the tip a push carries, so it needs the approval too.
        let review = review_findings(repo, &settings, after)?;
        if !review.is_empty() {
            approvals::record(repo, after, &who, Some(why.clone()), &review)?;
        }
    }
    store.decide(&run.id, RunState::Accepted, &who.to_string(), &why)?;
    // Merged: the review branch has done its job.
    worktree::delete_branch(repo.git2(), &branch)?;
    let how = if repo
        .git2()
        .graph_descendant_of(after, before)
        .unwrap_or(false)
        && after == tip
    {
        "fast-forward"
    } else {
        "merge commit"
    };
    eprintln!(
        "accepted run {}: merged {branch} ({how}) as {}",
        run.id,
        &after.to_string()[..12]
    );
    Ok(ExitStatus::Success)
}

/// The review-level findings a push of `tip` would bring (the agent's commit among them).
fn review_findings(
    repo: &Repo,
    settings: &config::Settings,
    tip: Oid,
) -> anyhow::Result<Vec<Finding>> {
    let findings = push::evaluate(repo, settings, tip, &Known::AllRemotes)?.3;
    Ok(findings
        .into_iter()
        .filter(|f| f.level == Level::Review)
        .collect())
}

/// Refuses, changing nothing, when a file the merge touches has uncommitted changes.
fn refuse_if_dirty(repo: &Repo, tip: Oid) -> anyhow::Result<()> {
    let git = repo.git2();
    let head = git.head()?.peel_to_commit()?;
    let base = git.merge_base(head.id(), tip)?;
    let diff = git.diff_tree_to_tree(
        Some(&git.find_commit(base)?.tree()?),
        Some(&git.find_commit(tip)?.tree()?),
        None,
    )?;
    let touched: Vec<String> = diff
        .deltas()
        .flat_map(|d| [d.old_file().path(), d.new_file().path()])
        .flatten()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let mut options = git2::StatusOptions::new();
    options.include_untracked(true).recurse_untracked_dirs(true);
    let dirty: Vec<String> = git
        .statuses(Some(&mut options))?
        .iter()
        .filter_map(|e| e.path().ok().map(str::to_string))
        .filter(|p| touched.contains(p))
        .collect();
    if !dirty.is_empty() {
        bail!(
            "uncommitted changes in files the review changes: {}; commit or stash them first (nothing was changed)",
            dirty.join(", ")
        );
    }
    Ok(())
}

/// Runs the `git` CLI in `dir` with the hook's repository variables cleared.
fn git_in(dir: &std::path::Path, args: &[&str]) -> anyhow::Result<std::process::Output> {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir).args(args);
    for var in super::env::git_local_vars() {
        cmd.env_remove(var);
    }
    cmd.output().context("running git")
}
