//! The check engine: selects the files of a target, runs the configured checks on them in
//! parallel (answering from the cache where it can), applies suppressions, scope and levels,
//! and collects the findings.

mod cache;
mod checking;
mod dependencies;
mod files;
mod project;
mod suppress;
mod threads;

use std::os::unix::fs::MetadataExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

pub use cache::Cache;
use checking::Ctx;
use files::RevisionKind;
pub use files::{Job, Source, Target};
use project::Revision;

use crate::checks::{self, FileRule, Finding, missing_import, sensitive_path};
use crate::config::{ConfigError, Level, Scope, SensitiveRule, Settings};
use crate::git::{self, Repo};
use crate::lang::Language;

/// What to check and how.
#[derive(Debug, Clone)]
pub struct Request {
    pub target: Target,
    pub scope: Scope,
    /// Only these rules (all enabled rules when empty).
    pub rules: Vec<String>,
    pub level_at_least: Option<Level>,
    pub use_cache: bool,
}

/// Counters a user can see with `--stats`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Files looked at, skipped ones aside: parsed, answered from the cache, or of a kind no
    /// rule reads.
    pub files_checked: usize,
    /// Paths the changes touch (ranges and the index; a working-tree check of every file does
    /// not compare with HEAD and counts none).
    pub files_changed: usize,
    pub parsed: usize,
    pub cached: usize,
    pub skipped_binary: usize,
    pub skipped_large: usize,
}

/// The findings of one check run, sorted by path, line and column.
pub struct Report {
    pub findings: Vec<Finding>,
    pub stats: Stats,
    pub elapsed_ms: u128,
    /// The run's results being written to the cache while the report is used; dropping the
    /// report waits for the write.
    _flush: cache::Flush,
}

impl std::fmt::Debug for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Report")
            .field("findings", &self.findings)
            .field("stats", &self.stats)
            .field("elapsed_ms", &self.elapsed_ms)
            .finish_non_exhaustive()
    }
}

/// Errors of the engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Git(#[from] git::GitError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("unknown rule `{0}` (see `gatehouse rules list`)")]
    UnknownRule(String),
    #[error("cannot start the threads that run the checks: {0}")]
    Threads(String),
}

struct Configured<'s> {
    id: &'static str,
    uses_project: bool,
    per_file: bool,
    level: Level,
    languages: &'static [Language],
    settings: &'s crate::config::RuleSettings,
    rule: Box<dyn FileRule>,
}

/// Runs the checks of `request` on `repo` with `settings`.
pub fn run(repo: &Repo, settings: &Settings, request: &Request) -> Result<Report, EngineError> {
    let started = Instant::now();
    for id in &request.rules {
        checks::find(id).ok_or_else(|| EngineError::UnknownRule(id.clone()))?;
    }
    let selected = |id: &str| request.rules.is_empty() || request.rules.iter().any(|r| r == id);
    let rules = configure(settings, &selected)?;
    let changes_needed =
        selected(sensitive_path::ID) || rules.iter().any(|r| r.id == missing_import::ID);
    let selection = files::select(repo, &request.target, request.scope, changes_needed)?;
    let fingerprint = fingerprint(&rules);
    let cache = if request.use_cache && !rules.is_empty() {
        Cache::new(Some(&repo.state_dir()), &fingerprint)
    } else {
        Cache::disabled()
    };
    let revision = if rules.iter().any(|r| r.uses_project) {
        Some(match selection.revision {
            RevisionKind::Tree(tree) => Revision::tree(repo, tree)?,
            RevisionKind::Index => Revision::index(repo)?,
            RevisionKind::Worktree => Revision::worktree(repo)?,
        })
    } else {
        None
    };
    // A tree's file list, which results may depend on, is listed once per tree, not per run.
    let known_listing = revision
        .as_ref()
        .and_then(Revision::tree_id)
        .filter(|_| !selection.jobs.is_empty())
        .and_then(|tree| Some((tree, cache.listing(tree)?)));
    if let (Some(revision), Some((_, digest))) = (&revision, &known_listing) {
        revision.know_listing(digest.clone());
    }
    let counters = Counters::default();
    let ctx = Ctx {
        rules: &rules,
        cache: &cache,
        max_size: settings.max_file_size,
        counters: &counters,
        revision: revision.as_ref(),
    };
    let mut findings = checking::run_file_checks(repo, &ctx, &selection.jobs)?;
    let new_deps_rule = rules.iter().find(|r| r.id == missing_import::ID);
    if let (Some(revision), Some(rule)) = (&revision, new_deps_rule) {
        let base = selection.base;
        findings.extend(dependencies::findings(
            repo,
            base,
            &selection.known,
            &selection.changes,
            revision,
            rule,
        ));
    }
    if let Some(revision) = &revision
        && let (Some(tree), None) = (revision.tree_id(), &known_listing)
        && let Some(digest) = revision.listing_if_computed()
    {
        cache.put_listing(tree, digest);
    }
    let flush = cache.flush_in_background();
    if selected(sensitive_path::ID) {
        findings.extend(sensitive_findings(repo, settings, &selection.changes));
    }
    findings.retain(|f| {
        f.level != Level::Off && request.level_at_least.is_none_or(|min| f.level >= min)
    });
    threads::sort(&mut findings)?;
    let stats = Stats {
        files_checked: selection.jobs.len()
            - counters.skipped_binary.load(Ordering::Relaxed)
            - counters.skipped_large.load(Ordering::Relaxed)
            - counters.missing.load(Ordering::Relaxed),
        files_changed: selection.changes.len(),
        parsed: counters.parsed.load(Ordering::Relaxed),
        cached: counters.cached.load(Ordering::Relaxed),
        skipped_binary: counters.skipped_binary.load(Ordering::Relaxed),
        skipped_large: counters.skipped_large.load(Ordering::Relaxed),
    };
    Ok(Report {
        findings,
        stats,
        elapsed_ms: started.elapsed().as_millis(),
        _flush: flush,
    })
}

fn configure<'s>(
    settings: &'s Settings,
    selected: &dyn Fn(&str) -> bool,
) -> Result<Vec<Configured<'s>>, EngineError> {
    let mut rules = Vec::new();
    for check in checks::all() {
        let meta = check.meta();
        let Some(rule_settings) = settings.rules.get(meta.id) else {
            continue;
        };
        if meta.languages.is_empty() || rule_settings.level == Level::Off || !selected(meta.id) {
            continue;
        }
        let rule = check.configure(&rule_settings.options).map_err(|message| {
            ConfigError::new(&format!("[rules.{}] options", meta.id), "", None, message)
        })?;
        rules.push(Configured {
            id: meta.id,
            uses_project: meta.uses_project,
            per_file: meta.per_file,
            level: rule_settings.level,
            languages: meta.languages,
            settings: rule_settings,
            rule,
        });
    }
    Ok(rules)
}

/// What the cached results depend on: the checker, each rule's version and its options.
fn fingerprint(rules: &[Configured<'_>]) -> String {
    let mut text = format!("gatehouse {}\n", env!("CARGO_PKG_VERSION"));
    for rule in rules {
        let meta = checks::find(rule.id).map(|c| c.meta());
        let version = meta.map_or(0, |m| m.version);
        let options = toml::to_string(&rule.settings.options).unwrap_or_default();
        text.push_str(&format!("{} v{version} {options}\n", rule.id));
    }
    text
}

#[derive(Default)]
struct Counters {
    parsed: AtomicUsize,
    cached: AtomicUsize,
    skipped_binary: AtomicUsize,
    skipped_large: AtomicUsize,
    /// Listed files that are not on disk (deleted in the working tree).
    missing: AtomicUsize,
}

/// Whether a file's stat data still matches its index entry, as git decides "unchanged".
pub(crate) fn stat_matches(entry: &git::IndexFile, meta: &std::fs::Metadata) -> bool {
    let mtime = (
        i32::try_from(meta.mtime()).unwrap_or(0),
        u32::try_from(meta.mtime_nsec()).unwrap_or(0),
    );
    entry.mtime != (0, 0)
        && !entry.conflicted
        && u64::from(entry.size) == (meta.len() & 0xffff_ffff)
        && entry.mtime == mtime
        && entry.ino == (meta.ino() & 0xffff_ffff) as u32
}

fn sensitive_findings(repo: &Repo, settings: &Settings, changes: &[git::Change]) -> Vec<Finding> {
    let enabled = settings
        .rules
        .get(sensitive_path::ID)
        .is_some_and(|r| r.level != Level::Off);
    if !enabled || changes.is_empty() {
        return Vec::new();
    }
    let tables = with_hooks_dir(repo, &settings.sensitive);
    sensitive_path::check_changes(&tables, changes)
        .into_iter()
        .map(|hit| {
            let help = match (&hit.rule.reason, hit.rule.owners.is_empty()) {
                (Some(reason), true) => format!("{reason}; approve with `gatehouse approve`"),
                (Some(reason), false) => format!(
                    "{reason}; needs an approval by one of: {}",
                    hit.rule.owners.join(", ")
                ),
                (None, true) => "approve with `gatehouse approve`".to_string(),
                (None, false) => format!(
                    "needs an approval by one of: {}",
                    hit.rule.owners.join(", ")
                ),
            };
            Finding {
                rule: sensitive_path::ID,
                code: hit.code.to_string(),
                level: hit.rule.level,
                path: hit.path,
                line: 1,
                column: 1,
                end_line: 1,
                end_column: 1,
                message: hit.message,
                symbol: Some(hit.rule.name.clone()),
                help: Some(help),
                owners: hit.rule.owners.clone(),
            }
        })
        .collect()
}

/// The sensitive tables, with the hook directory `core.hooksPath` names inside the working tree
/// added to `gate-config` (when that table is on): the tracked hooks are the gate's own
/// configuration. Added last, so no `!` pattern of the table can re-include them.
fn with_hooks_dir(repo: &Repo, tables: &[SensitiveRule]) -> Vec<SensitiveRule> {
    let mut tables = tables.to_vec();
    let Some(gate) = tables
        .iter_mut()
        .find(|t| t.name == GATE_CONFIG && t.level != Level::Off)
    else {
        return tables;
    };
    let extra = repo.hooks_path_patterns();
    if extra.is_empty() {
        return tables;
    }
    let paths: Vec<String> = gate.paths.iter().cloned().chain(extra).collect();
    match crate::pathmatch::PatternSet::new(&paths) {
        Ok(patterns) => {
            gate.paths = paths;
            gate.patterns = patterns;
        }
        // Unreachable: an escaped path holds no NUL or line break (git config cannot either).
        Err(e) => tracing::warn!("core.hooksPath as a sensitive path: {e}"),
    }
    tables
}

/// The built-in sensitive table of gatehouse's own configuration and the hooks.
const GATE_CONFIG: &str = "gate-config";

/// File text for the human report, from where the check read it.
pub struct Sources<'a> {
    pub repo: &'a Repo,
    pub target: &'a Target,
}

impl crate::output::SourceLines for Sources<'_> {
    fn text(&mut self, path: &str) -> Option<String> {
        let bytes = match self.target {
            Target::Worktree { .. } => {
                let file = self.repo.workdir()?.join(path);
                crate::config::read::read_regular(&file, 256 * 1024 * 1024).ok()??
            }
            Target::Staged | Target::StagedMerge { .. } => {
                let index = self.repo.git2().index().ok()?;
                let entry = index.get_path(std::path::Path::new(path), 0)?;
                self.repo.read_blob(entry.id).ok()?
            }
            Target::Range { .. } | Target::Commits { .. } | Target::Brought { .. } => {
                let tip = match self.target {
                    Target::Commits { tip, .. } | Target::Brought { tip, .. } => *tip,
                    Target::Range { spec } => self.repo.resolve_range(spec).ok()?.tip,
                    _ => return None,
                };
                let tree = self.repo.git2().find_commit(tip).ok()?.tree().ok()?;
                let entry = tree.get_path(std::path::Path::new(path)).ok()?;
                self.repo.read_blob(entry.id()).ok()?
            }
        };
        Some(String::from_utf8_lossy(&bytes).into_owned())
    }
}
