//! [`Level`]: what a finding does to a push or merge. It lives with the checks, which set it on
//! their findings; configuration re-exports it as `config::Level`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a finding does to a push or merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Not reported.
    Off,
    /// Reported; passes.
    Warn,
    /// Refused until an approval covers it.
    Review,
    /// Refused.
    Block,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Off => "off",
            Level::Warn => "warn",
            Level::Review => "review",
            Level::Block => "block",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
