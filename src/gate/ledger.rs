//! The server's ledger, `<git-common-dir>/gatehouse/ledger.jsonl`: what pre-receive has
//! checked and who pushed which approval, so that later pushes can tell a checked state from a
//! commit that merely sits somewhere in the history, and an owner's approval from a forgery.
//!
//! One JSON object a line, appended only:
//! - `{"kind":"start"}` and `{"kind":"baseline","commit":…}`: written by the first gated push,
//!   the commits every gated ref pointed at then. Those and their ancestors predate the gate and
//!   count as checked.
//! - `{"kind":"checked","commit":…}`: a tip a push brought and the gate accepted.
//! - `{"kind":"approval","on":…,"by":…,"approval":{…}}`: an approval that arrived in an accepted
//!   push of the notes, and the authenticated user who pushed it.

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;

use git2::Oid;
use serde::{Deserialize, Serialize};

use super::approvals::Approval;
use crate::git::Repo;

/// Errors of the ledger: it cannot be read or appended to.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("cannot read the gate's ledger {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot append to the gate's ledger {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// One line of the ledger.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Entry {
    Start {
        time: String,
    },
    Baseline {
        commit: String,
    },
    Checked {
        commit: String,
    },
    Approval {
        on: String,
        by: String,
        time: String,
        approval: Approval,
    },
}

/// An approval, the commit its note is on, and who pushed it.
#[derive(Debug, Clone)]
pub struct Pushed {
    pub on: Oid,
    pub by: String,
    pub approval: Approval,
}

/// The ledger as read.
#[derive(Debug, Default)]
pub struct Ledger {
    path: PathBuf,
    started: bool,
    pub baseline: HashSet<Oid>,
    pub checked: HashSet<Oid>,
    pub approvals: Vec<Pushed>,
}

impl Ledger {
    /// Reads the repository's ledger (none yet: an empty ledger without a baseline).
    pub fn open(repo: &Repo) -> Result<Ledger, LedgerError> {
        let path = repo.state_dir().join("ledger.jsonl");
        let mut ledger = Ledger {
            path,
            ..Ledger::default()
        };
        let text = match std::fs::read_to_string(&ledger.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ledger),
            Err(source) => {
                return Err(LedgerError::Read {
                    path: ledger.path,
                    source,
                });
            }
        };
        for (number, line) in text.lines().enumerate() {
            match serde_json::from_str::<Entry>(line) {
                Ok(entry) => ledger.take(entry),
                // A lost line only makes the gate stricter: a state or approval it no longer knows.
                Err(e) => eprintln!(
                    "gatehouse: ignoring line {} of {}: {e}",
                    number + 1,
                    ledger.path.display()
                ),
            }
        }
        Ok(ledger)
    }

    fn take(&mut self, entry: Entry) {
        let id = |hex: &str| Oid::from_str(hex).ok();
        match entry {
            Entry::Start { .. } => self.started = true,
            Entry::Baseline { commit } => self.baseline.extend(id(&commit)),
            Entry::Checked { commit } => self.checked.extend(id(&commit)),
            Entry::Approval {
                on, by, approval, ..
            } => {
                if let Some(on) = id(&on) {
                    self.approvals.push(Pushed { on, by, approval });
                }
            }
        }
    }

    /// Whether the first gated push has recorded the baseline.
    pub fn started(&self) -> bool {
        self.started
    }

    /// Records the baseline: the commits the gated refs point at before the gate's first push.
    pub fn start(&mut self, tips: impl IntoIterator<Item = Oid>) -> Result<(), LedgerError> {
        let mut entries = vec![Entry::Start {
            time: crate::store::now(),
        }];
        entries.extend(tips.into_iter().map(|c| Entry::Baseline {
            commit: c.to_string(),
        }));
        self.append(entries)
    }

    /// Appends entries (in one write, so that concurrent pushes do not interleave lines).
    pub fn append(&mut self, entries: Vec<Entry>) -> Result<(), LedgerError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut text = String::new();
        for entry in &entries {
            // Serialising these plain structs cannot fail.
            text.push_str(&serde_json::to_string(entry).unwrap_or_default());
            text.push('\n');
        }
        let write_error = |source| LedgerError::Write {
            path: self.path.clone(),
            source,
        };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(write_error)?;
        }
        std::fs::OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&self.path)
            .and_then(|mut file| {
                // A line cut short (a crash mid-write) must not swallow the next entry.
                if !ends_with_newline(&mut file)? {
                    text.insert(0, '\n');
                }
                file.write_all(text.as_bytes())
            })
            .map_err(write_error)?;
        for entry in entries {
            self.take(entry);
        }
        Ok(())
    }
}

/// Whether the file is empty or ends with a newline.
fn ends_with_newline(file: &mut std::fs::File) -> std::io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    if file.metadata()?.len() == 0 {
        return Ok(true);
    }
    file.seek(SeekFrom::End(-1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    Ok(last[0] == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_survive_a_reopen_and_a_bad_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        git2::Repository::init_bare(dir.path()).unwrap();
        let repo = Repo::open(dir.path()).unwrap();
        let mut ledger = Ledger::open(&repo).unwrap();
        assert!(!ledger.started());
        let a = Oid::from_str("1111111111111111111111111111111111111111").unwrap();
        let b = Oid::from_str("2222222222222222222222222222222222222222").unwrap();
        ledger.start([a]).unwrap();
        let path = repo.state_dir().join("ledger.jsonl");
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        file.write_all(b"{\"kind\":\"checked\",\"commit\"").unwrap();
        ledger
            .append(vec![Entry::Checked {
                commit: b.to_string(),
            }])
            .unwrap();
        let again = Ledger::open(&repo).unwrap();
        assert!(again.started());
        assert_eq!(again.baseline, HashSet::from([a]));
        assert_eq!(again.checked, HashSet::from([b]));
    }
}
