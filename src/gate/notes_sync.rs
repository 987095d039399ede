//! Approvals in a team: each remote's `refs/notes/gatehouse` is fetched beside the local one
//! (`refs/notes/remotes/<remote>/gatehouse`, the refspec `gatehouse install` adds: a pattern, so
//! a remote without approvals yet fetches nothing instead of failing), and merged into
//! it by joining the approvals of every annotated commit, so that two people who approved at
//! once both keep their approvals and the next push of the notes is a fast-forward: nobody has
//! to force it and wipe the other's.

use std::collections::BTreeMap;

use git2::Oid;

use super::approvals::{self, Note};
use crate::config::NOTES_REF;
use crate::git::{Identity, Repo};

/// Where a remote's approvals are fetched to.
pub fn remote_notes_ref(remote: &str) -> String {
    format!("refs/notes/remotes/{remote}/gatehouse")
}

/// The fetch refspec that brings `remote`'s approvals (and its audit notes).
pub fn fetch_refspec(remote: &str) -> String {
    format!("+{NOTES_REF}*:refs/notes/remotes/{remote}/gatehouse*")
}

/// Adds the approvals' fetch refspec to every remote that lacks it; returns the remotes changed.
pub fn add_fetch_refspecs(repo: &Repo) -> Result<Vec<String>, git2::Error> {
    let git = repo.git2();
    let mut added = Vec::new();
    for name in git.remotes()?.iter().flatten().flatten() {
        let spec = fetch_refspec(name);
        let remote = git.find_remote(name)?;
        let has = remote
            .fetch_refspecs()?
            .iter()
            .flatten()
            .flatten()
            .any(|s| s == spec);
        if !has {
            git.remote_add_fetch(name, &spec)?;
            added.push(name.to_string());
        }
    }
    Ok(added)
}

/// Merges every fetched remote's approvals into `refs/notes/gatehouse`: a fast-forward when one
/// side has all of the other, else a merge commit whose notes join both sides' approvals.
/// Returns the remotes whose approvals were taken in.
pub fn merge_fetched(repo: &Repo, who: &Identity) -> Result<Vec<String>, git2::Error> {
    let git = repo.git2();
    let mut merged = Vec::new();
    let mut remotes: Vec<(String, Oid)> = Vec::new();
    for reference in git
        .references_glob("refs/notes/remotes/*/gatehouse")?
        .flatten()
    {
        let name = reference.name().ok().and_then(|n| {
            n.strip_prefix("refs/notes/remotes/")?
                .strip_suffix("/gatehouse")
                .map(str::to_string)
        });
        if let (Some(name), Some(target)) = (name, reference.target()) {
            remotes.push((name, target));
        }
    }
    for (remote, theirs) in remotes {
        let ours = git.refname_to_id(NOTES_REF).ok();
        let next = match ours {
            None => theirs,
            Some(ours) if ours == theirs || git.graph_descendant_of(ours, theirs)? => continue,
            Some(ours) if git.graph_descendant_of(theirs, ours)? => theirs,
            Some(ours) => join(repo, ours, theirs, &remote, who)?,
        };
        git.reference(
            NOTES_REF,
            next,
            true,
            &format!("gatehouse: approvals from {remote}"),
        )?;
        merged.push(remote);
    }
    Ok(merged)
}

/// A notes commit with parents `ours` and `theirs` whose note on each commit holds the
/// approvals of both (ours first, then theirs that ours lacks).
fn join(
    repo: &Repo,
    ours: Oid,
    theirs: Oid,
    remote: &str,
    who: &Identity,
) -> Result<Oid, git2::Error> {
    let git = repo.git2();
    let read = |commit: Oid| -> Result<BTreeMap<Oid, String>, git2::Error> {
        let notes = repo
            .notes_of(commit)
            .map_err(|e| git2::Error::from_str(&e.to_string()))?;
        Ok(notes.into_iter().collect())
    };
    let mut notes = read(ours)?;
    for (target, text) in read(theirs)? {
        let combined = match notes.get(&target) {
            Some(mine) if *mine == text => continue,
            Some(mine) => {
                let mut approvals = approvals::parse(mine, target);
                for approval in approvals::parse(&text, target) {
                    if !approvals.contains(&approval) {
                        approvals.push(approval);
                    }
                }
                serde_json::to_string_pretty(&Note { approvals }).unwrap_or(text)
            }
            None => text,
        };
        notes.insert(target, combined);
    }
    let mut builder = git.treebuilder(None)?;
    for (target, text) in &notes {
        let blob = git.blob(text.as_bytes())?;
        builder.insert(target.to_string(), blob, 0o100_644)?;
    }
    let tree = git.find_tree(builder.write()?)?;
    let signature = git2::Signature::now(&who.name, &who.email)?;
    let parents = [&git.find_commit(ours)?, &git.find_commit(theirs)?];
    git.commit(
        None,
        &signature,
        &signature,
        &format!("Merge approvals from {remote}"),
        &tree,
        &parents,
    )
}

/// Whether `remote` already has every approval of the local notes (as last fetched), or the
/// push itself carries them; `None` when there are no local approvals at all.
pub fn remote_has_approvals(repo: &Repo, remote: &str, pushing_notes: bool) -> Option<bool> {
    let git = repo.git2();
    let ours = git.refname_to_id(NOTES_REF).ok()?;
    if pushing_notes {
        return Some(true);
    }
    let theirs = git.refname_to_id(&remote_notes_ref(remote)).ok();
    Some(theirs.is_some_and(|t| t == ours || git.graph_descendant_of(t, ours).unwrap_or(false)))
}
