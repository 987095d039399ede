//! Configuration: the built-in rule packs, `.gatehouse/rules/*.toml` and `.gatehouse/config.toml`,
//! layered in that order into one [`Settings`].

mod daemon;
mod error;
pub mod read;
mod repo;
mod schema;
mod validate;

use std::collections::BTreeMap;

pub use daemon::{DaemonSettings, parse_duration};

pub use crate::checks::Level;
pub use crate::checks::sensitive_path::SensitiveRule;
pub use error::ConfigError;
pub use repo::{LoadError, load_at, load_for};
use schema::{ConfigFile, PackFile, RawRule, RawSensitive};
pub use schema::{PreCommit, Scope};
use toml::Spanned;
pub use validate::check_budget;
use validate::{compile, compile_protected, non_empty};

use crate::checks;
use crate::pathmatch::PatternSet;

/// Where the repository's configuration lives, relative to the repository root.
pub const CONFIG_PATH: &str = ".gatehouse/config.toml";
/// The directory of the repository's own rule packs.
pub const RULES_DIR: &str = ".gatehouse/rules";
/// Branches whose deletion needs review unless `protected` says otherwise.
pub const DEFAULT_PROTECTED: &[&str] = &["main", "master", "release/*"];
/// The notes ref that holds approvals.
pub const NOTES_REF: &str = "refs/notes/gatehouse";
/// Files larger than this are skipped unless `max_file_size` says otherwise.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 2 * 1024 * 1024;

/// The rule packs compiled into the binary, lowest precedence first.
pub const BUILTIN_PACKS: &[(&str, &str)] = &[
    (
        "<built-in>/rules/checks.toml",
        include_str!("../../rules/checks.toml"),
    ),
    (
        "<built-in>/rules/sensitive.toml",
        include_str!("../../rules/sensitive.toml"),
    ),
];

/// The commented `config.toml` that `gatehouse init` writes.
pub const INIT_TEMPLATE: &str = include_str!("init.toml");

/// One configuration file's name and text, as read from the working tree or a commit.
#[derive(Debug, Clone)]
pub struct ConfigText {
    pub file: String,
    pub text: String,
}

/// The effective settings after layering.
#[derive(Debug, Clone)]
pub struct Settings {
    /// A digest of the configuration texts these settings came from.
    pub digest: String,
    pub scope: Option<Scope>,
    pub max_file_size: u64,
    /// Branch names whose deletion needs review, as written.
    pub protected: Vec<String>,
    /// The same, compiled: anchored patterns matched against the branch name.
    pub protected_set: PatternSet,
    /// The level of pushing a commit an agent made (trailer `Gatehouse-Task:`).
    pub agent_commits: Level,
    pub pre_commit: PreCommit,
    pub daemon: DaemonSettings,
    pub tasks: TasksSettings,
    /// `[agents.NAME]` tables.
    pub agents: BTreeMap<String, crate::agents::AgentConfig>,
    pub rules: BTreeMap<&'static str, RuleSettings>,
    pub sensitive: Vec<SensitiveRule>,
}

/// `[tasks]`: how the queue runs.
#[derive(Debug, Clone, PartialEq)]
pub struct TasksSettings {
    /// Runs at once (default 1).
    pub max_parallel: usize,
    /// Once today's runs cost this much, queued runs wait for tomorrow.
    pub daily_budget_usd: Option<f64>,
}

impl Default for TasksSettings {
    fn default() -> Self {
        TasksSettings {
            max_parallel: 1,
            daily_budget_usd: None,
        }
    }
}

/// Settings of one check.
#[derive(Debug, Clone)]
pub struct RuleSettings {
    pub level: Level,
    pub paths: Option<PatternSet>,
    pub exclude: Option<PatternSet>,
    pub options: toml::Table,
}

impl RuleSettings {
    /// Whether this rule applies to `path` by its `paths`/`exclude` patterns.
    pub fn applies_to(&self, path: &str) -> bool {
        self.paths.as_ref().is_none_or(|p| p.is_match(path))
            && !self.exclude.as_ref().is_some_and(|p| p.is_match(path))
    }
}

/// Loads the settings: built-in packs, then `packs` (sorted by the caller), then `config`.
pub fn load(packs: &[ConfigText], config: Option<&ConfigText>) -> Result<Settings, ConfigError> {
    let mut layers = Layers::default();
    for (file, text) in BUILTIN_PACKS {
        let pack: PackFile = parse(file, text)?;
        layers.add_pack(file, text, pack)?;
    }
    for pack in packs {
        let parsed: PackFile = parse(&pack.file, &pack.text)?;
        layers.add_pack(&pack.file, &pack.text, parsed)?;
    }
    if let Some(config) = config {
        let parsed: ConfigFile = parse(&config.file, &config.text)?;
        layers.add_config(&config.file, &config.text, parsed)?;
    }
    let mut settings = layers.finish()?;
    let mut material = String::new();
    for text in packs.iter().chain(config) {
        material.push_str(&format!("{}\0{}\0", text.file, text.text));
    }
    settings.digest = crate::git::hash_blob(material.as_bytes()).to_string();
    Ok(settings)
}

/// Loads only the built-in defaults (a repository without configuration).
pub fn defaults() -> Settings {
    // The built-in packs are tested to load; failing here is a build defect, not user input.
    load(&[], None).expect("the built-in rule packs are valid")
}

fn parse<T: serde::de::DeserializeOwned>(file: &str, text: &str) -> Result<T, ConfigError> {
    toml::from_str(text).map_err(|e| ConfigError::new(file, text, e.span(), e.message().trim_end()))
}

#[derive(Default)]
struct Layers {
    scope: Option<Scope>,
    max_file_size: Option<u64>,
    protected: Option<(Vec<String>, PatternSet)>,
    agent_commits: Option<Level>,
    pre_commit: Option<PreCommit>,
    daemon: DaemonSettings,
    tasks: TasksSettings,
    agents: BTreeMap<String, crate::agents::AgentConfig>,
    rules: BTreeMap<&'static str, PartialRule>,
    sensitive: Vec<PartialSensitive>,
}

#[derive(Default)]
struct PartialRule {
    level: Option<Level>,
    paths: Option<PatternSet>,
    exclude: Option<PatternSet>,
    options: toml::Table,
}

struct PartialSensitive {
    name: String,
    paths: Option<Vec<String>>,
    patterns: Option<PatternSet>,
    level: Option<Level>,
    owners: Vec<String>,
    reason: Option<String>,
    origin: (String, String, std::ops::Range<usize>),
}

impl Layers {
    fn add_pack(&mut self, file: &str, text: &str, pack: PackFile) -> Result<(), ConfigError> {
        for (id, rule) in pack.rules {
            self.add_rule(file, text, id, rule)?;
        }
        for sensitive in pack.sensitive {
            self.add_sensitive(file, text, sensitive)?;
        }
        Ok(())
    }

    fn add_config(
        &mut self,
        file: &str,
        text: &str,
        config: ConfigFile,
    ) -> Result<(), ConfigError> {
        if let Some(scope) = config.scope {
            self.scope = Some(scope);
        }
        if let Some(size) = config.max_file_size {
            self.max_file_size = Some(size);
        }
        if let Some(protected) = config.protected {
            self.protected = Some(compile_protected(file, text, &protected)?);
        }
        self.agent_commits = config.agent_commits.or(self.agent_commits);
        if let Some(pre_commit) = config.hooks.and_then(|h| h.pre_commit) {
            self.pre_commit = Some(pre_commit);
        }
        if let Some(daemon) = config.daemon {
            self.daemon.apply(file, text, daemon)?;
        }
        if let Some(tasks) = config.tasks {
            if let Some(n) = tasks.max_parallel {
                if *n.get_ref() == 0 {
                    return Err(ConfigError::new(
                        file,
                        text,
                        Some(n.span()),
                        "`max_parallel` must be at least 1",
                    ));
                }
                self.tasks.max_parallel = n.into_inner();
            }
            if let Some(budget) = tasks.daily_budget_usd {
                let value = *budget.get_ref();
                check_budget(value).map_err(|message| {
                    ConfigError::new(
                        file,
                        text,
                        Some(budget.span()),
                        format!("`daily_budget_usd` {message}"),
                    )
                })?;
                self.tasks.daily_budget_usd = Some(value);
            }
        }
        for (name, agent) in config.agents {
            let span = agent.span();
            let agent = agent.into_inner();
            agent
                .validate(&name)
                .map_err(|e| ConfigError::new(file, text, Some(span.clone()), e.to_string()))?;
            // A NaN or negative price makes every cost NaN, and no budget would ever stop a run.
            if let Some(price) = &agent.price {
                let prices = [
                    ("input", Some(price.input)),
                    ("cached_input", price.cached_input),
                    ("output", Some(price.output)),
                ];
                for (key, value) in prices {
                    if let Some(value) = value {
                        check_budget(value).map_err(|m| {
                            let message = format!("`[agents.{name}] price.{key}` {m}");
                            ConfigError::new(file, text, Some(span.clone()), message)
                        })?;
                    }
                }
            }
            self.agents.insert(name, agent);
        }
        self.add_pack(
            file,
            text,
            PackFile {
                rules: config.rules,
                sensitive: config.sensitive,
            },
        )
    }

    fn add_rule(
        &mut self,
        file: &str,
        text: &str,
        id: Spanned<String>,
        rule: RawRule,
    ) -> Result<(), ConfigError> {
        let Some(check) = checks::find(id.get_ref()) else {
            let known: Vec<&str> = checks::all().iter().map(|c| c.meta().id).collect();
            let message = format!(
                "unknown rule `{}`, expected one of: {}",
                id.get_ref(),
                known.join(", ")
            );
            return Err(ConfigError::new(file, text, Some(id.span()), message));
        };
        let entry = self.rules.entry(check.meta().id).or_default();
        if let Some(level) = rule.level {
            entry.level = Some(level);
        }
        if let Some(paths) = rule.paths {
            non_empty(file, text, &paths)?;
            entry.paths = Some(compile(file, text, paths.get_ref())?);
        }
        if let Some(exclude) = rule.exclude {
            entry.exclude = Some(compile(file, text, &exclude)?);
        }
        if let Some(options) = rule.options {
            let mut merged = entry.options.clone();
            merged.extend(options.get_ref().clone());
            check
                .configure(&merged)
                .map_err(|message| ConfigError::new(file, text, Some(options.span()), message))?;
            entry.options = merged;
        }
        Ok(())
    }

    fn add_sensitive(
        &mut self,
        file: &str,
        text: &str,
        raw: Spanned<RawSensitive>,
    ) -> Result<(), ConfigError> {
        let span = raw.span();
        let raw = raw.into_inner();
        let patterns = match &raw.paths {
            Some(paths) => {
                non_empty(file, text, paths)?;
                Some(compile(file, text, paths.get_ref())?)
            }
            None => None,
        };
        let paths = raw.paths.map(|p| {
            p.into_inner()
                .into_iter()
                .map(Spanned::into_inner)
                .collect()
        });
        let owners = raw.owners.unwrap_or_default();
        if let Some(existing) = self.sensitive.iter_mut().find(|s| s.name == raw.name) {
            if patterns.is_some() {
                existing.patterns = patterns;
                existing.paths = paths;
            }
            existing.level = raw.level.or(existing.level);
            if !owners.is_empty() {
                existing.owners = owners;
            }
            existing.reason = raw.reason.or(existing.reason.take());
            return Ok(());
        }
        let origin = (file.to_string(), text.to_string(), span);
        self.sensitive.push(PartialSensitive {
            name: raw.name,
            paths,
            patterns,
            level: raw.level,
            owners,
            reason: raw.reason,
            origin,
        });
        Ok(())
    }

    fn finish(self) -> Result<Settings, ConfigError> {
        let mut rules = BTreeMap::new();
        for check in checks::all() {
            let meta = check.meta();
            let partial = self.rules.get(meta.id);
            let settings = RuleSettings {
                level: partial.and_then(|p| p.level).unwrap_or(meta.default_level),
                paths: partial.and_then(|p| p.paths.clone()),
                exclude: partial.and_then(|p| p.exclude.clone()),
                options: partial.map(|p| p.options.clone()).unwrap_or_default(),
            };
            rules.insert(meta.id, settings);
        }
        let sensitive_default = rules
            .get(checks::sensitive_path::ID)
            .map_or(Level::Review, |r| r.level);
        let mut sensitive = Vec::new();
        for s in self.sensitive {
            let (Some(patterns), Some(paths)) = (s.patterns, s.paths) else {
                let (file, text, span) = s.origin;
                let message = format!("sensitive rule `{}` has no `paths`", s.name);
                return Err(ConfigError::new(&file, &text, Some(span), message));
            };
            sensitive.push(SensitiveRule {
                name: s.name,
                paths,
                patterns,
                level: s.level.unwrap_or(sensitive_default),
                owners: s.owners,
                reason: s.reason,
            });
        }
        let (protected, protected_set) = match self.protected {
            Some(protected) => protected,
            None => {
                let names: Vec<String> =
                    DEFAULT_PROTECTED.iter().map(ToString::to_string).collect();
                let set = PatternSet::new(names.iter().map(|n| format!("/{n}")))
                    .map_err(|e| ConfigError::new("<built-in>", "", None, e.message))?;
                (names, set)
            }
        };
        Ok(Settings {
            digest: String::new(),
            scope: self.scope,
            max_file_size: self.max_file_size.unwrap_or(DEFAULT_MAX_FILE_SIZE),
            protected,
            protected_set,
            agent_commits: self.agent_commits.unwrap_or(Level::Review),
            pre_commit: self.pre_commit.unwrap_or(PreCommit::Merge),
            daemon: self.daemon,
            tasks: self.tasks,
            agents: self.agents,
            rules,
            sensitive,
        })
    }
}

#[cfg(test)]
mod tests;
