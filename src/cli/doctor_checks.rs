//! What `gatehouse doctor` looks at, from git's point of view: the hooks directory git itself
//! resolves (worktrees and `core.hooksPath` included), every route from each gating hook to the
//! gate, the binary a shim or a manager would start (also from the short PATH a GUI client or
//! IDE gives hooks), variables that turn the gate off, and pushes that skipped it.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use super::install::{self, VERSION};
use crate::gate::managers::{self, GATING_HOOKS, Route};
use crate::gate::pushlog::{self, Ungated};
use crate::git::Repo;
use crate::store::Store;

/// The PATH macOS gives applications started from the Dock or Finder (launchd's default), and
/// close to what many IDEs and GUI git clients on Linux pass to hooks.
pub const GUI_PATH: &str = "/usr/bin:/bin:/usr/sbin:/sbin";

/// Everything doctor found.
#[derive(Debug, Default)]
pub struct Diagnosis {
    pub hooks_dir: PathBuf,
    pub hooks: Vec<Value>,
    /// The gate will not run (or not once) on the next push or merge, or pushes skipped it.
    pub problems: Vec<String>,
    /// Worth knowing; the gate still runs.
    pub warnings: Vec<String>,
    pub ungated: Vec<Ungated>,
    /// Whether the state database had no record of pushes yet (and one was started, if allowed).
    pub no_baseline: bool,
    /// The hooks whose shim would fall back to the PATH a GUI client gives (its binary is gone),
    /// with that binary; and the routes that start `gatehouse` by name where such a PATH has
    /// none. Each becomes one warning naming them all, not one per hook.
    gui_fallback: Vec<(String, Option<PathBuf>)>,
    gui_by_name: Vec<String>,
}

/// Looks at the repository; `record` allows starting the push record when there is none.
pub fn diagnose(repo: &Repo, record: bool) -> anyhow::Result<Diagnosis> {
    let mut d = Diagnosis {
        hooks_dir: git_hooks_dir(repo)?,
        ..Diagnosis::default()
    };
    let ours = install::hooks_dir(repo)?;
    if !same_dir(&ours, &d.hooks_dir) {
        d.warnings.push(format!(
            "git runs hooks from {}, but gatehouse would install into {}",
            d.hooks_dir.display(),
            ours.display()
        ));
    }
    let workdir = repo.workdir();
    for hook in GATING_HOOKS {
        check_hook(&mut d, workdir, hook);
    }
    gui_path_warnings(&mut d);
    for var in super::env::gate_off_vars() {
        d.problems.push(format!(
            "{var} is set in this environment: the gate is skipped while it is"
        ));
    }
    husky_init(&mut d);
    // Not the gate, but nothing else says it: the daemon silently skips a broken task file.
    for broken in workdir
        .map(crate::tasks::spec::problems)
        .unwrap_or_default()
    {
        d.problems.push(format!(
            "task file not loaded: {broken} (its task does not run, by hand or automatically)"
        ));
    }
    audit_pushes(repo, record, &mut d)?;
    Ok(d)
}

/// `git rev-parse --git-path hooks`: the directory git itself runs hooks from.
fn git_hooks_dir(repo: &Repo) -> anyhow::Result<PathBuf> {
    let cwd = repo.workdir().unwrap_or_else(|| repo.git_dir());
    let out = Command::new("git")
        .args(["rev-parse", "--path-format=absolute", "--git-path", "hooks"])
        .current_dir(cwd)
        .output()?;
    if !out.status.success() {
        anyhow::bail!(
            "git rev-parse --git-path hooks failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

fn same_dir(a: &Path, b: &Path) -> bool {
    let canon = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    canon(a) == canon(b)
}

fn check_hook(d: &mut Diagnosis, workdir: Option<&Path>, hook: &str) {
    let reach = managers::reach(&d.hooks_dir, workdir, hook);
    let when = match hook {
        "pre-push" => "on push",
        "pre-merge-commit" => "on merge",
        _ => "when a refused merge is finished with `git commit`",
    };
    let routes: Vec<String> = reach.routes.iter().map(|r| r.describe(hook)).collect();
    if let Some(broken) = &reach.broken {
        d.problems.push(format!("{hook}: {broken}"));
    } else if reach.runs == 0 {
        let why = match (reach.manager, managers::owner(&d.hooks_dir.join(hook))) {
            (Some(m), _) => format!("{} owns the hook and does not run gatehouse", m.name()),
            (None, Some(_)) => "the hook there is not gatehouse's and does not run it".into(),
            (None, None) => "no hook is installed".into(),
        };
        d.problems.push(format!(
            "{hook}: the gate does not run {when}: {why} (`gatehouse install`, or `gatehouse install --via MANAGER`)"
        ));
    } else if reach.runs > 1 {
        d.problems.push(format!(
            "{hook}: the gate runs {} times {when}: {}",
            reach.runs,
            routes.join(" and ")
        ));
    }
    for route in &reach.routes {
        check_route(d, workdir, hook, route);
    }
    if reach.routes.len() == 1
        && hook == "pre-push"
        && matches!(&reach.routes[0], Route::Config { manager, .. } if manager.runs_legacy())
    {
        d.warnings.push(
            "pre-push: pre-commit and prek tell their hooks only the first ref of a push; `gatehouse install` adds the shim as pre-push.legacy, which gates every ref (the config entry then stands aside)".into(),
        );
    }
    d.hooks.push(json!({
        "name": hook,
        "runs": reach.runs,
        "routes": routes,
        "manager": reach.manager.map(|m| m.name()),
    }));
}

fn check_route(d: &mut Diagnosis, workdir: Option<&Path>, hook: &str, route: &Route) {
    match route {
        Route::Shim { version } | Route::Legacy { version, .. } => {
            let file = match route {
                Route::Legacy { .. } => format!("{hook}.legacy"),
                _ => hook.to_string(),
            };
            if *version < VERSION {
                d.warnings.push(format!("{hook}: the shim is version {version}, this gatehouse writes {VERSION} (`gatehouse install`)"));
            } else if *version > VERSION {
                d.warnings.push(format!("{hook}: the shim (version {version}) is newer than this gatehouse binary ({VERSION}); upgrade the binary"));
            }
            let baked = shim_binary(&d.hooks_dir.join(&file));
            if baked.as_deref().is_some_and(is_executable) {
                return;
            }
            if find_in(&super::env::path(), None).is_none() {
                let at = baked.map_or_else(String::new, |b| format!(" at {}", b.display()));
                d.problems.push(format!(
                    "{hook}: the shim's gatehouse binary is missing{at} and none is on PATH: every {hook} fails (./install.sh, then `gatehouse install`)"
                ));
            } else if find_in(GUI_PATH, None).is_none() {
                d.gui_fallback.push((hook.to_string(), baked));
            }
        }
        Route::Config { .. } | Route::Script { .. } => {
            let extra = workdir.map(|w| w.join("node_modules").join(".bin"));
            if find_in(GUI_PATH, extra.as_deref()).is_none() {
                d.gui_by_name
                    .push(format!("{hook} through {}", route.describe(hook)));
            }
        }
    }
}

/// One warning for all the hooks a GUI client's short PATH breaks in the same way (the same
/// cause and the same fix, printed once rather than once per hook).
fn gui_path_warnings(d: &mut Diagnosis) {
    if !d.gui_fallback.is_empty() {
        let hooks: Vec<&str> = d.gui_fallback.iter().map(|(h, _)| h.as_str()).collect();
        let mut binaries: Vec<String> = d
            .gui_fallback
            .iter()
            .filter_map(|(_, b)| b.as_ref().map(|b| b.display().to_string()))
            .collect();
        binaries.sort();
        binaries.dedup();
        let at = if binaries.is_empty() {
            String::new()
        } else {
            format!(" at {}", binaries.join(", "))
        };
        d.warnings.push(format!(
            "{}: the gatehouse binary the shim{s} name is missing{at}; a shim then falls back to the PATH, where a GUI client or IDE ({GUI_PATH}) finds none (`gatehouse install` again)",
            hooks.join(", "),
            s = if hooks.len() == 1 { "" } else { "s" }
        ));
    }
    if !d.gui_by_name.is_empty() {
        d.warnings.push(format!(
            "{} start `gatehouse` by name, and it is not on the PATH a GUI client or IDE gives hooks ({GUI_PATH}): pushes and merges from such a client fail; link the binary into /usr/bin or /usr/local/bin{}",
            d.gui_by_name.join(", "),
            if cfg!(target_os = "macos") { "" } else { " (or set the client's PATH)" }
        ));
    }
}

/// The binary path a shim was written with (`gatehouse='…'`).
fn shim_binary(path: &Path) -> Option<PathBuf> {
    // Only a regular, bounded file (a hooks directory in the tree may hold a link to a device).
    let bytes =
        crate::config::read::read_regular(path, crate::config::read::MAX_CONFIG_SIZE).ok()??;
    let text = String::from_utf8_lossy(&bytes);
    let line = text.lines().find(|l| l.starts_with("gatehouse='"))?;
    let quoted = line.strip_prefix("gatehouse='")?.strip_suffix('\'')?;
    Some(PathBuf::from(quoted.replace(r"'\''", "'")))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `gatehouse` in one of the directories of `path` (and `extra`).
pub fn find_in(path: &str, extra: Option<&Path>) -> Option<PathBuf> {
    extra
        .into_iter()
        .map(Path::to_path_buf)
        .chain(path.split(':').filter(|d| !d.is_empty()).map(PathBuf::from))
        .map(|dir| dir.join("gatehouse"))
        .find(|candidate| is_executable(candidate))
}

/// husky sources `~/.config/husky/init.sh` before every hook; `HUSKY=0` or `GATEHOUSE_SKIP`
/// there turns the gate off for every push.
fn husky_init(d: &mut Diagnosis) {
    let base = super::env::config_home();
    let Some(init) = base.map(|b| b.join("husky").join("init.sh")) else {
        return;
    };
    let Ok(text) = std::fs::read_to_string(&init) else {
        return;
    };
    let off = text
        .lines()
        .map(str::trim)
        .any(|l| !l.starts_with('#') && (l.contains("HUSKY=0") || l.contains("GATEHOUSE_SKIP=")));
    if off {
        d.problems.push(format!(
            "{} sets HUSKY=0 or GATEHOUSE_SKIP: husky's hooks, and the gate in them, are skipped",
            init.display()
        ));
    }
}

fn audit_pushes(repo: &Repo, record: bool, d: &mut Diagnosis) -> anyhow::Result<()> {
    let store = Store::open(&repo.state_dir())?;
    match pushlog::audit(repo, &store)? {
        None => {
            d.no_baseline = true;
            if record {
                pushlog::record_baseline(repo, &store, false)?;
            }
        }
        Some(ungated) => {
            for push in &ungated {
                let what = format!(
                    "{} moved to {} by a push",
                    push.tracking_ref,
                    &push.new.to_string()[..12]
                );
                match &push.skipped_by {
                    Some(who) => d
                        .warnings
                        .push(format!("{what} skipped with GATEHOUSE_SKIP ({who})")),
                    None => d.problems.push(format!(
                        "{what} that did not pass the gate ({} commit{})",
                        push.commits.len(),
                        if push.commits.len() == 1 { "" } else { "s" }
                    )),
                }
            }
            d.ungated = ungated;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hooks_that_start_gatehouse_by_name_share_one_gui_path_warning() {
        let mut d = Diagnosis {
            gui_by_name: vec![
                "pre-push through lefthook (lefthook.yml)".into(),
                "pre-commit through lefthook (lefthook.yml)".into(),
            ],
            ..Diagnosis::default()
        };
        gui_path_warnings(&mut d);
        assert_eq!(d.warnings.len(), 1, "{:?}", d.warnings);
        assert!(
            d.warnings[0].starts_with(
                "pre-push through lefthook (lefthook.yml), pre-commit through lefthook (lefthook.yml) start `gatehouse` by name, and it is not on the PATH a GUI client"
            ),
            "{}",
            d.warnings[0]
        );
    }
}
