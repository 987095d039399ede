//! The gemini adapter on what Gemini CLI 0.61.0 really printed: the captures in
//! `tests/stand-ins/fixtures/gemini/` (see `capture.sh` there), made through gatehouse against
//! `scripts/conformance/server_gemini.py`. That server's usage is a formula of the response's
//! number k (1, 2, … in the order it answered): a conversation response has prompt 9000 + 100k
//! (8192 of it cached once the conversation has a model turn), candidates 10 + k and 20 thought
//! tokens when it calls a tool; a side request prompt 700 + k, candidates 12 + k. So the figures
//! below are what it sent.

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use super::*;
use crate::agents::{Adapter as _, AdapterKind, Budget, Invocation};

macro_rules! capture {
    ($name:literal) => {
        (
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/stand-ins/fixtures/gemini/",
                $name,
                ".stdout"
            )),
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/stand-ins/fixtures/gemini/",
                $name,
                ".stderr"
            )),
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/stand-ins/fixtures/gemini/",
                $name,
                ".exit"
            )),
        )
    };
}

/// The verdict on a capture (stdout, stderr, exit code), for a table with `max_turns`.
fn judge((stdout, stderr, exit): (&str, &str, &str), max_turns: Option<u32>) -> Report {
    let mut events = GeminiEvents {
        max_turns,
        ..GeminiEvents::default()
    };
    for line in stdout.lines() {
        events.line(line);
    }
    Box::new(events).finish(&End {
        exit_code: Some(exit.trim().parse().expect("an exit code")),
        signal: None,
        stdout_tail: "",
        stderr_tail: stderr,
    })
}

fn tokens(usage: &Usage) -> (u64, u64, u64, u64) {
    (
        usage.input,
        usage.cached_input,
        usage.output,
        usage.reasoning,
    )
}

fn error(report: &Report) -> &str {
    assert!(!report.success, "a failure");
    report.error.as_deref().expect("an error")
}

#[test]
fn ok_succeeds_with_the_tokens_the_server_sent() {
    let report = judge(capture!("ok"), Some(4));
    assert!(report.success, "{:?}", report.error);
    // k = 1 (the edit): 9100 in, 11 out, 20 thoughts; k = 2 (the answer): 9200 in, 8192 of it
    // cached, 12 out. Thoughts count as output and as reasoning.
    assert_eq!(tokens(&report.usage), (18300, 8192, 11 + 20 + 12, 20));
    assert_eq!(report.usage.cost_usd, None);
    assert_eq!(report.final_message.as_deref(), Some("I updated hello.py."));
}

#[test]
fn side_requests_count_too() {
    // Without a model (`auto`) the CLI first asks a flash-lite model to route the prompt
    // (k = 1: 701 in, 13 out); `result.stats` sums every model.
    let report = judge(capture!("ok-auto"), Some(4));
    assert!(report.success, "{:?}", report.error);
    assert_eq!(
        tokens(&report.usage),
        (701 + 9200 + 9300, 8192, 13 + 12 + 20 + 13, 20)
    );
}

#[test]
fn an_api_error_is_named_with_its_status() {
    // 401 exits 145 (401 mod 256) after a `result` with the API's JSON error.
    let report = judge(capture!("auth"), Some(4));
    assert_eq!(
        error(&report),
        "gemini exited with 145: API error 401 (UNAUTHENTICATED): Request had invalid \
         authentication credentials. Expected OAuth 2 access token, login cookie or other valid \
         authentication credential. See \
         https://developers.google.com/identity/sign-in/web/devconsole-project."
    );
    assert_eq!(tokens(&report.usage), (0, 0, 0, 0));
    let report = judge(capture!("server-error"), Some(4));
    assert_eq!(
        error(&report),
        "gemini exited with 244: API error 500 (INTERNAL): An internal error has occurred. \
         Please retry or report in https://developers.generativeai.google/guide/troubleshooting"
    );
}

#[test]
fn the_turn_limit_fails_with_the_tokens_spent() {
    let report = judge(capture!("max-turns"), Some(4));
    assert_eq!(
        error(&report),
        "gemini exited with 53 (turn limit reached, max_turns = 4): Reached max session turns \
         for this session. Increase the number of turns by specifying maxSessionTurns in \
         settings.json."
    );
    // Four tool calls: k = 1..4, every one after the first with the cached prefix.
    assert_eq!(
        tokens(&report.usage),
        (36000 + 1000, 3 * 8192, 4 * 10 + 10 + 4 * 20, 80)
    );
}

#[test]
fn failures_before_the_session_say_why_from_stderr() {
    let report = judge(capture!("no-key"), Some(4));
    assert_eq!(
        error(&report),
        "gemini exited with 41 (authentication failed): When using Gemini API, you must specify \
         the GEMINI_API_KEY environment variable. Update your environment and try again (no \
         reload needed if using .env)!"
    );
    // The message is coloured and lacks its newline: the noise after it stays out.
    let report = judge(capture!("untrusted"), None);
    assert_eq!(
        error(&report),
        "gemini exited with 55 (untrusted folder): Gemini CLI is not running in a trusted \
         directory. To proceed, either use `--skip-trust`, set the \
         `GEMINI_CLI_TRUST_WORKSPACE=true` environment variable, or trust this directory in \
         interactive mode. For more details, see \
         https://geminicli.com/docs/cli/trusted-folders/#headless-and-automated-environments"
    );
}

#[test]
fn a_write_landlock_refused_fails_the_run() {
    // The CLI let the write through (`--include-directories`), the kernel refused it (EACCES),
    // and the CLI still ended `success`, exit 0.
    let report = judge(capture!("outside"), Some(4));
    let error = error(&report);
    assert!(
        error.starts_with("gemini was refused a write: write_file /") && error.contains("(EACCES)"),
        "{error}"
    );
    assert_eq!(report.usage.input, 18300);
}

#[test]
fn a_write_the_cli_refused_fails_the_run() {
    let report = judge(capture!("outside-denied"), Some(4));
    let error = error(&report);
    assert!(
        error.starts_with("gemini was refused a write: write_file /")
            && error.contains(": Path not in workspace: Attempted path"),
        "{error}"
    );
}

#[test]
fn an_edit_outside_the_scope_is_for_gatehouse_to_judge() {
    let report = judge(capture!("scope"), Some(4));
    assert!(report.success, "{:?}", report.error);
    assert_eq!(report.final_message.as_deref(), Some("I updated other.py."));
}

#[test]
fn stream_errors_and_loops_fail_a_successful_result() {
    let result = r#"{"type":"result","status":"success","stats":{"total_tokens":10,"input_tokens":7,"output_tokens":3,"cached":0}}"#;
    for (event, said) in [
        (
            r#"{"type":"error","severity":"error","message":"Maximum session turns exceeded"}"#,
            "gemini stopped: Maximum session turns exceeded",
        ),
        (
            r#"{"type":"error","severity":"warning","message":"Loop detected, stopping execution"}"#,
            "gemini stopped: Loop detected, stopping execution",
        ),
    ] {
        let report = judge((&format!("{event}\n{result}"), "", "0"), None);
        assert_eq!(error(&report), said);
    }
    let warning =
        r#"{"type":"error","severity":"warning","message":"Agent execution blocked: hook"}"#;
    assert!(judge((&format!("{warning}\n{result}"), "", "0"), None).success);
}

#[test]
fn a_shell_command_refused_a_write_fails_the_run() {
    let stdout = [
        r#"{"type":"tool_use","tool_name":"run_shell_command","tool_id":"s1","parameters":{"command":"echo x > /etc/x"}}"#,
        r#"{"type":"tool_result","tool_id":"s1","status":"success","output":"bash: /etc/x: Permission denied"}"#,
        r#"{"type":"tool_use","tool_name":"run_shell_command","tool_id":"s2","parameters":{"command":"pytest"}}"#,
        r#"{"type":"tool_result","tool_id":"s2","status":"error","output":"1 failed","error":{"type":"shell_execute_error","message":"exit 1"}}"#,
        r#"{"type":"result","status":"success","stats":{}}"#,
    ]
    .join("\n");
    let report = judge((&stdout, "", "0"), None);
    assert_eq!(
        error(&report),
        "gemini was refused a write: run_shell_command `echo x > /etc/x`: bash: /etc/x: \
         Permission denied"
    );
}

#[test]
fn a_killed_cli_is_described() {
    let events = GeminiEvents::default();
    let report = Box::new(events).finish(&End {
        exit_code: None,
        signal: Some(9),
        stdout_tail: "",
        stderr_tail: "",
    });
    assert_eq!(
        report.error.as_deref(),
        Some("gemini was killed by signal 9")
    );
}

#[test]
fn api_errors_read_with_what_the_cli_adds() {
    let said = api_error(
        r#"[API Error: {"error":{"code":429,"message":"Resource has been exhausted","status":"RESOURCE_EXHAUSTED"}}]
Please wait and try again later."#,
    );
    assert_eq!(said.code, Some(429));
    assert_eq!(
        said.text,
        "API error 429 (RESOURCE_EXHAUSTED): Resource has been exhausted Please wait and try \
         again later."
    );
    let said = api_error("[API Error: fetch failed]");
    assert_eq!(
        (said.code, said.text.as_str()),
        (None, "[API Error: fetch failed]")
    );
}

#[test]
fn the_auth_type_prefers_the_users_then_what_the_url_needs() {
    assert_eq!(auth_type(None, false, false, false), None);
    assert_eq!(
        auth_type(None, false, false, true).as_deref(),
        Some("gemini-api-key")
    );
    assert_eq!(
        auth_type(None, true, false, false).as_deref(),
        Some("gemini-api-key")
    );
    assert_eq!(
        auth_type(None, false, true, true).as_deref(),
        Some("vertex-ai")
    );
    let user = Some("oauth-personal");
    assert_eq!(
        auth_type(user, false, false, true).as_deref(),
        Some("oauth-personal")
    );
    assert_eq!(
        auth_type(user, true, false, true).as_deref(),
        Some("gemini-api-key")
    );
    assert_eq!(
        auth_type(Some("vertex-ai"), true, false, true).as_deref(),
        Some("vertex-ai")
    );
    assert_eq!(
        selected_auth(r#"{"security":{"auth":{"selectedType":"oauth-personal"}}}"#).as_deref(),
        Some("oauth-personal")
    );
    assert_eq!(
        selected_auth(r#"{"selectedAuthType":"vertex-ai"}"#).as_deref(),
        Some("vertex-ai")
    );
    assert_eq!(selected_auth("// comments are not JSON\n{}"), None);
}

/// A worktree, a run directory and a home with a signed-in `~/.gemini`.
struct Dirs {
    _dir: tempfile::TempDir,
    worktree: std::path::PathBuf,
    run_dir: std::path::PathBuf,
    home: std::path::PathBuf,
}

impl Dirs {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let worktree = dir.path().join("worktree");
        let run_dir = dir.path().join("run");
        let home = dir.path().join("home");
        for d in [&worktree, &run_dir, &home.join(".gemini")] {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        Dirs {
            _dir: dir,
            worktree,
            run_dir,
            home,
        }
    }

    fn invocation(&self) -> Invocation<'_> {
        Invocation {
            worktree: &self.worktree,
            run_dir: &self.run_dir,
            prompt: "Annotate greet.",
            timeout: Duration::from_mins(1),
            home: Some(&self.home),
            extra_env: &[],
            budget: Budget::default(),
        }
    }

    fn prepare(&self, config: &AgentConfig, parent: &[(&str, &str)]) -> (AgentEnv, Value) {
        let mut env = AgentEnv::from_vars(
            parent
                .iter()
                .map(|(k, v)| (OsString::from(k), OsString::from(v))),
        );
        Gemini
            .prepare(config, &self.invocation(), &mut env)
            .expect("prepared");
        let settings = self.run_dir.join("gemini-home/.gemini/settings.json");
        let text = std::fs::read_to_string(settings).expect("settings.json");
        (env, serde_json::from_str(&text).expect("json"))
    }
}

fn var<'a>(env: &'a AgentEnv, name: &str) -> Option<&'a str> {
    env.get(name).and_then(|v| v.to_str())
}

#[test]
fn prepare_gives_a_per_run_home_with_the_settings_headless_runs_need() {
    let dirs = Dirs::new();
    let user = dirs.home.join(".gemini");
    std::fs::write(user.join("oauth_creds.json"), "{\"token\":1}").expect("write");
    std::fs::write(
        user.join("settings.json"),
        r#"{"security":{"auth":{"selectedType":"oauth-personal"}},"mcpServers":{"x":{}}}"#,
    )
    .expect("write");
    let mut config = AgentConfig::new(AdapterKind::Gemini);
    config.max_turns = Some(7);
    let (env, settings) = dirs.prepare(&config, &[("GEMINI_API_KEY", "k"), ("OTHER", "x")]);
    let home = dirs.run_dir.join("gemini-home");
    assert_eq!(var(&env, "GEMINI_CLI_HOME"), home.to_str());
    assert_eq!(var(&env, "GEMINI_CLI_TRUST_WORKSPACE"), Some("true"));
    assert_eq!(var(&env, "GEMINI_API_KEY"), Some("k"));
    assert_eq!(var(&env, "OTHER"), None);
    assert_eq!(var(&env, "GOOGLE_GEMINI_BASE_URL"), None);
    // The user's sign-in and auth type come along; their MCP servers do not.
    assert_eq!(
        std::fs::read_to_string(home.join(".gemini/oauth_creds.json")).expect("seeded"),
        "{\"token\":1}"
    );
    assert_eq!(
        settings,
        json!({
            "general": {
                "maxAttempts": 3,
                "enableAutoUpdate": false,
                "enableAutoUpdateNotification": false,
            },
            "privacy": { "usageStatisticsEnabled": false },
            "security": { "auth": { "selectedType": "oauth-personal" } },
            "model": { "maxSessionTurns": 7 },
        })
    );
}

#[test]
fn a_base_url_goes_to_the_cli_with_key_auth() {
    let dirs = Dirs::new();
    let mut config = AgentConfig::new(AdapterKind::Gemini);
    config.base_url = Some("http://127.0.0.1:8080".into());
    let (env, settings) = dirs.prepare(&config, &[("GEMINI_API_KEY", "k")]);
    assert_eq!(
        var(&env, "GOOGLE_GEMINI_BASE_URL"),
        Some("http://127.0.0.1:8080")
    );
    assert_eq!(
        settings.pointer("/security/auth/selectedType"),
        Some(&json!("gemini-api-key"))
    );
    assert_eq!(settings.get("model"), None);

    let (env, settings) = dirs.prepare(
        &config,
        &[
            ("GOOGLE_GENAI_USE_VERTEXAI", "true"),
            ("GOOGLE_API_KEY", "g"),
        ],
    );
    assert_eq!(
        var(&env, "GOOGLE_VERTEX_BASE_URL"),
        Some("http://127.0.0.1:8080")
    );
    assert_eq!(var(&env, "GOOGLE_GEMINI_BASE_URL"), None);
    assert_eq!(
        settings.pointer("/security/auth/selectedType"),
        Some(&json!("vertex-ai"))
    );
}

#[test]
fn without_any_auth_the_cli_is_left_to_say_so() {
    let dirs = Dirs::new();
    let (_, settings) = dirs.prepare(&AgentConfig::new(AdapterKind::Gemini), &[]);
    assert_eq!(settings.get("security"), None);
    assert!(
        !dirs
            .run_dir
            .join("gemini-home/.gemini/oauth_creds.json")
            .exists()
    );
}

#[test]
fn the_stand_in_replays_the_ok_capture_through_the_runner() {
    let dirs = Dirs::new();
    let stand_in = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/stand-ins/gemini");
    let mut config = AgentConfig::new(AdapterKind::Gemini);
    config.program = Some(stand_in.display().to_string());
    config.base_url = Some("http://127.0.0.1:9".into());
    config.env = EnvSpec::Pass(vec!["STANDIN_ENV_DUMP".into()]);
    config.price = Some(crate::agents::Price {
        input: 1.25,
        cached_input: Some(0.31),
        output: 10.0,
    });
    let dump = dirs.run_dir.join("env.json");
    let parent = [
        ("PATH", std::env::var("PATH").unwrap_or_default()),
        ("GEMINI_API_KEY", "k".into()),
        ("STANDIN_ENV_DUMP", dump.display().to_string()),
    ];
    let env = AgentEnv::from_vars(parent.iter().map(|(k, v)| (k.into(), v.into())));
    let outcome = crate::agents::run_in(
        "gemini",
        &config,
        &dirs.invocation(),
        &crate::agents::CancelToken::new(),
        &crate::agents::Limits::default(),
        env,
    )
    .expect("ran");
    assert!(outcome.success, "{outcome:?}");
    assert_eq!(
        (
            outcome.usage.input,
            outcome.usage.cached_input,
            outcome.usage.output
        ),
        (18300, 8192, 43)
    );
    assert_eq!(outcome.usage.reasoning, 20);
    let expected = (10108.0 * 1.25 + 8192.0 * 0.31 + 43.0 * 10.0) / 1e6;
    let cost = outcome.usage.cost_usd.expect("priced");
    assert!((cost - expected).abs() < 1e-12, "{cost} vs {expected}");
    assert_eq!(
        outcome.final_message.as_deref(),
        Some("I updated standin-edit.txt.")
    );
    assert_eq!(
        std::fs::read_to_string(dirs.worktree.join("standin-edit.txt")).expect("edited"),
        "edited by the gemini stand-in\n"
    );
    let env: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&std::fs::read_to_string(&dump).expect("env dump")).expect("json");
    let home = dirs.run_dir.join(HOME_DIR);
    assert_eq!(env["GEMINI_CLI_HOME"], home.display().to_string());
    assert_eq!(env["GEMINI_CLI_TRUST_WORKSPACE"], "true");
    assert_eq!(env["GOOGLE_GEMINI_BASE_URL"], "http://127.0.0.1:9");
    // The per-run home is gone with the run.
    assert!(!home.exists());
}
