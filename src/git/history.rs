//! History questions the gate asks: which commits a push brings, where their changes start,
//! the trailers of agent commits, git notes (approvals), and the user's identity.

use std::collections::HashSet;

use git2::{Oid, Sort};

use super::{Repo, Result, ctx};

/// Which refs count as "already there" when listing the commits a push brings.
#[derive(Debug, Clone)]
pub enum Known {
    /// `--not --remotes=<name>`: the remote-tracking refs of one remote.
    Remote(String),
    /// `--not --remotes`: every remote-tracking ref (a push to a URL).
    AllRemotes,
    /// `--not --all`: every ref (pre-receive, where the refs are the server's).
    AllRefs,
}

impl Repo {
    /// Whether `name` is a configured remote (not a URL).
    pub fn is_remote(&self, name: &str) -> bool {
        !name.is_empty() && self.git2().find_remote(name).is_ok()
    }

    /// The commits reachable from `tip` and from none of the `known` refs, newest first.
    pub fn new_commits(&self, tip: Oid, known: &Known) -> Result<Vec<Oid>> {
        let mut walk = self.git2().revwalk().map_err(ctx("walking history"))?;
        walk.set_sorting(Sort::TOPOLOGICAL)
            .map_err(ctx("walking history"))?;
        walk.push(tip)
            .map_err(ctx(format!("walking history from {tip}")))?;
        let glob = match known {
            Known::Remote(name) => format!("refs/remotes/{name}/*"),
            Known::AllRemotes => "refs/remotes/*".to_string(),
            Known::AllRefs => "refs/*".to_string(),
        };
        walk.hide_glob(&glob)
            .map_err(ctx(format!("hiding {glob}")))?;
        walk.collect::<std::result::Result<Vec<_>, _>>()
            .map_err(ctx("walking history"))
    }

    /// Where the changes of `commits` start on `tip`'s line: the first first-parent ancestor of
    /// `tip` that is not one of them (`None`: they reach a root, so everything is new).
    pub fn first_parent_base(&self, tip: Oid, commits: &[Oid]) -> Result<Option<Oid>> {
        let set: HashSet<Oid> = commits.iter().copied().collect();
        let mut current = tip;
        while set.contains(&current) {
            let commit = self
                .git2()
                .find_commit(current)
                .map_err(ctx(format!("reading commit {current}")))?;
            match commit.parent_ids().next() {
                Some(parent) => current = parent,
                None => return Ok(None),
            }
        }
        Ok(Some(current))
    }

    /// The `Key: value` trailers of a commit's message.
    pub fn trailers(&self, commit: Oid) -> Result<Vec<(String, String)>> {
        let commit = self
            .git2()
            .find_commit(commit)
            .map_err(ctx(format!("reading commit {commit}")))?;
        Ok(parse_trailers(&String::from_utf8_lossy(
            commit.message_bytes(),
        )))
    }

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
                let blob = self
                    .git2()
                    .find_blob(entry.id())
                    .map_err(ctx("reading a note"))?;
                return Ok(Some(String::from_utf8_lossy(blob.content()).into_owned()));
            }
        }
        Ok(None)
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

/// Where to read notes from.
#[derive(Debug, Clone, Copy)]
pub enum NotesAt<'a> {
    /// The notes ref as it stands.
    Ref(&'a str),
    /// A notes commit (e.g. one arriving in the same push, not yet under the ref).
    Commit(Oid),
}

/// A git identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub email: String,
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} <{}>", self.name, self.email)
    }
}

/// The trailers of a message: `Key: value` lines of its last paragraph.
pub fn parse_trailers(message: &str) -> Vec<(String, String)> {
    // The subject paragraph is never trailers.
    let Some((_, last)) = message.trim_end().rsplit_once("\n\n") else {
        return Vec::new();
    };
    last.lines()
        .filter_map(|line| {
            let (key, value) = line.split_once(": ")?;
            let valid =
                !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
            valid.then(|| (key.to_string(), value.trim().to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::parse_trailers;

    #[test]
    fn trailers_come_from_the_last_paragraph() {
        let msg = "Add annotations\n\nBody text: not a trailer? it is in the body.\n\nGatehouse-Task: types\nGatehouse-Run: 42\n";
        assert_eq!(
            parse_trailers(msg),
            [
                ("Gatehouse-Task".to_string(), "types".to_string()),
                ("Gatehouse-Run".to_string(), "42".to_string())
            ]
        );
        assert!(parse_trailers("Subject: only a subject line").is_empty());
        assert!(parse_trailers("Subject\n\nplain body\n").is_empty());
    }
}
