//! The periodic audit of agent-written code: the agent commits (by trailer) that reached a
//! branch since the last audit, who approved each, what each cost, and what today's rules find
//! in the lines they introduced that still stand (attributed with `git blame`). An audit is
//! recorded as a note under `refs/notes/gatehouse-audit` on the audited tip, where the next
//! audit starts.

use std::collections::{HashMap, HashSet};

use git2::{BlameOptions, Oid};
use serde::{Deserialize, Serialize};

use crate::checks::Finding;
use crate::config::{Scope, Settings};
use crate::engine::{self, Request, Target};
use crate::gate::approvals::{self, Approval};
use crate::gate::approved;
use crate::git::{Identity, NotesAt, Repo};
use crate::store::Store;

/// Where audit notes live (a notes ref of their own: approvals are not mixed with them).
pub const AUDIT_NOTES_REF: &str = "refs/notes/gatehouse-audit";

/// Errors of an audit.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("git: {0}")]
    Git(#[from] git2::Error),
    #[error(transparent)]
    Repo(#[from] crate::git::GitError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("running today's rules: {0}")]
    Engine(#[from] engine::EngineError),
}

/// Where an audit starts.
#[derive(Debug, Clone, Serialize)]
pub struct Since {
    /// The commit the audit starts after (`None`: the branch's whole history).
    pub commit: Option<String>,
    /// How it was chosen: `last-audit`, `rev`, `date`, or `start` (no audit before).
    pub from: &'static str,
    /// The last audit's time, or the date asked for.
    pub time: Option<String>,
}

/// One agent commit that reached the branch.
#[derive(Debug, Clone, Serialize)]
pub struct AuditedCommit {
    pub commit: String,
    pub task: String,
    pub run: String,
    pub subject: String,
    pub time: String,
    /// Who approved it (the approvals naming it, by id or patch-id, or on it).
    pub approvers: Vec<String>,
    pub cost_usd: Option<f64>,
    /// Today's findings on lines it introduced that still stand (and its paths, for path rules).
    pub findings: Vec<Finding>,
}

/// An audit's result.
#[derive(Debug, Clone, Serialize)]
pub struct Audit {
    pub branch: String,
    pub tip: String,
    pub since: Since,
    pub commits: Vec<AuditedCommit>,
    pub total_cost_usd: f64,
    pub findings: usize,
}

/// The note recorded for an audit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditNote {
    pub time: String,
    pub auditor: String,
    pub branch: String,
    pub commits: usize,
    pub findings: usize,
}

/// The newest audit recorded on `tip` or one of its ancestors: (commit, note).
pub fn last_audit(repo: &Repo, tip: Option<Oid>) -> Result<Option<(Oid, AuditNote)>, AuditError> {
    let mut newest: Option<(Oid, AuditNote)> = None;
    for commit in repo.noted_commits(AUDIT_NOTES_REF)? {
        let reachable = match tip {
            Some(tip) => tip == commit || repo.git2().graph_descendant_of(tip, commit)?,
            None => true,
        };
        let Some(text) = repo.read_note(NotesAt::Ref(AUDIT_NOTES_REF), commit)? else {
            continue;
        };
        let Ok(note) = serde_json::from_str::<AuditNote>(&text) else {
            continue;
        };
        if reachable && newest.as_ref().is_none_or(|(_, n)| note.time > n.time) {
            newest = Some((commit, note));
        }
    }
    Ok(newest)
}

/// Where the next audit of `tip` starts: after the last audit recorded on it or an ancestor,
/// else at the branch's beginning.
pub fn since_last_audit(repo: &Repo, tip: Oid) -> Result<Since, AuditError> {
    Ok(match last_audit(repo, Some(tip))? {
        Some((commit, note)) => Since {
            commit: Some(commit.to_string()),
            from: "last-audit",
            time: Some(note.time),
        },
        None => Since {
            commit: None,
            from: "start",
            time: None,
        },
    })
}

/// The first commit on `tip`'s first-parent line older than `secs` (the audit starts after it).
pub fn before_time(repo: &Repo, tip: Oid, secs: i64) -> Result<Option<Oid>, AuditError> {
    let mut current = Some(repo.git2().find_commit(tip)?);
    while let Some(commit) = current {
        if commit.time().seconds() < secs {
            return Ok(Some(commit.id()));
        }
        current = commit.parents().next();
    }
    Ok(None)
}

/// Audits the agent commits that `tip` (branch `branch`) has and `since.commit` has not.
pub fn audit(
    repo: &Repo,
    store: &Store,
    settings: &Settings,
    branch: &str,
    tip: Oid,
    since: Since,
) -> Result<Audit, AuditError> {
    let base = since.commit.as_deref().and_then(|c| Oid::from_str(c).ok());
    let hidden: Vec<Oid> = base.into_iter().collect();
    let runs: HashMap<String, Option<f64>> = store
        .runs(&[])?
        .into_iter()
        .map(|r| (r.id, r.cost_usd))
        .collect();
    let notes = Approvals::read(repo)?;
    let mut commits = Vec::new();
    for id in repo.commits_hiding(tip, &hidden)? {
        let trailers = repo.trailers(id)?;
        let value = |key: &str| {
            trailers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.clone())
        };
        let (Some(task), Some(run)) = (value("Gatehouse-Task"), value("Gatehouse-Run")) else {
            continue;
        };
        let found = repo.git2().find_commit(id)?;
        commits.push(AuditedCommit {
            commit: id.to_string(),
            subject: found.summary().ok().flatten().unwrap_or("").to_string(),
            time: crate::store::rfc3339(found.time().seconds()),
            approvers: notes.approvers(repo, id)?,
            cost_usd: runs.get(&run).copied().flatten(),
            task,
            run,
            findings: Vec::new(),
        });
    }
    attribute(repo, settings, tip, base, &mut commits)?;
    let total_cost_usd = commits
        .iter()
        .filter_map(|c| c.cost_usd)
        .fold(0.0, |a, b| a + b);
    let findings = commits.iter().map(|c| c.findings.len()).sum();
    Ok(Audit {
        branch: branch.to_string(),
        tip: tip.to_string(),
        since,
        commits,
        total_cost_usd,
        findings,
    })
}

/// Runs today's rules on what changed since `base` at `tip`, and gives each agent commit the
/// findings on lines `git blame` attributes to it (path rules: the paths it changed).
fn attribute(
    repo: &Repo,
    settings: &Settings,
    tip: Oid,
    base: Option<Oid>,
    commits: &mut [AuditedCommit],
) -> Result<(), AuditError> {
    if commits.is_empty() {
        return Ok(());
    }
    let request = Request {
        target: Target::Commits { base, tip },
        scope: Scope::ChangedLines,
        rules: Vec::new(),
        level_at_least: None,
        use_cache: true,
    };
    let findings = engine::run(repo, settings, &request)?.findings;
    let index: HashMap<Oid, usize> = commits
        .iter()
        .enumerate()
        .filter_map(|(i, c)| Oid::from_str(&c.commit).ok().map(|o| (o, i)))
        .collect();
    let mut paths: HashMap<Oid, HashSet<String>> = HashMap::new();
    for commit in index.keys() {
        paths.insert(*commit, approved::changed_paths(repo, *commit)?);
    }
    let mut blames: HashMap<String, Option<git2::Blame<'_>>> = HashMap::new();
    for finding in findings {
        let owners: Vec<usize> = if finding.rule == "sensitive-path" {
            index
                .iter()
                .filter(|(c, _)| paths[*c].contains(&finding.path))
                .map(|(_, i)| *i)
                .collect()
        } else {
            let blame = blames.entry(finding.path.clone()).or_insert_with(|| {
                let mut options = BlameOptions::new();
                options.newest_commit(tip);
                repo.git2()
                    .blame_file(std::path::Path::new(&finding.path), Some(&mut options))
                    .ok()
            });
            let line = usize::try_from(finding.line).unwrap_or(0);
            blame
                .as_ref()
                .and_then(|b| b.get_line(line))
                .and_then(|hunk| index.get(&hunk.final_commit_id()).copied())
                .into_iter()
                .collect()
        };
        for i in owners {
            commits[i].findings.push(finding.clone());
        }
    }
    Ok(())
}

/// Every approval, to find those of a commit.
struct Approvals {
    noted: Vec<(Oid, Approval)>,
}

impl Approvals {
    fn read(repo: &Repo) -> Result<Approvals, AuditError> {
        let mut noted = Vec::new();
        for on in repo.noted_commits(crate::config::NOTES_REF)? {
            for approval in approvals::load(repo, NotesAt::Ref(crate::config::NOTES_REF), on)? {
                noted.push((on, approval));
            }
        }
        Ok(Approvals { noted })
    }

    /// Who approved `commit`: approvals naming it (or its patch), or on it.
    fn approvers(&self, repo: &Repo, commit: Oid) -> Result<Vec<String>, AuditError> {
        let hex = commit.to_string();
        let patch = approved::patch_id(repo, commit)?.map(|p| p.to_string());
        let mut who: Vec<String> = self
            .noted
            .iter()
            .filter(|(on, a)| {
                (a.commits.is_empty() && *on == commit)
                    || a.commits
                        .iter()
                        .any(|c| c.commit == hex || (patch.is_some() && c.patch_id == patch))
            })
            .map(|(_, a)| format!("{} <{}>", a.approver, a.email))
            .collect();
        who.dedup();
        Ok(who)
    }
}

/// Records `audit` as a note on its tip, where the next audit starts.
pub fn record(repo: &Repo, audit: &Audit, who: &Identity) -> Result<AuditNote, AuditError> {
    let note = AuditNote {
        time: crate::store::now(),
        auditor: who.to_string(),
        branch: audit.branch.clone(),
        commits: audit.commits.len(),
        findings: audit.findings,
    };
    let tip = Oid::from_str(&audit.tip)?;
    let text = serde_json::to_string_pretty(&note).unwrap_or_default();
    repo.write_note(AUDIT_NOTES_REF, tip, &text, who)?;
    Ok(note)
}
