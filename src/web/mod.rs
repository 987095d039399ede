//! The review page: a local web server (axum on the existing tokio) bound to 127.0.0.1 that shows
//! the queue, the runs, each review (goal, diff with findings, acceptance output, the agent's last
//! message), the cost per task kind and the audit of agent-written code, and lets the reviewer
//! accept, reject or request changes (and record an audit).
//!
//! Everything is read from the state database and the repository on each request, so the page
//! works without a daemon and always shows what the CLI would. Every request needs the token the
//! server printed (a cookie after the first visit); requests that change anything also need it in
//! the form and must come from the page itself (`Origin`, `Sec-Fetch-Site`) to the right host
//! (`Host`), so neither another site (CSRF) nor a rebound DNS name can act on it.

mod audit;
mod costs;
mod diff;
mod guard;
mod live;
mod review;
mod routes;
mod views;

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

pub use guard::new_token;

/// What can go wrong serving a page.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("cannot open the repository at {path}")]
    Repo {
        path: PathBuf,
        #[source]
        source: crate::git::GitError,
    },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("git: {0}")]
    Git(#[from] git2::Error),
    #[error("rendering the page: {0}")]
    Template(#[from] minijinja::Error),
    #[error(transparent)]
    Config(#[from] crate::config::LoadError),
    #[error("auditing: {0}")]
    Audit(#[from] crate::tasks::audit::AuditError),
    #[error("no run `{0}`")]
    NoRun(String),
    #[error("a worker thread failed: {0}")]
    Join(String),
    #[error("serving: {0}")]
    Io(#[from] std::io::Error),
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = match self {
            WebError::NoRun(_) => StatusCode::NOT_FOUND,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let text = format!("{self}");
        let page = views::render_error(status.as_u16(), &text).unwrap_or(text);
        (status, Html(page)).into_response()
    }
}

/// What a decision on a review did, or why it did nothing.
#[derive(Debug)]
pub enum ActionError {
    /// This gatehouse cannot do it yet (HTTP 501).
    NotImplemented(String),
    /// It was refused or failed; the review stays as it was (HTTP 409).
    Failed(String),
}

/// One decision on a ready run: `(repository directory, run id, the reviewer's message)` → what
/// happened, in words.
pub type Action =
    Arc<dyn Fn(&std::path::Path, &str, &str) -> Result<String, ActionError> + Send + Sync>;

/// The decisions the page's buttons make; the CLI supplies them, so the page and
/// `gatehouse review accept|reject|request-changes` share one implementation.
#[derive(Clone)]
pub struct Actions {
    pub accept: Action,
    pub reject: Action,
    pub request_changes: Action,
}

/// Where the server looks and who may use it.
pub struct Options {
    /// The repository's working tree (or git directory when bare).
    pub repo_dir: PathBuf,
    /// The token every request must carry.
    pub token: String,
    pub actions: Actions,
}

/// Shared by every request.
pub(crate) struct App {
    repo_dir: PathBuf,
    guard: guard::Guard,
    actions: Actions,
    /// Decisions run one at a time: they merge into the user's checkout.
    deciding: Mutex<()>,
    /// Set when the server stops, so the live streams end and shutdown does not wait on them.
    stopping: tokio::sync::watch::Sender<bool>,
    /// What the last decision on a run did, shown once on its page after the redirect.
    flash: Mutex<std::collections::HashMap<String, String>>,
}

/// The URL to open: the page with the token, which the first visit trades for a cookie.
pub fn url(port: u16, token: &str) -> String {
    format!("http://127.0.0.1:{port}/?token={token}")
}

/// Serves the page on `listener` (bound to 127.0.0.1 by the caller) until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    options: Options,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), WebError> {
    let port = listener.local_addr()?.port();
    let app = Arc::new(App {
        repo_dir: options.repo_dir,
        guard: guard::Guard::new(options.token, port),
        actions: options.actions,
        deciding: Mutex::new(()),
        stopping: tokio::sync::watch::Sender::new(false),
        flash: Mutex::new(std::collections::HashMap::new()),
    });
    let stopping = app.stopping.clone();
    let router = routes::router(app);
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            shutdown.await;
            stopping.send_replace(true);
        })
        .await?;
    Ok(())
}

/// Runs blocking work (SQLite, git) off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, WebError> + Send + 'static,
) -> Result<T, WebError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| WebError::Join(e.to_string()))?
}

impl App {
    fn set_flash(&self, id: &str, message: String) {
        let mut flash = self.flash.lock().unwrap_or_else(|e| e.into_inner());
        flash.insert(id.to_string(), message);
    }

    /// The flash of run `id` (its full id or the prefix the decision used), once.
    fn take_flash(&self, id: &str) -> Option<String> {
        let mut flash = self.flash.lock().unwrap_or_else(|e| e.into_inner());
        let key = flash.keys().find(|k| id.starts_with(k.as_str()))?.clone();
        flash.remove(&key)
    }

    fn repo(&self) -> Result<crate::git::Repo, WebError> {
        crate::git::Repo::open(&self.repo_dir).map_err(|source| WebError::Repo {
            path: self.repo_dir.clone(),
            source,
        })
    }
}
