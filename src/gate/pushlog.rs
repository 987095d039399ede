//! Pushes that did not pass the gate. Each pre-push run is recorded in the state database (the
//! remote, its ref lines, its exit status); git records each push in the reflog of the
//! remote-tracking refs it updates (`update by push`). A push whose new tip no passing pre-push
//! run announced for that remote skipped the gate (`--no-verify`, a hook that did not run), or
//! was let through by a recorded `GATEHOUSE_SKIP`.

use std::collections::{HashMap, HashSet};

use git2::Oid;
use serde_json::{Value, json};

use crate::ExitStatus;
use crate::git::Repo;
use crate::store::{Store, StoreError};

/// The event of one pre-push run: `{"remote", "lines", "exit"}`.
pub const HOOK_RUN: &str = "hook-run";
/// The event of one run of the gate on a merge: `{"hook", "branch", "exit"}`, and what it
/// gated: for pre-merge-commit (and pre-commit concluding a merge) what is merged (`"merging"`:
/// the names given to `git merge`, `"heads"`: the commits), for post-merge the fast-forward
/// (`"from"`, `"to"`).
pub const MERGE_HOOK_RUN: &str = "merge-hook-run";
/// The event that marks the pushes already made when gatehouse started watching:
/// `{"entries": ["<remote> <sha>", …]}`.
pub const PUSH_BASELINE: &str = "push-baseline";

/// Errors of the audit.
#[derive(Debug, thiserror::Error)]
pub enum PushlogError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("reading the reflog of {name}: {source}")]
    Reflog { name: String, source: git2::Error },
}

/// Records a pre-push run.
pub fn record_pre_push(
    store: &Store,
    remote: &str,
    lines: &[String],
    status: ExitStatus,
) -> Result<(), StoreError> {
    let detail = json!({ "remote": remote, "lines": lines, "exit": status as u8 });
    store.record_event(HOOK_RUN, &detail.to_string())
}

/// What a merge hook is about to gate, to record with its exit status; `None` when the hook
/// gates no merge (pre-commit of an ordinary commit; post-merge after a merge commit, which
/// pre-merge-commit gated).
pub fn merge_hook_run(repo: &Repo, hook: &str, reflog_action: Option<&str>) -> Option<Value> {
    let git = repo.git2();
    let head = git.head().ok();
    let branch = head
        .as_ref()
        .and_then(|h| h.shorthand().ok().map(str::to_string));
    let mut detail = json!({ "hook": hook, "branch": branch });
    if hook == "post-merge" {
        let orig = std::fs::read_to_string(repo.git_dir().join("ORIG_HEAD")).ok()?;
        let orig = Oid::from_str(orig.trim()).ok()?;
        let to = head.and_then(|h| h.target())?;
        let merge_commit = git
            .find_commit(to)
            .is_ok_and(|c| c.parent_count() > 1 && c.parent_id(0).ok() == Some(orig));
        if orig == to || merge_commit {
            return None;
        }
        detail["from"] = json!(orig.to_string());
        detail["to"] = json!(to.to_string());
        return Some(detail);
    }
    let mut heads: Vec<String> = std::fs::read_to_string(repo.git_dir().join("MERGE_HEAD"))
        .unwrap_or_default()
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| Oid::from_str(l).is_ok())
        .collect();
    if hook != "pre-merge-commit" && heads.is_empty() {
        return None;
    }
    let action = reflog_action.unwrap_or("");
    let merging: Vec<&str> = match action.split_whitespace().next() {
        Some("merge") => action
            .split_whitespace()
            .skip(1)
            .filter(|w| !w.starts_with('-'))
            .collect(),
        Some("pull") => vec!["FETCH_HEAD (pull)"],
        _ => Vec::new(),
    };
    // During pre-merge-commit git has not written MERGE_HEAD yet: the names say what merges.
    if heads.is_empty() {
        heads = merging
            .iter()
            .filter_map(|name| repo.resolve_commit(name).ok())
            .map(|id| id.to_string())
            .collect();
    }
    detail["merging"] = json!(merging);
    detail["heads"] = json!(heads);
    Some(detail)
}

/// Records a merge hook's run: `detail` from [`merge_hook_run`], and its exit status.
pub fn record_merge_hook(
    store: &Store,
    mut detail: Value,
    status: Option<ExitStatus>,
) -> Result<(), StoreError> {
    detail["exit"] = json!(status.map_or(2, |s| s as u8));
    store.record_event(MERGE_HOOK_RUN, &detail.to_string())
}

/// One push that did not pass the gate.
#[derive(Debug, Clone)]
pub struct Ungated {
    /// The remote-tracking ref the push updated.
    pub tracking_ref: String,
    pub remote: String,
    pub old: Oid,
    pub new: Oid,
    /// The commits it brought (newest first, at most [`MAX_COMMITS`]) with their subjects.
    pub commits: Vec<(Oid, String)>,
    /// `who at time` of the `GATEHOUSE_SKIP` record that let it through, if one did.
    pub skipped_by: Option<String>,
}

/// How many commits of one ungated push are named.
pub const MAX_COMMITS: usize = 20;

/// The pushes since the baseline that no passing pre-push run covers; `None` without a
/// baseline (gatehouse has not started watching).
pub fn audit(repo: &Repo, store: &Store) -> Result<Option<Vec<Ungated>>, PushlogError> {
    let baselines = store.events(PUSH_BASELINE)?;
    if baselines.is_empty() {
        return Ok(None);
    }
    let mut known: HashSet<String> = HashSet::new();
    for (_, detail) in &baselines {
        known.extend(keys(detail, "entries"));
    }
    for (_, detail) in store.events(HOOK_RUN)? {
        let value: Value = serde_json::from_str(&detail).unwrap_or_default();
        if value["exit"].as_u64() == Some(0) {
            known.extend(line_keys(&value["remote"], &value["lines"]));
        }
    }
    let mut skips: HashMap<String, String> = HashMap::new();
    for bypass in store.bypasses()? {
        let value: Value = serde_json::from_str(&bypass.detail).unwrap_or_default();
        let remote = if value["remote"].is_string() {
            &value["remote"]
        } else {
            &value["args"][0]
        };
        for key in line_keys(remote, &value["refs"]) {
            skips.insert(key, format!("{} at {}", bypass.who, bypass.time));
        }
    }
    let mut ungated = Vec::new();
    for (tracking_ref, remote, old, new) in pushes(repo)? {
        let key = format!("{remote} {new}");
        if known.contains(&key) {
            continue;
        }
        ungated.push(Ungated {
            commits: commits(repo, &tracking_ref, old, new),
            skipped_by: skips.get(&key).cloned(),
            tracking_ref,
            remote,
            old,
            new,
        });
    }
    Ok(Some(ungated))
}

/// Records the pushes made so far as known, so that only later ones are audited; with `all`
/// false only when there is no baseline yet. Returns whether it recorded one.
pub fn record_baseline(repo: &Repo, store: &Store, all: bool) -> Result<bool, PushlogError> {
    if !all && !store.events(PUSH_BASELINE)?.is_empty() {
        return Ok(false);
    }
    let entries: Vec<String> = pushes(repo)?
        .into_iter()
        .map(|(_, remote, _, new)| format!("{remote} {new}"))
        .collect();
    store.record_event(PUSH_BASELINE, &json!({ "entries": entries }).to_string())?;
    Ok(true)
}

fn keys(detail: &str, field: &str) -> Vec<String> {
    let value: Value = serde_json::from_str(detail).unwrap_or_default();
    value[field]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// `"<remote> <local sha>"` for each pre-push ref line.
fn line_keys(remote: &Value, lines: &Value) -> Vec<String> {
    let remote = remote.as_str().unwrap_or("");
    lines
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l.as_str()?.split_whitespace().nth(1).map(str::to_string))
        .map(|sha| format!("{remote} {sha}"))
        .collect()
}

/// Every `update by push` of a remote-tracking ref: (ref, remote, old, new), oldest first.
fn pushes(repo: &Repo) -> Result<Vec<(String, String, Oid, Oid)>, PushlogError> {
    let git = repo.git2();
    let remotes: Vec<String> = git
        .remotes()
        .map(|r| r.iter().flatten().flatten().map(str::to_string).collect())
        .unwrap_or_default();
    let names: Vec<String> = git
        .references_glob("refs/remotes/*")
        .map(|refs| {
            refs.flatten()
                .filter_map(|r| r.name().ok().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let mut found = Vec::new();
    for name in names {
        let Some(remote) = remotes
            .iter()
            .filter(|r| name.starts_with(&format!("refs/remotes/{r}/")))
            .max_by_key(|r| r.len())
        else {
            continue;
        };
        let reflog = git.reflog(&name).map_err(|source| PushlogError::Reflog {
            name: name.clone(),
            source,
        })?;
        // The reflog lists the newest entry first.
        for entry in reflog.iter().collect::<Vec<_>>().into_iter().rev() {
            if entry
                .message()
                .ok()
                .flatten()
                .is_some_and(|m| m.starts_with("update by push"))
            {
                found.push((name.clone(), remote.clone(), entry.id_old(), entry.id_new()));
            }
        }
    }
    Ok(found)
}

/// The commits a push of `new` over `old` brought; for a new branch, those no other
/// remote-tracking ref has.
fn commits(repo: &Repo, tracking_ref: &str, old: Oid, new: Oid) -> Vec<(Oid, String)> {
    let git = repo.git2();
    let Ok(mut walk) = git.revwalk() else {
        return Vec::new();
    };
    if walk.push(new).is_err() || (!old.is_zero() && walk.hide(old).is_err()) {
        return Vec::new();
    }
    if old.is_zero()
        && let Ok(refs) = git.references_glob("refs/remotes/*")
    {
        for other in refs.flatten() {
            if other.name().ok() != Some(tracking_ref)
                && let Some(id) = other.target()
            {
                let _ = walk.hide(id);
            }
        }
    }
    walk.flatten()
        .take(MAX_COMMITS)
        .map(|id| {
            let subject = git
                .find_commit(id)
                .ok()
                .and_then(|c| c.summary().ok().flatten().map(str::to_string))
                .unwrap_or_default();
            (id, subject)
        })
        .collect()
}
