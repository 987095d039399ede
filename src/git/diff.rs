//! Diffs between trees, the index and the working tree: which paths changed how, and which
//! lines of the new side each change added or modified.

use std::collections::HashMap;
use std::path::Path;

use git2::{Delta, Diff, DiffFindOptions, DiffOptions, Oid};

use super::{Repo, Result, ctx};

/// How a path changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeStatus {
    Added,
    Modified,
    Deleted,
    Renamed,
    Copied,
    /// A file became a symlink or the other way round.
    TypeChange,
    /// Only the executable bit changed.
    ModeChange,
}

/// One changed path.
#[derive(Debug, Clone)]
pub struct Change {
    /// The new path (the old one for a deletion).
    pub path: String,
    /// The old path of a rename or copy.
    pub old_path: Option<String>,
    pub status: ChangeStatus,
    /// The new blob; `None` for deletions and unhashed working-tree content.
    pub new_id: Option<Oid>,
    pub new_mode: u32,
    /// Lines of the new side that the change added or modified (when asked for).
    pub added: LineSet,
}

/// A set of 1-based line numbers, as sorted, disjoint, inclusive ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineSet(Vec<(u32, u32)>);

impl LineSet {
    /// Adds `count` lines starting at `start`.
    pub fn add(&mut self, start: u32, count: u32) {
        if count == 0 {
            return;
        }
        let end = start + count - 1;
        match self.0.last_mut() {
            Some(last) if start <= last.1 + 1 && start >= last.0 => last.1 = last.1.max(end),
            _ => {
                self.0.push((start, end));
                self.0.sort_unstable();
            }
        }
    }

    /// Whether any line of `first..=last` is in the set.
    pub fn intersects(&self, first: u32, last: u32) -> bool {
        let i = self.0.partition_point(|&(_, end)| end < first);
        self.0.get(i).is_some_and(|&(start, _)| start <= last)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The lines in both sets.
    pub fn intersect(&self, other: &LineSet) -> LineSet {
        let mut out = Vec::new();
        let (mut i, mut j) = (0, 0);
        while let (Some(&(a0, a1)), Some(&(b0, b1))) = (self.0.get(i), other.0.get(j)) {
            let (start, end) = (a0.max(b0), a1.min(b1));
            if start <= end {
                out.push((start, end));
            }
            if a1 < b1 {
                i += 1;
            } else {
                j += 1;
            }
        }
        LineSet(out)
    }
}

impl Repo {
    /// Changes from tree `old` (none: the empty tree) to tree `new`, renames detected.
    pub fn diff_trees(&self, old: Option<Oid>, new: Oid, lines: bool) -> Result<Vec<Change>> {
        let repo = self.git2();
        let old = old
            .map(|id| repo.find_tree(id))
            .transpose()
            .map_err(ctx("reading a tree"))?;
        let new = repo.find_tree(new).map_err(ctx("reading a tree"))?;
        let mut opts = options();
        if let Some(old) = &old {
            // libgit2 walks both trees whole; git skips the subtrees they share. Find the paths
            // that differ the way git does, and let libgit2 look at those only (renames between
            // them are still found), so a one-file commit costs the directories on its path.
            let changed = changed_paths(repo, old.id(), new.id())?;
            if changed.is_empty() {
                return Ok(Vec::new());
            }
            for path in changed {
                opts.pathspec(path);
            }
            opts.disable_pathspec_match(true);
        }
        let diff = repo
            .diff_tree_to_tree(old.as_ref(), Some(&new), Some(&mut opts))
            .map_err(ctx("diffing two trees"))?;
        if lines {
            collect_from_blobs(repo, diff)
        } else {
            collect(repo, diff, false)
        }
    }

    /// Changes from HEAD's tree to the index.
    pub fn diff_head_to_index(&self, head: Option<Oid>, lines: bool) -> Result<Vec<Change>> {
        let repo = self.git2();
        let old = head
            .map(|id| repo.find_tree(id))
            .transpose()
            .map_err(ctx("reading HEAD's tree"))?;
        let index = repo.index().map_err(ctx("reading the index"))?;
        let diff = repo
            .diff_tree_to_index(old.as_ref(), Some(&index), Some(&mut options()))
            .map_err(ctx("diffing HEAD and the index"))?;
        collect(repo, diff, lines)
    }

    /// Changes from HEAD's tree to the working tree (staged or not; untracked files excluded).
    pub fn diff_head_to_workdir(&self, head: Option<Oid>, lines: bool) -> Result<Vec<Change>> {
        let repo = self.git2();
        let old = head
            .map(|id| repo.find_tree(id))
            .transpose()
            .map_err(ctx("reading HEAD's tree"))?;
        let diff = repo
            .diff_tree_to_workdir_with_index(old.as_ref(), Some(&mut options()))
            .map_err(ctx("diffing HEAD and the working tree"))?;
        collect(repo, diff, lines)
    }
}

/// The paths (files, or directories whose every file changed) where two trees differ, reading
/// only the subtrees that differ. Iterative: a hostile tree may nest deep.
fn changed_paths(repo: &git2::Repository, old: Oid, new: Oid) -> Result<Vec<Vec<u8>>> {
    let mut changed = Vec::new();
    let mut pending = vec![(Vec::new(), old, new)];
    while let Some((prefix, old, new)) = pending.pop() {
        if old == new {
            continue;
        }
        let read = |id| {
            repo.find_tree(id)
                .map_err(ctx(format!("reading tree {id}")))
        };
        let (old, new) = (read(old)?, read(new)?);
        let mut before: HashMap<Vec<u8>, (Oid, i32)> = old
            .iter()
            .map(|e| (e.name_bytes().to_vec(), (e.id(), e.filemode())))
            .collect();
        let join = |name: &[u8]| {
            let mut path = prefix.clone();
            if !path.is_empty() {
                path.push(b'/');
            }
            path.extend_from_slice(name);
            path
        };
        for entry in new.iter() {
            let (id, mode) = (entry.id(), entry.filemode());
            match before.remove(entry.name_bytes()) {
                Some(was) if was == (id, mode) => {}
                Some((was, TREE)) if mode == TREE => {
                    pending.push((join(entry.name_bytes()), was, id));
                }
                _ => changed.push(join(entry.name_bytes())),
            }
        }
        changed.extend(before.keys().map(|name| join(name)));
    }
    Ok(changed)
}

/// The file mode of a tree entry that is a directory.
const TREE: i32 = 0o040000;

pub(super) fn options() -> DiffOptions {
    let mut opts = DiffOptions::new();
    opts.context_lines(0)
        .include_typechange(true)
        .ignore_submodules(true);
    opts
}

fn collect(repo: &git2::Repository, mut diff: Diff<'_>, lines: bool) -> Result<Vec<Change>> {
    let mut find = DiffFindOptions::new();
    find.renames(true).copies(false);
    diff.find_similar(Some(&mut find))
        .map_err(ctx("detecting renames"))?;
    let mut changes: Vec<Change> = Vec::with_capacity(diff.deltas().len());
    let mut rewritten = Vec::with_capacity(diff.deltas().len());
    for delta in diff.deltas() {
        if let Some(change) = to_change(&delta) {
            changes.push(change);
            rewritten.push(content_changed(&delta));
        }
    }
    if lines {
        let mut index = 0usize;
        let mut hunk_cb = |delta: git2::DiffDelta<'_>, hunk: git2::DiffHunk<'_>| {
            let path = delta.new_file().path_bytes().map(String::from_utf8_lossy);
            // Deltas and hunks arrive in the same order as `changes`; find the matching entry.
            while index < changes.len() && path.as_deref() != Some(changes[index].path.as_str()) {
                index += 1;
            }
            if let Some(change) = changes.get_mut(index) {
                change.added.add(hunk.new_start(), hunk.new_lines());
            }
            true
        };
        diff.foreach(&mut |_, _| true, None, Some(&mut hunk_cb), None)
            .map_err(ctx("reading a diff"))?;
        for (change, rewritten) in changes.iter_mut().zip(rewritten) {
            if rewritten && change.added.is_empty() {
                let content = match change.new_id {
                    Some(id) if !id.is_zero() => {
                        repo.find_blob(id).ok().map(|b| b.content().to_vec())
                    }
                    _ => repo
                        .workdir()
                        .and_then(|dir| read_file(&dir.join(&change.path))),
                };
                credit_whole(change, content.as_deref());
            }
        }
    }
    Ok(changes)
}

/// Like [`collect`] with lines, each change's added lines from a diff of its two blobs as
/// buffers: that skips libgit2's diff-driver lookup, which reads the whole index to find
/// `.gitattributes` (a tenth of a one-file push). The content decides what is binary (no
/// lines), so a `-diff` attribute cannot hide a change's lines from the gate.
fn collect_from_blobs(repo: &git2::Repository, diff: Diff<'_>) -> Result<Vec<Change>> {
    let mut diff = diff;
    let mut find = DiffFindOptions::new();
    find.renames(true).copies(false);
    diff.find_similar(Some(&mut find))
        .map_err(ctx("detecting renames"))?;
    let blob = |id: Oid| -> Result<Option<git2::Blob<'_>>> {
        if id.is_zero() {
            return Ok(None);
        }
        repo.find_blob(id)
            .map(Some)
            .map_err(ctx(format!("reading blob {id}")))
    };
    let mut changes: Vec<Change> = Vec::with_capacity(diff.deltas().len());
    for delta in diff.deltas() {
        let Some(mut change) = to_change(&delta) else {
            continue;
        };
        let submodule = |f: git2::DiffFile<'_>| f.mode() == git2::FileMode::Commit;
        if content_changed(&delta) && change.status == ChangeStatus::TypeChange {
            // A link (or submodule) that became a file: every line of the file is new.
            let new = blob(delta.new_file().id())?;
            credit_whole(&mut change, new.as_ref().map(git2::Blob::content));
        } else if !matches!(
            change.status,
            ChangeStatus::Deleted | ChangeStatus::TypeChange
        ) && !submodule(delta.old_file())
            && !submodule(delta.new_file())
        {
            let (old, new) = (blob(delta.old_file().id())?, blob(delta.new_file().id())?);
            let (before, after) = (
                old.as_ref().map_or(&[][..], git2::Blob::content),
                new.as_ref().map_or(&[][..], git2::Blob::content),
            );
            if let Some(added) = added_lines(before, after)? {
                change.added = added;
            }
            if change.added.is_empty() && content_changed(&delta) {
                credit_whole(&mut change, new.as_ref().map(git2::Blob::content));
            }
        }
        changes.push(change);
    }
    Ok(changes)
}

/// The lines `new` adds to or changes from `old`, by libgit2's line diff; `None` when libgit2
/// sees either side as binary (it gives no lines then).
pub(super) fn added_lines(old: &[u8], new: &[u8]) -> Result<Option<LineSet>> {
    let patch = git2::Patch::from_buffers(old, None, new, None, Some(&mut options()))
        .map_err(ctx("reading a diff"))?;
    if patch.delta().flags().is_binary() {
        return Ok(None);
    }
    let mut added = LineSet::default();
    for i in 0..patch.num_hunks() {
        let (hunk, _) = patch.hunk(i).map_err(ctx("reading a diff"))?;
        added.add(hunk.new_start(), hunk.new_lines());
    }
    Ok(Some(added))
}

/// Whether a delta's new side is a regular file whose content differs from the old side (or is
/// not known to be the same: unhashed working-tree content).
fn content_changed(delta: &git2::DiffDelta<'_>) -> bool {
    let (old, new) = (delta.old_file(), delta.new_file());
    let file = matches!(
        new.mode(),
        git2::FileMode::Blob | git2::FileMode::BlobExecutable
    );
    file && delta.status() != Delta::Deleted && (new.id().is_zero() || old.id() != new.id())
}

/// A changed text file whose diff gave no lines gets all of its lines: libgit2 gives no lines
/// when either side looks binary to it (a NUL, many control bytes, a `-diff` or `binary`
/// attribute) or for a link that became a file, and a finding on such a file must not pass
/// as "not on a changed line". Binary content (git's test: a NUL in the first 8,000 bytes) gets
/// none: the checks report a binary source file whatever its lines.
fn credit_whole(change: &mut Change, content: Option<&[u8]>) {
    let Some(content) = content.filter(|c| !c.is_empty()) else {
        return;
    };
    if content[..content.len().min(8000)].contains(&0) {
        return;
    }
    let newlines = content.iter().filter(|&&b| b == b'\n').count();
    let lines = newlines + usize::from(!content.ends_with(b"\n"));
    change
        .added
        .add(1, u32::try_from(lines).unwrap_or(u32::MAX - 1));
}

/// A working-tree file's content, if it is a regular file (never through a link) of at most
/// 64 MiB: a larger one is over any size the checks parse, and they report it whatever its
/// lines (`file-too-large` is a finding about the whole file).
fn read_file(path: &Path) -> Option<Vec<u8>> {
    const CAP: u64 = 64 << 20;
    let meta = std::fs::symlink_metadata(path).ok()?;
    (meta.is_file() && meta.len() <= CAP)
        .then(|| std::fs::read(path).ok())
        .flatten()
}

fn to_change(delta: &git2::DiffDelta<'_>) -> Option<Change> {
    let new = delta.new_file();
    let old = delta.old_file();
    let lossy = |f: &git2::DiffFile<'_>| {
        f.path_bytes()
            .map(|p| String::from_utf8_lossy(p).into_owned())
    };
    let status = match delta.status() {
        Delta::Added | Delta::Untracked => ChangeStatus::Added,
        Delta::Deleted => ChangeStatus::Deleted,
        Delta::Modified if old.id() == new.id() && old.mode() != new.mode() => {
            ChangeStatus::ModeChange
        }
        Delta::Modified => ChangeStatus::Modified,
        Delta::Renamed => ChangeStatus::Renamed,
        Delta::Copied => ChangeStatus::Copied,
        Delta::Typechange => ChangeStatus::TypeChange,
        Delta::Unmodified | Delta::Ignored | Delta::Unreadable | Delta::Conflicted => return None,
    };
    let deleted = status == ChangeStatus::Deleted;
    let path = if deleted { lossy(&old)? } else { lossy(&new)? };
    let old_path = matches!(status, ChangeStatus::Renamed | ChangeStatus::Copied)
        .then(|| lossy(&old))
        .flatten();
    let new_id = (!deleted && !new.id().is_zero()).then(|| new.id());
    Some(Change {
        path,
        old_path,
        status,
        new_id,
        new_mode: u32::from(new.mode()),
        added: LineSet::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::LineSet;

    #[test]
    fn line_sets_merge_and_intersect() {
        let mut set = LineSet::default();
        set.add(3, 2);
        set.add(5, 1);
        set.add(10, 0);
        set.add(20, 3);
        assert_eq!(set.0, vec![(3, 5), (20, 22)]);
        assert!(set.intersects(1, 3));
        assert!(set.intersects(5, 5));
        assert!(!set.intersects(6, 19));
        assert!(set.intersects(6, 20));
        assert!(!set.intersects(23, 40));
    }

    #[test]
    fn intersecting_keeps_the_lines_both_sets_have() {
        let set = |ranges: &[(u32, u32)]| LineSet(ranges.to_vec());
        let a = set(&[(1, 5), (8, 9), (20, 30)]);
        let b = set(&[(3, 8), (25, 25), (30, 40)]);
        assert_eq!(a.intersect(&b).0, vec![(3, 5), (8, 8), (25, 25), (30, 30)]);
        assert!(a.intersect(&LineSet::default()).is_empty());
    }

    /// Builds a tree of (path, content) files: `*.sh` executable, content `-> x` a symbolic
    /// link to `x`.
    fn tree(git: &git2::Repository, files: &[(&str, &str)]) -> git2::Oid {
        let mut index = git2::Index::new().unwrap();
        for (path, content) in files {
            let (mode, content) = match content.strip_prefix("-> ") {
                Some(target) => (0o120000, target),
                None if path.ends_with(".sh") => (0o100755, *content),
                None => (0o100644, *content),
            };
            let mut entry = git2::IndexEntry {
                ctime: git2::IndexTime::new(0, 0),
                mtime: git2::IndexTime::new(0, 0),
                dev: 0,
                ino: 0,
                mode,
                uid: 0,
                gid: 0,
                file_size: 0,
                id: git.blob(content.as_bytes()).unwrap(),
                flags: 0,
                flags_extended: 0,
                path: path.as_bytes().to_vec(),
            };
            entry.flags = u16::try_from(path.len()).unwrap();
            index.add(&entry).unwrap();
        }
        index.write_tree_to(git).unwrap()
    }

    #[test]
    fn reading_only_the_subtrees_that_differ_finds_every_change() {
        let dir = tempfile::tempdir().unwrap();
        let git = git2::Repository::init_bare(dir.path()).unwrap();
        let repo = crate::git::Repo::open(dir.path()).unwrap();
        let body = "def f():\n    return 1\n".repeat(20);
        let base = tree(
            &git,
            &[
                ("a/b/c/deep.py", "x = 1\ny = 2\n"),
                ("a/b/same.py", "same\n"),
                ("a/moved.py", &body),
                ("gone/one.py", "1\n"),
                ("gone/two.py", "2\n"),
                ("file_then_dir", "f\n"),
                ("run.sh", "echo\n"),
                ("became_link", "target\n"),
                ("binary.py", "x = 1\n\0\n"),
                ("top.py", "t\n"),
            ],
        );
        let tip = tree(
            &git,
            &[
                ("a/b/c/deep.py", "x = 1\ny = 3\nz = 4\n"),
                ("a/b/same.py", "same\n"),
                ("elsewhere/moved.py", &(body.clone() + "# more\n")),
                ("file_then_dir/inside.py", "i\n"),
                ("new/dir/new.py", "n\n"),
                ("run.sh", "echo\n"),
                ("top.py", "t\n"),
                ("became_link", "-> elsewhere/moved.py"),
                ("binary.py", "x = 2\n\0\n"),
            ],
        );
        let summary = |changes: Vec<super::Change>| {
            let mut all: Vec<String> = changes
                .iter()
                .map(|c| format!("{:?} {} {:?} {:?}", c.status, c.path, c.old_path, c.added))
                .collect();
            all.sort();
            all
        };
        let full = |lines| {
            let (old, new) = (git.find_tree(base).unwrap(), git.find_tree(tip).unwrap());
            let diff = git
                .diff_tree_to_tree(Some(&old), Some(&new), Some(&mut super::options()))
                .unwrap();
            summary(super::collect(&git, diff, lines).unwrap())
        };
        for lines in [false, true] {
            let fast = summary(repo.diff_trees(Some(base), tip, lines).unwrap());
            assert_eq!(fast, full(lines));
            assert!(
                fast.iter()
                    .any(|c| c.starts_with("Renamed elsewhere/moved.py")),
                "{fast:?}"
            );
            assert_eq!(fast.len(), 9, "{fast:?}");
        }
        assert!(repo.diff_trees(Some(tip), tip, true).unwrap().is_empty());
        let paths = super::changed_paths(&git, base, tip).unwrap();
        let mut paths: Vec<String> = paths
            .into_iter()
            .map(|p| String::from_utf8(p).unwrap())
            .collect();
        paths.sort();
        // Only the subtrees that differ are read: `a/b/same.py` is not listed.
        assert_eq!(
            paths,
            [
                "a/b/c/deep.py",
                "a/moved.py",
                "became_link",
                "binary.py",
                "elsewhere",
                "file_then_dir",
                "gone",
                "new"
            ]
        );
    }
}
