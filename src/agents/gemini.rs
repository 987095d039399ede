//! Gemini CLI: `gemini -p PROMPT --output-format stream-json --approval-mode auto_edit`, in a
//! per-run home.
//!
//! Verified against Gemini CLI 0.61.0 (`scripts/conformance/gemini.sh` drives the real CLI against
//! `scripts/conformance/server_gemini.py`; the captures are the stand-in's fixtures in
//! `tests/stand-ins/fixtures/gemini/`) and its bundled sources:
//! - **Its home.** The CLI writes `~/.gemini` on every start (`projects.json`, `installation_id`,
//!   chats and history under `tmp/`); it finds it through `GEMINI_CLI_HOME` (the directory that
//!   holds `.gemini/`). gatehouse points that at `gemini-home/` in the run directory and writes a
//!   fresh `settings.json` there: the auth type (see below), `general.maxAttempts = 3` (the CLI
//!   retries a 429 or 5xx 10 times with backoff up to 30 s otherwise), auto-update and its
//!   notice off, usage statistics off (they go to play.googleapis.com), and
//!   `model.maxSessionTurns` from `max_turns`. The user's settings are not copied (their hooks,
//!   MCP servers and tool rules are not meant for unattended runs); their sign-in is
//!   (`oauth_creds.json`, `google_accounts.json`, `gemini-credentials.json`).
//! - **Auth.** Headless, the CLI needs an auth type: `security.auth.selectedType` of the settings,
//!   else one guessed from the environment, where `GOOGLE_GEMINI_BASE_URL` alone makes it guess
//!   `gateway`, which 0.61 then rejects ("Invalid auth method selected.", exit 41). gatehouse
//!   keeps the user's own choice, else picks `vertex-ai` (`GOOGLE_GENAI_USE_VERTEXAI=true`) or
//!   `gemini-api-key` (`GEMINI_API_KEY` set); with `base_url` (→ `GOOGLE_GEMINI_BASE_URL`, or
//!   `GOOGLE_VERTEX_BASE_URL` for Vertex, which the CLI hands to the genai SDK as its
//!   `httpOptions.baseUrl`) only those two reach the URL, so a Google sign-in gives way to them.
//! - **Trust.** Headless in a folder it does not trust, the CLI exits 55 ("not running in a trusted
//!   directory"): gatehouse sets `GEMINI_CLI_TRUST_WORKSPACE=true` (what `--skip-trust` does).
//! - **Two guards.** With `auto_edit` the CLI offers the model no shell tool, and its file tools
//!   refuse paths outside the workspace (the worktree, `--include-directories`, its temp dir in
//!   the per-run home): such a refusal is a `tool_result` with `status: "error"`
//!   (`Path not in workspace: …`), after which the CLI still ends `success`. Landlock refuses in
//!   the kernel whatever that check lets through (`EACCES`). A refused call of a write tool
//!   (`write_file`, `replace`), or a shell command refused a write, fails the run and is named.
//! - stdout is JSONL: `init`, `message {role, content, delta}`, `tool_use {tool_name, tool_id,
//!   parameters}`, `tool_result {tool_id, status, output?, error?: {type, message}}`, `error
//!   {severity, message}` and last `result {status, error?: {type, message}, stats}`.
//!   `severity: "error"` events (an invalid model stream, the CLI's own 100-turn cap) and the
//!   "Loop detected" warning stop the agent short of its task: they fail the run.
//! - Failures: an API error (after the retries) is `result` `status: "error"` with
//!   `[API Error: {the API's JSON error}]`, and the exit code is the HTTP status modulo 256 (401
//!   → 145, 429 → 173, 500 → 244). `maxSessionTurns` reached: `FatalTurnLimitedError`, exit 53.
//!   Failures before the session (auth 41, input 42, settings 52, untrusted folder 55) print no
//!   event, only a message on stderr, which becomes the run's error.
//! - `result.stats`: `input_tokens` (the prompt, cached included), `cached`, `output_tokens`
//!   (candidates, thoughts excluded) and `total_tokens` (which includes the thoughts), summed over
//!   every request of the session, side requests (model routing with `auto`, next-speaker and
//!   loop checks) included. Thought tokens are `total − input − output`; ours count them in
//!   `output` and as `reasoning`. Usage is reported at the end only, so a budget is judged then.
//! - `-p` takes the prompt as an argument; a prompt too long for one argument goes to stdin, which
//!   the CLI appends to `-p`.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde_json::{Map, Value, json};

use super::config::{AgentConfig, EnvSpec};
use super::env::{self, AgentEnv};
use super::usage::{Usage, count};
use super::{AgentError, End, Events, Invocation, Report};

/// Linux refuses a single argument over 128 KiB; stay well below.
const MAX_PROMPT_ARG: usize = 100 * 1024;
const STDIN_PROMPT: &str = "Follow the instructions given on standard input.";
/// The per-run home in the run directory (`GEMINI_CLI_HOME`; the CLI uses its `.gemini/`).
pub const HOME_DIR: &str = "gemini-home";
/// Attempts per model request (the CLI's default is 10, with backoff up to 30 s).
const MAX_ATTEMPTS: u32 = 3;
/// The sign-in files of `~/.gemini` copied into the per-run home.
const SIGN_IN_FILES: &[&str] = &[
    "oauth_creds.json",
    "google_accounts.json",
    "gemini-credentials.json",
];
/// Tools that change files: a refused call of one of them fails the run.
const WRITE_TOOLS: &[&str] = &["write_file", "replace"];
/// The shell tool (offered only when `args` change the approval mode): a refused write in its
/// output fails the run too.
const SHELL_TOOL: &str = "run_shell_command";

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
        config: &AgentConfig,
        inv: &Invocation,
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
        let home = env::config_home(inv, HOME_DIR)?;
        let dot = home.join(".gemini");
        std::fs::create_dir_all(&dot).map_err(|e| AgentError::io("create", &dot, e))?;
        let user_dir = inv.home.map(|h| h.join(".gemini"));
        let mut user_auth = None;
        if let Some(user_dir) = &user_dir {
            for file in SIGN_IN_FILES {
                env::seed_file(&user_dir.join(file), &dot.join(file))?;
            }
            user_auth = std::fs::read_to_string(user_dir.join("settings.json"))
                .ok()
                .and_then(|text| selected_auth(&text));
        }
        // The CLI's own test: exactly "true".
        let vertex =
            env_value(config, agent_env, "GOOGLE_GENAI_USE_VERTEXAI").as_deref() == Some("true");
        let has_key = env_value(config, agent_env, "GEMINI_API_KEY").is_some();
        let auth = auth_type(
            user_auth.as_deref(),
            config.base_url.is_some(),
            vertex,
            has_key,
        );
        if let Some(url) = &config.base_url {
            let var = if auth.as_deref() == Some("vertex-ai") {
                "GOOGLE_VERTEX_BASE_URL"
            } else {
                "GOOGLE_GEMINI_BASE_URL"
            };
            agent_env.set(var, url);
        }
        let settings = settings(auth.as_deref(), config.max_turns);
        let path = dot.join("settings.json");
        let text = serde_json::to_string_pretty(&settings).unwrap_or_default();
        std::fs::write(&path, text + "\n").map_err(|e| AgentError::io("write", &path, e))?;
        agent_env.set("GEMINI_CLI_HOME", &home);
        agent_env.set("GEMINI_CLI_TRUST_WORKSPACE", "true");
        Ok(())
    }

    fn events(&self, config: &AgentConfig, _inv: &Invocation) -> Box<dyn Events> {
        Box::new(GeminiEvents {
            max_turns: config.max_turns,
            ..GeminiEvents::default()
        })
    }
}

fn prompt_fits(inv: &Invocation) -> bool {
    inv.prompt.len() <= MAX_PROMPT_ARG && !inv.prompt.contains('\0')
}

/// A variable the agent will get: set by the table's `env`, else passed from gatehouse's.
fn env_value(config: &AgentConfig, agent_env: &AgentEnv, name: &str) -> Option<String> {
    if let EnvSpec::Set(map) = &config.env
        && let Some(value) = map.get(name)
    {
        return Some(value.clone());
    }
    agent_env
        .get(name)
        .map(|v| v.to_string_lossy().into_owned())
        .filter(|v| !v.is_empty())
}

/// The auth type of a user's `settings.json` (`security.auth.selectedType`, or the older
/// top-level `selectedAuthType`).
fn selected_auth(settings: &str) -> Option<String> {
    let value: Value = serde_json::from_str(settings).ok()?;
    value
        .pointer("/security/auth/selectedType")
        .or_else(|| value.get("selectedAuthType"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The auth type the run's settings select: the user's, unless a base URL needs key auth;
/// else the one the environment provides; `None` leaves it to the CLI (which then says what is
/// missing).
fn auth_type(user: Option<&str>, base_url: bool, vertex: bool, has_key: bool) -> Option<String> {
    let key_auth = if vertex {
        "vertex-ai"
    } else {
        "gemini-api-key"
    };
    match user {
        Some(user @ ("gemini-api-key" | "vertex-ai")) => Some(user.to_string()),
        Some(_) if base_url => Some(key_auth.to_string()),
        Some(user) => Some(user.to_string()),
        None if base_url || vertex || has_key => Some(key_auth.to_string()),
        None => None,
    }
}

/// The per-run `settings.json`.
fn settings(auth: Option<&str>, max_turns: Option<u32>) -> Value {
    let mut settings = Map::new();
    settings.insert(
        "general".into(),
        json!({
            "maxAttempts": MAX_ATTEMPTS,
            "enableAutoUpdate": false,
            "enableAutoUpdateNotification": false,
        }),
    );
    settings.insert("privacy".into(), json!({ "usageStatisticsEnabled": false }));
    if let Some(auth) = auth {
        settings.insert(
            "security".into(),
            json!({ "auth": { "selectedType": auth } }),
        );
    }
    if let Some(turns) = max_turns {
        settings.insert("model".into(), json!({ "maxSessionTurns": turns }));
    }
    Value::Object(settings)
}

/// What a Gemini CLI exit code means (an API error exits with its HTTP status modulo 256).
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
        55 => "untrusted folder",
        130 => "cancelled",
        _ => "unknown exit code",
    }
}

#[derive(Default)]
struct GeminiEvents {
    max_turns: Option<u32>,
    result: Option<Value>,
    /// Assistant text since the last tool call: the final answer.
    text: String,
    /// Calls of write tools (and the shell) waiting for their result, by `tool_id`.
    writes: HashMap<String, String>,
    /// Writes refused by the CLI's workspace check or by the system: "`write_file` /p: reason".
    refused: Vec<String>,
    /// `error` events that stopped the agent short of its task.
    stopped: Vec<String>,
}

impl Events for GeminiEvents {
    fn line(&mut self, line: &str) {
        let Ok(event) = serde_json::from_str::<Value>(line) else {
            return;
        };
        match str_at(&event, "type") {
            Some("message") if str_at(&event, "role") == Some("assistant") => {
                let content = str_at(&event, "content").unwrap_or("");
                if event.get("delta").and_then(Value::as_bool) != Some(true) {
                    self.text.clear();
                }
                self.text.push_str(content);
            }
            Some("tool_use") => {
                self.text.clear();
                if let (Some(id), Some(name)) =
                    (str_at(&event, "tool_id"), str_at(&event, "tool_name"))
                    && (WRITE_TOOLS.contains(&name) || name == SHELL_TOOL)
                {
                    self.writes
                        .insert(id.to_string(), describe_call(name, event.get("parameters")));
                }
            }
            Some("tool_result") => self.tool_result(&event),
            Some("error") => {
                let message = str_at(&event, "message").unwrap_or("(no message)");
                if str_at(&event, "severity") == Some("error")
                    || message.starts_with("Loop detected")
                {
                    self.stopped.push(one_line(message));
                }
            }
            Some("result") => self.result = Some(event),
            _ => {}
        }
    }

    fn finish(self: Box<Self>, end: &End) -> Report {
        let result = self.result.as_ref();
        let status = result.and_then(|r| str_at(r, "status"));
        let said = result
            .and_then(|r| r.get("error"))
            .and_then(|e| str_at(e, "message"))
            .map(api_error);
        let mut errors = Vec::new();
        match (end.exit_code, status) {
            (Some(0), Some("success")) => {}
            (Some(0), Some(_)) => errors.push(format!(
                "gemini reported an error: {}",
                said.as_ref()
                    .map(|s| s.text.clone())
                    .or_else(|| self.stopped.first().cloned())
                    .unwrap_or_else(|| "(no message)".into())
            )),
            (Some(0), None) => errors.push(with_reason(
                "gemini exited without a result event".into(),
                stderr_reason(end.stderr_tail),
            )),
            (Some(code), _) => {
                let api = said.as_ref().and_then(|s| s.code);
                // An API error exits with its HTTP status modulo 256: the message says it all.
                let head = match (api, self.max_turns) {
                    (Some(http), _) if http % 256 == u64::try_from(code).unwrap_or(0) => {
                        format!("gemini exited with {code}")
                    }
                    (_, Some(turns)) if code == 53 => {
                        format!("gemini exited with 53 (turn limit reached, max_turns = {turns})")
                    }
                    _ => format!("gemini exited with {code} ({})", exit_meaning(code)),
                };
                let reason = said
                    .map(|s| s.text)
                    .or_else(|| self.stopped.first().cloned())
                    .or_else(|| stderr_reason(end.stderr_tail));
                errors.push(with_reason(head, reason));
            }
            (None, _) => errors.push(format!("gemini {}", end.describe())),
        }
        if errors.is_empty() && !self.stopped.is_empty() {
            errors.push(format!("gemini stopped: {}", self.stopped.join("; ")));
        }
        if !self.refused.is_empty() {
            errors.push(format!(
                "gemini was refused {}: {}",
                if self.refused.len() == 1 {
                    "a write"
                } else {
                    "writes"
                },
                self.refused.join("; ")
            ));
        }
        let text = self.text.trim();
        Report {
            success: errors.is_empty(),
            error: (!errors.is_empty()).then(|| errors.join("; ")),
            usage: usage_of(result.and_then(|r| r.get("stats"))),
            final_message: (!text.is_empty()).then(|| text.to_string()),
        }
    }
}

impl GeminiEvents {
    fn tool_result(&mut self, event: &Value) {
        let Some(call) = str_at(event, "tool_id").and_then(|id| self.writes.remove(id)) else {
            return;
        };
        let error = event.get("error");
        let kind = error.and_then(|e| str_at(e, "type")).unwrap_or("");
        let message = error.and_then(|e| str_at(e, "message")).unwrap_or("");
        let output = str_at(event, "output").unwrap_or("");
        let failed = str_at(event, "status") == Some("error");
        let refused = if call.starts_with(SHELL_TOOL) {
            super::refused_by_the_system(output)
                || (failed && super::refused_by_the_system(message))
        } else {
            failed
                && (matches!(kind, "path_not_in_workspace" | "permission_denied")
                    || message.starts_with("Path not in workspace")
                    || super::refused_by_the_system(message))
        };
        if refused {
            let why = if message.is_empty() { output } else { message };
            self.refused.push(format!("{call}: {}", one_line(why)));
        }
    }
}

/// A call as the run's error names it: `write_file /path`, or `run_shell_command` and the
/// command in backquotes.
fn describe_call(name: &str, parameters: Option<&Value>) -> String {
    let param = |key: &str| parameters.and_then(|p| str_at(p, key));
    if name == SHELL_TOOL {
        return match param("command") {
            Some(command) => format!("{name} `{}`", one_line(command)),
            None => name.to_string(),
        };
    }
    match param("file_path").or_else(|| param("absolute_path")) {
        Some(path) => format!("{name} {path}"),
        None => name.to_string(),
    }
}

/// A result's error message, with the API error in it made readable.
struct Said {
    text: String,
    /// The HTTP status of an API error.
    code: Option<u64>,
}

/// `[API Error: {"error":{"code":401,"message":"…","status":"UNAUTHENTICATED"}}]` → "API error
/// 401 (UNAUTHENTICATED): …"; anything else as it is, on one line.
fn api_error(message: &str) -> Said {
    let plain = Said {
        text: one_line(message),
        code: None,
    };
    let Some(rest) = message.strip_prefix("[API Error: ") else {
        return plain;
    };
    let (Some(start), Some(end)) = (rest.find('{'), rest.rfind('}')) else {
        return plain;
    };
    let Ok(body) = serde_json::from_str::<Value>(&rest[start..=end]) else {
        return plain;
    };
    let Some(error) = body.get("error") else {
        return plain;
    };
    let code = error.get("code").and_then(Value::as_u64);
    let mut text = String::from("API error");
    if let Some(code) = code {
        let _ = write!(text, " {code}");
    }
    if let Some(status) = str_at(error, "status") {
        let _ = write!(text, " ({status})");
    }
    if let Some(said) = str_at(error, "message") {
        let _ = write!(text, ": {}", one_line(said));
    }
    // What the CLI adds after the error (a rate-limit hint).
    let after = rest[end + 1..].trim().trim_start_matches(']').trim();
    if !after.is_empty() {
        let _ = write!(text, " {}", one_line(after));
    }
    Said { text, code }
}

/// Lines the CLI prints on stderr on every run, which say nothing about a failure.
const STDERR_NOISE: &[&str] = &[
    "Warning: ",
    "Ripgrep is not available",
    "[STARTUP]",
    "Approval mode overridden",
    "Loaded cached credentials",
];

/// Why the CLI failed, from its stderr: the last lines that are not noise, stack frames or
/// the tail of a dumped object.
fn stderr_reason(stderr: &str) -> Option<String> {
    // A coloured message may lack its newline: its colour reset ends it.
    let lines: Vec<String> = stderr
        .lines()
        .flat_map(|l| l.split("\u{1b}[0m"))
        .map(strip_ansi)
        .map(|l| l.trim().to_string())
        .filter(|l| {
            !l.is_empty()
                && !l.starts_with("at ")
                && !matches!(l.as_str(), "}" | "]" | "{")
                && !STDERR_NOISE.iter().any(|n| l.starts_with(n))
        })
        .collect();
    if lines.is_empty() {
        return None;
    }
    let start = lines.len().saturating_sub(3);
    Some(one_line(&lines[start..].join(" ")))
}

fn with_reason(head: String, reason: Option<String>) -> String {
    match reason {
        Some(reason) => format!("{head}: {reason}"),
        None => head,
    }
}

/// Removes terminal escape sequences (the CLI colours some of its errors).
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// The run's usage from `result.stats`: thought tokens are what `total_tokens` has beyond input
/// and output; ours count them in `output` and as `reasoning`.
fn usage_of(stats: Option<&Value>) -> Usage {
    let field = |name: &str| count(stats.and_then(|s| s.get(name)));
    let input = field("input_tokens");
    let output = field("output_tokens");
    let thoughts = field("total_tokens").saturating_sub(input + output);
    Usage {
        input,
        cached_input: field("cached"),
        output: output + thoughts,
        reasoning: thoughts,
        cost_usd: None,
    }
}

fn one_line(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match text.char_indices().nth(400) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

fn str_at<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

#[cfg(test)]
#[path = "tests_gemini.rs"]
mod tests;
