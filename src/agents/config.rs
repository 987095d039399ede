//! The `[agents.NAME]` tables of `.gatehouse/config.toml`: which adapter, which program, which
//! model, which extra arguments and environment, and how to reach the model provider.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

use super::AgentError;

/// The one provider gatehouse knows how to configure beyond the agent's own default.
pub const BEDROCK: &str = "amazon-bedrock";

/// One `[agents.NAME]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// Which agent this is: decides the command line and how its output is read.
    pub adapter: AdapterKind,
    /// The executable (default: the agent's usual name on PATH; required for `command`). A path
    /// with a `/` that is not absolute is relative to the run's worktree; `~/` is the user's home.
    pub program: Option<String>,
    pub model: Option<String>,
    /// Extra arguments, after gatehouse's own; for `command`, the whole argv after `program`,
    /// with `{prompt_file}`, `{worktree}` and `{run_dir}` replaced.
    #[serde(default)]
    pub args: Vec<String>,
    /// Variables the agent gets beyond the allowlist.
    #[serde(default)]
    pub env: EnvSpec,
    /// `"amazon-bedrock"` routes codex or claude through Amazon Bedrock.
    pub provider: Option<String>,
    pub region: Option<String>,
    pub profile: Option<String>,
    /// The model endpoint, for a proxy, a gateway or a local model server: codex gets a
    /// `model_providers` table for it, claude `ANTHROPIC_BASE_URL`, gemini
    /// `GOOGLE_GEMINI_BASE_URL`, aider `--openai-api-base`.
    pub base_url: Option<String>,
    /// claude's `--max-turns`, gemini's `model.maxSessionTurns`.
    pub max_turns: Option<u32>,
    /// USD per million tokens, used when the agent reports no cost itself.
    pub price: Option<Price>,
    /// Extra directories the agent may write to besides its worktree, its run directory and the
    /// temp dir (Landlock), e.g. `["~/.gemini"]` for an agent that insists on writing there.
    #[serde(default)]
    pub writable: Vec<String>,
    /// Extra paths the agent may read besides the system, its worktree and the toolchain
    /// directories of the home (the rest of the home is hidden), e.g. `["~/.m2/settings.xml"]`.
    #[serde(default)]
    pub readable: Vec<String>,
    /// `"off"`: the agent runs in a network namespace of its own with no interface up, so it
    /// can reach nothing, not even loopback (for `command` agents and local models started by
    /// the agent itself). Needs CAP_SYS_ADMIN; the run fails rather than go on without it.
    #[serde(default)]
    pub network: Network,
}

/// An agent's network policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    /// The network as gatehouse has it (the agent needs its model endpoint).
    #[default]
    On,
    /// No network at all.
    Off,
}

/// Which adapter reads an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdapterKind {
    Codex,
    Claude,
    Aider,
    Gemini,
    Command,
}

impl AdapterKind {
    /// The name used in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            AdapterKind::Codex => "codex",
            AdapterKind::Claude => "claude",
            AdapterKind::Aider => "aider",
            AdapterKind::Gemini => "gemini",
            AdapterKind::Command => "command",
        }
    }

    /// The program run when `program` is not set (`command` has none).
    pub fn default_program(self) -> Option<&'static str> {
        match self {
            AdapterKind::Command => None,
            other => Some(other.as_str()),
        }
    }
}

impl fmt::Display for AdapterKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `env = ["NAME", …]` passes variables through from gatehouse's environment;
/// `env = { NAME = "value" }` sets them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum EnvSpec {
    Pass(Vec<String>),
    Set(BTreeMap<String, String>),
}

impl Default for EnvSpec {
    fn default() -> Self {
        EnvSpec::Pass(Vec::new())
    }
}

/// USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub input: f64,
    /// Default: the `input` price.
    pub cached_input: Option<f64>,
    pub output: f64,
}

impl AgentConfig {
    /// A configuration with only the adapter set (what `adapter = "…"` alone gives).
    pub fn new(adapter: AdapterKind) -> Self {
        AgentConfig {
            adapter,
            program: None,
            model: None,
            args: Vec::new(),
            env: EnvSpec::default(),
            provider: None,
            region: None,
            profile: None,
            base_url: None,
            max_turns: None,
            price: None,
            writable: Vec::new(),
            readable: Vec::new(),
            network: Network::On,
        }
    }

    /// The program as configured, or the adapter's default.
    pub fn program_name(&self) -> Option<&str> {
        self.program
            .as_deref()
            .or_else(|| self.adapter.default_program())
    }

    /// Whether the agent goes through Amazon Bedrock.
    pub fn bedrock(&self) -> bool {
        self.provider.as_deref() == Some(BEDROCK)
    }

    /// Checks what serde cannot: settings that make no sense for this adapter.
    /// `name` is the table's name, for the messages.
    pub fn validate(&self, name: &str) -> Result<(), AgentError> {
        let invalid = |message: String| AgentError::InvalidConfig {
            agent: name.to_string(),
            message,
        };
        if self.adapter == AdapterKind::Command && self.program.is_none() {
            return Err(invalid(
                "adapter \"command\" needs `program` (the executable to run)".into(),
            ));
        }
        if matches!(self.program.as_deref(), Some(p) if p.trim().is_empty()) {
            return Err(invalid("`program` is empty".into()));
        }
        if let Some(provider) = &self.provider {
            if provider != BEDROCK {
                return Err(invalid(format!(
                    "unknown provider {provider:?}: expected \"{BEDROCK}\" (or no provider for \
                     the agent's default)"
                )));
            }
            if !matches!(self.adapter, AdapterKind::Codex | AdapterKind::Claude) {
                return Err(invalid(format!(
                    "provider \"{BEDROCK}\" is supported for the codex and claude adapters, not \
                     {}; set the model and `env` instead",
                    self.adapter
                )));
            }
            if self.adapter == AdapterKind::Claude && self.region.is_none() {
                return Err(invalid(
                    "claude through Amazon Bedrock needs `region` (Claude Code requires AWS_REGION)"
                        .into(),
                ));
            }
        } else if self.region.is_some() || self.profile.is_some() {
            return Err(invalid(format!(
                "`region` and `profile` only apply with provider = \"{BEDROCK}\""
            )));
        }
        if self.max_turns.is_some()
            && !matches!(self.adapter, AdapterKind::Claude | AdapterKind::Gemini)
        {
            return Err(invalid(format!(
                "`max_turns` applies to the claude and gemini adapters only, not {}",
                self.adapter
            )));
        }
        for name in self.env_names() {
            if name.is_empty() || name.contains('=') || name.contains('\0') {
                return Err(invalid(format!(
                    "invalid environment variable name {name:?}"
                )));
            }
        }
        Ok(())
    }

    fn env_names(&self) -> Vec<&str> {
        match &self.env {
            EnvSpec::Pass(names) => names.iter().map(String::as_str).collect(),
            EnvSpec::Set(map) => map.keys().map(String::as_str).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<AgentConfig, toml::de::Error> {
        toml::from_str(text)
    }

    #[test]
    fn parses_every_key() {
        let config = parse(
            r#"
            adapter = "codex"
            program = "/opt/codex"
            model = "gpt-5"
            args = ["-c", "x=1"]
            env = ["OPENAI_API_KEY"]
            provider = "amazon-bedrock"
            region = "us-east-1"
            profile = "work"
            price = { input = 1.25, cached_input = 0.125, output = 10.0 }
            "#,
        )
        .expect("parses");
        assert_eq!(config.adapter, AdapterKind::Codex);
        assert_eq!(config.env, EnvSpec::Pass(vec!["OPENAI_API_KEY".into()]));
        assert!(config.bedrock());
        config.validate("codex").expect("valid");
    }

    #[test]
    fn env_as_table_sets_values() {
        let config = parse("adapter = \"claude\"\nenv = { FOO = \"bar\" }").expect("parses");
        let EnvSpec::Set(map) = config.env else {
            panic!("expected a table");
        };
        assert_eq!(map.get("FOO").map(String::as_str), Some("bar"));
    }

    #[test]
    fn unknown_keys_and_adapters_are_errors() {
        assert!(parse("adapter = \"codex\"\nmodle = \"x\"").is_err());
        assert!(parse("adapter = \"cursor\"").is_err());
    }

    #[test]
    fn validation_names_the_table() {
        let err = parse("adapter = \"command\"")
            .expect("parses")
            .validate("lint")
            .expect_err("command needs a program");
        assert!(err.to_string().contains("[agents.lint]"), "{err}");
        let err = parse("adapter = \"aider\"\nprovider = \"amazon-bedrock\"")
            .expect("parses")
            .validate("a")
            .expect_err("aider has no bedrock support");
        assert!(err.to_string().contains("codex and claude"), "{err}");
        let err = parse("adapter = \"claude\"\nprovider = \"amazon-bedrock\"")
            .expect("parses")
            .validate("c")
            .expect_err("claude on bedrock needs a region");
        assert!(err.to_string().contains("AWS_REGION"), "{err}");
        let err = parse("adapter = \"codex\"\nmax_turns = 3")
            .expect("parses")
            .validate("c")
            .expect_err("max_turns is claude's");
        assert!(err.to_string().contains("max_turns"), "{err}");
    }
}
