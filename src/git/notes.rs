//! Git notes: reading and writing the note on a commit (approvals), listing the notes a notes
//! commit holds, and telling a notes commit from one that carries anything else.
//!
//! A notes commit, as the gate accepts it, has a tree that holds only notes: regular blobs (mode
//! 100644) whose path, with the `/` removed, is the 40 lowercase hex digits of the object they
//! annotate, in fan-out directories named by two lowercase hex digits (`ab/cdef…`, `ab/cd/ef…`).
//! Anything else (another name, an executable, a symlink, a submodule) is not a note.

use git2::{ObjectType, Oid};

use super::{Identity, Repo, Result, ctx};

/// The largest note read (approvals of a few hundred findings are a few KiB).
pub const MAX_NOTE_SIZE: u64 = 1024 * 1024;

/// How many hex digits name an object (SHA-1; libgit2 cannot read SHA-256 repositories).
const HEX_LEN: usize = 40;

/// The (annotated object, note blob) pairs of a notes tree, and why it is not one if it is not.
type NoteEntries = (Vec<(Oid, Oid)>, Option<String>);

/// Where to read notes from.
#[derive(Debug, Clone, Copy)]
pub enum NotesAt<'a> {
    /// The notes ref as it stands.
    Ref(&'a str),
    /// A notes commit (e.g. one arriving in the same push, not yet under the ref).
    Commit(Oid),
}

impl Repo {
    /// The note on `target` in `notes_ref`, as the notes ref (or the given notes commit) has it.
    pub fn read_note(&self, notes: NotesAt<'_>, target: Oid) -> Result<Option<String>> {
        let commit = match notes {
            NotesAt::Ref(name) => match self.git2().refname_to_id(name) {
                Ok(id) => id,
                Err(_) => return Ok(None),
            },
            NotesAt::Commit(id) => id,
        };
        let tree = self
            .git2()
            .find_commit(commit)
            .and_then(|c| c.tree())
            .map_err(ctx(format!("reading notes commit {commit}")))?;
        let hex = target.to_string();
        // Notes trees may fan out (`ab/cdef…`) once they grow; look in both layouts.
        let candidates = [
            hex.clone(),
            format!("{}/{}", &hex[..2], &hex[2..]),
            format!("{}/{}/{}", &hex[..2], &hex[2..4], &hex[4..]),
        ];
        for path in candidates {
            if let Ok(entry) = tree.get_path(std::path::Path::new(&path)) {
                return self.read_text(target, entry.id());
            }
        }
        Ok(None)
    }

    /// The text of the note blob on `target`; `None`, with a warning, when it is larger than
    /// [`MAX_NOTE_SIZE`]: notes are pushed by anyone with push access, and one of a gigabyte must
    /// not be inflated into memory by every hook and server that reads approvals. An oversize
    /// note is as good as none: it approves nothing (and `notes sync` does not carry it over).
    fn read_text(&self, target: Oid, blob: Oid) -> Result<Option<String>> {
        let size = self.blob_size(blob)?;
        if size > MAX_NOTE_SIZE {
            eprintln!(
                "gatehouse: ignoring the note on {target}: {size} bytes, over the {} KiB limit; \
it approves nothing",
                MAX_NOTE_SIZE / 1024
            );
            return Ok(None);
        }
        let blob = self.git2().find_blob(blob).map_err(ctx("reading a note"))?;
        Ok(Some(String::from_utf8_lossy(blob.content()).into_owned()))
    }

    /// Every note of a notes commit: (annotated object, note text). Entries that are not notes
    /// are left out (see [`Repo::not_notes`]).
    pub fn notes_of(&self, notes_commit: Oid) -> Result<Vec<(Oid, String)>> {
        let mut notes = Vec::new();
        for (target, blob) in self.note_entries(notes_commit)?.0 {
            if let Some(text) = self.read_text(target, blob)? {
                notes.push((target, text));
            }
        }
        Ok(notes)
    }

    /// Why `commit` is not a notes commit (its first entry that is not a note), or `None`.
    pub fn not_notes(&self, commit: Oid) -> Result<Option<String>> {
        Ok(self.note_entries(commit)?.1)
    }

    /// The notes of a notes commit's tree, and the first entry that is not a note.
    fn note_entries(&self, commit: Oid) -> Result<NoteEntries> {
        let tree = self
            .git2()
            .find_commit(commit)
            .and_then(|c| c.tree())
            .map_err(ctx(format!("reading notes commit {commit}")))?;
        let mut notes = Vec::new();
        let mut stray = None;
        tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
            let name = String::from_utf8_lossy(entry.name_bytes());
            let prefix = dir.replace('/', "");
            let hex = |s: &str| s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
            let fits = hex(&name) && hex(&prefix);
            let result = match entry.kind() {
                Some(ObjectType::Tree) if fits && name.len() == 2 && prefix.len() + 2 < HEX_LEN => {
                    return git2::TreeWalkResult::Ok;
                }
                Some(ObjectType::Blob)
                    if fits
                        && prefix.len() + name.len() == HEX_LEN
                        && entry.filemode() == 0o100_644 =>
                {
                    Oid::from_str(&format!("{prefix}{name}")).ok()
                }
                _ => None,
            };
            match result {
                Some(target) => {
                    notes.push((target, entry.id()));
                    git2::TreeWalkResult::Ok
                }
                None => {
                    stray = Some(format!("{dir}{name}"));
                    git2::TreeWalkResult::Abort
                }
            }
        })
        .or_else(|e| if stray.is_some() { Ok(()) } else { Err(e) })
        .map_err(ctx(format!("reading notes commit {commit}")))?;
        let why = stray.map(|path| {
            format!(
                "its tree holds `{path}`, which is not a note (a notes tree holds only blobs named by \
                 the object they annotate, in two-hex-digit fan-out directories)"
            )
        });
        Ok((notes, why))
    }

    /// Writes (replacing) the note on `target` in `notes_ref`.
    pub fn write_note(
        &self,
        notes_ref: &str,
        target: Oid,
        text: &str,
        who: &Identity,
    ) -> Result<()> {
        let sig = git2::Signature::now(&who.name, &who.email).map_err(ctx("making a signature"))?;
        self.git2()
            .note(&sig, &sig, Some(notes_ref), target, text, true)
            .map_err(ctx(format!("writing a note on {target}")))?;
        Ok(())
    }

    /// The targets of every note in `notes_ref`.
    pub fn noted_commits(&self, notes_ref: &str) -> Result<Vec<Oid>> {
        let notes = match self.git2().notes(Some(notes_ref)) {
            Ok(notes) => notes,
            Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(ctx("listing notes")(e)),
        };
        Ok(notes
            .filter_map(std::result::Result::ok)
            .map(|(_, target)| target)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use git2::{Oid, Repository};

    use crate::git::Repo;

    /// A commit whose tree has `entries` (path, mode), each a blob of "x".
    fn commit_with(git: &Repository, entries: &[(&str, i32)]) -> Oid {
        let blob = git.blob(b"x").unwrap();
        let mut index = git2::Index::new().unwrap();
        for (path, mode) in entries {
            let entry = git2::IndexEntry {
                ctime: git2::IndexTime::new(0, 0),
                mtime: git2::IndexTime::new(0, 0),
                dev: 0,
                ino: 0,
                mode: u32::try_from(*mode).unwrap(),
                uid: 0,
                gid: 0,
                file_size: 1,
                id: blob,
                flags: 0,
                flags_extended: 0,
                path: path.as_bytes().to_vec(),
            };
            index.add(&entry).unwrap();
        }
        let tree = index.write_tree_to(git).unwrap();
        let tree = git.find_tree(tree).unwrap();
        let sig = git2::Signature::now("T", "t@example.com").unwrap();
        git.commit(None, &sig, &sig, "c", &tree, &[]).unwrap()
    }

    #[test]
    fn an_oversize_note_is_no_note() {
        let dir = tempfile::tempdir().unwrap();
        let git = Repository::init_bare(dir.path()).unwrap();
        let repo = Repo::open(dir.path()).unwrap();
        let (small, large) = (
            "0123456789abcdef0123456789abcdef01234567",
            "1123456789abcdef0123456789abcdef01234567",
        );
        let mut tree = git.treebuilder(None).unwrap();
        let huge = vec![b' '; usize::try_from(super::MAX_NOTE_SIZE).unwrap() + 1];
        tree.insert(small, git.blob(b"{}").unwrap(), 0o100_644)
            .unwrap();
        tree.insert(large, git.blob(&huge).unwrap(), 0o100_644)
            .unwrap();
        let tree = git.find_tree(tree.write().unwrap()).unwrap();
        let sig = git2::Signature::now("T", "t@example.com").unwrap();
        let commit = git.commit(None, &sig, &sig, "c", &tree, &[]).unwrap();
        assert_eq!(
            repo.notes_of(commit).unwrap(),
            [(Oid::from_str(small).unwrap(), "{}".into())]
        );
        let at = super::NotesAt::Commit(commit);
        let read = |hex: &str| repo.read_note(at, Oid::from_str(hex).unwrap()).unwrap();
        assert_eq!(read(small).as_deref(), Some("{}"));
        assert_eq!(read(large), None);
    }

    #[test]
    fn only_notes_trees_are_notes_commits() {
        let dir = tempfile::tempdir().unwrap();
        let git = Repository::init_bare(dir.path()).unwrap();
        let repo = Repo::open(dir.path()).unwrap();
        let hex = "0123456789abcdef0123456789abcdef01234567";
        let flat = commit_with(&git, &[(hex, 0o100_644)]);
        assert_eq!(repo.not_notes(flat).unwrap(), None);
        assert_eq!(
            repo.notes_of(flat).unwrap(),
            [(Oid::from_str(hex).unwrap(), "x".into())]
        );
        let fanned = format!("{}/{}/{}", &hex[..2], &hex[2..4], &hex[4..]);
        assert_eq!(
            repo.not_notes(commit_with(&git, &[(&fanned, 0o100_644)]))
                .unwrap(),
            None
        );
        for (path, mode) in [
            ("b.py", 0o100_644),
            (hex, 0o100_755),
            (hex, 0o120_000),
            (&hex.to_uppercase(), 0o100_644),
            (&hex[..39], 0o100_644),
            (&format!("{hex}0"), 0o100_644),
            (&format!("abc/{}", &hex[3..]), 0o100_644),
            (&format!("{}/x.py", &hex[..2]), 0o100_644),
        ] {
            let commit = commit_with(&git, &[(path, mode)]);
            let why = repo.not_notes(commit).unwrap();
            assert!(why.is_some(), "{path} {mode:o} passed as a note");
        }
    }
}
