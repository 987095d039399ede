//! Task files, `.gatehouse/tasks/NAME.toml`: what an agent is asked to do, where it may write,
//! how its result is accepted, when it runs and what it may spend. Errors name file, line and
//! column like every configuration error.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::config::{ConfigError, parse_duration};
use crate::pathmatch::PatternSet;

/// Where task files live, relative to the working tree root.
pub const TASKS_DIR: &str = ".gatehouse/tasks";

/// The default wall-clock limit of an agent run.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20 * 60);
/// The default limit of one acceptance command.
pub const DEFAULT_ACCEPT_TIMEOUT: Duration = Duration::from_secs(10 * 60);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTask {
    kind: String,
    goal: String,
    #[serde(default)]
    context: Vec<String>,
    scope: Vec<Spanned<String>>,
    agent: String,
    timeout: Option<Spanned<String>>,
    trigger: Option<Spanned<RawTrigger>>,
    #[serde(default)]
    accept: Vec<Spanned<RawAccept>>,
    budget: Option<RawBudget>,
    base: Option<Spanned<String>>,
    #[serde(default)]
    setup: Vec<Spanned<RawSetup>>,
    #[serde(default)]
    keep: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSetup {
    run: Option<String>,
    copy: Option<Vec<String>>,
    timeout: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBudget {
    max_tokens: Option<u64>,
    max_usd: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrigger {
    on: Option<String>,
    paths: Option<Vec<String>>,
    every: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccept {
    run: Option<String>,
    gate: Option<bool>,
    timeout: Option<Spanned<String>>,
}

/// Per-run limits.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    pub max_tokens: Option<u64>,
    pub max_usd: Option<f64>,
}

/// When a task runs by itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// Only by `gatehouse task run`.
    Manual,
    /// After a commit on the current branch that touches `paths` (any path when empty).
    Commit { paths: Vec<String> },
    /// Once per interval.
    Every(Duration),
}

/// One acceptance check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accept {
    /// A shell command run in the worktree; it must exit 0.
    Run { command: String, timeout: Duration },
    /// gatehouse's own checks must pass on the changed files.
    Gate,
}

/// One step that prepares a run's fresh worktree before the agent starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Setup {
    /// Copy the files of your checkout matching these patterns (untracked ones: `.env`, local
    /// settings) into the worktree. Each `*` or `?` matches within one path segment.
    Copy { patterns: Vec<String> },
    /// A shell command run in the worktree, confined like an acceptance command.
    Run { command: String, timeout: Duration },
}

/// The default limit of one setup command.
pub const DEFAULT_SETUP_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// A validated task.
#[derive(Debug, Clone)]
pub struct Task {
    /// The file stem: `.gatehouse/tasks/NAME.toml`.
    pub name: String,
    /// The file, repository-relative.
    pub file: String,
    pub kind: String,
    pub goal: String,
    pub context: Vec<String>,
    pub scope: Vec<String>,
    pub scope_set: PatternSet,
    pub agent: String,
    pub timeout: Duration,
    pub trigger: Trigger,
    pub accept: Vec<Accept>,
    pub budget: Budget,
    /// The branch runs start from (its tip when queued); `None`: the triggering commit.
    pub base: Option<String>,
    /// What prepares the worktree, in order, before the agent starts.
    pub setup: Vec<Setup>,
    /// Ignored folders (dependency installs) carried from one run of the task to the next.
    pub keep: Vec<String>,
    /// The file's text digest, for trust.
    pub hash: String,
}

impl Task {
    /// Whether `path` (repository-relative) is inside the task's scope.
    pub fn in_scope(&self, path: &str) -> bool {
        self.scope_set.is_match(path)
    }
}

/// Parses the task file `file` (repository-relative) with text `text`.
pub fn parse(file: &str, text: &str) -> Result<Task, ConfigError> {
    let err = |span: Option<std::ops::Range<usize>>, message: String| {
        ConfigError::new(file, text, span, message)
    };
    let raw: RawTask = toml::from_str(text)
        .map_err(|e| ConfigError::new(file, text, e.span(), e.message().trim_end()))?;
    let name = Path::new(file)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !valid_name(&name) {
        return Err(err(
            None,
            format!("`{name}` is not a task name: use letters, digits, `-` and `_`"),
        ));
    }
    if raw.scope.is_empty() {
        return Err(err(
            Some(0..0),
            "`scope` must name at least one path pattern: the files the agent may change".into(),
        ));
    }
    let scope: Vec<String> = raw.scope.iter().map(|s| s.get_ref().clone()).collect();
    let scope_set = PatternSet::new(&scope).map_err(|e| {
        let span = raw
            .scope
            .iter()
            .find(|s| *s.get_ref() == e.pattern)
            .map(Spanned::span);
        err(span, e.to_string())
    })?;
    let duration = |value: &Spanned<String>| {
        parse_duration(value.get_ref()).map_err(|m| err(Some(value.span()), m))
    };
    let timeout = raw
        .timeout
        .as_ref()
        .map(duration)
        .transpose()?
        .unwrap_or(DEFAULT_TIMEOUT);
    let trigger = match raw.trigger {
        None => Trigger::Manual,
        Some(trigger) => {
            let span = trigger.span();
            let t = trigger.into_inner();
            match (t.on.as_deref(), t.every) {
                (Some("commit"), None) => {
                    let paths = t.paths.unwrap_or_default();
                    PatternSet::new(&paths).map_err(|e| err(Some(span.clone()), e.to_string()))?;
                    Trigger::Commit { paths }
                }
                (Some("manual"), None) => Trigger::Manual,
                (None, Some(every)) if t.paths.is_none() => {
                    let interval = duration(&every)?;
                    if interval < Duration::from_secs(60) {
                        return Err(err(
                            Some(every.span()),
                            "`every` must be at least 1m".into(),
                        ));
                    }
                    Trigger::Every(interval)
                }
                _ => {
                    return Err(err(Some(span), "expected `{ on = \"commit\", paths = [...] }`, `{ on = \"manual\" }` or `{ every = \"24h\" }`".into()));
                }
            }
        }
    };
    let budget = match raw.budget {
        None => Budget::default(),
        Some(b) => {
            if let Some(usd) = &b.max_usd {
                crate::config::check_budget(*usd.get_ref())
                    .map_err(|m| err(Some(usd.span()), format!("`max_usd` {m}")))?;
            }
            Budget {
                max_tokens: b.max_tokens,
                max_usd: b.max_usd.map(Spanned::into_inner),
            }
        }
    };
    let mut accept = Vec::new();
    for item in raw.accept {
        let span = item.span();
        let a = item.into_inner();
        let timeout = a
            .timeout
            .as_ref()
            .map(duration)
            .transpose()?
            .unwrap_or(DEFAULT_ACCEPT_TIMEOUT);
        match (a.run, a.gate) {
            (Some(command), None) => accept.push(Accept::Run { command, timeout }),
            (None, Some(true)) => accept.push(Accept::Gate),
            (None, Some(false)) => {}
            _ => {
                return Err(err(
                    Some(span),
                    "an [[accept]] table has either `run = \"command\"` or `gate = true`".into(),
                ));
            }
        }
    }
    let base = match raw.base {
        Some(base) if git2::Reference::is_valid_name(&format!("refs/heads/{}", base.get_ref())) => {
            Some(base.into_inner())
        }
        Some(base) => {
            return Err(err(
                Some(base.span()),
                format!(
                    "`base` must name a branch, and `{}` cannot be one",
                    base.get_ref()
                ),
            ));
        }
        None => None,
    };
    let mut setup = Vec::new();
    for item in raw.setup {
        let span = item.span();
        let step = item.into_inner();
        let timeout = step
            .timeout
            .as_ref()
            .map(duration)
            .transpose()?
            .unwrap_or(DEFAULT_SETUP_TIMEOUT);
        match (step.run, step.copy) {
            (Some(command), None) => setup.push(Setup::Run { command, timeout }),
            (None, Some(patterns)) => {
                if let Some(bad) = patterns.iter().find(|p| !valid_copy_pattern(p)) {
                    return Err(err(
                        Some(span),
                        format!(
                            "`copy` pattern `{bad}`: use a path relative to the repository root, \
                             without `..` or `**` (each `*` matches within one directory)"
                        ),
                    ));
                }
                setup.push(Setup::Copy { patterns });
            }
            _ => {
                return Err(err(
                    Some(span),
                    "a [[setup]] table has either `run = \"command\"` or `copy = [\"pattern\", …]`"
                        .into(),
                ));
            }
        }
    }
    let mut keep = Vec::new();
    for item in raw.keep {
        if !valid_copy_pattern(item.get_ref()) {
            return Err(err(
                Some(item.span()),
                format!(
                    "`keep` pattern `{}`: use a folder relative to the repository root, \
                     without `..` or `**` (each `*` matches within one directory)",
                    item.get_ref()
                ),
            ));
        }
        keep.push(item.into_inner());
    }
    Ok(Task {
        base,
        setup,
        keep,
        file: file.to_string(),
        name,
        kind: raw.kind,
        goal: raw.goal,
        context: raw.context,
        scope,
        scope_set,
        agent: raw.agent,
        timeout,
        trigger,
        accept,
        budget,
        hash: crate::git::hash_blob(text.as_bytes()).to_string(),
    })
}

/// A copy pattern: relative, no `..` or `.` component, no `**`, no empty segment.
fn valid_copy_pattern(pattern: &str) -> bool {
    !pattern.is_empty()
        && !pattern.starts_with('/')
        && !pattern.contains("**")
        && pattern
            .split('/')
            .all(|seg| !seg.is_empty() && seg != ".." && seg != ".")
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Every task file of the working tree `workdir`, sorted by name; the first invalid one is an
/// error.
pub fn load_all(workdir: &Path) -> Result<Vec<Task>, TaskFileError> {
    let files = load_each(workdir)?;
    match files.broken.into_iter().next() {
        Some(broken) => Err(broken.error),
        None => Ok(files.tasks),
    }
}

/// The task files of a working tree: those that parse, and those that do not with their error.
#[derive(Debug, Default)]
pub struct TaskFiles {
    pub tasks: Vec<Task>,
    pub broken: Vec<BrokenFile>,
}

/// A task file that cannot be used.
#[derive(Debug)]
pub struct BrokenFile {
    /// Repository-relative path.
    pub file: String,
    pub error: TaskFileError,
}

impl BrokenFile {
    /// The error on one line, `file:line:column: message` when the position is known (the full
    /// error, with the offending line, is the `error` itself).
    pub fn summary(&self) -> String {
        match &self.error {
            TaskFileError::Config(e) => match e.line_column() {
                Some((line, column)) => format!("{}:{line}:{column}: {}", e.file, e.message),
                None => format!("{}: {}", e.file, e.message),
            },
            other => other.to_string(),
        }
    }
}

/// Every task file of the working tree `workdir`, sorted by name, each parsed on its own: one
/// broken file does not hide the others (the daemon still runs them). Only a `tasks/` directory
/// that cannot be listed is an error.
pub fn load_each(workdir: &Path) -> Result<TaskFiles, TaskFileError> {
    let dir = workdir.join(TASKS_DIR);
    let mut names: Vec<String> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".toml"))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(source) => {
            return Err(TaskFileError::Io {
                path: TASKS_DIR.to_string(),
                source,
            });
        }
    };
    names.sort();
    let mut files = TaskFiles::default();
    for name in names {
        let rel = format!("{TASKS_DIR}/{name}");
        match load_one(workdir, &rel) {
            Ok(Some(task)) => files.tasks.push(task),
            Ok(None) => {}
            Err(error) => files.broken.push(BrokenFile { file: rel, error }),
        }
    }
    Ok(files)
}

/// One line per task file of `workdir` that cannot be used (or for a task directory that cannot
/// be read), for `status`, `daemon status` and `doctor`.
pub fn problems(workdir: &Path) -> Vec<String> {
    match load_each(workdir) {
        Ok(files) => files.broken.iter().map(BrokenFile::summary).collect(),
        Err(e) => vec![e.to_string()],
    }
}

/// Task file `rel` of `workdir`; `None` when it vanished meanwhile.
fn load_one(workdir: &Path, rel: &str) -> Result<Option<Task>, TaskFileError> {
    // Only a regular file inside the repository, up to 1 MiB: a clone can ship a task file
    // that is a symlink to `/dev/zero` or a FIFO.
    let read =
        crate::config::read::read_repo_file(workdir, rel, crate::config::read::MAX_CONFIG_SIZE);
    let bytes = match read {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Ok(None),
        Err(crate::config::read::UnsafeFile::Io(source)) => {
            return Err(TaskFileError::Io {
                path: rel.to_string(),
                source,
            });
        }
        Err(reason) => {
            return Err(TaskFileError::Unsafe {
                path: rel.to_string(),
                reason,
            });
        }
    };
    let text = String::from_utf8(bytes).map_err(|e| {
        ConfigError::new(
            rel,
            "",
            None,
            format!("not valid UTF-8 (at byte {})", e.utf8_error().valid_up_to()),
        )
    })?;
    Ok(Some(parse(rel, &text)?))
}

/// Errors reading task files.
#[derive(Debug, thiserror::Error)]
pub enum TaskFileError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "refusing to read {path}: {reason}; task files are read only from regular files inside the repository, up to 1 MiB"
    )]
    Unsafe {
        path: String,
        reason: crate::config::read::UnsafeFile,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
kind = "type-annotations"
goal = """Add type annotations to every function in api/handlers.py that lacks them."""
context = ["api/models.py"]
scope = ["api/handlers.py"]
agent = "codex"
timeout = "20m"
trigger = { on = "commit", paths = ["api/**"] }

[[accept]]
run = "mypy --disallow-untyped-defs api/handlers.py"
[[accept]]
gate = true

[budget]
max_tokens = 300000
max_usd = 1.00
"#;

    #[test]
    fn the_specified_example_parses() {
        let task = parse(".gatehouse/tasks/annotate.toml", EXAMPLE).unwrap();
        assert_eq!(task.name, "annotate");
        assert_eq!(task.kind, "type-annotations");
        assert_eq!(task.timeout, Duration::from_secs(1200));
        assert_eq!(
            task.trigger,
            Trigger::Commit {
                paths: vec!["api/**".into()]
            }
        );
        assert_eq!(task.accept.len(), 2);
        assert_eq!(task.accept[1], Accept::Gate);
        assert_eq!(task.budget.max_tokens, Some(300_000));
        assert!(task.in_scope("api/handlers.py") && !task.in_scope("api/models.py"));
    }

    #[test]
    fn errors_point_at_the_line_and_column() {
        let text = EXAMPLE.replace("timeout = \"20m\"", "timeout = \"20 minutes\"");
        let e = parse(".gatehouse/tasks/t.toml", &text).unwrap_err();
        assert_eq!(e.line_column(), Some((7, 11)), "{e}");
        let e = parse(
            ".gatehouse/tasks/t.toml",
            &EXAMPLE.replace("agent =", "agnet ="),
        )
        .unwrap_err();
        assert!(e.to_string().contains("unknown field `agnet`"), "{e}");
        assert_eq!(e.line_column().map(|l| l.0), Some(6));
        let e = parse(
            ".gatehouse/tasks/t.toml",
            &EXAMPLE.replace("trigger = { on = \"commit\"", "trigger = { on = \"push\""),
        )
        .unwrap_err();
        assert_eq!(e.line_column().map(|l| l.0), Some(8), "{e}");
        let e = parse(".gatehouse/tasks/bad name.toml", EXAMPLE).unwrap_err();
        assert!(e.to_string().contains("not a task name"), "{e}");
    }

    #[test]
    fn an_interval_under_a_minute_is_refused() {
        let every = EXAMPLE.replace(
            "trigger = { on = \"commit\", paths = [\"api/**\"] }",
            "trigger = { every = \"0s\" }",
        );
        let e = parse("t.toml", &every).unwrap_err();
        assert!(e.to_string().contains("at least 1m"), "{e}");
        assert_eq!(e.line_column().map(|l| l.0), Some(8));
    }

    #[test]
    fn base_and_setup_parse_and_bad_ones_are_pointed_at() {
        let text = format!(
            "base = \"main\"\n{EXAMPLE}[[setup]]\ncopy = [\".env\", \"config/*.local\"]\n[[setup]]\nrun = \"pip install -e .\"\ntimeout = \"2m\"\n"
        );
        let task = parse("t.toml", &text).unwrap();
        assert_eq!(task.base.as_deref(), Some("main"));
        assert_eq!(
            task.setup,
            [
                Setup::Copy {
                    patterns: vec![".env".into(), "config/*.local".into()]
                },
                Setup::Run {
                    command: "pip install -e .".into(),
                    timeout: Duration::from_secs(120)
                }
            ]
        );
        let bad = format!("base = \"no..branch\"\n{EXAMPLE}");
        let e = parse("t.toml", &bad).unwrap_err();
        assert!(e.to_string().contains("must name a branch"), "{e}");
        for pattern in ["../x", "/etc/passwd", "a/**/b", ""] {
            let bad = format!("{EXAMPLE}[[setup]]\ncopy = [\"{pattern}\"]\n");
            let e = parse("t.toml", &bad).unwrap_err();
            assert!(e.to_string().contains("`copy` pattern"), "{pattern}: {e}");
        }
        let kept = format!("keep = [\".venv\", \"web/node_modules\"]\n{EXAMPLE}");
        assert_eq!(
            parse("t.toml", &kept).unwrap().keep,
            [".venv", "web/node_modules"]
        );
        let bad = format!("keep = [\"../outside\"]\n{EXAMPLE}");
        let e = parse("t.toml", &bad).unwrap_err();
        assert!(e.to_string().contains("`keep` pattern"), "{e}");
        assert_eq!(e.line_column().map(|l| l.0), Some(1), "{e}");
        let both = format!("{EXAMPLE}[[setup]]\nrun = \"x\"\ncopy = [\"y\"]\n");
        assert!(parse("t.toml", &both).is_err());
    }

    #[test]
    fn every_and_manual_triggers() {
        let every = EXAMPLE.replace(
            "trigger = { on = \"commit\", paths = [\"api/**\"] }",
            "trigger = { every = \"24h\" }",
        );
        assert_eq!(
            parse("t.toml", &every).unwrap().trigger,
            Trigger::Every(Duration::from_secs(86_400))
        );
        let manual = EXAMPLE.replace("trigger = { on = \"commit\", paths = [\"api/**\"] }\n", "");
        assert_eq!(parse("t.toml", &manual).unwrap().trigger, Trigger::Manual);
    }
}
