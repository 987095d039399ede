//! aider: `aider --message-file PROMPT --yes-always --no-auto-commits …`.
//!
//! Verified against aider's sources and docs: `aider/analytics.py` writes one JSON object per
//! line to `--analytics-log FILE` whenever a log file is given (opt-in or not):
//! `{"event", "properties", "user_id", "time"}`; `base_coder.py` sends `message_send` with
//! `prompt_tokens`, `completion_tokens`, `total_tokens`, `cost` (this message) and `total_cost`
//! after each model reply, and prints `Applied edit to PATH` for each edit it writes. aider
//! exits 0 whether or not the model answered or anything was edited, so the run succeeds only
//! when an edit was applied.
//! Besides the flags, `--no-gitignore` (aider would otherwise add `.aider*` to the
//! worktree's .gitignore) and `--chat-history-file` / `--input-history-file` (in the run
//! directory, not the worktree) keep aider's own files out of the change under review; the
//! repo-map cache directory it creates in the worktree is removed afterwards.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::config::AgentConfig;
use super::env::AgentEnv;
use super::usage::{Usage, count};
use super::{AgentError, End, Events, Invocation, PROMPT_FILE, Report, tail_text};

pub const ANALYTICS_LOG: &str = "aider-analytics.jsonl";
const APPLIED: &str = "Applied edit to ";

pub struct Aider;

impl super::Adapter for Aider {
    fn command_line(&self, config: &AgentConfig, inv: &Invocation) -> (String, Vec<String>) {
        let program = config.program_name().unwrap_or("aider").to_string();
        let run_file = |name: &str| inv.run_dir.join(name).display().to_string();
        let mut args: Vec<String> = vec![
            "--message-file".into(),
            run_file(PROMPT_FILE),
            "--yes-always".into(),
            "--no-auto-commits".into(),
            "--no-pretty".into(),
            "--no-stream".into(),
            "--no-check-update".into(),
            "--analytics-log".into(),
            run_file(ANALYTICS_LOG),
            "--no-gitignore".into(),
            "--chat-history-file".into(),
            run_file("aider-chat.md"),
            "--input-history-file".into(),
            run_file("aider-input.history"),
        ];
        if let Some(model) = &config.model {
            args.push("--model".into());
            args.push(model.clone());
        }
        args.extend(config.args.iter().cloned());
        (program, args)
    }

    fn prompt_on_stdin(&self, _config: &AgentConfig, _inv: &Invocation) -> bool {
        false
    }

    fn prepare(
        &self,
        _config: &AgentConfig,
        _inv: &Invocation,
        agent_env: &mut AgentEnv,
    ) -> Result<(), AgentError> {
        for name in [
            "OPENAI_API_KEY",
            "ANTHROPIC_API_KEY",
            "GEMINI_API_KEY",
            "OPENROUTER_API_KEY",
            "DEEPSEEK_API_KEY",
        ] {
            agent_env.pass(name);
        }
        Ok(())
    }

    fn events(&self, _config: &AgentConfig, inv: &Invocation) -> Box<dyn Events> {
        Box::new(AiderEvents {
            analytics: inv.run_dir.join(ANALYTICS_LOG),
            worktree: inv.worktree.to_path_buf(),
            caches_before: tag_caches(inv.worktree),
            edited: Vec::new(),
            last_error: None,
        })
    }
}

struct AiderEvents {
    analytics: PathBuf,
    worktree: PathBuf,
    caches_before: Vec<PathBuf>,
    edited: Vec<String>,
    last_error: Option<String>,
}

impl Events for AiderEvents {
    fn line(&mut self, line: &str) {
        if let Some(path) = line.strip_prefix(APPLIED) {
            self.edited.push(path.trim().to_string());
        } else if line.contains("Error") || line.starts_with("litellm.") {
            self.last_error = Some(line.trim().to_string());
        }
    }

    fn finish(self: Box<Self>, end: &End) -> Report {
        for cache in tag_caches(&self.worktree) {
            if !self.caches_before.contains(&cache) {
                let _ = std::fs::remove_dir_all(&cache);
            }
        }
        let (usage, replies) = read_analytics(&self.analytics);
        let error = if end.exit_code != Some(0) {
            Some(format!("aider {}", end.describe()))
        } else if replies == 0 {
            Some(match &self.last_error {
                Some(line) => format!("aider got no reply from the model: {line}"),
                None => "aider got no reply from the model".into(),
            })
        } else if self.edited.is_empty() {
            Some("aider made no edits".into())
        } else {
            None
        };
        Report {
            success: error.is_none(),
            error,
            usage,
            final_message: tail_text(end.stdout_tail, 2000),
        }
    }
}

/// Sums the `message_send` events: (usage, number of model replies).
fn read_analytics(path: &Path) -> (Usage, u32) {
    let mut usage = Usage::default();
    let mut replies = 0;
    let Ok(text) = std::fs::read_to_string(path) else {
        return (usage, 0);
    };
    for line in text.lines() {
        let Ok(event) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if event.get("event").and_then(Value::as_str) != Some("message_send") {
            continue;
        }
        let properties = event.get("properties");
        let field = |name: &str| properties.and_then(|p| p.get(name));
        replies += 1;
        usage.input += count(field("prompt_tokens"));
        usage.output += count(field("completion_tokens"));
        if let Some(cost) = field("cost").and_then(Value::as_f64) {
            usage.cost_usd = Some(usage.cost_usd.unwrap_or(0.0) + cost);
        }
    }
    (usage, replies)
}

/// aider's repo-map caches (`.aider.tags.cache.v3`, `.v4`, …) in the worktree's root.
fn tag_caches(worktree: &Path) -> Vec<PathBuf> {
    let Ok(dir) = std::fs::read_dir(worktree) else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".aider.tags.cache")
        })
        .map(|e| e.path())
        .collect()
}
