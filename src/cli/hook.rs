//! `gatehouse hook NAME [ARGS…]`: the entry point the hook shims call.

use std::io::IsTerminal;

use anyhow::bail;

use crate::ExitStatus;
use crate::config;
use crate::gate::{hooks, managers, pushlog, receive};
use crate::git::Repo;
use crate::store::Store;

/// No `--help` flag after NAME: git passes the remote's name there, and a remote named `--help`
/// must reach the gate as a name, not print help and pass. In the place of NAME, which git always
/// fills with a hook's name, `--help` and `-h` print the help.
#[derive(Debug, clap::Args)]
#[command(disable_help_flag = true)]
pub struct Args {
    /// The hook: pre-push, pre-merge-commit, pre-commit, post-merge, pre-receive, or a hint hook
    /// (post-commit, post-rewrite, post-checkout).
    #[arg(allow_hyphen_values = true)]
    name: String,
    /// What git passed to the hook.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

pub fn run(args: &Args) -> anyhow::Result<ExitStatus> {
    let name = args.name.as_str();
    if matches!(name, "--help" | "-h") {
        // clap's own `help hook` renders it, usage line included.
        use clap::Parser;
        if let Err(help) = super::Cli::try_parse_from(["gatehouse", "help", "hook"]) {
            help.print()?;
        }
        return Ok(ExitStatus::Success);
    }
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
    let mut lines = if reads_stdin && !std::io::stdin().is_terminal() {
        hooks::read_lines(std::io::stdin().lock())
    } else {
        Vec::new()
    };
    let repo = Repo::open_from_env()?;
    if super::env::run_by_pre_commit() && legacy_shim_ran(&repo, name) {
        eprintln!(
            "gatehouse: {name}.legacy, the gatehouse shim, already gated this run with every ref line; this {name} entry stands aside"
        );
        return Ok(ExitStatus::Success);
    }
    let mut remote_arg = pushed_remote(&args.args).to_string();
    if name == "pre-push"
        && lines.is_empty()
        && let Some((remote, line)) = super::env::pre_commit_push()
    {
        remote_arg = remote;
        lines = vec![resolve_local(&repo, &line)];
    }
    // The server's gate cannot be skipped; a client's can, and the skip is recorded.
    if super::env::skip() && name != "pre-receive" {
        return skip(&repo, name, (&remote_arg, &args.args), &lines);
    }
    let settings = config::load_for(&repo)?;
    match name {
        "pre-push" => {
            let status = hooks::pre_push(&repo, &settings, &remote_arg, &lines);
            let recorded = Store::open(&repo.state_dir())
                .and_then(|store| pushlog::record_pre_push(&store, &remote_arg, &lines, status));
            if let Err(e) = recorded {
                eprintln!(
                    "gatehouse: cannot record this gate run ({e}); `gatehouse doctor` will count the push as ungated"
                );
            }
            Ok(status)
        }
        "pre-receive" => Ok(receive::pre_receive(
            &repo,
            &settings,
            &lines,
            super::env::authenticated_user().as_deref(),
        )),
        _ => {
            let action = super::env::reflog_action();
            let gated = pushlog::merge_hook_run(&repo, name, action.as_deref());
            let result = if name == "post-merge" {
                if settings.daemon.enabled {
                    poke_daemon(name);
                }
                hooks::post_merge(&repo, &settings)
            } else {
                hooks::merge_gate(&repo, &settings, name, action.as_deref())
            };
            if let Some(detail) = gated {
                let status = result.as_ref().ok().copied();
                let recorded = Store::open(&repo.state_dir())
                    .and_then(|store| pushlog::record_merge_hook(&store, detail, status));
                if let Err(e) = recorded {
                    eprintln!("gatehouse: cannot record this gate run ({e})");
                }
            }
            result
        }
    }
}

/// Our shim sits in `NAME.legacy` of the hooks directory, where pre-commit's or prek's migration
/// mode has run it (with every ref line) before the hooks of their config.
fn legacy_shim_ran(repo: &Repo, name: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let Ok(dir) = super::install::hooks_dir(repo) else {
        return false;
    };
    let legacy = dir.join(format!("{name}.legacy"));
    let executable = std::fs::metadata(&legacy).is_ok_and(|m| m.permissions().mode() & 0o111 != 0);
    executable && matches!(managers::owner(&legacy), Some(managers::Owner::Shim(_)))
}

/// A ref line built from pre-commit's variables names the local sha by ref when pre-commit gave
/// none; resolve it (a line that stays unreadable refuses the push).
fn resolve_local(repo: &Repo, line: &str) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        [local_ref, local, remote_ref, old] if git2::Oid::from_str(local).is_err() => {
            repo.resolve_commit(local).map_or_else(
                |_| line.to_string(),
                |id| format!("{local_ref} {id} {remote_ref} {old}"),
            )
        }
        _ => line.to_string(),
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

fn skip(
    repo: &Repo,
    name: &str,
    (remote, args): (&str, &[String]),
    lines: &[String],
) -> anyhow::Result<ExitStatus> {
    let who = super::env::identity(repo).map_or_else(|_| "unknown".to_string(), |i| i.to_string());
    let detail = serde_json::json!({ "args": args, "remote": remote, "refs": lines }).to_string();
    eprintln!(
        "gatehouse: GATEHOUSE_SKIP is set: the {name} gate is skipped, and this is recorded ({who})"
    );
    let store = Store::open(&repo.state_dir())?;
    store.record_bypass(&who, name, &detail)?;
    Ok(ExitStatus::Success)
}
