//! Keeping approvals shared without anyone learning git notes: `install` adds the fetch refspec
//! of `refs/notes/gatehouse` to every remote, and commands that read or write approvals first
//! join what was fetched from teammates.

use crate::gate::notes_sync;
use crate::git::Repo;

/// Adds the approvals' fetch refspec to every remote (idempotent), saying so once per remote.
pub(super) fn share_approvals(repo: &Repo) {
    match notes_sync::add_fetch_refspecs(repo) {
        Ok(added) => {
            for remote in added {
                eprintln!(
                    "approvals: `git fetch {remote}` now also brings {remote}'s approvals ({})",
                    notes_sync::remote_notes_ref(&remote)
                );
            }
        }
        Err(e) => eprintln!("approvals: cannot add the fetch refspec for them: {e}"),
    }
}

/// Joins the approvals fetched from every remote into `refs/notes/gatehouse` (teammates'
/// approvals count, and the next push of the notes is a fast-forward); a failure only warns.
pub(super) fn join_fetched(repo: &Repo) {
    let Ok(who) = super::env::identity(repo) else {
        return;
    };
    match notes_sync::merge_fetched(repo, &who) {
        Ok(remotes) => {
            for remote in remotes {
                eprintln!("approvals: took in {remote}'s approvals");
            }
        }
        Err(e) => eprintln!("approvals: cannot join the fetched approvals: {e}"),
    }
}
