//! `gatehouse approve`: record a human's approval of the review findings a push of REV brings.

use anyhow::Context;
use git2::Oid;

use crate::ExitStatus;
use crate::checks::Finding;
use crate::config::{self, Level, NOTES_REF};
use crate::gate::approvals::{self, Approval};
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
        return list(&repo);
    }
    let settings = config::load_for(&repo)?;
    let rev = args.rev.as_deref().unwrap_or("HEAD");
    let commit = repo.resolve_commit(rev)?;
    let who = super::env::identity(&repo)?;
    let findings: Vec<Finding> = match &args.delete {
        Some(reference) => {
            let update = RefUpdate {
                local_ref: "(delete)".into(),
                local: Oid::ZERO_SHA1,
                remote_ref: reference.clone(),
                remote: commit,
            };
            push::gate_update(
                &repo,
                &settings,
                update,
                &Known::AllRemotes,
                NotesAt::Ref(NOTES_REF),
            )
            .findings
        }
        None => push::evaluate(&repo, &settings, commit, &Known::AllRemotes)?.3,
    };
    let review: Vec<Finding> = findings
        .into_iter()
        .filter(|f| f.level == Level::Review)
        .collect();
    let short = &commit.to_string()[..12];
    if review.is_empty() {
        eprintln!("nothing at {short} needs an approval");
        return Ok(ExitStatus::Success);
    }
    let approval = approvals::record(&repo, commit, &who, args.message.clone(), &review)
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
    eprintln!(
        "recorded {} approval(s) on {short} as {who}; share them with `git push <remote> {NOTES_REF}`",
        review.len()
    );
    Ok(ExitStatus::Success)
}

fn list(repo: &Repo) -> anyhow::Result<ExitStatus> {
    for commit in repo.noted_commits(NOTES_REF)? {
        for Approval {
            approver,
            email,
            time,
            message,
            covers,
        } in approvals::load(repo, NotesAt::Ref(NOTES_REF), commit)?
        {
            let why = message.map(|m| format!(": {m}")).unwrap_or_default();
            println!(
                "{} {time} {approver} <{email}>{why}",
                &commit.to_string()[..12]
            );
            for c in covers {
                println!("    {} [{}] {}", c.rule, c.code, c.path);
            }
        }
    }
    Ok(ExitStatus::Success)
}
