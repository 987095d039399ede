//! Checking the files of a selection: answer from the cache where possible, read the rest
//! (never past the size limit, never a special file), parse, inspect the parse, and run the
//! rules on threads whose stack fits the deepest tree a check may walk.

use std::sync::OnceLock;
use std::sync::atomic::Ordering;

use rayon::prelude::*;

use super::project::{self, Revision, Tracker};
use super::suppress::Suppressions;
use super::{Configured, Counters, EngineError, cache};
use crate::checks::{Diagnostic, Finding, NoProject, ProjectFiles, file_too_large, parse_error};
use crate::config::read::{UnsafeFile, read_regular};
use crate::engine::files::{Job, Source};
use crate::engine::{Cache, stat_matches};
use crate::git::{Repo, hash_blob};
use crate::lang::{self, CHECK_STACK_SIZE, Language, ParsedFile};

/// How much of an oversize file without an extension is read to look for a `#!` line.
const HEAD: usize = 8 * 1024;
/// An oversize blob without an extension is inflated to look at its `#!` line only up to this
/// size; a larger one is assumed to be a script.
const SNIFF_CAP: u64 = 64 * 1024 * 1024;

pub(super) struct Ctx<'a> {
    pub rules: &'a [Configured<'a>],
    pub cache: &'a Cache,
    pub max_size: u64,
    pub counters: &'a Counters,
    pub revision: Option<&'a Revision>,
}

impl Ctx<'_> {
    /// A cached entry for `path` at `id` whose dependencies still hold.
    fn cached(&self, path: &str, id: git2::Oid) -> Option<cache::Entry> {
        let entry = self.cache.get(path, id)?;
        project::still_valid(&entry.deps, self.revision).then_some(entry)
    }

    fn rule(&self, id: &str) -> Option<&Configured<'_>> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// The finding of a file of `size` bytes over the limit, when a check would have parsed it.
    /// `head` is its start, to recognise a script by its `#!` line; `None` when unknown.
    fn oversize(&self, job: &Job, size: u64, head: Option<&[u8]>) -> Vec<Finding> {
        self.counters.skipped_large.fetch_add(1, Ordering::Relaxed);
        let Some(rule) = self.rule(file_too_large::ID) else {
            return Vec::new();
        };
        let parsed = head.is_none_or(|head| Language::detect(&job.path, head).is_some());
        if !parsed || !rule.settings.applies_to(&job.path) {
            return Vec::new();
        }
        let diagnostic = file_too_large::diagnostic(size, self.max_size);
        vec![Finding::from_diagnostic(
            rule.id, rule.level, &job.path, diagnostic,
        )]
    }
}

/// A file that needs parsing: its id (for the cache) and its content, once read.
struct Pending<'j> {
    job: &'j Job,
    id: git2::Oid,
    content: Option<Vec<u8>>,
}

/// The threads that parse and check: their stack fits [`lang::MAX_DEPTH`] levels of recursion.
fn pool() -> Result<&'static rayon::ThreadPool, EngineError> {
    static POOL: OnceLock<Result<rayon::ThreadPool, String>> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .thread_name(|i| format!("gatehouse-check-{i}"))
            .stack_size(CHECK_STACK_SIZE)
            .build()
            .map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(|e| EngineError::Threads(e.clone()))
}

pub(super) fn run_file_checks(
    repo: &Repo,
    ctx: &Ctx<'_>,
    jobs: &[Job],
) -> Result<Vec<Finding>, EngineError> {
    if ctx.rules.is_empty() {
        return Ok(Vec::new());
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
    let mut ready = Vec::with_capacity(pending.len());
    for mut p in pending {
        if let (Source::Blob(id), None) = (&p.job.source, &p.content) {
            let size = repo.blob_size(*id).unwrap_or(0);
            if size > ctx.max_size {
                let head = (Language::detect(&p.job.path, b"").is_none() && size <= SNIFF_CAP)
                    .then(|| repo.read_blob(*id).ok())
                    .flatten();
                findings.extend(ctx.oversize(p.job, size, head.as_deref()));
                continue;
            }
            p.content = repo.read_blob(*id).ok();
        }
        ready.push(p);
    }
    // Phase 3, parallel, on the checking threads: parse and check.
    let rest: Vec<Vec<Finding>> = pool()?.install(|| {
        ready
            .into_par_iter()
            .map(|p| check_pending(ctx, p))
            .collect()
    });
    findings.extend(rest.into_iter().flatten());
    Ok(findings)
}

fn lookup<'j>(ctx: &Ctx<'_>, job: &'j Job) -> Result<Vec<Finding>, Pending<'j>> {
    let (id, content) = match &job.source {
        Source::Blob(id) => (*id, None),
        Source::Disk { file, index } => {
            let Ok(meta) = std::fs::metadata(file) else {
                return Ok(Vec::new());
            };
            if !meta.is_file() {
                return Ok(Vec::new());
            }
            if meta.len() > ctx.max_size {
                let head = read_head(file);
                return Ok(ctx.oversize(job, meta.len(), head.as_deref()));
            }
            let clean = index
                .as_ref()
                .filter(|entry| stat_matches(entry, &meta))
                .map(|entry| entry.id);
            match clean {
                Some(id) => (id, None),
                None => match read_regular(file, ctx.max_size) {
                    Ok(Some(bytes)) => (hash_blob(&bytes), Some(bytes)),
                    Err(UnsafeFile::TooLarge { size, .. }) => {
                        return Ok(ctx.oversize(job, size, None));
                    }
                    Ok(None) | Err(_) => return Ok(Vec::new()),
                },
            }
        }
    };
    match ctx.cached(&job.path, id) {
        Some(entry) => {
            ctx.counters.cached.fetch_add(1, Ordering::Relaxed);
            Ok(to_findings(ctx, job, entry))
        }
        None => Err(Pending { job, id, content }),
    }
}

/// The first bytes of a working-tree file, to look for a `#!` line.
fn read_head(file: &std::path::Path) -> Option<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let mut head = Vec::with_capacity(HEAD);
    let opened = std::fs::File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(file)
        .ok()?;
    opened.take(HEAD as u64).read_to_end(&mut head).ok()?;
    Some(head)
}

fn check_pending(ctx: &Ctx<'_>, p: Pending<'_>) -> Vec<Finding> {
    let job = p.job;
    let content = match (p.content, &job.source) {
        (Some(content), _) => content,
        (None, Source::Disk { file, .. }) => match read_regular(file, ctx.max_size) {
            Ok(Some(content)) => content,
            Err(UnsafeFile::TooLarge { size, .. }) => return ctx.oversize(job, size, None),
            Ok(None) | Err(_) => return Vec::new(),
        },
        (None, Source::Blob(_)) => return Vec::new(),
    };
    if content.len() as u64 > ctx.max_size {
        return ctx.oversize(job, content.len() as u64, Some(&content));
    }
    if is_binary(&content) {
        ctx.counters.skipped_binary.fetch_add(1, Ordering::Relaxed);
        return binary_source(ctx, job, &content);
    }
    let entry = check_content(ctx, &job.path, &content);
    ctx.cache.put(&job.path, p.id, &entry);
    to_findings(ctx, job, entry)
}

/// git's heuristic: a NUL byte in the first 8000 bytes makes a file binary.
fn is_binary(content: &[u8]) -> bool {
    content[..content.len().min(8000)].contains(&0)
}

/// A "binary" file that a check would have parsed is a `parse-error`, not a silent skip.
fn binary_source(ctx: &Ctx<'_>, job: &Job, content: &[u8]) -> Vec<Finding> {
    let Some(rule) = ctx.rule(parse_error::ID) else {
        return Vec::new();
    };
    if Language::detect(&job.path, content).is_none() || !rule.settings.applies_to(&job.path) {
        return Vec::new();
    }
    vec![Finding::from_diagnostic(
        rule.id,
        rule.level,
        &job.path,
        parse_error::binary(),
    )]
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
    // One iterative walk: where the parse failed, and whether the tree is too deep to walk.
    let shape = lang::inspect(&tree, language);
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
        if rule.id == parse_error::ID {
            out = parse_error::diagnostics(&file, &shape);
        } else if shape.too_deep.is_none() {
            rule.rule.check(&file, &mut out);
        }
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
        .filter_map(|(id, d)| {
            let rule = ctx.rule(&id)?;
            // A per-file finding counts whichever lines of the file changed.
            let on_changed_lines = rule.per_file
                || job
                    .lines
                    .as_ref()
                    .is_none_or(|lines| lines.intersects(d.line, d.end_line.max(d.line)));
            (on_changed_lines && rule.settings.applies_to(&job.path))
                .then(|| Finding::from_diagnostic(rule.id, rule.level, &job.path, d))
        })
        .collect()
}
