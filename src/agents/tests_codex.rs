//! The codex adapter against the codex stand-in, which replays what codex-cli 0.171 printed
//! (`tests/stand-ins/fixtures/codex/`, captured by `scripts/conformance/capture_codex.sh`), and
//! its event reader on single lines.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::super::env::AgentEnv;
use super::super::{
    AdapterKind, AgentConfig, Budget, CancelToken, End, EnvSpec, Invocation, Limits, Outcome,
    command_line, run_in,
};
use super::*;

/// A worktree, a run directory and a HOME in a temp dir; runs the codex stand-in in `mode`.
struct Run {
    dir: tempfile::TempDir,
    worktree: PathBuf,
    run_dir: PathBuf,
    home: PathBuf,
    vars: Vec<(String, String)>,
}

impl Run {
    fn new(mode: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        for sub in ["worktree", "home"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
        }
        Run {
            worktree: dir.path().join("worktree"),
            run_dir: dir.path().join("run"),
            home: dir.path().join("home"),
            dir,
            vars: vec![("STANDIN_MODE".into(), mode.into())],
        }
    }

    fn var(mut self, name: &str, value: impl AsRef<Path>) -> Self {
        self.vars
            .push((name.into(), value.as_ref().display().to_string()));
        self
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The invocation of this run's worktree, run directory and HOME.
    fn invocation<'a>(
        &'a self,
        prompt: &'a str,
        timeout: Duration,
        budget: Budget,
    ) -> Invocation<'a> {
        Invocation {
            worktree: &self.worktree,
            run_dir: &self.run_dir,
            prompt,
            timeout,
            home: Some(&self.home),
            extra_env: &[],
            budget,
        }
    }

    fn config(&self) -> AgentConfig {
        let mut config = AgentConfig::new(AdapterKind::Codex);
        config.program = Some(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/stand-ins/codex")
                .display()
                .to_string(),
        );
        config.env = EnvSpec::Set(self.vars.iter().cloned().collect());
        config
    }

    fn run(&self) -> Outcome {
        self.run_with_budget(Budget::default())
    }

    fn run_with_budget(&self, budget: Budget) -> Outcome {
        let inv = self.invocation(
            "Add type annotations to greet.\n",
            Duration::from_secs(60),
            budget,
        );
        let parent = [
            ("PATH", std::env::var("PATH").unwrap_or_default()),
            ("HOME", self.home.display().to_string()),
        ]
        .map(|(k, v)| (k.into(), v.into()));
        let limits = Limits {
            log_cap: 1 << 20,
            kill_grace: Duration::from_secs(2),
        };
        run_in(
            "codex",
            &self.config(),
            &inv,
            &CancelToken::new(),
            &limits,
            AgentEnv::from_vars(parent),
        )
        .expect("the stand-in runs")
    }

    fn edited(&self) -> Option<String> {
        std::fs::read_to_string(self.path("worktree/standin-edit.txt")).ok()
    }
}

fn error_of(outcome: &Outcome) -> &str {
    outcome.error.as_deref().unwrap_or_default()
}

#[test]
fn the_captured_success_succeeds_with_its_usage() {
    let run = Run::new("ok");
    let outcome = run.run();
    assert!(outcome.success, "{outcome:?}");
    assert_eq!(outcome.exit_code, Some(0));
    // What server_codex.py sent over two responses; codex's input_tokens already counts the
    // 150 cache-write tokens it reports beside them.
    assert_eq!(
        (outcome.usage.input, outcome.usage.cached_input),
        (24763, 24448)
    );
    assert_eq!((outcome.usage.output, outcome.usage.reasoning), (122, 64));
    assert_eq!(
        outcome.final_message.as_deref(),
        Some("Updated standin-edit.txt.")
    );
    assert!(run.edited().is_some());
}

#[test]
fn a_401_fails_with_codex_words() {
    let outcome = Run::new("auth").run();
    assert!(!outcome.success);
    assert_eq!(outcome.exit_code, Some(1));
    let error = error_of(&outcome);
    assert!(
        error.starts_with(
            "codex: turn failed: unexpected status 401 Unauthorized: Incorrect API key"
        ),
        "{error}"
    );
    assert_eq!(outcome.usage, Usage::default());
}

#[test]
fn a_500_fails_after_the_reconnects() {
    let outcome = Run::new("server-error").run();
    assert!(!outcome.success);
    let error = error_of(&outcome);
    assert!(
        error.contains("turn failed") && error.contains("high demand"),
        "{error}"
    );
    assert!(!error.contains("Reconnecting"), "{error}");
}

#[test]
fn a_turn_that_fails_after_a_response_counts_the_tokens_from_the_rollout() {
    let run = Run::new("midfail");
    let outcome = run.run();
    assert!(!outcome.success);
    assert!(error_of(&outcome).contains("high demand"), "{outcome:?}");
    // turn.failed has no usage; the rollout's token_count has the first response's.
    assert_eq!(
        outcome.usage,
        Usage {
            input: 12000,
            cached_input: 11800,
            output: 97,
            reasoning: 56,
            cost_usd: None,
        }
    );
    assert!(run.edited().is_some(), "codex edited before the failure");
}

#[test]
fn a_refused_patch_fails_the_completed_turn_and_names_the_path() {
    let run = Run::new("refused");
    let outside = run.path("outside.txt");
    let run = run.var("STANDIN_OUTSIDE", &outside);
    let outcome = run.run();
    assert_eq!(outcome.exit_code, Some(0), "codex itself reports success");
    assert!(!outcome.success);
    let error = error_of(&outcome);
    let outside = outside.display().to_string();
    assert_eq!(
        error,
        format!("codex: file change refused: {outside} (Failed to write file {outside})")
    );
    // The captured usage still counts.
    assert_eq!(outcome.usage.input, 24763);
}

#[test]
fn a_refused_shell_write_fails_and_names_the_command() {
    let run = Run::new("refused-shell");
    let outside = run.path("outside.txt");
    let outcome = run.var("STANDIN_OUTSIDE", &outside).run();
    assert!(!outcome.success);
    let error = error_of(&outcome);
    assert!(
        error.starts_with("codex: command refused: `/bin/bash -lc")
            && error.ends_with(&format!("{}: Permission denied", outside.display())),
        "{error}"
    );
}

#[test]
fn a_warning_item_does_not_fail_the_run() {
    let run = Run::new("warning");
    let outcome = run.run();
    assert!(outcome.success, "{outcome:?}");
    assert!(run.edited().is_some());
}

#[test]
fn a_configuration_error_reports_codex_error_line() {
    let outcome = Run::new("config-error").run();
    assert!(!outcome.success);
    assert_eq!(
        error_of(&outcome),
        "codex: exited with 1: Error: Model provider `missing` not found"
    );
}

#[test]
fn the_old_exit_0_after_a_failed_turn_still_fails() {
    let outcome = Run::new("fail").run();
    assert_eq!(outcome.exit_code, Some(0));
    assert!(!outcome.success);
    assert!(error_of(&outcome).contains("401"), "{outcome:?}");
}

#[test]
fn base_url_becomes_a_responses_provider() {
    let run = Run::new("ok");
    let inv = run.invocation("", Duration::from_secs(1), Budget::default());
    let mut config = AgentConfig::new(AdapterKind::Codex);
    config.base_url = Some("http://127.0.0.1:8080/v1".into());
    let (_, args) = command_line(&config, &inv);
    let joined = args.join(" ");
    for expected in [
        "-c model_providers.gatehouse.base_url=\"http://127.0.0.1:8080/v1\"",
        "-c model_providers.gatehouse.wire_api=\"responses\"",
        "-c model_providers.gatehouse.env_key=\"OPENAI_API_KEY\"",
        "-c model_provider=\"gatehouse\"",
    ] {
        assert!(joined.contains(expected), "{expected} not in {joined}");
    }
    // Through Bedrock the URL overrides the built-in provider's endpoint.
    config.provider = Some("amazon-bedrock".into());
    let joined = command_line(&config, &inv).1.join(" ");
    assert!(
        joined.contains("-c model_provider=\"amazon-bedrock\"")
            && joined.contains(
                "-c model_providers.amazon-bedrock.base_url=\"http://127.0.0.1:8080/v1\""
            )
            && !joined.contains("gatehouse"),
        "{joined}"
    );
}

#[test]
fn codex_keeps_its_own_sandbox_unless_landlock_confines_it() {
    let run = Run::new("ok");
    let inv = run.invocation("", Duration::from_secs(1), Budget::default());
    let config = AgentConfig::new(AdapterKind::Codex);
    let confined = codex_command_line(&config, &inv, true).1.join(" ");
    assert!(
        confined.starts_with("exec --json --dangerously-bypass-approvals-and-sandbox ")
            && !confined.contains("--sandbox "),
        "{confined}"
    );
    let unconfined = codex_command_line(&config, &inv, false).1.join(" ");
    assert!(
        unconfined.starts_with("exec --json --sandbox workspace-write ")
            && !unconfined.contains("dangerously"),
        "{unconfined}"
    );
    // The adapter asks the kernel: here, what the probe says.
    let used = command_line(&config, &inv).1.join(" ");
    let expected = if super::super::landlock::enforced_here() {
        confined
    } else {
        unconfined
    };
    assert_eq!(used, expected);
}

/// Unconfined (as on a kernel without Landlock), codex's own sandbox is on and the codex
/// stand-in, which checks the arguments as codex 0.171 does, still runs the task.
#[test]
fn the_unconfined_command_line_is_one_codex_accepts() {
    let run = Run::new("ok").var("STANDIN_EDIT", "notes.txt");
    let inv = run.invocation("edit", Duration::from_secs(30), Budget::default());
    let config = run.config();
    let (program, args) = codex_command_line(&config, &inv, false);
    std::fs::create_dir_all(&run.run_dir).expect("run dir");
    let mut child = std::process::Command::new(program)
        .args(&args)
        .current_dir(&run.worktree)
        .env("STANDIN_MODE", "ok")
        .env("STANDIN_EDIT", "notes.txt")
        .env("CODEX_HOME", run.path("codex-home"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the stand-in runs");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), b"edit notes.txt")
        .expect("the prompt");
    let out = child.wait_with_output().expect("the stand-in ends");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("turn.completed"));
}

fn judge(lines: &[&str], exit_code: i32, stderr: &str) -> Report {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut events = Box::new(CodexEvents {
        last_message_file: dir.path().join("last"),
        codex_home: dir.path().join("home"),
        ..CodexEvents::default()
    });
    for line in lines {
        events.line(line);
    }
    events.finish(&End {
        exit_code: Some(exit_code),
        signal: None,
        stdout_tail: "",
        stderr_tail: stderr,
    })
}

const COMPLETED: &str = r#"{"type":"turn.completed","usage":{"input_tokens":10,"cached_input_tokens":4,"cache_write_input_tokens":2,"output_tokens":3,"reasoning_output_tokens":1}}"#;

#[test]
fn a_failing_command_without_a_refusal_is_ordinary_work() {
    let report = judge(
        &[
            r#"{"type":"item.completed","item":{"id":"item_0","type":"command_execution","command":"pytest","aggregated_output":"1 failed\n","exit_code":1,"status":"failed"}}"#,
            COMPLETED,
        ],
        0,
        "",
    );
    assert!(report.success, "{:?}", report.error);
    assert_eq!(
        report.usage,
        Usage {
            input: 10,
            cached_input: 4,
            output: 3,
            reasoning: 1,
            cost_usd: None,
        }
    );
}

#[test]
fn no_turn_and_no_error_says_so_with_the_last_warning() {
    let report = judge(
        &[
            r#"{"type":"item.completed","item":{"id":"item_0","type":"error","message":"Model metadata for `x` not found."}}"#,
        ],
        0,
        "",
    );
    assert_eq!(
        report.error.as_deref(),
        Some(
            "codex: exited without completing a turn (last warning: Model metadata for `x` not found.)"
        )
    );
}

#[test]
fn stderr_reason_skips_the_backtrace() {
    let stderr = "WARNING: proceeding\nError: Model provider `nope` not found\n\nStack backtrace:\n   0: <unknown>\n";
    assert_eq!(
        stderr_reason(stderr),
        Some("Error: Model provider `nope` not found")
    );
    assert_eq!(stderr_reason("WARNING: x\nkilled\n"), Some("killed"));
    assert_eq!(stderr_reason("WARNING: x\n"), None);
}

#[test]
fn the_budget_is_judged_on_the_rollout_while_the_turn_runs() {
    let mut run = Run::new("ok");
    run.vars
        .push(("STANDIN_USAGE".into(), "900000,0,5000,0".into()));
    run.vars.push(("STANDIN_STALL".into(), "50".into()));
    let started = std::time::Instant::now();
    let outcome = run.run_with_budget(Budget {
        max_tokens: Some(100_000),
        max_usd: None,
    });
    assert!(outcome.over_budget && !outcome.success, "{outcome:?}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        error_of(&outcome),
        "stopped: used 905000 tokens, over the budget of 100000"
    );
    assert_eq!(outcome.usage.input, 900_000);
}
