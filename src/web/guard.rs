//! Who may use the page: the right `Host` (no DNS rebinding), the token (from the printed URL,
//! then a cookie), and for anything that changes state the token in the request itself plus a
//! same-origin `Origin`/`Sec-Fetch-Site` (no cross-site request forgery).

use std::io::Read;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{COOKIE, HOST, LOCATION, ORIGIN, SET_COOKIE};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::App;

/// A fresh random token: 128 bits from the kernel, as hex.
pub fn new_token() -> std::io::Result<String> {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The token and the port the server answers on.
pub(crate) struct Guard {
    token: String,
    port: u16,
    /// Cookies are not scoped by port: the name carries it, so two servers do not collide.
    cookie: String,
}

impl Guard {
    pub fn new(token: String, port: u16) -> Guard {
        Guard {
            token,
            port,
            cookie: format!("gatehouse_{port}"),
        }
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    /// `Host` names this server: `127.0.0.1:PORT` or `localhost:PORT`, nothing else.
    pub fn host_ok(&self, headers: &HeaderMap) -> bool {
        let Some(host) = headers.get(HOST).and_then(|h| h.to_str().ok()) else {
            return false;
        };
        let host = host.to_ascii_lowercase();
        host == format!("127.0.0.1:{}", self.port) || host == format!("localhost:{}", self.port)
    }

    /// A state-changing request comes from this page: `Origin` is present and is this server,
    /// and `Sec-Fetch-Site`, when the browser sends it, says `same-origin`.
    pub fn same_origin(&self, headers: &HeaderMap) -> Result<(), String> {
        let origin = headers.get(ORIGIN).and_then(|h| h.to_str().ok());
        let allowed = [
            format!("http://127.0.0.1:{}", self.port),
            format!("http://localhost:{}", self.port),
        ];
        match origin {
            Some(o) if allowed.iter().any(|a| a.eq_ignore_ascii_case(o)) => {}
            Some(o) => return Err(format!("the request came from another site ({o})")),
            None => return Err("the request carries no Origin header".into()),
        }
        match headers.get("sec-fetch-site").and_then(|h| h.to_str().ok()) {
            None | Some("same-origin") => Ok(()),
            Some(other) => Err(format!("the request is {other}, not same-origin")),
        }
    }

    /// `candidate` is the token (compared in constant time).
    pub fn token_matches(&self, candidate: &str) -> bool {
        let (a, b) = (self.token.as_bytes(), candidate.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }

    fn cookie_token<'h>(&self, headers: &'h HeaderMap) -> Option<&'h str> {
        headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|h| h.to_str().ok())
            .flat_map(|h| h.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == self.cookie)
            .map(|(_, value)| value)
    }

    fn set_cookie(&self) -> String {
        format!(
            "{}={}; Path=/; HttpOnly; SameSite=Strict",
            self.cookie, self.token
        )
    }
}

/// `token=…` of a query string.
fn query_token(query: Option<&str>) -> Option<&str> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| *name == "token")
        .map(|(_, value)| value)
}

fn refuse(why: &str) -> Response {
    (StatusCode::FORBIDDEN, format!("refused: {why}\n")).into_response()
}

/// The middleware in front of every route.
pub(crate) async fn check(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let guard = &app.guard;
    let headers = request.headers();
    if !guard.host_ok(headers) {
        return refuse(&format!(
            "this page answers only as 127.0.0.1:{port} or localhost:{port}",
            port = guard.port
        ));
    }
    if request.uri().path().starts_with("/static/") {
        return next.run(request).await;
    }
    let reading = matches!(*request.method(), Method::GET | Method::HEAD);
    if !reading {
        // The token itself is checked by the handler, from the form.
        if let Err(why) = guard.same_origin(headers) {
            return refuse(&why);
        }
        return next.run(request).await;
    }
    if let Some(token) = query_token(request.uri().query()) {
        if !guard.token_matches(token) {
            return refuse("wrong token: open the URL `gatehouse review serve` printed");
        }
        // Trade the token in the URL for a cookie, and take it out of the address bar.
        let path = request.uri().path().to_string();
        return (
            StatusCode::SEE_OTHER,
            [(SET_COOKIE, guard.set_cookie()), (LOCATION, path)],
        )
            .into_response();
    }
    match guard.cookie_token(headers) {
        Some(token) if guard.token_matches(token) => next.run(request).await,
        _ => {
            refuse("no token: open the URL `gatehouse review serve` printed (it carries the token)")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn only_this_host_and_port() {
        let g = Guard::new("t".into(), 4242);
        assert!(g.host_ok(&headers(&[("host", "127.0.0.1:4242")])));
        assert!(g.host_ok(&headers(&[("host", "LOCALHOST:4242")])));
        for host in [
            "evil.example:4242",
            "127.0.0.1:4243",
            "127.0.0.1",
            "localhost",
        ] {
            assert!(!g.host_ok(&headers(&[("host", host)])), "{host}");
        }
        assert!(!g.host_ok(&HeaderMap::new()));
    }

    #[test]
    fn same_origin_needs_origin_and_same_site() {
        let g = Guard::new("t".into(), 4242);
        assert!(
            g.same_origin(&headers(&[("origin", "http://127.0.0.1:4242")]))
                .is_ok()
        );
        assert!(
            g.same_origin(&headers(&[
                ("origin", "http://localhost:4242"),
                ("sec-fetch-site", "same-origin")
            ]))
            .is_ok()
        );
        let refused = [
            vec![("origin", "http://evil.example")],
            vec![("origin", "http://127.0.0.1:4243")],
            vec![("origin", "null")],
            vec![],
            vec![
                ("origin", "http://127.0.0.1:4242"),
                ("sec-fetch-site", "cross-site"),
            ],
        ];
        for case in refused {
            assert!(g.same_origin(&headers(&case)).is_err(), "{case:?}");
        }
    }

    #[test]
    fn tokens_from_query_and_cookie() {
        let g = Guard::new("abc123".into(), 7);
        assert!(g.token_matches("abc123"));
        assert!(!g.token_matches("abc124") && !g.token_matches("") && !g.token_matches("abc1234"));
        assert_eq!(query_token(Some("a=1&token=xyz")), Some("xyz"));
        assert_eq!(query_token(Some("tokens=xyz")), None);
        let h = headers(&[("cookie", "gatehouse_8=no; gatehouse_7=abc123")]);
        assert_eq!(g.cookie_token(&h), Some("abc123"));
        assert!(g.set_cookie().starts_with("gatehouse_7=abc123;"));
        let t = new_token().unwrap();
        assert_eq!(t.len(), 32);
        assert_ne!(t, new_token().unwrap());
    }
}
