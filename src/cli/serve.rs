//! `gatehouse review serve [--open] [--port N]`: the review page on 127.0.0.1, with the token in
//! the URL it prints. The page's buttons make the same decisions as `gatehouse review
//! accept|reject|request-changes`.

use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};

use super::task::open_store;
use crate::ExitStatus;
use crate::agents::CancelToken;
use crate::git::Repo;
use crate::tasks::review::find_review;
use crate::web::{self, ActionError, Actions};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Open the page in the default browser (xdg-open, or open on macOS).
    #[arg(long)]
    open: bool,
    /// The port on 127.0.0.1 (default: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
}

pub fn run(args: &Args) -> anyhow::Result<ExitStatus> {
    let repo = Repo::open_from_env()?;
    // Fail now, not on the first page, when the state database cannot be opened.
    open_store(&repo)?;
    let dir = repo.workdir().unwrap_or(repo.git_dir()).to_path_buf();
    let token = web::new_token().context("reading random bytes for the page's token")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, args.port))
            .await
            .with_context(|| format!("cannot listen on 127.0.0.1:{}", args.port))?;
        let url = web::url(listener.local_addr()?.port(), &token);
        println!("{url}");
        eprintln!(
            "the review page of {} is at the URL above (it carries the page's token); Ctrl-C stops it",
            dir.display()
        );
        let redirect = if args.open { open_browser(&url) } else { None };
        let started = Arc::new(Started::default());
        let options = web::Options {
            repo_dir: dir,
            token,
            actions: actions(started.clone()),
        };
        let served = web::serve(listener, options, stopped()).await;
        if let Some(file) = redirect {
            let _ = std::fs::remove_file(file);
        }
        served?;
        started.stop();
        eprintln!("the review page stopped");
        anyhow::Ok(ExitStatus::Success)
    })
}

/// Resolves on Ctrl-C or SIGTERM.
async fn stopped() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        Some(()) = async { term.as_mut()?.recv().await } => {}
    }
}

/// Opens the page in the default browser without putting its token on a command line: every
/// process of the user can read `/proc/PID/cmdline`, an agent in a run included, and the token
/// lets its holder accept a review. The browser gets a file that redirects to the URL, written
/// 0600 in a 0700 directory under the state home (which runs cannot read), and removed when the
/// page stops. Returns that file.
fn open_browser(url: &str) -> Option<std::path::PathBuf> {
    let program = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let file = match redirect_file(url) {
        Ok(file) => file,
        Err(e) => {
            eprintln!(
                "cannot open a browser: cannot write the page's redirect file ({e}): open the URL above yourself"
            );
            return None;
        }
    };
    let spawned = std::process::Command::new(program)
        .arg(&file)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match spawned {
        // Reaped in the background, so it leaves no zombie while the page serves.
        Ok(mut child) => drop(std::thread::spawn(move || child.wait())),
        Err(e) => eprintln!("cannot open a browser ({program}: {e}): open the URL above yourself"),
    }
    Some(file)
}

/// Writes `<state home>/gatehouse/open/review-<pid>.html`, a page that sends the browser on to
/// `url`.
fn redirect_file(url: &str) -> std::io::Result<std::path::PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    let dir = crate::env::state_home()
        .ok_or_else(|| std::io::Error::other("no home directory"))?
        .join("gatehouse")
        .join("open");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
    let file = dir.join(format!("review-{}.html", std::process::id()));
    match std::fs::remove_file(&file) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    // The URL is ours (`http://127.0.0.1:PORT/?token=HEX`): nothing in it needs escaping.
    let page = format!(
        "<!doctype html>\n<meta charset=\"utf-8\">\n<meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta http-equiv=\"refresh\" content=\"0; url={url}\">\n\
         <title>gatehouse review page</title>\n<a href=\"{url}\">the review page</a>\n"
    );
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&file)?;
    std::io::Write::write_all(&mut out, page.as_bytes())?;
    Ok(file)
}

/// The page's buttons, wired to the review commands' own functions.
fn actions(started: Arc<Started>) -> Actions {
    Actions {
        accept: Arc::new(|dir, id, note| decided(accept(dir, id, note))),
        reject: Arc::new(|dir, id, note| decided(reject(dir, id, note))),
        request_changes: Arc::new(move |dir, id, note| {
            decided(request_changes(dir, id, note, &started))
        }),
    }
}

fn decided(outcome: anyhow::Result<String>) -> Result<String, ActionError> {
    outcome.map_err(|e| ActionError::Failed(format!("{e:#}")))
}

fn note(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_string())
}

fn accept(dir: &Path, id: &str, text: &str) -> anyhow::Result<String> {
    let repo = Repo::open(dir)?;
    let store = open_store(&repo)?;
    let run = find_review(&store, id)?;
    let accepted = super::review::accept(&repo, &store, &run, note(text))?;
    Ok(super::review::describe_accepted(&accepted))
}

fn reject(dir: &Path, id: &str, text: &str) -> anyhow::Result<String> {
    let repo = Repo::open(dir)?;
    let store = open_store(&repo)?;
    let run = find_review(&store, id)?;
    let rejected = super::review::reject(&repo, &store, &run, note(text))?;
    Ok(format!(
        "Rejected run {}: its branch {} is deleted.",
        rejected.run,
        rejected.branch.as_deref().unwrap_or("-")
    ))
}

fn request_changes(dir: &Path, id: &str, text: &str, started: &Started) -> anyhow::Result<String> {
    if text.is_empty() {
        bail!("say what should change: your comment is what the agent gets");
    }
    let repo = Repo::open(dir)?;
    let mut store = open_store(&repo)?;
    let run = find_review(&store, id)?;
    let requested = super::review::request_changes(&repo, &mut store, &run, text)?;
    let how = start_round(&repo, dir, &requested.run, started)?;
    Ok(format!(
        "Asked for changes: round {} (run {}) works on {}; {how}.",
        requested.round, requested.run, requested.branch
    ))
}

/// Rounds this server runs itself because no daemon was there to: cancelled (and recorded so)
/// when the server stops.
#[derive(Default)]
struct Started {
    runs: Mutex<Vec<(CancelToken, std::thread::JoinHandle<()>)>>,
}

impl Started {
    fn stop(&self) {
        let runs = std::mem::take(&mut *self.runs.lock().unwrap_or_else(|e| e.into_inner()));
        for (cancel, _) in &runs {
            cancel.cancel();
        }
        for (_, thread) in runs {
            let _ = thread.join();
        }
    }
}

/// Starts queued run `id`: a running daemon takes it, else a thread of this server runs it.
fn start_round(
    repo: &Repo,
    dir: &Path,
    id: &str,
    started: &Started,
) -> anyhow::Result<&'static str> {
    let poke = crate::daemon::protocol::Command::Poke {
        hook: Some("review-page".into()),
    };
    let socket = super::daemon::paths(repo).socket;
    if crate::daemon::client::request_blocking(&socket, poke, Duration::from_millis(500)).is_ok() {
        return Ok("the daemon runs it");
    }
    let store = open_store(repo)?;
    let run = store.run(id)?.context("the queued round vanished")?;
    let settings = crate::config::load_for(repo)?;
    let task = super::task::find(repo, &run.task)?;
    let agent = super::task::agent_for(&settings, &task)?;
    let cancel = CancelToken::new();
    let token = cancel.clone();
    let dir = dir.to_path_buf();
    let thread = std::thread::Builder::new()
        .name(format!("round-{id}"))
        .spawn(move || {
            let (Ok(repo), home) = (Repo::open(&dir), super::env::home()) else {
                return;
            };
            let Ok(store) = crate::store::Store::open(&repo.state_dir()) else {
                return;
            };
            let env = crate::tasks::run::Env {
                repo: &repo,
                store: &store,
                settings: &settings,
                home: home.as_deref(),
            };
            crate::tasks::run::execute(&env, &run, &task, &agent, &token);
        })?;
    started
        .runs
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((cancel, thread));
    Ok("no daemon is running, so this page runs it now (stopping the page cancels it)")
}
