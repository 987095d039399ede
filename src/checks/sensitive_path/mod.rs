//! ## sensitive-path
//!
//! What it does: reports every changed path that matches a `[[sensitive]]` table: CI
//! configuration, dependency manifests and lockfiles, keys, certificates and credential files,
//! authentication and cryptography code, database migrations, and gatehouse's own configuration
//! and the hook directories. One finding per path and table, at line 1.
//!
//! Why it matters: these are the files through which a change can loosen the gate itself, reach
//! the repository's secrets, pull in third-party code, or touch production data. An agent must
//! never change them without a human noticing, so the default level is `review`: the push or
//! merge is held until `gatehouse approve` records a human's approval (limited to the table's
//! `owners` when it names any).
//!
//! What counts as a change: additions, modifications, deletions, mode-only changes (the
//! executable bit) and type changes; a rename counts both its old and its new path.
//!
//! Patterns use the gitignore dialect exactly as git matches it (`git check-ignore --no-index`):
//! a pattern without a slash matches at any depth, a leading `/` anchors it at the root, `*` does
//! not cross `/`, `**` matches any number of directories (zero included), a trailing `/` means a
//! directory and everything in it, matching is case-sensitive, `!` re-includes.
//!
//! Example (`.gatehouse/config.toml`):
//!
//! ```toml
//! [[sensitive]]
//! name = "payments"
//! paths = ["src/payments/", "*.sql", "!*_test.sql"]
//! level = "review"
//! owners = ["alice@example.com"]
//! reason = "money moves here"
//! ```
//!
//! Built-in tables (override one by repeating its `name`, turn it off with `level = "off"`):
//! ci-config, dependency-manifests, secrets-and-keys, auth, migrations, gate-config.

use crate::checks::{Check, FileRule, Level, RuleMeta};
use crate::git::{Change, ChangeStatus};
use crate::pathmatch::PatternSet;

/// The rule id.
pub const ID: &str = "sensitive-path";

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "changes to sensitive paths (CI, manifests, secrets, auth, migrations, the gate's own config)",
    default_level: Level::Review,
    languages: &[],
    codes: &[
        ("added", "a sensitive path was added"),
        ("modified", "a sensitive path was modified"),
        ("deleted", "a sensitive path was deleted"),
        (
            "renamed",
            "a sensitive path was renamed (old or new path matches)",
        ),
        ("mode-changed", "a sensitive path's mode or type changed"),
    ],
    version: 1,
    uses_project: false,
    per_file: true,
    module_source: include_str!("mod.rs"),
};

/// The `sensitive-path` rule: configured by `[[sensitive]]` tables, not by `options`.
pub struct SensitivePath;

impl Check for SensitivePath {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn configure(&self, options: &toml::Table) -> Result<Box<dyn FileRule>, String> {
        match options.keys().next() {
            Some(key) => Err(format!(
                "unknown option `{key}`: sensitive-path is configured by [[sensitive]] tables"
            )),
            None => Ok(Box::new(NoFileRule)),
        }
    }
}

/// One `[[sensitive]]` table after layering.
#[derive(Debug, Clone)]
pub struct SensitiveRule {
    pub name: String,
    pub paths: Vec<String>,
    pub patterns: PatternSet,
    pub level: Level,
    pub owners: Vec<String>,
    pub reason: Option<String>,
}

/// sensitive-path looks at changes, not file contents.
struct NoFileRule;

impl FileRule for NoFileRule {
    fn check(&self, _file: &crate::lang::ParsedFile<'_>, _out: &mut Vec<super::Diagnostic>) {}
}

/// One sensitive change: which table matched which path of which change.
#[derive(Debug, Clone)]
pub struct Hit<'a> {
    pub rule: &'a SensitiveRule,
    /// The path reported: the new path, or the old one when only that matched.
    pub path: String,
    pub code: &'static str,
    pub message: String,
}

/// Matches each change against each enabled table; at most one hit per (change, table).
pub fn check_changes<'a>(rules: &'a [SensitiveRule], changes: &[Change]) -> Vec<Hit<'a>> {
    let mut hits = Vec::new();
    for change in changes {
        for rule in rules.iter().filter(|r| r.level != Level::Off) {
            let new_matches = rule.patterns.is_match(&change.path);
            let old = change
                .old_path
                .as_deref()
                .filter(|old| rule.patterns.is_match(old));
            if !new_matches && old.is_none() {
                continue;
            }
            let (code, verb) = describe(change.status);
            let message = match (&change.old_path, change.status) {
                (Some(old_path), ChangeStatus::Renamed) => {
                    format!(
                        "{} renamed from `{old_path}`: sensitive ({})",
                        change.path, rule.name
                    )
                }
                _ => format!("{} {verb}: sensitive ({})", change.path, rule.name),
            };
            let path = if new_matches {
                change.path.clone()
            } else {
                old.unwrap_or(&change.path).to_string()
            };
            hits.push(Hit {
                rule,
                path,
                code,
                message,
            });
        }
    }
    hits
}

fn describe(status: ChangeStatus) -> (&'static str, &'static str) {
    match status {
        ChangeStatus::Added | ChangeStatus::Copied => ("added", "added"),
        ChangeStatus::Modified => ("modified", "modified"),
        ChangeStatus::Deleted => ("deleted", "deleted"),
        ChangeStatus::Renamed => ("renamed", "renamed"),
        ChangeStatus::ModeChange => ("mode-changed", "mode changed"),
        ChangeStatus::TypeChange => ("mode-changed", "type changed"),
    }
}

#[cfg(test)]
mod tests;
