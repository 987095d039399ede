//! `gatehouse hook NAME [ARGS…]`: the entry point the hook shims call.

use std::io::IsTerminal;

use anyhow::bail;

use crate::ExitStatus;
use crate::config;
use crate::gate::{hooks, receive};
use crate::git::Repo;
use crate::store::Store;

/// No `--help` here: git passes the remote's name first, and a remote named `--help` must reach
/// the gate as a name, not print help and pass.
#[derive(Debug, clap::Args)]
#[command(disable_help_flag = true)]
pub struct Args {
    /// The hook: pre-push, pre-merge-commit, pre-commit, post-merge, pre-receive, or a hint hook
    /// (post-commit, post-rewrite, post-checkout).
    name: String,
    /// What git passed to the hook.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

pub fn run(args: &Args) -> anyhow::Result<ExitStatus> {
    let name = args.name.as_str();
    if matches!(name, "post-commit" | "post-rewrite" | "post-checkout") {
        poke_daemon(name);
        return Ok(ExitStatus::Success);
    }
    if !matches!(
        name,
        "pre-push" | "pre-merge-commit" | "pre-commit" | "post-merge" | "pre-receive"
    ) {
        bail!(
            "unknown hook `{name}`: expected pre-push, pre-merge-commit, pre-commit, post-merge or pre-receive"
        );
    }
    // Only ref-update hooks read stdin; a terminal on stdin means no ref lines at all.
    let reads_stdin = matches!(name, "pre-push" | "pre-receive");
    let lines = if reads_stdin && !std::io::stdin().is_terminal() {
        hooks::read_lines(std::io::stdin().lock())
    } else {
        Vec::new()
    };
    let repo = Repo::open_from_env()?;
    // The server's gate cannot be skipped; a client's can, and the skip is recorded.
    if super::env::skip() && name != "pre-receive" {
        return skip(&repo, name, &args.args, &lines);
    }
    let settings = config::load_for(&repo)?;
    match name {
        "pre-push" => Ok(hooks::pre_push(
            &repo,
            &settings,
            pushed_remote(&args.args),
            &lines,
        )),
        "pre-receive" => Ok(receive::pre_receive(
            &repo,
            &settings,
            &lines,
            super::env::authenticated_user().as_deref(),
        )),
        "post-merge" => {
            if settings.daemon.enabled {
                poke_daemon(name);
            }
            hooks::post_merge(&repo, &settings)
        }
        _ => hooks::merge_gate(
            &repo,
            &settings,
            name,
            super::env::reflog_action().as_deref(),
        ),
    }
}

/// pre-push's remote name. git always passes two arguments, the name then the URL; one means
/// the name was `--`, which the argument parser took for the end of options.
fn pushed_remote(args: &[String]) -> &str {
    match args {
        [name, _url, ..] => name,
        [_url] => "--",
        [] => "",
    }
}

/// Tells a running daemon that something changed. Never fails and never blocks git: no
/// repository, no daemon, or no answer within a few milliseconds is simply nothing to do.
fn poke_daemon(hook: &str) {
    let Ok(repo) = Repo::open_from_env() else {
        return;
    };
    let paths = super::daemon::paths(&repo);
    if !paths.socket.exists() {
        return;
    }
    let command = crate::daemon::protocol::Command::Poke {
        hook: Some(hook.to_string()),
    };
    let _ = crate::daemon::client::request_blocking(&paths.socket, command, POKE_LIMIT);
}

/// How long a hint hook waits for the daemon.
const POKE_LIMIT: std::time::Duration = std::time::Duration::from_millis(25);

fn skip(repo: &Repo, name: &str, args: &[String], lines: &[String]) -> anyhow::Result<ExitStatus> {
    let who = super::env::identity(repo).map_or_else(|_| "unknown".to_string(), |i| i.to_string());
    let detail = serde_json::json!({ "args": args, "refs": lines }).to_string();
    eprintln!(
        "gatehouse: GATEHOUSE_SKIP is set: the {name} gate is skipped, and this is recorded ({who})"
    );
    let store = Store::open(&repo.state_dir())?;
    store.record_bypass(&who, name, &detail)?;
    Ok(ExitStatus::Success)
}
