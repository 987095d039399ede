//! gatehouse: a local git gate for repositories where headless coding agents do part of the work.

pub mod agents;
pub mod checks;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod engine;
pub mod gate;
pub mod git;
pub mod lang;
pub mod output;
pub mod pathmatch;
pub mod store;
pub mod tasks;
pub mod web;

use std::io::Write;

/// The outcome of a command, as the exit code every gatehouse command shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Passed; warnings allowed.
    Success = 0,
    /// Blocked by findings.
    Blocked = 1,
    /// Usage, configuration or internal error (a hook fails closed on it).
    Error = 2,
    /// Elevated review required and not yet approved.
    ReviewRequired = 3,
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(status: ExitStatus) -> Self {
        std::process::ExitCode::from(status as u8)
    }
}

/// Runs one command line.
pub fn run(cli: cli::Cli) -> anyhow::Result<ExitStatus> {
    cli::dispatch(cli)
}

/// Prints an error and its causes to stderr, like `error: …` then `caused by: …` lines.
pub fn report_error(err: &anyhow::Error) {
    let mut stderr = std::io::stderr().lock();
    // A config error renders its own excerpt; the chain would only repeat it.
    let _ = writeln!(stderr, "error: {err}");
    for cause in err.chain().skip(1) {
        let _ = writeln!(stderr, "caused by: {cause}");
    }
}
