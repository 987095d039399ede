//! Debian's headless Chromium driven over WebDriver (chromedriver), from the test suite.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::http;

/// What CI must install for these tests.
pub const APT: &str = "apt-get install -y chromium chromium-driver";

/// A program on `PATH` (or at its Debian path).
fn find(name: &str, debian: &str) -> Option<PathBuf> {
    if Path::new(debian).exists() {
        return Some(debian.into());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.exists())
}

/// One headless browser session; the driver and the browser end with it.
pub struct Browser {
    driver: Child,
    addr: String,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a Chromium session, or says loudly why not: absent Chromium skips
    /// the test (outside CI) with a message on the terminal, never a silent pass.
    pub fn start(test: &str, home: &Path) -> Option<Browser> {
        let (Some(chromium), Some(driver)) = (
            find("chromium", "/usr/bin/chromium"),
            find("chromedriver", "/usr/bin/chromedriver"),
        ) else {
            let why = format!("chromium or chromedriver is not installed (`{APT}`)");
            assert!(std::env::var_os("CI").is_none(), "{test}: {why}");
            // Straight to stderr: the harness captures only the print macros.
            let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .env("HOME", home)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let profile = tempfile::tempdir().unwrap();
        let mut browser = Browser {
            driver: child,
            addr: format!("127.0.0.1:{port}"),
            session: String::new(),
            _profile: profile,
        };
        browser.wait_ready();
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1280,1500",
            &format!("--user-data-dir={}", browser._profile.path().display()),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args},
        }}});
        let reply = browser.call("POST", "/session", &caps);
        browser.session = reply["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {reply}"))
            .to_string();
        Some(browser)
    }

    fn wait_ready(&self) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if std::net::TcpStream::connect(&self.addr).is_ok() {
                let status = http::request(&self.addr, "GET", "/status", &[], "");
                let value: Value = serde_json::from_str(&status.body).unwrap_or(Value::Null);
                if value["value"]["ready"] == true {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("chromedriver did not start on {}", self.addr);
    }

    /// A WebDriver command; returns its `value`, panicking on a WebDriver error.
    fn call(&self, method: &str, path: &str, body: &Value) -> Value {
        let body = if method == "GET" {
            String::new()
        } else {
            body.to_string()
        };
        let headers = [("Content-Type", "application/json")];
        let reply = http::request(&self.addr, method, path, &headers, &body);
        let value: Value = serde_json::from_str(&reply.body)
            .unwrap_or_else(|e| panic!("WebDriver {path}: {e}: {}", reply.body));
        assert!(
            reply.status < 400,
            "WebDriver {method} {path} failed ({}): {value}",
            reply.status
        );
        value["value"].clone()
    }

    fn session_call(&self, method: &str, path: &str, body: &Value) -> Value {
        self.call(method, &format!("/session/{}{path}", self.session), body)
    }

    pub fn goto(&self, url: &str) {
        self.session_call("POST", "/url", &json!({ "url": url }));
    }

    /// Runs `script` (a function body) in the page; returns what it returns.
    pub fn eval(&self, script: &str) -> Value {
        self.session_call(
            "POST",
            "/execute/sync",
            &json!({ "script": script, "args": [] }),
        )
    }

    /// Waits until `script` returns something truthy, and returns it.
    pub fn wait_for(&self, what: &str, script: &str) -> Value {
        let start = Instant::now();
        loop {
            let value = self.eval(script);
            let truthy = !matches!(&value, Value::Null | Value::Bool(false))
                && value != json!("")
                && value != json!(0);
            if truthy {
                return value;
            }
            assert!(
                start.elapsed() < Duration::from_secs(90),
                "timed out waiting for {what}; the page says:\n{}",
                self.eval("return document.body ? document.body.innerText : ''")
            );
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    /// Clicks the element `css` selects, as a person would.
    pub fn click(&self, css: &str) {
        let found = self.session_call(
            "POST",
            "/element",
            &json!({ "using": "css selector", "value": css }),
        );
        // The element reference is the one value of the object (its key is the W3C constant).
        let id = found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {css}: {found}"))
            .to_string();
        self.session_call("POST", &format!("/element/{id}/click"), &json!({}));
    }

    /// The viewport as PNG.
    pub fn screenshot(&self) -> Vec<u8> {
        let b64 = self.session_call("GET", "/screenshot", &Value::Null);
        http::base64_decode(b64.as_str().unwrap_or_default())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let path = format!("/session/{}", self.session);
            let _ = std::panic::catch_unwind(|| {
                http::request(&self.addr, "DELETE", &path, &[], "");
            });
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
