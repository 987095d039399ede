//! The check engine: selects the files of a target, runs the configured checks on them in
//! parallel (answering from the cache where it can), applies suppressions, scope and levels,
//! and collects the findings.

mod cache;
mod files;
mod project;
mod suppress;

use std::os::unix::fs::MetadataExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use rayon::prelude::*;

pub use cache::Cache;
use files::RevisionKind;
pub use files::{Job, Source, Target};
use project::{Revision, Tracker};

use crate::checks::{self, Diagnostic, FileRule, Finding, NoProject, ProjectFiles, sensitive_path};
use crate::config::{ConfigError, Level, Scope, Settings};
use crate::git::{self, Repo, hash_blob};
use crate::lang::{self, Language, ParsedFile};
use suppress::Suppressions;

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
    pub files_checked: usize,
    pub parsed: usize,
    pub cached: usize,
    pub skipped_binary: usize,
    pub skipped_large: usize,
}

/// The findings of one check run, sorted by path, line and column.
#[derive(Debug)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub stats: Stats,
    pub elapsed_ms: u128,
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
}

struct Configured<'s> {
    id: &'static str,
    uses_project: bool,
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
    let selection = files::select(repo, &request.target, request.scope)?;
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
    let counters = Counters::default();
    let ctx = Ctx {
        rules: &rules,
        cache: &cache,
        max_size: settings.max_file_size,
        counters: &counters,
        revision: revision.as_ref(),
    };
    let mut findings = run_file_checks(repo, &ctx, &selection.jobs);
    if selected(sensitive_path::ID) {
        findings.extend(sensitive_findings(settings, &selection.changes));
    }
    findings.retain(|f| {
        f.level != Level::Off && request.level_at_least.is_none_or(|min| f.level >= min)
    });
    findings.sort_by(|a, b| {
        (&a.path, a.line, a.column, a.rule).cmp(&(&b.path, b.line, b.column, b.rule))
    });
    let stats = Stats {
        files_checked: selection.jobs.len()
            - counters.skipped_binary.load(Ordering::Relaxed)
            - counters.skipped_large.load(Ordering::Relaxed),
        parsed: counters.parsed.load(Ordering::Relaxed),
        cached: counters.cached.load(Ordering::Relaxed),
        skipped_binary: counters.skipped_binary.load(Ordering::Relaxed),
        skipped_large: counters.skipped_large.load(Ordering::Relaxed),
    };
    Ok(Report {
        findings,
        stats,
        elapsed_ms: started.elapsed().as_millis(),
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
}

struct Ctx<'a> {
    rules: &'a [Configured<'a>],
    cache: &'a Cache,
    max_size: u64,
    counters: &'a Counters,
    revision: Option<&'a Revision>,
}

impl Ctx<'_> {
    /// A cached entry for `path` at `id` whose dependencies still hold.
    fn cached(&self, path: &str, id: git2::Oid) -> Option<cache::Entry> {
        let entry = self.cache.get(path, id)?;
        project::still_valid(&entry.deps, self.revision).then_some(entry)
    }
}

/// A file that needs parsing: its id (for the cache) and its content, once read.
struct Pending<'j> {
    job: &'j Job,
    id: Option<git2::Oid>,
    content: Option<Vec<u8>>,
}

fn run_file_checks(repo: &Repo, ctx: &Ctx<'_>, jobs: &[Job]) -> Vec<Finding> {
    if ctx.rules.is_empty() {
        return Vec::new();
    }
    // Phase 1, parallel: answer from the cache what we can without reading blobs.
    let first: Vec<Result<Vec<Finding>, Pending<'_>>> = jobs
        .par_iter()
        .filter(|j| Language::may_be(&j.path))
        .map(|job| lookup(ctx, job))
        .collect();
    let mut findings = Vec::new();
    let mut pending = Vec::new();
    for item in first {
        match item {
            Ok(found) => findings.extend(found),
            Err(p) => pending.push(p),
        }
    }
    // Phase 2, sequential: read blobs (a git2 repository is not shareable across threads).
    for p in &mut pending {
        if let (Source::Blob(id), None) = (&p.job.source, &p.content) {
            match repo.blob_size(*id) {
                Ok(size) if size > ctx.max_size => {
                    ctx.counters.skipped_large.fetch_add(1, Ordering::Relaxed);
                    p.id = None;
                }
                _ => p.content = repo.read_blob(*id).ok(),
            }
        }
    }
    // Phase 3, parallel: parse and check.
    let rest: Vec<Vec<Finding>> = pending
        .into_par_iter()
        .map(|p| check_pending(ctx, p))
        .collect();
    findings.extend(rest.into_iter().flatten());
    findings
}

fn lookup<'j>(ctx: &Ctx<'_>, job: &'j Job) -> Result<Vec<Finding>, Pending<'j>> {
    match &job.source {
        Source::Blob(id) => match ctx.cached(&job.path, *id) {
            Some(entry) => {
                ctx.counters.cached.fetch_add(1, Ordering::Relaxed);
                Ok(to_findings(ctx, job, entry))
            }
            None => Err(Pending {
                job,
                id: Some(*id),
                content: None,
            }),
        },
        Source::Disk { file, index } => {
            let Ok(meta) = std::fs::metadata(file) else {
                return Ok(Vec::new());
            };
            if meta.len() > ctx.max_size {
                ctx.counters.skipped_large.fetch_add(1, Ordering::Relaxed);
                return Ok(Vec::new());
            }
            let clean = index
                .as_ref()
                .filter(|entry| stat_matches(entry, &meta))
                .map(|entry| entry.id);
            let (id, content) = match clean {
                Some(id) => (id, None),
                None => match std::fs::read(file) {
                    Ok(bytes) => (hash_blob(&bytes), Some(bytes)),
                    Err(_) => return Ok(Vec::new()),
                },
            };
            match ctx.cached(&job.path, id) {
                Some(entry) => {
                    ctx.counters.cached.fetch_add(1, Ordering::Relaxed);
                    Ok(to_findings(ctx, job, entry))
                }
                None => Err(Pending {
                    job,
                    id: Some(id),
                    content,
                }),
            }
        }
    }
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

fn check_pending(ctx: &Ctx<'_>, p: Pending<'_>) -> Vec<Finding> {
    let job = p.job;
    let content = match (p.content, &job.source) {
        (Some(content), _) => content,
        (None, Source::Disk { file, .. }) => match std::fs::read(file) {
            Ok(content) => content,
            Err(_) => return Vec::new(),
        },
        (None, Source::Blob(_)) => return Vec::new(),
    };
    let Some(id) = p.id else { return Vec::new() };
    if content.len() as u64 > ctx.max_size {
        ctx.counters.skipped_large.fetch_add(1, Ordering::Relaxed);
        return Vec::new();
    }
    if is_binary(&content) {
        ctx.counters.skipped_binary.fetch_add(1, Ordering::Relaxed);
        return Vec::new();
    }
    let entry = check_content(ctx, &job.path, &content);
    ctx.cache.put(&job.path, id, &entry);
    to_findings(ctx, job, entry)
}

/// git's heuristic: a NUL byte in the first 8000 bytes makes a file binary.
fn is_binary(content: &[u8]) -> bool {
    content[..content.len().min(8000)].contains(&0)
}

fn check_content(ctx: &Ctx<'_>, path: &str, content: &[u8]) -> cache::Entry {
    let Some(language) = Language::detect(path, content) else {
        return cache::Entry::default();
    };
    let applicable: Vec<&Configured<'_>> = ctx
        .rules
        .iter()
        .filter(|r| r.languages.contains(&language) && r.settings.applies_to(path))
        .collect();
    if applicable.is_empty() {
        return cache::Entry::default();
    }
    let source = String::from_utf8_lossy(content);
    let Some(tree) = lang::parse(language, &source) else {
        return cache::Entry::default();
    };
    ctx.counters.parsed.fetch_add(1, Ordering::Relaxed);
    let tracker = ctx.revision.map(Tracker::new);
    let project: &dyn ProjectFiles = match &tracker {
        Some(tracker) => tracker,
        None => &NoProject,
    };
    let file = ParsedFile {
        path,
        language,
        source: &source,
        tree: &tree,
        project,
    };
    let suppressions = Suppressions::scan(&source, language.comment_marker());
    let mut diagnostics = Vec::new();
    for rule in applicable {
        let mut out: Vec<Diagnostic> = Vec::new();
        rule.rule.check(&file, &mut out);
        let kept = out
            .into_iter()
            .filter(|d| !suppressions.covers(rule.id, d.line));
        diagnostics.extend(kept.map(|d| (rule.id.to_string(), d)));
    }
    let deps = tracker.map(|t| t.dependencies()).unwrap_or_default();
    cache::Entry { diagnostics, deps }
}

fn to_findings(ctx: &Ctx<'_>, job: &Job, entry: cache::Entry) -> Vec<Finding> {
    entry
        .diagnostics
        .into_iter()
        .filter(|(_, d)| {
            job.lines
                .as_ref()
                .is_none_or(|lines| lines.intersects(d.line, d.end_line.max(d.line)))
        })
        .filter_map(|(id, d)| {
            let rule = ctx.rules.iter().find(|r| r.id == id)?;
            rule.settings
                .applies_to(&job.path)
                .then(|| Finding::from_diagnostic(rule.id, rule.level, &job.path, d))
        })
        .collect()
}

fn sensitive_findings(settings: &Settings, changes: &[git::Change]) -> Vec<Finding> {
    let enabled = settings
        .rules
        .get(sensitive_path::ID)
        .is_some_and(|r| r.level != Level::Off);
    if !enabled {
        return Vec::new();
    }
    sensitive_path::check_changes(&settings.sensitive, changes)
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

/// File text for the human report, from where the check read it.
pub struct Sources<'a> {
    pub repo: &'a Repo,
    pub target: &'a Target,
}

impl crate::output::SourceLines for Sources<'_> {
    fn text(&mut self, path: &str) -> Option<String> {
        let bytes = match self.target {
            Target::Worktree { .. } => std::fs::read(self.repo.workdir()?.join(path)).ok()?,
            Target::Staged => {
                let index = self.repo.git2().index().ok()?;
                let entry = index.get_path(std::path::Path::new(path), 0)?;
                self.repo.read_blob(entry.id).ok()?
            }
            Target::Range { .. } | Target::Commits { .. } => {
                let tip = match self.target {
                    Target::Commits { tip, .. } => *tip,
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
