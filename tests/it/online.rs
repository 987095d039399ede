//! `gatehouse check --online` against a fake registry on localhost: a tiny HTTP server that
//! answers PyPI's JSON API and the crates.io sparse index with canned answers in the real shapes
//! (`tests/it/registry/`, captured from pypi.org and index.crates.io), and records every request.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use crate::common::{Run, TestEnv, TestRepo, findings};

/// The fake registry: its base URL and the request lines it received.
struct Registry {
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Registry {
    /// Serves `/pypi/attrs/json` and `/index/se/rd/serde`; everything else is a 404, as the
    /// real registries answer for a name they do not have.
    fn start() -> Registry {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                reader.read_line(&mut request).unwrap();
                let mut agent = String::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap() == 0 || line.trim().is_empty() {
                        break;
                    }
                    if line.to_ascii_lowercase().starts_with("user-agent:") {
                        agent = line.trim().to_string();
                    }
                }
                let path = request.split(' ').nth(1).unwrap_or("").to_string();
                seen.lock().unwrap().push(format!("{path} {agent}"));
                let (status, body) = match path.as_str() {
                    "/pypi/attrs/json" => ("200 OK", include_str!("registry/pypi-attrs.json")),
                    "/index/se/rd/serde" => ("200 OK", include_str!("registry/index-serde")),
                    _ => ("404 Not Found", "{\"message\": \"Not Found\"}"),
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Registry { url, requests }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

/// A Python and Rust project whose last commit adds `attrs` and `fastjsonx` to
/// `pyproject.toml` and `serde` and `serde-jsonx` to `Cargo.toml`, none of them locked.
fn project<'e>(env: &'e TestEnv, config: &str) -> TestRepo<'e> {
    let repo = env.repo("shop");
    repo.write(".gatehouse/config.toml", config)
        .write(
            "pyproject.toml",
            "[project]\nname = \"shop\"\ndependencies = [\"requests\"]\n",
        )
        .write(
            "Cargo.toml",
            "[package]\nname = \"shop\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n",
        )
        .write("src/main.rs", "fn main() {}\n");
    repo.commit("base");
    repo.write(
        "pyproject.toml",
        "[project]\nname = \"shop\"\ndependencies = [\n    \"requests\",\n    \"attrs\",\n    \"fastjsonx\",\n]\n",
    )
    .write(
        "Cargo.toml",
        "[package]\nname = \"shop\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nserde = \"1\"\nserde-jsonx = \"1\"\n",
    );
    repo.commit("agent");
    repo
}

const CONFIG: &str = "[rules.untyped-function]\nlevel = \"off\"\n";

/// `gatehouse check --range HEAD~1..HEAD --format json ARGS` with the registries at `base`.
fn check(repo: &TestRepo<'_>, base: &str, args: &[&str]) -> Run {
    let mut cmd = repo
        .env
        .command(env!("CARGO_BIN_EXE_gatehouse"), &repo.root);
    cmd.args([
        "check",
        "--range",
        "HEAD~1..HEAD",
        "--rule",
        "missing-import",
    ])
    .args(["--format", "json"])
    .args(args)
    .env("GATEHOUSE_PYPI_URL", format!("{base}/pypi"))
    .env("GATEHOUSE_CRATES_INDEX_URL", format!("{base}/index"));
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// (symbol, level, message) of each finding.
fn levels(run: &Run) -> Vec<(String, String, String)> {
    run.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["symbol"].as_str().unwrap().to_string(),
                f["level"].as_str().unwrap().to_string(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn online_blocks_a_package_the_registry_does_not_have_and_dates_one_it_has() {
    let env = TestEnv::new();
    let repo = project(&env, CONFIG);
    let registry = Registry::start();
    let offline = check(&repo, &registry.url, &[]);
    assert_eq!(offline.code, 3, "review only: {}", offline.stderr);
    assert_eq!(
        registry.requests(),
        Vec::<String>::new(),
        "asked without --online"
    );

    let run = check(&repo, &registry.url, &["--online"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let found = levels(&run);
    let by = |name: &str| found.iter().find(|f| f.0 == name).unwrap().clone();
    let (_, level, message) = by("fastjsonx");
    assert_eq!(level, "block");
    assert!(message.contains("`fastjsonx`") && message.ends_with("it does not exist on PyPI"));
    let (_, level, message) = by("serde-jsonx");
    assert_eq!(level, "block");
    assert!(
        message.ends_with("it does not exist on crates.io"),
        "{message}"
    );
    let (_, level, message) = by("attrs");
    assert_eq!(level, "review");
    assert!(
        message.contains("on PyPI it was first released 2015-04-15, ")
            && message.ends_with(" days ago"),
        "{message}"
    );
    let (_, level, message) = by("serde");
    assert_eq!(level, "review");
    assert!(
        message.contains("on crates.io it was first released 2014-12-05, "),
        "{message}"
    );
    assert_eq!(
        findings(&run.json()).len(),
        4,
        "only the four new dependencies: {}",
        run.stdout
    );
    // Each package asked once (the index also under the other spelling of a missing crate),
    // with a User-Agent, as crates.io requires.
    let requests = registry.requests();
    let paths: Vec<&str> = requests
        .iter()
        .map(|r| r.split(' ').next().unwrap())
        .collect();
    for path in [
        "/pypi/attrs/json",
        "/pypi/fastjsonx/json",
        "/index/se/rd/serde",
        "/index/se/rd/serde-jsonx",
        "/index/se/rd/serde_jsonx",
    ] {
        assert_eq!(
            paths.iter().filter(|p| **p == path).count(),
            1,
            "{path}: {requests:?}"
        );
    }
    assert!(
        requests
            .iter()
            .all(|r| r.contains("User-Agent: gatehouse/")),
        "{requests:?}"
    );
}

#[test]
fn online_without_a_registry_warns_and_the_check_completes() {
    let env = TestEnv::new();
    let repo = project(&env, CONFIG);
    // A port nobody listens on.
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let run = check(&repo, &closed, &["--online"]);
    assert_eq!(
        run.code, 3,
        "review, as without --online: {}{}",
        run.stdout, run.stderr
    );
    let found = levels(&run);
    assert_eq!(found.len(), 4);
    assert!(
        found.iter().all(|(_, level, message)| level == "review"
            && message.ends_with("no lockfile in this change pins it")),
        "{found:?}"
    );
    assert!(
        run.stderr
            .contains("gatehouse: --online: could not ask PyPI about `fastjsonx`")
            && run.stderr.contains("could not ask crates.io about `serde`"),
        "{}",
        run.stderr
    );
}

#[test]
fn online_in_the_config_is_used_by_check_and_never_by_a_hook() {
    let env = TestEnv::new();
    let config = format!("{CONFIG}[rules.missing-import]\noptions = {{ online = true }}\n");
    let repo = project(&env, &config);
    let registry = Registry::start();
    let run = check(&repo, &registry.url, &[]);
    assert_eq!(run.code, 1, "the config turns --online on: {}", run.stdout);
    let asked = registry.requests().len();
    assert!(asked >= 4, "{:?}", registry.requests());

    // The pre-push hook for the same commits: the gate's own findings, no registry asked.
    let head = repo.git(&["rev-parse", "HEAD"]);
    let base = repo.git(&["rev-parse", "HEAD~1"]);
    let mut hook = repo
        .env
        .command(env!("CARGO_BIN_EXE_gatehouse"), &repo.root);
    hook.args(["hook", "pre-push", "origin", "unused-url"])
        .env("GATEHOUSE_PYPI_URL", format!("{}/pypi", registry.url))
        .env(
            "GATEHOUSE_CRATES_INDEX_URL",
            format!("{}/index", registry.url),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = hook.spawn().unwrap();
    writeln!(
        child.stdin.take().unwrap(),
        "refs/heads/main {} refs/heads/main {}",
        head.trim(),
        base.trim()
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("new dependency `fastjsonx`"),
        "the hook gated the change: {stderr}"
    );
    assert!(!stderr.contains("does not exist"), "{stderr}");
    assert_eq!(
        registry.requests().len(),
        asked,
        "the hook asked a registry"
    );
}

/// Hostile: a cloned repository's manifest names "packages" that are URL patterns or paths.
/// None reaches the registry (curl would expand `[1-3]` into three requests, `../` would walk
/// the registry's host); each is blocked as a name no package can have.
#[test]
fn hostile_manifest_names_never_reach_a_registry() {
    let env = TestEnv::new();
    let repo = project(&env, CONFIG);
    repo.write(
        "Cargo.toml",
        "[package]\nname = \"shop\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n\"ab[1-3]\" = \"1\"\n\"x{y,z}\" = \"1\"\n\"../../pypi/attrs/json#\" = \"1\"\n",
    );
    repo.commit("hostile names");
    let registry = Registry::start();
    let run = check(&repo, &registry.url, &["--online"]);
    let found = levels(&run);
    for name in ["ab[1-3]", "x{y,z}", "../../pypi/attrs/json#"] {
        let (_, level, message) = found
            .iter()
            .find(|f| f.0 == name)
            .unwrap_or_else(|| panic!("no finding for {name}: {found:?}"))
            .clone();
        assert_eq!(level, "block", "{name}: {message}");
        assert!(
            message.ends_with("it breaks the registry's naming rules"),
            "{message}"
        );
    }
    // The last commit changed only these names: nothing was asked at all.
    assert_eq!(
        registry.requests(),
        Vec::<String>::new(),
        "a hostile name was sent"
    );
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
}
