//! `gatehouse install` / `gatehouse uninstall`: the hook shims, in the hooks directory git
//! really uses (`core.hooksPath`, else `<git-common-dir>/hooks`), beside the hook managers
//! already there: never inside a directory another tool regenerates (husky's), as `NAME.legacy`
//! where pre-commit or prek own the hook (their migration mode runs it first, with every ref
//! line), and never wrapping a manager's script. `--via` is in `install_via`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::install_via::{self, Via};
use crate::ExitStatus;
use crate::gate::managers::{self, HooksDir, Manager, Owner};
use crate::git::Repo;

/// The shim template, with `@VERSION@`, `@HOOK@`, `@GATEHOUSE@`, `@MISSING_EXIT@` and `@STDIN@`
/// to fill in.
const SHIM: &str = include_str!("../../hooks/shim.sh");
/// Marks a hook file as ours; the number is the shim's version.
const MARKER: &str = managers::SHIM_MARKER;
pub(super) const VERSION: u32 = 1;

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
    #[arg(long, conflicts_with = "via")]
    server: bool,
    /// Let another hook manager run the gate: add gatehouse's entry to its config
    /// (.pre-commit-config.yaml, lefthook.yml, .husky/NAME); the diff is printed first.
    #[arg(long, value_enum)]
    via: Option<Via>,
    /// With --via: print the diff and write nothing.
    #[arg(long, requires = "via")]
    dry_run: bool,
}

#[derive(Debug, clap::Args)]
pub struct UninstallArgs {
    /// Also remove gatehouse's state for this repository: the state database, check cache, logs
    /// and task worktrees (refused while the daemon runs). Branches and notes are kept.
    #[arg(long)]
    purge: bool,
}

pub fn run(args: &Args) -> anyhow::Result<ExitStatus> {
    let repo = Repo::open_from_env()?;
    if let Some(via) = args.via {
        return install_via::run(&repo, via, args.dry_run);
    }
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
    if let HooksDir::Husky { scripts } = managers::hooks_dir_kind(&dir) {
        return install_via::husky_in_control(&dir, &scripts);
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let binary = std::env::current_exe().context("locating the gatehouse binary")?;
    let mut refused = Vec::new();
    for (name, gates, stdin) in &hooks {
        let shim = shim(name, &binary, *gates, *stdin);
        match managers::owner(&dir.join(name)) {
            Some(Owner::Manager(m)) if m.runs_legacy() => {
                install_legacy(&dir, name, m, &shim, force)?
            }
            Some(Owner::Manager(m)) => {
                let configured = repo
                    .workdir()
                    .and_then(|w| managers::configured(m, w, name));
                match configured {
                    Some(file) => {
                        eprintln!("{name}: {} runs the gate ({})", m.name(), file.display())
                    }
                    None if *gates => refused.push((m, *name)),
                    None => eprintln!(
                        "{name}: {} owns this hook; left alone (it only reports)",
                        m.name()
                    ),
                }
            }
            Some(Owner::Shim(_)) if repair_chain(&dir, name, &shim)? => {}
            _ => install_one(&dir, name, &shim, force)?,
        }
    }
    install_via::start_watching(repo);
    if !server {
        super::notes::share_approvals(repo);
    }
    if !refused.is_empty() {
        bail!("{}", install_via::refusal(&refused));
    }
    Ok(ExitStatus::Success)
}

/// pre-commit or prek owns the hook: the shim goes to `NAME.legacy`, which their migration mode
/// runs first with the hook's stdin; a hand-written legacy hook moves to `NAME.local`, which
/// the shim runs first in turn.
fn install_legacy(
    dir: &Path,
    name: &str,
    manager: Manager,
    shim: &str,
    force: bool,
) -> anyhow::Result<()> {
    let legacy_name = format!("{name}.legacy");
    let legacy = dir.join(&legacy_name);
    match managers::owner(&legacy) {
        Some(Owner::Shim(version)) if version >= VERSION && !force => {
            eprintln!(
                "{name}: up to date (as {legacy_name}, run by {})",
                manager.name()
            );
            return Ok(());
        }
        Some(Owner::Shim(_)) | None => {}
        Some(_) => {
            let kept = dir.join(format!("{name}.local"));
            if kept.exists() && !force {
                bail!(
                    "{} exists and so does {}; move one of them away (or use --force to replace the kept one)",
                    legacy.display(),
                    kept.display()
                );
            }
            std::fs::rename(&legacy, &kept)
                .with_context(|| format!("keeping {} as {}", legacy.display(), kept.display()))?;
            eprintln!(
                "{name}: kept the existing {legacy_name} as {name}.local; it still runs first"
            );
        }
    }
    write_executable(&legacy, shim)?;
    eprintln!(
        "{name}: {m} owns this hook: installed the shim as {legacy_name}, which {m}'s migration mode runs first with every ref line",
        m = manager.name()
    );
    Ok(())
}

/// An older gatehouse kept a pre-commit or prek script as `NAME.local` behind the shim; once that
/// tool moves the shim to `NAME.legacy` the two call each other and every run fails. Puts the
/// manager's script back and the shim in `NAME.legacy`. Returns whether it did.
fn repair_chain(dir: &Path, name: &str, shim: &str) -> anyhow::Result<bool> {
    let kept = dir.join(format!("{name}.local"));
    let Some(Owner::Manager(manager)) = managers::owner(&kept) else {
        return Ok(false);
    };
    if !manager.runs_legacy() {
        return Ok(false);
    }
    let path = dir.join(name);
    let legacy = dir.join(format!("{name}.legacy"));
    std::fs::rename(&kept, &path).with_context(|| format!("restoring {}", kept.display()))?;
    if legacy.exists() && !matches!(managers::owner(&legacy), Some(Owner::Shim(_))) {
        std::fs::rename(&legacy, &kept)
            .with_context(|| format!("keeping {} as {}", legacy.display(), kept.display()))?;
    }
    write_executable(&legacy, shim)?;
    eprintln!(
        "{name}: repaired: {m}'s script is the hook again and runs the shim as {name}.legacy (the two called each other before)",
        m = manager.name()
    );
    Ok(true)
}

pub fn uninstall(args: &UninstallArgs) -> anyhow::Result<ExitStatus> {
    let repo = Repo::open_from_env()?;
    if args.purge {
        super::purge::refuse_while_daemon_runs(&repo)?;
    }
    remove_shims(&repo)?;
    if args.purge {
        super::purge::purge(&repo)?;
    }
    Ok(ExitStatus::Success)
}

fn remove_shims(repo: &Repo) -> anyhow::Result<()> {
    let dir = hooks_dir(repo)?;
    for (name, _, _) in CLIENT_HOOKS.iter().chain(HINT_HOOKS).chain(SERVER_HOOKS) {
        let path = dir.join(name);
        let legacy = dir.join(format!("{name}.legacy"));
        if shim_version(&legacy).is_some() {
            // Under pre-commit's or prek's migration mode: the kept hook takes the shim's place.
            let kept = dir.join(format!("{name}.local"));
            if kept.exists() {
                std::fs::rename(&kept, &legacy)
                    .with_context(|| format!("restoring {}", kept.display()))?;
            } else {
                std::fs::remove_file(&legacy)
                    .with_context(|| format!("removing {}", legacy.display()))?;
            }
            eprintln!("removed the {name}.legacy shim");
        }
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
    Ok(())
}

/// How each client hook reaches the gate: `installed` (our shim), `via …` (the routes through
/// other managers, e.g. `via pre-commit (.pre-commit-config.yaml)`), `outdated` (an older shim),
/// `off (MANAGER in control)`, `foreign` (a hook that is not ours and does not run the gate),
/// `broken (…)`, or `missing`; the hint hooks only when present.
pub fn hook_states(repo: &Repo) -> anyhow::Result<Vec<(&'static str, String)>> {
    let dir = hooks_dir(repo)?;
    let mut states = Vec::new();
    for (name, _, _) in CLIENT_HOOKS.iter().chain(HINT_HOOKS) {
        let state = hook_state(&dir, repo.workdir(), name);
        let hint = HINT_HOOKS.iter().any(|(n, _, _)| n == name);
        if !(hint && state == "missing") {
            states.push((*name, state));
        }
    }
    Ok(states)
}

fn hook_state(dir: &Path, workdir: Option<&Path>, name: &str) -> String {
    let reach = managers::reach(dir, workdir, name);
    if reach.broken.is_some() {
        return "broken (the shim and a manager call each other; run `gatehouse install`)".into();
    }
    let outdated = reach.routes.iter().any(|r| {
        matches!(r, managers::Route::Shim { version } | managers::Route::Legacy { version, .. } if *version < VERSION)
    });
    match reach.routes.as_slice() {
        [] => match (reach.manager, managers::owner(&dir.join(name))) {
            (Some(m), _) => format!("off ({} in control)", m.name()),
            (None, Some(_)) => "foreign".into(),
            (None, None) => "missing".into(),
        },
        _ if outdated => "outdated".into(),
        [managers::Route::Shim { .. }] => "installed".into(),
        routes => {
            let all: Vec<String> = routes.iter().map(|r| r.describe(name)).collect();
            format!("via {}", all.join(" + "))
        }
    }
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
    // A hooks directory in the working tree (`core.hooksPath`, husky) may hold a committed
    // symlink to `/dev/zero`: only regular files, bounded, are read.
    let bytes =
        crate::config::read::read_regular(path, crate::config::read::MAX_CONFIG_SIZE).ok()??;
    let text = String::from_utf8_lossy(&bytes);
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
