//! The fixture of the review-page tests: a repository with a task whose agent (the codex
//! stand-in) adds an unannotated helper, the server as a child process with the URL it printed,
//! and decisions sent the way a browser on the page sends them.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::http;
use crate::common::{TestEnv, TestRepo};

/// What the stand-in agent appends to shop/cart.py: a helper without annotations, lines 8–9.
pub(super) const HELPER: &str =
    "\\n\\ndef total(prices, tax):\\n    return sum(prices) * (1 + tax)";

/// A repository whose `helpers` task (the codex stand-in, `sleep` seconds before it answers)
/// adds [`HELPER`]; untyped functions are review-level findings. `helpers-broken` is the same
/// task with an agent whose server fails mid-turn (a failed run that still cost tokens).
pub(super) fn setup(env: &TestEnv, sleep: u32) -> TestRepo<'_> {
    let repo = env.repo("shop");
    let codex = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/stand-ins/codex");
    let agent = |name: &str, mode: &str| {
        format!(
            "[agents.{name}]\nadapter = \"codex\"\nprogram = \"{}\"\n\
             env = {{ STANDIN_MODE = \"{mode}\", STANDIN_EDIT = \"shop/cart.py\", STANDIN_TEXT = \"{HELPER}\", STANDIN_SLEEP = \"{sleep}\" }}\n\
             price = {{ input = 1.25, cached_input = 0.125, output = 10.0 }}\n",
            codex.display()
        )
    };
    let config = format!(
        "[rules.untyped-function]\nlevel = \"review\"\n\n{}\n{}",
        agent("codex", "ok"),
        agent("broken", "midfail")
    );
    repo.write(".gatehouse/config.toml", config).write(
        "shop/cart.py",
        "\"\"\"Cart helpers.\"\"\"\n\n\ndef count(items: list[str]) -> int:\n    return len(items)\n",
    );
    for (name, agent) in [("helpers", "codex"), ("helpers-broken", "broken")] {
        repo.write(
            &format!(".gatehouse/tasks/{name}.toml"),
            format!(
                "kind = \"helpers\"\ngoal = \"Add a total() helper to shop/cart.py: the sum of the prices with tax.\"\n\
                 scope = [\"shop/**\"]\nagent = \"{agent}\"\ntimeout = \"90s\"\n\n[[accept]]\n\
                 run = '''python3 -c \"import ast; ast.parse(open('shop/cart.py').read()); print('shop/cart.py parses')\"'''\n\
                 [[accept]]\ngate = true\n"
            ),
        );
    }
    repo.commit("base");
    repo
}

/// `gatehouse review serve` in the repository, with the URL it printed.
pub(super) struct Server {
    child: Child,
    pub(super) port: u16,
    pub(super) token: String,
    pub(super) url: String,
}

impl Server {
    pub(super) fn start(repo: &TestRepo<'_>) -> Server {
        Server::start_with(repo, &[])
    }

    pub(super) fn start_with(repo: &TestRepo<'_>, args: &[&str]) -> Server {
        let mut child = repo
            .env
            .command(env!("CARGO_BIN_EXE_gatehouse"), &repo.root)
            .args(["review", "serve"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line.trim().to_string();
        let rest = url
            .strip_prefix("http://127.0.0.1:")
            .unwrap_or_else(|| panic!("serve printed {url:?}"));
        let (port, token) = rest.split_once("/?token=").unwrap();
        Server {
            port: port.parse().unwrap(),
            token: token.to_string(),
            url: url.clone(),
            child,
        }
    }

    pub(super) fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub(super) fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A GET with the cookie the first visit sets.
    pub(super) fn get(&self, path: &str) -> http::Reply {
        let cookie = format!("gatehouse_{}={}", self.port, self.token);
        http::request(
            &self.addr(),
            "GET",
            path,
            &[("Cookie", cookie.as_str())],
            "",
        )
    }

    /// Stops it as Ctrl-C would; it must end promptly and cleanly even with live pages open.
    pub(super) fn stop(mut self) {
        let pid = i32::try_from(self.child.id()).unwrap();
        // SAFETY: signals the server process this test started.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "serve ended {status}");
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "serve did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(super) fn runs(repo: &TestRepo<'_>) -> Vec<Value> {
    let out = repo.gatehouse(&["runs", "list", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.json()["runs"].as_array().cloned().unwrap_or_default()
}

/// Runs task `name` to its end (no daemon: in the foreground) and returns its run.
pub(super) fn run_task(repo: &TestRepo<'_>, name: &str) -> Value {
    // The agents' tables set `env`: a task run by hand honours it only once trusted.
    let trust = repo.gatehouse(&["task", "trust", name]);
    assert_eq!(trust.code, 0, "{}", trust.stderr);
    let out = repo.gatehouse(&["task", "run", name]);
    let all = runs(repo);
    let run = all.last().cloned().unwrap();
    assert_eq!(run["task"], name, "{}", out.stderr);
    run
}

/// Waits until run `id` is in `state` (runs list), and returns it.
pub(super) fn wait_for_state(repo: &TestRepo<'_>, id: &str, state: &str) -> Value {
    let start = Instant::now();
    loop {
        if let Some(run) = runs(repo).into_iter().find(|r| r["id"] == id)
            && (run["state"] == state || start.elapsed() > Duration::from_secs(90))
        {
            assert_eq!(run["state"], state, "{run}");
            return run;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Headers (and `token`, `message` form fields) to replace, or to leave out with `None`.
pub(super) type Changes<'a> = [(&'a str, Option<&'a str>)];

/// A decision as a browser on the page would send it, with `changes` applied to its headers
/// and form.
pub(super) fn post(server: &Server, id: &str, action: &str, changes: &Changes<'_>) -> http::Reply {
    let origin = server.origin();
    let host = server.addr();
    let mut headers: Vec<(&str, &str)> = vec![
        ("Host", host.as_str()),
        ("Origin", origin.as_str()),
        ("Sec-Fetch-Site", "same-origin"),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ];
    let mut token = Some(server.token.as_str());
    let mut message = "from the page";
    for (name, value) in changes {
        match *name {
            "token" => token = *value,
            "message" => message = value.unwrap_or_default(),
            _ => {}
        }
        if ["token", "message"].contains(name) {
            continue;
        }
        headers.retain(|(n, _)| n != name);
        if let Some(v) = value {
            headers.push((name, v));
        }
    }
    let message = message.replace(' ', "+");
    let body = match token {
        Some(t) => format!("token={t}&message={message}"),
        None => format!("message={message}"),
    };
    http::request(
        &server.addr(),
        "POST",
        &format!("/runs/{id}/{action}"),
        &headers,
        &body,
    )
}
