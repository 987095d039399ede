//! The aider adapter against aider 0.86.2's real output: the captures in
//! tests/stand-ins/fixtures/aider/ read directly, and the stand-in that replays them.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use super::*;
use crate::agents::config::{AdapterKind, EnvSpec, Price};
use crate::agents::{CancelToken, Limits, Outcome, run_in};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/stand-ins/fixtures/aider")
}

fn captured(name: &str, file: &str) -> String {
    let path = fixtures().join(name).join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// aider's stdout in scenario `name`, read line by line.
fn read_stdout(name: &str) -> Output {
    let mut output = Output::default();
    for line in captured(name, "stdout").lines() {
        output.line(line);
    }
    output
}

#[test]
fn reads_an_applied_edit_and_its_tokens() {
    let out = read_stdout("ok");
    assert_eq!(out.edited, ["hello.py"]);
    assert!(out.refused.is_empty() && out.api_error.is_none() && out.malformed.is_none());
    // `Tokens: 1.1k sent, 384 cache hit, 24 received.`: rounded sent, exact cache hit.
    assert_eq!(
        (out.usage.input, out.usage.cached_input, out.usage.output),
        (1100, 384, 24)
    );
    assert!(!out.priced, "no Cost: for a model without a price");
    assert!(read_stdout("priced").priced);
}

#[test]
fn reads_api_errors_with_aiders_explanation() {
    let auth = read_stdout("auth").api_error.expect("an error");
    assert!(
        auth.starts_with(
            "litellm.AuthenticationError: AuthenticationError: OpenAIException - Incorrect API \
             key provided"
        ) && auth
            .ends_with("The API provider is not able to authenticate you. Check your API key."),
        "{auth}"
    );
    let server = read_stdout("server-error").api_error.expect("an error");
    assert!(
        server.starts_with("litellm.InternalServerError: ")
            && server.ends_with("The API provider's servers are down or overloaded."),
        "{server}"
    );
}

#[test]
fn an_edit_outside_the_repository_is_refused() {
    let out = read_stdout("outside");
    assert!(out.edited.is_empty());
    assert_eq!(
        out.refused,
        [
            "'{outside}' is not in the subpath of '{worktree}' OR one path is relative and the \
          other is absolute."
        ]
    );
    // The reply after the refusal cleared nothing: no API error.
    assert!(out.api_error.is_none());
}

#[test]
fn token_counts_as_aider_formats_them() {
    assert_eq!(parse_tokens("879"), 879);
    assert_eq!(parse_tokens("1.1k"), 1100);
    assert_eq!(parse_tokens("12k"), 12000);
    assert_eq!(parse_tokens("1.25k"), 1250);
    assert_eq!(parse_tokens("x"), 0);
}

#[test]
fn the_last_reply_comes_from_the_llm_history() {
    let dir = tempfile::tempdir().expect("tempdir");
    let history = |name: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, captured(name, "llm-history.txt")).expect("write");
        last_reply(&path)
    };
    let ok = history("ok").expect("a reply");
    assert!(
        ok.starts_with("I will make the change.\n\nhello.py\n```\ndef greet(name: str) -> str:"),
        "{ok}"
    );
    assert_eq!(
        history("outside").as_deref(),
        Some("I could not write {outside}.")
    );
    // Every request failed: only empty responses.
    assert_eq!(history("server-error"), None);
}

#[test]
fn base_url_makes_an_openai_model_with_metadata() {
    let dirs = Dirs::new();
    let inv = dirs.invocation();
    let mut config = AgentConfig::new(AdapterKind::Aider);
    let (_, plain) = super::super::command_line(&config, &inv);
    assert!(
        !plain
            .iter()
            .any(|a| a == "--openai-api-base" || a == "--model")
    );
    config.model = Some("qwen/coder".into());
    config.base_url = Some("http://127.0.0.1:8000/v1".into());
    let (_, args) = super::super::command_line(&config, &inv);
    let after = |flag: &str| {
        let i = args.iter().position(|a| a == flag).expect(flag);
        args[i + 1].clone()
    };
    assert_eq!(after("--openai-api-base"), "http://127.0.0.1:8000/v1");
    assert_eq!(after("--model"), "openai/qwen/coder");
    assert!(after("--model-metadata-file").ends_with(MODEL_METADATA));
    config.model = Some("openai/gpt-4.1".into());
    assert_eq!(model_name(&config).as_deref(), Some("openai/gpt-4.1"));
}

// ---- the stand-in, through the runner ----

/// A worktree, a run directory and a HOME in one temp dir.
struct Dirs {
    _tmp: tempfile::TempDir,
    worktree: PathBuf,
    run: PathBuf,
    home: PathBuf,
}

impl Dirs {
    fn new() -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let [worktree, run, home] = ["worktree", "run", "home"].map(|d| tmp.path().join(d));
        for dir in [&worktree, &home] {
            std::fs::create_dir_all(dir).expect("mkdir");
        }
        Dirs {
            _tmp: tmp,
            worktree,
            run,
            home,
        }
    }

    fn invocation(&self) -> Invocation<'_> {
        Invocation {
            worktree: &self.worktree,
            run_dir: &self.run,
            prompt: "Add a line to standin-edit.txt.\n",
            timeout: Duration::from_mins(1),
            home: Some(&self.home),
            extra_env: &[],
            budget: crate::agents::Budget::default(),
        }
    }
}

/// Runs the aider stand-in in mode `mode` with `config` (its program set here) and the
/// `STANDIN_*` variables `vars`.
fn run(mode: &str, mut config: AgentConfig, vars: &[(&str, &str)]) -> (Outcome, Dirs) {
    let dirs = Dirs::new();
    let stand_in = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/stand-ins/aider");
    config.program = Some(stand_in.display().to_string());
    let mut parent: Vec<(OsString, OsString)> = vec![
        ("PATH".into(), std::env::var_os("PATH").unwrap_or_default()),
        ("LANG".into(), "C.UTF-8".into()),
        ("STANDIN_MODE".into(), mode.into()),
    ];
    parent.extend(
        vars.iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v))),
    );
    let names = parent
        .iter()
        .filter_map(|(k, _)| k.to_str())
        .filter(|k| k.starts_with("STANDIN_"))
        .map(String::from)
        .collect();
    config.env = EnvSpec::Pass(names);
    let limits = Limits {
        log_cap: 1 << 20,
        kill_grace: Duration::from_secs(2),
    };
    let outcome = run_in(
        "aider",
        &config,
        &dirs.invocation(),
        &CancelToken::new(),
        &limits,
        AgentEnv::from_vars(parent),
    )
    .expect("the stand-in runs");
    (outcome, dirs)
}

#[test]
fn success_against_a_local_server() {
    let mut config = AgentConfig::new(AdapterKind::Aider);
    config.model = Some("local-model".into());
    config.base_url = Some("http://127.0.0.1:9/v1".into());
    // The dump goes to the worktree: the confined stand-in may write nowhere else it knows.
    let (outcome, dirs) = run(
        "ok",
        config,
        &[
            ("STANDIN_ENV_DUMP", "env.json"),
            ("STANDIN_USAGE", "1500,384,40"),
        ],
    );
    assert!(outcome.success, "{outcome:?}");
    assert_eq!(
        (
            outcome.usage.input,
            outcome.usage.cached_input,
            outcome.usage.output
        ),
        (1500, 384, 40)
    );
    assert_eq!(outcome.usage.cost_usd, Some(0.0098));
    let message = outcome.final_message.expect("a final message");
    assert!(
        message.starts_with("I will make the change.")
            && message.ends_with("Applied edit to standin-edit.txt"),
        "{message}"
    );
    assert!(!dirs.worktree.join(".aider.tags.cache.v4").exists());
    let metadata = std::fs::read_to_string(dirs.run.join(MODEL_METADATA)).expect("metadata");
    assert!(metadata.contains("\"openai/local-model\""), "{metadata}");
    let text = std::fs::read_to_string(dirs.worktree.join("env.json")).expect("env dump");
    let env: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(env["GIT_CONFIG_PARAMETERS"], GIT_IDENTITY);
    assert_eq!(env["LITELLM_LOCAL_MODEL_COST_MAP"], "True");
    assert_eq!(env["BROWSER"], "true");
}

#[test]
fn an_authentication_error_is_the_runs_reason() {
    let (outcome, _dirs) = run("error", AgentConfig::new(AdapterKind::Aider), &[]);
    assert!(!outcome.success);
    assert_eq!(outcome.exit_code, Some(0));
    let error = outcome.error.expect("an error");
    assert!(
        error.starts_with("aider got no reply from the model: litellm.AuthenticationError: ")
            && error.contains("Incorrect API key provided")
            && error.ends_with("Check your API key."),
        "{error}"
    );
    assert_eq!(outcome.usage.total_tokens(), 0);
}

#[test]
fn a_server_error_after_retries_is_the_runs_reason() {
    let (outcome, _dirs) = run("server-error", AgentConfig::new(AdapterKind::Aider), &[]);
    assert!(!outcome.success);
    let error = outcome.error.expect("an error");
    assert!(
        error.starts_with("aider got no reply from the model: litellm.InternalServerError: ")
            && error.ends_with("down or overloaded.")
            && !error.contains("Retrying"),
        "{error}"
    );
}

#[test]
fn a_refused_edit_fails_the_run_and_names_the_path() {
    let mut config = AgentConfig::new(AdapterKind::Aider);
    config.price = Some(Price {
        input: 1.0,
        cached_input: Some(0.1),
        output: 2.0,
    });
    let (outcome, dirs) = run(
        "refused",
        config,
        &[("STANDIN_OUTSIDE", "/elsewhere/out.txt")],
    );
    assert!(!outcome.success);
    let error = outcome.error.expect("an error");
    let worktree = &dirs.worktree;
    assert!(
        error.starts_with(
            "aider could not apply an edit: '/elsewhere/out.txt' is not in the subpath of"
        ) && error.contains(&worktree.display().to_string()),
        "{error}"
    );
    // Two answers (the captured counts); no cost from aider, so the price table's.
    assert_eq!(
        (
            outcome.usage.input,
            outcome.usage.cached_input,
            outcome.usage.output
        ),
        (1058 + 1159, 768, 26 + 14)
    );
    let cost = outcome.usage.cost_usd.expect("priced from the table");
    let expected = ((2217.0 - 768.0) * 1.0 + 768.0 * 0.1 + 40.0 * 2.0) / 1e6;
    assert!((cost - expected).abs() < 1e-12, "{cost} vs {expected}");
}

#[test]
fn an_answer_without_an_edit_fails() {
    let (outcome, _dirs) = run("fail", AgentConfig::new(AdapterKind::Aider), &[]);
    assert!(!outcome.success);
    assert_eq!(outcome.error.as_deref(), Some("aider made no edits"));
    assert_eq!(
        outcome.final_message.as_deref(),
        Some("The function in hello.py is annotated now.")
    );
}

#[test]
fn a_usage_error_says_which_argument() {
    let mut config = AgentConfig::new(AdapterKind::Aider);
    config.args = vec!["--no-such-flag".into()];
    let (outcome, _dirs) = run("ok", config, &[]);
    assert_eq!(outcome.exit_code, Some(2));
    assert_eq!(
        outcome.error.as_deref(),
        Some("aider exited with 2: aider: error: unrecognized arguments: --no-such-flag")
    );
}

#[test]
fn a_crash_is_reported_with_its_last_words() {
    let (outcome, dirs) = run("crash", AgentConfig::new(AdapterKind::Aider), &[]);
    assert!(!outcome.success);
    assert_eq!(outcome.exit_code, Some(1));
    let config_lock = dirs.worktree.join(".git/config.lock");
    assert_eq!(
        outcome.error,
        Some(format!(
            "aider exited with 1: OSError: [Errno 13] Permission denied: '{}'",
            config_lock.display()
        ))
    );
}

#[test]
fn a_failed_git_add_is_a_refused_edit() {
    // What aider 0.86.2 printed when Landlock refused its `git add` of a file it created
    // (before the adapter gave it an index and object directory of its own).
    let mut out = Output::default();
    for line in [
        "Tokens: 1.1k sent, 384 cache hit, 18 received.",
        "",
        "new.py",
        "Cmd('git') failed due to: exit code(128)",
        "  cmdline: git add /wt/new.py",
        "  stderr: 'fatal: Unable to create '/repo/.git/worktrees/wt/index.lock': Permission \
         denied'",
    ] {
        out.line(line);
    }
    assert_eq!(
        out.refused,
        ["`git add /wt/new.py` failed: 'fatal: Unable to create \
          '/repo/.git/worktrees/wt/index.lock': Permission denied'"]
    );
}

#[test]
fn aiders_git_gets_an_index_and_objects_of_its_own() {
    let dirs = Dirs::new();
    let repo = git2::Repository::init(&dirs.worktree).expect("init");
    std::fs::write(dirs.worktree.join("a.txt"), "a\n").expect("write");
    let mut index = repo.index().expect("index");
    index.add_path(Path::new("a.txt")).expect("add");
    index.write().expect("write the index");
    std::fs::create_dir_all(&dirs.run).expect("mkdir");
    let mut env = AgentEnv::from_vars(Vec::new());
    private_git_index(&dirs.invocation(), &mut env).expect("prepared");
    let get = |name: &str| PathBuf::from(env.get(name).expect(name));
    assert_eq!(get("GIT_INDEX_FILE"), dirs.run.join(GIT_INDEX));
    assert!(dirs.run.join(GIT_INDEX).is_file(), "a copy of the index");
    assert!(get("GIT_OBJECT_DIRECTORY").is_dir());
    assert_eq!(
        get("GIT_ALTERNATE_OBJECT_DIRECTORIES"),
        repo.commondir().join("objects")
    );
}
