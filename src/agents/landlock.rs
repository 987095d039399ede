//! Landlock: the agent may read everywhere but write only under its worktree, its run directory,
//! its own temp dir (inside the run directory) and a few devices.
//!
//! Landlock restricts the calling thread and everything it then starts. The ruleset is therefore
//! applied on a short-lived thread that does nothing but spawn the agent and end, so gatehouse
//! itself stays unrestricted and nothing has to run between fork and exec. Best effort: on a
//! kernel without Landlock (or with an older ABI) the agent runs anyway, and the outcome says so.

use std::io;
use std::path::PathBuf;
use std::process::{Child, Command};

/// How far the agent's writes were confined.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", content = "reason", rename_all = "kebab-case")]
pub enum Confinement {
    /// Every requested restriction is enforced.
    Enforced,
    /// The kernel's Landlock ABI enforces only part of the rules (e.g. no truncate control).
    Partial,
    /// Not confined, and why.
    Unavailable(String),
}

impl Confinement {
    pub fn describe(&self) -> String {
        match self {
            Confinement::Enforced => "Landlock enforced: writes limited to the worktree, the run \
                                      directory and its temp dir"
                .into(),
            Confinement::Partial => "Landlock partly enforced (older kernel ABI): writes limited \
                                     to the worktree, the run directory and its temp dir"
                .into(),
            Confinement::Unavailable(why) => format!("not confined: {why}"),
        }
    }

    pub fn is_enforced(&self) -> bool {
        !matches!(self, Confinement::Unavailable(_))
    }
}

/// Spawns `command` under a ruleset that allows writes only beneath `writable`.
pub fn spawn_confined(
    command: &mut Command,
    writable: &[PathBuf],
) -> (io::Result<Child>, Confinement) {
    std::thread::scope(|scope| {
        let spawner = scope.spawn(|| {
            let confinement = restrict_this_thread(writable);
            (command.spawn(), confinement)
        });
        spawner.join().unwrap_or_else(|_| {
            (
                Err(io::Error::other("the spawning thread panicked")),
                Confinement::Unavailable("the spawning thread panicked".into()),
            )
        })
    })
}

#[cfg(target_os = "linux")]
fn restrict_this_thread(writable: &[PathBuf]) -> Confinement {
    use landlock::{
        ABI, Access, AccessFs, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus,
        path_beneath_rules,
    };
    let abi = ABI::V6;
    let attempt = || -> Result<_, landlock::RulesetError> {
        Ruleset::default()
            .handle_access(AccessFs::from_all(abi))?
            .create()?
            .add_rules(path_beneath_rules(["/"], AccessFs::from_read(abi)))?
            .add_rules(path_beneath_rules(writable, AccessFs::from_all(abi)))?
            .restrict_self()
    };
    match attempt() {
        Ok(status) => match status.ruleset {
            RulesetStatus::FullyEnforced => Confinement::Enforced,
            RulesetStatus::PartiallyEnforced => Confinement::Partial,
            RulesetStatus::NotEnforced => Confinement::Unavailable(
                "Landlock is not supported or not enabled by this kernel".into(),
            ),
        },
        Err(e) => Confinement::Unavailable(format!("the Landlock ruleset failed: {e}")),
    }
}

#[cfg(not(target_os = "linux"))]
fn restrict_this_thread(_writable: &[PathBuf]) -> Confinement {
    Confinement::Unavailable("Landlock exists on Linux only".into())
}
