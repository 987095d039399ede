//! The `gatehouse` binary: parse arguments, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = gatehouse::cli::Cli::parse();
    if prints_only(&cli.command) {
        // SAFETY: setting a signal's disposition to its default, before any thread is started.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    match gatehouse::run(cli) {
        Ok(status) => status.into(),
        Err(err) => {
            gatehouse::report_error(&err);
            gatehouse::ExitStatus::Error.into()
        }
    }
}

/// Commands that only print end quietly when their reader goes away (`gatehouse runs list |
/// head`), as git's do, instead of failing on the closed pipe. The others keep SIGPIPE ignored,
/// as Rust sets it: the daemon and the review page's server must outlive a client that hangs
/// up, a hook fails closed with its own message, and agents started by a task run inherit it
/// as it was.
fn prints_only(command: &gatehouse::cli::Command) -> bool {
    use gatehouse::cli::Command;
    matches!(
        command,
        Command::Rules(_)
            | Command::Status(_)
            | Command::Doctor(_)
            | Command::Runs(_)
            | Command::Stats(_)
            | Command::Log(_)
            | Command::Audit(_)
            | Command::Completions(_)
            | Command::Manpage(_)
    )
}
