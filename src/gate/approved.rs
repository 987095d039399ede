//! Which approvals let a review finding of a push or merge through: the approvals of every
//! commit that introduced it (by commit id, or by patch-id for a rebased copy whose patch is
//! identical), or an approval of a push as a whole (`gatehouse approve REV`) on the pushed tip
//! itself that lists it.
//!
//! An approval names the commits it approves, so it covers their changes and nothing else: a
//! user's own change to the same file in another commit needs an approval of its own, and
//! commits added later elsewhere do not undo it. A clean merge commit introduces nothing (every
//! path it has is some parent's); a merge that resolved a path differently from every parent
//! introduced that path.

use std::collections::{HashMap, HashSet};

use git2::Oid;

use super::approvals::{self, Approval, ApprovedCommit, Judgement, Trust};
use super::push::AGENT_COMMIT;
use crate::checks::Finding;
use crate::config::Level;
use crate::git::{self, NotesAt, Repo};

/// An approval and the commit its note is on.
type Noted = (Oid, Approval);

/// The approvals a set of commits can draw on, read as needed.
pub struct Cover<'r> {
    repo: &'r Repo,
    notes: NotesAt<'r>,
    trust: Trust<'r>,
    tips: Vec<Oid>,
    commits: Vec<Oid>,
    on_tips: Option<Vec<Noted>>,
    /// Approvals naming commits, from the notes on the commits of the range.
    near: Option<Vec<Noted>>,
    /// Approvals naming commits, from every note (for patch-ids).
    all: Option<Vec<Noted>>,
    changed: HashMap<Oid, HashSet<String>>,
}

/// What the approvals do for one finding.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Decision {
    pub covered: bool,
    /// Why approvals that are about the finding do not count.
    pub why_not: Vec<String>,
}

impl<'r> Cover<'r> {
    /// Approvals for what `commits` bring to `tips` (the pushed tip, or the merged heads).
    pub fn new(
        repo: &'r Repo,
        notes: NotesAt<'r>,
        trust: Trust<'r>,
        tips: Vec<Oid>,
        commits: Vec<Oid>,
    ) -> Cover<'r> {
        Cover {
            repo,
            notes,
            trust,
            tips,
            commits,
            on_tips: None,
            near: None,
            all: None,
            changed: HashMap::new(),
        }
    }

    /// Whether approvals cover `finding` (only review-level findings can be covered).
    pub fn decide(&mut self, finding: &Finding) -> git::Result<Decision> {
        let mut decision = Decision::default();
        if finding.level != Level::Review {
            return Ok(decision);
        }
        for (on, approval) in self.tip_approvals()? {
            match approvals::judge(&approval, on, finding, self.trust) {
                Judgement::Counts => {
                    decision.covered = true;
                    return Ok(decision);
                }
                Judgement::DoesNotCount(why) => decision.why_not.push(why),
                Judgement::NotAbout => {}
            }
        }
        let introducing = self.introducing(finding)?;
        if introducing.is_empty() {
            return Ok(decision);
        }
        for commit in introducing {
            if !self.commit_covered(commit, finding, &mut decision.why_not)? {
                return Ok(decision);
            }
        }
        decision.covered = true;
        Ok(decision)
    }

    /// The approvals on the tips recorded for a push of them as a whole (`gatehouse approve`,
    /// and notes from before approvals named commits).
    fn tip_approvals(&mut self) -> git::Result<Vec<Noted>> {
        if self.on_tips.is_none() {
            let mut found = Vec::new();
            for tip in &self.tips {
                for approval in approvals::load(self.repo, self.notes, *tip)? {
                    if approval.commits.is_empty() || approval.whole_push {
                        found.push((*tip, approval));
                    }
                }
            }
            self.on_tips = Some(found);
        }
        Ok(self.on_tips.clone().unwrap_or_default())
    }

    /// The commits of the range that brought `finding`: an agent commit is its own; any other
    /// finding comes from every commit that changed its path.
    fn introducing(&mut self, finding: &Finding) -> git::Result<Vec<Oid>> {
        if finding.rule == AGENT_COMMIT {
            return Ok(Oid::from_str(&finding.path)
                .ok()
                .filter(|c| self.commits.contains(c))
                .into_iter()
                .collect());
        }
        let mut found = Vec::new();
        for commit in self.commits.clone() {
            if self.changed_paths(commit)?.contains(&finding.path) {
                found.push(commit);
            }
        }
        Ok(found)
    }

    /// The paths `commit` changed: against its parent, or, for a merge, against every parent.
    fn changed_paths(&mut self, commit: Oid) -> git::Result<&HashSet<String>> {
        if !self.changed.contains_key(&commit) {
            let paths = changed_paths(self.repo, commit)?;
            self.changed.insert(commit, paths);
        }
        Ok(&self.changed[&commit])
    }

    /// Whether an approval naming `commit` (or a commit with its patch) covers `finding`.
    fn commit_covered(
        &mut self,
        commit: Oid,
        finding: &Finding,
        why_not: &mut Vec<String>,
    ) -> git::Result<bool> {
        if self.near.is_none() {
            let mut near = Vec::new();
            for on in &self.commits {
                for approval in approvals::load(self.repo, self.notes, *on)? {
                    if !approval.commits.is_empty() {
                        near.push((*on, approval));
                    }
                }
            }
            self.near = Some(near);
        }
        let hex = commit.to_string();
        let near = self.near.clone().unwrap_or_default();
        if judge_named(&near, finding, |c| c.commit == hex, self.trust, why_not) {
            return Ok(true);
        }
        let Some(patch) = patch_id(self.repo, commit)?.map(|p| p.to_string()) else {
            return Ok(false);
        };
        if self.all.is_none() {
            self.all = Some(self.every_note()?);
        }
        let all = self.all.clone().unwrap_or_default();
        let same_patch = |c: &ApprovedCommit| c.patch_id.as_deref() == Some(patch.as_str());
        Ok(judge_named(&all, finding, same_patch, self.trust, why_not))
    }

    /// Every approval that names commits, from every note.
    fn every_note(&self) -> git::Result<Vec<Noted>> {
        let commit = match self.notes {
            NotesAt::Commit(commit) => commit,
            NotesAt::Ref(name) => match self.repo.git2().refname_to_id(name) {
                Ok(commit) => commit,
                Err(_) => return Ok(Vec::new()),
            },
        };
        let mut found = Vec::new();
        for (on, text) in self.repo.notes_of(commit)? {
            for approval in approvals::parse(&text, on) {
                if !approval.commits.is_empty() {
                    found.push((on, approval));
                }
            }
        }
        Ok(found)
    }
}

/// Whether one of `noted` names a commit `matches` accepts and counts for `finding`.
fn judge_named(
    noted: &[Noted],
    finding: &Finding,
    matches: impl Fn(&ApprovedCommit) -> bool,
    trust: Trust<'_>,
    why_not: &mut Vec<String>,
) -> bool {
    for (on, approval) in noted {
        for named in approval.commits.iter().filter(|c| matches(c)) {
            // An agent-commit finding names its commit: the approved one, for a rebased copy.
            let mut judged = finding.clone();
            if finding.rule == AGENT_COMMIT {
                judged.path.clone_from(&named.commit);
            }
            match approvals::judge(approval, *on, &judged, trust) {
                Judgement::Counts => return true,
                Judgement::DoesNotCount(why) if !why_not.contains(&why) => why_not.push(why),
                _ => {}
            }
        }
    }
    false
}

/// The paths `commit` changed (both sides of a rename): against its parent, the empty tree for
/// a root, and for a merge only the paths that differ from every parent.
pub fn changed_paths(repo: &Repo, commit: Oid) -> git::Result<HashSet<String>> {
    let found = repo
        .git2()
        .find_commit(commit)
        .map_err(git_error(format!("reading commit {commit}")))?;
    let tree = found.tree_id();
    let parents: Vec<Oid> = found.parent_ids().collect();
    let diff = |old: Option<Oid>| -> git::Result<HashSet<String>> {
        let changes = repo.diff_trees(old, tree, false)?;
        Ok(changes
            .into_iter()
            .flat_map(|c| std::iter::once(c.path).chain(c.old_path))
            .collect())
    };
    let Some((first, rest)) = parents.split_first() else {
        return diff(None);
    };
    let mut paths = diff(Some(repo.commit_tree(*first)?))?;
    for parent in rest {
        let other = diff(Some(repo.commit_tree(*parent)?))?;
        paths.retain(|p| other.contains(p));
    }
    Ok(paths)
}

/// `git patch-id --stable` of a commit's change against its only parent (or the empty tree);
/// `None` for a merge, which has no single patch.
pub fn patch_id(repo: &Repo, commit: Oid) -> git::Result<Option<Oid>> {
    let err = git_error;
    let git = repo.git2();
    let found = git
        .find_commit(commit)
        .map_err(err(format!("reading commit {commit}")))?;
    if found.parent_count() > 1 {
        return Ok(None);
    }
    let old = match found.parent(0) {
        Ok(parent) => Some(parent.tree().map_err(err(format!("reading {commit}^")))?),
        Err(_) => None,
    };
    let new = found.tree().map_err(err(format!("reading {commit}")))?;
    let diff = git
        .diff_tree_to_tree(old.as_ref(), Some(&new), None)
        .map_err(err(format!("diffing {commit}")))?;
    diff.patchid(None)
        .map(Some)
        .map_err(err(format!("computing the patch-id of {commit}")))
}

fn git_error(context: String) -> impl FnOnce(git2::Error) -> git::GitError {
    move |source| git::GitError::Git { context, source }
}

/// What an approval of `commits` records for each: its id and patch-id.
pub fn approved_commits(repo: &Repo, commits: &[Oid]) -> git::Result<Vec<ApprovedCommit>> {
    commits
        .iter()
        .map(|c| {
            Ok(ApprovedCommit {
                commit: c.to_string(),
                patch_id: patch_id(repo, *c)?.map(|p| p.to_string()),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use git2::{Oid, Repository, Signature};

    use super::*;

    /// A commit with `files` (path, content) and `parents`.
    fn commit(git: &Repository, files: &[(&str, &str)], parents: &[Oid]) -> Oid {
        let mut index = git2::Index::new().unwrap();
        for (path, content) in files {
            let blob = git.blob(content.as_bytes()).unwrap();
            let mut entry = git2::IndexEntry {
                ctime: git2::IndexTime::new(0, 0),
                mtime: git2::IndexTime::new(0, 0),
                dev: 0,
                ino: 0,
                mode: 0o100_644,
                uid: 0,
                gid: 0,
                file_size: 0,
                id: blob,
                flags: 0,
                flags_extended: 0,
                path: path.as_bytes().to_vec(),
            };
            entry.file_size = u32::try_from(content.len()).unwrap();
            index.add(&entry).unwrap();
        }
        let tree = git.find_tree(index.write_tree_to(git).unwrap()).unwrap();
        let sig = Signature::now("T", "t@example.com").unwrap();
        let parents: Vec<git2::Commit<'_>> = parents
            .iter()
            .map(|p| git.find_commit(*p).unwrap())
            .collect();
        let refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
        git.commit(None, &sig, &sig, "c", &tree, &refs).unwrap()
    }

    #[test]
    fn a_clean_merge_brings_nothing_and_a_resolution_brings_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let git = Repository::init_bare(dir.path()).unwrap();
        let repo = Repo::open(dir.path()).unwrap();
        let base = commit(&git, &[("a", "1"), ("b", "1")], &[]);
        let ours = commit(&git, &[("a", "2"), ("b", "1")], &[base]);
        let theirs = commit(&git, &[("a", "1"), ("b", "2")], &[base]);
        let clean = commit(&git, &[("a", "2"), ("b", "2")], &[ours, theirs]);
        let resolved = commit(&git, &[("a", "3"), ("b", "2")], &[ours, theirs]);
        let paths = |c| {
            let mut p: Vec<String> = changed_paths(&repo, c).unwrap().into_iter().collect();
            p.sort();
            p
        };
        assert_eq!(paths(ours), ["a"]);
        assert_eq!(paths(base), ["a", "b"], "a root brings everything");
        assert!(paths(clean).is_empty());
        assert_eq!(paths(resolved), ["a"]);
        // The same change on another base has the same patch-id; a merge has none.
        let elsewhere = commit(
            &git,
            &[("a", "2"), ("b", "1"), ("c", "0")],
            &[commit(&git, &[("a", "1"), ("b", "1"), ("c", "0")], &[base])],
        );
        assert_eq!(
            patch_id(&repo, ours).unwrap(),
            patch_id(&repo, elsewhere).unwrap()
        );
        assert_ne!(
            patch_id(&repo, ours).unwrap(),
            patch_id(&repo, theirs).unwrap()
        );
        assert_eq!(patch_id(&repo, clean).unwrap(), None);
    }
}
