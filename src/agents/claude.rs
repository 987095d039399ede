//! Claude Code: `claude -p --output-format stream-json --verbose …`, prompt on stdin.
//!
//! Verified against Claude Code's headless documentation ("Run Claude Code programmatically":
//! `--output-format stream-json` needs `--verbose` with `-p`, one JSON object per line, the last
//! being the same `result` object `--output-format json` prints) and the result message's shape
//! as the Agent SDK types describe it (`SDKResultMessage`): `subtype` is `success` or
//! `error_max_turns` / `error_during_execution` / `error_max_budget_usd` /
//! `error_max_structured_output_retries`; a failed API call arrives as subtype `success` with
//! `is_error: true` and the message in `result`; `total_cost_usd`; `usage` with `input_tokens`
//! (uncached only), `cache_creation_input_tokens`, `cache_read_input_tokens`, `output_tokens`.
//! So success is `subtype == "success" && !is_error`, whatever the exit code.
//! Bedrock: `CLAUDE_CODE_USE_BEDROCK=1` and `AWS_REGION` (required; Claude Code does not read the
//! region from the AWS config file), plus the AWS credentials.

use serde_json::Value;

use super::config::AgentConfig;
use super::env::{self, AgentEnv};
use super::usage::{Usage, count};
use super::{AgentError, End, Events, Invocation, Report};

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
        for name in [
            "ANTHROPIC_API_KEY",
            "ANTHROPIC_AUTH_TOKEN",
            "ANTHROPIC_BASE_URL",
            "CLAUDE_CODE_OAUTH_TOKEN",
        ] {
            agent_env.pass(name);
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
            result: None,
            live: std::collections::BTreeMap::new(),
        })
    }
}

struct ClaudeEvents {
    max_turns: Option<u32>,
    result: Option<Value>,
    /// The usage of each API response so far, by message id (one response streams as several
    /// `assistant` events that repeat its usage), for budgets while claude runs.
    live: std::collections::BTreeMap<String, Usage>,
}

impl Events for ClaudeEvents {
    fn line(&mut self, line: &str) {
        let Ok(event) = serde_json::from_str::<Value>(line) else {
            return;
        };
        match event.get("type").and_then(Value::as_str) {
            Some("result") => self.result = Some(event),
            Some("assistant") => {
                let message = event.get("message");
                let id = message.and_then(|m| m.get("id")).and_then(Value::as_str);
                if let (Some(id), Some(message)) = (id, message)
                    && message.get("usage").is_some()
                {
                    self.live.insert(id.to_string(), usage_of(message));
                }
            }
            _ => {}
        }
    }

    fn usage(&self) -> Usage {
        self.live.values().fold(Usage::default(), |sum, u| Usage {
            input: sum.input + u.input,
            cached_input: sum.cached_input + u.cached_input,
            output: sum.output + u.output,
            reasoning: sum.reasoning + u.reasoning,
            cost_usd: None,
        })
    }

    fn finish(self: Box<Self>, end: &End) -> Report {
        let Some(result) = self.result else {
            return Report {
                success: false,
                error: Some(format!("claude {} without a result event", end.describe())),
                usage: Usage::default(),
                final_message: None,
            };
        };
        let subtype = result.get("subtype").and_then(Value::as_str).unwrap_or("");
        let is_error = result
            .get("is_error")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let text = result
            .get("result")
            .and_then(Value::as_str)
            .map(str::to_string);
        let error = match (subtype, is_error) {
            ("success", false) => None,
            ("success", true) => Some(format!(
                "claude reported an error: {}",
                text.as_deref().unwrap_or("(no message)")
            )),
            ("error_max_turns", _) => Some(match self.max_turns {
                Some(n) => format!("claude stopped at the turn limit (--max-turns {n})"),
                None => "claude stopped at its turn limit".into(),
            }),
            ("error_max_budget_usd", _) => Some("claude stopped at its budget limit".into()),
            ("error_during_execution", _) => Some(format!(
                "claude failed during execution{}",
                errors_of(&result)
            )),
            (other, _) => Some(format!(
                "claude ended with result {other:?}{}",
                errors_of(&result)
            )),
        };
        Report {
            success: error.is_none(),
            error,
            usage: usage_of(&result),
            final_message: text,
        }
    }
}

/// Claude's `input_tokens` excludes the cache; ours includes both cache reads and writes.
fn usage_of(result: &Value) -> Usage {
    let usage = result.get("usage");
    let field = |name: &str| count(usage.and_then(|u| u.get(name)));
    let cache_read = field("cache_read_input_tokens");
    Usage {
        input: field("input_tokens") + field("cache_creation_input_tokens") + cache_read,
        cached_input: cache_read,
        output: field("output_tokens"),
        reasoning: 0,
        cost_usd: result.get("total_cost_usd").and_then(Value::as_f64),
    }
}

fn errors_of(result: &Value) -> String {
    let errors: Vec<&str> = result
        .get("errors")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if errors.is_empty() {
        String::new()
    } else {
        format!(": {}", errors.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_usage_sums_responses_once_each() {
        let mut events = ClaudeEvents {
            max_turns: None,
            result: None,
            live: std::collections::BTreeMap::new(),
        };
        let assistant = |id: &str, input: u64, output: u64| {
            format!(
                r#"{{"type":"assistant","message":{{"id":"{id}","usage":{{"input_tokens":{input},"cache_creation_input_tokens":10,"cache_read_input_tokens":100,"output_tokens":{output}}}}}}}"#
            )
        };
        events.line(&assistant("msg_1", 5, 20));
        events.line(&assistant("msg_1", 5, 20));
        events.line(&assistant("msg_2", 7, 30));
        events.line("not json");
        let usage = events.usage();
        assert_eq!(
            (usage.input, usage.cached_input, usage.output),
            (5 + 110 + 7 + 110, 200, 50)
        );
    }
}
