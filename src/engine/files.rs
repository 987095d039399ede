//! Which files a check looks at, where their content comes from, and which of their lines
//! changed: the working tree, the index (`--staged`) or a commit (`--range A..B`).

use std::path::{Path, PathBuf};

use git2::Oid;

use crate::config::Scope;
use crate::git::{self, Change, IndexFile, LineSet, Repo};

/// What to check.
#[derive(Debug, Clone)]
pub enum Target {
    /// Files of the working tree: all tracked files, or those under these paths.
    Worktree { paths: Vec<PathBuf> },
    /// The staged changes.
    Staged,
    /// The changes of `A..B`, evaluated at B.
    Range { spec: String },
    /// The changes from commit `base` (none: the empty tree) to commit `tip`, evaluated at tip.
    Commits { base: Option<Oid>, tip: Oid },
    /// Like `Commits`, as a combined diff with the `known` commits too (what a push brings when
    /// it merges in a side the remote has): see [`Repo::credit_known`].
    Brought {
        base: Option<Oid>,
        known: Vec<Oid>,
        tip: Oid,
    },
    /// Like `Staged` (a merge about to be committed), as a combined diff with the `known`
    /// commits too: the merged sides the remote already has.
    StagedMerge { known: Vec<Oid> },
}

/// One file to check.
#[derive(Debug, Clone)]
pub struct Job {
    pub path: String,
    pub source: Source,
    /// The lines whose findings count; `None` means all of them.
    pub lines: Option<LineSet>,
}

/// Where a file's content comes from.
#[derive(Debug, Clone)]
pub enum Source {
    Blob(Oid),
    /// A working-tree file; the index entry lets an unchanged file reuse the index's blob id.
    Disk {
        file: PathBuf,
        index: Option<IndexFile>,
    },
}

/// The files to check and the changed paths (for path rules).
pub struct Selection {
    pub jobs: Vec<Job>,
    pub changes: Vec<Change>,
    /// The revision the files are read from, as a whole.
    pub revision: RevisionKind,
    /// The tree the changes are measured from (`None`: the empty tree).
    pub base: Option<Oid>,
    /// The trees of the commits the remote already has that the changes are credited to (a
    /// merge's known sides): what they hold is not the change's own.
    pub known: Vec<Oid>,
}

/// Which revision a selection reads.
#[derive(Debug, Clone, Copy)]
pub enum RevisionKind {
    Tree(Oid),
    Index,
    Worktree,
}

/// Lists the jobs and changes of `target` under `scope`. `changes_needed`: whether the caller
/// looks at the changes beyond the jobs (path rules); checking the whole working tree otherwise
/// skips comparing it with HEAD.
pub fn select(
    repo: &Repo,
    target: &Target,
    scope: Scope,
    changes_needed: bool,
) -> git::Result<Selection> {
    match target {
        Target::Range { spec } => {
            let range = repo.resolve_range(spec)?;
            select(
                repo,
                &Target::Commits {
                    base: Some(range.base),
                    tip: range.tip,
                },
                scope,
                changes_needed,
            )
        }
        Target::Commits { base, tip } => select_commits(repo, *base, &[], *tip, scope),
        Target::Brought { base, known, tip } => select_commits(repo, *base, known, *tip, scope),
        Target::Staged => select_staged(repo, &[], scope),
        Target::StagedMerge { known } => select_staged(repo, known, scope),
        Target::Worktree { paths } => select_worktree(repo, paths, scope, changes_needed),
    }
}

/// The changes from `base` to `tip` that no `known` commit has either.
fn select_commits(
    repo: &Repo,
    base: Option<Oid>,
    known: &[Oid],
    tip: Oid,
    scope: Scope,
) -> git::Result<Selection> {
    let lines = scope == Scope::ChangedLines;
    let base = base.map(|b| repo.commit_tree(b)).transpose()?;
    let tip = repo.commit_tree(tip)?;
    let changes = repo.diff_trees(base, tip, lines)?;
    let changes = repo.credit_known(changes, git::NewSide::Tree(tip), known, lines)?;
    let jobs = if scope == Scope::All {
        repo.tree_files(tip)?
            .into_iter()
            .filter(|f| is_file_mode(f.mode))
            .map(blob_job)
            .collect()
    } else {
        changed_jobs(&changes, lines, |c| c.new_id.map(Source::Blob))
    };
    Ok(Selection {
        jobs,
        changes,
        revision: RevisionKind::Tree(tip),
        base,
        known: known_trees(repo, known),
    })
}

/// The trees of `known` commits (one that cannot be read is left out: that only credits less).
fn known_trees(repo: &Repo, known: &[Oid]) -> Vec<Oid> {
    known
        .iter()
        .filter_map(|&c| repo.commit_tree(c).ok())
        .collect()
}

/// The staged changes that no `known` commit has either.
fn select_staged(repo: &Repo, known: &[Oid], scope: Scope) -> git::Result<Selection> {
    let lines = scope == Scope::ChangedLines;
    let head = repo.head_tree()?;
    let changes = repo.diff_head_to_index(head, lines)?;
    let changes = repo.credit_known(changes, git::NewSide::Index, known, lines)?;
    let jobs = if scope == Scope::All {
        let (files, _) = repo.index_files()?;
        files
            .into_iter()
            .filter(|f| is_file_mode(f.mode) && !f.conflicted)
            .map(|f| Job {
                path: f.path,
                source: Source::Blob(f.id),
                lines: None,
            })
            .collect()
    } else {
        changed_jobs(&changes, lines, |c| c.new_id.map(Source::Blob))
    };
    Ok(Selection {
        jobs,
        changes,
        revision: RevisionKind::Index,
        base: head,
        known: known_trees(repo, known),
    })
}

fn select_worktree(
    repo: &Repo,
    paths: &[PathBuf],
    scope: Scope,
    changes_needed: bool,
) -> git::Result<Selection> {
    let workdir = repo.workdir().ok_or_else(|| {
        git::GitError::Unsupported(
            "a bare repository has no working tree: use `gatehouse check --range A..B`".into(),
        )
    })?;
    let filter = PathFilter::new(workdir, paths)?;
    let head = repo.head_tree()?;
    let (index, stamp) = repo.index_files()?;
    let disk = |f: &IndexFile| Source::Disk {
        file: disk_path(workdir, &f.raw_path),
        index: Some(f.clone()),
    };
    let mut index = index;
    if let Some(stamp) = stamp {
        // A file modified in the same second as the index was written may still match its stat
        // data ("racy git"); treat such entries as unknown so their content is hashed.
        for f in &mut index {
            if racy(f, stamp) {
                f.mtime = (0, 0);
            }
        }
    }
    let (jobs, changes) = if scope == Scope::All {
        let mut changes = if changes_needed {
            repo.diff_head_to_workdir(head, false)?
        } else {
            Vec::new()
        };
        changes.retain(|c| filter.matches(&c.path));
        let mut jobs: Vec<Job> = index
            .iter()
            .filter(|f| is_file_mode(f.mode) && filter.matches(&f.path))
            .map(|f| Job {
                path: f.path.clone(),
                source: disk(f),
                lines: None,
            })
            .collect();
        jobs.extend(
            filter
                .untracked(&index)
                .into_iter()
                .map(|(path, file)| Job {
                    path,
                    source: Source::Disk { file, index: None },
                    lines: None,
                }),
        );
        (jobs, changes)
    } else {
        let mut changes = repo.diff_head_to_workdir(head, scope == Scope::ChangedLines)?;
        changes.retain(|c| filter.matches(&c.path));
        let by_path = |path: &str| index.iter().find(|f| f.path == path);
        let jobs = changed_jobs(&changes, scope == Scope::ChangedLines, |c| {
            Some(Source::Disk {
                file: workdir.join(&c.path),
                index: by_path(&c.path).cloned(),
            })
        });
        (jobs, changes)
    };
    Ok(Selection {
        jobs,
        changes,
        revision: RevisionKind::Worktree,
        base: head,
        known: Vec::new(),
    })
}

fn racy(file: &IndexFile, stamp: std::time::SystemTime) -> bool {
    let Ok(since) = stamp.duration_since(std::time::UNIX_EPOCH) else {
        return true;
    };
    i64::from(file.mtime.0) >= i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
}

fn changed_jobs(
    changes: &[Change],
    lines: bool,
    source: impl Fn(&Change) -> Option<Source>,
) -> Vec<Job> {
    changes
        .iter()
        .filter(|c| c.status != git::ChangeStatus::Deleted && is_file_mode(c.new_mode))
        .filter_map(|c| {
            Some(Job {
                path: c.path.clone(),
                source: source(c)?,
                lines: lines.then(|| c.added.clone()),
            })
        })
        .collect()
}

fn blob_job(f: git::TreeFile) -> Job {
    Job {
        path: f.path,
        source: Source::Blob(f.id),
        lines: None,
    }
}

/// Regular files (executable or not); not symlinks or submodules.
fn is_file_mode(mode: u32) -> bool {
    mode & 0o170000 == 0o100000
}

fn disk_path(workdir: &Path, raw: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    workdir.join(std::ffi::OsStr::from_bytes(raw))
}

/// The PATHS arguments, as repository-relative prefixes.
struct PathFilter {
    workdir: PathBuf,
    prefixes: Vec<String>,
}

impl PathFilter {
    fn new(workdir: &Path, paths: &[PathBuf]) -> git::Result<PathFilter> {
        let workdir = workdir
            .canonicalize()
            .unwrap_or_else(|_| workdir.to_path_buf());
        let mut prefixes = Vec::new();
        for path in paths {
            let absolute = path.canonicalize().map_err(|e| {
                git::GitError::Unsupported(format!("cannot check `{}`: {e}", path.display()))
            })?;
            let relative = absolute.strip_prefix(&workdir).map_err(|_| {
                git::GitError::Unsupported(format!(
                    "`{}` is outside the repository",
                    path.display()
                ))
            })?;
            prefixes.push(relative.to_string_lossy().into_owned());
        }
        Ok(PathFilter { workdir, prefixes })
    }

    fn matches(&self, path: &str) -> bool {
        self.prefixes.is_empty()
            || self.prefixes.iter().any(|p| {
                p.is_empty()
                    || path == p
                    || (path.starts_with(p.as_str()) && path.as_bytes().get(p.len()) == Some(&b'/'))
            })
    }

    /// Files named explicitly that git does not track: a user naming a file wants it checked.
    fn untracked(&self, index: &[IndexFile]) -> Vec<(String, PathBuf)> {
        self.prefixes
            .iter()
            .filter(|p| !p.is_empty() && !index.iter().any(|f| &f.path == *p))
            .map(|p| (p.clone(), self.workdir.join(p)))
            .filter(|(_, file)| file.is_file())
            .collect()
    }
}
