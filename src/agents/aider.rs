//! aider: `aider --message-file PROMPT --yes-always --no-auto-commits …` (checked against aider
//! 0.86.2, its sources and its real output against a local OpenAI-compatible server).
//!
//! What aider does on its own, and what the adapter does about it:
//! - It insists on a git identity (`git config user.name` / `user.email`) and writes
//!   placeholders into the repository's `.git/config` when there is none, which the confinement
//!   refuses (exit 1). It gets one through `GIT_CONFIG_PARAMETERS` (the author variables do not
//!   answer `git config`); it never commits (`--no-auto-commits`, `--no-dirty-commits`):
//!   gatehouse commits. It `git add`s each file it creates, which writes the worktree's index
//!   and the repository's objects, outside what it may write: its git gets a copy of the index
//!   and an object directory in the run directory (see [`private_git_index`]).
//! - Its files go to the run directory, not the worktree, where the scope check would see them:
//!   chat, input and LLM history; `--no-gitignore` (it would add `.aider*` to `.gitignore`); the
//!   repo-map cache it insists on creating in the worktree (`.aider.tags.cache.v4`) is removed
//!   afterwards. Writes to `~/.aider` (analytics id, installs, price cache) fail under Landlock,
//!   which aider tolerates.
//! - Nothing outside the model endpoint: `--no-analytics` (with `--yes-always` it could opt in),
//!   `--no-check-update`, `--no-show-release-notes`, `--no-show-model-warnings` and `BROWSER=true`
//!   (it offers to open URLs, and `--yes-always` accepts), `--no-detect-urls` (it would scrape the
//!   URLs of the prompt), `LITELLM_LOCAL_MODEL_COST_MAP` (litellm fetches its price list at
//!   start). With `base_url` (`--openai-api-base`, model `openai/NAME`) aider would still fetch
//!   its own price list for a model it does not know: a `--model-metadata-file` in the run
//!   directory names the model, without prices (a later `--model-metadata-file` in `args` wins).
//! - It exits 0 whether or not the model answered or anything was edited. Usage comes from
//!   `--analytics-log` (`message_send`: exact `prompt_tokens`, `completion_tokens`, `cost`);
//!   cached tokens only from its `Tokens: … sent, N cache hit, … received.` lines (aider
//!   reads `prompt_cache_hit_tokens` and `cache_read_input_tokens`, not
//!   `prompt_tokens_details.cached_tokens`, and prints counts from 1000 on rounded); reasoning
//!   tokens are not reported at all (they are in the output count). Its cost counts only when
//!   the line has `Cost:`: it prints none for a model without a price (and logs 0), then the
//!   table's `price` applies. `COLUMNS` keeps its messages on one line.
//! - The last message is the model's last answer, from `--llm-history-file`, then the
//!   `Applied edit to …` lines.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::config::AgentConfig;
use super::env::AgentEnv;
use super::usage::{Usage, count};
use super::{AgentError, End, Events, Invocation, PROMPT_FILE, Report, tail_text};

pub const ANALYTICS_LOG: &str = "aider-analytics.jsonl";
pub const LLM_HISTORY: &str = "aider-llm-history.txt";
const MODEL_METADATA: &str = "aider-model-metadata.json";
/// aider's own git index and object directory (see [`private_git_index`]).
const GIT_INDEX: &str = "aider-git-index";
const GIT_OBJECTS: &str = "aider-git-objects";
/// The identity aider finds in git's configuration (command-line scope, like `git -c`).
const GIT_IDENTITY: &str = "'user.name'='gatehouse agent' 'user.email'='agent@gatehouse.invalid'";
/// The provider prefix litellm needs for a model behind `--openai-api-base`.
const OPENAI_PREFIX: &str = "openai/";

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
            "--llm-history-file".into(),
            run_file(LLM_HISTORY),
            "--no-dirty-commits".into(),
            "--no-analytics".into(),
            "--no-show-release-notes".into(),
            "--no-show-model-warnings".into(),
            "--no-detect-urls".into(),
        ];
        if let Some(base_url) = &config.base_url {
            args.push("--openai-api-base".into());
            args.push(base_url.clone());
            if config.model.is_some() {
                args.push("--model-metadata-file".into());
                args.push(run_file(MODEL_METADATA));
            }
        }
        if let Some(model) = model_name(config) {
            args.push("--model".into());
            args.push(model);
        }
        args.extend(config.args.iter().cloned());
        (program, args)
    }

    fn prompt_on_stdin(&self, _config: &AgentConfig, _inv: &Invocation) -> bool {
        false
    }

    fn prepare(
        &self,
        config: &AgentConfig,
        inv: &Invocation,
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
        agent_env.set("GIT_CONFIG_PARAMETERS", GIT_IDENTITY);
        private_git_index(inv, agent_env)?;
        agent_env.set("LITELLM_LOCAL_MODEL_COST_MAP", "True");
        agent_env.set("BROWSER", "true");
        agent_env.set("COLUMNS", "4096");
        if config.base_url.is_some()
            && let Some(model) = model_name(config)
        {
            // No prices: aider then prints none, and the table's `price` applies.
            let metadata = json!({ model: { "litellm_provider": "openai", "mode": "chat" } });
            let path = inv.run_dir.join(MODEL_METADATA);
            std::fs::write(&path, metadata.to_string())
                .map_err(|e| AgentError::io("write", &path, e))?;
        }
        Ok(())
    }

    fn events(&self, _config: &AgentConfig, inv: &Invocation) -> Box<dyn Events> {
        Box::new(AiderEvents {
            analytics: inv.run_dir.join(ANALYTICS_LOG),
            llm_history: inv.run_dir.join(LLM_HISTORY),
            worktree: inv.worktree.to_path_buf(),
            caches_before: tag_caches(inv.worktree),
            output: Output::default(),
        })
    }
}

/// aider `git add`s every file it creates, and the worktree's index and the repository's object
/// store are outside what it may write: its git gets a copy of the index and an object
/// directory of its own in the run directory, with the repository's objects as alternates.
/// gatehouse reads the worktree through the real index, where such a file is untracked.
fn private_git_index(inv: &Invocation, agent_env: &mut AgentEnv) -> Result<(), AgentError> {
    let Ok(repo) = git2::Repository::open(inv.worktree) else {
        return Ok(());
    };
    let index = inv.run_dir.join(GIT_INDEX);
    let shared = repo.path().join("index");
    if shared.is_file() {
        std::fs::copy(&shared, &index).map_err(|e| AgentError::io("copy", &shared, e))?;
    }
    let objects = inv.run_dir.join(GIT_OBJECTS);
    std::fs::create_dir_all(&objects).map_err(|e| AgentError::io("create", &objects, e))?;
    agent_env.set("GIT_INDEX_FILE", &index);
    agent_env.set("GIT_OBJECT_DIRECTORY", &objects);
    agent_env.set(
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        repo.commondir().join("objects"),
    );
    Ok(())
}

/// The model as aider gets it: behind `base_url`, with litellm's `openai/` prefix.
fn model_name(config: &AgentConfig) -> Option<String> {
    let model = config.model.as_ref()?;
    if config.base_url.is_some() && !model.starts_with(OPENAI_PREFIX) {
        Some(format!("{OPENAI_PREFIX}{model}"))
    } else {
        Some(model.clone())
    }
}

struct AiderEvents {
    analytics: PathBuf,
    llm_history: PathBuf,
    worktree: PathBuf,
    caches_before: Vec<PathBuf>,
    output: Output,
}

impl Events for AiderEvents {
    fn line(&mut self, line: &str) {
        self.output.line(line);
    }

    fn usage(&self) -> Usage {
        self.output.usage
    }

    fn finish(self: Box<Self>, end: &End) -> Report {
        for cache in tag_caches(&self.worktree) {
            if !self.caches_before.contains(&cache) {
                let _ = std::fs::remove_dir_all(&cache);
            }
        }
        let out = self.output;
        let (logged, replies) = read_analytics(&self.analytics);
        let usage = if replies > 0 {
            Usage {
                cached_input: out.usage.cached_input.min(logged.input),
                cost_usd: logged.cost_usd.filter(|_| out.priced),
                ..logged
            }
        } else {
            out.usage
        };
        let error = judge(&out, replies, end);
        let mut message = last_reply(&self.llm_history).unwrap_or_default();
        for path in &out.edited {
            message.push_str("\nApplied edit to ");
            message.push_str(path);
        }
        Report {
            success: error.is_none(),
            error,
            usage,
            final_message: tail_text(&message, 4000).or_else(|| tail_text(end.stdout_tail, 2000)),
        }
    }
}

/// Why the run failed, if it did, in aider's words.
fn judge(out: &Output, replies: u32, end: &End) -> Option<String> {
    if end.exit_code != Some(0) {
        let said = out
            .api_error
            .clone()
            .or_else(|| last_line(end.stderr_tail))
            .or_else(|| last_line(end.stdout_tail));
        return Some(match said {
            Some(said) => format!("aider {}: {said}", end.describe()),
            None => format!("aider {}", end.describe()),
        });
    }
    if !out.refused.is_empty() {
        return Some(format!(
            "aider could not apply an edit: {}",
            out.refused.join("; ")
        ));
    }
    if let Some(api_error) = &out.api_error {
        return Some(if replies == 0 {
            format!("aider got no reply from the model: {api_error}")
        } else {
            format!("aider's last request to the model failed: {api_error}")
        });
    }
    if replies == 0 {
        return Some("aider got no reply from the model".into());
    }
    if out.edited.is_empty() {
        return Some(match &out.malformed {
            Some(reason) => format!(
                "aider made no edits: the model's answer did not conform to the edit format: \
                 {reason}"
            ),
            None => "aider made no edits".into(),
        });
    }
    None
}

fn last_line(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .map(String::from)
}

/// What aider's plain (`--no-pretty`) stdout says, line by line.
#[derive(Default)]
struct Output {
    edited: Vec<String>,
    /// Edits aider did not write: paths outside the repository, files it could not create or
    /// write, gitignored files, a failed `git add`.
    refused: Vec<String>,
    /// The last failed request (`litellm.…Error: …` and aider's explanation), cleared by a reply.
    api_error: Option<String>,
    /// Why the last answer did not conform to the edit format.
    malformed: Option<String>,
    /// From the `Tokens:` lines (rounded from 1000 tokens on); `cached_input` is exact below.
    usage: Usage,
    /// Whether aider priced the model (its `Tokens:` line has a `Cost:`).
    priced: bool,
    expect: Expect,
}

#[derive(Default, PartialEq)]
enum Expect {
    #[default]
    Nothing,
    /// aider's one-line explanation of the exception just printed.
    Explanation,
    /// The reason after "The LLM did not conform to the edit format." and its docs URL.
    FormatReason,
    /// The `cmdline:` and `stderr:` lines after `Cmd('git') failed …` (`GitPython`; the command
    /// line once seen).
    GitFailure(Option<String>),
}

const APPLIED: &str = "Applied edit to ";
const NONCONFORMING: &str = "The LLM did not conform to the edit format.";
const GIT_FAILED: &str = "Cmd('git') failed";
/// How aider reports a path outside the repository in an edit block.
const OUTSIDE_REPO: &str = "is not in the subpath of";

impl Output {
    fn line(&mut self, raw: &str) {
        let line = raw.trim();
        match std::mem::take(&mut self.expect) {
            Expect::Explanation
                if !line.is_empty()
                    && !line.starts_with("Retrying in ")
                    && !line.starts_with("http") =>
            {
                if let Some(error) = &mut self.api_error {
                    error.push(' ');
                    error.push_str(line);
                }
                return;
            }
            Expect::FormatReason if line.is_empty() || line.starts_with("https://") => {
                self.expect = Expect::FormatReason;
                return;
            }
            Expect::FormatReason => {
                if line.contains(OUTSIDE_REPO) {
                    self.refused.push(line.to_string());
                }
                self.malformed = Some(line.to_string());
                return;
            }
            Expect::GitFailure(command) => {
                if let Some(cmdline) = line.strip_prefix("cmdline: ") {
                    self.expect = Expect::GitFailure(Some(cmdline.to_string()));
                    return;
                }
                if let Some(stderr) = line.strip_prefix("stderr: ") {
                    let command = command.unwrap_or_else(|| "git".into());
                    self.refused.push(format!("`{command}` failed: {stderr}"));
                    return;
                }
            }
            _ => {}
        }
        if let Some(path) = line.strip_prefix(APPLIED) {
            self.edited.push(path.to_string());
        } else if line.starts_with("litellm.") {
            self.api_error = Some(line.to_string());
            self.expect = Expect::Explanation;
        } else if line == NONCONFORMING {
            self.expect = Expect::FormatReason;
        } else if line.starts_with(GIT_FAILED) {
            // aider reports git errors while applying edits (its `git add` of a new file).
            self.expect = Expect::GitFailure(None);
        } else if line.starts_with("Unable to create ")
            || line.starts_with("Unable to write file ")
            || line.starts_with("Skipping edits to ")
        {
            self.refused.push(line.to_string());
        } else if let Some(report) = line.strip_prefix("Tokens: ") {
            self.tokens(report);
        } else if line.starts_with("Cost: $") {
            // After a `Tokens:` line with both cache hit and cache write.
            self.priced = true;
        }
    }

    /// `2.3k sent, 120 cache write, 384 cache hit, 26 received. Cost: $0.01 message, …`
    fn tokens(&mut self, report: &str) {
        self.api_error = None;
        let (counts, cost) = report.split_once(" Cost: $").unwrap_or((report, ""));
        self.priced |= !cost.is_empty();
        for part in counts.trim_end_matches('.').split(", ") {
            let Some((number, kind)) = part.split_once(' ') else {
                continue;
            };
            let tokens = parse_tokens(number);
            match kind {
                "sent" => self.usage.input += tokens,
                "cache hit" => self.usage.cached_input += tokens,
                "received" | "received." => self.usage.output += tokens,
                _ => {}
            }
        }
    }
}

/// aider's `format_tokens`: `879`, `2.3k`, `12k`.
fn parse_tokens(text: &str) -> u64 {
    let Some(thousands) = text.strip_suffix('k') else {
        return text.parse().unwrap_or(0);
    };
    let (whole, fraction) = thousands.split_once('.').unwrap_or((thousands, ""));
    let fraction = format!("{fraction:0<3}");
    match (
        whole.parse::<u64>(),
        fraction.get(..3).map(str::parse::<u64>),
    ) {
        (Ok(whole), Some(Ok(fraction))) => whole * 1000 + fraction,
        _ => 0,
    }
}

/// Sums the `message_send` events: (usage, number of model replies).
fn read_analytics(path: &Path) -> (Usage, u32) {
    let mut usage = Usage::default();
    let mut replies = 0;
    // Written in the run directory: read like the agent's other files there (no symlink, no
    // FIFO); 16 MiB is thousands of requests.
    let Some(text) = super::run_file_text(path, 16 * super::RUN_FILE_MAX) else {
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

/// The model's last non-empty answer in aider's LLM history: the lines after the last
/// `LLM RESPONSE <time>` header, each prefixed `ASSISTANT` (a failed request logs an empty one).
fn last_reply(path: &Path) -> Option<String> {
    // Its end holds the last reply; read like the agent's other files in the run directory.
    let text = super::run_file_text(path, super::RUN_FILE_MAX)?;
    let mut last = None;
    let mut current: Option<Vec<&str>> = None;
    let keep = |reply: Option<Vec<&str>>| {
        let reply = reply?.join("\n").trim().to_string();
        (!reply.is_empty()).then_some(reply)
    };
    for line in text.lines() {
        if let (Some(reply), Some(rest)) = (&mut current, line.strip_prefix("ASSISTANT")) {
            reply.push(rest.strip_prefix(' ').unwrap_or(rest));
            continue;
        }
        last = keep(current.take()).or(last);
        if line.starts_with("LLM RESPONSE ") {
            current = Some(Vec::new());
        }
    }
    keep(current).or(last)
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

#[cfg(test)]
#[path = "tests_aider.rs"]
mod tests;
