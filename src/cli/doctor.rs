//! `gatehouse doctor`: will the gate run on the next push and merge, and which pushes did not
//! pass it. Exit 0 when the gate runs exactly once for each gating hook and every push since
//! gatehouse started watching passed it (warnings allowed), 1 otherwise, 2 on an error.
//!
//! Why 1 for problems: the spec's codes are 0 passed, 1 blocked by findings, 2 error. Doctor's
//! problems are its findings (it looked, and what it found fails the check, like `check` finding
//! blocking code), while 2 stays what it is for every command: doctor could not look (no
//! repository, an unreadable state database), so a script can tell the two apart.

use std::io::Write;

use serde_json::json;

use super::daemon::StatusFormat;
use super::doctor_checks::{self, Diagnosis};
use crate::ExitStatus;
use crate::gate::pushlog;
use crate::git::Repo;
use crate::store::Store;

// Its examples are in `examples::DOCTOR` (after_long_help).
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long, value_enum, default_value_t = StatusFormat::Human)]
    format: StatusFormat,
    /// Record the pushes reported now as seen, so later runs report only new ones.
    #[arg(long)]
    acknowledge: bool,
}

pub fn run(args: &Args) -> anyhow::Result<ExitStatus> {
    let repo = Repo::open_from_env()?;
    let diagnosis = doctor_checks::diagnose(&repo, true)?;
    let text = match args.format {
        StatusFormat::Json => format!("{}\n", document(&diagnosis)),
        StatusFormat::Human => human(&diagnosis),
    };
    std::io::stdout().write_all(text.as_bytes())?;
    if args.acknowledge && !diagnosis.ungated.is_empty() {
        let store = Store::open(&repo.state_dir())?;
        pushlog::record_baseline(&repo, &store, true)?;
        eprintln!(
            "acknowledged {} push(es); later runs report only new ones",
            diagnosis.ungated.len()
        );
    }
    Ok(if diagnosis.problems.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Blocked
    })
}

/// One line for `gatehouse status` when doctor would complain (read-only: records nothing).
pub fn status_warning(repo: &Repo) -> Option<String> {
    let diagnosis = doctor_checks::diagnose(repo, false).ok()?;
    let first = diagnosis.problems.first()?;
    let more = diagnosis.problems.len() - 1;
    let more = if more > 0 {
        format!(" (+{more} more)")
    } else {
        String::new()
    };
    Some(format!("doctor: {first}{more}; run `gatehouse doctor`"))
}

fn document(d: &Diagnosis) -> serde_json::Value {
    let pushes: Vec<_> = d
        .ungated
        .iter()
        .map(|p| {
            json!({
                "tracking_ref": p.tracking_ref,
                "remote": p.remote,
                "old": p.old.to_string(),
                "new": p.new.to_string(),
                "skipped_by": p.skipped_by,
                "commits": p.commits.iter().map(|(id, subject)| json!({ "id": id.to_string(), "subject": subject })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "ok": d.problems.is_empty(),
        "hooks_dir": d.hooks_dir.display().to_string(),
        "hooks": d.hooks,
        "problems": d.problems,
        "warnings": d.warnings,
        "ungated_pushes": pushes,
        "watching_pushes": !d.no_baseline,
    })
}

fn human(d: &Diagnosis) -> String {
    let mut out = format!("hooks directory git uses: {}\n", d.hooks_dir.display());
    for hook in &d.hooks {
        let routes: Vec<&str> = hook["routes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r.as_str())
            .collect();
        let how = if routes.is_empty() {
            "nothing".to_string()
        } else {
            routes.join(" + ")
        };
        let runs = match hook["runs"].as_u64() {
            Some(0) => "the gate does NOT run".to_string(),
            Some(1) => "the gate runs once".to_string(),
            Some(n) => format!("the gate runs {n} times"),
            None => String::new(),
        };
        out.push_str(&format!(
            "  {:<17} {runs}: {how}\n",
            hook["name"].as_str().unwrap_or("")
        ));
    }
    for push in d.ungated.iter().filter(|p| p.skipped_by.is_none()) {
        out.push_str(&format!(
            "push without the gate: {} {}..{}\n",
            push.tracking_ref,
            short(&push.old.to_string()),
            short(&push.new.to_string())
        ));
        for (id, subject) in &push.commits {
            out.push_str(&format!("  {} {subject}\n", short(&id.to_string())));
        }
    }
    if d.no_baseline {
        out.push_str("pushes: no record yet; gatehouse watches pushes from now on\n");
    }
    for warning in &d.warnings {
        out.push_str(&format!("warning: {warning}\n"));
    }
    for problem in &d.problems {
        out.push_str(&format!("problem: {problem}\n"));
    }
    out.push_str(if d.problems.is_empty() {
        "ok: the gate will run on the next push and merge\n"
    } else {
        "NOT OK: see the problems above\n"
    });
    out
}

fn short(id: &str) -> &str {
    &id[..12.min(id.len())]
}
