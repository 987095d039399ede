//! The claude adapter on what Claude Code 2.1.197 really printed: the captures in
//! `tests/stand-ins/fixtures/claude/` (see `capture.sh` there), made against
//! `scripts/conformance/server_claude.py`. That server's usage is a formula of the response's
//! number k (1, 2, … in the order it answered): uncached input 100 + k, cache writes
//! 1000 + 10k, cache reads 2000 (k - 1), output 20 + 7k (side requests: no cache), so the
//! figures below are what it sent.

use std::ffi::OsString;
use std::time::Duration;

use super::*;
use crate::agents::{Adapter as _, AdapterKind, Budget, Invocation};

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/stand-ins/fixtures/claude/",
            $name,
            ".stdout"
        ))
    };
}

fn events(max_turns: Option<u32>) -> ClaudeEvents {
    ClaudeEvents {
        max_turns,
        ..ClaudeEvents::default()
    }
}

fn feed(events: &mut ClaudeEvents, stdout: &str) {
    for line in stdout.lines() {
        events.line(line);
    }
}

/// The verdict on a capture, with the exit code the capture had.
fn judge(stdout: &str, exit: i32, max_turns: Option<u32>) -> Report {
    let mut events = events(max_turns);
    feed(&mut events, stdout);
    Box::new(events).finish(&End {
        exit_code: Some(exit),
        signal: None,
        stdout_tail: "",
        stderr_tail: "",
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

#[test]
fn ok_succeeds_with_the_tokens_the_server_sent() {
    let report = judge(fixture!("ok"), 0, Some(4));
    assert!(report.success, "{:?}", report.error);
    // Responses 1-3: uncached 306, cache writes 3060, cache reads 6000, output 102.
    assert_eq!(tokens(&report.usage), (306 + 3060 + 6000, 6000, 102, 0));
    assert_eq!(report.usage.cost_usd, Some(0.015723));
    assert_eq!(
        report.final_message.as_deref(),
        Some("Done: hello.py now has type annotations.")
    );
}

#[test]
fn side_requests_count_through_model_usage() {
    // Without CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC Claude Code asked for a session title
    // first (response 1: input 101, output 27); `result.usage` leaves it out, `modelUsage` not.
    let report = judge(fixture!("ok-title"), 0, None);
    assert!(report.success);
    assert_eq!(tokens(&report.usage), (15500, 12000, 150, 0));
    assert_eq!(report.usage.cost_usd, Some(0.0311125));
}

#[test]
fn live_usage_estimates_output_that_the_stream_reports_as_1() {
    let mut events = events(None);
    feed(&mut events, fixture!("ok"));
    let live = events.usage();
    // Input and cache as the server sent them; output from the streamed content (the assistant
    // events say 1 per response), near the real 102.
    assert_eq!((live.input, live.cached_input), (9366, 6000));
    assert!((51..=153).contains(&live.output), "{}", live.output);
}

#[test]
fn live_usage_is_exact_with_partial_messages() {
    // --include-partial-messages: message_delta has the final usage of responses 6-8 (1-5
    // were earlier runs against the same server; 5 was this run's title request).
    let mut events = events(None);
    feed(&mut events, fixture!("ok-partial"));
    assert_eq!(
        tokens(&events.usage()),
        (321 + 3210 + 36000, 36000, 62 + 69 + 76, 0)
    );
    let report = Box::new(events).finish(&End {
        exit_code: Some(0),
        signal: None,
        stdout_tail: "",
        stderr_tail: "",
    });
    assert_eq!(tokens(&report.usage), (426 + 3210 + 36000, 36000, 262, 0));
}

#[test]
fn live_usage_counts_each_response_once() {
    let mut events = events(None);
    let assistant = |id: &str, input: u64| {
        format!(
            r#"{{"type":"assistant","message":{{"id":"{id}","content":[],"usage":{{"input_tokens":{input},"cache_creation_input_tokens":10,"cache_read_input_tokens":100,"output_tokens":1}}}}}}"#
        )
    };
    events.line(&assistant("msg_1", 5));
    events.line(&assistant("msg_1", 5));
    events.line(&assistant("msg_2", 7));
    events.line("not json");
    assert_eq!(tokens(&events.usage()), (5 + 110 + 7 + 110, 200, 2, 0));
}

#[test]
fn api_errors_fail_in_claudes_words() {
    let report = judge(fixture!("auth"), 1, None);
    assert!(!report.success);
    assert_eq!(
        report.error.as_deref(),
        Some("claude reported an error (API status 401): Invalid API key · Fix external API key")
    );
    assert_eq!(tokens(&report.usage), (0, 0, 0, 0));
    let report = judge(fixture!("server-error"), 1, None);
    let error = report.error.unwrap_or_default();
    assert!(
        error.starts_with(
            "claude reported an error (API status 500): API Error: 500 Internal server error."
        ),
        "{error}"
    );
    let report = judge(fixture!("overloaded"), 1, None);
    assert!(
        report
            .error
            .is_some_and(|e| e.contains("API Error: 529 Overloaded"))
    );
    let report = judge(fixture!("no-login"), 1, None);
    assert_eq!(
        report.error.as_deref(),
        Some("claude reported an error: Not logged in · Please run /login")
    );
}

#[test]
fn the_turn_limit_fails_with_its_usage() {
    let report = judge(fixture!("max-turns"), 1, Some(4));
    assert!(!report.success);
    assert_eq!(
        report.error.as_deref(),
        Some(
            "claude stopped at the turn limit (--max-turns 4): Reached maximum number of turns (4)"
        )
    );
    assert_eq!(tokens(&report.usage), (410 + 4100 + 12000, 12000, 150, 0));
}

#[test]
fn a_write_landlock_refused_fails_and_is_named() {
    let report = judge(fixture!("outside"), 0, Some(4));
    assert!(!report.success);
    let error = report.error.unwrap_or_default();
    assert!(
        error.starts_with("claude was refused a write: Write /tmp/gatehouse-conformance.")
            && error.contains("/outside.txt: EACCES: permission denied, open "),
        "{error}"
    );
}

#[test]
fn a_write_claude_denied_itself_fails_and_is_named() {
    let report = judge(fixture!("outside-denied"), 0, Some(4));
    assert!(!report.success);
    let error = report.error.unwrap_or_default();
    assert!(
        error.starts_with("claude was refused a write: Write /tmp/gatehouse-conformance.")
            && error.contains("/outside.txt: Claude requested permissions to write to /tmp/")
            && error.ends_with("/outside.txt, but you haven't granted it yet."),
        "{error}"
    );
}

#[test]
fn an_edit_under_git_is_refused_by_claude_and_named() {
    // Claude Code run by hand in a directory under .git/ (where worktrees used to be).
    let report = judge(fixture!("git-dir-denied"), 0, None);
    assert!(!report.success);
    assert_eq!(
        report.error.as_deref(),
        Some(
            "claude was refused a write: Edit /tmp/claude-probe/gitwt/repo/.git/wt/hello.py: \
             Claude requested permissions to edit /tmp/claude-probe/gitwt/repo/.git/wt/hello.py \
             which is a sensitive file."
        )
    );
}

#[test]
fn ordinary_tool_errors_and_denied_commands_do_not_fail_the_run() {
    let lines = [
        r#"{"type":"assistant","message":{"id":"m1","content":[{"type":"tool_use","id":"t1","name":"Edit","input":{"file_path":"/w/a.py","old_string":"x","new_string":"y"}}],"usage":{"input_tokens":1,"output_tokens":1}}}"#,
        r#"{"type":"user","message":{"role":"user","content":[{"type":"tool_result","content":"<tool_use_error>String to replace not found in file.\nString: x</tool_use_error>","is_error":true,"tool_use_id":"t1"}]}}"#,
        r#"{"type":"result","subtype":"success","is_error":false,"result":"done","usage":{"input_tokens":1,"output_tokens":2},"modelUsage":{},"permission_denials":[{"tool_name":"Bash","tool_use_id":"t2","tool_input":{"command":"pytest -q"}}]}"#,
    ]
    .join("\n");
    let report = judge(&lines, 0, None);
    assert!(report.success, "{:?}", report.error);
    // Empty modelUsage: `usage` instead.
    assert_eq!(tokens(&report.usage), (1, 0, 2, 0));
}

#[test]
fn no_result_says_how_claude_ended() {
    let mut events = events(None);
    events.line(r#"{"type":"system","subtype":"api_retry","attempt":3,"max_retries":10,"error_status":529,"error":"overloaded"}"#);
    let report = Box::new(events).finish(&End {
        exit_code: None,
        signal: Some(9),
        stdout_tail: "",
        stderr_tail: "",
    });
    assert_eq!(
        report.error.as_deref(),
        Some(
            "claude was killed by signal 9 without a result event (last: API retry 3/10 after 529 overloaded)"
        )
    );
    let report = Box::new(ClaudeEvents::default()).finish(&End {
        exit_code: Some(1),
        signal: None,
        stdout_tail: "",
        stderr_tail: "error: unknown option '--bogus'\n",
    });
    assert_eq!(
        report.error.as_deref(),
        Some("claude exited with 1 without a result event: error: unknown option '--bogus'")
    );
}

#[test]
fn prepare_points_claude_at_base_url_and_keeps_it_quiet() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inv = Invocation {
        worktree: dir.path(),
        run_dir: &dir.path().join("run"),
        prompt: "p",
        timeout: Duration::from_secs(1),
        home: None,
        extra_env: &[],
        budget: Budget::default(),
    };
    let mut config = AgentConfig::new(AdapterKind::Claude);
    config.base_url = Some("http://127.0.0.1:8080".into());
    let parent: Vec<(OsString, OsString)> = vec![
        ("ANTHROPIC_BASE_URL".into(), "https://proxy.example".into()),
        ("ANTHROPIC_API_KEY".into(), "sk-ant-x".into()),
    ];
    let mut env = AgentEnv::from_vars(parent);
    Claude.prepare(&config, &inv, &mut env).expect("prepare");
    let get = |name: &str| env.get(name).and_then(|v| v.to_str()).map(str::to_string);
    assert_eq!(
        get("ANTHROPIC_BASE_URL").as_deref(),
        Some("http://127.0.0.1:8080")
    );
    assert_eq!(get("ANTHROPIC_API_KEY").as_deref(), Some("sk-ant-x"));
    assert_eq!(
        get("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC").as_deref(),
        Some("1")
    );
    assert!(get("CLAUDE_CONFIG_DIR").is_some_and(|d| d.ends_with("claude-config")));
}
