//! The command line: the [`Cli`] definition and dispatch to one module per subcommand.

mod check;
mod init;
mod rules;

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
    /// Write a commented .gatehouse/config.toml.
    Init(init::Args),
}

/// Runs the chosen subcommand.
pub fn dispatch(cli: Cli) -> anyhow::Result<ExitStatus> {
    match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Rules(args) => rules::run(&args),
        Command::Init(args) => init::run(&args),
    }
}

/// The environment variables gatehouse reads, read in this one place.
pub(crate) mod env {
    /// `NO_COLOR` set to anything non-empty turns colour off (<https://no-color.org>).
    pub fn no_color() -> bool {
        std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
    }
}
