//! Landlock: the agent may write only under its worktree, its run directory, its own temp dir
//! (inside the run directory) and a few devices, and read only what [`super::reads`] allows
//! (the system, its worktree, the repository's git data, the home's toolchains; not the rest of
//! the home). And a PID namespace, so that the agent's whole process tree ends with it.
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
                                      directory and its temp dir; reads to the system, the \
                                      worktree, the git data and the home's toolchains"
                .into(),
            Confinement::Partial => "Landlock partly enforced (older kernel ABI): writes limited \
                                     to the worktree, the run directory and its temp dir; reads \
                                     to the system, the worktree, the git data and the home's \
                                     toolchains"
                .into(),
            Confinement::Unavailable(why) => format!("not confined: {why}"),
        }
    }

    pub fn is_enforced(&self) -> bool {
        !matches!(self, Confinement::Unavailable(_))
    }
}

/// Spawns `command` under a ruleset that allows writes only beneath `writable` and reads only
/// beneath `readable` (and `writable`), as the first process of a PID namespace of its own
/// where the kernel allows one: when it ends, the kernel kills everything it left behind, even
/// processes that left its process group with `setsid` and dropped the run marker with `env -i`.
pub fn spawn_confined(
    command: &mut Command,
    writable: &[PathBuf],
    readable: &[PathBuf],
    network: super::Network,
) -> (io::Result<Child>, Confinement, bool) {
    std::thread::scope(|scope| {
        let spawner = scope.spawn(|| {
            if network == super::Network::Off && !own_network_namespace() {
                return (
                    Err(io::Error::other(
                        "network = \"off\" needs a network namespace, which needs CAP_SYS_ADMIN \
                         (root); the agent was not started",
                    )),
                    Confinement::Unavailable("not started".into()),
                    false,
                );
            }
            let namespaced = own_pid_namespace();
            let confinement = restrict_this_thread(writable, readable);
            (command.spawn(), confinement, namespaced)
        });
        spawner.join().unwrap_or_else(|_| {
            (
                Err(io::Error::other("the spawning thread panicked")),
                Confinement::Unavailable("the spawning thread panicked".into()),
                false,
            )
        })
    })
}

/// Whether Landlock confines what an agent started now writes (fully or in part): the kernel's
/// answer to a ruleset applied on a throwaway thread, asked once per process. Adapters whose
/// agent has a sandbox of its own that cannot run inside Landlock (codex) turn it off only then.
pub fn enforced_here() -> bool {
    static PROBE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *PROBE.get_or_init(|| {
        std::thread::spawn(|| restrict_this_thread(&[], &[]).is_enforced())
            .join()
            .unwrap_or(false)
    })
}

/// Makes the children this thread starts from now on the first process of a new PID
/// namespace. Needs CAP_SYS_ADMIN (root, or a user namespace of our own — which a threaded
/// process cannot enter); false where it is not allowed, and the process group, the subreaper
/// and the run marker are what end the agent's tree.
#[cfg(target_os = "linux")]
fn own_pid_namespace() -> bool {
    // SAFETY: unshare(CLONE_NEWPID) changes only the namespace this thread's future children
    // are created in; this thread exists only to spawn one child and end.
    unsafe { libc::unshare(libc::CLONE_NEWPID) == 0 }
}

#[cfg(not(target_os = "linux"))]
fn own_pid_namespace() -> bool {
    false
}

/// Moves this thread into a new network namespace (no interface up, not even loopback), which
/// the children it starts inherit. Needs CAP_SYS_ADMIN like the PID namespace.
#[cfg(target_os = "linux")]
fn own_network_namespace() -> bool {
    // SAFETY: unshare(CLONE_NEWNET) changes only this thread's network namespace; this thread
    // exists only to spawn one child and end.
    unsafe { libc::unshare(libc::CLONE_NEWNET) == 0 }
}

#[cfg(not(target_os = "linux"))]
fn own_network_namespace() -> bool {
    false
}

#[cfg(target_os = "linux")]
fn restrict_this_thread(writable: &[PathBuf], readable: &[PathBuf]) -> Confinement {
    use landlock::{
        ABI, Access, AccessFs, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope,
        path_beneath_rules,
    };
    let abi = ABI::V6;
    let attempt = || -> Result<_, landlock::RulesetError> {
        Ruleset::default()
            .handle_access(AccessFs::from_all(abi))?
            // No signals to processes outside the sandbox (the daemon, the user's shell) and no
            // abstract sockets created outside it.
            .scope(Scope::Signal | Scope::AbstractUnixSocket)?
            .create()?
            .add_rules(path_beneath_rules(readable, AccessFs::from_read(abi)))?
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
fn restrict_this_thread(_writable: &[PathBuf], _readable: &[PathBuf]) -> Confinement {
    Confinement::Unavailable("Landlock exists on Linux only".into())
}
