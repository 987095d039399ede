//! The audit view of the review page: what `gatehouse audit` shows, read only, and recording an
//! audit from the page behind the token and the same-origin check.

use super::fixture::{Server, run_task, setup};
use super::http;
use super::webdriver::Browser;
use crate::common::TestEnv;

/// In the browser, after an accept: the audit view (from the navigation) lists the accepted
/// commit `head` with its approver.
pub(super) fn see_the_accepted_work(browser: &Browser, head: &str) {
    browser.click("#nav-audit");
    let audited = browser.wait_for(
        "the audit view",
        "const r = document.querySelector('tr.agent-commit'); \
         return r && [r.dataset.commit, r.querySelector('.approvers').textContent]",
    );
    assert_eq!(audited[0], head, "{audited}");
    assert_eq!(audited[1], "Test Author <author@example.com>", "{audited}");
}

/// A POST of the audit form as the page sends it, with `token` and `origin` as given.
fn record(server: &Server, token: Option<&str>, origin: &str) -> http::Reply {
    let host = server.addr();
    let body = token.map_or_else(String::new, |t| format!("token={t}"));
    http::request(
        &host,
        "POST",
        "/audit",
        &[
            ("Host", host.as_str()),
            ("Origin", origin),
            ("Sec-Fetch-Site", "same-origin"),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        &body,
    )
}

#[test]
fn the_audit_view_shows_what_gatehouse_audit_shows_and_records_it_behind_the_guard() {
    let env = TestEnv::new();
    let repo = setup(&env, 0);
    let run = run_task(&repo, "helpers");
    let id = run["id"].as_str().unwrap();
    let accepted = repo.gatehouse(&["review", "accept", id]);
    assert_eq!(accepted.code, 0, "{}", accepted.stderr);
    let cli = repo
        .gatehouse(&["audit", "--no-record", "--format", "json"])
        .json();
    let commit = cli["commits"][0]["commit"].as_str().unwrap().to_string();
    assert_eq!(commit, repo.git(&["rev-parse", "HEAD"]).trim(), "{cli}");
    let server = Server::start(&repo);
    let index = server.get("/");
    assert!(index.body.contains("href=\"/audit\""), "{}", index.body);

    let page = server.get("/audit");
    assert_eq!(page.status, 200, "{page:?}");
    let body = &page.body;
    assert!(
        body.contains("<strong class=\"ago\">never</strong>"),
        "{body}"
    );
    let row = body
        .split(&format!("data-commit=\"{commit}\""))
        .nth(1)
        .unwrap_or_else(|| panic!("no row of the agent commit: {body}"))
        .split("</tr>")
        .next()
        .unwrap();
    assert!(row.contains("data-task=\"helpers\""), "{row}");
    assert!(row.contains(&format!("/runs/{id}")), "{row}");
    assert!(
        row.contains("Test Author &lt;author@example.com&gt;"),
        "the approver: {row}"
    );
    let cost = cli["commits"][0]["cost_usd"].as_f64().unwrap();
    assert!(row.contains(&format!("${cost:.4}")), "the cost: {row}");
    // Today's findings on the agent's lines: the untyped helper at line 8, as the CLI says.
    let findings = cli["commits"][0]["findings"].as_array().unwrap();
    assert!(!findings.is_empty(), "{cli}");
    assert!(
        row.contains(&format!("data-findings=\"{}\"", findings.len())),
        "{row}"
    );
    for f in findings {
        let at = format!("{}:{}:{}", f["path"], f["line"], f["column"])
            .replace('"', "")
            .replace('/', "&#x2f;");
        assert!(
            row.contains(&at) && row.contains("untyped-function"),
            "{at}: {row}"
        );
    }

    // Recording changes state: refused without the token or from another site, and nothing
    // is recorded then.
    let audits = || repo.git(&["notes", "--ref", "refs/notes/gatehouse-audit", "list"]);
    let none = record(&server, None, &server.origin());
    assert_eq!(none.status, 403, "{none:?}");
    let evil = record(&server, Some(&server.token), "http://evil.example");
    assert_eq!(evil.status, 403, "{evil:?}");
    assert_eq!(audits(), "", "a refused request recorded an audit");
    let done = record(&server, Some(&server.token), &server.origin());
    assert_eq!(done.status, 303, "{done:?}");
    assert_eq!(done.header("location"), Some("/audit"));
    assert!(
        audits().contains(&commit),
        "recorded on the tip: {}",
        audits()
    );
    let after = server.get("/audit").body;
    assert!(after.contains("Recorded this audit of main"), "{after}");
    assert!(
        after.contains(" ago</strong>") && after.contains("No agent commit reached main"),
        "{after}"
    );
    let next = repo
        .gatehouse(&["audit", "--no-record", "--format", "json"])
        .json();
    assert_eq!(next["since"]["from"], "last-audit", "{next}");
    server.stop();
}
