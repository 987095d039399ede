//! The routes: the overview, a run (the review), the cost view, the audit view, the live stream,
//! the decisions (POST) and two static files; every response gets headers that keep the page to
//! itself.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{from_fn_with_state, map_response};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use minijinja::value::Serde;
use minijinja::{Value, context};
use serde::Deserialize;

use super::{ActionError, App, WebError, blocking, guard, live, views};
use crate::store::Store;

pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/runs/{id}", get(run))
        .route("/runs/{id}/{action}", post(decide))
        .route("/costs", get(costs))
        .route("/audit", get(super::audit::show).post(super::audit::record))
        .route("/events", get(live::events))
        .route("/static/app.js", get(script))
        .route("/static/style.css", get(style))
        .layer(from_fn_with_state(app.clone(), guard::check))
        .layer(map_response(protect))
        .with_state(app)
}

/// The page loads only its own script and style, is never framed, and sends no referrer to
/// other sites (`same-origin`, not `no-referrer`: with that, browsers send `Origin: null` on the
/// page's own form posts, which the guard must refuse).
async fn protect(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (
            "content-security-policy",
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "same-origin"),
        ("x-frame-options", "DENY"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
        .entry(CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

fn store(app: &App) -> Result<(crate::git::Repo, Store), WebError> {
    let repo = app.repo()?;
    let store = Store::open(&repo.state_dir())?;
    Ok((repo, store))
}

async fn index(State(app): State<Arc<App>>) -> Result<Html<String>, WebError> {
    blocking(move || {
        let (_, store) = store(&app)?;
        let overview = views::overview(&store)?;
        Ok(Html(views::render(
            "index.html",
            context! {
                title => "Reviews and runs", nav => "index",
                version => live::version(&app)?,
                overview => Value::from(Serde(&overview)),
            },
        )?))
    })
    .await
}

async fn costs(State(app): State<Arc<App>>) -> Result<Html<String>, WebError> {
    blocking(move || {
        let (_, store) = store(&app)?;
        let kinds = super::costs::costs(&store)?;
        Ok(Html(views::render(
            "costs.html",
            context! { title => "Cost per task kind", nav => "costs", version => live::version(&app)?, kinds => Value::from(Serde(&kinds)) },
        )?))
    })
    .await
}

/// The run page, with a notice above it (what a decision did, or why it did nothing).
fn run_html(app: &App, id: &str, notice: Option<(&str, String)>) -> Result<String, WebError> {
    let (repo, store) = store(app)?;
    let page = views::run_page(&repo, &store, id)?;
    let notice = notice.or_else(|| app.take_flash(&page.run.id).map(|m| ("ok", m)));
    Ok(views::render(
        "run.html",
        context! {
            title => format!("Run {} of {}", page.run.short, page.run.task),
            nav => "run", version => live::version(app)?, token => app.guard.token(),
            notice => notice.as_ref().map(|(_, m)| m.clone()),
            notice_kind => notice.as_ref().map(|(k, _)| *k),
            page => Value::from(Serde(&page)),
        },
    )?)
}

async fn run(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<Html<String>, WebError> {
    blocking(move || Ok(Html(run_html(&app, &id, None)?))).await
}

/// The fields of a decision's form.
#[derive(Debug, Deserialize)]
pub(crate) struct Decision {
    #[serde(default)]
    pub(crate) token: String,
    #[serde(default)]
    message: String,
}

/// `POST /runs/ID/accept|reject|request-changes`: needs the token in the form (the guard has
/// checked `Host` and the origin already).
async fn decide(
    State(app): State<Arc<App>>,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<Decision>,
) -> Result<Response, WebError> {
    if !app.guard.token_matches(&form.token) {
        return Ok((
            StatusCode::FORBIDDEN,
            "refused: the request carries no valid token\n",
        )
            .into_response());
    }
    let act = match action.as_str() {
        "accept" => app.actions.accept.clone(),
        "reject" => app.actions.reject.clone(),
        "request-changes" => app.actions.request_changes.clone(),
        _ => return Ok((StatusCode::NOT_FOUND, "no such decision\n").into_response()),
    };
    blocking(move || {
        let outcome = {
            let _one_at_a_time = app.deciding.lock().unwrap_or_else(|e| e.into_inner());
            act(&app.repo_dir, &id, form.message.trim())
        };
        let (status, kind, message) = match outcome {
            Ok(message) => {
                app.set_flash(&id, message);
                let location = format!("/runs/{id}");
                return Ok((StatusCode::SEE_OTHER, [(LOCATION, location)]).into_response());
            }
            Err(ActionError::NotImplemented(m)) => (StatusCode::NOT_IMPLEMENTED, "error", m),
            Err(ActionError::Failed(m)) => (StatusCode::CONFLICT, "error", m),
        };
        let page = run_html(&app, &id, Some((kind, message)))?;
        Ok((status, Html(page)).into_response())
    })
    .await
}

async fn script() -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("static/app.js"),
    )
}

async fn style() -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("static/style.css"),
    )
}
