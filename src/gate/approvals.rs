//! Approvals: notes under `refs/notes/gatehouse` on the approved commit, saying who approved
//! which review-level findings (rule, code, path) and when.

use serde::{Deserialize, Serialize};

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

/// Whether an `owners` entry names this person: by email, by name, or as `Name <email>`.
pub fn is_identity(owner: &str, name: &str, email: &str) -> bool {
    let owner = owner.trim();
    owner.eq_ignore_ascii_case(email) || owner == name || owner == format!("{name} <{email}>")
}

/// The approvals recorded on `commit`; an unreadable note counts as none, with a warning.
pub fn load(repo: &Repo, notes: NotesAt<'_>, commit: git2::Oid) -> git::Result<Vec<Approval>> {
    let Some(text) = repo.read_note(notes, commit)? else {
        return Ok(Vec::new());
    };
    match serde_json::from_str::<Note>(&text) {
        Ok(note) => Ok(note.approvals),
        Err(e) => {
            eprintln!("gatehouse: ignoring the unreadable approval note on {commit}: {e}");
            Ok(Vec::new())
        }
    }
}

/// Adds an approval by `who` covering `findings` to the note on `commit`.
pub fn record(
    repo: &Repo,
    commit: git2::Oid,
    who: &Identity,
    message: Option<String>,
    findings: &[Finding],
) -> git::Result<Approval> {
    let mut approvals = load(repo, NotesAt::Ref(crate::config::NOTES_REF), commit)?;
    let approval = Approval {
        approver: who.name.clone(),
        email: who.email.clone(),
        time: crate::store::now(),
        message,
        covers: findings.iter().map(Covered::of).collect(),
    };
    approvals.push(approval.clone());
    let text = serde_json::to_string_pretty(&Note { approvals }).unwrap_or_default();
    repo.write_note(crate::config::NOTES_REF, commit, &text, who)?;
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
