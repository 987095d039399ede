//! What accepting a review means to the gate: the commits the review branch brings into the
//! current branch, which of them are the agent's (the trailers of the review's runs), the
//! findings on the lines they bring, which of those accepting approves (the agent's commits'
//! review findings, nothing else), and what is left.

use git2::Oid;
use serde::Serialize;

use crate::checks::Finding;
use crate::config::{Level, Settings};
use crate::gate::{Verdict, approved, push};
use crate::git::Repo;
use crate::store::runs::Run;

/// The gate's result of accepting a review now.
#[derive(Debug, Clone, Serialize)]
pub struct Acceptance {
    /// The verdict once accepting has recorded its approval: `block` refuses the accept,
    /// `review` means findings of commits that are not the agent's still need an approval.
    pub verdict: Verdict,
    /// Where the review's changes start (the merge base with HEAD).
    pub base: String,
    /// The agent's commits of this review (trailers of its runs), newest first.
    pub agent_commits: Vec<String>,
    /// Commits the branch brings that none of its runs made (never approved by accepting).
    pub other_commits: Vec<String>,
    /// Blocking findings: accepting is refused while there are any.
    pub blocking: Vec<Finding>,
    /// Review findings of the agent's commits: accepting approves exactly these.
    pub approved_by_accepting: Vec<Finding>,
    /// Review findings accepting does not approve (commits that are not the agent's).
    pub still_review: Vec<Finding>,
    /// Warnings.
    pub warnings: Vec<Finding>,
}

/// Errors of evaluating an acceptance.
#[derive(Debug, thiserror::Error)]
pub enum AcceptanceError {
    #[error("git: {0}")]
    Git(#[from] git2::Error),
    #[error(transparent)]
    Repo(#[from] crate::git::GitError),
    #[error("evaluating the gate: {0}")]
    Gate(String),
}

/// Whether `commit` is one of `rounds`' own commits: made by gatehouse for one of the review's
/// runs (`Gatehouse-Task:` the task, `Gatehouse-Run:` one of the runs).
pub fn is_round_commit(repo: &Repo, commit: Oid, rounds: &[Run]) -> bool {
    let Ok(trailers) = repo.trailers(commit) else {
        return false;
    };
    let value = |key: &str| {
        trailers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    };
    let (Some(task), Some(run)) = (value("Gatehouse-Task"), value("Gatehouse-Run")) else {
        return false;
    };
    rounds.iter().any(|r| r.task == task && r.id == run)
}

/// The gate's view of merging `tip` (the review branch) into HEAD, for the review of `rounds`.
pub fn evaluate(
    repo: &Repo,
    settings: &Settings,
    rounds: &[Run],
    tip: Oid,
) -> Result<Acceptance, AcceptanceError> {
    let git = repo.git2();
    let head = git.head()?.peel_to_commit()?.id();
    let base = git.merge_base(head, tip)?;
    let commits = repo.commits_hiding(tip, &[head])?;
    let (agent, other): (Vec<Oid>, Vec<Oid>) = commits
        .iter()
        .partition(|c| is_round_commit(repo, **c, rounds));
    let findings = if commits.is_empty() {
        Vec::new()
    } else {
        push::evaluate_from(repo, settings, tip, &commits, Some(base))
            .map_err(|e| AcceptanceError::Gate(format!("{e:#}")))?
            .3
    };
    let mut agent_paths = std::collections::HashSet::new();
    for commit in &agent {
        agent_paths.extend(approved::changed_paths(repo, *commit)?);
    }
    let mut other_paths = std::collections::HashSet::new();
    for commit in &other {
        other_paths.extend(approved::changed_paths(repo, *commit)?);
    }
    let hex: Vec<String> = agent.iter().map(Oid::to_string).collect();
    let mut result = Acceptance {
        verdict: Verdict::Pass,
        base: base.to_string(),
        agent_commits: hex.clone(),
        other_commits: other.iter().map(Oid::to_string).collect(),
        blocking: Vec::new(),
        approved_by_accepting: Vec::new(),
        still_review: Vec::new(),
        warnings: Vec::new(),
    };
    for finding in findings {
        match finding.level {
            Level::Block => result.blocking.push(finding),
            Level::Review => {
                // Only what the agent's commits alone brought: a path a commit of someone
                // else's changed too keeps needing that someone's approval.
                let agents = if finding.rule == push::AGENT_COMMIT {
                    hex.contains(&finding.path)
                } else {
                    agent_paths.contains(&finding.path) && !other_paths.contains(&finding.path)
                };
                if agents {
                    result.approved_by_accepting.push(finding);
                } else {
                    result.still_review.push(finding);
                }
            }
            Level::Warn => result.warnings.push(finding),
            Level::Off => {}
        }
    }
    result.verdict = if !result.blocking.is_empty() {
        Verdict::Block
    } else if !result.still_review.is_empty() {
        Verdict::Review
    } else if !result.warnings.is_empty() {
        Verdict::Warn
    } else {
        Verdict::Pass
    };
    Ok(result)
}

impl Acceptance {
    /// One line for people: what accepting now would do at the gate.
    pub fn describe(&self) -> String {
        let plural = |n: usize, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
        let approves = format!(
            "approves {} of {}",
            plural(self.approved_by_accepting.len(), "review finding"),
            plural(self.agent_commits.len(), "agent commit"),
        );
        match self.verdict {
            Verdict::Block => format!(
                "BLOCKED: {} (accepting is refused until they are fixed)",
                plural(self.blocking.len(), "blocking finding")
            ),
            Verdict::Review => format!(
                "held for review: accepting {approves}; {} of other commits ({}) still \
                 need `gatehouse approve`",
                plural(self.still_review.len(), "finding"),
                self.other_commits
                    .iter()
                    .map(|c| c.get(..12).unwrap_or(c))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Verdict::Warn => format!(
                "passes with {}: accepting {approves}",
                plural(self.warnings.len(), "warning")
            ),
            Verdict::Pass => format!("passes: accepting {approves}"),
        }
    }
}
