//! History questions the gate asks: which commits a push brings, where their changes start,
//! which of them a server has already checked, the trailers of agent commits, and the user's
//! identity.

use std::collections::{HashMap, HashSet, VecDeque};

use git2::{Oid, Sort};

use super::{Repo, Result, ctx};

/// How many known versions besides the base a combined diff compares with, at most.
pub const MAX_KNOWN: usize = 16;

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

    /// Whether any remote-tracking ref exists (`--not --remotes` then hides something).
    pub fn has_remote_refs(&self) -> Result<bool> {
        let mut refs = self
            .git2()
            .references_glob("refs/remotes/*")
            .map_err(ctx("listing remote-tracking refs"))?;
        Ok(refs.next().is_some())
    }

    /// The commits reachable from `tip` and from none of `hidden` (ids this repository does not
    /// have, or that are not commits, hide nothing), newest first.
    pub fn commits_hiding(&self, tip: Oid, hidden: &[Oid]) -> Result<Vec<Oid>> {
        let mut walk = self.git2().revwalk().map_err(ctx("walking history"))?;
        walk.set_sorting(Sort::TOPOLOGICAL)
            .map_err(ctx("walking history"))?;
        walk.push(tip)
            .map_err(ctx(format!("walking history from {tip}")))?;
        for id in hidden {
            if self.git2().find_commit(*id).is_ok() {
                walk.hide(*id).map_err(ctx(format!("hiding {id}")))?;
            }
        }
        walk.collect::<std::result::Result<Vec<_>, _>>()
            .map_err(ctx("walking history"))
    }

    /// The part of `tip`'s history that `is_checked` does not vouch for, found without walking
    /// past a checked commit, newest first; and the nearest checked commit on `tip`'s
    /// first-parent line (`None`: the line reaches a root unchecked). A checked `tip` gives
    /// nothing, based on itself.
    pub fn unchecked_history(
        &self,
        tip: Oid,
        mut is_checked: impl FnMut(Oid) -> Result<bool>,
    ) -> Result<(Vec<Oid>, Option<Oid>)> {
        let mut memo: HashMap<Oid, bool> = HashMap::new();
        let mut check = |id: Oid| -> Result<bool> {
            if let Some(known) = memo.get(&id) {
                return Ok(*known);
            }
            let checked = is_checked(id)?;
            memo.insert(id, checked);
            Ok(checked)
        };
        if check(tip)? {
            return Ok((Vec::new(), Some(tip)));
        }
        let mut unchecked = Vec::new();
        let mut seen = HashSet::from([tip]);
        let mut queue = VecDeque::from([tip]);
        while let Some(id) = queue.pop_front() {
            unchecked.push(id);
            for parent in self.parents(id)? {
                if seen.insert(parent) && !check(parent)? {
                    queue.push_back(parent);
                }
            }
        }
        let mut current = tip;
        let base = loop {
            match self.parents(current)?.first() {
                None => break None,
                Some(parent) if check(*parent)? => break Some(*parent),
                Some(parent) => current = *parent,
            }
        };
        Ok((unchecked, base))
    }

    fn parents(&self, id: Oid) -> Result<Vec<Oid>> {
        let commit = self
            .git2()
            .find_commit(id)
            .map_err(ctx(format!("reading commit {id}")))?;
        Ok(commit.parent_ids().collect())
    }

    /// Every ref whose name `keep` accepts, with the commit it peels to; symbolic refs and refs
    /// to trees or blobs are left out.
    pub fn ref_commits(&self, keep: impl Fn(&str) -> bool) -> Result<Vec<(String, Oid)>> {
        let refs = self.git2().references().map_err(ctx("listing refs"))?;
        let mut found = Vec::new();
        for reference in refs {
            let reference = reference.map_err(ctx("listing refs"))?;
            if reference.kind() != Some(git2::ReferenceType::Direct) {
                continue;
            }
            let Ok(name) = reference.name().map(str::to_string) else {
                continue;
            };
            if !keep(&name) {
                continue;
            }
            if let Ok(commit) = reference.peel_to_commit() {
                found.push((name, commit.id()));
            }
        }
        Ok(found)
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

    /// The known versions `commits` grow from besides `base`: the parents of `commits` that are
    /// not among them (`git rev-list --boundary`), `base` left out, nearest first, at most
    /// [`MAX_KNOWN`]. When `commits` are "the commits no known ref has", each of these is known:
    /// what a `--no-ff` merge of upstream (or a branch started from newer upstream) brings from
    /// that side is content the remote already has.
    ///
    /// Decided: every boundary commit counts, not only the known parents of merge commits: a
    /// new branch started from a newer upstream and merged in grows from upstream as much as a
    /// direct merge does, and crediting it gives nothing a direct merge of that upstream would
    /// not. Past [`MAX_KNOWN`] (a hostile push with thousands of merges) the rest are left out,
    /// which only makes the gate stricter: fewer known versions, more lines count as new. As with
    /// git's combined diff, merging an older known commit can bring back a line that upstream
    /// removed since: that line is one the remote has (and a server gate accepted) already.
    pub fn known_parents(&self, commits: &[Oid], base: Option<Oid>) -> Result<Vec<Oid>> {
        let set: HashSet<Oid> = commits.iter().copied().collect();
        let mut found = Vec::new();
        for commit in commits {
            for parent in self.parents(*commit)? {
                if !set.contains(&parent) && Some(parent) != base && !found.contains(&parent) {
                    found.push(parent);
                    if found.len() == MAX_KNOWN {
                        return Ok(found);
                    }
                }
            }
        }
        Ok(found)
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
    use std::collections::HashSet;

    use git2::{Oid, Repository};

    use super::parse_trailers;
    use crate::git::Repo;

    fn commit(git: &Repository, parents: &[Oid]) -> Oid {
        let tree = git
            .find_tree(git.treebuilder(None).unwrap().write().unwrap())
            .unwrap();
        let parents: Vec<_> = parents
            .iter()
            .map(|p| git.find_commit(*p).unwrap())
            .collect();
        let parents: Vec<_> = parents.iter().collect();
        let sig = git2::Signature::now("T", "t@example.com").unwrap();
        let message = format!("c{}", rand_suffix());
        git.commit(None, &sig, &sig, &message, &tree, &parents)
            .unwrap()
    }

    fn rand_suffix() -> usize {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        NEXT.fetch_add(1, Ordering::Relaxed)
    }

    #[test]
    fn unchecked_history_stops_at_checked_states_and_bases_on_the_nearest() {
        let dir = tempfile::tempdir().unwrap();
        let git = Repository::init_bare(dir.path()).unwrap();
        let repo = Repo::open(dir.path()).unwrap();
        let base = commit(&git, &[]);
        let middle = commit(&git, &[base]);
        let tip = commit(&git, &[middle]);
        let side = commit(&git, &[base]);
        let merge = commit(&git, &[tip, side]);
        let checked: HashSet<Oid> = [base, tip].into();
        let is = |id| Ok(checked.contains(&id));
        assert_eq!(
            repo.unchecked_history(tip, is).unwrap(),
            (vec![], Some(tip))
        );
        // In the middle of a checked push: based on the state before it, not on a reachable one.
        assert_eq!(
            repo.unchecked_history(middle, is).unwrap(),
            (vec![middle], Some(base))
        );
        assert_eq!(
            repo.unchecked_history(merge, is).unwrap(),
            (vec![merge, side], Some(tip))
        );
        let nothing = |_| Ok(false);
        let (all, root) = repo.unchecked_history(merge, nothing).unwrap();
        assert_eq!((all.len(), root), (5, None));
    }

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
