//! OpenAI Codex CLI: `codex exec --json … -`, prompt on stdin.
//!
//! Verified against the codex sources (`codex-rs/exec/src/cli.rs`, `exec_events.rs`,
//! `event_processor_with_jsonl_output.rs`) and openai/codex issues #4309, #5276, #17539:
//! - `--json` prints JSONL `ThreadEvent`s: `thread.started`, `turn.started`, `item.*`,
//!   `turn.completed {usage}`, `turn.failed {error: {message}}`, `error {message}`.
//! - `turn.completed.usage` is the thread's running total (`usage_from_last_total`), not the
//!   turn's own: `input_tokens` includes `cached_input_tokens`; newer versions add
//!   `reasoning_output_tokens` (part of `output_tokens`). The last event is the run's usage.
//! - A top-level `error` can be transient ("Reconnecting… 1/5") and followed by a completed turn,
//!   so an `error` only fails the run when no `turn.completed` comes after it; `turn.failed`
//!   always does. codex exits 1 on errors since #4309, but older versions exit 0, so exit 0
//!   alone is not success: the run also needs a completed turn.
//! - `-o/--output-last-message FILE` writes the final agent message.
//! - Amazon Bedrock is the built-in `amazon-bedrock` model provider (#18744), selected with
//!   `-c model_provider="amazon-bedrock"` and configured under
//!   `model_providers.amazon-bedrock.aws.{profile,region}`.

use std::path::PathBuf;

use serde_json::Value;

use super::config::{AgentConfig, BEDROCK};
use super::env::{self, AgentEnv};
use super::usage::{Usage, count};
use super::{AgentError, End, Events, Invocation, Report, tail_text};

/// Where `-o` writes the last message, in the run directory.
pub const LAST_MESSAGE_FILE: &str = "last-message.txt";

pub struct Codex;

impl super::Adapter for Codex {
    fn command_line(&self, config: &AgentConfig, inv: &Invocation) -> (String, Vec<String>) {
        let program = config.program_name().unwrap_or("codex").to_string();
        let mut args: Vec<String> = vec![
            "exec".into(),
            "--json".into(),
            "--sandbox".into(),
            "workspace-write".into(),
            "--skip-git-repo-check".into(),
            "-C".into(),
            inv.worktree.display().to_string(),
            "-o".into(),
            inv.run_dir.join(LAST_MESSAGE_FILE).display().to_string(),
        ];
        if config.bedrock() {
            let mut set = |key: &str, value: &str| {
                args.push("-c".into());
                args.push(format!("{key}={}", toml::Value::String(value.into())));
            };
            set("model_provider", BEDROCK);
            if let Some(profile) = &config.profile {
                set("model_providers.amazon-bedrock.aws.profile", profile);
            }
            if let Some(region) = &config.region {
                set("model_providers.amazon-bedrock.aws.region", region);
            }
        }
        if let Some(model) = &config.model {
            args.push("-m".into());
            args.push(model.clone());
        }
        args.extend(config.args.iter().cloned());
        args.push("-".into());
        (program, args)
    }

    /// A fresh `CODEX_HOME` under the run directory with the user's `auth.json` and
    /// `config.toml` copied in: sign-in and provider settings carry over, session files and
    /// history of the run stay with the run.
    fn prepare(
        &self,
        config: &AgentConfig,
        inv: &Invocation,
        agent_env: &mut AgentEnv,
    ) -> Result<(), AgentError> {
        let home = env::config_home(inv, "codex-home")?;
        if let Some(user) = inv.home {
            for file in ["auth.json", "config.toml"] {
                env::seed_file(&user.join(".codex").join(file), &home.join(file))?;
            }
        }
        agent_env.set("CODEX_HOME", &home);
        for name in ["OPENAI_API_KEY", "CODEX_API_KEY", "OPENAI_BASE_URL"] {
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
            ..CodexEvents::default()
        })
    }
}

#[derive(Default)]
struct CodexEvents {
    last_message_file: PathBuf,
    usage: Usage,
    completed_turns: u32,
    turn_failed: Option<String>,
    /// An `error` event not (yet) followed by a completed turn.
    pending_error: Option<String>,
    last_agent_message: Option<String>,
}

impl Events for CodexEvents {
    fn usage(&self) -> Usage {
        // `turn.completed` carries the thread's cumulative usage so far.
        self.usage
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
                    self.usage = Usage {
                        input: count(usage.get("input_tokens")),
                        cached_input: count(usage.get("cached_input_tokens")),
                        output: count(usage.get("output_tokens")),
                        reasoning: count(usage.get("reasoning_output_tokens")),
                        cost_usd: None,
                    };
                }
            }
            Some("turn.failed") => {
                let message = message_of(event.get("error"));
                self.turn_failed = Some(message);
            }
            Some("error") => self.pending_error = Some(message_of(Some(&event))),
            Some("item.completed") => {
                let item = event.get("item");
                if item.and_then(|i| i.get("type")).and_then(Value::as_str) == Some("agent_message")
                    && let Some(text) = item.and_then(|i| i.get("text")).and_then(Value::as_str)
                {
                    self.last_agent_message = Some(text.to_string());
                }
            }
            _ => {}
        }
    }

    fn finish(self: Box<Self>, end: &End) -> Report {
        let final_message = std::fs::read_to_string(&self.last_message_file)
            .ok()
            .and_then(|text| tail_text(&text, usize::MAX))
            .or(self.last_agent_message);
        let error = if let Some(message) = self.turn_failed {
            Some(format!("codex: turn failed: {message}"))
        } else if let Some(message) = self.pending_error {
            Some(format!("codex: error: {message}"))
        } else if end.exit_code != Some(0) {
            Some(format!("codex {}", end.describe()))
        } else if self.completed_turns == 0 {
            Some("codex exited without completing a turn".into())
        } else {
            None
        };
        Report {
            success: error.is_none(),
            error,
            usage: self.usage,
            final_message,
        }
    }
}

fn message_of(value: Option<&Value>) -> String {
    value
        .and_then(|v| v.get("message"))
        .and_then(Value::as_str)
        .unwrap_or("(no message)")
        .to_string()
}
