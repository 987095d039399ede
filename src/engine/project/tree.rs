//! A commit's tree read one directory at a time, as checks ask: a one-file push reads the
//! directories on that file's path, not the whole tree. Answers what the tree's file list
//! answers (files are blobs, symbolic links included; a directory is one holding a file).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use git2::{ObjectType, Oid, Repository};

/// What a directory holds, by name.
type Dir = HashMap<String, Item>;

/// A tree entry: a file, a directory, or something else (a submodule).
#[derive(Clone, Copy)]
enum Item {
    Blob(Oid),
    Tree(Oid),
    Other,
}

/// The files of one tree.
pub(super) struct TreeFiles {
    pub root: Oid,
    /// The directories read so far (`None`: not a directory).
    dirs: Mutex<HashMap<String, Option<Arc<Dir>>>>,
}

impl TreeFiles {
    pub fn new(root: Oid) -> TreeFiles {
        TreeFiles {
            root,
            dirs: Mutex::new(HashMap::new()),
        }
    }

    /// The blob at `path`, if it is a file.
    pub fn blob(&self, repo: &Mutex<Repository>, path: &str) -> Option<Oid> {
        if !well_formed(path) {
            return None;
        }
        let (parent, name) = path.rsplit_once('/').unwrap_or(("", path));
        match self.dir(repo, parent)?.get(name)? {
            Item::Blob(id) => Some(*id),
            Item::Tree(_) | Item::Other => None,
        }
    }

    /// Whether `path` is a directory holding a file (at any depth).
    pub fn is_dir(&self, repo: &Mutex<Repository>, path: &str) -> bool {
        let path = path.trim_end_matches('/');
        well_formed(path)
            && self
                .dir(repo, path)
                .is_some_and(|dir| holds_a_file(repo, &dir))
    }

    /// Every file of the tree, recursively.
    pub fn paths(&self, repo: &Mutex<Repository>) -> Option<Vec<String>> {
        let repo = repo.lock().ok()?;
        let tree = repo.find_tree(self.root).ok()?;
        let mut paths = Vec::new();
        tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
            if entry.kind() == Some(ObjectType::Blob) {
                let name = String::from_utf8_lossy(entry.name_bytes());
                paths.push(format!("{dir}{name}"));
            }
            git2::TreeWalkResult::Ok
        })
        .ok()?;
        Some(paths)
    }

    /// The directory at `path` (`""`: the root), read once.
    fn dir(&self, repo: &Mutex<Repository>, path: &str) -> Option<Arc<Dir>> {
        if let Some(known) = self.dirs.lock().ok()?.get(path) {
            return known.clone();
        }
        let id = if path.is_empty() {
            Some(self.root)
        } else {
            let (parent, name) = path.rsplit_once('/').unwrap_or(("", path));
            match self.dir(repo, parent)?.get(name) {
                Some(Item::Tree(id)) => Some(*id),
                _ => None,
            }
        };
        let dir = id.and_then(|id| read_dir(repo, id)).map(Arc::new);
        self.dirs.lock().ok()?.insert(path.to_string(), dir.clone());
        dir
    }
}

fn read_dir(repo: &Mutex<Repository>, id: Oid) -> Option<Dir> {
    let repo = repo.lock().ok()?;
    let tree = repo.find_tree(id).ok()?;
    let items = tree.iter().map(|entry| {
        let item = match entry.kind() {
            Some(ObjectType::Blob) => Item::Blob(entry.id()),
            Some(ObjectType::Tree) => Item::Tree(entry.id()),
            _ => Item::Other,
        };
        let name = String::from_utf8_lossy(entry.name_bytes()).into_owned();
        (name, item)
    });
    Some(items.collect())
}

/// Whether a directory holds a file, at any depth (git keeps no empty directories, but a
/// directory may hold only submodules). Iterative: a hostile tree may nest deep.
fn holds_a_file(repo: &Mutex<Repository>, dir: &Dir) -> bool {
    fn scan(dir: &Dir, subdirs: &mut Vec<Oid>) -> bool {
        for item in dir.values() {
            match item {
                Item::Blob(_) => return true,
                Item::Tree(id) => subdirs.push(*id),
                Item::Other => {}
            }
        }
        false
    }
    let mut subdirs = Vec::new();
    if scan(dir, &mut subdirs) {
        return true;
    }
    while let Some(id) = subdirs.pop() {
        if read_dir(repo, id).is_some_and(|sub| scan(&sub, &mut subdirs)) {
            return true;
        }
    }
    false
}

/// A path as the file list spells them: not empty, no empty component.
fn well_formed(path: &str) -> bool {
    !path.is_empty() && !path.split('/').any(str::is_empty)
}
