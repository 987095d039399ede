//! Approvals: notes under `refs/notes/gatehouse` on the approved commit, saying who approved
//! which review-level findings (rule, code, path), of which commits (by id and patch-id), and
//! when; and whose word the approver's identity is: on a client the note's own, on a server only
//! the authenticated pusher's. Which approvals cover a finding of a push is `approved`'s part.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::ledger::Pushed;
use crate::checks::Finding;
use crate::git::{self, Identity, NotesAt, Repo};

/// The note on one commit: every approval recorded on it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub approvals: Vec<Approval>,
}

/// One human's approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub approver: String,
    pub email: String,
    pub time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub covers: Vec<Covered>,
    /// The commits whose changes it approves. Empty in notes written before approvals named
    /// commits: such an approval counts only for the commit it is on, as a pushed tip.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commits: Vec<ApprovedCommit>,
    /// It also approves everything a push of the commit it is on brings (`gatehouse approve`
    /// REV); `review accept`'s approval is of the agent's commits only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub whole_push: bool,
}

/// A commit an approval covers: its id, and its patch-id (`git patch-id --stable`), by which a
/// rebased copy with the very same patch is recognised.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ApprovedCommit {
    pub commit: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch_id: Option<String>,
}

/// A finding an approval covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Covered {
    pub rule: String,
    pub code: String,
    pub path: String,
}

impl Covered {
    pub fn of(finding: &Finding) -> Covered {
        Covered {
            rule: finding.rule.to_string(),
            code: finding.code.clone(),
            path: finding.path.clone(),
        }
    }
}

impl Approval {
    /// Whether this approval covers `finding`, and its approver may approve it.
    pub fn covers(&self, finding: &Finding) -> bool {
        self.covers.contains(&Covered::of(finding)) && self.may_approve(&finding.owners)
    }

    /// Whether the approver is one of `owners` (anyone, when there are none).
    pub fn may_approve(&self, owners: &[String]) -> bool {
        owners.is_empty()
            || owners
                .iter()
                .any(|o| is_identity(o, &self.approver, &self.email))
    }
}

/// Whose word an approval's identity is.
#[derive(Debug, Clone, Copy)]
pub enum Trust<'a> {
    /// A client: the approver the note records (the user's own repository, own identity).
    Recorded,
    /// A server: a note's identity is whatever its pusher chose, so an owner's approval counts
    /// only when the owner, authenticated by the hosting layer, pushed it.
    Vouched(&'a Vouches),
}

/// What a server vouches for: which authenticated user pushed which approval, and the
/// addresses its git config gives those users (`gatehouse-user.<user>.email`, multi-valued).
#[derive(Debug, Default)]
pub struct Vouches {
    pushed: Vec<Pushed>,
    emails: HashMap<String, Vec<String>>,
}

impl Vouches {
    pub fn new(repo: &Repo, pushed: Vec<Pushed>) -> Vouches {
        let mut emails = HashMap::new();
        for p in &pushed {
            if !emails.contains_key(&p.by) {
                let key = format!("gatehouse-user.{}.email", p.by);
                emails.insert(p.by.clone(), repo.config_values(&key).unwrap_or_default());
            }
        }
        Vouches { pushed, emails }
    }

    /// The users who pushed this very approval on `on`.
    fn pushers(&self, on: git2::Oid, approval: &Approval) -> Vec<&str> {
        let mut users: Vec<&str> = self
            .pushed
            .iter()
            .filter(|p| p.on == on && p.approval == *approval)
            .map(|p| p.by.as_str())
            .collect();
        users.sort_unstable();
        users.dedup();
        users
    }

    /// Whether an `owners` entry names `user`: the user name itself, or an address the
    /// server's config gives the user (alone or as `Name <address>`).
    fn is_owner(&self, user: &str, owners: &[String]) -> bool {
        let emails = self.emails.get(user).map_or(&[][..], Vec::as_slice);
        owners.iter().any(|owner| {
            let owner = owner.trim();
            let address = owner
                .rsplit_once('<')
                .and_then(|(_, rest)| rest.strip_suffix('>'))
                .unwrap_or(owner)
                .trim();
            owner == user
                || emails
                    .iter()
                    .any(|e| e.trim().eq_ignore_ascii_case(address))
        })
    }
}

/// What an approval on `on` does for `finding`.
#[derive(Debug, PartialEq, Eq)]
pub enum Judgement {
    /// It covers the finding, and its approver may approve it.
    Counts,
    /// It covers the finding but does not count, and why.
    DoesNotCount(String),
    /// It is not about this finding.
    NotAbout,
}

/// Judges one approval of the note on `on` for `finding`.
pub fn judge(approval: &Approval, on: git2::Oid, finding: &Finding, trust: Trust<'_>) -> Judgement {
    if !approval.covers.contains(&Covered::of(finding)) {
        return Judgement::NotAbout;
    }
    let vouches = match trust {
        Trust::Vouched(vouches) if !finding.owners.is_empty() => vouches,
        _ if approval.may_approve(&finding.owners) => return Judgement::Counts,
        // A client says so when approving (`gatehouse approve`); the gate just does not count it.
        _ => return Judgement::NotAbout,
    };
    let by = vouches.pushers(on, approval);
    if by
        .iter()
        .any(|user| vouches.is_owner(user, &finding.owners))
    {
        return Judgement::Counts;
    }
    let who = format!(
        "the approval by {} <{}> on {} does not count on this server",
        approval.approver,
        approval.email,
        &on.to_string()[..12]
    );
    let rule = "an owner's approval counts only when the owner pushed it as the user the hosting \
                layer authenticated (GL_USERNAME, GITOLITE_USER or REMOTE_USER)";
    Judgement::DoesNotCount(if by.is_empty() {
        format!("{who}: no authenticated user pushed it, and {rule}")
    } else {
        format!(
            "{who}: it was pushed by {}, not by an owner of {} ({}); {rule}",
            by.join(", "),
            finding.path,
            finding.owners.join(", ")
        )
    })
}

/// Whether an `owners` entry names this person: by email, by name, or as `Name <email>`.
pub fn is_identity(owner: &str, name: &str, email: &str) -> bool {
    let owner = owner.trim();
    owner.eq_ignore_ascii_case(email) || owner == name || owner == format!("{name} <{email}>")
}

/// The approvals recorded on `commit`; an unreadable note counts as none, with a warning.
pub fn load(repo: &Repo, notes: NotesAt<'_>, commit: git2::Oid) -> git::Result<Vec<Approval>> {
    Ok(repo
        .read_note(notes, commit)?
        .map_or_else(Vec::new, |text| parse(&text, commit)))
}

/// The approvals of the note text on `commit`; an unreadable note counts as none, with a warning.
pub fn parse(text: &str, commit: git2::Oid) -> Vec<Approval> {
    match serde_json::from_str::<Note>(text) {
        Ok(note) => note.approvals,
        Err(e) => {
            eprintln!("gatehouse: ignoring the unreadable approval note on {commit}: {e}");
            Vec::new()
        }
    }
}

/// Adds an approval by `who` covering `findings` to the note on `commit`, for that commit as a
/// pushed tip (a deletion's approval; see [`record_commits`] for approving changes).
pub fn record(
    repo: &Repo,
    commit: git2::Oid,
    who: &Identity,
    message: Option<String>,
    findings: &[Finding],
) -> git::Result<Approval> {
    record_commits(repo, commit, who, message, findings, Vec::new(), true)
}

/// Adds an approval by `who` to the note on `on`: `findings` as far as `commits` brought them,
/// and, with `whole_push`, as far as a push of `on` brings them.
pub fn record_commits(
    repo: &Repo,
    on: git2::Oid,
    who: &Identity,
    message: Option<String>,
    findings: &[Finding],
    commits: Vec<ApprovedCommit>,
    whole_push: bool,
) -> git::Result<Approval> {
    let mut approvals = load(repo, NotesAt::Ref(crate::config::NOTES_REF), on)?;
    let mut covers: Vec<Covered> = Vec::new();
    for covered in findings.iter().map(Covered::of) {
        if !covers.contains(&covered) {
            covers.push(covered);
        }
    }
    let approval = Approval {
        approver: who.name.clone(),
        email: who.email.clone(),
        time: crate::store::now(),
        message,
        covers,
        commits,
        whole_push,
    };
    approvals.push(approval.clone());
    let text = serde_json::to_string_pretty(&Note { approvals }).unwrap_or_default();
    repo.write_note(crate::config::NOTES_REF, on, &text, who)?;
    Ok(approval)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_match_by_email_name_or_both() {
        assert!(is_identity(
            "alice@example.com",
            "Alice",
            "alice@example.com"
        ));
        assert!(is_identity(
            "Alice@Example.com",
            "Alice",
            "alice@example.com"
        ));
        assert!(is_identity("Alice", "Alice", "alice@example.com"));
        assert!(is_identity(
            "Alice <alice@example.com>",
            "Alice",
            "alice@example.com"
        ));
        assert!(!is_identity(
            "bob@example.com",
            "Alice",
            "alice@example.com"
        ));
    }
}

#[cfg(test)]
mod vouch_tests {
    use super::*;

    fn approval(email: &str) -> Approval {
        Approval {
            approver: "Alice".into(),
            email: email.into(),
            time: "2026-01-01T00:00:00Z".into(),
            message: None,
            covers: vec![Covered {
                rule: "sensitive-path".into(),
                code: "pay".into(),
                path: "pay/charge.txt".into(),
            }],
            commits: Vec::new(),
            whole_push: false,
        }
    }

    fn finding(owners: &[&str]) -> Finding {
        Finding {
            owners: owners.iter().map(|o| o.to_string()).collect(),
            ..Finding::for_review("sensitive-path", "pay", "pay/charge.txt")
        }
    }

    fn vouches(by: &[&str], on: git2::Oid, approval: &Approval) -> Vouches {
        Vouches {
            pushed: by
                .iter()
                .map(|user| Pushed {
                    on,
                    by: user.to_string(),
                    approval: approval.clone(),
                })
                .collect(),
            emails: HashMap::from([("alice".into(), vec!["alice@example.com".into()])]),
        }
    }

    #[test]
    fn a_client_trusts_the_note_a_server_only_the_pusher() {
        let on = git2::Oid::from_str("1111111111111111111111111111111111111111").unwrap();
        let forged = approval("alice@example.com");
        let owned = finding(&["alice@example.com"]);
        assert_eq!(
            judge(&forged, on, &owned, Trust::Recorded),
            Judgement::Counts
        );
        let none = Vouches::default();
        let Judgement::DoesNotCount(why) = judge(&forged, on, &owned, Trust::Vouched(&none)) else {
            panic!("an unvouched owner approval counted");
        };
        assert!(why.contains("no authenticated user pushed it"), "{why}");
        let bob = vouches(&["bob"], on, &forged);
        let Judgement::DoesNotCount(why) = judge(&forged, on, &owned, Trust::Vouched(&bob)) else {
            panic!("bob's push of alice's approval counted");
        };
        assert!(why.contains("pushed by bob"), "{why}");
        let alice = vouches(&["alice"], on, &forged);
        assert_eq!(
            judge(&forged, on, &owned, Trust::Vouched(&alice)),
            Judgement::Counts
        );
        // Another commit's note, or another approval, is not what alice pushed.
        let elsewhere = git2::Oid::from_str("2222222222222222222222222222222222222222").unwrap();
        assert_ne!(
            judge(&forged, elsewhere, &owned, Trust::Vouched(&alice)),
            Judgement::Counts
        );
        // Findings without owners take anyone's approval, on a server too.
        assert_eq!(
            judge(&forged, on, &finding(&[]), Trust::Vouched(&none)),
            Judgement::Counts
        );
    }

    #[test]
    fn owners_name_server_users_by_name_or_configured_address() {
        let v = vouches(&[], git2::Oid::ZERO_SHA1, &approval("x@y"));
        assert!(v.is_owner("alice", &["alice".into()]));
        assert!(v.is_owner("alice", &["ALICE@example.com".into()]));
        assert!(v.is_owner("alice", &["Alice A. <alice@example.com>".into()]));
        assert!(!v.is_owner("alice", &["Alice".into()]));
        assert!(!v.is_owner("bob", &["alice@example.com".into()]));
        assert!(!v.is_owner("bob", &["alice".into()]));
    }
}
