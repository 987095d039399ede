//! The TOML shape of configuration files; unknown keys are errors.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::checks::Level;

/// Which findings of the checked changes count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// Only findings on lines the change added or modified.
    ChangedLines,
    /// Every finding in a changed file.
    ChangedFiles,
    /// Every finding in every file.
    All,
}

/// `.gatehouse/config.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ConfigFile {
    pub scope: Option<Scope>,
    pub max_file_size: Option<u64>,
    pub protected: Option<Vec<Spanned<String>>>,
    pub agent_commits: Option<Level>,
    pub hooks: Option<HooksConfig>,
    pub daemon: Option<DaemonConfig>,
    pub tasks: Option<TasksConfig>,
    #[serde(default)]
    pub agents: BTreeMap<String, Spanned<crate::agents::AgentConfig>>,
    #[serde(default)]
    pub rules: BTreeMap<Spanned<String>, RawRule>,
    #[serde(default)]
    pub sensitive: Vec<Spanned<RawSensitive>>,
}

/// `[tasks]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TasksConfig {
    pub max_parallel: Option<Spanned<usize>>,
    pub daily_budget_usd: Option<Spanned<f64>>,
}

/// `[hooks]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HooksConfig {
    pub pre_commit: Option<PreCommit>,
}

/// `[daemon]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DaemonConfig {
    pub enabled: Option<bool>,
    pub quiet: Option<Spanned<String>>,
    pub watch: Option<Vec<Spanned<String>>>,
}

/// What the pre-commit hook checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PreCommit {
    /// Only while a merge is being concluded (`MERGE_HEAD` exists): a refused merge cannot be
    /// finished with a plain `git commit`.
    Merge,
    /// Every commit's staged changes, and merges as above.
    Always,
}

/// A rule pack: built-in `rules/*.toml` or `.gatehouse/rules/*.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PackFile {
    #[serde(default)]
    pub rules: BTreeMap<Spanned<String>, RawRule>,
    #[serde(default)]
    pub sensitive: Vec<Spanned<RawSensitive>>,
}

/// `[rules.ID]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRule {
    pub level: Option<Level>,
    pub paths: Option<Spanned<Vec<Spanned<String>>>>,
    pub exclude: Option<Vec<Spanned<String>>>,
    pub options: Option<Spanned<toml::Table>>,
}

/// `[[sensitive]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSensitive {
    pub name: String,
    pub paths: Option<Spanned<Vec<Spanned<String>>>>,
    pub level: Option<Level>,
    pub owners: Option<Vec<String>>,
    pub reason: Option<String>,
}
