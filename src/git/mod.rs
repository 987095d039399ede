//! Typed access to the repository through git2: opening (with clear errors for what libgit2
//! cannot read), ranges, tree and index listings, blobs, and diffs with changed lines.

mod combined;
mod diff;
mod history;
mod hooks_path;
mod notes;

use std::path::{Path, PathBuf};

use git2::{ObjectType, Oid, Repository};

pub use combined::NewSide;
pub use diff::{Change, ChangeStatus, LineSet};
pub use history::{Identity, Known, MAX_KNOWN, parse_trailers};
pub use notes::NotesAt;

/// Errors of the git layer; each names what it was doing.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("not inside a git repository (from {cwd})")]
    NotARepository { cwd: String, source: git2::Error },
    #[error("{0}")]
    Unsupported(String),
    #[error("cannot resolve `{spec}`: {}", source.message())]
    Revision { spec: String, source: git2::Error },
    #[error("git: {context}: {}", source.message())]
    Git {
        context: String,
        source: git2::Error,
    },
}

pub type Result<T, E = GitError> = std::result::Result<T, E>;

/// Wraps a git2 error with what was being done.
pub(crate) fn ctx(context: impl Into<String>) -> impl FnOnce(git2::Error) -> GitError {
    let context = context.into();
    move |source| GitError::Git { context, source }
}

/// An open repository.
pub struct Repo {
    repo: Repository,
    /// How it was opened, so another handle (for another thread) sees the same repository.
    from_env: bool,
}

/// A file in the index, with the stat data git keeps to know it is unchanged on disk.
#[derive(Debug, Clone)]
pub struct IndexFile {
    pub path: String,
    pub raw_path: Vec<u8>,
    pub id: Oid,
    pub mode: u32,
    pub size: u32,
    pub mtime: (i32, u32),
    pub ino: u32,
    /// A conflicted path: its content must come from the working tree.
    pub conflicted: bool,
}

impl IndexFile {
    /// A working-tree file git does not track: no stat data, so its content is always hashed.
    pub fn untracked(path: String) -> IndexFile {
        IndexFile {
            raw_path: path.clone().into_bytes(),
            path,
            id: Oid::ZERO_SHA1,
            mode: 0o100644,
            size: 0,
            mtime: (0, 0),
            ino: 0,
            conflicted: false,
        }
    }
}

/// A file of a tree.
#[derive(Debug, Clone)]
pub struct TreeFile {
    pub path: String,
    pub id: Oid,
    pub mode: u32,
}

/// The two ends of `A..B` (or `A...B`): the base the changes are measured from, and the tip.
#[derive(Debug, Clone, Copy)]
pub struct Range {
    pub base: Oid,
    pub tip: Oid,
}

impl Repo {
    /// Opens the repository git itself would use here: `GIT_DIR` and friends, else discovery
    /// upwards from the current directory.
    pub fn open_from_env() -> Result<Repo> {
        settings();
        let cwd = std::env::current_dir().map_or_else(|_| ".".into(), |p| p.display().to_string());
        match Repository::open_from_env() {
            Ok(repo) => Ok(Repo {
                repo,
                from_env: true,
            }),
            Err(source) => Err(explain_open_error(&cwd, source)),
        }
    }

    /// Opens the repository at `path` exactly (no discovery, no environment).
    pub fn open(path: &Path) -> Result<Repo> {
        settings();
        let repo = Repository::open(path)
            .map_err(|source| explain_open_error(&path.display().to_string(), source))?;
        Ok(Repo {
            repo,
            from_env: false,
        })
    }

    /// Another handle on the same repository (git2 handles cannot be shared across threads).
    pub fn reopen(&self) -> Result<Repository> {
        let reopened = if self.from_env {
            Repository::open_from_env()
        } else {
            Repository::open(self.git_dir())
        };
        reopened.map_err(ctx("reopening the repository"))
    }

    /// Untracked files that are not ignored, as `git status` lists them.
    pub fn untracked_files(&self) -> Result<Vec<String>> {
        untracked_files(&self.repo)
    }

    pub fn git2(&self) -> &Repository {
        &self.repo
    }

    /// The working tree, when the repository has one.
    pub fn workdir(&self) -> Option<&Path> {
        self.repo.workdir()
    }

    /// This worktree's git directory (`.git`, or `.git/worktrees/NAME`).
    pub fn git_dir(&self) -> &Path {
        self.repo.path()
    }

    /// The directory shared by all worktrees.
    pub fn common_dir(&self) -> &Path {
        self.repo.commondir()
    }

    /// `<git-common-dir>/gatehouse`: the runtime state directory.
    pub fn state_dir(&self) -> PathBuf {
        self.common_dir().join("gatehouse")
    }

    /// The tree of HEAD, or `None` on an unborn branch.
    pub fn head_tree(&self) -> Result<Option<Oid>> {
        match self.repo.head() {
            Ok(head) => {
                let commit = head.peel_to_commit().map_err(ctx("reading HEAD"))?;
                Ok(Some(commit.tree_id()))
            }
            Err(e)
                if matches!(
                    e.code(),
                    git2::ErrorCode::UnbornBranch | git2::ErrorCode::NotFound
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(ctx("reading HEAD")(e)),
        }
    }

    /// Resolves `A..B` or `A...B` to the merge base of A and B (else A when they share no history,
    /// as in a shallow clone) and B.
    pub fn resolve_range(&self, spec: &str) -> Result<Range> {
        let (a, b) = spec
            .split_once("...")
            .or_else(|| spec.split_once(".."))
            .ok_or_else(|| {
                GitError::Unsupported(format!("`{spec}` is not a range: expected A..B"))
            })?;
        let a = self.resolve_commit(if a.is_empty() { "HEAD" } else { a })?;
        let b = self.resolve_commit(if b.is_empty() { "HEAD" } else { b })?;
        let base = self.repo.merge_base(a, b).unwrap_or(a);
        Ok(Range { base, tip: b })
    }

    /// Resolves a revision to a commit id.
    pub fn resolve_commit(&self, spec: &str) -> Result<Oid> {
        let object = self
            .repo
            .revparse_single(spec)
            .map_err(|source| GitError::Revision {
                spec: spec.to_string(),
                source,
            })?;
        let commit = object
            .peel_to_commit()
            .map_err(|source| GitError::Revision {
                spec: spec.to_string(),
                source,
            })?;
        Ok(commit.id())
    }

    /// The tree of a commit.
    pub fn commit_tree(&self, commit: Oid) -> Result<Oid> {
        let commit = self
            .repo
            .find_commit(commit)
            .map_err(ctx(format!("reading commit {commit}")))?;
        Ok(commit.tree_id())
    }

    /// Every file (blob) of a tree, recursively, in git's order.
    pub fn tree_files(&self, tree: Oid) -> Result<Vec<TreeFile>> {
        let tree = self
            .repo
            .find_tree(tree)
            .map_err(ctx(format!("reading tree {tree}")))?;
        let mut files = Vec::new();
        tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
            if entry.kind() == Some(ObjectType::Blob) {
                let name = String::from_utf8_lossy(entry.name_bytes());
                let mode = u32::try_from(entry.filemode()).unwrap_or(0);
                files.push(TreeFile {
                    path: format!("{dir}{name}"),
                    id: entry.id(),
                    mode,
                });
            }
            git2::TreeWalkResult::Ok
        })
        .map_err(ctx("walking a tree"))?;
        Ok(files)
    }

    /// The files under `.gatehouse/` of a tree (configuration), without walking the whole tree.
    pub fn config_files(&self, tree: Oid) -> Result<Vec<TreeFile>> {
        let tree = self
            .repo
            .find_tree(tree)
            .map_err(ctx(format!("reading tree {tree}")))?;
        let Some(entry) = tree.get_name(".gatehouse") else {
            return Ok(Vec::new());
        };
        if entry.kind() != Some(ObjectType::Tree) {
            return Ok(Vec::new());
        }
        let sub = self.tree_files(entry.id())?;
        Ok(sub
            .into_iter()
            .map(|f| TreeFile {
                path: format!(".gatehouse/{}", f.path),
                ..f
            })
            .collect())
    }

    /// The commit an object (a commit, or a tag of one) peels to; `None` for tags of trees or blobs.
    pub fn peel_to_commit(&self, id: Oid) -> Result<Option<Oid>> {
        let object = self
            .repo
            .find_object(id, None)
            .map_err(ctx(format!("reading object {id}")))?;
        Ok(object.peel_to_commit().ok().map(|c| c.id()))
    }

    /// The index's files (conflicted paths once), and the index file's mtime for racy checks.
    pub fn index_files(&self) -> Result<(Vec<IndexFile>, Option<std::time::SystemTime>)> {
        let index = self.repo.index().map_err(ctx("reading the index"))?;
        let stamp = index
            .path()
            .and_then(|p| std::fs::metadata(p).ok())
            .and_then(|m| m.modified().ok());
        let mut files: Vec<IndexFile> = Vec::with_capacity(index.len());
        for entry in index.iter() {
            let stage = (entry.flags >> 12) & 0x3;
            if stage != 0 && files.last().is_some_and(|f| f.raw_path == entry.path) {
                continue;
            }
            files.push(IndexFile {
                path: String::from_utf8_lossy(&entry.path).into_owned(),
                raw_path: entry.path,
                id: entry.id,
                mode: entry.mode,
                size: entry.file_size,
                mtime: (entry.mtime.seconds(), entry.mtime.nanoseconds()),
                ino: entry.ino,
                conflicted: stage != 0,
            });
        }
        Ok((files, stamp))
    }

    /// A blob's content.
    pub fn read_blob(&self, id: Oid) -> Result<Vec<u8>> {
        let blob = self
            .repo
            .find_blob(id)
            .map_err(ctx(format!("reading blob {id}")))?;
        Ok(blob.content().to_vec())
    }

    /// Every value of a (multi-valued) git config key of this repository; none when unset.
    pub fn config_values(&self, key: &str) -> Result<Vec<String>> {
        let config = self.repo.config().map_err(ctx("reading the git config"))?;
        let mut values = Vec::new();
        if let Ok(mut entries) = config.multivar(key, None) {
            while let Some(entry) = entries.next() {
                let entry = entry.map_err(ctx(format!("reading {key}")))?;
                if let Ok(value) = entry.value() {
                    values.push(value.to_string());
                }
            }
        }
        Ok(values)
    }

    /// A blob's size without inflating it.
    pub fn blob_size(&self, id: Oid) -> Result<u64> {
        let odb = self
            .repo
            .odb()
            .map_err(ctx("opening the object database"))?;
        let (size, _) = odb
            .read_header(id)
            .map_err(ctx(format!("reading blob {id}")))?;
        Ok(size as u64)
    }
}

/// libgit2's process-wide settings, applied once: objects are not re-hashed on every read. git
/// does not either; the hash of every object read cost a tenth of a one-file push. A corrupt
/// object cannot slip through a push this way: the receiving side names objects by hashing them.
fn settings() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| git2::opts::strict_hash_verification(false));
}

/// Turns libgit2's open errors into messages a user can act on.
fn explain_open_error(cwd: &str, source: git2::Error) -> GitError {
    let message = source.message().to_ascii_lowercase();
    if message.contains("refstorage") {
        return GitError::Unsupported(
            "this repository stores its refs in the reftable format, which libgit2 (and so gatehouse) \
             cannot read yet; convert it with `git refs migrate --ref-format=files`"
                .into(),
        );
    }
    if message.contains("objectformat") || message.contains("sha256") {
        return GitError::Unsupported(
            "this repository uses SHA-256 object names, which libgit2 (and so gatehouse) cannot read yet"
                .into(),
        );
    }
    if message.contains("extension") {
        return GitError::Unsupported(format!(
            "this repository uses a git extension that libgit2 (and so gatehouse) cannot read: {}",
            source.message()
        ));
    }
    if source.code() == git2::ErrorCode::NotFound {
        return GitError::NotARepository {
            cwd: cwd.to_string(),
            source,
        };
    }
    ctx(format!("opening the repository at {cwd}"))(source)
}

/// git's blob id of `content`, as `git hash-object` computes it.
pub fn hash_blob(content: &[u8]) -> Oid {
    // Hashing bytes in memory cannot fail; libgit2 returns an error only for invalid object types.
    Oid::hash_object(ObjectType::Blob, content).unwrap_or(Oid::ZERO_SHA1)
}

/// Untracked files that are not ignored, as `git status` lists them.
pub fn untracked_files(repo: &Repository) -> Result<Vec<String>> {
    let mut opts = git2::StatusOptions::new();
    opts.include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false)
        .exclude_submodules(true);
    let statuses = repo
        .statuses(Some(&mut opts))
        .map_err(ctx("listing untracked files"))?;
    Ok(statuses
        .iter()
        .filter(|s| s.status().contains(git2::Status::WT_NEW))
        .map(|s| String::from_utf8_lossy(s.path_bytes()).into_owned())
        .collect())
}
