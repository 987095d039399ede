//! `gatehouse audit [--since REV|DATE] [--branch B] [--format json]`: the periodic review of the
//! agent-written code that reached a branch, recorded so the next audit starts where this one
//! ended (`tasks::audit` does the work, shared with the review page).

use anyhow::{Context, bail};
use git2::Oid;

use super::daemon::StatusFormat;
use super::runs::print;
use super::task::open_store;
use crate::ExitStatus;
use crate::config;
use crate::git::Repo;
use crate::tasks::audit::{self, Audit, Since};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Start after this revision, or at this date (2026-11-01, an RFC 3339 time, or an age such
    /// as 30d); default: where the last audit of the branch ended.
    #[arg(long, value_name = "REV|DATE")]
    since: Option<String>,
    /// The branch to audit (default: the current branch).
    #[arg(long)]
    branch: Option<String>,
    /// Do not record this audit (the next one starts where the last recorded one ended).
    #[arg(long)]
    no_record: bool,
    #[arg(long, value_enum, default_value_t = StatusFormat::Human)]
    format: StatusFormat,
}

pub fn run(args: &Args) -> anyhow::Result<ExitStatus> {
    let repo = Repo::open_from_env()?;
    let store = open_store(&repo)?;
    let settings = config::load_for(&repo)?;
    super::notes::join_fetched(&repo);
    let branch = match &args.branch {
        Some(branch) => branch.clone(),
        None => repo
            .git2()
            .head()
            .ok()
            .filter(|h| h.is_branch())
            .and_then(|h| h.shorthand().ok().map(str::to_string))
            .context("HEAD is not on a branch: name one with --branch")?,
    };
    let tip = repo
        .resolve_commit(&format!("refs/heads/{branch}"))
        .or_else(|_| repo.resolve_commit(&branch))
        .with_context(|| format!("no branch `{branch}`"))?;
    let since = since(&repo, tip, args.since.as_deref())?;
    let result = audit::audit(&repo, &store, &settings, &branch, tip, since)?;
    let mut value = serde_json::to_value(&result)?;
    let mut text = human(&result);
    if !args.no_record {
        let who = super::env::identity(&repo)?;
        audit::record(&repo, &result, &who)?;
        value["recorded"] = serde_json::Value::Bool(true);
        text.push_str(&format!(
            "recorded this audit on {} ({}); the next audit starts there\n",
            &result.tip[..12],
            audit::AUDIT_NOTES_REF
        ));
    }
    print(args.format, &value, &text)
}

/// Where the audit starts: `--since` as a revision or a date, else the last audit, else the
/// branch's beginning.
fn since(repo: &Repo, tip: Oid, since: Option<&str>) -> anyhow::Result<Since> {
    let Some(text) = since else {
        return Ok(audit::since_last_audit(repo, tip)?);
    };
    if let Ok(commit) = repo.resolve_commit(text) {
        return Ok(Since {
            commit: Some(commit.to_string()),
            from: "rev",
            time: None,
        });
    }
    let Some(secs) = date_secs(text) else {
        bail!(
            "--since {text}: not a revision, a date (2026-11-01, 2026-11-01T12:00:00Z) or an age (30d)"
        );
    };
    Ok(Since {
        commit: audit::before_time(repo, tip, secs)?.map(|c| c.to_string()),
        from: "date",
        time: Some(crate::store::rfc3339(secs)),
    })
}

/// Seconds since the epoch of a date, an RFC 3339 UTC time, or an age before now.
fn date_secs(text: &str) -> Option<i64> {
    let epoch = "1970-01-01T00:00:00Z";
    let full = if text.len() == 10 {
        format!("{text}T00:00:00Z")
    } else {
        text.to_string()
    };
    if let Some(secs) = crate::store::runs::seconds_between(epoch, &full) {
        return i64::try_from(secs).ok();
    }
    let age = config::parse_duration(text).ok()?;
    let now = crate::store::runs::seconds_between(epoch, &crate::store::now())?;
    i64::try_from(now.checked_sub(age.as_secs())?).ok()
}

fn human(audit: &Audit) -> String {
    let since = match (&audit.since.commit, audit.since.from) {
        (Some(c), "last-audit") => format!(
            "since the last audit ({}, at {})",
            audit.since.time.as_deref().unwrap_or("?"),
            &c[..12]
        ),
        (Some(c), "date") => format!(
            "since {} (after {})",
            audit.since.time.as_deref().unwrap_or("?"),
            &c[..12]
        ),
        (Some(c), _) => format!("since {}", &c[..12]),
        (None, _) => "from its first commit (no audit before)".into(),
    };
    let n = audit.commits.len();
    let mut t = format!(
        "audit of {} {since}: {n} agent commit{}\n",
        audit.branch,
        if n == 1 { "" } else { "s" }
    );
    for c in &audit.commits {
        let approvers = if c.approvers.is_empty() {
            "NOT APPROVED".to_string()
        } else {
            format!("approved by {}", c.approvers.join(", "))
        };
        let cost = c
            .cost_usd
            .map_or("cost unknown".into(), |x| format!("${x:.4}"));
        t.push_str(&format!(
            "\n{} {} task {} run {}: {}\n  {approvers}; {cost}\n",
            &c.commit[..12],
            c.time,
            c.task,
            c.run,
            c.subject
        ));
        if c.findings.is_empty() {
            t.push_str("  no findings in its lines that still stand\n");
        }
        for f in &c.findings {
            t.push_str(&format!(
                "  {}:{}:{}: {} [{}] ({}) {}\n",
                f.path,
                f.line,
                f.column,
                f.rule,
                f.code,
                f.level.as_str(),
                f.message
            ));
        }
    }
    t.push_str(&format!(
        "\n{n} agent commit{}, ${:.4}, {} finding{} in agent-written lines that still stand\n",
        if n == 1 { "" } else { "s" },
        audit.total_cost_usd,
        audit.findings,
        if audit.findings == 1 { "" } else { "s" }
    ));
    t
}
