//! A hermetic test environment: a temp repository, git with no user or system config, a fixed
//! identity, and the real binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A temp directory holding a home and one or more repositories.
pub struct TestEnv {
    pub dir: tempfile::TempDir,
}

/// A repository inside a [`TestEnv`].
pub struct TestRepo<'e> {
    pub env: &'e TestEnv,
    pub root: PathBuf,
}

/// What a command printed and how it exited.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

impl TestEnv {
    pub fn new() -> TestEnv {
        let dir = tempfile::Builder::new()
            .prefix("gatehouse-it")
            .tempdir()
            .unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        TestEnv { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A command with the hermetic environment.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>, cwd: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(cwd).stdin(Stdio::null()).env_clear();
        for key in ["PATH", "LANG", "TMPDIR"] {
            if let Some(value) = std::env::var_os(key) {
                cmd.env(key, value);
            }
        }
        cmd.env("HOME", self.path().join("home"))
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_SYSTEM", "/dev/null")
            .env("GIT_AUTHOR_NAME", "Test Author")
            .env("GIT_AUTHOR_EMAIL", "author@example.com")
            .env("GIT_COMMITTER_NAME", "Test Author")
            .env("GIT_COMMITTER_EMAIL", "author@example.com")
            .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
            .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
            .env("NO_COLOR", "1");
        cmd
    }

    /// Runs git in `cwd`, asserting success, and returns its stdout.
    pub fn git(&self, cwd: &Path, args: &[&str]) -> String {
        let out = self.command("git", cwd).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `git init` of a new repository named `name` in this environment.
    pub fn repo(&self, name: &str) -> TestRepo<'_> {
        self.repo_with(name, &[])
    }

    /// `git init` with extra arguments (e.g. `--object-format=sha256`).
    pub fn repo_with(&self, name: &str, init_args: &[&str]) -> TestRepo<'_> {
        let root = self.path().join(name);
        std::fs::create_dir_all(&root).unwrap();
        let mut args = vec!["init", "-q", "-b", "main"];
        args.extend_from_slice(init_args);
        self.git(&root, &args);
        self.git(&root, &["config", "commit.gpgsign", "false"]);
        TestRepo { env: self, root }
    }

    /// A repository `work` whose `origin` remote is a new bare repository, `origin.git` (its path
    /// is returned too), that has `work`'s first commit: `files`, committed as `base` and pushed.
    /// No hooks are installed.
    pub fn work_with_origin(&self, files: &[(&str, &str)]) -> (TestRepo<'_>, PathBuf) {
        let origin = self.path().join("origin.git");
        let bare = origin.to_str().unwrap();
        self.git(self.path(), &["init", "-q", "--bare", "-b", "main", bare]);
        let work = self.repo("work");
        work.git(&["remote", "add", "origin", bare]);
        for (path, text) in files {
            work.write(path, text);
        }
        work.commit("base");
        work.git(&["push", "-q", "origin", "main"]);
        (work, origin)
    }
}

impl TestRepo<'_> {
    pub fn write(&self, path: &str, content: impl AsRef<[u8]>) -> &Self {
        let file = self.root.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, content).unwrap();
        self
    }

    pub fn git(&self, args: &[&str]) -> String {
        self.env.git(&self.root, args)
    }

    /// Stages everything and commits; returns the new commit id.
    pub fn commit(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.git(&["rev-parse", "HEAD"]).trim().to_string()
    }

    /// Runs git in the repository without asserting success (a push a hook may refuse).
    pub fn try_git(&self, args: &[&str]) -> Run {
        Run::from(
            self.env
                .command("git", &self.root)
                .args(args)
                .output()
                .unwrap(),
        )
    }

    /// Runs `gatehouse ARGS` in the repository root.
    pub fn gatehouse(&self, args: &[&str]) -> Run {
        self.gatehouse_in(&self.root, args)
    }

    pub fn gatehouse_in(&self, cwd: &Path, args: &[&str]) -> Run {
        Run::from(
            self.env
                .command(env!("CARGO_BIN_EXE_gatehouse"), cwd)
                .args(args)
                .output()
                .unwrap(),
        )
    }
}

/// The (path, line, rule, code) of each finding of a JSON report, for compact assertions.
pub fn findings(report: &serde_json::Value) -> Vec<(String, u64, String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["rule"].as_str().unwrap().to_string(),
                f["code"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}
