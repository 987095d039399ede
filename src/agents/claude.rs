//! Claude Code: `claude -p --output-format stream-json --verbose --permission-mode acceptEdits
//! …`, prompt on stdin.
//!
//! **Two guards.** Claude Code's own permission check stays on (`acceptEdits`: edits inside the
//! working directory and `--add-dir`s go through, everything else that would need a prompt is
//! denied, since `-p` cannot ask): unlike codex's bubblewrap it nests inside gatehouse's
//! Landlock ruleset, and it keeps unattended runs from shell commands and web fetches nobody
//! allowed. Landlock still refuses, in the kernel, whatever write that check lets through outside
//! the worktree and the run directory. Pass `--allowedTools` in `args` to let Claude run
//! commands (tests, linters) on its own.
//!
//! Verified against Claude Code 2.1.197 (`scripts/conformance/claude.sh` drives the real CLI
//! against `scripts/conformance/server_claude.py`; the captures are the stand-in's fixtures in
//! `tests/stand-ins/fixtures/claude/`):
//! - stdout is one JSON object per line: `system` (`init`, `api_retry`, …), `assistant` (one
//!   per content block, repeating the response's `message.id` and usage), `user` (tool results),
//!   and last `result`.
//! - `result` decides. Success is `subtype == "success"` and not `is_error`, whatever the exit
//!   code. An API error (after Claude's own retries, `CLAUDE_CODE_MAX_RETRIES`, default 10, 401s
//!   included) is a synthetic assistant message, then `subtype: "success"`, `is_error: true`,
//!   `api_error_status` and the message in `result`, exit 1. The turn limit is
//!   `subtype: "error_max_turns"`, `is_error: true`, `terminal_reason: "max_turns"`, the reason in
//!   `errors`, exit 1.
//! - A write Claude Code refused itself (outside the allowed directories, a sensitive path such as
//!   `.git/`) still ends `subtype: "success"`, `is_error: false`, exit 0, with the call in
//!   `permission_denials` (Claude's reason is in the call's tool result): a denied `Edit`,
//!   `Write`, `MultiEdit` or `NotebookEdit` fails the run and is named with that reason. Other
//!   denials (a shell command `acceptEdits` does not allow) are ordinary: gatehouse runs the
//!   acceptance commands itself. A write the kernel refused is a tool result with `is_error` and
//!   `EACCES`/`EPERM`/`EROFS`, which fails the run the same way.
//! - Usage: `result.usage` counts the main conversation only; `result.modelUsage` (per model)
//!   also counts side requests (such as a session title) and is what the server billed, so it
//!   wins; `total_cost_usd` is Claude's own figure. `input_tokens` excludes the cache; ours
//!   includes cache reads and writes.
//! - Live usage (for budgets while Claude runs): each `assistant` event carries its response's
//!   usage as it stood at `message_start`: input and cache exact, `output_tokens` a placeholder
//!   (1). The real output count is only in the API's `message_delta`, which stream-json shows
//!   only with `--include-partial-messages` (one line per streamed chunk; gatehouse reads it
//!   when it is in `args`, but does not add it: it multiplies the log). Without it, a response's
//!   output is estimated from the content streamed so far (text, thinking and tool input, 4
//!   characters a token, never below the reported figure). Hidden thinking is not in the
//!   stream, so a budget can still be passed by that much before the `result` corrects it.
//! - In a fresh `CLAUDE_CONFIG_DIR`, `-p` with an API key (or a copied sign-in) needs no login,
//!   onboarding or trust prompt. gatehouse sets `CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1`
//!   (no telemetry, error reports or auto-update to api.anthropic.com, no session-title request)
//!   unless the agent's `env` sets it; `base_url` becomes `ANTHROPIC_BASE_URL`.
//! - Bedrock: `CLAUDE_CODE_USE_BEDROCK=1` and `AWS_REGION` (required; Claude Code does not read
//!   the region from the AWS config file), plus the AWS credentials.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::config::AgentConfig;
use super::env::{self, AgentEnv};
use super::usage::{Usage, count};
use super::{AgentError, End, Events, Invocation, Report, tail_text};

/// Tools that change files: a refused call of one of them fails the run.
const WRITE_TOOLS: &[&str] = &["Edit", "MultiEdit", "Write", "NotebookEdit"];
/// Characters per output token when a response's output has to be estimated.
const CHARS_PER_TOKEN: u64 = 4;

pub struct Claude;

impl super::Adapter for Claude {
    fn command_line(&self, config: &AgentConfig, _inv: &Invocation) -> (String, Vec<String>) {
        let program = config.program_name().unwrap_or("claude").to_string();
        let mut args: Vec<String> = [
            "-p",
            "--output-format",
            "stream-json",
            "--verbose",
            "--permission-mode",
            "acceptEdits",
        ]
        .map(String::from)
        .to_vec();
        if let Some(model) = &config.model {
            args.push("--model".into());
            args.push(model.clone());
        }
        if let Some(turns) = config.max_turns {
            args.push("--max-turns".into());
            args.push(turns.to_string());
        }
        args.extend(config.args.iter().cloned());
        (program, args)
    }

    /// A fresh `CLAUDE_CONFIG_DIR` under the run directory. With it set, Claude Code reads
    /// `.credentials.json` and `.claude.json` from that directory, so the user's
    /// `~/.claude/.credentials.json` (the Linux sign-in; on macOS it lives in the Keychain) and
    /// `~/.claude.json` (account and onboarding state) are copied in. `settings.json` is not:
    /// the user's hooks and permission rules are not meant for unattended runs.
    fn prepare(
        &self,
        config: &AgentConfig,
        inv: &Invocation,
        agent_env: &mut AgentEnv,
    ) -> Result<(), AgentError> {
        let dir = env::config_home(inv, "claude-config")?;
        if let Some(user) = inv.home {
            env::seed_file(
                &user.join(".claude").join(".credentials.json"),
                &dir.join(".credentials.json"),
            )?;
            env::seed_file(&user.join(".claude.json"), &dir.join(".claude.json"))?;
        }
        agent_env.set("CLAUDE_CONFIG_DIR", &dir);
        // Telemetry, error reports, auto-update and other calls beyond the model: an unattended,
        // confined run has no use for them (the updater could not write its install anyway).
        agent_env.set("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1");
        for name in [
            "ANTHROPIC_API_KEY",
            "ANTHROPIC_AUTH_TOKEN",
            "ANTHROPIC_BASE_URL",
            "CLAUDE_CODE_OAUTH_TOKEN",
        ] {
            agent_env.pass(name);
        }
        if let Some(url) = &config.base_url {
            agent_env.set("ANTHROPIC_BASE_URL", url);
        }
        if config.bedrock() {
            agent_env.bedrock(config);
            agent_env.set("CLAUDE_CODE_USE_BEDROCK", "1");
        }
        Ok(())
    }

    fn events(&self, config: &AgentConfig, _inv: &Invocation) -> Box<dyn Events> {
        Box::new(ClaudeEvents {
            max_turns: config.max_turns,
            ..ClaudeEvents::default()
        })
    }
}

#[derive(Default)]
struct ClaudeEvents {
    max_turns: Option<u32>,
    result: Option<Value>,
    /// Each API response so far, by message id (one response streams as several `assistant`
    /// events that repeat its usage), for budgets while claude runs.
    live: BTreeMap<String, Response>,
    /// The response `--include-partial-messages` is streaming, by its `message_start`.
    streaming: Option<String>,
    /// Calls of write tools still waiting for their result: `tool_use` id → "Write /path".
    writes: HashMap<String, String>,
    /// Calls of write tools that failed, in order: (`tool_use` id, "Write /path", the error).
    failed_writes: Vec<(String, String, String)>,
    /// The last `api_retry` notice, for a run that ends without a result.
    retry: Option<String>,
}

/// One API response as the stream has shown it so far.
#[derive(Default, Clone, Copy)]
struct Response {
    usage: Usage,
    /// Characters of text, thinking and tool input streamed.
    chars: u64,
    /// The usage came from the API's `message_delta` (exact), not from `message_start`.
    exact: bool,
}

impl Response {
    fn usage(&self) -> Usage {
        if self.exact {
            return self.usage;
        }
        Usage {
            output: self.usage.output.max(self.chars.div_ceil(CHARS_PER_TOKEN)),
            ..self.usage
        }
    }
}

impl Events for ClaudeEvents {
    fn line(&mut self, line: &str) {
        let Ok(event) = serde_json::from_str::<Value>(line) else {
            return;
        };
        match event.get("type").and_then(Value::as_str) {
            Some("result") => self.result = Some(event),
            Some("assistant") => self.assistant(&event),
            Some("user") => self.tool_results(&event),
            Some("stream_event") => self.stream_event(&event),
            Some("system") if str_at(&event, "subtype") == Some("api_retry") => {
                self.retry = Some(retry_notice(&event));
            }
            _ => {}
        }
    }

    fn usage(&self) -> Usage {
        self.live
            .values()
            .fold(Usage::default(), |sum, r| add(sum, r.usage()))
    }

    fn finish(self: Box<Self>, end: &End) -> Report {
        let Some(result) = &self.result else {
            let detail = match (tail_text(end.stderr_tail, 400), &self.retry) {
                (Some(said), _) => format!(": {said}"),
                (None, Some(retry)) => format!(" (last: {retry})"),
                (None, None) => String::new(),
            };
            return Report {
                success: false,
                error: Some(format!(
                    "claude {} without a result event{detail}",
                    end.describe()
                )),
                usage: self.usage(),
                final_message: None,
            };
        };
        let mut errors: Vec<String> = self.result_error(result).into_iter().collect();
        let refused = self.refused_writes(result);
        if !refused.is_empty() {
            errors.push(format!(
                "claude was refused {}: {}",
                if refused.len() == 1 {
                    "a write"
                } else {
                    "writes"
                },
                refused.join("; ")
            ));
        }
        Report {
            success: errors.is_empty(),
            error: (!errors.is_empty()).then(|| errors.join("; ")),
            usage: final_usage(result),
            final_message: str_at(result, "result").map(str::to_string),
        }
    }
}

impl ClaudeEvents {
    fn assistant(&mut self, event: &Value) {
        let Some(message) = event.get("message") else {
            return;
        };
        let content = message.get("content").and_then(Value::as_array);
        for block in content.into_iter().flatten() {
            if block.get("type").and_then(Value::as_str) == Some("tool_use")
                && let (Some(id), Some(name)) = (str_at(block, "id"), str_at(block, "name"))
                && WRITE_TOOLS.contains(&name)
            {
                self.writes
                    .insert(id.to_string(), describe_call(name, block.get("input")));
            }
        }
        let Some(id) = str_at(message, "id") else {
            return;
        };
        let response = self.live.entry(id.to_string()).or_default();
        if !response.exact && message.get("usage").is_some() {
            response.usage = usage_of(message.get("usage"));
        }
        response.chars += content
            .into_iter()
            .flatten()
            .map(streamed_chars)
            .sum::<u64>();
    }

    fn tool_results(&mut self, event: &Value) {
        let content = event
            .get("message")
            .and_then(|m| m.get("content"))
            .and_then(Value::as_array);
        for block in content.into_iter().flatten() {
            let Some(id) = str_at(block, "tool_use_id") else {
                continue;
            };
            let Some(call) = self.writes.remove(id) else {
                continue;
            };
            if block.get("is_error").and_then(Value::as_bool) == Some(true) {
                let text = one_line(&text_of(block.get("content")));
                self.failed_writes.push((id.to_string(), call, text));
            }
        }
    }

    /// The writes refused, in Claude's words: those Claude denied itself (in the result's
    /// `permission_denials`, e.g. "Claude requested permissions to edit … which is a sensitive
    /// file."), and those the system refused (`EACCES`, …). Other failed writes ("String to
    /// replace not found", "File has not been read yet") are Claude's to handle.
    fn refused_writes(&self, result: &Value) -> Vec<String> {
        let denials = result.get("permission_denials").and_then(Value::as_array);
        let denied: Vec<(Option<&str>, String)> = denials
            .into_iter()
            .flatten()
            .filter_map(|d| {
                let name = str_at(d, "tool_name").filter(|n| WRITE_TOOLS.contains(n))?;
                Some((
                    str_at(d, "tool_use_id"),
                    describe_call(name, d.get("tool_input")),
                ))
            })
            .collect();
        let said = |id: Option<&str>| {
            self.failed_writes
                .iter()
                .find(|(failed, _, _)| Some(failed.as_str()) == id)
                .map(|(_, _, text)| text.as_str())
        };
        let mut refused: Vec<String> = denied
            .iter()
            .map(|(id, call)| match said(*id) {
                Some(text) => format!("{call}: {text}"),
                None => format!("{call} (denied by claude)"),
            })
            .collect();
        refused.extend(
            self.failed_writes
                .iter()
                .filter(|(id, _, text)| {
                    super::refused_by_the_system(text)
                        && !denied.iter().any(|(d, _)| *d == Some(id))
                })
                .map(|(_, call, text)| format!("{call}: {text}")),
        );
        refused
    }

    /// `--include-partial-messages`: the API's own events, `message_delta` with the final usage.
    fn stream_event(&mut self, event: &Value) {
        let Some(inner) = event.get("event") else {
            return;
        };
        match str_at(inner, "type") {
            Some("message_start") => {
                self.streaming = inner
                    .get("message")
                    .and_then(|m| str_at(m, "id"))
                    .map(str::to_string);
            }
            Some("message_delta") => {
                if let (Some(id), Some(usage)) = (&self.streaming, inner.get("usage")) {
                    let response = self.live.entry(id.clone()).or_default();
                    let delta = usage_of(Some(usage));
                    // An older API sends only output_tokens here: keep message_start's input.
                    if delta.input == 0 {
                        response.usage.output = delta.output;
                    } else {
                        response.usage = delta;
                    }
                    response.exact = true;
                }
            }
            _ => {}
        }
    }

    /// The result's own error, in Claude's words.
    fn result_error(&self, result: &Value) -> Option<String> {
        let subtype = str_at(result, "subtype").unwrap_or("");
        let is_error = result.get("is_error").and_then(Value::as_bool) == Some(true);
        if subtype == "success" && !is_error {
            return None;
        }
        let said = errors_of(result)
            .or_else(|| str_at(result, "result").map(one_line))
            .unwrap_or_else(|| "(no message)".into());
        Some(match subtype {
            "success" => match result.get("api_error_status").and_then(Value::as_u64) {
                Some(status) => format!("claude reported an error (API status {status}): {said}"),
                None => format!("claude reported an error: {said}"),
            },
            "error_max_turns" => match self.max_turns {
                Some(n) => format!("claude stopped at the turn limit (--max-turns {n}): {said}"),
                None => format!("claude stopped at its turn limit: {said}"),
            },
            "error_max_budget_usd" => format!("claude stopped at its budget limit: {said}"),
            "error_during_execution" => format!("claude failed during execution: {said}"),
            other => match str_at(result, "terminal_reason") {
                Some(reason) => format!("claude ended with {other} ({reason}): {said}"),
                None => format!("claude ended with {other}: {said}"),
            },
        })
    }
}

/// "Write /path" for a call of a write tool.
fn describe_call(name: &str, input: Option<&Value>) -> String {
    let path = input.and_then(|i| str_at(i, "file_path").or_else(|| str_at(i, "notebook_path")));
    match path {
        Some(path) => format!("{name} {path}"),
        None => name.to_string(),
    }
}

/// The usage the run is charged: `modelUsage` summed over models (it includes side requests
/// that `usage` leaves out), else `usage`; the cost is Claude's own `total_cost_usd`.
fn final_usage(result: &Value) -> Usage {
    let per_model = result.get("modelUsage").and_then(Value::as_object);
    let mut usage = match per_model {
        Some(models) if !models.is_empty() => models.values().fold(Usage::default(), |sum, m| {
            let field = |name: &str| count(m.get(name));
            let cache_read = field("cacheReadInputTokens");
            add(
                sum,
                Usage {
                    input: field("inputTokens") + field("cacheCreationInputTokens") + cache_read,
                    cached_input: cache_read,
                    output: field("outputTokens"),
                    ..Usage::default()
                },
            )
        }),
        _ => usage_of(result.get("usage")),
    };
    usage.cost_usd = result.get("total_cost_usd").and_then(Value::as_f64);
    usage
}

/// An API `usage` object. Claude's `input_tokens` excludes the cache; ours includes both cache
/// reads and writes.
fn usage_of(usage: Option<&Value>) -> Usage {
    let field = |name: &str| count(usage.and_then(|u| u.get(name)));
    let cache_read = field("cache_read_input_tokens");
    Usage {
        input: field("input_tokens") + field("cache_creation_input_tokens") + cache_read,
        cached_input: cache_read,
        output: field("output_tokens"),
        reasoning: 0,
        cost_usd: None,
    }
}

fn add(a: Usage, b: Usage) -> Usage {
    Usage {
        input: a.input + b.input,
        cached_input: a.cached_input + b.cached_input,
        output: a.output + b.output,
        reasoning: a.reasoning + b.reasoning,
        cost_usd: None,
    }
}

/// The characters a content block streamed as output: text, thinking, tool input.
fn streamed_chars(block: &Value) -> u64 {
    let len = |s: Option<&str>| s.map_or(0, |s| s.chars().count() as u64);
    match str_at(block, "type") {
        Some("text") => len(str_at(block, "text")),
        Some("thinking") => len(str_at(block, "thinking")),
        Some("tool_use" | "server_tool_use") => block
            .get("input")
            .map_or(0, |i| i.to_string().chars().count() as u64),
        _ => 0,
    }
}

fn retry_notice(event: &Value) -> String {
    let attempt = count(event.get("attempt"));
    let max = count(event.get("max_retries"));
    let status = event
        .get("error_status")
        .and_then(Value::as_u64)
        .map_or_else(String::new, |s| format!(" {s}"));
    let error = str_at(event, "error").unwrap_or("error");
    format!("API retry {attempt}/{max} after{status} {error}")
}

fn errors_of(result: &Value) -> Option<String> {
    let errors: Vec<String> = result
        .get("errors")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(one_line).collect())
        .unwrap_or_default();
    (!errors.is_empty()).then(|| errors.join("; "))
}

/// A tool result's text: a string, or the text blocks of a list.
fn text_of(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(blocks)) => blocks
            .iter()
            .filter_map(|b| str_at(b, "text"))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn one_line(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match text.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

fn str_at<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

#[cfg(test)]
#[path = "tests_claude.rs"]
mod tests;
