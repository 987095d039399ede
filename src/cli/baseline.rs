//! `gatehouse baseline`: record today's findings in `.gatehouse/baseline.json`, so that
//! whole-tree checks report only new ones.

use anyhow::Context;

use crate::ExitStatus;
use crate::baseline::{self, Baseline, BaselineError};
use crate::config::{self, Scope};
use crate::engine::{self, Request, Target};
use crate::git::Repo;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Neither read nor write the findings cache.
    #[arg(long)]
    no_cache: bool,
}

/// Runs the whole-tree check (every tracked file, the configured rules, scope `all`, as
/// `gatehouse check --scope all` at the root does) and replaces the baseline with its findings.
///
/// A malformed baseline (say, left with conflict markers by a merge) is replaced, with a note on
/// stderr: the file is generated, and its old text is in git. One written by a newer gatehouse is
/// an error and is left as it is: this version cannot know what it would drop.
pub fn run(args: &Args) -> anyhow::Result<ExitStatus> {
    let repo = Repo::open_from_env()?;
    let workdir = repo
        .workdir()
        .context("a baseline records the findings of a working tree; this repository has none")?
        .to_path_buf();
    let settings = config::load_for(&repo)?;
    let before = match Baseline::load(&workdir) {
        Ok(found) => found.map(|b| b.len),
        Err(e @ BaselineError::Malformed { .. }) => {
            eprintln!("gatehouse: replacing it: {e}");
            None
        }
        Err(e @ BaselineError::Newer { .. }) => {
            return Err(anyhow::Error::new(e).context(format!(
                "not replacing {}: this gatehouse cannot tell what it would drop",
                baseline::PATH
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let request = Request {
        target: Target::Worktree { paths: Vec::new() },
        scope: Scope::All,
        rules: Vec::new(),
        level_at_least: None,
        use_cache: !args.no_cache,
    };
    let report = engine::run(&repo, &settings, &request)?;
    let mut sources = engine::Sources {
        repo: &repo,
        target: &request.target,
    };
    let entries = baseline::entries(&report.findings, &mut sources);
    baseline::write(&workdir, &entries)?;
    let left_out = report.findings.len() - entries.len();
    let was = before.map_or(String::new(), |n| format!(" (it held {n})"));
    println!(
        "recorded {} in {}{was}",
        count(entries.len(), "finding"),
        baseline::PATH
    );
    if left_out > 0 {
        eprintln!(
            "gatehouse: {} about uncommitted changes (sensitive-path, new-dependency) not \
             recorded: a baseline never hides a change",
            count(left_out, "finding")
        );
    }
    Ok(ExitStatus::Success)
}

fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
