//! Checking the files of a selection: answer from the cache where possible, read the rest
//! (never past the size limit, never a special file), parse, inspect the parse, and run the
//! rules on threads whose stack fits the deepest tree a check may walk.

use std::sync::atomic::Ordering;

use rayon::prelude::*;

use super::project::{self, Revision, Tracker};
use super::suppress::Suppressions;
use super::threads::{ThreadRepos, pool};
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

/// A file that needs parsing: its id (for the cache) and its content, when already read.
struct Pending<'j> {
    job: &'j Job,
    id: git2::Oid,
    content: Option<Vec<u8>>,
}

/// Up to this many files are checked without the thread pool: the everyday push checks one or
/// two files, and waking threads would cost more than the check.
const FEW: usize = 4;

/// Checks `jobs`: each file is looked up in the cache, else read and parsed, in one parallel
/// pass (no serial phase between the cache and the parse). The caller writes the new results
/// to the cache ([`Cache::flush_in_background`]).
pub(super) fn run_file_checks(
    repo: &Repo,
    ctx: &Ctx<'_>,
    jobs: &[Job],
) -> Result<Vec<Finding>, EngineError> {
    if ctx.rules.is_empty() {
        return Ok(Vec::new());
    }
    // Files no rule parses are only looked at to know whether they are there.
    let (jobs, others): (Vec<&Job>, Vec<&Job>) =
        jobs.iter().partition(|j| Language::may_be(&j.path));
    let gone = |job: &Job| matches!(&job.source, Source::Disk { file, .. } if !file.is_file());
    let missing = if others.len() <= FEW {
        others.iter().filter(|j| gone(j)).count()
    } else {
        pool()?.install(|| others.par_iter().filter(|j| gone(j)).count())
    };
    ctx.counters.missing.fetch_add(missing, Ordering::Relaxed);
    let findings = if jobs.len() <= FEW {
        check_few(repo, ctx, &jobs)?
    } else {
        let pool = pool()?;
        let repos = ThreadRepos::new(repo, pool.current_num_threads())?;
        let found: Vec<Vec<Finding>> = pool.install(|| {
            jobs.par_iter()
                .map(|job| match lookup(ctx, job) {
                    Ok(found) => found,
                    Err(pending) => repos.with(|git| read_and_check(git, ctx, pending)),
                })
                .collect()
        });
        found.into_iter().flatten().collect()
    };
    Ok(findings)
}

/// A handful of files: looked up and read on this thread, checked on one thread whose stack
/// fits the deepest walk.
fn check_few(repo: &Repo, ctx: &Ctx<'_>, jobs: &[&Job]) -> Result<Vec<Finding>, EngineError> {
    let mut findings = Vec::new();
    let mut ready = Vec::new();
    for job in jobs {
        match lookup(ctx, job) {
            Ok(found) => findings.extend(found),
            Err(mut pending) => match (&job.source, &pending.content) {
                (Source::Blob(id), None) => match read_blob(repo.git2(), ctx, job, *id) {
                    Ok(content) => {
                        pending.content = Some(content.content().to_vec());
                        ready.push(pending);
                    }
                    Err(found) => findings.extend(found),
                },
                _ => ready.push(pending),
            },
        }
    }
    if ready.is_empty() {
        return Ok(findings);
    }
    let checked = std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("gatehouse-check".into())
            .stack_size(CHECK_STACK_SIZE)
            .spawn_scoped(scope, || {
                let all = ready.into_iter().map(|p| check_pending(ctx, p));
                all.flatten().collect::<Vec<_>>()
            })
            .map(|thread| thread.join())
    });
    match checked {
        Ok(Ok(checked)) => findings.extend(checked),
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(e) => return Err(EngineError::Threads(e.to_string())),
    }
    Ok(findings)
}

/// Reads a pending file (a blob, without copying it, or a working-tree file) and checks it.
fn read_and_check(git: &git2::Repository, ctx: &Ctx<'_>, p: Pending<'_>) -> Vec<Finding> {
    match (&p.job.source, &p.content) {
        (Source::Blob(id), None) => {
            let blob = match read_blob(git, ctx, p.job, *id) {
                Ok(blob) => blob,
                Err(found) => return found,
            };
            check_bytes(ctx, p.job, p.id, blob.content())
        }
        _ => check_pending(ctx, p),
    }
}

/// A blob within the size limit, or the findings of one over it (or none if it cannot be read).
fn read_blob<'g>(
    git: &'g git2::Repository,
    ctx: &Ctx<'_>,
    job: &Job,
    id: git2::Oid,
) -> Result<git2::Blob<'g>, Vec<Finding>> {
    let size = git
        .odb()
        .and_then(|odb| odb.read_header(id))
        .map_or(0, |(size, _)| size as u64);
    if size > ctx.max_size {
        let sniff = Language::detect(&job.path, b"").is_none() && size <= SNIFF_CAP;
        let blob = sniff.then(|| git.find_blob(id).ok()).flatten();
        return Err(ctx.oversize(job, size, blob.as_ref().map(git2::Blob::content)));
    }
    git.find_blob(id).map_err(|_| Vec::new())
}

fn lookup<'j>(ctx: &Ctx<'_>, job: &'j Job) -> Result<Vec<Finding>, Pending<'j>> {
    let (id, content) = match &job.source {
        Source::Blob(id) => (*id, None),
        Source::Disk { file, index } => {
            let meta = std::fs::metadata(file)
                .ok()
                .filter(std::fs::Metadata::is_file);
            let Some(meta) = meta else {
                ctx.counters.missing.fetch_add(1, Ordering::Relaxed);
                return Ok(Vec::new());
            };
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
    check_bytes(ctx, job, p.id, &content)
}

/// Checks the content of a file and keeps the result for the cache.
fn check_bytes(ctx: &Ctx<'_>, job: &Job, id: git2::Oid, content: &[u8]) -> Vec<Finding> {
    if content.len() as u64 > ctx.max_size {
        return ctx.oversize(job, content.len() as u64, Some(content));
    }
    if is_binary(content) {
        ctx.counters.skipped_binary.fetch_add(1, Ordering::Relaxed);
        return binary_source(ctx, job, content);
    }
    let entry = check_content(ctx, &job.path, content);
    ctx.cache.put(&job.path, id, &entry);
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
    let shape = lang::inspect_source(&tree, language, &source);
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
