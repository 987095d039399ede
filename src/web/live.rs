//! Live updates: a server-sent event stream that names a new version whenever the runs change
//! (state, tokens, cost, decision) or a working agent's log grows; the page then fetches itself
//! again. Reading the database once a second works whether or not a daemon runs the tasks.

use std::convert::Infallible;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};

use super::{App, WebError, blocking};
use crate::store::Store;

/// How often the database is looked at.
const POLL: Duration = Duration::from_secs(1);

/// A short digest of everything the pages show that changes while runs go on.
pub fn version(app: &App) -> Result<String, WebError> {
    let repo = app.repo()?;
    let state_dir = repo.state_dir();
    let store = Store::open(&state_dir)?;
    let mut hasher = DefaultHasher::new();
    for run in store.runs(&[])? {
        (&run.id, run.state.as_str(), run.tokens.total()).hash(&mut hasher);
        (&run.finished_at, &run.decided_by, &run.branch).hash(&mut hasher);
        run.cost_usd.map(f64::to_bits).hash(&mut hasher);
        if run.state.is_active() {
            let log = crate::tasks::run::run_dir(&state_dir, &run.id).join(crate::agents::LOG_FILE);
            std::fs::metadata(log)
                .map(|m| m.len())
                .ok()
                .hash(&mut hasher);
        }
    }
    if let Ok(head) = repo.resolve_commit("HEAD") {
        head.hash(&mut hasher);
    }
    Ok(format!("{:016x}", hasher.finish()))
}

/// `GET /events`: `event: version` with the current version now and whenever it changes; ends
/// when the server shuts down.
pub(crate) async fn events(
    State(app): State<Arc<App>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let stopping = app.stopping.subscribe();
    let state = (app, stopping, String::new());
    let stream = stream::unfold(state, |(app, mut stopping, last)| async move {
        loop {
            if *stopping.borrow() {
                return None;
            }
            let current = {
                let app = app.clone();
                blocking(move || version(&app)).await.unwrap_or_default()
            };
            if !current.is_empty() && current != last {
                let event = Event::default().event("version").data(current.clone());
                return Some((Ok(event), (app, stopping, current)));
            }
            tokio::select! {
                () = tokio::time::sleep(POLL) => {}
                _ = stopping.changed() => return None,
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}
