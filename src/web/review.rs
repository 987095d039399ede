//! The review part of a run's page: the rounds of the review (costs summed), the gate's result of
//! accepting it now, and the diff of the whole review with the findings at their lines.

use git2::Oid;
use serde::Serialize;

use super::diff::{self, Diffed, FindingView};
use super::views::{format_cost, format_count};
use crate::checks::Finding;
use crate::git::Repo;
use crate::store::Store;
use crate::store::runs::{Run, RunState};
use crate::tasks::acceptance::Acceptance;

/// One round of a review.
#[derive(Debug, Serialize)]
pub struct RoundRow {
    pub n: usize,
    pub id: String,
    pub short: String,
    pub state: String,
    pub feedback: Option<String>,
    pub tokens: String,
    pub cost: String,
    pub current: bool,
}

/// What accepting now would meet at the gate.
#[derive(Debug, Serialize)]
pub struct GateView {
    pub verdict: String,
    pub agent_commits: usize,
    pub other_commits: usize,
    pub blocking: usize,
    pub approves: usize,
    pub still_review: usize,
    pub warnings: usize,
}

#[derive(Debug, Default, Serialize)]
pub struct Review {
    /// Every round, when there is more than one.
    pub rounds: Vec<RoundRow>,
    pub total_tokens: String,
    pub total_cost: String,
    pub gate: Option<GateView>,
    pub gate_error: Option<String>,
    pub diff: Option<Diffed>,
    pub diff_error: Option<String>,
    pub findings: usize,
}

fn view(findings: &[Finding]) -> Vec<FindingView> {
    findings
        .iter()
        .filter_map(|f| serde_json::to_value(f).ok())
        .filter_map(|v| serde_json::from_value(v).ok())
        .collect()
}

/// The review `run` belongs to. `stored` are the findings the run recorded when it was
/// validated; a review waiting for a decision shows the gate's findings of accepting it now.
pub fn review(
    repo: &Repo,
    store: &Store,
    run: &Run,
    commit: Option<Oid>,
    stored: Vec<FindingView>,
) -> Review {
    let rounds = store.rounds(&run.id).unwrap_or_default();
    let rounds = if rounds.is_empty() {
        vec![run.clone()]
    } else {
        rounds
    };
    let mut out = Review {
        total_tokens: format_count(rounds.iter().map(|r| r.tokens.total()).sum()),
        total_cost: format_cost(
            rounds
                .iter()
                .filter_map(|r| r.cost_usd)
                .reduce(|a, b| a + b),
            false,
        ),
        ..Review::default()
    };
    if rounds.len() > 1 {
        out.rounds = rounds
            .iter()
            .enumerate()
            .map(|(i, r)| RoundRow {
                n: i + 1,
                id: r.id.clone(),
                short: r.id.clone(),
                state: r.state.as_str().to_string(),
                feedback: r.feedback.clone(),
                tokens: format_count(r.tokens.total()),
                cost: format_cost(r.cost_usd, false),
                current: r.id == run.id,
            })
            .collect();
    }
    let mut findings = stored;
    if run.state == RunState::Ready {
        match gate(repo, store, run) {
            Ok(acceptance) => {
                findings = view(&acceptance.blocking);
                findings.extend(view(&acceptance.approved_by_accepting));
                findings.extend(view(&acceptance.still_review));
                findings.extend(view(&acceptance.warnings));
                out.gate = Some(gate_view(&acceptance));
            }
            Err(e) => out.gate_error = Some(format!("the gate's result of accepting: {e}")),
        }
    }
    out.findings = findings.len();
    // The whole review: from the first round's base to this round's commit.
    let base = rounds
        .first()
        .map_or(run.base.as_str(), |r| r.base.as_str());
    if let (Ok(base), Some(tip)) = (Oid::from_str(base), commit) {
        match diff::review_diff(repo.git2(), base, tip, findings) {
            Ok(d) => out.diff = Some(d),
            Err(e) => out.diff_error = Some(format!("the diff cannot be shown: {}", e.message())),
        }
    }
    out
}

fn gate(repo: &Repo, store: &Store, run: &Run) -> Result<Acceptance, String> {
    let settings = crate::config::load_for(repo).map_err(|e| e.to_string())?;
    crate::tasks::review::acceptance(repo, store, &settings, run).map_err(|e| e.to_string())
}

fn gate_view(a: &Acceptance) -> GateView {
    GateView {
        verdict: serde_json::to_value(a.verdict)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        agent_commits: a.agent_commits.len(),
        other_commits: a.other_commits.len(),
        blocking: a.blocking.len(),
        approves: a.approved_by_accepting.len(),
        still_review: a.still_review.len(),
        warnings: a.warnings.len(),
    }
}
