//! The commands a run executes besides its agent, setup and acceptance: they run code from the
//! repository and the agent, so they run exactly like the agent, through its sandbox.

use std::path::Path;

use super::run::worktree_git_env;
use super::spec::{Accept, Task};
use super::validate::{self, AcceptResult};
use crate::agents::{self, AgentConfig, CancelToken, Invocation};

/// Runs the task's acceptance commands in `dir` (each with its own directory `accept-N` in
/// `run_dir` for its log and temp files), in order, each with its timeout; stops starting new
/// ones once `cancel` fires.
///
/// They run code the agent just wrote (a test, a conftest, a build script), so they run exactly
/// like the agent: through the agents' sandbox (process group, Landlock writes only in `dir`
/// and their own directory, the environment allowlist, the run marker), as `sh -c COMMAND`.
pub fn run_acceptance(
    task: &Task,
    dir: &Path,
    run_dir: &Path,
    home: Option<&Path>,
    cancel: &CancelToken,
) -> Vec<AcceptResult> {
    let mut results = Vec::new();
    for (n, accept) in task.accept.iter().enumerate() {
        let Accept::Run { command, timeout } = accept else {
            continue;
        };
        if cancel.is_cancelled() {
            break;
        }
        results.push(run_confined(
            command,
            dir,
            &run_dir.join(format!("accept-{n}")),
            *timeout,
            home,
            cancel,
        ));
    }
    results
}

/// One acceptance (or setup) command in the agents' sandbox.
pub fn run_confined(
    command: &str,
    dir: &Path,
    own_dir: &Path,
    timeout: std::time::Duration,
    home: Option<&Path>,
    cancel: &CancelToken,
) -> AcceptResult {
    let mut config = AgentConfig::new(agents::AdapterKind::Command);
    config.program = Some("/bin/sh".into());
    config.args = vec!["-c".into(), command.to_string()];
    let inv = Invocation {
        worktree: dir,
        run_dir: own_dir,
        prompt: "",
        timeout,
        home,
        extra_env: &worktree_git_env(),
        budget: agents::Budget::default(),
    };
    let started = std::time::Instant::now();
    let elapsed = || u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    match agents::run("acceptance", &config, &inv, cancel) {
        Ok(outcome) => AcceptResult {
            command: command.to_string(),
            exit_code: if outcome.timed_out || outcome.cancelled {
                None
            } else {
                outcome.exit_code
            },
            timed_out: outcome.timed_out,
            duration_ms: u64::try_from(outcome.duration.as_millis()).unwrap_or(u64::MAX),
            output_tail: validate::tail(&outcome.log, validate::OUTPUT_TAIL),
        },
        Err(e) => AcceptResult {
            command: command.to_string(),
            exit_code: None,
            timed_out: false,
            duration_ms: elapsed(),
            output_tail: format!("cannot run the acceptance command: {e}"),
        },
    }
}

/// Why acceptance failed, if it did.
pub fn acceptance_error(results: &[AcceptResult]) -> Option<String> {
    let failed: Vec<&str> = results
        .iter()
        .filter(|r| !r.passed())
        .map(|r| r.command.as_str())
        .collect();
    (!failed.is_empty()).then(|| format!("acceptance failed: {}", failed.join("; ")))
}
