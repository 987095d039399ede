//! Gemini CLI: `gemini -p PROMPT --output-format stream-json --approval-mode auto_edit`.
//!
//! Verified against the Gemini CLI's headless reference (docs/cli/headless.md) and its sources
//! (`packages/core/src/output/types.ts`, `stream-json-formatter.ts`): stream-json prints JSONL
//! events `init`, `message {role, content, delta}`, `tool_use`, `tool_result`, `error` (non-fatal
//! warnings) and a final `result {status: "success"|"error", error?, stats}` whose `stats` are
//! `total_tokens`, `input_tokens` (the prompt, cached included), `output_tokens`, `cached`,
//! `input` (= input_tokens − cached), `duration_ms`, `tool_calls`. Exit codes: 0 success, 1
//! general/API error, 41 authentication, 42 input, 44 sandbox, 52 config, 53 turn limit, 54 tool
//! execution, 55 cancellation, 130 interrupted (SIGINT).
//! `-p` takes the prompt as an argument; a prompt too long for one argument goes to stdin, which
//! the CLI appends to `-p`.

use serde_json::Value;

use super::config::AgentConfig;
use super::env::AgentEnv;
use super::usage::{Usage, count};
use super::{AgentError, End, Events, Invocation, Report};

/// Linux refuses a single argument over 128 KiB; stay well below.
const MAX_PROMPT_ARG: usize = 100 * 1024;
const STDIN_PROMPT: &str = "Follow the instructions given on standard input.";

pub struct Gemini;

impl super::Adapter for Gemini {
    fn command_line(&self, config: &AgentConfig, inv: &Invocation) -> (String, Vec<String>) {
        let program = config.program_name().unwrap_or("gemini").to_string();
        let prompt = if prompt_fits(inv) {
            inv.prompt
        } else {
            STDIN_PROMPT
        };
        let mut args: Vec<String> = vec![
            "-p".into(),
            prompt.into(),
            "--output-format".into(),
            "stream-json".into(),
            "--approval-mode".into(),
            "auto_edit".into(),
        ];
        if let Some(model) = &config.model {
            args.push("-m".into());
            args.push(model.clone());
        }
        args.extend(config.args.iter().cloned());
        (program, args)
    }

    fn prompt_on_stdin(&self, _config: &AgentConfig, inv: &Invocation) -> bool {
        !prompt_fits(inv)
    }

    fn prepare(
        &self,
        _config: &AgentConfig,
        _inv: &Invocation,
        agent_env: &mut AgentEnv,
    ) -> Result<(), AgentError> {
        for name in [
            "GEMINI_API_KEY",
            "GOOGLE_API_KEY",
            "GOOGLE_CLOUD_PROJECT",
            "GOOGLE_CLOUD_LOCATION",
            "GOOGLE_GENAI_USE_VERTEXAI",
            "GOOGLE_APPLICATION_CREDENTIALS",
        ] {
            agent_env.pass(name);
        }
        Ok(())
    }

    fn events(&self, _config: &AgentConfig, _inv: &Invocation) -> Box<dyn Events> {
        Box::new(GeminiEvents::default())
    }
}

fn prompt_fits(inv: &Invocation) -> bool {
    inv.prompt.len() <= MAX_PROMPT_ARG && !inv.prompt.contains('\0')
}

/// What a Gemini CLI exit code means.
pub fn exit_meaning(code: i32) -> &'static str {
    match code {
        0 => "success",
        1 => "general error or API failure",
        41 => "authentication failed",
        42 => "invalid input (prompt or arguments)",
        44 => "sandbox error",
        52 => "invalid configuration (settings.json)",
        53 => "turn limit reached",
        54 => "tool execution failed",
        55 => "cancelled",
        130 => "interrupted (SIGINT)",
        _ => "unknown exit code",
    }
}

#[derive(Default)]
struct GeminiEvents {
    result: Option<Value>,
    /// Assistant text since the last tool call: the final answer.
    text: String,
}

impl Events for GeminiEvents {
    fn line(&mut self, line: &str) {
        let Ok(event) = serde_json::from_str::<Value>(line) else {
            return;
        };
        match event.get("type").and_then(Value::as_str) {
            Some("message") if event.get("role").and_then(Value::as_str) == Some("assistant") => {
                let content = event.get("content").and_then(Value::as_str).unwrap_or("");
                if event.get("delta").and_then(Value::as_bool) != Some(true) {
                    self.text.clear();
                }
                self.text.push_str(content);
            }
            Some("tool_use") => self.text.clear(),
            Some("result") => self.result = Some(event),
            _ => {}
        }
    }

    fn finish(self: Box<Self>, end: &End) -> Report {
        let status = self
            .result
            .as_ref()
            .and_then(|r| r.get("status"))
            .and_then(Value::as_str);
        let result_error = self
            .result
            .as_ref()
            .and_then(|r| r.get("error"))
            .and_then(|e| e.get("message"))
            .and_then(Value::as_str);
        let error = match (end.exit_code, status) {
            (Some(0), Some("success")) => None,
            (Some(0), Some(_)) => Some(format!(
                "gemini reported an error: {}",
                result_error.unwrap_or("(no message)")
            )),
            (Some(0), None) => Some("gemini exited without a result event".into()),
            (Some(code), _) => Some(format!(
                "gemini exited with {code} ({}){}",
                exit_meaning(code),
                result_error.map(|m| format!(": {m}")).unwrap_or_default()
            )),
            (None, _) => Some(format!("gemini {}", end.describe())),
        };
        let stats = self.result.as_ref().and_then(|r| r.get("stats"));
        let field = |name: &str| count(stats.and_then(|s| s.get(name)));
        let text = self.text.trim();
        Report {
            success: error.is_none(),
            error,
            usage: Usage {
                input: field("input_tokens"),
                cached_input: field("cached"),
                output: field("output_tokens"),
                reasoning: 0,
                cost_usd: None,
            },
            final_message: (!text.is_empty()).then(|| text.to_string()),
        }
    }
}
