//! `gatehouse daemon start|run|stop|status|logs|install-service|uninstall-service`, and the
//! hidden `watchdog` the daemon starts beside itself.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::ExitStatus;
use crate::config;
use crate::daemon::protocol::Command;
use crate::daemon::server::{self, Daemon};
use crate::daemon::service::{self, Manager};
use crate::daemon::{DaemonError, Paths, client, lock, logs, watchdog};
use crate::git::Repo;

/// How long `start` waits for the new daemon to answer.
const STARTUP: Duration = Duration::from_secs(10);
/// How long a CLI request may take.
const REQUEST: Duration = Duration::from_secs(5);

pub use crate::daemon::status::human as human_status;

/// `--format` of the status commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatusFormat {
    Human,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Start the daemon in the background; returns once it answers.
    Start,
    /// Run the daemon in the foreground (for systemd and launchd), logging to stderr too.
    Run {
        /// Started by `daemon start`: log only to the log file.
        #[arg(long, hide = true)]
        detached: bool,
        /// Log debug events too.
        #[arg(long, short)]
        verbose: bool,
    },
    /// Stop the daemon gracefully: runs in flight are cancelled. Returns once its process is
    /// gone; exit 2 when it is still running after the timeout.
    Stop {
        /// How long to wait for the process to exit (e.g. 30s, 2m).
        #[arg(long, value_parser = config::parse_duration, default_value = "30s")]
        timeout: Duration,
    },
    /// Whether the daemon runs, and what it is doing.
    Status {
        #[arg(long, value_enum, default_value_t = StatusFormat::Human)]
        format: StatusFormat,
    },
    /// Print the daemon's log.
    Logs {
        /// Keep printing what is appended.
        #[arg(long, short)]
        follow: bool,
        /// How many lines from the end.
        #[arg(long, short = 'n', default_value_t = 100)]
        lines: usize,
    },
    /// Write a systemd user unit (or launchd agent) that runs this repository's daemon.
    InstallService {
        /// The service manager (default: the platform's).
        #[arg(long, value_enum)]
        manager: Option<Manager>,
    },
    /// Remove the service file `install-service` wrote.
    UninstallService {
        #[arg(long, value_enum)]
        manager: Option<Manager>,
    },
    /// Started by the daemon: once the daemon's process ends, however it ends, kill what its runs
    /// left running and record them as interrupted.
    #[command(hide = true)]
    Watchdog {
        #[arg(long)]
        pid: u32,
        #[arg(long)]
        git_dir: PathBuf,
    },
}

pub fn run(args: &Args) -> anyhow::Result<ExitStatus> {
    if let Action::Watchdog { pid, git_dir } = &args.action {
        if let Some(what) = watchdog::watch(*pid, git_dir) {
            eprintln!("gatehouse: watchdog: {what}");
        }
        return Ok(ExitStatus::Success);
    }
    let repo = Repo::open_from_env()?;
    let paths = paths(&repo);
    match &args.action {
        Action::Start => start(&repo, &paths),
        Action::Run { detached, verbose } => run_foreground(&repo, &paths, *detached, *verbose),
        Action::Stop { timeout } => stop(&paths, *timeout),
        Action::Status { format } => status(&repo, &paths, *format),
        Action::Logs { follow, lines } => show_logs(&paths.log, *follow, *lines),
        Action::InstallService { manager } => install_service(&repo, &paths, *manager),
        Action::UninstallService { manager } => uninstall_service(&repo, &paths, *manager),
        Action::Watchdog { .. } => Ok(ExitStatus::Success),
    }
}

/// The daemon paths of `repo`, with the runtime dir from the environment.
pub fn paths(repo: &Repo) -> Paths {
    Paths::for_repo(repo, super::env::runtime_dir().as_deref())
}

/// The task files of the working tree that do not parse, one `file:line:column: message` each:
/// the daemon runs the other tasks and none of these (read here, as the scheduler reads them).
pub fn broken_task_files(repo: &Repo) -> Value {
    json!(
        repo.workdir()
            .map(crate::tasks::spec::problems)
            .unwrap_or_default()
    )
}

/// A line for each entry of `document["broken_task_files"]`.
pub fn broken_task_lines(document: &Value) -> String {
    document["broken_task_files"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|e| format!("task file not loaded (its task does not run; the others do): {e}\n"))
        .collect()
}

/// The daemon's status document, or `{"running": false, …}` when it does not answer.
pub fn query_status(paths: &Paths, limit: Duration) -> Value {
    match client::request_blocking(&paths.socket, Command::Status, limit) {
        Ok(status) => status,
        Err(err) => {
            let not_running = matches!(err, DaemonError::NotRunning { .. });
            json!({
                "running": false,
                "socket": paths.socket.display().to_string(),
                "pid": lock::holder(&paths.lock),
                "error": (!not_running).then(|| err.to_string()),
            })
        }
    }
}

fn ping(paths: &Paths, limit: Duration) -> Option<u64> {
    let answer = client::request_blocking(&paths.socket, Command::Ping, limit).ok()?;
    answer["pid"].as_u64()
}

fn start(repo: &Repo, paths: &Paths) -> anyhow::Result<ExitStatus> {
    if let Some(pid) = ping(paths, Duration::from_millis(500)) {
        eprintln!("gatehouse: the daemon is already running (pid {pid})");
        return Ok(ExitStatus::Success);
    }
    config::load_for(repo)?;
    paths.create_dirs()?;
    let log = crate::store::files::private_append(&paths.log)
        .with_context(|| format!("opening {}", paths.log.display()))?;
    let binary = std::env::current_exe().context("locating the gatehouse binary")?;
    let cwd = repo.workdir().unwrap_or_else(|| repo.common_dir());
    let mut command = std::process::Command::new(binary);
    command
        .args(["daemon", "run", "--detached"])
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    for var in super::env::git_local_vars() {
        command.env_remove(var);
    }
    // SAFETY: setsid is async-signal-safe; it detaches the child from the terminal's session so
    // closing the terminal does not stop the daemon.
    unsafe {
        command.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut child = command.spawn().context("starting the daemon")?;
    let started = Instant::now();
    while started.elapsed() < STARTUP {
        if let Some(pid) = ping(paths, Duration::from_millis(200)) {
            eprintln!(
                "gatehouse: the daemon is running (pid {pid}, socket {})",
                paths.socket.display()
            );
            return Ok(ExitStatus::Success);
        }
        // Exited: lost a race to another start (whose daemon will answer), or failed.
        if let Ok(Some(status)) = child.try_wait()
            && lock::holder(&paths.lock).is_none()
            && started.elapsed() > Duration::from_millis(500)
        {
            bail!("the daemon exited ({status}); see {}", paths.log.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    bail!(
        "the daemon did not answer within {} s; see {}",
        STARTUP.as_secs(),
        paths.log.display()
    )
}

fn run_foreground(
    repo: &Repo,
    paths: &Paths,
    detached: bool,
    verbose: bool,
) -> anyhow::Result<ExitStatus> {
    let settings = config::load_for(repo)?;
    paths.create_dirs()?;
    logs::init(&paths.log, !detached, verbose)?;
    let held = lock::Lock::acquire(&paths.lock)?;
    // Agents must not outlive a daemon killed with -9 until the next start.
    let cwd = repo.workdir().unwrap_or_else(|| repo.common_dir());
    let guard = match watchdog::spawn(repo.git_dir(), cwd) {
        Ok(guard) => {
            tracing::info!(pid = guard.pid(), "watchdog started");
            Some(guard)
        }
        Err(e) => {
            tracing::warn!("no watchdog: if this daemon is killed, its agents run on: {e}");
            None
        }
    };
    let listener_path = paths.socket.clone();
    let daemon = std::sync::Arc::new(Daemon::new(repo, paths.clone(), settings.daemon));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let result = runtime.block_on(async {
        let listener = server::bind(&listener_path)?;
        server::run(daemon, listener, shutdown_signal()).await
    });
    // A warm still running on a blocking thread is abandoned; the cache stays consistent.
    runtime.shutdown_timeout(Duration::from_secs(2));
    let _ = std::fs::remove_file(&listener_path);
    drop(held);
    drop(guard);
    result?;
    Ok(ExitStatus::Success)
}

/// SIGTERM or SIGINT.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM"),
                _ = int.recv() => tracing::info!("SIGINT"),
            }
        }
        _ => std::future::pending().await,
    }
}

/// Asks the daemon to stop (or, when it does not answer, sends it SIGTERM), then waits until
/// its process is gone.
fn stop(paths: &Paths, timeout: Duration) -> anyhow::Result<ExitStatus> {
    let started = Instant::now();
    let holder = lock::holder(&paths.lock);
    let pid = match client::request_blocking(&paths.socket, Command::Stop, REQUEST.min(timeout / 2))
    {
        Ok(answer) => answer["pid"]
            .as_u64()
            .and_then(|p| u32::try_from(p).ok())
            .or(holder),
        Err(DaemonError::NotRunning { .. }) if holder.is_none() => {
            eprintln!("gatehouse: no daemon is running for this repository");
            return Ok(ExitStatus::Success);
        }
        Err(DaemonError::Refused { message, .. }) => {
            bail!("the daemon refused to stop: {message}")
        }
        Err(err) => {
            let Some(pid) = holder.filter(|pid| lock::is_daemon(*pid)) else {
                return Err(err.into());
            };
            eprintln!("gatehouse: the daemon (pid {pid}) does not answer ({err}); sending SIGTERM");
            // SAFETY: kill has no memory preconditions; the pid holds this repository's lock
            // and runs `gatehouse daemon run`.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
            Some(pid)
        }
    };
    let Some(pid) = pid else {
        eprintln!("gatehouse: the daemon stopped");
        return Ok(ExitStatus::Success);
    };
    while crate::tasks::queue::alive(i64::from(pid)) && started.elapsed() < timeout {
        std::thread::sleep(Duration::from_millis(20));
    }
    if crate::tasks::queue::alive(i64::from(pid)) {
        bail!(
            "the daemon (pid {pid}) is still running {} s after it was asked to stop (it may be \
             cancelling runs or stuck: see {}); `kill -9 {pid}` ends it at once (its runs then \
             count as interrupted)",
            timeout.as_secs(),
            paths.log.display()
        );
    }
    eprintln!("gatehouse: the daemon stopped (pid {pid})");
    Ok(ExitStatus::Success)
}

fn status(repo: &Repo, paths: &Paths, format: StatusFormat) -> anyhow::Result<ExitStatus> {
    let mut status = query_status(paths, REQUEST);
    status["broken_task_files"] = broken_task_files(repo);
    let text = match format {
        StatusFormat::Json => format!("{status}\n"),
        StatusFormat::Human => human_status(&status) + &broken_task_lines(&status),
    };
    std::io::stdout().write_all(text.as_bytes())?;
    Ok(ExitStatus::Success)
}

fn show_logs(log: &Path, follow: bool, lines: usize) -> anyhow::Result<ExitStatus> {
    let mut stdout = std::io::stdout().lock();
    let text = std::fs::read(log).unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let all: Vec<&str> = text.lines().collect();
    for line in &all[all.len().saturating_sub(lines)..] {
        writeln!(stdout, "{line}")?;
    }
    stdout.flush()?;
    if !follow {
        return Ok(ExitStatus::Success);
    }
    let mut offset = text.len() as u64;
    loop {
        std::thread::sleep(Duration::from_millis(250));
        let len = std::fs::metadata(log).map_or(0, |m| m.len());
        if len < offset {
            offset = 0; // rotated
        }
        if len > offset {
            let bytes = std::fs::read(log).unwrap_or_default();
            let start = usize::try_from(offset).unwrap_or(0).min(bytes.len());
            stdout.write_all(&bytes[start..])?;
            stdout.flush()?;
            offset = bytes.len() as u64;
        }
    }
}

fn install_service(
    repo: &Repo,
    paths: &Paths,
    manager: Option<Manager>,
) -> anyhow::Result<ExitStatus> {
    let file = service_file(repo, paths, manager)?;
    if let Some(dir) = file.path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&file.path, &file.text)
        .with_context(|| format!("writing {}", file.path.display()))?;
    println!("{}", file.path.display());
    eprintln!(
        "gatehouse: wrote {}; load it with:\n  {}",
        file.path.display(),
        file.activate
    );
    Ok(ExitStatus::Success)
}

fn uninstall_service(
    repo: &Repo,
    paths: &Paths,
    manager: Option<Manager>,
) -> anyhow::Result<ExitStatus> {
    let file = service_file(repo, paths, manager)?;
    match std::fs::remove_file(&file.path) {
        Ok(()) => eprintln!(
            "gatehouse: removed {} (unload it first: {})",
            file.path.display(),
            file.deactivate
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("gatehouse: no service file at {}", file.path.display());
        }
        Err(e) => return Err(e).with_context(|| format!("removing {}", file.path.display())),
    }
    Ok(ExitStatus::Success)
}

fn service_file(
    repo: &Repo,
    paths: &Paths,
    manager: Option<Manager>,
) -> anyhow::Result<service::ServiceFile> {
    let home = super::env::home().context("HOME is not set: cannot place the service file")?;
    let binary = std::env::current_exe().context("locating the gatehouse binary")?;
    let repository = repo.workdir().unwrap_or_else(|| repo.common_dir());
    let repository = repository
        .canonicalize()
        .unwrap_or_else(|_| repository.to_path_buf());
    Ok(service::render(
        manager.unwrap_or_else(Manager::native),
        &binary,
        &repository,
        paths,
        &home,
    ))
}
