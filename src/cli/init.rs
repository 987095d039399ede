//! `gatehouse init`: write a commented `.gatehouse/config.toml` and install the hooks.

use anyhow::{Context, bail};

use crate::ExitStatus;
use crate::config::{CONFIG_PATH, INIT_TEMPLATE};
use crate::git::Repo;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Overwrite an existing .gatehouse/config.toml.
    #[arg(long)]
    force: bool,
}

pub fn run(args: &Args) -> anyhow::Result<ExitStatus> {
    let repo = Repo::open_from_env()?;
    let Some(workdir) = repo.workdir() else {
        bail!("a bare repository has no working tree to hold {CONFIG_PATH}");
    };
    let path = workdir.join(CONFIG_PATH);
    // A clone can ship `.gatehouse` or its config as a symlink (dangling or not) out of the
    // repository: the template (with --force, over `~/.bashrc`) would land where it points. So
    // the place is checked first and init stops, writing nothing and installing no hook.
    match crate::config::read::ensure_inside(workdir, CONFIG_PATH) {
        Ok(()) => {}
        Err(crate::config::read::UnsafeFile::Io(e)) => {
            return Err(e).with_context(|| format!("checking {}", path.display()));
        }
        Err(why) => bail!(
            "refusing to write {CONFIG_PATH}: it (or a directory above it) is {why}; nothing was \
written and no hook installed: remove the link and run `gatehouse init` again"
        ),
    }
    if std::fs::symlink_metadata(&path).is_ok() && !args.force {
        eprintln!("{CONFIG_PATH} already exists; leaving it as it is (use --force to overwrite)");
    } else {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(&path, INIT_TEMPLATE)
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {CONFIG_PATH}");
    }
    super::install::install_hooks(&repo, false, false)
}
