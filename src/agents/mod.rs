//! Agent adapters: run one headless coding agent (codex, claude, aider, gemini or any command) on
//! a prompt in a worktree, confined and time-limited, and read back whether it succeeded, what it
//! said last and how many tokens it used.
//!
//! One file per adapter knows its agent's command line and output; `sandbox` runs the process
//! (process group, timeout, cancellation, allowlisted environment, Landlock, bounded log).

mod aider;
mod claude;
mod codex;
mod command;
pub mod config;
mod env;
mod gemini;
mod landlock;
mod log;
mod procs;
mod reads;
mod sandbox;
pub mod usage;

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub use config::{AdapterKind, AgentConfig, EnvSpec, Network, Price};
pub use landlock::Confinement;
pub use usage::Usage;

use env::AgentEnv;

/// The prompt file every run writes into its run directory.
pub const PROMPT_FILE: &str = "prompt.md";
/// The captured stdout and stderr of the agent, in the run directory.
pub const LOG_FILE: &str = "agent.log";
/// The environment variable that marks every process of one run, so that processes which left the
/// process group can still be found and killed.
pub const RUN_MARKER_VAR: &str = "GATEHOUSE_AGENT_RUN";

/// What one agent run is given.
pub struct Invocation<'a> {
    /// Where the agent works (its current directory).
    pub worktree: &'a Path,
    /// A private directory for this run: prompt.md, agent.log, the last message, config homes.
    /// Created when missing.
    pub run_dir: &'a Path,
    pub prompt: &'a str,
    /// Wall-clock limit; the whole process tree is killed when it passes.
    pub timeout: Duration,
    /// The user's HOME: stays the agent's HOME, and seeds the per-run config homes.
    pub home: Option<&'a Path>,
    /// Variables set for the agent on top of its environment (gatehouse's own, e.g. the git
    /// configuration that turns hooks off in a scratch worktree).
    pub extra_env: &'a [(String, String)],
    /// The run's budget: the agent is stopped as soon as the usage it reports while it runs
    /// goes over (agents that report usage only at the end are judged at the end).
    pub budget: Budget,
}

/// Limits on what one run may spend.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Budget {
    pub max_tokens: Option<u64>,
    pub max_usd: Option<f64>,
}

impl Budget {
    /// Why `usage` (priced with `price` when the agent reports no cost) is over, if it is.
    pub fn exceeded(&self, usage: &Usage, price: Option<&Price>) -> Option<String> {
        if let Some(max) = self.max_tokens
            && usage.total_tokens() > max
        {
            return Some(format!(
                "used {} tokens, over the budget of {max}",
                usage.total_tokens()
            ));
        }
        match (self.max_usd, usage.with_price(price).cost_usd) {
            (Some(max), Some(cost)) if cost > max => {
                Some(format!("cost ${cost:.2}, over the budget of ${max:.2}"))
            }
            _ => None,
        }
    }
}

/// How an agent run ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The agent did what it was asked, by the agent's own account (not merely exit 0).
    pub success: bool,
    pub timed_out: bool,
    /// Stopped through the [`CancelToken`] (the daemon is stopping, or `runs cancel`).
    pub cancelled: bool,
    /// Stopped because the usage it reported went over the run's budget.
    pub over_budget: bool,
    /// The exit code of the agent process; `None` when a signal ended it.
    pub exit_code: Option<i32>,
    /// Why the run failed, in one line.
    pub error: Option<String>,
    pub usage: Usage,
    /// Whether `usage.cost_usd` comes from the configured price table rather than the agent.
    pub cost_estimated: bool,
    /// The agent's last message to the user.
    pub final_message: Option<String>,
    /// `run_dir/agent.log`: the agent's stdout and stderr, bounded, with gatehouse's notes.
    pub log: PathBuf,
    /// Whether Landlock confined the agent's writes.
    pub confinement: Confinement,
    pub duration: Duration,
}

/// Cancels a running agent from another thread: `run` kills the agent's process tree like at a
/// timeout and returns an [`Outcome`] with `cancelled` set. Clones share one flag.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// The shared flag, for callers that already use an `AtomicBool`.
    pub fn flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.0)
    }
}

impl From<Arc<AtomicBool>> for CancelToken {
    fn from(flag: Arc<AtomicBool>) -> Self {
        CancelToken(flag)
    }
}

/// Limits of the process runner.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The most bytes `agent.log` keeps; past it the oldest output is dropped (the tail stays).
    pub log_cap: u64,
    /// How long the agent gets between SIGTERM and SIGKILL.
    pub kill_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            log_cap: 8 * 1024 * 1024,
            kill_grace: Duration::from_secs(3),
        }
    }
}

/// Why an agent could not be run at all (a failing agent is an [`Outcome`], not an error).
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("[agents.{agent}] in .gatehouse/config.toml: {message}")]
    InvalidConfig { agent: String, message: String },
    #[error(
        "agent program `{program}` not found ({searched}); install it, or set `program` in \
         [agents.{agent}] of .gatehouse/config.toml"
    )]
    ProgramNotFound {
        agent: String,
        program: String,
        searched: String,
    },
    #[error("cannot start `{program}` for [agents.{agent}]")]
    Spawn {
        agent: String,
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("lost track of the agent process of [agents.{agent}]")]
    Wait {
        agent: String,
        #[source]
        source: std::io::Error,
    },
}

impl AgentError {
    fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        AgentError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Runs agent `name` (its `[agents.NAME]` table is `config`) on `inv`, blocking until it ends,
/// times out or is cancelled. Call it on a thread of its own.
pub fn run(
    name: &str,
    config: &AgentConfig,
    inv: &Invocation,
    cancel: &CancelToken,
) -> Result<Outcome, AgentError> {
    run_with(name, config, inv, cancel, &Limits::default())
}

/// [`run`] with explicit runner limits.
pub fn run_with(
    name: &str,
    config: &AgentConfig,
    inv: &Invocation,
    cancel: &CancelToken,
    limits: &Limits,
) -> Result<Outcome, AgentError> {
    run_in(name, config, inv, cancel, limits, AgentEnv::from_process())
}

/// [`run_with`] in a given parent environment (tests use it to avoid mutating their own).
fn run_in(
    name: &str,
    config: &AgentConfig,
    inv: &Invocation,
    cancel: &CancelToken,
    limits: &Limits,
    mut agent_env: AgentEnv,
) -> Result<Outcome, AgentError> {
    config.validate(name)?;
    // Private whatever the umask: the prompt, the log and the config homes are the user's.
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(inv.run_dir)
        .map_err(|e| AgentError::io("create the run directory", inv.run_dir, e))?;
    let prompt_file = inv.run_dir.join(PROMPT_FILE);
    // Created afresh (a symlink left there is replaced, not followed: see `private_file`).
    log::private_file(&prompt_file)
        .and_then(|mut file| std::io::Write::write_all(&mut file, inv.prompt.as_bytes()))
        .map_err(|e| AgentError::io("write the prompt to", &prompt_file, e))?;

    let adapter = adapter(config.adapter);
    let (program, args) = adapter.command_line(config, inv);
    let program_path = env::resolve_program(name, &program, inv, agent_env.get("PATH"))?;
    if let Some(home) = inv.home {
        agent_env.set("HOME", home);
    }
    adapter.prepare(config, inv, &mut agent_env)?;
    agent_env.apply_spec(&config.env);
    for (key, value) in inv.extra_env {
        agent_env.set(key, value);
    }
    let tmp = inv.run_dir.join("tmp");
    std::fs::create_dir_all(&tmp).map_err(|e| AgentError::io("create the temp dir", &tmp, e))?;
    agent_env.set("TMPDIR", &tmp);
    let token = format!("{}-{}", std::process::id(), unique_suffix());
    agent_env.set(RUN_MARKER_VAR, &token);

    let path_var = agent_env.get("PATH").map(std::ffi::OsStr::to_os_string);
    let stdin = adapter
        .prompt_on_stdin(config, inv)
        .then_some(inv.prompt.as_bytes());
    let log_path = inv.run_dir.join(LOG_FILE);
    let writable = env::writable_dirs(config, inv);
    let readable =
        env::read_scope(config, inv, &program_path, &writable, path_var.as_deref()).roots();
    let spec = sandbox::Spec {
        agent: name,
        program: program_path,
        args: &args,
        cwd: inv.worktree,
        env: agent_env.into_vars(),
        stdin,
        log: &log_path,
        timeout: inv.timeout,
        readable,
        writable,
        network: config.network,
        marker: (RUN_MARKER_VAR, &token),
        budget: inv.budget,
        price: config.price,
    };
    let mut events = adapter.events(config, inv);
    let finished = sandbox::execute(&spec, events.as_mut(), cancel, limits)?;
    let end = End {
        exit_code: finished.exit_code,
        signal: finished.signal,
        stdout_tail: &finished.stdout_tail,
        stderr_tail: &finished.stderr_tail,
    };
    let mut report = events.finish(&end);
    remove_run_homes(inv.run_dir);
    if let Some(reason) = &finished.over_budget {
        report.success = false;
        report.error = Some(format!("stopped: {reason}"));
    } else if finished.timed_out {
        report.success = false;
        report.error = Some(format!("timed out after {}", human(inv.timeout)));
    } else if finished.cancelled {
        report.success = false;
        report.error = Some("cancelled".into());
    }
    Ok(Outcome {
        success: report.success,
        timed_out: finished.timed_out,
        cancelled: finished.cancelled && finished.over_budget.is_none(),
        over_budget: finished.over_budget.is_some(),
        exit_code: finished.exit_code,
        error: if report.success { None } else { report.error },
        cost_estimated: report.usage.cost_usd.is_none() && config.price.is_some(),
        usage: report.usage.with_price(config.price.as_ref()),
        final_message: report.final_message,
        log: log_path,
        confinement: finished.confinement,
        duration: finished.duration,
    })
}

/// Deletes the directories the run left in its run directory once the agent is gone: the
/// per-run config homes (they hold a copy of the user's credentials) and its temp dir. The
/// files (prompt, log, last message) stay for `runs show` and `runs log`.
fn remove_run_homes(run_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(run_dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir())
            && let Err(e) = std::fs::remove_dir_all(entry.path())
        {
            tracing::warn!("cannot remove {}: {e}", entry.path().display());
        }
    }
}

/// Kills every process left over from runs that process `runner` started (found by their
/// [`RUN_MARKER_VAR`] marker), for a runner that died without cleaning up (`kill -9` of the
/// daemon). Returns how many were signalled.
pub fn kill_leftovers(runner: u32) -> usize {
    procs::kill_marked(&format!("{RUN_MARKER_VAR}={runner}-"))
}

/// The program and arguments `run` would start (the program as configured, not yet looked up on
/// PATH), for `runs show` and tests.
pub fn command_line(config: &AgentConfig, inv: &Invocation) -> (String, Vec<String>) {
    adapter(config.adapter).command_line(config, inv)
}

/// One agent's knowledge: its command line, what it needs around it, and how to read it.
trait Adapter: Sync {
    fn command_line(&self, config: &AgentConfig, inv: &Invocation) -> (String, Vec<String>);

    /// Whether the prompt goes to the agent's stdin (else stdin is /dev/null).
    fn prompt_on_stdin(&self, _config: &AgentConfig, _inv: &Invocation) -> bool {
        true
    }

    /// Seeds config homes and adds the provider's variables to the environment.
    fn prepare(
        &self,
        _config: &AgentConfig,
        _inv: &Invocation,
        _env: &mut AgentEnv,
    ) -> Result<(), AgentError> {
        Ok(())
    }

    /// A reader of the agent's stdout, fed line by line while the agent runs.
    fn events(&self, config: &AgentConfig, inv: &Invocation) -> Box<dyn Events>;
}

fn adapter(kind: AdapterKind) -> &'static dyn Adapter {
    match kind {
        AdapterKind::Codex => &codex::Codex,
        AdapterKind::Claude => &claude::Claude,
        AdapterKind::Aider => &aider::Aider,
        AdapterKind::Gemini => &gemini::Gemini,
        AdapterKind::Command => &command::Command,
    }
}

/// Reads one agent's stdout as it streams, then judges the run.
trait Events: Send {
    fn line(&mut self, line: &str);
    /// The usage reported so far (for budgets while the agent runs).
    fn usage(&self) -> Usage {
        Usage::default()
    }
    fn finish(self: Box<Self>, end: &End) -> Report;
}

/// How the agent process ended.
struct End<'a> {
    exit_code: Option<i32>,
    signal: Option<i32>,
    /// The last few KB of stdout.
    stdout_tail: &'a str,
    /// The last few KB of stderr.
    stderr_tail: &'a str,
}

impl End<'_> {
    /// "exited with 3" / "was killed by signal 9".
    fn describe(&self) -> String {
        match (self.exit_code, self.signal) {
            (Some(code), _) => format!("exited with {code}"),
            (None, Some(signal)) => format!("was killed by signal {signal}"),
            (None, None) => "ended".into(),
        }
    }
}

/// An adapter's verdict on a run.
struct Report {
    success: bool,
    error: Option<String>,
    usage: Usage,
    final_message: Option<String>,
}

/// Whether a tool's error is the system refusing a write (Landlock, file modes) rather than the
/// tool's own complaint ("String to replace not found", …), which the model handles itself.
fn refused_by_the_system(text: &str) -> bool {
    let lower = text.to_lowercase();
    [
        "eacces",
        "eperm",
        "erofs",
        "permission denied",
        "operation not permitted",
        "read-only file system",
    ]
    .iter()
    .any(|needle| lower.contains(needle))
}

/// The text of a file the agent could write in its run directory (its last message, its
/// history, its analytics), at most the last `max` bytes: never through a symlink, never a FIFO
/// or device (see [`crate::config::read::tail_no_follow`]), whose content would otherwise reach
/// the review, the page and CI logs. `None` when missing or refused (the refusal is logged).
fn run_file_text(path: &Path, max: u64) -> Option<String> {
    match crate::config::read::tail_no_follow(path, max) {
        Ok(bytes) => bytes.map(|b| String::from_utf8_lossy(&b).into_owned()),
        Err(why) => {
            tracing::warn!("not reading {}: {why}", path.display());
            None
        }
    }
}

/// The most of an agent's last-message or history file read back (its end is kept).
const RUN_FILE_MAX: u64 = 1024 * 1024;

/// The last `max` characters of `text`, trimmed; `None` when empty.
fn tail_text(text: &str, max: usize) -> Option<String> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let skip = text.chars().count().saturating_sub(max);
    Some(text.chars().skip(skip).collect())
}

fn human(duration: Duration) -> String {
    let secs = duration.as_secs();
    if secs >= 3600 && secs.is_multiple_of(3600) {
        format!("{}h", secs / 3600)
    } else if secs >= 60 && secs.is_multiple_of(60) {
        format!("{}m", secs / 60)
    } else if secs >= 1 {
        format!("{secs}s")
    } else {
        format!("{}ms", duration.as_millis())
    }
}

fn unique_suffix() -> String {
    use std::sync::atomic::AtomicU64;
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{nanos:x}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

#[cfg(test)]
mod tests;
