//! `gatehouse completions SHELL` (shell completion scripts, clap_complete) and the hidden
//! `gatehouse manpage DIR` (man pages, clap_mangen) that `install.sh` calls: both generated from
//! the same [`Cli`](super::Cli) definition, so they never drift from `--help`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Command, CommandFactory};
use clap_complete::Shell;

use crate::ExitStatus;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell: bash, zsh, fish, elvish or powershell.
    #[arg(value_enum)]
    shell: Shell,
}

#[derive(Debug, clap::Args)]
pub struct ManpageArgs {
    /// The directory to write gatehouse.1 and one page per subcommand (gatehouse-check.1, …) into;
    /// created when missing.
    #[arg(default_value = ".")]
    dir: PathBuf,
}

pub fn run(args: &Args) -> anyhow::Result<ExitStatus> {
    let mut command = without_hidden(&super::Cli::command());
    clap_complete::generate(
        args.shell,
        &mut command,
        "gatehouse",
        &mut std::io::stdout(),
    );
    Ok(ExitStatus::Success)
}

/// `command` without its hidden subcommands (`hook`, `manpage`, `daemon watchdog`), which
/// clap_complete would otherwise offer: rebuilt with what completion uses (name, help, version,
/// arguments, visible aliases), since clap cannot remove a subcommand.
fn without_hidden(command: &Command) -> Command {
    let subcommands = command
        .get_subcommands()
        .filter(|sub| !sub.is_hide_set())
        .map(without_hidden);
    let mut rebuilt = Command::new(command.get_name().to_string())
        .args(command.get_arguments().cloned())
        .subcommands(subcommands)
        .visible_aliases(command.get_visible_aliases().map(str::to_string))
        .subcommand_required(command.is_subcommand_required_set())
        .disable_help_flag(command.is_disable_help_flag_set());
    if let Some(about) = command.get_about() {
        rebuilt = rebuilt.about(about.clone());
    }
    if let Some(version) = command.get_version() {
        rebuilt = rebuilt.version(version.to_string());
    }
    rebuilt
}

pub fn manpage(args: &ManpageArgs) -> anyhow::Result<ExitStatus> {
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("creating {}", args.dir.display()))?;
    let mut command = super::Cli::command().disable_help_subcommand(true);
    command.build();
    let mut pages = Vec::new();
    write_pages(command, &args.dir, &mut pages)
        .with_context(|| format!("writing the man pages into {}", args.dir.display()))?;
    eprintln!(
        "wrote {} man pages into {} (gatehouse.1 and one per subcommand)",
        pages.len(),
        args.dir.display()
    );
    Ok(ExitStatus::Success)
}

/// Writes the page of `command` and, recursively, of each subcommand not hidden from help
/// (as `clap_mangen::generate_to` does), with the "Examples:" block of `--help` as an EXAMPLES
/// section kept line for line (clap_mangen would refill it into one paragraph).
fn write_pages(command: Command, dir: &Path, pages: &mut Vec<String>) -> std::io::Result<()> {
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub.clone(), dir, pages)?;
    }
    let examples = command.get_after_long_help().map(ToString::to_string);
    let man = clap_mangen::Man::new(command.after_long_help(None::<&str>));
    let mut page = Vec::new();
    man.render(&mut page)?;
    if let Some(examples) = examples {
        page.extend_from_slice(examples_section(&examples).as_bytes());
    }
    let name = man.get_filename();
    std::fs::write(dir.join(&name), page)?;
    pages.push(name);
    Ok(())
}

/// `text` as a roff section shown as it is written (no filling), each line escaped so that
/// none is read as a request.
fn examples_section(text: &str) -> String {
    let mut roff = String::from(".SH EXAMPLES\n.nf\n");
    for line in text.lines().filter(|l| *l != "Examples:") {
        roff.push_str("\\&");
        roff.push_str(&line.replace('\\', "\\e").replace('-', "\\-"));
        roff.push('\n');
    }
    roff.push_str(".fi\n");
    roff
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_are_kept_line_for_line_and_cannot_be_read_as_requests() {
        let roff = examples_section("Examples:\n.x first -a\n'y \\ second");
        assert_eq!(
            roff,
            ".SH EXAMPLES\n.nf\n\\&.x first \\-a\n\\&'y \\e second\n.fi\n"
        );
    }
}
