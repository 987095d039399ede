//! `gatehouse approve`: record a human's approval of the review findings a push of REV brings.

use anyhow::Context;
use git2::Oid;

use crate::ExitStatus;
use crate::checks::Finding;
use crate::config::{self, Level, NOTES_REF};
use crate::gate::approvals::{self, Approval};
use crate::gate::approved;
use crate::gate::push::{self, RefUpdate};
use crate::git::{Known, NotesAt, Repo};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The commit to approve (default HEAD): the tip that will be pushed or merged.
    rev: Option<String>,
    /// Why it is fine, kept with the approval.
    #[arg(long, short)]
    message: Option<String>,
    /// List the recorded approvals instead.
    #[arg(long, conflicts_with_all = ["rev", "message", "delete"])]
    list: bool,
    /// Approve deleting this remote ref (e.g. refs/heads/release/1.0); REV is the commit it points at.
    #[arg(long, value_name = "REF")]
    delete: Option<String>,
}

pub fn run(args: &Args) -> anyhow::Result<ExitStatus> {
    let repo = Repo::open_from_env()?;
    if args.list {
        super::notes::join_fetched(&repo);
        return list(&repo);
    }
    super::notes::join_fetched(&repo);
    let settings = config::load_for(&repo)?;
    let rev = args.rev.as_deref().unwrap_or("HEAD");
    let commit = repo.resolve_commit(rev)?;
    let who = super::env::identity(&repo)?;
    let (brought, findings): (Vec<Oid>, Vec<Finding>) = match &args.delete {
        Some(reference) => {
            let update = RefUpdate {
                local_ref: "(delete)".into(),
                local: Oid::ZERO_SHA1,
                remote_ref: reference.clone(),
                remote: commit,
            };
            let gated = push::gate_update(
                &repo,
                &settings,
                update,
                &Known::AllRemotes,
                NotesAt::Ref(NOTES_REF),
            );
            (Vec::new(), gated.findings)
        }
        None => {
            let (brought, _, _, findings) =
                push::evaluate(&repo, &settings, commit, &Known::AllRemotes)?;
            (brought, findings)
        }
    };
    let short = &commit.to_string()[..12];
    if refuse_blocked(short, &findings) {
        return Ok(ExitStatus::Blocked);
    }
    let review: Vec<Finding> = findings
        .into_iter()
        .filter(|f| f.level == Level::Review)
        .collect();
    if review.is_empty() {
        eprintln!("nothing at {short} needs an approval");
        return Ok(ExitStatus::Success);
    }
    // A push's approval names the commits it approves, so it still counts after unrelated
    // commits on top, and for a rebased copy with the same patch; a deletion's is the tip's.
    let approval = if args.delete.is_some() {
        approvals::record(&repo, commit, &who, args.message.clone(), &review)
    } else {
        let named = approved::approved_commits(&repo, &brought)?;
        approvals::record_commits(
            &repo,
            commit,
            &who,
            args.message.clone(),
            &review,
            named,
            true,
        )
    }
    .context("recording the approval")?;
    for finding in &review {
        let note = if approval.may_approve(&finding.owners) {
            ""
        } else {
            "  (not counted: you are not an owner)"
        };
        eprintln!(
            "approved {} [{}] {}{note}",
            finding.rule, finding.code, finding.path
        );
    }
    let commits = if brought.is_empty() {
        String::new()
    } else {
        format!(
            " for {} commit{}",
            brought.len(),
            if brought.len() == 1 { "" } else { "s" }
        )
    };
    eprintln!(
        "recorded {} approval(s) on {short}{commits} as {who}; share them with `git push <remote> {NOTES_REF}`",
        review.len()
    );
    Ok(ExitStatus::Success)
}

/// An approval lets review findings through, never blocking ones: with any, says so loudly and
/// approves nothing.
fn refuse_blocked(short: &str, findings: &[Finding]) -> bool {
    let blocking: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.level == Level::Block)
        .collect();
    if blocking.is_empty() {
        return false;
    }
    eprintln!(
        "gatehouse: {short} is BLOCKED ({} blocking finding{}), not just held for review:",
        blocking.len(),
        if blocking.len() == 1 { "" } else { "s" }
    );
    for f in &blocking {
        eprintln!(
            "  {}:{}:{}: {} [{}] {}",
            f.path, f.line, f.column, f.rule, f.code, f.message
        );
    }
    eprintln!(
        "gatehouse: nothing was approved: an approval lets review findings through, never \
         blocking ones; fix them (or suppress one with a `gatehouse: ignore[rule]` comment) and \
         approve again"
    );
    true
}

fn list(repo: &Repo) -> anyhow::Result<ExitStatus> {
    for commit in repo.noted_commits(NOTES_REF)? {
        for Approval {
            approver,
            email,
            time,
            message,
            covers,
            commits,
            ..
        } in approvals::load(repo, NotesAt::Ref(NOTES_REF), commit)?
        {
            let why = message.map(|m| format!(": {m}")).unwrap_or_default();
            println!(
                "{} {time} {approver} <{email}>{why}",
                &commit.to_string()[..12]
            );
            if !commits.is_empty() {
                let ids: Vec<&str> = commits
                    .iter()
                    .map(|c| c.commit.get(..12).unwrap_or(&c.commit))
                    .collect();
                println!("    commits {}", ids.join(" "));
            }
            for c in covers {
                println!("    {} [{}] {}", c.rule, c.code, c.path);
            }
        }
    }
    Ok(ExitStatus::Success)
}
