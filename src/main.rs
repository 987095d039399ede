//! The `gatehouse` binary: parse arguments, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = gatehouse::cli::Cli::parse();
    match gatehouse::run(cli) {
        Ok(status) => status.into(),
        Err(err) => {
            gatehouse::report_error(&err);
            gatehouse::ExitStatus::Error.into()
        }
    }
}
