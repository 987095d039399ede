//! The audit view (`/audit`): what `gatehouse audit` shows for the current branch since the last
//! recorded audit — the agent commits that reached it, who approved each, what each cost, today's
//! findings in the lines they wrote that still stand — and how long ago the last audit was.
//! Reading changes nothing; "Record this audit" (a POST behind the token and the same-origin
//! check, like the decisions) records it as `gatehouse audit` does, so the next one starts there.

use std::sync::Arc;

use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::{Html, IntoResponse, Response};
use minijinja::value::Serde;
use minijinja::{Value, context};
use serde::Serialize;

use super::routes::Decision;
use super::views::{format_cost, format_money};
use super::{App, WebError, blocking, live, views};
use crate::git::Repo;
use crate::store::Store;
use crate::tasks::audit::{self, Audit, AuditedCommit};

/// The flash key of the audit page (run ids start with a date, never with this).
const FLASH: &str = "audit";

/// What the page shows.
#[derive(Debug, Serialize)]
pub struct AuditPage {
    /// `None`: HEAD is on no branch, and there is nothing to audit.
    pub branch: Option<String>,
    pub tip: String,
    /// Where the audit starts, in words.
    pub since: String,
    pub last: Option<LastAudit>,
    pub commits: Vec<CommitRow>,
    pub total_cost: String,
    pub findings: usize,
}

/// The last recorded audit of the branch.
#[derive(Debug, Serialize)]
pub struct LastAudit {
    pub time: String,
    pub ago: String,
    pub auditor: String,
    pub commits: usize,
}

/// One agent commit.
#[derive(Debug, Serialize)]
pub struct CommitRow {
    pub commit: String,
    pub short: String,
    pub time: String,
    pub task: String,
    pub run: String,
    pub subject: String,
    pub approvers: Vec<String>,
    pub cost: String,
    pub findings: Vec<FindingRow>,
}

#[derive(Debug, Serialize)]
pub struct FindingRow {
    pub at: String,
    pub rule: String,
    pub code: String,
    pub level: String,
    pub message: String,
}

/// The audit of the current branch since its last recorded audit, and the audit itself (to
/// record).
fn audit_now(repo: &Repo, store: &Store) -> Result<(AuditPage, Option<Audit>), WebError> {
    let head = repo.git2().head().ok().filter(|h| h.is_branch());
    let branch = head
        .as_ref()
        .and_then(|h| h.shorthand().ok().map(str::to_string));
    let (Some(branch), Some(tip)) = (branch, head.and_then(|h| h.target())) else {
        let page = AuditPage {
            branch: None,
            tip: String::new(),
            since: String::new(),
            last: None,
            commits: Vec::new(),
            total_cost: format_money(0.0),
            findings: 0,
        };
        return Ok((page, None));
    };
    let settings = crate::config::load_for(repo)?;
    let last = audit::last_audit(repo, Some(tip))?.map(|(_, note)| LastAudit {
        ago: crate::store::runs::seconds_between(&note.time, &crate::store::now())
            .map_or_else(|| "?".into(), ago),
        time: note
            .time
            .replace('T', " ")
            .trim_end_matches('Z')
            .to_string(),
        auditor: note.auditor,
        commits: note.commits,
    });
    let since = audit::since_last_audit(repo, tip)?;
    let result = audit::audit(repo, store, &settings, &branch, tip, since)?;
    let page = AuditPage {
        branch: Some(branch),
        tip: result.tip.chars().take(12).collect(),
        since: match &result.since.commit {
            Some(c) => format!("since the last audit, at {}", &c[..c.len().min(12)]),
            None => "from its first commit (no audit before)".into(),
        },
        last,
        commits: result.commits.iter().map(row).collect(),
        total_cost: format_money(result.total_cost_usd),
        findings: result.findings,
    };
    Ok((page, Some(result)))
}

fn row(c: &AuditedCommit) -> CommitRow {
    CommitRow {
        commit: c.commit.clone(),
        short: c.commit.chars().take(12).collect(),
        time: c.time.replace('T', " ").trim_end_matches('Z').to_string(),
        task: c.task.clone(),
        run: c.run.clone(),
        subject: c.subject.clone(),
        approvers: c.approvers.clone(),
        cost: format_cost(c.cost_usd, false),
        findings: c
            .findings
            .iter()
            .map(|f| FindingRow {
                at: format!("{}:{}:{}", f.path, f.line, f.column),
                rule: f.rule.to_string(),
                code: f.code.clone(),
                level: f.level.as_str().to_string(),
                message: f.message.clone(),
            })
            .collect(),
    }
}

/// An age in the largest unit that fits, as `gatehouse status` says it: 45 s, 12 min, 5 h, 3 d.
fn ago(secs: u64) -> String {
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3600),
        s => format!("{} d", s / 86_400),
    }
}

fn html(app: &App, page: &AuditPage, notice: Option<(&str, String)>) -> Result<String, WebError> {
    let notice = notice.or_else(|| app.take_flash(FLASH).map(|m| ("ok", m)));
    Ok(views::render(
        "audit.html",
        context! {
            title => "Audit of agent-written code", nav => "audit",
            version => live::version(app)?, token => app.guard.token(),
            notice => notice.as_ref().map(|(_, m)| m.clone()),
            notice_kind => notice.as_ref().map(|(k, _)| *k),
            audit => Value::from(Serde(page)),
        },
    )?)
}

/// `GET /audit`.
pub(crate) async fn show(State(app): State<Arc<App>>) -> Result<Html<String>, WebError> {
    blocking(move || {
        let repo = app.repo()?;
        let store = Store::open(&repo.state_dir())?;
        let (page, _) = audit_now(&repo, &store)?;
        Ok(Html(html(&app, &page, None)?))
    })
    .await
}

/// `POST /audit`: records the audit the page shows (the token in the form; the guard has
/// checked `Host` and the origin already).
pub(crate) async fn record(
    State(app): State<Arc<App>>,
    Form(form): Form<Decision>,
) -> Result<Response, WebError> {
    if !app.guard.token_matches(&form.token) {
        let refused = "refused: the request carries no valid token\n";
        return Ok((StatusCode::FORBIDDEN, refused).into_response());
    }
    blocking(move || {
        let _one_at_a_time = app.deciding.lock().unwrap_or_else(|e| e.into_inner());
        let repo = app.repo()?;
        let store = Store::open(&repo.state_dir())?;
        let (page, result) = audit_now(&repo, &store)?;
        let Some(result) = result else {
            let why = "HEAD is not on a branch: there is nothing to record".to_string();
            let body = html(&app, &page, Some(("error", why)))?;
            return Ok((StatusCode::CONFLICT, Html(body)).into_response());
        };
        let recorded = crate::env::identity(&repo)
            .map_err(|e| e.to_string())
            .and_then(|who| audit::record(&repo, &result, &who).map_err(|e| e.to_string()));
        match recorded {
            Ok(note) => {
                let message = format!(
                    "Recorded this audit of {} on {} ({} agent commit(s), {} finding(s)) by {}; \
                     the next audit starts there.",
                    result.branch, page.tip, note.commits, note.findings, note.auditor
                );
                app.set_flash(FLASH, message);
                Ok((StatusCode::SEE_OTHER, [(LOCATION, "/audit")]).into_response())
            }
            Err(why) => {
                let why = format!("The audit was not recorded: {why}");
                let body = html(&app, &page, Some(("error", why)))?;
                Ok((StatusCode::CONFLICT, Html(body)).into_response())
            }
        }
    })
    .await
}
