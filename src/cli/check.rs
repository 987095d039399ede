//! `gatehouse check`: check files in the working tree, the index, or the changes of a range.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;

use crate::ExitStatus;
use crate::baseline::{self, Baseline};
use crate::checks::Finding;
use crate::checks::missing_import::{self, online};
use crate::config::{self, Level, Scope};
use crate::engine::{self, Report, Request, Target};
use crate::gate::Verdict;
use crate::git::{Known, Repo};
use crate::output::{self, Format, Human, SourceLines};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files or directories to check (default: the current directory, every tracked file under
    /// it; findings are shown with paths relative to it, like ruff).
    #[arg(conflicts_with_all = ["staged", "range"])]
    paths: Vec<PathBuf>,
    /// Check the staged changes (the index).
    #[arg(long, conflicts_with = "range")]
    staged: bool,
    /// Check the changes of A..B, evaluated at B (what a push or merge would bring); a single REV
    /// checks its commits that are on no remote (`git rev-list REV --not --remotes`).
    #[arg(long, value_name = "A..B|REV")]
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
    /// Report the findings .gatehouse/baseline.json records too (only scope `all` leaves them
    /// out; see `gatehouse baseline --help`).
    #[arg(long)]
    no_baseline: bool,
    /// Ask PyPI and crates.io whether the packages of new-dependency and undeclared-package/crate
    /// findings exist and since when (also `online = true` in missing-import's options).
    #[arg(long)]
    online: bool,
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
    let here = Here::of(&repo);
    let target = match (&args.range, args.staged) {
        (Some(spec), _) if spec.contains("..") => Target::Range { spec: spec.clone() },
        (Some(rev), _) => unpushed(&repo, rev)?,
        (None, true) => Target::Staged,
        (None, false) if args.paths.is_empty() => Target::Worktree {
            paths: here.default_paths(),
        },
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
    let mut report = engine::run(&repo, &settings, &request)?;
    let baselined = if args.no_baseline {
        None
    } else {
        drop_baselined(&repo, &request, &mut report.findings)?
    };
    let import_rule = settings.rules.get(missing_import::ID);
    if args.online || import_rule.is_some_and(|r| online::configured(&r.options)) {
        let level = import_rule.map_or(Level::Block, |r| r.level);
        let registries = super::env::registries();
        for warning in online::annotate(&mut report.findings, level, &registries) {
            eprintln!("gatehouse: {warning}");
        }
    }
    if args.stats {
        let s = report.stats;
        // The parts add up to the files checked, the number the report's summary gives.
        let unread = s.files_checked.saturating_sub(s.parsed + s.cached);
        eprintln!(
            "gatehouse: {} files checked: {} parsed, {} from cache, {} of a kind no rule reads; \
             {} skipped; {} ms",
            s.files_checked,
            s.parsed,
            s.cached,
            unread,
            s.skipped_binary + s.skipped_large,
            report.elapsed_ms
        );
    }
    if let Some(n) = baselined
        && (n > 0 || args.stats)
    {
        eprintln!(
            "gatehouse: {} baselined (in {}; --no-baseline shows them)",
            plural(n, "finding"),
            baseline::PATH
        );
    }
    let shown = matches!(request.target, Target::Worktree { .. }).then_some(&here);
    print(&repo, &request, &report, args.format, shown)?;
    Ok(Verdict::of(&report.findings).exit_status())
}

/// Drops the findings the working tree's `.gatehouse/baseline.json` records; returns how many,
/// or `None` when the baseline does not apply.
///
/// Only a check of scope `all` (the whole tree, or PATHS of it, or with `--scope all` the whole
/// index or commit) reads the baseline: changed-lines and changed-files checks (`--staged`,
/// `--range`, and the hooks, which never come here) report everything, because a finding on a
/// new line is new code. The baseline is always the working tree's, also for `--range A..B
/// --scope all`: it is the file `gatehouse baseline` writes and the user reviews.
fn drop_baselined(
    repo: &Repo,
    request: &Request,
    findings: &mut Vec<Finding>,
) -> anyhow::Result<Option<usize>> {
    let Some(workdir) = repo.workdir().filter(|_| request.scope == Scope::All) else {
        return Ok(None);
    };
    let Some(baseline) = Baseline::load(workdir)? else {
        return Ok(None);
    };
    let mut sources = engine::Sources {
        repo,
        target: &request.target,
    };
    Ok(Some(baseline.filter(findings, &mut sources)))
}

/// `--range REV`: the commits of REV that no remote-tracking ref has (`git rev-list REV --not
/// --remotes`), with their changes measured from where they leave REV's first-parent line and,
/// as a combined diff, from every other known commit they grow from (a merged-in upstream), as a
/// push of REV would bring them. Says on stderr which changes that is.
fn unpushed(repo: &Repo, rev: &str) -> anyhow::Result<Target> {
    let tip = repo.resolve_commit(rev)?;
    let commits = repo.new_commits(tip, &Known::AllRemotes)?;
    let base = repo.first_parent_base(tip, &commits)?;
    let known = repo.known_parents(&commits, base)?;
    let n = commits.len();
    let since = base.map_or("the empty tree".to_string(), |b| {
        b.to_string()[..12].to_string()
    });
    let note = if n == 0 {
        format!(
            "every commit of {rev} is on a remote: nothing to check (`--range A..B` chooses the changes)"
        )
    } else if !repo.has_remote_refs()? {
        format!(
            "no remote-tracking refs (no remote, or never fetched): checking all {} of {rev}, \
             changes since the empty tree; `--range A..B` chooses the base",
            plural(n, "commit")
        )
    } else {
        let merged = if known.is_empty() {
            String::new()
        } else {
            format!(" and {} merged in", plural(known.len(), "known commit"))
        };
        format!(
            "checking {} of {rev} on no remote, changes since {since}{merged}",
            plural(n, "commit")
        )
    };
    eprintln!("gatehouse: {note}");
    Ok(Target::Brought {
        base: if n == 0 { Some(tip) } else { base },
        known,
        tip,
    })
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Where the command runs, relative to the working tree's root: a check without PATHS covers
/// that directory, and the human report names files relative to it, like ruff.
struct Here {
    /// The working tree's root, canonical.
    root: PathBuf,
    /// The current directory relative to the root, `/`-separated; `None` outside the working
    /// tree (`GIT_WORK_TREE` elsewhere) or in a bare repository.
    prefix: Option<String>,
}

impl Here {
    fn of(repo: &Repo) -> Here {
        let root = repo
            .workdir()
            .map(|w| w.canonicalize().unwrap_or_else(|_| w.to_path_buf()));
        let cwd = std::env::current_dir().and_then(|c| c.canonicalize()).ok();
        let prefix = match (&root, cwd) {
            (Some(root), Some(cwd)) => cwd
                .strip_prefix(root)
                .ok()
                .map(|p| p.to_string_lossy().into_owned()),
            _ => None,
        };
        Here {
            root: root.unwrap_or_default(),
            prefix,
        }
    }

    /// The PATHS a check without any covers: the current directory below the root, else all.
    fn default_paths(&self) -> Vec<PathBuf> {
        match self.prefix.as_deref() {
            Some(prefix) if !prefix.is_empty() => vec![PathBuf::from(".")],
            _ => Vec::new(),
        }
    }

    /// How the human report names a repository path: relative to the current directory when it
    /// is under it, else absolute (ruff's choice too).
    fn display(&self, path: &str) -> String {
        match self.prefix.as_deref() {
            None | Some("") => path.to_string(),
            Some(prefix) => match path.strip_prefix(prefix).and_then(|p| p.strip_prefix('/')) {
                Some(rest) => rest.to_string(),
                None => self.root.join(path).display().to_string(),
            },
        }
    }
}

/// The human report's sources under the names it shows.
struct Shown<'a> {
    sources: engine::Sources<'a>,
    /// Shown name → repository path.
    paths: HashMap<String, String>,
}

impl SourceLines for Shown<'_> {
    fn text(&mut self, path: &str) -> Option<String> {
        let path = self.paths.get(path)?;
        self.sources.text(path)
    }
}

fn print(
    repo: &Repo,
    request: &Request,
    report: &Report,
    format: Format,
    here: Option<&Here>,
) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    let text = match format {
        Format::Json => {
            let written = output::write_json(
                &mut stdout,
                &report.findings,
                report.stats.files_checked,
                report.elapsed_ms,
            );
            return finish(written.and_then(|()| stdout.write_all(b"\n")), &mut stdout);
        }
        Format::Sarif => output::sarif(&report.findings) + "\n",
        Format::Human => {
            let sources = engine::Sources {
                repo,
                target: &request.target,
            };
            let mut shown = Shown {
                sources,
                paths: HashMap::new(),
            };
            let findings: Vec<Finding> = report
                .findings
                .iter()
                .map(|f| {
                    let name = here.map_or_else(|| f.path.clone(), |h| h.display(&f.path));
                    shown.paths.insert(name.clone(), f.path.clone());
                    Finding {
                        path: name,
                        ..f.clone()
                    }
                })
                .collect();
            Human::for_stdout(super::env::no_color()).render(&findings, &report.stats, &mut shown)
        }
    };
    let written = stdout.write_all(text.as_bytes());
    finish(written, &mut stdout)
}

/// Flushes the report; a reader that went away (`| head`) is not an error.
fn finish(written: std::io::Result<()>, stdout: &mut impl Write) -> anyhow::Result<()> {
    match written.and_then(|()| stdout.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing the report"),
    }
}
