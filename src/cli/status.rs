//! `gatehouse status`: the daemon, the hooks and (with the task queue) what waits for a human.

use std::io::Write;
use std::time::Duration;

use serde_json::{Value, json};

use super::daemon::{self, StatusFormat};
use crate::ExitStatus;
use crate::git::Repo;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long, value_enum, default_value_t = StatusFormat::Human)]
    format: StatusFormat,
}

pub fn run(args: &Args) -> anyhow::Result<ExitStatus> {
    let repo = Repo::open_from_env()?;
    let paths = daemon::paths(&repo);
    let daemon_status = daemon::query_status(&paths, Duration::from_secs(2));
    let hooks_dir = super::install::hooks_dir(&repo)?;
    let hooks: Vec<Value> = super::install::hook_states(&repo)?
        .into_iter()
        .map(|(name, state)| json!({ "name": name, "state": state }))
        .collect();
    // The queue is in the state database, so it is known with or without a daemon.
    let queue = crate::daemon::status::queue(&repo.state_dir());
    let document = json!({
        "daemon": daemon_status,
        "hooks": { "dir": hooks_dir.display().to_string(), "hooks": hooks },
        "queue": { "length": queue.queued, "running": queue.running },
        "reviews": { "waiting": queue.reviews },
        "audit": last_audit(&repo),
        "broken_task_files": daemon::broken_task_files(&repo),
    });
    let mut document = document;
    let doctor = super::doctor::status_warning(&repo);
    document["doctor"] = json!(doctor);
    let text = match args.format {
        StatusFormat::Json => format!("{document}\n"),
        StatusFormat::Human => human(&document) + &doctor.map(|w| w + "\n").unwrap_or_default(),
    };
    // Branch names, subjects and errors come from agents and repositories: no raw controls.
    std::io::stdout().write_all(crate::output::escaped_lines(&text).as_bytes())?;
    Ok(ExitStatus::Success)
}

fn human(document: &Value) -> String {
    let mut text = daemon::human_status(&document["daemon"]);
    text.push_str(&daemon::broken_task_lines(document));
    let hooks = document["hooks"]["hooks"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let line: Vec<String> = hooks
        .iter()
        .map(|h| {
            format!(
                "{} {}",
                h["name"].as_str().unwrap_or(""),
                h["state"].as_str().unwrap_or("")
            )
        })
        .collect();
    let running: Vec<&str> = document["queue"]["running"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    text.push_str(&format!(
        "hooks ({}): {}\nqueue: {} queued, running: {}\nreviews waiting: {} (`gatehouse review list`)\n",
        document["hooks"]["dir"].as_str().unwrap_or(""),
        line.join(", "),
        document["queue"]["length"],
        if running.is_empty() { "none".to_string() } else { running.join(", ") },
        document["reviews"]["waiting"]
    ));
    let audit = &document["audit"];
    text.push_str(&match (audit["last"].as_str(), audit["age_s"].as_u64()) {
        (Some(time), Some(age)) => format!(
            "last audit: {} ago ({time}, {} agent commit(s)); `gatehouse audit` reviews what came since\n",
            human_age(age),
            audit["commits"]
        ),
        _ => "last audit: never (`gatehouse audit` reviews the agent-written code)\n".into(),
    });
    text
}

/// The last recorded audit of the current branch: when, how long ago, and what it covered.
fn last_audit(repo: &Repo) -> Value {
    let tip = repo.resolve_commit("HEAD").ok();
    match crate::tasks::audit::last_audit(repo, tip) {
        Ok(Some((commit, note))) => {
            let age = crate::store::runs::seconds_between(&note.time, &crate::store::now());
            json!({ "last": note.time, "age_s": age, "on": commit.to_string(),
                    "commits": note.commits, "findings": note.findings })
        }
        _ => json!({ "last": null }),
    }
}

/// An age in the largest unit that fits: 45 s, 12 min, 5 h, 3 d.
fn human_age(secs: u64) -> String {
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3600),
        s => format!("{} d", s / 86_400),
    }
}
