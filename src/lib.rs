//! gatehouse: a local git gate for repositories where headless coding agents do part of the work.

pub mod agents;
pub mod baseline;
pub mod checks;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod engine;
pub mod env;
pub mod gate;
pub mod git;
pub mod lang;
#[cfg(test)]
mod layering;
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
    let mut lines = error_lines(err.as_ref()).into_iter();
    let _ = writeln!(stderr, "error: {}", lines.next().unwrap_or_default());
    for cause in lines {
        let _ = writeln!(stderr, "caused by: {cause}");
    }
}

/// An error and its causes on one line, `a: b: c` like `{:#}`, in the plain words of
/// [`error_lines`].
pub fn plain_error(err: &(dyn std::error::Error + 'static)) -> String {
    error_lines(err).join(": ")
}

/// An error and its causes, one per line, in plain words: libgit2's `; class=…; code=…` suffix
/// is dropped (its message is kept), and a cause is left out when the line before already
/// quotes it.
pub fn error_lines(err: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(cause) = next {
        next = cause.source();
        let text = match cause.downcast_ref::<git2::Error>() {
            Some(git) => git.message().to_string(),
            None => without_libgit2_codes(&cause.to_string()),
        };
        let quoted = lines.last().is_some_and(|last| last.contains(text.trim()));
        if !quoted && !text.trim().is_empty() {
            lines.push(text);
        }
    }
    lines
}

/// `text` without the `; class=Reference (4); code=NotFound (-3)` that libgit2's errors append
/// to their message (a git2 error turned into a string on the way keeps it).
fn without_libgit2_codes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("; class=") {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        // The suffix ends at the `)` closing the code's number, else at the class's.
        let end = after
            .find("; code=")
            .and_then(|c| after[c..].find(')').map(|p| c + p + 1))
            .or_else(|| after.find(')').map(|p| p + 1))
            .unwrap_or(after.len());
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libgit2_class_and_code_never_reach_the_user() {
        let git = git2::Error::new(
            git2::ErrorCode::NotFound,
            git2::ErrorClass::Reference,
            "revspec 'nope' not found",
        );
        assert!(git.to_string().contains("class="), "{git}");
        let err =
            anyhow::Error::new(git).context("cannot resolve `nope`: revspec 'nope' not found");
        assert_eq!(
            error_lines(err.as_ref()),
            ["cannot resolve `nope`: revspec 'nope' not found"]
        );
        let git = git2::Error::new(
            git2::ErrorCode::NotFound,
            git2::ErrorClass::Repository,
            "could not find repository at '.'",
        );
        let err = anyhow::Error::new(git).context("not inside a git repository");
        assert_eq!(
            plain_error(err.as_ref()),
            "not inside a git repository: could not find repository at '.'"
        );
        let stringly = anyhow::anyhow!(
            "reading notes: object not found; class=Odb (9); code=NotFound (-3): giving up"
        );
        assert_eq!(
            plain_error(stringly.as_ref()),
            "reading notes: object not found: giving up"
        );
    }
}
