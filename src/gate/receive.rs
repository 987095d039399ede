//! pre-receive on a shared bare repository: the enforcing gate, against a pusher who skipped
//! the client's.
//!
//! What counts as checked is a state, not a commit that merely sits in some ref's history: the
//! tips the gate accepted (the server's ledger records each), and what the gated refs held
//! before the gate's first push. An update is gated on the lines its tip has that the nearest
//! checked state on its first-parent line has not, nor any other checked state its unchecked
//! commits grow from (the upstream side of a merge: a combined diff, as pre-push measures it),
//! so rewinding a branch to a commit in the middle of an accepted push, or starting a ref there,
//! is gated like any other change. Notes refs carry only notes, replace refs and refs to a tree
//! or a blob are refused, and every other ref is gated like a branch.
//!
//! Approvals of findings with `owners` count only when the server vouches for the approver: the
//! user the hosting layer authenticated (`GL_USERNAME`, `GITOLITE_USER`, `REMOTE_USER`) pushed
//! that approval, and is an owner by user name or by an address the server's git config gives
//! the user (`gatehouse-user.<user>.email`). The identity written in the note does not count.

use std::collections::{HashMap, HashSet};

use git2::Oid;

use super::approvals::{self, Approval, Trust, Vouches};
use super::hooks::report_refs;
use super::ledger::{Entry, Ledger, LedgerError, Pushed};
use super::push::{self, Evaluation, Gated, RefUpdate};
use super::refs::{self, Kind};
use crate::ExitStatus;
use crate::config::{NOTES_REF, Settings};
use crate::engine::Stats;
use crate::git::{Known, NotesAt, Repo};

/// Gates every ref line of a push; `pusher` is the user the hosting layer authenticated.
pub fn pre_receive(
    repo: &Repo,
    settings: &Settings,
    lines: &[String],
    pusher: Option<&str>,
) -> ExitStatus {
    let mut updates = Vec::new();
    for line in lines {
        let Some(update) = RefUpdate::parse_pre_receive(line) else {
            eprintln!("gatehouse: cannot read the pre-receive line {line:?}; refusing the push");
            return ExitStatus::Blocked;
        };
        updates.push(update);
    }
    let mut ledger = match open_ledger(repo) {
        Ok(ledger) => ledger,
        Err(e) => {
            eprintln!(
                "gatehouse: {}; refusing the push",
                crate::plain_error(e.as_ref())
            );
            return ExitStatus::Blocked;
        }
    };
    let notes_update = updates
        .iter()
        .find(|u| u.remote_ref == NOTES_REF && !u.is_deletion());
    let notes = notes_update.map_or(NotesAt::Ref(NOTES_REF), |u| NotesAt::Commit(u.local));
    let arriving = match (notes_update, pusher) {
        (Some(update), Some(user)) => arriving_approvals(repo, update, user),
        _ => Vec::new(),
    };
    let mut pushed = ledger.approvals.clone();
    pushed.extend(arriving.iter().cloned());
    let vouches = Vouches::new(repo, pushed);
    let checked = Checked {
        repo,
        ledger: &ledger,
    };
    let results: Vec<Gated> = updates
        .into_iter()
        .map(|update| match Kind::of(&update.remote_ref) {
            Kind::Notes => refs::gate_notes(repo, update),
            Kind::Replace => refs::gate_replace(update),
            Kind::Code => gate_code(repo, settings, update, &checked, notes, &vouches),
        })
        .collect();
    let status = report_refs(repo, "push", &results);
    if status != ExitStatus::Success {
        return status;
    }
    if let Err(e) = record(repo, &mut ledger, &results, arriving) {
        eprintln!(
            "gatehouse: {}; refusing the push, so that the ledger keeps every state the gate accepted",
            crate::plain_error(&e)
        );
        return ExitStatus::Blocked;
    }
    status
}

/// Records an accepted push: the tips of its gated refs, and the approvals it brought.
fn record(
    repo: &Repo,
    ledger: &mut Ledger,
    results: &[Gated],
    arriving: Vec<Pushed>,
) -> Result<(), LedgerError> {
    let mut tips = HashSet::new();
    for gated in results {
        let update = &gated.update;
        if Kind::of(&update.remote_ref) != Kind::Code || update.is_deletion() {
            continue;
        }
        if let Ok(Some(tip)) = repo.peel_to_commit(update.local)
            && !ledger.checked.contains(&tip)
        {
            tips.insert(tip);
        }
    }
    let mut entries: Vec<Entry> = tips
        .into_iter()
        .map(|tip| Entry::Checked {
            commit: tip.to_string(),
        })
        .collect();
    entries.extend(arriving.into_iter().map(|p| Entry::Approval {
        on: p.on.to_string(),
        by: p.by,
        time: crate::store::now(),
        approval: p.approval,
    }));
    ledger.append(entries)
}

/// The ledger, with its baseline written by the gate's first push: the commits every gated ref
/// points at now.
fn open_ledger(repo: &Repo) -> anyhow::Result<Ledger> {
    let mut ledger = Ledger::open(repo)?;
    if !ledger.started() {
        let tips: HashSet<Oid> = repo
            .ref_commits(|name| Kind::of(name) == Kind::Code)?
            .into_iter()
            .map(|(_, id)| id)
            .collect();
        ledger.start(tips)?;
    }
    Ok(ledger)
}

fn gate_code(
    repo: &Repo,
    settings: &Settings,
    update: RefUpdate,
    checked: &Checked<'_>,
    notes: NotesAt<'_>,
    vouches: &Vouches,
) -> Gated {
    let mut gated = Gated::new(update);
    if push::refuse_non_commit(repo, &mut gated) {
        return gated;
    }
    let result = if gated.update.is_deletion() {
        Ok(push::deletion_finding(settings, &gated.update)
            .into_iter()
            .collect())
    } else {
        evaluate(repo, settings, gated.update.local, checked).map(|e| gated.take(e))
    };
    push::settle(repo, gated, result, notes, Trust::Vouched(vouches))
}

/// The findings an update to `tip` brings: the lines it has that the nearest checked state on
/// its first-parent line has not, nor any other checked state the unchecked commits grow from
/// (the upstream side of a merge: a combined diff, as on the client), and the unchecked commits
/// up to checked ones.
fn evaluate(
    repo: &Repo,
    settings: &Settings,
    tip: Oid,
    checked: &Checked<'_>,
) -> anyhow::Result<Evaluation> {
    let Some(tip) = repo.peel_to_commit(tip)? else {
        // `gate_code` refuses these first; never pass one silently.
        anyhow::bail!("{}", push::not_a_commit(repo, tip));
    };
    let (commits, base) = checked.history(tip)?;
    if base == Some(tip) {
        return Ok((Vec::new(), None, Stats::default(), Vec::new()));
    }
    // Each parent of an unchecked commit that is not itself unchecked is a checked state.
    let known = repo.known_parents(&commits, base)?;
    push::evaluate_known(repo, settings, tip, &commits, base, &known)
}

/// Which commits are checked states.
struct Checked<'a> {
    repo: &'a Repo,
    ledger: &'a Ledger,
}

impl Checked<'_> {
    /// The unchecked part of `tip`'s history and the nearest checked state on its first-parent
    /// line (see [`Repo::unchecked_history`]).
    fn history(&self, tip: Oid) -> anyhow::Result<(Vec<Oid>, Option<Oid>)> {
        // No ref reaches these: certainly not checked, and cheap to know (`--not --all`).
        let new: HashSet<Oid> = self
            .repo
            .new_commits(tip, &Known::AllRefs)?
            .into_iter()
            .collect();
        let baseline: Vec<Oid> = self.ledger.baseline.iter().copied().collect();
        // What `tip` reaches that predates the gate: walked only when a commit in between asks.
        let mut after_baseline: Option<HashSet<Oid>> = None;
        let found = self.repo.unchecked_history(tip, |id| {
            if self.ledger.checked.contains(&id) || self.ledger.baseline.contains(&id) {
                return Ok(true);
            }
            if new.contains(&id) {
                return Ok(false);
            }
            if after_baseline.is_none() {
                let walked = self.repo.commits_hiding(tip, &baseline)?;
                after_baseline = Some(walked.into_iter().collect());
            }
            Ok(after_baseline.as_ref().is_some_and(|s| !s.contains(&id)))
        })?;
        Ok(found)
    }
}

/// The approvals the pushed notes commit has that the notes ref's old value has not, each
/// attributed to `user`. A note that cannot be read brings none.
fn arriving_approvals(repo: &Repo, update: &RefUpdate, user: &str) -> Vec<Pushed> {
    let read = |commit: Oid| -> HashMap<Oid, String> {
        if commit.is_zero() {
            return HashMap::new();
        }
        repo.notes_of(commit)
            .unwrap_or_default()
            .into_iter()
            .collect()
    };
    let before = read(update.remote);
    let mut arriving = Vec::new();
    for (on, text) in read(update.local) {
        let old = before.get(&on);
        if old == Some(&text) {
            continue;
        }
        let mut had: Vec<Approval> = old.map_or_else(Vec::new, |t| approvals::parse(t, on));
        for approval in approvals::parse(&text, on) {
            match had.iter().position(|a| *a == approval) {
                Some(i) => {
                    had.remove(i);
                }
                None => arriving.push(Pushed {
                    on,
                    by: user.to_string(),
                    approval,
                }),
            }
        }
    }
    arriving
}
