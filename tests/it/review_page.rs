//! The review page (`gatehouse review serve`): a real headless Chromium loads it, watches a run
//! go from running to ready without a reload, sees the review's findings at their lines, presses
//! accept and the branch is merged; raw requests show what the guard refuses.

mod audit;
mod fixture;
mod http;
mod webdriver;

use std::process::Stdio;

use serde_json::Value;

use crate::common::{TestEnv, TestRepo};
use fixture::{Changes, Server, post, run_task, runs, setup, wait_for_state};
use webdriver::Browser;

/// Starts a run with the page open: it must show up as working, then as a review, without a
/// reload. Returns the run id and `review show --format json` of it.
fn watch_a_run_become_a_review(browser: &Browser, repo: &TestRepo<'_>) -> (String, Value) {
    // A marker a reload would lose: the updates below must come without one.
    browser.eval("window.stillTheSamePage = true; return null");
    // The agent's table sets `env`: a task run by hand honours it only once trusted.
    let trust = repo.gatehouse(&["task", "trust", "helpers"]);
    assert_eq!(trust.code, 0, "{}", trust.stderr);
    let mut task = repo
        .env
        .command(env!("CARGO_BIN_EXE_gatehouse"), &repo.root)
        .args(["task", "run", "helpers"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let working = browser.wait_for(
        "the run to show up as working",
        "const r = document.querySelector('#working tr.run'); return r && r.dataset.state",
    );
    assert!(
        ["queued", "preparing", "running", "validating"].contains(&working.as_str().unwrap()),
        "{working}"
    );
    let ready = browser.wait_for(
        "the run to become a review",
        "const r = document.querySelector('#reviews tr.run[data-state=ready]'); \
         return r && window.stillTheSamePage && r.dataset.run",
    );
    assert!(task.wait().unwrap().success(), "the task run failed");
    let id = ready.as_str().unwrap().to_string();
    let cli = repo
        .gatehouse(&["review", "show", &id, "--format", "json"])
        .json();
    let row = browser.eval(&format!(
        "const r = document.querySelector('#reviews tr[data-run=\"{id}\"]'); \
         return [...r.children].map(c => c.textContent.trim())"
    ));
    assert_eq!(row[1], "helpers");
    assert_eq!(row[4], "codex", "agent: {row}");
    assert!(row[6].as_str().unwrap().ends_with(" s"), "duration: {row}");
    assert_eq!(row[7], "24,885", "tokens: {row}");
    let cost = cli["cost_usd"].as_f64().unwrap();
    assert_eq!(row[8], format!("≈${cost:.4}"), "cost: {row}");
    (id, cli)
}

/// Opens the review from the list, as a person would, and reads it against the command line.
fn read_the_review(browser: &Browser, id: &str, cli: &Value) {
    browser.click(&format!("#reviews tr[data-run=\"{id}\"] a"));
    browser.wait_for(
        "the review",
        "return document.querySelector('#state')?.textContent === 'ready'",
    );
    let goal = browser.eval("return document.querySelector('pre.goal').textContent");
    assert_eq!(goal, cli["summary"]["goal"].as_str().unwrap().trim());
    // The findings sit right under the line they are about.
    let at = browser.eval(
        "const rows = [...document.querySelectorAll('.file[data-path=\"shop/cart.py\"] table.diff tr')]; \
         const i = rows.findIndex(r => r.classList.contains('add') && r.querySelector('td.code').textContent === 'def total(prices, tax):'); \
         if (i < 0) return null; const codes = []; \
         for (let j = i + 1; j < rows.length && rows[j].classList.contains('finding-row'); j++) codes.push(rows[j].querySelector('.finding').dataset.code); \
         return { line: rows[i].children[1].textContent, codes: codes.sort() }",
    );
    assert_eq!(at["line"], "8", "{at}");
    assert_eq!(
        at["codes"],
        serde_json::json!(["ANN001", "ANN001", "ANN201"]),
        "{at}"
    );
    let cli_findings = cli["findings"].as_array().unwrap();
    assert!(
        cli_findings.iter().all(|f| f["line"] == 8),
        "{cli_findings:?}"
    );
    let acceptance = browser.eval("return document.querySelector('#acceptance').textContent");
    assert!(
        acceptance.as_str().unwrap().contains("shop/cart.py parses"),
        "{acceptance}"
    );
    let said = browser.eval("return document.querySelector('#final-message').textContent");
    assert_eq!(
        said,
        cli["summary"]["final_message"].as_str().unwrap().trim()
    );
}

#[test]
fn a_reviewer_watches_a_run_reads_the_review_and_accepts_it_in_a_browser() {
    let env = TestEnv::new();
    let repo = setup(&env, 3);
    let server = Server::start(&repo);
    let test = "review_page::a_reviewer_watches_a_run_reads_the_review_and_accepts_it_in_a_browser";
    let Some(browser) = Browser::start(test, &env.path().join("home")) else {
        return;
    };
    browser.goto(&server.url);
    browser.wait_for(
        "the empty queue",
        "return document.querySelector('#working .empty')",
    );
    assert_eq!(
        browser.eval("return location.search"),
        "",
        "the token leaves the address bar"
    );
    let (id, cli) = watch_a_run_become_a_review(&browser, &repo);
    read_the_review(&browser, &id, &cli);
    if let Some(path) = std::env::var_os("GATEHOUSE_SCREENSHOT") {
        std::fs::write(path, browser.screenshot()).unwrap();
    }

    browser.eval(
        "document.querySelector('#message').value = 'Looks right; annotations next.'; return null",
    );
    browser.click("#accept");
    browser.wait_for(
        "the acceptance",
        "return document.querySelector('#state')?.textContent === 'accepted'",
    );
    let head = repo.git(&["rev-parse", "main"]).trim().to_string();
    let notice = browser.eval("return document.querySelector('#notice').textContent");
    assert!(
        notice
            .as_str()
            .unwrap()
            .contains(&format!("main fast-forwarded to {}", &head[..12])),
        "what accepting did, in the CLI's words: {notice}"
    );
    let landed = browser.eval("return document.querySelector('#landed').textContent");
    assert_eq!(landed, format!("main at {}", &head[..12]));
    assert_eq!(
        head,
        cli["summary"]["commit"].as_str().unwrap(),
        "main is the review's commit"
    );
    assert_eq!(
        repo.git(&["branch", "--list", "gatehouse/*"]),
        "",
        "the review branch is gone"
    );
    let run = runs(&repo)
        .into_iter()
        .find(|r| r["id"] == id.as_str())
        .unwrap();
    assert_eq!(run["state"], "accepted");
    assert_eq!(run["decision"], "Looks right; annotations next.");
    let note = repo.git(&["notes", "--ref", "refs/notes/gatehouse", "show", "main"]);
    assert!(
        note.contains("untyped-function"),
        "the accept approved the findings: {note}"
    );
    audit::see_the_accepted_work(&browser, &head);
    drop(browser);
    server.stop();
}

#[test]
fn the_page_refuses_requests_without_the_token_from_other_sites_or_for_other_hosts() {
    let env = TestEnv::new();
    let repo = setup(&env, 0);
    let run = run_task(&repo, "helpers");
    assert_eq!(run["state"], "ready", "{run}");
    let id = run["id"].as_str().unwrap();
    let server = Server::start(&repo);
    let branch = run["branch"].as_str().unwrap();
    let unchanged = |why: &str| {
        let now = runs(&repo).into_iter().find(|r| r["id"] == id).unwrap();
        assert_eq!(now["state"], "ready", "{why} changed the run");
        assert!(
            !repo.git(&["branch", "--list", branch]).is_empty(),
            "{why} deleted the branch"
        );
    };
    let evil_host = format!("evil.example:{}", server.port);
    let evil_origin = format!("http://evil.example:{}", server.port);
    let other_port = format!("http://127.0.0.1:{}", server.port + 1);
    let refused: [(&str, &Changes<'_>); 7] = [
        ("no token", &[("token", None)]),
        (
            "a wrong token",
            &[("token", Some("0123456789abcdef0123456789abcdef"))],
        ),
        (
            "another site's Origin",
            &[("Origin", Some("http://evil.example"))],
        ),
        (
            "another port's Origin",
            &[("Origin", Some(other_port.as_str()))],
        ),
        ("no Origin", &[("Origin", None), ("Sec-Fetch-Site", None)]),
        (
            "a cross-site fetch",
            &[("Sec-Fetch-Site", Some("cross-site"))],
        ),
        (
            "a rebound DNS name",
            &[
                ("Host", Some(evil_host.as_str())),
                ("Origin", Some(evil_origin.as_str())),
            ],
        ),
    ];
    for (why, changes) in refused {
        for action in ["accept", "reject"] {
            let reply = post(&server, id, action, changes);
            assert_eq!(reply.status, 403, "{action} with {why}: {reply:?}");
            assert!(reply.body.starts_with("refused: "), "{why}: {}", reply.body);
            unchanged(why);
        }
    }
    // Reading needs the token too, and the right Host.
    let addr = server.addr();
    assert_eq!(http::request(&addr, "GET", "/", &[], "").status, 403);
    assert_eq!(
        http::request(&addr, "GET", "/?token=0000", &[], "").status,
        403
    );
    let rebound = http::request(
        &addr,
        "GET",
        &format!("/?token={}", server.token),
        &[("Host", evil_host.as_str())],
        "",
    );
    assert_eq!(rebound.status, 403, "{rebound:?}");
    let first = http::request(&addr, "GET", &format!("/?token={}", server.token), &[], "");
    assert_eq!(first.status, 303, "{first:?}");
    let cookie = first.header("set-cookie").unwrap();
    assert!(
        cookie.starts_with(&format!("gatehouse_{}={};", server.port, server.token))
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert_eq!(first.header("location"), Some("/"));
    let page = server.get("/");
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains(id) && page.body.contains("24,885"),
        "{}",
        page.body
    );
    let csp = page.header("content-security-policy").unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    // Bound to 127.0.0.1 only: another loopback address has nothing listening.
    assert!(std::net::TcpStream::connect(("127.0.0.2", server.port)).is_err());

    // The same request, done right, is carried out.
    let rejected = post(&server, id, "reject", &[]);
    assert_eq!(rejected.status, 303, "{rejected:?}");
    let now = runs(&repo).into_iter().find(|r| r["id"] == id).unwrap();
    assert_eq!(now["state"], "rejected");
    assert_eq!(now["decision"], "from the page");
    assert_eq!(
        repo.git(&["branch", "--list", branch]),
        "",
        "reject deletes the branch"
    );
    let again = post(&server, id, "accept", &[]);
    assert_eq!(
        again.status, 409,
        "a decided run cannot be accepted: {again:?}"
    );
    assert!(
        again.body.contains("not waiting for review"),
        "{}",
        again.body
    );
    server.stop();
}

#[test]
fn the_cost_view_counts_failed_runs_per_kind() {
    let env = TestEnv::new();
    let repo = setup(&env, 0);
    let ok = run_task(&repo, "helpers");
    assert_eq!(ok["state"], "ready", "{ok}");
    let failed = run_task(&repo, "helpers-broken");
    assert_eq!(failed["state"], "failed", "{failed}");
    let (ok_cost, failed_cost) = (
        ok["cost_usd"].as_f64().unwrap(),
        failed["cost_usd"].as_f64().unwrap(),
    );
    assert!(failed_cost > 0.0, "the failed run cost something: {failed}");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let server = Server::start_with(&repo, &["--port", &port.to_string()]);
    assert_eq!(server.port, port, "--port is the port");
    let page = server.get("/costs");
    assert_eq!(page.status, 200, "{page:?}");
    let kind = page
        .body
        .split("data-kind=\"helpers\"")
        .nth(1)
        .unwrap_or_else(|| panic!("no helpers kind: {}", page.body));
    let money = |v: f64| format!("${v:.4}");
    assert!(
        kind.contains(&format!(
            "<strong class=\"total\">{}</strong> over 2 runs",
            money(ok_cost + failed_cost)
        )),
        "{kind}"
    );
    assert!(
        kind.contains(&format!(
            "<strong class=\"failed-cost\">{}</strong> on 1 failed run<",
            money(failed_cost)
        )),
        "{kind}"
    );
    let today = ok["finished_at"].as_str().unwrap()[..10].to_string();
    assert!(kind.contains(&format!("data-day=\"{today}\"")), "{kind}");
    server.stop();
}

#[test]
fn requesting_changes_from_the_page_runs_a_second_round_on_the_same_branch() {
    let env = TestEnv::new();
    let repo = setup(&env, 0);
    let first = run_task(&repo, "helpers");
    let id = first["id"].as_str().unwrap();
    let branch = first["branch"].as_str().unwrap();
    let tip = repo.git(&["rev-parse", branch]);
    let server = Server::start(&repo);
    let empty = post(&server, id, "request-changes", &[("message", Some(""))]);
    assert_eq!(empty.status, 409, "a request without a comment: {empty:?}");
    assert!(
        empty.body.contains("say what should change"),
        "{}",
        empty.body
    );
    let asked = post(&server, id, "request-changes", &[]);
    assert_eq!(asked.status, 303, "{asked:?}");
    assert_eq!(
        wait_for_state(&repo, id, "changes_requested")["decision"],
        "from the page"
    );
    let second = runs(&repo)
        .into_iter()
        .find(|r| r["id"] != id)
        .expect("a second round");
    let second_id = second["id"].as_str().unwrap().to_string();
    // No daemon: the page runs the round itself.
    let second = wait_for_state(&repo, &second_id, "ready");
    assert_eq!(second["branch"], branch, "{second}");
    let moved = repo.git(&["rev-parse", branch]);
    assert_ne!(
        moved, tip,
        "the second round committed on the review branch"
    );
    let parent = repo.git(&["rev-parse", &format!("{}^", moved.trim())]);
    assert_eq!(parent, tip, "on top of the first round's commit");
    let page = server.get(&format!("/runs/{id}"));
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Asked for changes: round 2"),
        "the flash: {}",
        page.body
    );
    let rounds = page
        .body
        .split("id=\"rounds\"")
        .nth(1)
        .unwrap_or_else(|| panic!("no rounds: {}", page.body));
    assert_eq!(rounds.matches("<tr class=\"round").count(), 2, "{rounds}");
    assert!(
        rounds.contains("from the page"),
        "the comment the round answers: {rounds}"
    );
    let total = first["cost_usd"].as_f64().unwrap() + second["cost_usd"].as_f64().unwrap();
    assert!(
        rounds.contains(&format!("${total:.4} in all")),
        "costs summed: {rounds}"
    );
    server.stop();
}

/// `review serve --open` hands the browser a private file that redirects to the page, never the
/// URL itself: a command line is readable by every process of the user (`/proc/PID/cmdline`),
/// an agent in a run included, and the token accepts reviews.
#[test]
fn open_gives_the_browser_a_private_redirect_file_not_the_token() {
    use std::io::BufRead;
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    let repo = env.repo("shop");
    repo.write("a.txt", "a\n");
    repo.commit("base");
    let bin = env.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let seen = env.path().join("opened");
    let opener = bin.join("xdg-open");
    std::fs::write(
        &opener,
        format!("#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\n", seen.display()),
    )
    .unwrap();
    std::fs::set_permissions(&opener, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let mut server = env
        .command(env!("CARGO_BIN_EXE_gatehouse"), &repo.root)
        .args(["review", "serve", "--open"])
        .env("PATH", path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut url = String::new();
    std::io::BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    let token = url.trim().split_once("?token=").unwrap().1.to_string();
    let started = std::time::Instant::now();
    let opened = loop {
        if let Ok(text) = std::fs::read_to_string(&seen)
            && !text.is_empty()
        {
            break text.trim().to_string();
        }
        assert!(
            started.elapsed().as_secs() < 20,
            "the browser was not opened"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(
        !opened.contains(&token),
        "the token is on a command line: {opened}"
    );
    let file = std::path::PathBuf::from(&opened);
    assert!(
        file.starts_with(env.path().join("home/.local/state/gatehouse/open")),
        "{opened}"
    );
    let page = std::fs::read_to_string(&file).unwrap();
    assert!(page.contains(&format!("url={}", url.trim())), "{page}");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(file.parent().unwrap()), 0o700);
    // Stopped, the page leaves no token behind.
    unsafe { libc::kill(i32::try_from(server.id()).unwrap(), libc::SIGTERM) };
    server.wait().unwrap();
    assert!(!file.exists(), "the redirect file outlived the page");
}
