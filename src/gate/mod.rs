//! From findings to a verdict: what a push, merge or check is allowed to do, with the approvals
//! that let review findings through and the hook entry points.

pub mod approvals;
pub mod approved;
pub mod hooks;
pub mod ledger;
pub mod manager_edit;
pub mod managers;
pub mod notes_sync;
pub mod push;
pub mod pushlog;
pub mod receive;
pub mod refs;

use serde::Serialize;

use crate::ExitStatus;
use crate::checks::Finding;
use crate::config::Level;

/// The outcome of a set of findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Warn,
    Review,
    Block,
}

impl Verdict {
    /// The verdict of these findings: the most severe level among them.
    pub fn of(findings: &[Finding]) -> Verdict {
        findings
            .iter()
            .map(|f| Verdict::from_level(f.level))
            .max()
            .unwrap_or(Verdict::Pass)
    }

    fn from_level(level: Level) -> Verdict {
        match level {
            Level::Off => Verdict::Pass,
            Level::Warn => Verdict::Warn,
            Level::Review => Verdict::Review,
            Level::Block => Verdict::Block,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Warn => "warn",
            Verdict::Review => "review",
            Verdict::Block => "block",
        }
    }

    /// The exit status every command shares: 0 pass/warn, 1 block, 3 review.
    pub fn exit_status(self) -> ExitStatus {
        match self {
            Verdict::Pass | Verdict::Warn => ExitStatus::Success,
            Verdict::Review => ExitStatus::ReviewRequired,
            Verdict::Block => ExitStatus::Blocked,
        }
    }
}
