//! Combined diffs, as git shows a merge (`git diff --cc`): of the changes from a base to a new
//! version, only what also differs from every known version counts. A file identical to a known
//! version's is not changed; a line of the new file that a known version's file has (a line no
//! hunk of the diff from that file adds) is not introduced.
//!
//! Decided where git leaves it open:
//! - A change still counts, with no lines, when its file differs from every known version but
//!   each of its lines is in one of them (a clean merge of two sides' edits, a deletion): path
//!   rules such as `sensitive-path` see it, as `git diff --cc` lists it.
//! - A known version's file is the one at the same path, else at the path the change renamed the
//!   file from; renames relative to a known version are not searched for (a line then counts as
//!   new: stricter, never looser).
//! - A binary file on either side credits no line (a known binary file must not hide the lines of
//!   a text file that replaces it), nor does a path that is not valid UTF-8 (its lossy name could
//!   look the same as an absent one on both sides).

use std::path::Path;

use git2::{Oid, Tree};

use super::diff::{Change, ChangeStatus, LineSet, added_lines};
use super::{Repo, Result, ctx};

/// The new side of a combined diff.
#[derive(Debug, Clone, Copy)]
pub enum NewSide {
    /// A tree (a pushed tip's).
    Tree(Oid),
    /// The index (a merge about to be committed).
    Index,
}

/// A tree or index entry: (object id, file mode).
type Entry = (Oid, u32);

impl Repo {
    /// Narrows `changes` (from some base to `new`) to a combined diff with the trees of the
    /// `known` commits too: a change whose paths all hold in `new` what they hold in a known
    /// tree is dropped, and with `lines` a change keeps only the added lines that every known
    /// version of its file lacks.
    pub fn credit_known(
        &self,
        changes: Vec<Change>,
        new: NewSide,
        known: &[Oid],
        lines: bool,
    ) -> Result<Vec<Change>> {
        if known.is_empty() || changes.is_empty() {
            return Ok(changes);
        }
        let repo = self.git2();
        let mut trees = Vec::with_capacity(known.len());
        for id in known {
            let tree = repo
                .find_commit(*id)
                .and_then(|c| c.tree())
                .map_err(ctx(format!("reading the tree of commit {id}")))?;
            trees.push(tree);
        }
        let index = match new {
            NewSide::Index => Some(repo.index().map_err(ctx("reading the index"))?),
            NewSide::Tree(_) => None,
        };
        let new_tree = match new {
            NewSide::Tree(id) => Some(repo.find_tree(id).map_err(ctx("reading a tree"))?),
            NewSide::Index => None,
        };
        let new_entry = |path: &str| -> Option<Entry> {
            match (&new_tree, &index) {
                (Some(tree), _) => tree_entry(tree, path),
                (None, Some(index)) => index.get_path(Path::new(path), 0).map(|e| (e.id, e.mode)),
                (None, None) => None,
            }
        };
        let mut kept = Vec::with_capacity(changes.len());
        'changes: for mut change in changes {
            let lossy = |p: &str| p.contains('\u{FFFD}');
            if lossy(&change.path) || change.old_path.as_deref().is_some_and(lossy) {
                kept.push(change);
                continue;
            }
            for tree in &trees {
                let mut paths =
                    std::iter::once(change.path.as_str()).chain(change.old_path.as_deref());
                if paths.all(|p| new_entry(p) == tree_entry(tree, p)) {
                    continue 'changes;
                }
                if lines
                    && !change.added.is_empty()
                    && let Some(known_lines) = self.added_since(&change, tree)?
                {
                    change.added = change.added.intersect(&known_lines);
                }
            }
            kept.push(change);
        }
        Ok(kept)
    }

    /// The lines `change`'s new file adds to the known tree's version of it; `None` when that
    /// credits nothing (no such regular file, or a binary side).
    fn added_since(&self, change: &Change, known: &Tree<'_>) -> Result<Option<LineSet>> {
        if matches!(
            change.status,
            ChangeStatus::Deleted | ChangeStatus::TypeChange
        ) {
            return Ok(None);
        }
        let Some(new_id) = change.new_id else {
            return Ok(None);
        };
        let was = std::iter::once(change.path.as_str())
            .chain(change.old_path.as_deref())
            .find_map(|p| tree_entry(known, p).filter(|(_, mode)| is_regular(*mode)));
        let Some((old_id, _)) = was else {
            return Ok(None);
        };
        if old_id == new_id {
            return Ok(Some(LineSet::default()));
        }
        let repo = self.git2();
        let read = |id: Oid| {
            repo.find_blob(id)
                .map_err(ctx(format!("reading blob {id}")))
        };
        let (old, new) = (read(old_id)?, read(new_id)?);
        if old.content().contains(&0) || new.content().contains(&0) {
            return Ok(None);
        }
        Ok(added_lines(old.content(), new.content())?.filter(|added| !added.is_empty()))
    }
}

fn tree_entry(tree: &Tree<'_>, path: &str) -> Option<Entry> {
    let entry = tree.get_path(Path::new(path)).ok()?;
    Some((entry.id(), u32::try_from(entry.filemode()).ok()?))
}

/// A regular file (executable or not), not a link or a submodule.
fn is_regular(mode: u32) -> bool {
    mode & 0o170000 == 0o100000
}

#[cfg(test)]
mod tests {
    use super::NewSide;

    /// A commit (no ref) of the (path, content) files.
    fn commit(git: &git2::Repository, files: &[(&str, &str)]) -> git2::Oid {
        let mut builder = git.treebuilder(None).unwrap();
        for (path, content) in files {
            let blob = git.blob(content.as_bytes()).unwrap();
            builder.insert(path, blob, 0o100644).unwrap();
        }
        let tree = git.find_tree(builder.write().unwrap()).unwrap();
        let who = git2::Signature::now("t", "t@example.com").unwrap();
        git.commit(None, &who, &who, "c", &tree, &[]).unwrap()
    }

    #[test]
    fn only_what_every_known_version_lacks_counts() {
        let dir = tempfile::tempdir().unwrap();
        let git = git2::Repository::init_bare(dir.path()).unwrap();
        let repo = crate::git::Repo::open(dir.path()).unwrap();
        let base = commit(
            &git,
            &[
                ("mine.py", "1\n"),
                ("both.py", "a\nb\nc\n"),
                ("gone.py", "g\n"),
                ("dropped.py", "d\n"),
            ],
        );
        let known = commit(
            &git,
            &[
                ("mine.py", "1\n"),
                ("theirs.py", "x\n"),
                ("both.py", "A\nb\nc\n"),
                ("was_binary.py", "\0bin\n"),
                ("dropped.py", "d\n"),
            ],
        );
        let tip = commit(
            &git,
            &[
                ("mine.py", "1\n2\n"),
                ("theirs.py", "x\n"),
                ("both.py", "A\nb\nC\n"),
                ("was_binary.py", "text\nmore\n"),
            ],
        );
        let tree = |c: git2::Oid| git.find_commit(c).unwrap().tree_id();
        let changes = repo.diff_trees(Some(tree(base)), tree(tip), true).unwrap();
        let credited = repo
            .credit_known(changes, NewSide::Tree(tree(tip)), &[known], true)
            .unwrap();
        let mut got: Vec<String> = credited
            .iter()
            .map(|c| format!("{:?} {} {:?}", c.status, c.path, c.added))
            .collect();
        got.sort();
        assert_eq!(
            got,
            [
                // A binary known version credits no line.
                "Added was_binary.py LineSet([(1, 2)])",
                // Every version but the tip has it: a deletion (`gone.py`, which the known
                // version lacks too, is not one).
                "Deleted dropped.py LineSet([])",
                // Changed on both sides: only this side's line.
                "Modified both.py LineSet([(3, 3)])",
                // My own line; `theirs.py`, identical to the known version's, is no change.
                "Modified mine.py LineSet([(2, 2)])",
            ]
        );
    }
}
