//! Hostile: an agent inside a run against the review page. Its run directory is its own to
//! write, and the page shows the `agent.log` there: replaced by a symlink to a secret the agent
//! cannot read, the page's server would read it and show it; replaced by a FIFO, the page
//! would wait forever for a writer.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::common::{TestEnv, TestRepo};

/// The `gatehouse review serve` of a repository, stopped when dropped.
struct Page {
    child: Child,
    port: String,
    token: String,
}

impl Page {
    fn start(repo: &TestRepo<'_>) -> Page {
        let mut child = repo
            .env
            .command(env!("CARGO_BIN_EXE_gatehouse"), &repo.root)
            .args(["review", "serve", "--port", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let rest = line.trim().strip_prefix("http://127.0.0.1:").unwrap();
        let (port, token) = rest.split_once("/?token=").unwrap();
        Page {
            port: port.to_string(),
            token: token.to_string(),
            child,
        }
    }

    /// A GET with the page's cookie, as the reviewer's browser sends it; `None` when no answer
    /// came within `limit`.
    fn get(&self, path: &str, limit: Duration) -> Option<String> {
        let addr = format!("127.0.0.1:{}", self.port);
        let mut stream = TcpStream::connect(&addr).unwrap();
        stream.set_read_timeout(Some(limit)).unwrap();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: gatehouse_{}={}\r\nConnection: close\r\n\r\n",
            self.port, self.token
        );
        stream.write_all(request.as_bytes()).unwrap();
        let mut reply = Vec::new();
        stream.read_to_end(&mut reply).ok()?;
        Some(String::from_utf8_lossy(&reply).into_owned())
    }
}

impl Drop for Page {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A repository with one task per agent script (`sh -c SCRIPT sh RUN_DIR`), named after it.
fn repo_with_agents<'e>(env: &'e TestEnv, scripts: &[(&str, &str)]) -> TestRepo<'e> {
    let repo = env.repo("r");
    let mut config = String::new();
    for (name, script) in scripts {
        config.push_str(&format!(
            "[agents.{name}]\nadapter = \"command\"\nprogram = \"/bin/sh\"\n\
             args = [\"-c\", '''{script}''', \"sh\", \"{{run_dir}}\"]\n"
        ));
        repo.write(
            &format!(".gatehouse/tasks/{name}.toml"),
            format!(
                "kind = \"docs\"\ngoal = \"Improve the notes.\"\nscope = [\"docs/**\"]\n\
                 agent = \"{name}\"\ntimeout = \"60s\"\n"
            ),
        );
    }
    repo.write(".gatehouse/config.toml", config)
        .write("docs/notes.txt", "notes\n");
    repo.commit("base");
    repo
}

/// Runs task `name` to its end; returns its run.
fn run(repo: &TestRepo<'_>, name: &str) -> Value {
    let out = repo.gatehouse(&["task", "run", name, "--wait"]);
    let runs = repo.gatehouse(&["runs", "list", "--format", "json"]).json();
    let run = runs["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["task"] == name)
        .unwrap_or_else(|| panic!("no run of {name}: {runs}\n{}", out.stderr))
        .clone();
    assert_eq!(run["state"], "failed", "{run}\n{}", out.stderr);
    run
}

#[test]
fn an_agent_cannot_make_the_review_page_show_a_secret_or_hang_through_its_log() {
    let env = TestEnv::new();
    let secret = env.path().join("home/.ssh/id_ed25519");
    std::fs::create_dir_all(secret.parent().unwrap()).unwrap();
    std::fs::write(&secret, "PRIVATE KEY 0f3c9a").unwrap();
    let link = format!(
        "echo working; rm -f \"$1/agent.log\"; ln -s {} \"$1/agent.log\"; exit 1",
        secret.display()
    );
    let fifo = "echo working; rm -f \"$1/agent.log\"; mkfifo \"$1/agent.log\"; exit 1";
    let repo = repo_with_agents(&env, &[("link", &link), ("fifo", fifo)]);
    let linked = run(&repo, "link");
    let fifoed = run(&repo, "fifo");
    let page = Page::start(&repo);
    let limit = Duration::from_secs(20);

    let id = linked["id"].as_str().unwrap();
    let body = page
        .get(&format!("/runs/{id}"), limit)
        .expect("the run page answers");
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    assert!(
        !body.contains("PRIVATE KEY"),
        "the page showed the file the agent's log links to: {body}"
    );
    assert!(
        body.contains("not shown: not a regular file (a symbolic link)"),
        "{body}"
    );

    let id = fifoed["id"].as_str().unwrap();
    let body = page
        .get(&format!("/runs/{id}"), limit)
        .expect("the run page answers, not waiting for a writer of the agent's FIFO");
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    assert!(
        body.contains("not shown: not a regular file (a FIFO)"),
        "{body}"
    );
}
