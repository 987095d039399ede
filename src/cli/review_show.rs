//! `gatehouse review show ID [--diff]`: every round of a review (goal, agent, duration, tokens
//! and cost, acceptance results, findings, files, the reviewer's comment it answered), the
//! summed cost, and the gate's result of accepting it now.

use git2::Oid;
use serde_json::{Value, json};

use super::daemon::StatusFormat;
use super::review::{round_json, value_of};
use super::runs::print;
use crate::ExitStatus;
use crate::config;
use crate::git::Repo;
use crate::store::Store;
use crate::store::runs::{Run, RunState};
use crate::tasks::review as decision;

/// "1 file", "2 files".
pub(super) fn plural(n: u64, one: &str) -> String {
    format!("{n} {one}{}", if n == 1 { "" } else { "s" })
}

pub(super) fn show(
    repo: &Repo,
    store: &Store,
    run: &Run,
    diff: bool,
    format: StatusFormat,
) -> anyhow::Result<ExitStatus> {
    let rounds = store.rounds(&run.id)?;
    let rounds = if rounds.is_empty() {
        vec![run.clone()]
    } else {
        rounds
    };
    let last = rounds.last().unwrap_or(run);
    // The round a decision would take (a failed follow-up reopens the one before it).
    let current = rounds
        .iter()
        .rev()
        .find(|r| {
            !(r.state.is_failure()
                || matches!(r.state, RunState::Cancelled | RunState::Interrupted))
        })
        .unwrap_or(last);
    let mut value = round_json(current);
    let cost: f64 = rounds
        .iter()
        .filter_map(|r| r.cost_usd)
        .fold(0.0, |a, b| a + b);
    let tokens: u64 = rounds.iter().map(|r| r.tokens.total()).sum();
    // What accepting would do is a question only while the review waits for a decision.
    let acceptance = (current.state == RunState::Ready).then(|| gate_result(repo, store, current));
    value["rounds"] = Value::Array(rounds.iter().map(round_json).collect());
    value["total_cost_usd"] = json!(cost);
    value["total_tokens"] = json!(tokens);
    value["gate"] = match &acceptance {
        Some(Ok(a)) => value_of(a).unwrap_or(Value::Null),
        Some(Err(e)) => json!({ "error": e }),
        None => Value::Null,
    };
    let mut text = String::new();
    let first = &rounds[0];
    text.push_str(&format!(
        "review of task {} on {}  ({}, {})\n",
        first.task,
        current.branch.as_deref().unwrap_or("-"),
        plural(rounds.len() as u64, "round"),
        current.state
    ));
    for (n, round) in rounds.iter().enumerate() {
        text.push_str(&format!("\n== round {} ==\n", n + 1));
        text.push_str(&round_text(round));
    }
    if rounds.len() > 1 {
        text.push_str(&format!(
            "\ntotal over {}: {tokens} tokens, cost ${cost:.4}\n",
            plural(rounds.len() as u64, "round")
        ));
    }
    text.push_str(&match &acceptance {
        Some(Ok(a)) => format!("\ngate on accept: {}\n", a.describe()),
        Some(Err(e)) => format!("\ngate on accept: cannot evaluate ({e})\n"),
        None => String::new(),
    });
    if let Some(Ok(a)) = &acceptance {
        for f in a
            .blocking
            .iter()
            .chain(&a.approved_by_accepting)
            .chain(&a.still_review)
        {
            text.push_str(&format!(
                "  {}:{}: {} [{}] ({}) {}\n",
                f.path,
                f.line,
                f.rule,
                f.code,
                f.level.as_str(),
                f.message
            ));
        }
    }
    if diff {
        let base = Oid::from_str(&first.base).ok();
        let tip = decision::branch_tip(repo, current).ok().map(|(_, tip)| tip);
        let tip = tip.or_else(|| last_commit(current));
        if let (Some(base), Some(tip)) = (base, tip) {
            text.push('\n');
            text.push_str(&patch(repo, base, tip)?);
        }
    }
    print(format, &value, &text)
}

/// The gate's result of accepting the review now, as a message on error.
fn gate_result(
    repo: &Repo,
    store: &Store,
    run: &Run,
) -> Result<crate::tasks::acceptance::Acceptance, String> {
    let settings = config::load_for(repo).map_err(|e| e.to_string())?;
    decision::acceptance(repo, store, &settings, run).map_err(|e| e.to_string())
}

fn last_commit(run: &Run) -> Option<Oid> {
    let summary: Value = serde_json::from_str(run.summary.as_deref()?).ok()?;
    Oid::from_str(summary["commit"].as_str()?).ok()
}

/// One round, as people read it.
fn round_text(run: &Run) -> String {
    let value = round_json(run);
    let s = &value["summary"];
    let mut t = format!(
        "run {} ({}) of task {} by agent {}\n",
        run.id, run.state, run.task, run.agent
    );
    if let Some(feedback) = &run.feedback {
        t.push_str(&format!("answers the reviewer: {}\n", feedback.trim()));
    }
    t.push_str(&format!(
        "goal: {}\n",
        s["goal"].as_str().unwrap_or("").trim()
    ));
    t.push_str(&format!(
        "base {}  branch {}\n",
        run.base,
        run.branch.as_deref().unwrap_or("-")
    ));
    let kept: Vec<String> = s["kept"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(printable)
        .collect();
    if !kept.is_empty() {
        t.push_str(&format!(
            "kept folders from the task's run before: {}\n",
            kept.join(", ")
        ));
    }
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
    if let Some(error) = &run.error {
        t.push_str(&format!("error: {error}\n"));
    }
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
        let n = |key: &str| stat.get(key).and_then(Value::as_u64).unwrap_or(0);
        t.push_str(&format!(
            "{} changed, {} insertion{}(+), {} deletion{}(-)\n",
            plural(n("files"), "file"),
            n("insertions"),
            if n("insertions") == 1 { "" } else { "s" },
            n("deletions"),
            if n("deletions") == 1 { "" } else { "s" },
        ));
    }
    if let Some(message) = s["final_message"].as_str() {
        t.push_str(&format!("agent's final message:\n{}\n", message.trim()));
    }
    if let (Some(who), Some(why)) = (&run.decided_by, &run.decision) {
        t.push_str(&format!("decided by {who}: {why}\n"));
    }
    t
}

/// `name` on one line as it is, but for control characters (an agent names its folders, and a
/// newline or terminal escape in one must not make up a line of the review), which are escaped.
fn printable(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The patch from `base` to `tip`.
pub(super) fn patch(repo: &Repo, base: Oid, tip: Oid) -> anyhow::Result<String> {
    let git = repo.git2();
    let old = git.find_commit(base)?.tree()?;
    let new = git.find_commit(tip)?.tree()?;
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
