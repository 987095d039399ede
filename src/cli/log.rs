//! `gatehouse log [--format json]`: what happened at the gate, newest first: pre-push and merge
//! hook runs (pre-merge-commit, post-merge) and their verdicts, skipped hooks (`GATEHOUSE_SKIP`), approvals (from the notes, so teammates'
//! too once fetched), accepted and rejected reviews and requests for changes.

use serde::Serialize;
use serde_json::{Value, json};

use super::daemon::StatusFormat;
use super::runs::print;
use super::task::open_store;
use crate::ExitStatus;
use crate::config::NOTES_REF;
use crate::gate::{approvals, pushlog};
use crate::git::{NotesAt, Repo};
use crate::store::Store;
use crate::tasks::review;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only the newest N entries.
    #[arg(long, short = 'n')]
    limit: Option<usize>,
    #[arg(long, value_enum, default_value_t = StatusFormat::Human)]
    format: StatusFormat,
}

/// One thing that happened.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub time: String,
    /// hook-run | skip | approval | accept | reject | changes-requested
    pub kind: &'static str,
    pub who: Option<String>,
    /// One line for people.
    pub summary: String,
    pub detail: Value,
}

pub fn run(args: &Args) -> anyhow::Result<ExitStatus> {
    let repo = Repo::open_from_env()?;
    let store = open_store(&repo)?;
    super::notes::join_fetched(&repo);
    let mut entries = entries(&repo, &store)?;
    if let Some(limit) = args.limit {
        entries.truncate(limit);
    }
    let mut text = String::new();
    for e in &entries {
        let who = e
            .who
            .as_deref()
            .map(|w| format!(" by {w}"))
            .unwrap_or_default();
        text.push_str(&format!("{}  {:17} {}{who}\n", e.time, e.kind, e.summary));
    }
    if entries.is_empty() {
        text.push_str("nothing recorded yet\n");
    }
    print(args.format, &json!({ "entries": entries }), &text)
}

/// Everything recorded, newest first.
pub fn entries(repo: &Repo, store: &Store) -> anyhow::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for event in store.events_of(&[
        pushlog::HOOK_RUN,
        pushlog::MERGE_HOOK_RUN,
        review::ACCEPTED,
        review::REJECTED,
        review::CHANGES_REQUESTED,
    ])? {
        let detail: Value = serde_json::from_str(&event.detail).unwrap_or(Value::Null);
        entries.push(from_event(&event.kind, event.time, detail));
    }
    for bypass in store.bypasses()? {
        let detail: Value = serde_json::from_str(&bypass.detail).unwrap_or(Value::Null);
        let refs = detail["refs"].as_array().map_or(0, Vec::len);
        entries.push(Entry {
            time: bypass.time,
            kind: "skip",
            who: Some(bypass.who),
            summary: format!(
                "GATEHOUSE_SKIP: the {} gate was skipped ({} ref line{})",
                bypass.hook,
                refs,
                if refs == 1 { "" } else { "s" }
            ),
            detail,
        });
    }
    for commit in repo.noted_commits(NOTES_REF)? {
        for approval in approvals::load(repo, NotesAt::Ref(NOTES_REF), commit)? {
            let short = commit.to_string()[..12].to_string();
            let covered = approval.covers.len();
            entries.push(Entry {
                time: approval.time.clone(),
                kind: "approval",
                who: Some(format!("{} <{}>", approval.approver, approval.email)),
                summary: format!(
                    "approved {covered} finding{} on {short}{}{}",
                    if covered == 1 { "" } else { "s" },
                    match approval.commits.len() {
                        0 => String::new(),
                        n => format!(" ({n} commit{})", if n == 1 { "" } else { "s" }),
                    },
                    approval
                        .message
                        .as_deref()
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                ),
                detail: json!({ "on": commit.to_string(), "approval": approval }),
            });
        }
    }
    // Newest first; RFC 3339 UTC times sort as text.
    entries.sort_by(|a, b| b.time.cmp(&a.time));
    Ok(entries)
}

fn from_event(kind: &str, time: String, detail: Value) -> Entry {
    let text = |key: &str| detail[key].as_str().unwrap_or("").to_string();
    let who = detail["by"].as_str().map(str::to_string);
    let message = |d: &Value| {
        d["message"]
            .as_str()
            .map(|m| format!(": {m}"))
            .unwrap_or_default()
    };
    let verdict = match detail["exit"].as_u64() {
        Some(0) => "passed",
        Some(1) => "BLOCKED",
        Some(3) => "HELD FOR REVIEW",
        _ => "failed (error)",
    };
    let (kind, summary) = match kind {
        pushlog::MERGE_HOOK_RUN => ("hook-run", merge_hook_summary(&detail, verdict)),
        pushlog::HOOK_RUN => {
            let refs: Vec<&str> = detail["lines"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|l| l.as_str()?.split_whitespace().nth(2))
                .collect();
            (
                "hook-run",
                format!(
                    "pre-push to {}: {} {verdict}",
                    text("remote"),
                    if refs.is_empty() {
                        "(no refs)".to_string()
                    } else {
                        refs.join(", ")
                    }
                ),
            )
        }
        review::ACCEPTED => (
            "accept",
            format!(
                "accepted run {} into {} ({}){}",
                text("run"),
                text("into"),
                text("landing"),
                message(&detail)
            ),
        ),
        review::REJECTED => (
            "reject",
            format!("rejected run {}{}", text("run"), message(&detail)),
        ),
        _ => (
            "changes-requested",
            format!(
                "asked for changes to run {} (next round {}){}",
                text("run"),
                text("next"),
                message(&detail)
            ),
        ),
    };
    Entry {
        time,
        kind,
        who,
        summary,
        detail,
    }
}

/// "pre-merge-commit on main: merge of feature: passed", "post-merge on main: fast-forward
/// 1a2b3c4d5e6f..7a8b9c0d1e2f checked (it cannot refuse)".
fn merge_hook_summary(detail: &Value, verdict: &str) -> String {
    let short = |key: &str| {
        detail[key]
            .as_str()
            .unwrap_or("")
            .chars()
            .take(12)
            .collect::<String>()
    };
    let hook = detail["hook"].as_str().unwrap_or("merge hook");
    let branch = detail["branch"].as_str().unwrap_or("a detached HEAD");
    if hook == "post-merge" {
        let what = if verdict == "passed" {
            "checked (it cannot refuse)"
        } else {
            verdict
        };
        return format!(
            "post-merge on {branch}: fast-forward {}..{} {what}",
            short("from"),
            short("to")
        );
    }
    let names: Vec<&str> = detail["merging"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let merging = if names.is_empty() {
        let heads = detail["heads"].as_array().map_or(0, Vec::len);
        format!("{heads} commit{}", if heads == 1 { "" } else { "s" })
    } else {
        names.join(", ")
    };
    format!("{hook} on {branch}: merge of {merging} {verdict}")
}
