//! `gatehouse install` / `gatehouse uninstall`: the hook shims, in the hooks directory git
//! really uses (`core.hooksPath`, else `<git-common-dir>/hooks`).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::ExitStatus;
use crate::git::Repo;

/// The shim template, with `@VERSION@`, `@HOOK@`, `@GATEHOUSE@`, `@MISSING_EXIT@` and `@STDIN@`
/// to fill in.
const SHIM: &str = include_str!("../../hooks/shim.sh");
/// Marks a hook file as ours; the number is the shim's version.
const MARKER: &str = "# gatehouse hook shim, version ";
const VERSION: u32 = 1;

/// The client hooks: (name, gates — fails closed when the binary is missing, reads stdin).
const CLIENT_HOOKS: &[(&str, bool, bool)] = &[
    ("pre-push", true, true),
    ("pre-merge-commit", true, false),
    ("pre-commit", true, false),
    ("post-merge", false, false),
];
const SERVER_HOOKS: &[(&str, bool, bool)] = &[("pre-receive", true, true)];
/// The hint hooks that poke the daemon, installed when `[daemon] enabled = true` (post-merge is
/// a client hook already and pokes too). They never block git.
const HINT_HOOKS: &[(&str, bool, bool)] = &[
    ("post-commit", false, false),
    ("post-rewrite", false, false),
    ("post-checkout", false, false),
];

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Replace hooks even when an up-to-date shim is there, and a kept NAME.local.
    #[arg(long)]
    force: bool,
    /// Install the pre-receive hook of a shared bare repository.
    #[arg(long)]
    server: bool,
}

#[derive(Debug, clap::Args)]
pub struct UninstallArgs {}

pub fn run(args: &Args) -> anyhow::Result<ExitStatus> {
    let repo = Repo::open_from_env()?;
    install_hooks(&repo, args.server, args.force)
}

/// Installs the client hooks, or with `server` the pre-receive hook of a bare repository.
pub fn install_hooks(repo: &Repo, server: bool, force: bool) -> anyhow::Result<ExitStatus> {
    if server && repo.workdir().is_some() {
        bail!("--server is for a shared bare repository; this one has a working tree");
    }
    let mut hooks = if server { SERVER_HOOKS } else { CLIENT_HOOKS }.to_vec();
    if !server && crate::config::load_for(repo).is_ok_and(|s| s.daemon.enabled) {
        hooks.extend_from_slice(HINT_HOOKS);
    }
    let dir = hooks_dir(repo)?;
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let binary = std::env::current_exe().context("locating the gatehouse binary")?;
    for (name, gates, stdin) in &hooks {
        install_one(&dir, name, &shim(name, &binary, *gates, *stdin), force)?;
    }
    Ok(ExitStatus::Success)
}

pub fn uninstall(_args: &UninstallArgs) -> anyhow::Result<ExitStatus> {
    let repo = Repo::open_from_env()?;
    let dir = hooks_dir(&repo)?;
    for (name, _, _) in CLIENT_HOOKS.iter().chain(HINT_HOOKS).chain(SERVER_HOOKS) {
        let path = dir.join(name);
        if shim_version(&path).is_none() {
            continue;
        }
        std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        let kept = dir.join(format!("{name}.local"));
        if kept.exists() {
            std::fs::rename(&kept, &path)
                .with_context(|| format!("restoring {}", kept.display()))?;
            eprintln!("removed the {name} shim; restored the hook that was there before");
        } else {
            eprintln!("removed the {name} shim");
        }
    }
    Ok(ExitStatus::Success)
}

/// The state of each client hook: `installed`, `outdated` (an older shim), `foreign` (a hook
/// that is not ours) or `missing`; the hint hooks only when present.
pub fn hook_states(repo: &Repo) -> anyhow::Result<Vec<(&'static str, &'static str)>> {
    let dir = hooks_dir(repo)?;
    let mut states = Vec::new();
    for (name, _, _) in CLIENT_HOOKS.iter().chain(HINT_HOOKS) {
        let path = dir.join(name);
        let state = match shim_version(&path) {
            Some(v) if v >= VERSION => "installed",
            Some(_) => "outdated",
            None if path.exists() => "foreign",
            None => "missing",
        };
        let hint = HINT_HOOKS.iter().any(|(n, _, _)| n == name);
        if !(hint && state == "missing") {
            states.push((*name, state));
        }
    }
    Ok(states)
}

/// The hooks directory git uses: `core.hooksPath` (relative to the working tree root, as git
/// resolves it for hooks), else `<git-common-dir>/hooks`.
pub fn hooks_dir(repo: &Repo) -> anyhow::Result<PathBuf> {
    let config = repo.git2().config().context("reading git config")?;
    match config.get_string("core.hooksPath") {
        Ok(path) => {
            let path = expand_home(&path);
            let base = repo.workdir().unwrap_or_else(|| repo.git_dir());
            Ok(if path.is_absolute() {
                path
            } else {
                base.join(path)
            })
        }
        Err(_) => Ok(repo.common_dir().join("hooks")),
    }
}

fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest),
        _ => PathBuf::from(path),
    }
}

fn shim(name: &str, binary: &Path, gates: bool, stdin: bool) -> String {
    let quoted = binary.to_string_lossy().replace('\'', r"'\''");
    SHIM.replace("@HOOK@", name)
        .replace("@GATEHOUSE@", &quoted)
        .replace("@MISSING_EXIT@", if gates { "1" } else { "0" })
        .replace("@STDIN@", if stdin { "yes" } else { "no" })
        .replace("@VERSION@", &VERSION.to_string())
}

/// The shim version of a hook file of ours, `None` for a foreign hook or no file.
fn shim_version(path: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(path).ok()?;
    let rest = &text[text.find(MARKER)? + MARKER.len()..];
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

fn install_one(dir: &Path, name: &str, shim: &str, force: bool) -> anyhow::Result<()> {
    let path = dir.join(name);
    match shim_version(&path) {
        Some(version) if version >= VERSION && !force => {
            eprintln!("{name}: up to date");
            return Ok(());
        }
        Some(_) => {}
        None if path.exists() => {
            let kept = dir.join(format!("{name}.local"));
            if kept.exists() && !force {
                bail!(
                    "{} exists and so does {}; move one of them away (or use --force to replace the kept one)",
                    path.display(),
                    kept.display()
                );
            }
            std::fs::rename(&path, &kept)
                .with_context(|| format!("keeping {} as {}", path.display(), kept.display()))?;
            eprintln!("{name}: kept the existing hook as {name}.local; it still runs first");
        }
        None => {}
    }
    write_executable(&path, shim)?;
    eprintln!("{name}: installed");
    Ok(())
}

fn write_executable(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let tmp = path.with_extension("gatehouse-tmp");
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("making {} executable", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
