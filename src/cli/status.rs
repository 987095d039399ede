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
    });
    let text = match args.format {
        StatusFormat::Json => format!("{document}\n"),
        StatusFormat::Human => human(&document),
    };
    std::io::stdout().write_all(text.as_bytes())?;
    Ok(ExitStatus::Success)
}

fn human(document: &Value) -> String {
    let mut text = daemon::human_status(&document["daemon"]);
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
    text
}
