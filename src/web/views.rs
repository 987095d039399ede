//! What each page shows, built from the state database and the repository, and rendered with
//! the templates in `templates/` (minijinja, HTML auto-escaped).

use git2::Oid;
use minijinja::Environment;
use serde::{Deserialize, Serialize};

use super::WebError;
use super::diff::FindingView;
use crate::git::Repo;
use crate::store::runs::{Run, RunState, seconds_between};
use crate::store::{Store, now};

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("index.html", include_str!("templates/index.html")),
    ("runs_table.html", include_str!("templates/runs_table.html")),
    ("run.html", include_str!("templates/run.html")),
    ("costs.html", include_str!("templates/costs.html")),
    ("audit.html", include_str!("templates/audit.html")),
    ("error.html", include_str!("templates/error.html")),
];

/// Renders template `name` with `context`.
pub fn render(name: &str, context: minijinja::Value) -> Result<String, minijinja::Error> {
    let mut env = Environment::new();
    for (file, source) in TEMPLATES {
        env.add_template(file, source)?;
    }
    env.get_template(name)?.render(context)
}

pub fn render_error(status: u16, message: &str) -> Result<String, minijinja::Error> {
    render(
        "error.html",
        minijinja::context! { title => format!("Error {status}"), status, message },
    )
}

/// One run in a table.
#[derive(Debug, Serialize)]
pub struct RunRow {
    pub id: String,
    pub short: String,
    pub task: String,
    pub kind: String,
    pub agent: String,
    pub state: String,
    pub when: String,
    pub duration: String,
    pub tokens: String,
    pub cost: String,
    pub error: Option<String>,
    pub active: bool,
}

/// What the review summary (JSON on the run) holds that the page shows.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Stored {
    goal: String,
    commit: Option<String>,
    acceptance: Vec<AcceptView>,
    findings: Vec<FindingView>,
    final_message: Option<String>,
    diffstat: Option<Stat>,
    cost_estimated: bool,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
struct AcceptView {
    command: String,
    exit_code: Option<i32>,
    timed_out: bool,
    duration_ms: u64,
    output_tail: String,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
struct Stat {
    files: usize,
    insertions: usize,
    deletions: usize,
}

fn stored(run: &Run) -> Stored {
    run.summary
        .as_deref()
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default()
}

pub fn row(run: &Run, now: &str) -> RunRow {
    let duration = run.duration_ms.or_else(|| {
        let started = run.started_at.as_deref()?;
        run.state
            .is_active()
            .then(|| seconds_between(started, now).map(|s| s * 1000))
            .flatten()
    });
    RunRow {
        id: run.id.clone(),
        short: run.id.clone(),
        task: run.task.clone(),
        kind: run.kind.clone(),
        agent: run.agent.clone(),
        state: run.state.as_str().to_string(),
        when: run
            .started_at
            .as_deref()
            .unwrap_or(&run.queued_at)
            .replace('T', " ")
            .trim_end_matches('Z')
            .to_string(),
        duration: duration.map_or_else(|| "—".into(), format_duration),
        tokens: format_count(run.tokens.total()),
        cost: format_cost(run.cost_usd, stored(run).cost_estimated),
        error: run.error.clone(),
        active: run.state.is_active() || run.state == RunState::Queued,
    }
}

/// The front page: reviews waiting, the queue and what runs, and the latest ended runs.
#[derive(Debug, Serialize)]
pub struct Overview {
    pub reviews: Vec<RunRow>,
    pub working: Vec<RunRow>,
    pub recent: Vec<RunRow>,
}

pub fn overview(store: &Store) -> Result<Overview, WebError> {
    let runs = store.runs(&[])?;
    let now = now();
    let pick = |keep: &dyn Fn(&Run) -> bool| -> Vec<RunRow> {
        runs.iter()
            .filter(|r| keep(r))
            .map(|r| row(r, &now))
            .collect()
    };
    let mut recent = pick(&|r| {
        !(r.state == RunState::Ready || r.state == RunState::Queued || r.state.is_active())
    });
    recent.reverse();
    recent.truncate(50);
    Ok(Overview {
        reviews: pick(&|r| r.state == RunState::Ready),
        working: pick(&|r| r.state == RunState::Queued || r.state.is_active()),
        recent,
    })
}

/// One run: for a ready one, the review.
#[derive(Debug, Serialize)]
pub struct RunPage {
    pub run: RunRow,
    pub trigger: String,
    pub base: String,
    pub branch: Option<String>,
    pub commit: Option<String>,
    pub goal: String,
    pub decided_by: Option<String>,
    pub decision: Option<String>,
    pub ready: bool,
    acceptance: Vec<AcceptView>,
    stat: Option<Stat>,
    pub review: super::review::Review,
    pub final_message: Option<String>,
    pub log_tail: Option<String>,
    /// Where an accepted run's commit is now, when the current branch has it.
    pub landed: Option<String>,
}

pub fn run_page(repo: &Repo, store: &Store, id: &str) -> Result<RunPage, WebError> {
    let run = store.run(id)?.ok_or_else(|| WebError::NoRun(id.into()))?;
    let s = stored(&run);
    let git = repo.git2();
    let commit = s.commit.as_deref().and_then(|c| Oid::from_str(c).ok());
    let review = super::review::review(repo, store, &run, commit, s.findings);
    let log_tail = (run.state != RunState::Ready && run.state != RunState::Accepted)
        .then(|| {
            let dir = crate::tasks::run::run_dir(&repo.state_dir(), &run.id);
            log_tail(&dir.join(crate::agents::LOG_FILE), 8192)
        })
        .filter(|t| !t.trim().is_empty());
    let landed = (run.state == RunState::Accepted)
        .then(|| commit.and_then(|c| landed(git, c)))
        .flatten();
    Ok(RunPage {
        run: row(&run, &now()),
        trigger: run.trigger.clone(),
        base: run.base.chars().take(12).collect(),
        branch: run.branch.clone(),
        commit: s.commit.map(|c| c.chars().take(12).collect()),
        goal: s.goal.trim().to_string(),
        decided_by: run.decided_by.clone(),
        decision: run.decision.clone(),
        ready: run.state == RunState::Ready,
        acceptance: s.acceptance,
        stat: s.diffstat,
        review,
        final_message: s.final_message.map(|m| m.trim().to_string()),
        log_tail,
        landed,
    })
}

/// "main at 1a2b3c4d5e6f" when HEAD's branch contains `commit`.
/// The last `max` bytes of a run's `agent.log`. The run directory is the agent's to write in,
/// so the log may have become a symlink (to `~/.ssh/id_ed25519`, which the agent cannot read
/// but the page's server can), a FIFO (the request would wait for a writer forever) or a
/// device: those are named, not read (see [`crate::config::read::tail_no_follow`]).
fn log_tail(path: &std::path::Path, max: u64) -> String {
    match crate::config::read::tail_no_follow(path, max) {
        Ok(bytes) => String::from_utf8_lossy(&bytes.unwrap_or_default()).into_owned(),
        Err(why) => format!("[gatehouse: {} not shown: {why}]", path.display()),
    }
}

fn landed(git: &git2::Repository, commit: Oid) -> Option<String> {
    let head = git.head().ok()?;
    let at = head.target()?;
    let contains = at == commit || git.graph_descendant_of(at, commit).unwrap_or(false);
    contains.then(|| {
        let name = head.shorthand().unwrap_or("HEAD");
        format!("{name} at {}", &at.to_string()[..12])
    })
}

pub fn format_duration(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0 => format!("{ms} ms"),
        1..60 => format!("{:.1} s", ms as f64 / 1000.0),
        60..3600 => format!("{} m {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} m", s / 3600, s % 3600 / 60),
    }
}

pub fn format_count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Dollars: four decimals under one dollar (agent runs often cost fractions of a cent).
pub fn format_money(usd: f64) -> String {
    if usd.abs() < 1.0 {
        format!("${usd:.4}")
    } else {
        format!("${usd:.2}")
    }
}

/// A run's cost; `≈` when it was estimated from the price table.
pub fn format_cost(cost: Option<f64>, estimated: bool) -> String {
    match cost {
        None => "—".into(),
        Some(c) => format!("{}{}", if estimated { "≈" } else { "" }, format_money(c)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_an_agent_wrote_is_escaped() {
        let page = render_error(500, "<script>alert(1)</script> & \"q\"").unwrap();
        assert!(
            page.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt; &amp; &quot;q&quot;"),
            "{page}"
        );
        assert!(!page.contains("<script>alert"));
    }

    #[test]
    fn numbers_read_like_the_command_line() {
        assert_eq!(format_count(24_885), "24,885");
        assert_eq!(format_count(1_234_567), "1,234,567");
        assert_eq!(format_count(999), "999");
        assert_eq!(format_duration(850), "850 ms");
        assert_eq!(format_duration(4_000), "4.0 s");
        assert_eq!(format_duration(125_000), "2 m 05 s");
        assert_eq!(format_duration(3_720_000), "1 h 02 m");
        assert_eq!(format_cost(Some(0.00468), true), "≈$0.0047");
        assert_eq!(format_cost(Some(12.5), false), "$12.50");
        assert_eq!(format_cost(None, false), "—");
    }
}
