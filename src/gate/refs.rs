//! Refs that carry no code of their own, on a client and a server alike: a notes ref carries
//! notes, so every commit it brings must be a notes commit (see `git::notes` for the exact
//! shape), never code that a branch could later be fast-forwarded to; a replace ref changes
//! what an existing object means to everyone who reads it, so the gate refuses it. Every other
//! ref (branches, tags, anything under `refs/`) is gated like a branch.

use git2::Oid;

use super::push::{Gated, RefUpdate};
use crate::git::Repo;

/// Where notes refs live.
pub const NOTES: &str = "refs/notes/";
/// Where replace refs live.
pub const REPLACE: &str = "refs/replace/";

/// How the gate treats a ref.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `refs/notes/*`: notes only.
    Notes,
    /// `refs/replace/*`: refused (deleting one is fine).
    Replace,
    /// Anything else: gated like a branch.
    Code,
}

impl Kind {
    pub fn of(name: &str) -> Kind {
        if name.starts_with(NOTES) {
            Kind::Notes
        } else if name.starts_with(REPLACE) {
            Kind::Replace
        } else {
            Kind::Code
        }
    }
}

/// Gates an update of a notes ref: each commit it brings that the ref's old value has not must
/// be a notes commit, even one that a branch already has (a notes history stays notes only).
pub fn gate_notes(repo: &Repo, update: RefUpdate) -> Gated {
    let mut gated = Gated::new(update);
    if gated.update.is_deletion() {
        return gated;
    }
    match notes_refusal(repo, &gated.update) {
        Ok((count, None)) => gated.notes_commits = Some(count),
        Ok((_, Some(why))) => gated.refused = Some(why),
        Err(e) => gated.error = Some(crate::plain_error(e.as_ref())),
    }
    gated
}

/// How many commits the update brings, and why it is refused if it is.
fn notes_refusal(repo: &Repo, update: &RefUpdate) -> anyhow::Result<(usize, Option<String>)> {
    let tip = update.local;
    if repo.git2().find_commit(tip).is_err() {
        let kind = repo
            .git2()
            .find_object(tip, None)
            .ok()
            .and_then(|o| o.kind())
            .map_or("an unknown object", |k| k.str());
        return Ok((
            0,
            Some(format!(
                "it would point at {kind} {}, not a notes commit",
                short(tip)
            )),
        ));
    }
    let old: Vec<Oid> = (!update.remote.is_zero())
        .then_some(update.remote)
        .into_iter()
        .collect();
    let commits = repo.commits_hiding(tip, &old)?;
    for commit in &commits {
        if let Some(why) = repo.not_notes(*commit)? {
            return Ok((
                commits.len(),
                Some(format!(
                    "commit {} is not a notes commit: {why}; a notes ref carries notes, not code \
                     that a branch could later take in",
                    short(*commit)
                )),
            ));
        }
    }
    Ok((commits.len(), None))
}

/// Refuses an update of a replace ref; deleting one passes.
pub fn gate_replace(update: RefUpdate) -> Gated {
    let mut gated = Gated::new(update);
    if !gated.update.is_deletion() {
        gated.refused = Some(
            "replace refs make git read one object as another (a checked file or commit would \
             silently read as different content), so the gate refuses them"
                .into(),
        );
    }
    gated
}

fn short(id: Oid) -> String {
    id.to_string()[..12].to_string()
}
