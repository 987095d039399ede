//! `gatehouse task run NAME --here`: one run in the current checkout, without a worktree or a
//! daemon, for CI engines. The agent edits the checkout; scope, acceptance commands and the
//! gate are checked; nothing is committed. The summary goes to stdout as JSON.

use std::time::Instant;

use anyhow::Context;
use serde_json::json;

use super::task::{agent_for, find};
use crate::ExitStatus;
use crate::agents::{self, CancelToken, Invocation};
use crate::config::{self, Level, Scope};
use crate::engine::{self, Request, Target};
use crate::git::Repo;
use crate::tasks::spec::Accept;
use crate::tasks::{prompt, run as runner, validate};

pub fn run(repo: &Repo, name: &str) -> anyhow::Result<ExitStatus> {
    let task = find(repo, name)?;
    let settings = config::load_for(repo)?;
    let agent = agent_for(&settings, &task)?;
    // No daemon takes part, so a spent daily budget refuses it as well as a paused kind.
    let store = super::task::open_store(repo)?;
    super::task::refuse_by_hand(&store, &settings, &task.kind, false)?;
    if let Some(why) = crate::tasks::queue::untrusted_widening(&store, &task, &settings)? {
        anyhow::bail!(why);
    }
    drop(store);
    let workdir = repo
        .workdir()
        .context("--here needs a working tree")?
        .to_path_buf();
    let started = Instant::now();
    let run_dir = repo
        .state_dir()
        .join("runs")
        .join(format!("here-{}", std::process::id()));
    let home = super::env::home();
    let text = prompt::assemble(&task);
    let extra = runner::worktree_git_env();
    let inv = Invocation {
        worktree: &workdir,
        run_dir: &run_dir,
        prompt: &text,
        timeout: task.timeout,
        home: home.as_deref(),
        extra_env: &extra,
        budget: agents::Budget {
            max_tokens: task.budget.max_tokens,
            max_usd: task.budget.max_usd,
        },
    };
    // A CI engine cancelling the job (SIGTERM) stops the agent instead of orphaning it.
    let cancel = CancelToken::new();
    super::task::ctrlc_cancel(cancel.clone())?;
    let outcome = agents::run(&task.agent, &agent, &inv, &cancel)?;
    let changed = validate::changed_files(repo.git2())?;
    let mut error = if !outcome.success {
        Some(
            outcome
                .error
                .clone()
                .unwrap_or_else(|| "the agent reported failure".into()),
        )
    } else if changed.is_empty() {
        Some("the agent changed no file".into())
    } else {
        runner::scope_error(&task, &changed)
    };
    let mut acceptance = Vec::new();
    if error.is_none() {
        acceptance = runner::run_acceptance(&task, &workdir, &run_dir, home.as_deref(), &cancel);
        error = runner::acceptance_error(&acceptance);
    }
    let paths = changed
        .iter()
        .filter(|c| c.status != "deleted")
        .map(|c| workdir.join(&c.path))
        .collect();
    let request = Request {
        target: Target::Worktree { paths },
        scope: Scope::All,
        rules: Vec::new(),
        level_at_least: None,
        use_cache: true,
    };
    let findings = if changed.is_empty() {
        Vec::new()
    } else {
        engine::run(repo, &settings, &request)?.findings
    };
    if error.is_none()
        && task.accept.contains(&Accept::Gate)
        && findings.iter().any(|f| f.level == Level::Block)
    {
        error = Some("the gate blocks the changes".into());
    }
    let state = if error.is_none() { "ready" } else { "failed" };
    let summary = json!({
        "task": task.name, "kind": task.kind, "agent": task.agent, "state": state, "error": error,
        "duration_ms": u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "tokens": { "input": outcome.usage.input, "cached_input": outcome.usage.cached_input, "output": outcome.usage.output, "reasoning": outcome.usage.reasoning },
        "cost_usd": outcome.usage.cost_usd, "exit_code": outcome.exit_code,
        "files_changed": changed, "acceptance": acceptance, "findings": findings,
        "final_message": outcome.final_message, "log": outcome.log.display().to_string(),
    });
    println!("{summary}");
    Ok(if state == "ready" {
        ExitStatus::Success
    } else {
        ExitStatus::Blocked
    })
}
