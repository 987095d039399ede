//! The checks: the [`Check`] trait, what a check reports ([`Diagnostic`]), and the registry.
//!
//! A file check gets a parsed file and its settings and pushes diagnostics; it never touches git
//! or the filesystem. The engine around it reads files, parallelises, caches by blob id, scopes
//! findings to changed lines and applies levels.

pub mod file_too_large;
mod level;
pub mod missing_import;
pub mod parse_error;
pub mod sensitive_path;
pub mod untyped_function;

pub use crate::lang::{NoProject, ProjectFiles};
pub use level::Level;

use serde::{Deserialize, Serialize};

use crate::lang::{Language, ParsedFile};

/// What a rule is, for `gatehouse rules` and SARIF.
#[derive(Debug)]
pub struct RuleMeta {
    pub id: &'static str,
    /// One line: what the rule finds.
    pub summary: &'static str,
    pub default_level: Level,
    /// Languages whose files the rule parses; empty for path rules.
    pub languages: &'static [Language],
    /// The finer kinds of finding, with a one-line description each.
    pub codes: &'static [(&'static str, &'static str)],
    /// Bumped whenever the rule's results can change, so cached results are not reused.
    pub version: u32,
    /// Whether the rule reads other files of the revision through [`ProjectFiles`].
    pub uses_project: bool,
    /// Whether a finding is about the whole file: in the gate it counts whichever lines changed.
    pub per_file: bool,
    /// The check module's source; its leading `//!` lines are what `gatehouse rules explain` prints.
    pub module_source: &'static str,
}

/// A rule as registered: its metadata, and how to configure it from its `options` table.
pub trait Check: Sync {
    fn meta(&self) -> &'static RuleMeta;
    /// Validates `options` and returns the configured rule; the error says what is wrong.
    fn configure(&self, options: &toml::Table) -> Result<Box<dyn FileRule>, String>;
}

/// A configured check that looks at one parsed file at a time.
pub trait FileRule: Send + Sync {
    fn check(&self, file: &ParsedFile<'_>, out: &mut Vec<Diagnostic>);
}

/// One problem a check found, before the engine adds the rule, path and level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub code: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
    pub end_line: u32,
    pub end_column: u32,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// A lower level than the rule's for this finding (e.g. an import guarded by
    /// `try/except ImportError`); never raises it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
}

/// Every registered check. A new check is one module and one line here.
pub fn all() -> &'static [&'static dyn Check] {
    &[
        &sensitive_path::SensitivePath,
        &untyped_function::UntypedFunction,
        &missing_import::MissingImport,
        &parse_error::ParseError,
        &file_too_large::FileTooLarge,
    ]
}

/// The check with this rule id.
pub fn find(id: &str) -> Option<&'static dyn Check> {
    all().iter().copied().find(|c| c.meta().id == id)
}

/// Extracts the leading `//!` documentation of a module's source, for `rules explain`.
pub fn module_doc(source: &str) -> String {
    let mut doc = String::new();
    for line in source.lines() {
        let Some(rest) = line.strip_prefix("//!") else {
            break;
        };
        doc.push_str(rest.strip_prefix(' ').unwrap_or(rest));
        doc.push('\n');
    }
    doc
}

/// Options parsed with `deny_unknown_fields`, with the error as a plain message.
pub fn parse_options<T: serde::de::DeserializeOwned>(options: &toml::Table) -> Result<T, String> {
    T::deserialize(toml::Value::Table(options.clone()))
        .map_err(|e| format!("invalid options: {}", e.message()))
}

/// A reported finding: a diagnostic with its rule, level and path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub code: String,
    pub level: Level,
    pub path: String,
    pub line: u32,
    pub column: u32,
    pub end_line: u32,
    pub end_column: u32,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// Who may approve it (a sensitive table's `owners`); empty: anyone.
    #[serde(skip)]
    pub owners: Vec<String>,
}

impl Finding {
    /// A finding of `rule` at `path` from a check's diagnostic.
    pub fn from_diagnostic(rule: &'static str, level: Level, path: &str, d: Diagnostic) -> Finding {
        Finding {
            rule,
            code: d.code,
            level: d.level.map_or(level, |l| l.min(level)),
            path: path.to_string(),
            line: d.line,
            column: d.column,
            end_line: d.end_line,
            end_column: d.end_column,
            message: d.message,
            symbol: d.symbol,
            help: d.help,
            owners: Vec::new(),
        }
    }

    /// For tests: a review finding of `rule` about `path` as a whole, placed at 1:1 as the gate
    /// places its findings about a commit or a ref, with no message, symbol, help or owners.
    #[cfg(test)]
    pub(crate) fn for_review(rule: &'static str, code: &str, path: &str) -> Finding {
        Finding {
            rule,
            code: code.into(),
            level: Level::Review,
            path: path.into(),
            line: 1,
            column: 1,
            end_line: 1,
            end_column: 1,
            message: String::new(),
            symbol: None,
            help: None,
            owners: Vec::new(),
        }
    }
}
