//! Snapshots of the refs, and what changed between two of them: the daemon treats file events
//! only as "something changed" and learns what happened here, from git2, the reflog and
//! ancestry (a commit, a checkout, a reset, a finished rebase, a deleted branch).

use std::collections::BTreeMap;

use git2::{Oid, Repository};
use serde::Serialize;

use crate::git::{GitError, ctx};

/// Refs the daemon itself creates (scratch branches of agent runs): never acted on.
pub const OWN_PREFIXES: &[&str] = &["refs/heads/gatehouse/", "refs/gatehouse/"];

/// Where HEAD points.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Head {
    /// The branch (`refs/heads/…`) HEAD names, `None` when detached.
    pub branch: Option<String>,
    /// The commit, `None` on an unborn branch.
    pub commit: Option<Oid>,
}

/// HEAD and every branch, tag and remote-tracking ref, at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshot {
    pub head: Head,
    pub refs: BTreeMap<String, Oid>,
}

/// One thing that happened, as learnt from two snapshots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// `commit`, `merge`, `rebase`, `reset`, `checkout`, `branch-created`, `branch-deleted`,
    /// `update` (a ref moved for another reason: fetch, `update-ref`, …).
    pub kind: &'static str,
    #[serde(rename = "ref")]
    pub name: String,
    #[serde(serialize_with = "opt_oid")]
    pub old: Option<Oid>,
    #[serde(serialize_with = "opt_oid")]
    pub new: Option<Oid>,
    /// For a branch that now has commits it did not have: what to warm the cache from.
    #[serde(skip)]
    pub warm_base: Option<Option<Oid>>,
}

fn opt_oid<S: serde::Serializer>(oid: &Option<Oid>, s: S) -> Result<S::Ok, S::Error> {
    match oid {
        Some(oid) => s.serialize_str(&oid.to_string()),
        None => s.serialize_none(),
    }
}

impl Snapshot {
    /// Reads HEAD and the refs now.
    pub fn read(repo: &Repository) -> Result<Snapshot, GitError> {
        let head_ref = repo.find_reference("HEAD").map_err(ctx("reading HEAD"))?;
        let branch = head_ref
            .symbolic_target()
            .ok()
            .flatten()
            .map(str::to_string);
        let commit = head_ref.resolve().ok().and_then(|r| r.target());
        let mut refs = BTreeMap::new();
        for reference in repo.references().map_err(ctx("listing refs"))? {
            let reference = reference.map_err(ctx("reading a ref"))?;
            let (Some(name), Some(target)) = (reference.name().ok(), reference.target()) else {
                continue;
            };
            let interesting = ["refs/heads/", "refs/tags/", "refs/remotes/"]
                .iter()
                .any(|p| name.starts_with(p));
            if interesting && !OWN_PREFIXES.iter().any(|p| name.starts_with(p)) {
                refs.insert(name.to_string(), target);
            }
        }
        Ok(Snapshot {
            head: Head { branch, commit },
            refs,
        })
    }

    /// What happened between `self` (before) and `new`.
    pub fn diff(&self, new: &Snapshot, repo: &Repository) -> Vec<Change> {
        let mut changes = Vec::new();
        if self.head.branch != new.head.branch
            || (new.head.branch.is_none() && self.head.commit != new.head.commit)
        {
            changes.push(Change {
                kind: "checkout",
                name: new.head.branch.clone().unwrap_or_else(|| "HEAD".into()),
                old: self.head.commit,
                new: new.head.commit,
                warm_base: None,
            });
        }
        for (name, old) in &self.refs {
            if !new.refs.contains_key(name) {
                changes.push(ref_change("branch-deleted", name, Some(*old), None));
            }
        }
        for (name, oid) in &new.refs {
            let old = self.refs.get(name).copied();
            if old == Some(*oid) {
                continue;
            }
            changes.push(classify(repo, name, old, *oid));
        }
        changes
    }
}

fn ref_change(kind: &'static str, name: &str, old: Option<Oid>, new: Option<Oid>) -> Change {
    let kind = match (kind, name.starts_with("refs/heads/")) {
        ("branch-deleted", false) => "deleted",
        (kind, _) => kind,
    };
    Change {
        kind,
        name: name.to_string(),
        old,
        new,
        warm_base: None,
    }
}

/// Names a ref update by its newest reflog entry, and decides what to warm: the commits a
/// branch gained (from the old tip when it is an ancestor, else from the new tip's parent).
fn classify(repo: &Repository, name: &str, old: Option<Oid>, new: Oid) -> Change {
    let message = repo
        .reflog(name)
        .ok()
        .and_then(|log| {
            log.get(0)
                .and_then(|e| e.message().ok().flatten().map(str::to_string))
        })
        .unwrap_or_default();
    let branch = name.starts_with("refs/heads/");
    let kind = match message.split([' ', ':', '(']).next().unwrap_or("") {
        _ if !branch => "update",
        "commit" | "cherry-pick" | "revert" => "commit",
        "merge" | "pull" => "merge",
        "rebase" => "rebase",
        "reset" => "reset",
        "branch" | "checkout" if old.is_none() => "branch-created",
        _ if old.is_none() => "branch-created",
        _ => "update",
    };
    let ancestor = |a: Oid, b: Oid| repo.graph_descendant_of(b, a).unwrap_or(false);
    let warm_base = match old {
        _ if !branch => None,
        // Moving back, or creating a branch at a known commit, brings nothing new to check.
        Some(old) if ancestor(new, old) => None,
        None if kind == "branch-created" => None,
        Some(old) if ancestor(old, new) => Some(Some(old)),
        _ => Some(first_parent(repo, new)),
    };
    Change {
        kind,
        name: name.to_string(),
        old,
        new: Some(new),
        warm_base,
    }
}

fn first_parent(repo: &Repository, commit: Oid) -> Option<Oid> {
    repo.find_commit(commit).ok()?.parent_id(0).ok()
}

#[cfg(test)]
mod tests;
