//! gatehouse beside the hook managers people already have, each the real tool at a pinned
//! version from its registry (scripts/install-hook-managers.sh installs them once into
//! target/hook-managers): every install order leaves one gate; the hook repository; doctor;
//! the CI script.

mod ci;
mod doctor;
mod hookrepo;
mod orders;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::common::{Run, TestEnv, TestRepo};

/// Every changed `.py` file is a warning: pushes pass, and the output says what was gated.
pub const CONFIG: &str =
    "[[sensitive]]\nname = \"watched\"\npaths = [\"*.py\"]\nlevel = \"warn\"\n";

/// The directory holding the installed managers (installing them on first use).
pub fn tools() -> &'static Path {
    static TOOLS: OnceLock<PathBuf> = OnceLock::new();
    TOOLS.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let out = Command::new("sh")
            .arg(root.join("scripts/install-hook-managers.sh"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "installing the hook managers failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        root.join("target/hook-managers")
    })
}

/// PATH with the gatehouse binary and the managers first.
pub fn path_var() -> String {
    let bin = Path::new(env!("CARGO_BIN_EXE_gatehouse")).parent().unwrap();
    let tools = tools();
    format!(
        "{}:{}:{}:{}",
        bin.display(),
        tools.join("venv/bin").display(),
        tools.join("npm/node_modules/.bin").display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// Runs `program ARGS` in the repository with that PATH (and `extra` variables).
pub fn run_with(repo: &TestRepo<'_>, program: &str, args: &[&str], extra: &[(&str, &str)]) -> Run {
    let mut cmd = repo.env.command(program, &repo.root);
    cmd.env("PATH", path_var()).args(args);
    for (key, value) in extra {
        cmd.env(key, value);
    }
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn run(repo: &TestRepo<'_>, program: &str, args: &[&str]) -> Run {
    run_with(repo, program, args, &[])
}

/// A work repository with an `origin` bare remote and its base pushed; no hooks.
pub fn setup<'e>(env: &'e TestEnv, files: &[(&str, &str)]) -> TestRepo<'e> {
    let origin = env.path().join("origin.git");
    let origin = origin.to_str().unwrap();
    env.git(env.path(), &["init", "-q", "--bare", "-b", "main", origin]);
    let work = env.repo("work");
    work.git(&["remote", "add", "origin", origin]);
    work.write(".gatehouse/config.toml", CONFIG)
        .write("a.py", "a = 1\n");
    for (path, text) in files {
        work.write(path, text);
    }
    work.commit("base");
    work.git(&["push", "-q", "origin", "main"]);
    work
}

/// How many pre-push gate runs the state database recorded.
pub fn gate_runs(repo: &TestRepo<'_>) -> usize {
    let store = gatehouse::store::Store::open(&repo.root.join(".git/gatehouse")).unwrap();
    store
        .events(gatehouse::gate::pushlog::HOOK_RUN)
        .unwrap()
        .len()
}
