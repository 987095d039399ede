//! Adapters against real processes: the stand-in agents of `tests/stand-ins/`, which print what
//! the real agents print.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::env::AgentEnv;
use super::*;

fn stand_ins() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/stand-ins")
}

/// A worktree, a run directory and a fake HOME in one temp dir, plus the stand-in's switches.
struct Fixture {
    _dir: tempfile::TempDir,
    worktree: PathBuf,
    run_dir: PathBuf,
    home: PathBuf,
    vars: Vec<(OsString, OsString)>,
    timeout: Duration,
    prompt: String,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let worktree = dir.path().join("worktree");
        let run_dir = dir.path().join("run");
        let home = dir.path().join("home");
        for d in [&worktree, &home] {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        std::fs::write(worktree.join("README.md"), "# project\n").expect("write");
        let path = std::env::var_os("PATH").unwrap_or_default();
        let vars = vec![
            ("PATH".into(), path),
            ("HOME".into(), home.clone().into()),
            ("LANG".into(), "C.UTF-8".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "do-not-leak".into()),
            ("GITHUB_TOKEN".into(), "ghp_do_not_leak".into()),
        ];
        Fixture {
            _dir: dir,
            worktree,
            run_dir,
            home,
            vars,
            timeout: Duration::from_secs(60),
            prompt: "Add a line to standin-edit.txt.\n".into(),
        }
    }

    /// Sets a variable in gatehouse's (simulated) environment.
    fn var(&mut self, name: &str, value: impl Into<OsString>) -> &mut Self {
        self.vars.push((name.into(), value.into()));
        self
    }

    fn invocation(&self) -> Invocation<'_> {
        Invocation {
            worktree: &self.worktree,
            run_dir: &self.run_dir,
            prompt: &self.prompt,
            timeout: self.timeout,
            home: Some(&self.home),
            extra_env: &[],
            budget: crate::agents::Budget::default(),
        }
    }

    /// Runs `config` with the stand-in switches `STANDIN_*` passed through.
    fn run(&self, config: &AgentConfig) -> Outcome {
        self.run_cancellable(config, &CancelToken::new())
            .expect("the agent runs")
    }

    fn run_cancellable(
        &self,
        config: &AgentConfig,
        cancel: &CancelToken,
    ) -> Result<Outcome, AgentError> {
        let mut config = config.clone();
        let names: Vec<String> = self
            .vars
            .iter()
            .filter_map(|(k, _)| k.to_str())
            .filter(|k| k.starts_with("STANDIN_"))
            .map(String::from)
            .collect();
        match &mut config.env {
            EnvSpec::Pass(pass) => pass.extend(names),
            EnvSpec::Set(set) => {
                for (k, v) in &self.vars {
                    if let (Some(k), Some(v)) = (k.to_str(), v.to_str())
                        && k.starts_with("STANDIN_")
                    {
                        set.insert(k.to_string(), v.to_string());
                    }
                }
            }
        }
        let limits = Limits {
            log_cap: 1 << 20,
            kill_grace: Duration::from_secs(2),
        };
        let env = AgentEnv::from_vars(self.vars.clone());
        run_in("test", &config, &self.invocation(), cancel, &limits, env)
    }

    fn edited(&self) -> String {
        std::fs::read_to_string(self.worktree.join("standin-edit.txt")).unwrap_or_default()
    }
}

fn agent(kind: AdapterKind) -> AgentConfig {
    let mut config = AgentConfig::new(kind);
    config.program = Some(stand_ins().join(kind.as_str()).display().to_string());
    config
}

fn log_of(outcome: &Outcome) -> String {
    std::fs::read_to_string(&outcome.log).expect("the log exists")
}

// ---- codex ----

#[test]
fn codex_success_reads_usage_and_last_message() {
    let mut fx = Fixture::new();
    let argv = fx.run_dir.join("argv.json");
    let prompt_copy = fx.run_dir.join("prompt-seen.md");
    fx.var("STANDIN_ARGV_DUMP", &argv)
        .var("STANDIN_PROMPT_COPY", &prompt_copy);
    std::fs::create_dir_all(fx.home.join(".codex")).expect("mkdir");
    std::fs::write(fx.home.join(".codex/auth.json"), "{\"token\":1}").expect("write");
    let mut config = agent(AdapterKind::Codex);
    config.model = Some("gpt-5-codex".into());
    let outcome = fx.run(&config);
    assert!(outcome.success, "{outcome:?}\n{}", log_of(&outcome));
    assert_eq!(outcome.exit_code, Some(0));
    assert_eq!(
        outcome.usage,
        Usage {
            input: 24763,
            cached_input: 24448,
            output: 122,
            reasoning: 64,
            cost_usd: None,
        }
    );
    assert_eq!(
        outcome.final_message.as_deref(),
        Some("Updated standin-edit.txt.")
    );
    assert_eq!(fx.edited(), "edited by the codex stand-in\n");
    // The prompt arrived on stdin, and the command line is the one documented.
    assert_eq!(
        std::fs::read_to_string(&prompt_copy).expect("prompt"),
        fx.prompt
    );
    let argv: Vec<String> =
        serde_json::from_str(&std::fs::read_to_string(&argv).expect("argv")).expect("json");
    let (_, expected) = command_line(&config, &fx.invocation());
    assert_eq!(argv[1..], expected[..]);
    // The per-run CODEX_HOME held a copy of the user's sign-in: it is gone with the run.
    assert!(!fx.run_dir.join("codex-home").exists());
    assert!(!fx.run_dir.join("tmp").exists());
}

#[test]
fn codex_turn_failed_with_exit_0_fails() {
    let mut fx = Fixture::new();
    fx.var("STANDIN_MODE", "fail");
    let outcome = fx.run(&agent(AdapterKind::Codex));
    assert_eq!(outcome.exit_code, Some(0));
    assert!(!outcome.success);
    let error = outcome.error.expect("an error");
    assert!(
        error.contains("turn failed") && error.contains("401"),
        "{error}"
    );
}

#[test]
fn codex_error_event_fails() {
    let mut fx = Fixture::new();
    fx.var("STANDIN_MODE", "error").var("STANDIN_EXIT", "0");
    let outcome = fx.run(&agent(AdapterKind::Codex));
    assert!(!outcome.success);
    assert!(
        outcome
            .error
            .as_deref()
            .is_some_and(|e| e.contains("stream disconnected")),
        "{outcome:?}"
    );
}

#[test]
fn codex_transient_error_then_completed_turn_succeeds() {
    let mut fx = Fixture::new();
    fx.var("STANDIN_MODE", "reconnect");
    let outcome = fx.run(&agent(AdapterKind::Codex));
    assert!(outcome.success, "{outcome:?}");
}

#[test]
fn codex_bedrock_command_line_and_environment() {
    let mut fx = Fixture::new();
    let env_dump = fx.run_dir.join("env.json");
    fx.var("STANDIN_ENV_DUMP", &env_dump);
    let mut config = agent(AdapterKind::Codex);
    config.provider = Some("amazon-bedrock".into());
    config.region = Some("us-west-2".into());
    config.profile = Some("codex-bedrock".into());
    let (_, args) = command_line(&config, &fx.invocation());
    let joined = args.join(" ");
    assert!(
        joined.contains("-c model_provider=\"amazon-bedrock\"")
            && joined.contains("-c model_providers.amazon-bedrock.aws.profile=\"codex-bedrock\"")
            && joined.contains("-c model_providers.amazon-bedrock.aws.region=\"us-west-2\""),
        "{joined}"
    );
    let outcome = fx.run(&config);
    assert!(outcome.success, "{outcome:?}");
    let env = read_env(&env_dump);
    // Bedrock needs the AWS credentials, so they pass; the GitHub token still does not.
    assert_eq!(env["AWS_SECRET_ACCESS_KEY"], "do-not-leak");
    assert_eq!(env["AWS_REGION"], "us-west-2");
    assert_eq!(env["AWS_PROFILE"], "codex-bedrock");
    assert!(!env.contains_key("GITHUB_TOKEN"));
}

// ---- claude ----

#[test]
fn claude_success_normalises_usage() {
    let mut fx = Fixture::new();
    fx.var("STANDIN_USAGE", "12,28000,310,2400")
        .var("STANDIN_COST", "0.0421");
    std::fs::create_dir_all(fx.home.join(".claude")).expect("mkdir");
    std::fs::write(fx.home.join(".claude/.credentials.json"), "{}").expect("write");
    std::fs::write(fx.home.join(".claude.json"), "{}").expect("write");
    let mut config = agent(AdapterKind::Claude);
    config.max_turns = Some(12);
    let outcome = fx.run(&config);
    assert!(outcome.success, "{outcome:?}\n{}", log_of(&outcome));
    // input 12 uncached + 2400 cache writes + 28000 cache reads.
    assert_eq!(
        outcome.usage,
        Usage {
            input: 30412,
            cached_input: 28000,
            output: 310,
            reasoning: 0,
            cost_usd: Some(0.0421),
        }
    );
    assert!(!outcome.cost_estimated, "claude reports its own cost");
    assert_eq!(
        outcome.final_message.as_deref(),
        Some("Done: hello.py now has type annotations.")
    );
    assert_eq!(fx.edited(), "edited by the claude stand-in\n");
    // The per-run config dir held a copy of the user's credentials: it is gone with the run.
    assert!(!fx.run_dir.join("claude-config").exists());
}

#[test]
fn claude_is_error_with_exit_0_fails() {
    let mut fx = Fixture::new();
    // Claude Code exits 1 here; older versions exited 0.
    fx.var("STANDIN_MODE", "fail")
        .var("STANDIN_EXIT", "0")
        .var("STANDIN_COST", "0.0421");
    let outcome = fx.run(&agent(AdapterKind::Claude));
    assert_eq!(outcome.exit_code, Some(0));
    assert!(!outcome.success);
    assert!(
        outcome.error.as_deref().is_some_and(|e| e.contains("529")),
        "{outcome:?}"
    );
    assert_eq!(outcome.usage.cost_usd, Some(0.0421));
}

#[test]
fn claude_max_turns_fails_with_its_reason() {
    let mut fx = Fixture::new();
    fx.var("STANDIN_MODE", "error");
    let mut config = agent(AdapterKind::Claude);
    config.max_turns = Some(2);
    let outcome = fx.run(&config);
    assert!(!outcome.success);
    assert_eq!(
        outcome.error.as_deref(),
        Some(
            "claude stopped at the turn limit (--max-turns 2): Reached maximum number of turns (2)"
        )
    );
}

#[test]
fn claude_success_result_wins_over_a_nonzero_exit() {
    let mut fx = Fixture::new();
    fx.var("STANDIN_EXIT", "1");
    let outcome = fx.run(&agent(AdapterKind::Claude));
    assert_eq!(outcome.exit_code, Some(1));
    assert!(outcome.success, "{outcome:?}");
}

#[test]
fn claude_bedrock_environment() {
    let mut fx = Fixture::new();
    let env_dump = fx.run_dir.join("env.json");
    fx.var("STANDIN_ENV_DUMP", &env_dump);
    let mut config = agent(AdapterKind::Claude);
    config.provider = Some("amazon-bedrock".into());
    config.region = Some("eu-central-1".into());
    let outcome = fx.run(&config);
    assert!(outcome.success, "{outcome:?}");
    let env = read_env(&env_dump);
    assert_eq!(env["CLAUDE_CODE_USE_BEDROCK"], "1");
    assert_eq!(env["AWS_REGION"], "eu-central-1");
}

// ---- aider ----

#[test]
fn aider_success_sums_analytics_and_cleans_its_cache() {
    let mut fx = Fixture::new();
    let prompt_copy = fx.run_dir.join("prompt-seen.md");
    fx.var("STANDIN_PROMPT_COPY", &prompt_copy);
    let outcome = fx.run(&agent(AdapterKind::Aider));
    assert!(outcome.success, "{outcome:?}\n{}", log_of(&outcome));
    assert_eq!(
        outcome.usage,
        Usage {
            input: 2315,
            cached_input: 0,
            output: 187,
            reasoning: 0,
            cost_usd: Some(0.0098),
        }
    );
    assert_eq!(
        std::fs::read_to_string(&prompt_copy).expect("prompt"),
        fx.prompt
    );
    assert_eq!(fx.edited(), "edited by the aider stand-in\n");
    assert!(!fx.worktree.join(".aider.tags.cache.v4").exists());
    assert!(
        outcome
            .final_message
            .as_deref()
            .is_some_and(|m| m.contains("Applied edit to standin-edit.txt"))
    );
}

#[test]
fn aider_without_edits_fails_despite_exit_0() {
    let mut fx = Fixture::new();
    fx.var("STANDIN_MODE", "fail");
    let outcome = fx.run(&agent(AdapterKind::Aider));
    assert_eq!(outcome.exit_code, Some(0));
    assert!(!outcome.success);
    assert_eq!(outcome.error.as_deref(), Some("aider made no edits"));
    assert_eq!(outcome.usage.input, 2315);
}

#[test]
fn aider_without_a_model_reply_fails() {
    let mut fx = Fixture::new();
    fx.var("STANDIN_MODE", "error");
    let outcome = fx.run(&agent(AdapterKind::Aider));
    assert!(!outcome.success);
    let error = outcome.error.expect("an error");
    assert!(
        error.contains("no reply") && error.contains("AuthenticationError"),
        "{error}"
    );
}

// ---- gemini ----

#[test]
fn gemini_success_reads_stats_and_prices_them() {
    let fx = Fixture::new();
    let mut config = agent(AdapterKind::Gemini);
    config.price = Some(Price {
        input: 1.25,
        cached_input: Some(0.31),
        output: 10.0,
    });
    let outcome = fx.run(&config);
    assert!(outcome.success, "{outcome:?}\n{}", log_of(&outcome));
    // The captured ok run (fixtures/gemini/ok): 18300 in (8192 cached), 23 out + 20 thoughts.
    assert_eq!(outcome.usage.input, 18300);
    assert_eq!(outcome.usage.cached_input, 8192);
    assert_eq!(outcome.usage.output, 43);
    assert_eq!(outcome.usage.reasoning, 20);
    let expected = (10108.0 * 1.25 + 8192.0 * 0.31 + 43.0 * 10.0) / 1e6;
    let cost = outcome.usage.cost_usd.expect("priced");
    assert!((cost - expected).abs() < 1e-12, "{cost} vs {expected}");
    assert!(
        outcome.cost_estimated,
        "gemini reports no cost: the price table's is an estimate"
    );
    assert_eq!(
        outcome.final_message.as_deref(),
        Some("I updated standin-edit.txt.")
    );
    assert_eq!(fx.edited(), "edited by the gemini stand-in\n");
    // The per-run GEMINI_CLI_HOME is gone with the run.
    assert!(!fx.run_dir.join("gemini-home").exists());
}

#[test]
fn gemini_turn_limit_exit_53_fails() {
    let mut fx = Fixture::new();
    fx.var("STANDIN_MODE", "fail");
    let outcome = fx.run(&agent(AdapterKind::Gemini));
    assert_eq!(outcome.exit_code, Some(53));
    assert!(!outcome.success);
    let error = outcome.error.expect("an error");
    assert!(error.contains("turn limit reached"), "{error}");
}

#[test]
fn gemini_auth_exit_41_fails() {
    let mut fx = Fixture::new();
    fx.var("STANDIN_MODE", "error");
    let outcome = fx.run(&agent(AdapterKind::Gemini));
    assert_eq!(outcome.exit_code, Some(41));
    assert_eq!(
        outcome.error.as_deref(),
        Some(
            "gemini exited with 41 (authentication failed): When using Gemini API, you must \
             specify the GEMINI_API_KEY environment variable. Update your environment and try \
             again (no reload needed if using .env)!"
        )
    );
}

#[test]
fn gemini_long_prompt_goes_to_stdin() {
    let mut fx = Fixture::new();
    let prompt_copy = fx.run_dir.join("prompt-seen.md");
    fx.var("STANDIN_PROMPT_COPY", &prompt_copy);
    fx.prompt = "x".repeat(200 * 1024);
    let outcome = fx.run(&agent(AdapterKind::Gemini));
    assert!(outcome.success, "{outcome:?}");
    let seen = std::fs::read_to_string(&prompt_copy).expect("prompt");
    assert!(seen.ends_with(&fx.prompt));
}

// ---- command ----

#[test]
fn command_fills_placeholders_and_judges_by_exit_code() {
    let fx = Fixture::new();
    let mut config = AgentConfig::new(AdapterKind::Command);
    config.program = Some("sh".into());
    config.args = vec![
        "-c".into(),
        "cat \"$1\" > \"$2/copied.md\"; echo done; exit \"$3\"".into(),
        "sh".into(),
        "{prompt_file}".into(),
        "{worktree}".into(),
        "0".into(),
    ];
    let outcome = fx.run(&config);
    assert!(outcome.success, "{outcome:?}");
    assert_eq!(outcome.final_message.as_deref(), Some("done"));
    assert_eq!(
        std::fs::read_to_string(fx.worktree.join("copied.md")).expect("copied"),
        fx.prompt
    );
    config.args[5] = "3".into();
    let outcome = fx.run(&config);
    assert!(!outcome.success);
    assert_eq!(outcome.error.as_deref(), Some("the command exited with 3"));
    assert_eq!(outcome.usage, Usage::default());
}

// ---- the runner ----

#[test]
fn timeout_kills_the_agent_and_its_detached_children() {
    let mut fx = Fixture::new();
    let pidfile = fx.run_dir.join("pids");
    fx.var("STANDIN_MODE", "hang")
        .var("STANDIN_PIDFILE", &pidfile);
    fx.timeout = Duration::from_secs(3);
    let started = Instant::now();
    let outcome = fx.run(&agent(AdapterKind::Codex));
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert!(outcome.timed_out && !outcome.success);
    assert_eq!(outcome.error.as_deref(), Some("timed out after 3s"));
    let pids = read_pids(&pidfile);
    assert_eq!(pids.len(), 2, "{pids:?}");
    for pid in pids {
        assert!(
            gone(pid),
            "detached child {pid} survived\n{}",
            log_of(&outcome)
        );
    }
}

#[test]
fn cancellation_kills_the_agent() {
    let mut fx = Fixture::new();
    let pidfile = fx.run_dir.join("pids");
    fx.var("STANDIN_MODE", "hang")
        .var("STANDIN_PIDFILE", &pidfile);
    let cancel = CancelToken::new();
    let canceller = {
        let cancel = cancel.clone();
        let pidfile = pidfile.clone();
        std::thread::spawn(move || {
            let until = Instant::now() + Duration::from_secs(20);
            while !pidfile.exists() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(50));
            }
            std::thread::sleep(Duration::from_millis(200));
            cancel.cancel();
        })
    };
    let outcome = fx
        .run_cancellable(&agent(AdapterKind::Claude), &cancel)
        .expect("runs");
    canceller.join().expect("canceller");
    assert!(outcome.cancelled && !outcome.timed_out && !outcome.success);
    assert_eq!(outcome.error.as_deref(), Some("cancelled"));
    for pid in read_pids(&pidfile) {
        assert!(gone(pid), "child {pid} survived cancellation");
    }
}

#[test]
fn landlock_blocks_writes_outside_the_worktree() {
    // Outside every writable directory: not under the temp dir, the worktree or the run dir.
    let outside_dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("agents-landlock-test");
    std::fs::create_dir_all(&outside_dir).expect("mkdir");
    let outside = outside_dir.join(format!("escaped-{}", unique_suffix()));
    let mut fx = Fixture::new();
    fx.var("STANDIN_MODE", "outside")
        .var("STANDIN_OUTSIDE", &outside);
    let outcome = fx.run(&agent(AdapterKind::Claude));
    assert!(outcome.success, "{outcome:?}\n{}", log_of(&outcome));
    assert_eq!(fx.edited(), "edited by the claude stand-in\n");
    let log = log_of(&outcome);
    if outcome.confinement.is_enforced() {
        assert!(
            !outside.exists(),
            "Landlock let the agent write {}",
            outside.display()
        );
        assert!(log.contains("could not write"), "{log}");
        assert!(log.contains("Landlock enforced") || log.contains("Landlock partly"));
    } else {
        eprintln!(
            "note: Landlock is unavailable here ({}); the write-outside assertion is skipped",
            outcome.confinement.describe()
        );
        assert!(log.contains("not confined"));
        let _ = std::fs::remove_file(&outside);
    }
}

#[test]
fn environment_is_built_from_the_allowlist() {
    let mut fx = Fixture::new();
    let env_dump = fx.run_dir.join("env.json");
    fx.var("STANDIN_ENV_DUMP", &env_dump)
        .var("OPENAI_API_KEY", "sk-test")
        .var("PROJECT_TOKEN", "named")
        .var("UNNAMED_SECRET", "hidden");
    let mut config = agent(AdapterKind::Codex);
    config.env = EnvSpec::Pass(vec!["PROJECT_TOKEN".into()]);
    let outcome = fx.run(&config);
    assert!(outcome.success, "{outcome:?}");
    let env = read_env(&env_dump);
    assert!(!env.contains_key("AWS_SECRET_ACCESS_KEY"), "{env:?}");
    assert!(!env.contains_key("GITHUB_TOKEN"));
    assert!(!env.contains_key("UNNAMED_SECRET"));
    assert_eq!(env["PROJECT_TOKEN"], "named");
    assert_eq!(env["OPENAI_API_KEY"], "sk-test");
    assert_eq!(env["HOME"], fx.home.display().to_string());
    assert_eq!(env["LANG"], "C.UTF-8");
    assert!(env.contains_key("PATH"));
    assert_eq!(
        env["CODEX_HOME"],
        fx.run_dir.join("codex-home").display().to_string()
    );
    // Set values, too.
    let mut config = agent(AdapterKind::Codex);
    config.env = EnvSpec::Set([("MODE_X".to_string(), "on".to_string())].into());
    assert!(fx.run(&config).success);
    assert_eq!(read_env(&env_dump)["MODE_X"], "on");
}

#[test]
fn the_log_is_bounded_and_the_result_still_parsed() {
    let mut fx = Fixture::new();
    fx.var("STANDIN_LOG_LINES", "40000");
    let config = agent(AdapterKind::Claude);
    let limits = Limits {
        log_cap: 64 * 1024,
        kill_grace: Duration::from_secs(2),
    };
    let mut config_with_pass = config.clone();
    config_with_pass.env = EnvSpec::Pass(vec!["STANDIN_LOG_LINES".into()]);
    let env = AgentEnv::from_vars(fx.vars.clone());
    let outcome = run_in(
        "test",
        &config_with_pass,
        &fx.invocation(),
        &CancelToken::new(),
        &limits,
        env,
    )
    .expect("runs");
    assert!(outcome.success, "{outcome:?}");
    assert_eq!(outcome.usage.cost_usd, Some(0.015723));
    let log = log_of(&outcome);
    assert!(log.len() <= 64 * 1024, "{} bytes", log.len());
    assert!(log.contains("bytes of earlier output dropped"));
    assert!(log.contains("\"type\":\"result\""));
    assert!(!log.contains("filler line 000000"));
}

#[test]
fn default_programs_are_found_on_path() {
    let mut fx = Fixture::new();
    let path = std::env::join_paths(std::iter::once(stand_ins()).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .expect("PATH");
    fx.vars.retain(|(k, _)| k != "PATH");
    fx.var("PATH", path);
    for kind in [
        AdapterKind::Codex,
        AdapterKind::Claude,
        AdapterKind::Aider,
        AdapterKind::Gemini,
    ] {
        let outcome = fx.run(&AgentConfig::new(kind));
        assert!(outcome.success, "{kind}: {outcome:?}");
    }
}

#[test]
fn a_missing_program_names_the_table() {
    let fx = Fixture::new();
    let mut config = AgentConfig::new(AdapterKind::Codex);
    config.program = Some("codex-that-does-not-exist".into());
    let err = fx
        .run_cancellable(&config, &CancelToken::new())
        .expect_err("no such program");
    let message = err.to_string();
    assert!(
        message.contains("`codex-that-does-not-exist`") && message.contains("[agents.test]"),
        "{message}"
    );
}

#[test]
fn command_lines_match_the_documented_ones() {
    let fx = Fixture::new();
    let inv = fx.invocation();
    let run = |name: &str| fx.run_dir.join(name).display().to_string();
    let wt = fx.worktree.display().to_string();

    let mut codex = AgentConfig::new(AdapterKind::Codex);
    codex.model = Some("o3".into());
    codex.args = vec!["--ephemeral".into()];
    let last = run("last-message.txt");
    assert_eq!(
        command_line(&codex, &inv),
        (
            "codex".to_string(),
            strings(&[
                "exec",
                "--json",
                "--dangerously-bypass-approvals-and-sandbox",
                "--skip-git-repo-check",
                "-C",
                &wt,
                "-o",
                &last,
                "-m",
                "o3",
                "--ephemeral",
                "-",
            ])
        )
    );

    let mut claude = AgentConfig::new(AdapterKind::Claude);
    claude.model = Some("opus".into());
    claude.max_turns = Some(30);
    assert_eq!(
        command_line(&claude, &inv).1,
        strings(&[
            "-p",
            "--output-format",
            "stream-json",
            "--verbose",
            "--permission-mode",
            "acceptEdits",
            "--model",
            "opus",
            "--max-turns",
            "30",
        ])
    );

    let aider = AgentConfig::new(AdapterKind::Aider);
    let (program, args) = command_line(&aider, &inv);
    assert_eq!(program, "aider");
    assert_eq!(
        args[..9],
        strings(&[
            "--message-file",
            &run("prompt.md"),
            "--yes-always",
            "--no-auto-commits",
            "--no-pretty",
            "--no-stream",
            "--no-check-update",
            "--analytics-log",
            &run("aider-analytics.jsonl"),
        ])[..]
    );

    let mut gemini = AgentConfig::new(AdapterKind::Gemini);
    gemini.model = Some("gemini-2.5-flash".into());
    assert_eq!(
        command_line(&gemini, &inv).1,
        strings(&[
            "-p",
            &fx.prompt,
            "--output-format",
            "stream-json",
            "--approval-mode",
            "auto_edit",
            "-m",
            "gemini-2.5-flash",
        ])
    );
}

#[test]
fn gemini_exit_codes_have_messages() {
    for code in [0, 1, 41, 42, 44, 52, 53, 54, 55, 130] {
        assert_ne!(gemini::exit_meaning(code), "unknown exit code", "{code}");
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_string()).collect()
}

fn read_env(path: &Path) -> std::collections::BTreeMap<String, String> {
    serde_json::from_str(&std::fs::read_to_string(path).expect("env dump")).expect("json")
}

fn read_pids(path: &Path) -> Vec<i32> {
    std::fs::read_to_string(path)
        .expect("pid file")
        .lines()
        .map(|l| l.trim().parse().expect("pid"))
        .collect()
}

/// Whether `pid` is gone: not running, and reaped (by us as subreaper, or by init).
fn gone(pid: i32) -> bool {
    let until = Instant::now() + Duration::from_secs(3);
    loop {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| s.rsplit(')').next().map(|r| r.trim().chars().next()));
        if state.is_none() {
            return true;
        }
        if Instant::now() > until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn background_processes_left_after_a_normal_exit_are_killed() {
    let fx = Fixture::new();
    let pidfile = fx.run_dir.join("left.pid");
    let mut config = AgentConfig::new(AdapterKind::Command);
    config.program = Some("sh".into());
    config.args = vec![
        "-c".into(),
        // `$!` would be a pid inside the agent's PID namespace: the child records its own pid as
        // the host sees it (the shell opens /proc/self itself, and /proc is the host's).
        "setsid sh -c 'read -r pid rest < /proc/self/stat; echo $pid > \"$0\"; exec sleep 300' \"$1\" \
         >/dev/null 2>&1 & while [ ! -s \"$1\" ]; do sleep 0.05; done; echo started"
            .into(),
        "sh".into(),
        pidfile.display().to_string(),
    ];
    let outcome = fx.run(&config);
    assert!(outcome.success, "{outcome:?}");
    let pid = read_pids(&pidfile)[0];
    assert!(
        gone(pid),
        "background process {pid} survived\n{}",
        log_of(&outcome)
    );
    // Killed by gatehouse, or by the kernel with the agent's PID namespace.
    let log = log_of(&outcome);
    assert!(
        log.contains("killing processes the agent left running")
            || log.contains("own PID namespace"),
        "{log}"
    );
}
