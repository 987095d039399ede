//! The command line: the [`Cli`] definition and dispatch to one module per subcommand.

mod approve;
mod check;
mod daemon;
mod hook;
mod init;
mod install;
mod review;
mod rules;
mod runs;
mod status;
mod task;
mod task_here;

use clap::{Parser, Subcommand};

use crate::ExitStatus;

/// A local git gate for repositories where headless coding agents do part of the work.
#[derive(Debug, Parser)]
#[command(name = "gatehouse", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check files in the working tree, the index, or the changes of a range.
    Check(check::Args),
    /// The active rules and what each means.
    Rules(rules::Args),
    /// Write a commented .gatehouse/config.toml and install the hooks.
    Init(init::Args),
    /// Install the hook shims (pre-push, pre-merge-commit, pre-commit, post-merge).
    Install(install::Args),
    /// Remove gatehouse's hook shims, restoring hooks they had kept.
    Uninstall(install::UninstallArgs),
    /// Record an approval of the review findings a push of REV brings.
    Approve(approve::Args),
    /// The entry point the hook shims call.
    Hook(hook::Args),
    /// The background daemon that watches the repository and keeps the gate's cache warm.
    Daemon(daemon::Args),
    /// Daemon, hooks, queue and reviews at a glance.
    Status(status::Args),
    /// Agent tasks: list them, run one, trust one to run unattended, resume a paused kind.
    Task(task::Args),
    /// The runs of agent tasks: list, show, log, cancel.
    Runs(runs::Args),
    /// Review what agents did: list, show, accept (merge) or reject.
    Review(review::Args),
    /// Runs, success rate, duration, tokens and cost, per task kind, task or agent.
    Stats(runs::StatsArgs),
}

/// Runs the chosen subcommand.
pub fn dispatch(cli: Cli) -> anyhow::Result<ExitStatus> {
    match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Rules(args) => rules::run(&args),
        Command::Init(args) => init::run(&args),
        Command::Install(args) => install::run(&args),
        Command::Uninstall(args) => install::uninstall(&args),
        Command::Approve(args) => approve::run(&args),
        Command::Hook(args) => hook::run(&args),
        Command::Daemon(args) => daemon::run(&args),
        Command::Status(args) => status::run(&args),
        Command::Task(args) => task::run(&args),
        Command::Runs(args) => runs::run(&args),
        Command::Review(args) => review::run(&args),
        Command::Stats(args) => runs::stats(&args),
    }
}

/// The environment variables gatehouse reads, read in this one place.
pub mod env {
    use crate::git::{Identity, Repo};

    /// `GATEHOUSE_SKIP=1` skips a client hook (recorded).
    pub fn skip() -> bool {
        std::env::var_os("GATEHOUSE_SKIP").is_some_and(|v| !v.is_empty() && v != "0")
    }

    /// The user the hosting layer authenticated for a push to a server: `GL_USERNAME`
    /// (GitLab), else `GITOLITE_USER` (gitolite), else `REMOTE_USER` (a web server in front of
    /// `git http-backend`). The pusher cannot set these through git's protocols.
    pub fn authenticated_user() -> Option<String> {
        ["GL_USERNAME", "GITOLITE_USER", "REMOTE_USER"]
            .iter()
            .find_map(|key| std::env::var(key).ok().filter(|v| !v.trim().is_empty()))
    }

    /// `GIT_REFLOG_ACTION`, which git sets for hooks of a merge (`merge feature`, `pull`).
    pub fn reflog_action() -> Option<String> {
        std::env::var("GIT_REFLOG_ACTION").ok()
    }

    /// The user's git identity, as git's committer ident: `GIT_COMMITTER_NAME`/`EMAIL`, else
    /// `user.name`/`user.email`.
    pub fn identity(repo: &Repo) -> anyhow::Result<Identity> {
        let config = repo.git2().config()?;
        let pick = |env: &str, key: &str| {
            std::env::var(env)
                .ok()
                .filter(|v| !v.is_empty())
                .or_else(|| config.get_string(key).ok())
        };
        match (
            pick("GIT_COMMITTER_NAME", "user.name"),
            pick("GIT_COMMITTER_EMAIL", "user.email"),
        ) {
            (Some(name), Some(email)) => Ok(Identity { name, email }),
            _ => anyhow::bail!(
                "no git identity: set user.name and user.email (git config --global user.name …)"
            ),
        }
    }

    /// `XDG_RUNTIME_DIR`: where the daemon's socket goes when the repository path is too long.
    pub fn runtime_dir() -> Option<std::path::PathBuf> {
        std::env::var_os("XDG_RUNTIME_DIR")
            .filter(|v| !v.is_empty())
            .map(std::path::PathBuf::from)
    }

    /// Where per-user state outside any repository goes: `$XDG_STATE_HOME` when it is an absolute
    /// path (the XDG base directory rules ignore a relative one), else `$HOME/.local/state`.
    pub fn state_home() -> Option<std::path::PathBuf> {
        std::env::var_os("XDG_STATE_HOME")
            .map(std::path::PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| home().map(|h| h.join(".local").join("state")))
    }

    /// `HOME`: where service files go.
    pub fn home() -> Option<std::path::PathBuf> {
        std::env::var_os("HOME")
            .filter(|v| !v.is_empty())
            .map(std::path::PathBuf::from)
    }

    /// Git's repository-local variables (`git rev-parse --local-env-vars`), removed from the
    /// environment of a daemon started from inside a hook, so it finds its repository afresh.
    pub fn git_local_vars() -> &'static [&'static str] {
        &[
            "GIT_ALTERNATE_OBJECT_DIRECTORIES",
            "GIT_CONFIG",
            "GIT_CONFIG_PARAMETERS",
            "GIT_CONFIG_COUNT",
            "GIT_OBJECT_DIRECTORY",
            "GIT_DIR",
            "GIT_WORK_TREE",
            "GIT_IMPLICIT_WORK_TREE",
            "GIT_GRAFT_FILE",
            "GIT_INDEX_FILE",
            "GIT_NO_REPLACE_OBJECTS",
            "GIT_REPLACE_REF_BASE",
            "GIT_PREFIX",
            "GIT_SHALLOW_FILE",
            "GIT_COMMON_DIR",
        ]
    }

    /// `NO_COLOR` set to anything non-empty turns colour off (<https://no-color.org>).
    pub fn no_color() -> bool {
        std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
    }
}
