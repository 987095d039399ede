//! `gatehouse install --via pre-commit|prek|lefthook|husky`: the gate through another hook
//! manager's own config, the diff printed before anything is written; and the messages that
//! refuse a plain install where a manager that would drop the shim is in control.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};

use crate::ExitStatus;
use crate::gate::manager_edit::{self, Edit};
use crate::gate::managers::{self, GATING_HOOKS, HooksDir, Manager, Owner};
use crate::gate::pushlog;
use crate::git::Repo;
use crate::store::Store;

/// The managers `--via` can integrate with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Via {
    PreCommit,
    Prek,
    Lefthook,
    Husky,
}

impl Via {
    fn manager(self) -> Manager {
        match self {
            Via::PreCommit => Manager::PreCommit,
            Via::Prek => Manager::Prek,
            Via::Lefthook => Manager::Lefthook,
            Via::Husky => Manager::Husky,
        }
    }
}

/// Adds the gate's entries to the manager's config, printing the diff first (stdout).
pub fn run(repo: &Repo, via: Via, dry_run: bool) -> anyhow::Result<ExitStatus> {
    let Some(workdir) = repo.workdir() else {
        bail!("--via needs a working tree: hook managers keep their config in it");
    };
    let manager = via.manager();
    let dir = super::install::hooks_dir(repo)?;
    let scripts = match managers::hooks_dir_kind(&dir) {
        HooksDir::Husky { scripts } => scripts,
        HooksDir::Plain => workdir.join(".husky"),
    };
    let edits = manager_edit::plan(manager, workdir, &scripts)?;
    if edits.is_empty() {
        eprintln!(
            "{} already runs the gate for {}",
            manager.name(),
            GATING_HOOKS.join(", ")
        );
    }
    let mut stdout = std::io::stdout().lock();
    for edit in &edits {
        let label = edit.path.strip_prefix(workdir).unwrap_or(&edit.path);
        let label = label.to_string_lossy();
        stdout.write_all(manager_edit::diff(&label, edit.old.as_deref(), &edit.new).as_bytes())?;
    }
    stdout.flush()?;
    if dry_run {
        eprintln!("dry run: nothing written");
        return Ok(ExitStatus::Success);
    }
    for edit in &edits {
        write(edit, manager)?;
        eprintln!("wrote {}", edit.path.display());
    }
    next_step(&dir, manager);
    start_watching(repo);
    Ok(ExitStatus::Success)
}

fn write(edit: &Edit, manager: Manager) -> anyhow::Result<()> {
    if let Some(parent) = edit.path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(&edit.path, &edit.new)
        .with_context(|| format!("writing {}", edit.path.display()))?;
    if manager == Manager::Husky && edit.old.is_none() {
        // husky v9 runs the script with `sh -e`; v4–8 executes it.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&edit.path, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("making {} executable", edit.path.display()))?;
    }
    Ok(())
}

/// What the user still has to run for git to call the manager for the gating hooks.
fn next_step(dir: &Path, manager: Manager) {
    if manager == Manager::Husky {
        if managers::hooks_dir_kind(dir) == HooksDir::Plain {
            eprintln!(
                "next: run `npx husky` (or `npm install`, whose `prepare` script runs it) so that git runs husky's hooks; until then gatehouse's own shims, if installed, keep gating"
            );
        }
        return;
    }
    let missing: Vec<&str> = GATING_HOOKS
        .iter()
        .copied()
        .filter(|hook| !matches!(managers::owner(&dir.join(hook)), Some(Owner::Manager(m)) if m == manager || (m.runs_legacy() && manager.runs_legacy())))
        .collect();
    if missing.is_empty() {
        return;
    }
    let command = match manager {
        Manager::Lefthook => "lefthook install".to_string(),
        _ => {
            let types: Vec<String> = missing.iter().map(|h| format!("--hook-type {h}")).collect();
            format!("{} install {}", manager.name(), types.join(" "))
        }
    };
    eprintln!(
        "next: run `{command}` so that git runs {} for {}",
        manager.name(),
        missing.join(", ")
    );
}

/// A plain install where husky owns the hooks directory: nothing is written there (husky
/// regenerates it); passes when husky's scripts run the gate, else refuses with the lines.
pub fn husky_in_control(dir: &Path, scripts: &Path) -> anyhow::Result<ExitStatus> {
    let missing: Vec<&str> = GATING_HOOKS
        .iter()
        .copied()
        .filter(|hook| {
            !managers::reach(dir, None, hook)
                .routes
                .iter()
                .any(|r| matches!(r, managers::Route::Script { .. }))
        })
        .collect();
    if missing.is_empty() {
        eprintln!("husky runs the gate ({})", scripts.display());
        return Ok(ExitStatus::Success);
    }
    let mut text = format!(
        "husky manages this repository's hooks (core.hooksPath = {}, which husky rewrites on every install): gatehouse writes nothing there.\nRun `gatehouse install --via husky`, or put this line first in each of these files:\n",
        dir.display()
    );
    for hook in &missing {
        text.push_str(&format!(
            "  {}:  {}\n",
            scripts.join(hook).display(),
            manager_edit::husky_line(hook)
        ));
    }
    bail!("{}", text.trim_end())
}

/// Why a plain install left hooks alone, and the exact lines that make their manager gate.
pub fn refusal(refused: &[(Manager, &str)]) -> String {
    let mut text = String::new();
    for (manager, hook) in refused {
        text.push_str(&format!(
            "{hook}: {m} owns this hook and does not run a hook it replaced, so a gatehouse shim here would be dropped silently.\n",
            m = manager.name()
        ));
        match manager {
            Manager::Lefthook => text.push_str(&format!(
                "  Run `gatehouse install --via lefthook`, or add to lefthook.yml:\n{hook}:\n  commands:\n{}",
                manager_edit::lefthook_command("    ", hook)
            )),
            _ => text.push_str(&format!(
                "  Add a step that runs `{line}` with the hook's arguments and standard input to .overcommit.yml, or remove overcommit's {hook} hook and run `gatehouse install` again.\n",
                line = manager_edit::husky_line(hook)
            )),
        }
    }
    text.trim_end().to_string()
}

/// Records the pushes made so far, once, so that `doctor` audits only the pushes from now on.
pub fn start_watching(repo: &Repo) {
    let recorded = Store::open(&repo.state_dir())
        .map_err(anyhow::Error::from)
        .and_then(|store| Ok(pushlog::record_baseline(repo, &store, false)?));
    if let Err(e) = recorded {
        eprintln!(
            "gatehouse: cannot record the pushes made so far ({e:#}); `gatehouse doctor` will"
        );
    }
}
