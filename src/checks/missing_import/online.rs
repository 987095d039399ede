//! `gatehouse check --online`: asks the package registries about the packages that
//! `new-dependency`, `undeclared-package` and `undeclared-crate` findings name. A package the
//! registry does not have cannot be installed (a name a model invented, free for anyone to
//! register): its `new-dependency` finding rises to the rule's level. One that exists gets its
//! first release date and age, and a very new one is called out.
//!
//! PyPI is asked through its JSON API (`/pypi/NAME/json`), crates.io through its sparse index
//! (`index.crates.io`, what Cargo reads: one JSON line per version, with `pubtime`). Requests
//! go through `curl` (no HTTP client is linked in), at most [`PARALLEL`] at a time, each with a
//! time limit; a registry that cannot be reached leaves the findings as they were, with a
//! warning. Only `gatehouse check` asks: hooks never do, whatever the configuration says.

use std::collections::BTreeMap;

use crate::checks::{Finding, Level};

use super::registry::days_from_civil;
pub use super::registry::{Answer, Registries, Registry, ask};

/// At most this many requests at a time.
pub const PARALLEL: usize = 4;
/// A package first released less than this many days ago is called very new.
pub const VERY_NEW_DAYS: i64 = 30;

/// Whether the rule's `options` (`[rules.missing-import] options = { online = true }`) turn
/// `--online` on for `gatehouse check`.
pub fn configured(options: &toml::Table) -> bool {
    options
        .get("online")
        .and_then(toml::Value::as_bool)
        .unwrap_or(false)
}

/// Asks the registries about the packages `findings` name and adds what they said to the
/// findings; a missing new dependency rises to `level`, the rule's level. Returns warnings for
/// the user (a registry that could not be asked).
pub fn annotate(findings: &mut [Finding], level: Level, registries: &Registries) -> Vec<String> {
    let mut wanted: Vec<(Registry, String)> = findings.iter().filter_map(subject).collect();
    wanted.sort();
    wanted.dedup();
    if wanted.is_empty() {
        return Vec::new();
    }
    let answers = ask_all(&wanted, registries);
    let today = today();
    let mut warnings = Vec::new();
    for ((registry, name), answer) in &answers {
        if let Answer::Failed(why) = answer {
            warnings.push(format!(
                "--online: could not ask {} about `{name}`: {why}; its findings are as without --online",
                registry.label()
            ));
        }
    }
    for finding in findings.iter_mut() {
        let Some(key) = subject(finding) else {
            continue;
        };
        if let Some(answer) = answers.get(&key) {
            apply(finding, key.0, answer, today, level);
        }
    }
    warnings
}

/// The (registry, package name) a finding is about, if any.
fn subject(finding: &Finding) -> Option<(Registry, String)> {
    let name = finding.symbol.clone()?;
    let registry = match finding.code.as_str() {
        "new-dependency" if finding.path.rsplit('/').next() == Some("Cargo.toml") => {
            Registry::Crates
        }
        "new-dependency" | "undeclared-package" => Registry::PyPi,
        "undeclared-crate" => Registry::Crates,
        _ => return None,
    };
    (finding.rule == super::ID).then_some((registry, name))
}

/// Adds the registry's answer to `finding`.
fn apply(finding: &mut Finding, registry: Registry, answer: &Answer, today: i64, level: Level) {
    let label = registry.label();
    let new_dep = finding.code == "new-dependency";
    let note = match answer {
        Answer::Failed(_) => return,
        Answer::Missing if new_dep => {
            finding.level = finding.level.max(level);
            format!("it does not exist on {label}")
        }
        // An import name need not be its package's name (`yaml` is PyYAML's).
        Answer::Missing => format!("no package on {label} has this name"),
        Answer::Invalid => {
            if new_dep {
                finding.level = finding.level.max(level);
            }
            format!(
                "no package on {label} can have this name: it breaks the registry's naming rules"
            )
        }
        Answer::Empty => {
            if new_dep {
                finding.level = finding.level.max(level);
            }
            format!("it exists on {label} but has no released files to install")
        }
        Answer::Exists { first: None } => format!("it exists on {label}"),
        Answer::Exists { first: Some(date) } => {
            let age = days_from_civil(date).map(|d| today - d);
            match age {
                Some(days) if days < VERY_NEW_DAYS => format!(
                    "on {label} it was first released {date}, {days} days ago: very new, so make sure it is the package you mean"
                ),
                Some(days) => format!("on {label} it was first released {date}, {days} days ago"),
                None => format!("on {label} it was first released {date}"),
            }
        }
    };
    finding.message = format!("{}; {note}", finding.message);
}

/// Asks about every package, [`PARALLEL`] at a time.
fn ask_all(
    wanted: &[(Registry, String)],
    registries: &Registries,
) -> BTreeMap<(Registry, String), Answer> {
    let mut answers = BTreeMap::new();
    for batch in wanted.chunks(PARALLEL) {
        let results: Vec<Answer> = std::thread::scope(|scope| {
            let handles: Vec<_> = batch
                .iter()
                .map(|(registry, name)| scope.spawn(move || ask(*registry, name, registries)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Answer::Failed("the request failed".to_string()))
                })
                .collect()
        });
        answers.extend(batch.iter().cloned().zip(results));
    }
    answers
}

/// Today, in days since 1970-01-01 (UTC).
fn today() -> i64 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    i64::try_from(secs / 86_400).unwrap_or(0)
}
