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
    let queue_length = daemon_status["queue_length"].as_u64().unwrap_or(0);
    let document = json!({
        "daemon": daemon_status,
        "hooks": { "dir": hooks_dir.display().to_string(), "hooks": hooks },
        "queue": { "length": queue_length, "running": Value::Null },
        "reviews": { "waiting": 0 },
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
    text.push_str(&format!(
        "hooks ({}): {}\nreviews waiting: {}\n",
        document["hooks"]["dir"].as_str().unwrap_or(""),
        line.join(", "),
        document["reviews"]["waiting"]
    ));
    text
}
