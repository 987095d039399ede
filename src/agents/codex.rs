//! The `OpenAI` Codex CLI: `codex exec --json --dangerously-bypass-approvals-and-sandbox … -`,
//! prompt on stdin, where Landlock confines it; `codex exec --json --sandbox workspace-write … -`
//! where it cannot.
//!
//! **gatehouse is the sandbox, when it can be.** codex (0.171) runs every edit and shell command
//! inside its bundled bubblewrap, which cannot start in a process that Landlock already confines
//! (`bwrap: setting up uid map: Permission denied`); the edit then fails while the turn still
//! completes with exit 0. So where Landlock is enforced codex is started with its own sandbox and
//! approvals off, and gatehouse's Landlock, environment allowlist and process group confine it
//! instead: writes outside the worktree, the run directory and the temp dir are refused by the
//! kernel. Where it is not (no Landlock in the kernel, not Linux), bypassing codex's sandbox
//! would leave the agent unconfined, so codex keeps its own: `--sandbox workspace-write` (the
//! 0.171 spelling: `-s, --sandbox <SANDBOX_MODE>`, one of `read-only`, `workspace-write`,
//! `danger-full-access`), with `codex exec`'s approval policy, which never asks.
//!
//! Verified against codex-cli 0.171.0 (`scripts/conformance/codex.sh`, which drives the real CLI
//! against `scripts/conformance/server_codex.py`) and its sources (`codex-rs/exec/src/
//! exec_events.rs`, `event_processor_with_jsonl_output.rs`):
//! - `--json` prints JSONL `ThreadEvent`s: `thread.started`, `turn.started`, `item.*`,
//!   `turn.completed {usage}`, `turn.failed {error: {message}}`, `error {message}`.
//! - `turn.completed.usage` is the thread's running total: `input_tokens` includes
//!   `cached_input_tokens` and `cache_write_input_tokens` (codex passes the Responses API's
//!   `input_tokens` through, and its own `total_tokens` is input + output);
//!   `reasoning_output_tokens` is part of `output_tokens`.
//! - `turn.failed` carries no usage; the run's `CODEX_HOME/sessions/**/rollout-*.jsonl` has
//!   `token_count` events with the thread's total, read at the end when the stream had none.
//! - A top-level `error` can be transient ("Reconnecting... 1/5 (…)") and followed by a
//!   completed turn, so an `error` only fails the run when no `turn.completed` comes after it;
//!   `turn.failed` always does. codex exits 1 on errors (#4309), older versions 0, so exit 0
//!   alone is not success: the run also needs a completed turn.
//! - A refused edit is an `item.completed` `file_change` with `"status": "failed"` (the reason
//!   is only in the rollout's tool output); it fails the run and names the paths. A
//!   `command_execution` fails it only when its output shows a refused write ("Permission
//!   denied", …): a failing test or grep is ordinary work. `error` *items* are warnings
//!   (unknown model metadata, deprecations) and fail nothing on their own.
//! - `OPENAI_BASE_URL` is ignored; a `base_url` becomes a `gatehouse` entry of
//!   `model_providers` (`wire_api = "responses"`, key from `OPENAI_API_KEY`).
//! - Amazon Bedrock is the built-in `amazon-bedrock` model provider (#18744), selected with
//!   `-c model_provider="amazon-bedrock"` and configured under
//!   `model_providers.amazon-bedrock.aws.{profile,region}` (and `.base_url`, one of the few
//!   keys codex lets a configuration change on that built-in provider).

use std::cell::Cell;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::config::{AgentConfig, BEDROCK};
use super::env::{self, AgentEnv};
use super::usage::{Usage, count};
use super::{AgentError, End, Events, Invocation, Report, tail_text};

/// Where `-o` writes the last message, in the run directory.
pub const LAST_MESSAGE_FILE: &str = "last-message.txt";
/// The per-run `CODEX_HOME`, in the run directory.
const HOME_DIR: &str = "codex-home";
/// The `model_providers` entry a `base_url` becomes.
const PROVIDER: &str = "gatehouse";
/// Where that provider's API key comes from.
const KEY_VAR: &str = "OPENAI_API_KEY";
/// How often the rollout is read for the usage so far while the turn runs.
const LIVE_EVERY: Duration = Duration::from_millis(500);

pub struct Codex;

/// codex's command line; `confined`: Landlock confines it, so codex's own sandbox (which cannot
/// start inside Landlock) is off, else codex keeps it (`--sandbox workspace-write`).
fn codex_command_line(
    config: &AgentConfig,
    inv: &Invocation,
    confined: bool,
) -> (String, Vec<String>) {
    let program = config.program_name().unwrap_or("codex").to_string();
    let mut args: Vec<String> = vec!["exec".into(), "--json".into()];
    if confined {
        args.push("--dangerously-bypass-approvals-and-sandbox".into());
    } else {
        args.extend(["--sandbox".into(), "workspace-write".into()]);
    }
    args.extend([
        "--skip-git-repo-check".into(),
        "-C".into(),
        inv.worktree.display().to_string(),
        "-o".into(),
        inv.run_dir.join(LAST_MESSAGE_FILE).display().to_string(),
    ]);
    let mut set = |key: &str, value: &str| {
        args.push("-c".into());
        args.push(format!("{key}={}", toml::Value::String(value.into())));
    };
    if config.bedrock() {
        set("model_provider", BEDROCK);
        if let Some(profile) = &config.profile {
            set("model_providers.amazon-bedrock.aws.profile", profile);
        }
        if let Some(region) = &config.region {
            set("model_providers.amazon-bedrock.aws.region", region);
        }
        if let Some(url) = &config.base_url {
            set("model_providers.amazon-bedrock.base_url", url);
        }
    } else if let Some(url) = &config.base_url {
        let table = format!("model_providers.{PROVIDER}");
        set(&format!("{table}.name"), PROVIDER);
        set(&format!("{table}.base_url"), url);
        set(&format!("{table}.wire_api"), "responses");
        set(&format!("{table}.env_key"), KEY_VAR);
        set("model_provider", PROVIDER);
    }
    if let Some(model) = &config.model {
        args.push("-m".into());
        args.push(model.clone());
    }
    args.extend(config.args.iter().cloned());
    args.push("-".into());
    (program, args)
}

impl super::Adapter for Codex {
    fn command_line(&self, config: &AgentConfig, inv: &Invocation) -> (String, Vec<String>) {
        codex_command_line(config, inv, super::landlock::enforced_here())
    }

    /// A fresh `CODEX_HOME` under the run directory with the user's `auth.json` and
    /// `config.toml` copied in: sign-in and provider settings carry over, session files and
    /// history of the run stay with the run (`finish` reads its rollout before it goes).
    fn prepare(
        &self,
        config: &AgentConfig,
        inv: &Invocation,
        agent_env: &mut AgentEnv,
    ) -> Result<(), AgentError> {
        let home = env::config_home(inv, HOME_DIR)?;
        if let Some(user) = inv.home {
            for file in ["auth.json", "config.toml"] {
                env::seed_file(&user.join(".codex").join(file), &home.join(file))?;
            }
        }
        agent_env.set("CODEX_HOME", &home);
        for name in [KEY_VAR, "CODEX_API_KEY"] {
            agent_env.pass(name);
        }
        if config.bedrock() {
            agent_env.bedrock(config);
        }
        Ok(())
    }

    fn events(&self, _config: &AgentConfig, inv: &Invocation) -> Box<dyn Events> {
        Box::new(CodexEvents {
            last_message_file: inv.run_dir.join(LAST_MESSAGE_FILE),
            codex_home: inv.run_dir.join(HOME_DIR),
            ..CodexEvents::default()
        })
    }
}

#[derive(Default)]
struct CodexEvents {
    last_message_file: PathBuf,
    codex_home: PathBuf,
    usage: Option<Usage>,
    completed_turns: u32,
    turn_failed: Option<String>,
    /// An `error` event not (yet) followed by a completed turn.
    pending_error: Option<String>,
    last_agent_message: Option<String>,
    /// Paths of `file_change` items that failed.
    failed_changes: Vec<String>,
    /// Commands whose output shows a refused write: (command, the refusing line).
    refused_commands: Vec<(String, String)>,
    /// The last `error` item (a warning).
    warning: Option<String>,
    /// When the rollout was last read for the usage so far, and what it said.
    live_read: Cell<Option<Instant>>,
    live_usage: Cell<Option<Usage>>,
}

impl Events for CodexEvents {
    /// `turn.completed` carries the thread's cumulative usage, but only at the end of the one
    /// turn `codex exec` runs; until then the rollout's `token_count` events (one per model
    /// response) say how much the run has used, read every [`LIVE_EVERY`] from their tail.
    fn usage(&self) -> Usage {
        if let Some(usage) = self.usage {
            return usage;
        }
        if self
            .live_read
            .get()
            .is_none_or(|at| at.elapsed() >= LIVE_EVERY)
        {
            self.live_read.set(Some(Instant::now()));
            if let Some(usage) = rollout::usage(&self.codex_home, Some(rollout::LIVE_TAIL)) {
                self.live_usage.set(Some(usage));
            }
        }
        self.live_usage.get().unwrap_or_default()
    }

    fn line(&mut self, line: &str) {
        let Ok(event) = serde_json::from_str::<Value>(line) else {
            return;
        };
        match event.get("type").and_then(Value::as_str) {
            Some("turn.completed") => {
                self.completed_turns += 1;
                self.pending_error = None;
                if let Some(usage) = event.get("usage") {
                    self.usage = Some(usage_of(usage));
                }
            }
            Some("turn.failed") => self.turn_failed = Some(message_of(event.get("error"))),
            Some("error") => self.pending_error = Some(message_of(Some(&event))),
            Some("item.completed") => {
                if let Some(item) = event.get("item") {
                    self.item(item);
                }
            }
            _ => {}
        }
    }

    fn finish(self: Box<Self>, end: &End) -> Report {
        let final_message = super::run_file_text(&self.last_message_file, super::RUN_FILE_MAX)
            .and_then(|text| tail_text(&text, usize::MAX))
            .or_else(|| self.last_agent_message.clone());
        let usage = self
            .usage
            .or_else(|| rollout::usage(&self.codex_home, None))
            .unwrap_or_default();
        let error = self.error(end);
        Report {
            success: error.is_none(),
            error,
            usage,
            final_message,
        }
    }
}

impl CodexEvents {
    fn item(&mut self, item: &Value) {
        let text = |key: &str| item.get(key).and_then(Value::as_str).unwrap_or_default();
        let failed = text("status") == "failed";
        match text("type") {
            "agent_message" => self.last_agent_message = Some(text("text").to_string()),
            "error" => self.warning = Some(text("message").to_string()),
            "file_change" if failed => {
                let changes = item.get("changes").and_then(Value::as_array);
                self.failed_changes.extend(
                    changes
                        .into_iter()
                        .flatten()
                        .filter_map(|c| c.get("path").and_then(Value::as_str))
                        .map(String::from),
                );
            }
            "command_execution" if failed => {
                if let Some(line) = refusal(text("aggregated_output")) {
                    self.refused_commands
                        .push((text("command").to_string(), line.to_string()));
                }
            }
            _ => {}
        }
    }

    /// Why the run failed, in codex's words, or `None` when it succeeded.
    fn error(&self, end: &End) -> Option<String> {
        let mut reasons = Vec::new();
        if let Some(message) = &self.turn_failed {
            reasons.push(format!("turn failed: {message}"));
        } else if let Some(message) = &self.pending_error {
            reasons.push(format!("error: {message}"));
        }
        if !self.failed_changes.is_empty() {
            let why = rollout::patch_failure(&self.codex_home)
                .map(|text| format!(" ({text})"))
                .unwrap_or_default();
            reasons.push(format!(
                "file change refused: {}{why}",
                self.failed_changes.join(", ")
            ));
        }
        for (command, line) in &self.refused_commands {
            reasons.push(format!("command refused: `{command}`: {line}"));
        }
        if reasons.is_empty() && end.exit_code != Some(0) {
            let said = stderr_reason(end.stderr_tail)
                .map(|line| format!(": {line}"))
                .unwrap_or_default();
            reasons.push(format!("{}{said}", end.describe()));
        }
        if reasons.is_empty() && self.completed_turns == 0 {
            let warning = self
                .warning
                .as_ref()
                .map(|w| format!(" (last warning: {w})"))
                .unwrap_or_default();
            reasons.push(format!("exited without completing a turn{warning}"));
        }
        (!reasons.is_empty()).then(|| format!("codex: {}", reasons.join("; ")))
    }
}

/// `turn.completed.usage` (or a rollout's `total_token_usage`), in gatehouse's terms: codex's
/// `input_tokens` already counts cached and cache-write tokens.
fn usage_of(usage: &Value) -> Usage {
    Usage {
        input: count(usage.get("input_tokens")),
        cached_input: count(usage.get("cached_input_tokens")),
        output: count(usage.get("output_tokens")),
        reasoning: count(usage.get("reasoning_output_tokens")),
        cost_usd: None,
    }
}

/// The line of a command's output that shows the confinement refused a write.
fn refusal(output: &str) -> Option<&str> {
    const SIGNS: [&str; 4] = [
        "Permission denied",
        "Operation not permitted",
        "Read-only file system",
        "bwrap:",
    ];
    output
        .lines()
        .find(|line| SIGNS.iter().any(|sign| line.contains(sign)))
        .map(str::trim)
}

/// What codex said on stderr when it stopped before a turn (a bad configuration): its
/// `Error: …` line, not the backtrace after it; else the last line that is not a warning.
fn stderr_reason(text: &str) -> Option<&str> {
    let lines = || text.lines().map(str::trim).filter(|line| !line.is_empty());
    lines()
        .find(|line| line.starts_with("Error") || line.starts_with("error:"))
        .or_else(|| lines().rfind(|line| !line.starts_with("WARNING")))
}

fn message_of(value: Option<&Value>) -> String {
    value
        .and_then(|v| v.get("message"))
        .and_then(Value::as_str)
        .unwrap_or("(no message)")
        .to_string()
}

/// What the run's `CODEX_HOME/sessions/**/rollout-*.jsonl` files (one per thread) recorded.
mod rollout {
    use std::path::{Path, PathBuf};

    use serde_json::Value;

    use super::usage_of;
    use crate::agents::usage::Usage;

    /// How much of a rollout's end is read while codex runs: a `token_count` line follows
    /// every model response, so the last one is near the end.
    pub const LIVE_TAIL: u64 = 256 * 1024;

    /// The usage of every thread: the last `token_count` total of each rollout, added up;
    /// `tail` reads only that many bytes at the end of each file.
    pub fn usage(codex_home: &Path, tail: Option<u64>) -> Option<Usage> {
        let mut total: Option<Usage> = None;
        for file in files(codex_home) {
            let last = lines(&file, tail)
                .filter(|e| kind(e) == ("event_msg", "token_count"))
                .filter_map(|e| e.pointer("/payload/info/total_token_usage").map(usage_of))
                .last();
            if let Some(usage) = last {
                let sum = total.get_or_insert_with(Usage::default);
                sum.input += usage.input;
                sum.cached_input += usage.cached_input;
                sum.output += usage.output;
                sum.reasoning += usage.reasoning;
            }
        }
        total
    }

    /// What codex told the model when its last `apply_patch` failed.
    pub fn patch_failure(codex_home: &Path) -> Option<String> {
        let mut patch_calls = Vec::new();
        let mut failure = None;
        for event in files(codex_home).iter().flat_map(|f| lines(f, None)) {
            let payload = &event["payload"];
            let call_id = payload["call_id"].as_str().unwrap_or_default().to_string();
            match kind(&event) {
                ("response_item", "custom_tool_call" | "function_call")
                    if payload["name"] == "apply_patch" =>
                {
                    patch_calls.push(call_id);
                }
                ("response_item", "custom_tool_call_output" | "function_call_output")
                    if patch_calls.contains(&call_id) =>
                {
                    let output = payload["output"].as_str().unwrap_or_default();
                    let said = output.split_once("Output:\n").map_or(output, |(_, o)| o);
                    let said = said.trim();
                    if !said.starts_with("Success.") && !said.is_empty() {
                        failure = Some(said.lines().collect::<Vec<_>>().join(" "));
                    }
                }
                _ => {}
            }
        }
        failure
    }

    fn kind(event: &Value) -> (&str, &str) {
        (
            event["type"].as_str().unwrap_or_default(),
            event["payload"]["type"].as_str().unwrap_or_default(),
        )
    }

    /// The JSON lines of a rollout (of its last `tail` bytes: the first, partial line of
    /// the tail does not parse and is skipped).
    fn lines(file: &Path, tail: Option<u64>) -> impl Iterator<Item = Value> {
        // In the run directory, the agent's to write in: no symlink followed, no FIFO opened.
        let text = super::super::run_file_text(file, tail.unwrap_or(u64::MAX)).unwrap_or_default();
        text.lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect::<Vec<_>>()
            .into_iter()
    }

    /// The rollout files under `sessions/`, in name (= start time) order.
    fn files(codex_home: &Path) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let mut dirs = vec![codex_home.join("sessions")];
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let name = entry.file_name();
                let name = name.to_string_lossy();
                // The entry's own type: a symlink to `/` is not walked into.
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    dirs.push(path);
                } else if name.starts_with("rollout-") && name.ends_with(".jsonl") {
                    found.push(path);
                }
            }
        }
        found.sort();
        found
    }
}

#[cfg(test)]
#[path = "tests_codex.rs"]
mod tests;
