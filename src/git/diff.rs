//! Diffs between trees, the index and the working tree: which paths changed how, and which
//! lines of the new side each change added or modified.

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
        let diff = repo
            .diff_tree_to_tree(old.as_ref(), Some(&new), Some(&mut options()))
            .map_err(ctx("diffing two trees"))?;
        collect(diff, lines)
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
        collect(diff, lines)
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
        collect(diff, lines)
    }
}

fn options() -> DiffOptions {
    let mut opts = DiffOptions::new();
    opts.context_lines(0)
        .include_typechange(true)
        .ignore_submodules(true);
    opts
}

fn collect(mut diff: Diff<'_>, lines: bool) -> Result<Vec<Change>> {
    let mut find = DiffFindOptions::new();
    find.renames(true).copies(false);
    diff.find_similar(Some(&mut find))
        .map_err(ctx("detecting renames"))?;
    let mut changes: Vec<Change> = Vec::with_capacity(diff.deltas().len());
    for delta in diff.deltas() {
        if let Some(change) = to_change(&delta) {
            changes.push(change);
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
    }
    Ok(changes)
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
}
