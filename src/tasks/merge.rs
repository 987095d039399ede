//! Landing a review in the user's checkout: `git merge --ff` of its branch (so the user's merge
//! hooks run), undone when it fails, and refused first when a file it touches has uncommitted
//! changes. The approval the merge hooks need is recorded before the merge and withdrawn when
//! the merge fails, so a failed accept approves nothing.

use std::path::Path;
use std::process::Command;

use git2::Oid;

use super::review::ReviewError;
use crate::config::NOTES_REF;
use crate::gate::approvals::{self, Approval};
use crate::gate::approved;
use crate::git::{Identity, NotesAt, Repo};
use crate::store::runs::Run;

/// An approval recorded for a merge that has not happened yet.
pub(super) struct Tentative {
    /// The commit whose note holds it, and the approval.
    on: Oid,
    pub(super) approval: Approval,
    /// The notes ref before and after recording it.
    before: Option<Oid>,
    after: Option<Oid>,
}

/// Records `who`'s approval of `findings` as far as the agent's commits `agent` brought them,
/// on the first of them, before the merge that needs it.
pub(super) fn approve(
    repo: &Repo,
    agent: &[Oid],
    who: &Identity,
    why: &str,
    findings: &[crate::checks::Finding],
) -> Result<Option<Tentative>, ReviewError> {
    let Some(&on) = agent.first() else {
        return Ok(None);
    };
    if findings.is_empty() {
        return Ok(None);
    }
    let before = repo.git2().refname_to_id(NOTES_REF).ok();
    let named = approved::approved_commits(repo, agent)?;
    let approval =
        approvals::record_commits(repo, on, who, Some(why.into()), findings, named, false)?;
    let after = repo.git2().refname_to_id(NOTES_REF).ok();
    Ok(Some(Tentative {
        on,
        approval,
        before,
        after,
    }))
}

/// Takes back an approval whose merge failed: the notes ref goes back to where it was when
/// nothing was written to it since, else the approval alone leaves the note.
pub(super) fn withdraw(
    repo: &Repo,
    tentative: &Tentative,
    who: &Identity,
) -> Result<(), ReviewError> {
    let git = repo.git2();
    if let Some(now) = git.refname_to_id(NOTES_REF).ok()
        && Some(now) == tentative.after
    {
        let log = "gatehouse: withdraw the approval of a failed accept";
        match tentative.before {
            Some(before) => drop(git.reference_matching(NOTES_REF, before, true, now, log)?),
            None => git.find_reference(NOTES_REF)?.delete()?,
        }
        return Ok(());
    }
    let mut left = approvals::load(repo, NotesAt::Ref(NOTES_REF), tentative.on)?;
    left.retain(|a| a != &tentative.approval);
    if left.is_empty() {
        let sig = git2::Signature::now(&who.name, &who.email)?;
        git.note_delete(tentative.on, Some(NOTES_REF), &sig, &sig)?;
    } else {
        let note = approvals::Note { approvals: left };
        let text = serde_json::to_string_pretty(&note).unwrap_or_default();
        repo.write_note(NOTES_REF, tentative.on, &text, who)?;
    }
    Ok(())
}

/// `git merge --ff` of the review branch; a failed merge is aborted.
pub(super) fn merge(
    workdir: &Path,
    repo: &Repo,
    branch: &str,
    run: &Run,
) -> Result<(), ReviewError> {
    let subject = format!("Merge review of run {} ({})", run.id, run.task);
    let merged = git_in(
        workdir,
        &["merge", "--ff", "--no-edit", "-m", &subject, branch],
    )?;
    if merged.status.success() {
        return Ok(());
    }
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&merged.stdout),
        String::from_utf8_lossy(&merged.stderr)
    );
    let merging = repo.git2().path().join("MERGE_HEAD").exists();
    let aborted = !merging || git_in(workdir, &["merge", "--abort"])?.status.success();
    let branch = branch.to_string();
    Err(if aborted {
        ReviewError::MergeFailed { branch, output }
    } else {
        ReviewError::MergeStuck { branch, output }
    })
}

/// Refuses, changing nothing, when a file the merge touches has uncommitted changes.
pub(super) fn refuse_if_dirty(repo: &Repo, tip: Oid) -> Result<(), ReviewError> {
    let git = repo.git2();
    let head = git.head()?.peel_to_commit()?;
    let base = git.merge_base(head.id(), tip)?;
    let diff = git.diff_tree_to_tree(
        Some(&git.find_commit(base)?.tree()?),
        Some(&git.find_commit(tip)?.tree()?),
        None,
    )?;
    let touched: Vec<String> = diff
        .deltas()
        .flat_map(|d| [d.old_file().path(), d.new_file().path()])
        .flatten()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let mut options = git2::StatusOptions::new();
    options.include_untracked(true).recurse_untracked_dirs(true);
    let dirty: Vec<String> = git
        .statuses(Some(&mut options))?
        .iter()
        .filter_map(|e| e.path().ok().map(str::to_string))
        .filter(|p| touched.contains(p))
        .collect();
    if dirty.is_empty() {
        Ok(())
    } else {
        Err(ReviewError::Dirty(dirty))
    }
}

/// Runs the `git` CLI in `dir` with the hook's repository variables cleared.
fn git_in(dir: &Path, args: &[&str]) -> Result<std::process::Output, ReviewError> {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir).args(args);
    for var in crate::env::git_local_vars() {
        cmd.env_remove(var);
    }
    cmd.output().map_err(ReviewError::GitCommand)
}

#[cfg(test)]
mod tests {
    use git2::{Repository, Signature};

    use super::*;
    use crate::checks::Finding;

    fn finding() -> Finding {
        Finding::for_review("agent-commit", "unapproved", "a.txt")
    }

    fn person(name: &str) -> Identity {
        Identity {
            name: name.into(),
            email: format!("{}@example.com", name.to_lowercase()),
        }
    }

    #[test]
    fn a_withdrawn_approval_leaves_the_notes_as_they_were_or_takes_only_itself_out() {
        let dir = tempfile::tempdir().unwrap();
        let git = Repository::init(dir.path()).unwrap();
        let sig = Signature::now("T", "t@example.com").unwrap();
        let tree = git
            .find_tree(git.index().unwrap().write_tree().unwrap())
            .unwrap();
        let commit = git.commit(None, &sig, &sig, "c", &tree, &[]).unwrap();
        let repo = Repo::open(dir.path()).unwrap();
        let (alice, bob) = (person("Alice"), person("Bob"));
        let notes = || approvals::load(&repo, NotesAt::Ref(NOTES_REF), commit).unwrap();

        // Nothing written since: the notes ref goes back to where it was (here: none).
        let mine = approve(&repo, &[commit], &alice, "ok", &[finding()])
            .unwrap()
            .unwrap();
        withdraw(&repo, &mine, &alice).unwrap();
        assert!(
            git.refname_to_id(NOTES_REF).is_err(),
            "the notes ref is left"
        );

        // Bob's approval of the same commit came after: only Alice's leaves the note.
        let mine = approve(&repo, &[commit], &alice, "ok", &[finding()])
            .unwrap()
            .unwrap();
        let his = approvals::record(&repo, commit, &bob, None, &[finding()]).unwrap();
        withdraw(&repo, &mine, &alice).unwrap();
        assert_eq!(notes(), std::slice::from_ref(&his));

        // Bob's approval is there before: it stays exactly, and so does the notes ref.
        let before = git.refname_to_id(NOTES_REF).unwrap();
        let mine = approve(&repo, &[commit], &alice, "ok", &[finding()])
            .unwrap()
            .unwrap();
        assert_eq!(notes().len(), 2);
        withdraw(&repo, &mine, &alice).unwrap();
        assert_eq!(git.refname_to_id(NOTES_REF).unwrap(), before);
        assert_eq!(notes(), std::slice::from_ref(&his));

        // Alone on its commit, with a note on another commit written since: its note goes.
        let other = git.commit(None, &sig, &sig, "d", &tree, &[]).unwrap();
        let mine = approve(&repo, &[other], &alice, "ok", &[finding()])
            .unwrap()
            .unwrap();
        approvals::record(&repo, commit, &alice, None, &[finding()]).unwrap();
        withdraw(&repo, &mine, &alice).unwrap();
        assert_eq!(
            repo.read_note(NotesAt::Ref(NOTES_REF), other).unwrap(),
            None
        );
        assert_eq!(notes().len(), 2, "the later approval stays");
    }
}
