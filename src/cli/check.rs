//! `gatehouse check`: check files in the working tree, the index, or the changes of a range.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;

use crate::ExitStatus;
use crate::config::{self, Level, Scope};
use crate::engine::{self, Report, Request, Target};
use crate::gate::Verdict;
use crate::git::Repo;
use crate::output::{self, Format, Human};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files or directories to check (default: every tracked file).
    #[arg(conflicts_with_all = ["staged", "range"])]
    paths: Vec<PathBuf>,
    /// Check the staged changes (the index).
    #[arg(long, conflicts_with = "range")]
    staged: bool,
    /// Check the changes of A..B, evaluated at B (what a push or merge would bring).
    #[arg(long, value_name = "A..B")]
    range: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Only this rule (repeatable).
    #[arg(long = "rule", value_name = "ID")]
    rules: Vec<String>,
    /// Report only findings at this level or above.
    #[arg(long, value_enum, value_name = "LEVEL")]
    level_at_least: Option<LevelArg>,
    /// Which findings count (default: config, else changed-lines for --range/--staged, all otherwise).
    #[arg(long, value_enum)]
    scope: Option<Scope>,
    /// Print what was checked, parsed and answered from the cache to stderr.
    #[arg(long)]
    stats: bool,
    /// Neither read nor write the findings cache.
    #[arg(long)]
    no_cache: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum LevelArg {
    Warn,
    Review,
    Block,
}

impl From<LevelArg> for Level {
    fn from(level: LevelArg) -> Level {
        match level {
            LevelArg::Warn => Level::Warn,
            LevelArg::Review => Level::Review,
            LevelArg::Block => Level::Block,
        }
    }
}

pub fn run(args: &Args) -> anyhow::Result<ExitStatus> {
    let repo = Repo::open_from_env()?;
    let settings = config::load_for(&repo)?;
    let target = match (&args.range, args.staged) {
        (Some(spec), _) => Target::Range { spec: spec.clone() },
        (None, true) => Target::Staged,
        (None, false) => Target::Worktree {
            paths: args.paths.clone(),
        },
    };
    let default_scope = match target {
        Target::Worktree { .. } => Scope::All,
        _ => settings.scope.unwrap_or(Scope::ChangedLines),
    };
    let request = Request {
        target,
        scope: args.scope.unwrap_or(default_scope),
        rules: args.rules.clone(),
        level_at_least: args.level_at_least.map(Level::from),
        use_cache: !args.no_cache,
    };
    let report = engine::run(&repo, &settings, &request)?;
    if args.stats {
        let s = report.stats;
        eprintln!(
            "gatehouse: {} files checked: {} parsed, {} from cache, {} skipped; {} ms",
            s.files_checked,
            s.parsed,
            s.cached,
            s.skipped_binary + s.skipped_large,
            report.elapsed_ms
        );
    }
    print(&repo, &request, &report, args.format)?;
    Ok(Verdict::of(&report.findings).exit_status())
}

fn print(repo: &Repo, request: &Request, report: &Report, format: Format) -> anyhow::Result<()> {
    let text = match format {
        Format::Json => {
            output::json(
                &report.findings,
                report.stats.files_checked,
                report.elapsed_ms,
            ) + "\n"
        }
        Format::Sarif => output::sarif(&report.findings) + "\n",
        Format::Human => {
            let mut sources = engine::Sources {
                repo,
                target: &request.target,
            };
            Human::for_stdout(super::env::no_color()).render(
                &report.findings,
                &report.stats,
                &mut sources,
            )
        }
    };
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing the report"),
    }
}
