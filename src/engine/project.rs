//! The engine's side of [`ProjectFiles`]: the file list and contents of the checked revision,
//! shared by all threads, and a per-file tracker that records what a check read.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use git2::Oid;

use crate::checks::ProjectFiles;
use crate::config::read::read_regular;
use crate::git::{self, IndexFile, Repo, hash_blob};
use tree::TreeFiles;

/// The largest working-tree file a check may read beside the checked one (a manifest, a module):
/// only regular files are read, so a symlink to `/dev/zero` or a FIFO reads as absent.
const PROJECT_FILE_CAP: u64 = 64 * 1024 * 1024;

/// Where the revision's files live.
enum Store {
    /// A commit's tree, read one directory at a time as checks ask (a one-file push reads the
    /// directories on that file's path, not the whole tree).
    Tree(TreeFiles),
    /// The index: content by blob id.
    Blobs(HashMap<String, Oid>),
    /// The working tree, with the index's entries to recognise unchanged files.
    Worktree {
        workdir: PathBuf,
        index: HashMap<String, IndexFile>,
    },
}

/// The checked revision as a whole.
pub struct Revision {
    store: Store,
    /// The sorted file list, built the first time a check asks for it.
    paths: OnceLock<Vec<String>>,
    repo: Mutex<git2::Repository>,
    contents: Mutex<HashMap<String, Option<Arc<str>>>>,
    listing: OnceLock<String>,
}

impl Revision {
    /// The files of a commit's tree.
    pub fn tree(repo: &Repo, tree: Oid) -> git::Result<Revision> {
        Revision::new(repo, Store::Tree(TreeFiles::new(tree)))
    }

    /// The files of the index.
    pub fn index(repo: &Repo) -> git::Result<Revision> {
        let (files, _) = repo.index_files()?;
        Revision::new(
            repo,
            Store::Blobs(files.into_iter().map(|f| (f.path, f.id)).collect()),
        )
    }

    /// The working tree: tracked files, and untracked files that are not ignored.
    pub fn worktree(repo: &Repo) -> git::Result<Revision> {
        let workdir = repo
            .workdir()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default();
        let (files, _) = repo.index_files()?;
        let index = files.into_iter().map(|f| (f.path.clone(), f)).collect();
        Revision::new(repo, Store::Worktree { workdir, index })
    }

    fn new(repo: &Repo, store: Store) -> git::Result<Revision> {
        Ok(Revision {
            store,
            paths: OnceLock::new(),
            repo: Mutex::new(repo.reopen()?),
            contents: Mutex::new(HashMap::new()),
            listing: OnceLock::new(),
        })
    }

    /// Every file of the revision, sorted. In the working tree that lists untracked files too,
    /// which costs a status walk, so it is done only when a check asks.
    pub fn paths(&self) -> &[String] {
        self.paths.get_or_init(|| {
            let mut paths: Vec<String> = match &self.store {
                Store::Tree(tree) => tree.paths(&self.repo).unwrap_or_default(),
                Store::Blobs(files) => files.keys().cloned().collect(),
                Store::Worktree { index, .. } => {
                    let mut paths: Vec<String> = index.keys().cloned().collect();
                    if let Ok(repo) = self.repo.lock() {
                        paths.extend(git::untracked_files(&repo).unwrap_or_default());
                    }
                    paths
                }
            };
            paths.sort_unstable();
            paths.dedup();
            paths
        })
    }

    /// The tree of a commit's revision.
    pub fn tree_id(&self) -> Option<Oid> {
        match &self.store {
            Store::Tree(tree) => Some(tree.root),
            Store::Blobs(_) | Store::Worktree { .. } => None,
        }
    }

    /// Sets the digest of the file list, known from an earlier run (see [`Revision::tree_id`]).
    pub fn know_listing(&self, digest: String) {
        let _ = self.listing.set(digest);
    }

    /// The digest of the file list, if this run computed it.
    pub fn listing_if_computed(&self) -> Option<&str> {
        self.listing.get().map(String::as_str)
    }

    /// A digest of the file list, so results that depend on it are reused only while it holds.
    pub fn listing_digest(&self) -> &str {
        self.listing
            .get_or_init(|| hash_blob(self.paths().join("\n").as_bytes()).to_string())
    }

    /// Whether `path` is a file of the revision.
    pub fn exists(&self, path: &str) -> bool {
        match &self.store {
            Store::Tree(tree) => tree.blob(&self.repo, path).is_some(),
            Store::Blobs(files) => files.contains_key(path),
            Store::Worktree { workdir, index } => {
                index.contains_key(path) || workdir.join(path).is_file()
            }
        }
    }

    /// Whether `path` is a directory of the revision: in a commit or the index, one holding a
    /// file; in the working tree, a directory on disk (as Python's import system sees it).
    pub fn is_dir(&self, path: &str) -> bool {
        match &self.store {
            Store::Tree(tree) => tree.is_dir(&self.repo, path),
            Store::Blobs(_) => {
                let prefix = format!("{}/", path.trim_end_matches('/'));
                let paths = self.paths();
                let at = paths.partition_point(|p| p.as_str() < prefix.as_str());
                paths.get(at).is_some_and(|p| p.starts_with(&prefix))
            }
            Store::Worktree { workdir, .. } => workdir.join(path).is_dir(),
        }
    }

    /// The blob id of `path` in this revision, `None` when it does not exist.
    pub fn blob_id(&self, path: &str) -> Option<Oid> {
        match &self.store {
            Store::Tree(tree) => tree.blob(&self.repo, path),
            Store::Blobs(files) => files.get(path).copied(),
            Store::Worktree { workdir, index } => {
                let file = workdir.join(path);
                let meta = std::fs::metadata(&file)
                    .ok()
                    .filter(std::fs::Metadata::is_file)?;
                if let Some(entry) = index.get(path).filter(|e| super::stat_matches(e, &meta)) {
                    return Some(entry.id);
                }
                read_regular(&file, PROJECT_FILE_CAP)
                    .ok()
                    .flatten()
                    .map(|bytes| hash_blob(&bytes))
            }
        }
    }

    fn load(&self, path: &str) -> Option<Arc<str>> {
        let bytes = match &self.store {
            Store::Tree(_) | Store::Blobs(_) => {
                let id = self.blob_id(path)?;
                let repo = self.repo.lock().ok()?;
                let blob = repo.find_blob(id).ok()?;
                return Some(Arc::from(String::from_utf8_lossy(blob.content()).as_ref()));
            }
            Store::Worktree { workdir, .. } => {
                read_regular(&workdir.join(path), PROJECT_FILE_CAP).ok()??
            }
        };
        Some(Arc::from(String::from_utf8_lossy(&bytes).as_ref()))
    }

    fn read(&self, path: &str) -> Option<Arc<str>> {
        if let Some(cached) = self.contents.lock().ok().and_then(|c| c.get(path).cloned()) {
            return cached;
        }
        let loaded = self.load(path);
        if let Ok(mut contents) = self.contents.lock() {
            contents.insert(path.to_string(), loaded.clone());
        }
        loaded
    }
}

/// A revision as one file's check sees it, recording what the check looked at.
pub struct Tracker<'r> {
    revision: &'r Revision,
    reads: RefCell<Vec<String>>,
    dirs: RefCell<Vec<String>>,
    listed: Cell<bool>,
}

/// What a check's result depends on beyond its own file.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Dependencies {
    /// Files read, with their blob ids (`None`: the file did not exist).
    pub files: Vec<(String, Option<String>)>,
    /// The digest of the file list, when the check looked at it.
    pub listing: Option<String>,
    /// Directories asked about, and whether each existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dirs: Vec<(String, bool)>,
}

impl<'r> Tracker<'r> {
    pub fn new(revision: &'r Revision) -> Tracker<'r> {
        Tracker {
            revision,
            reads: RefCell::new(Vec::new()),
            dirs: RefCell::new(Vec::new()),
            listed: Cell::new(false),
        }
    }

    /// What the check read.
    pub fn dependencies(&self) -> Dependencies {
        let mut reads = self.reads.take();
        reads.sort_unstable();
        reads.dedup();
        let files = reads
            .into_iter()
            .map(|path| {
                let id = self.revision.blob_id(&path).map(|id| id.to_string());
                (path, id)
            })
            .collect();
        let listing = self
            .listed
            .get()
            .then(|| self.revision.listing_digest().to_string());
        let mut dirs = self.dirs.take();
        dirs.sort_unstable();
        dirs.dedup();
        let dirs = dirs
            .into_iter()
            .map(|dir| {
                let exists = self.revision.is_dir(&dir);
                (dir, exists)
            })
            .collect();
        Dependencies {
            files,
            listing,
            dirs,
        }
    }
}

impl ProjectFiles for Tracker<'_> {
    fn paths(&self) -> &[String] {
        self.listed.set(true);
        self.revision.paths()
    }

    fn exists(&self, path: &str) -> bool {
        self.reads.borrow_mut().push(path.to_string());
        self.revision.exists(path)
    }

    fn read(&self, path: &str) -> Option<Arc<str>> {
        self.reads.borrow_mut().push(path.to_string());
        self.revision.read(path)
    }

    fn is_dir(&self, path: &str) -> bool {
        self.dirs.borrow_mut().push(path.to_string());
        self.revision.is_dir(path)
    }
}

/// Whether recorded dependencies still hold in `revision`.
pub fn still_valid(deps: &Dependencies, revision: Option<&Revision>) -> bool {
    if deps.files.is_empty() && deps.listing.is_none() && deps.dirs.is_empty() {
        return true;
    }
    let Some(revision) = revision else {
        return false;
    };
    deps.listing
        .as_deref()
        .is_none_or(|l| l == revision.listing_digest())
        && deps
            .files
            .iter()
            .all(|(path, id)| revision.blob_id(path).map(|i| i.to_string()) == *id)
        && deps
            .dirs
            .iter()
            .all(|(dir, exists)| revision.is_dir(dir) == *exists)
}

#[cfg(test)]
mod tests;
mod tree;
