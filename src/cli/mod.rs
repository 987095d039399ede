//! The command line: the [`Cli`] definition and dispatch to one module per subcommand.

mod approve;
mod audit;
mod baseline;
mod check;
mod completions;
mod daemon;
mod doctor;
mod doctor_checks;
mod examples;
mod hook;
mod init;
mod install;
mod install_via;
mod log;
mod notes;
mod purge;
mod review;
mod review_show;
mod rules;
mod runs;
mod serve;
mod status;
mod task;
mod task_here;

use clap::{Parser, Subcommand};

use crate::ExitStatus;

/// A local git gate for repositories where headless coding agents do part of the work.
#[derive(Debug, Parser)]
#[command(
    name = "gatehouse",
    version,
    about,
    max_term_width = 100,
    after_long_help = examples::TOP
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check files in the working tree, the index, or the changes of a range.
    #[command(after_long_help = examples::CHECK)]
    Check(check::Args),
    /// The active rules and what each means.
    Rules(rules::Args),
    /// Write a commented .gatehouse/config.toml and install the hooks.
    Init(init::Args),
    /// Install the hook shims (pre-push, pre-merge-commit, pre-commit, post-merge).
    #[command(after_long_help = examples::INSTALL)]
    Install(install::Args),
    /// Remove gatehouse's hook shims, restoring hooks they had kept; with --purge, its state too.
    #[command(after_long_help = examples::UNINSTALL)]
    Uninstall(install::UninstallArgs),
    /// Record an approval of the review findings a push of REV brings.
    #[command(after_long_help = examples::APPROVE)]
    Approve(approve::Args),
    /// The entry point the hook shims call (internal: not for people, hidden from help).
    #[command(hide = true)]
    Hook(hook::Args),
    /// The background daemon that watches the repository and keeps the gate's cache warm.
    Daemon(daemon::Args),
    /// Daemon, hooks, queue and reviews at a glance.
    Status(status::Args),
    /// Will the gate run on the next push and merge? And which pushes skipped it.
    #[command(after_long_help = examples::DOCTOR)]
    Doctor(doctor::Args),
    /// Agent tasks: list them, run one, trust one to run unattended, resume a paused kind.
    #[command(after_long_help = examples::TASK)]
    Task(task::Args),
    /// The runs of agent tasks: list, show, log, cancel.
    Runs(runs::Args),
    /// Review what agents did: list, show, accept (merge) or reject.
    #[command(after_long_help = examples::REVIEW)]
    Review(review::Args),
    /// Runs, success rate, duration, tokens and cost, per task kind, task or agent.
    Stats(runs::StatsArgs),
    /// What happened at the gate, newest first: hook runs, skips, approvals, accepts, rejects.
    Log(log::Args),
    /// The agent-written code that reached a branch since the last audit: who approved it, its
    /// cost, and what today's rules find in its lines.
    #[command(after_long_help = examples::AUDIT)]
    Audit(audit::Args),
    /// Record today's findings in .gatehouse/baseline.json; whole-tree checks report only new ones.
    #[command(after_long_help = examples::BASELINE)]
    Baseline(baseline::Args),
    /// Print a completion script for SHELL (bash, zsh, fish, elvish, powershell) to stdout.
    Completions(completions::Args),
    /// Write the man pages (gatehouse.1 and one per subcommand) into DIR; install.sh calls it.
    #[command(hide = true)]
    Manpage(completions::ManpageArgs),
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
        Command::Doctor(args) => doctor::run(&args),
        Command::Task(args) => task::run(&args),
        Command::Runs(args) => runs::run(&args),
        Command::Review(args) => review::run(&args),
        Command::Stats(args) => runs::stats(&args),
        Command::Log(args) => log::run(&args),
        Command::Audit(args) => audit::run(&args),
        Command::Baseline(args) => baseline::run(&args),
        Command::Completions(args) => completions::run(&args),
        Command::Manpage(args) => completions::manpage(&args),
    }
}

/// The environment variables, read in one place below every command (`crate::env`).
pub use crate::env;
