//! The hook directory `core.hooksPath` names inside the repository is gate configuration: a
//! change there is a `gate-config` sensitive change, like one to `.githooks/`.

use crate::common::{TestEnv, TestRepo, findings};

/// A repository with a base commit and a second one adding `tools/hooks/pre-push`.
fn with_tracked_hook(env: &TestEnv) -> TestRepo<'_> {
    let repo = env.repo("work");
    repo.write("a.py", "a = 1\n");
    repo.commit("base");
    repo.write("tools/hooks/pre-push", "#!/bin/sh\nexit 0\n");
    repo.commit("loosen the hook");
    repo
}

/// The `gate-config` findings of `check --range HEAD~1..HEAD`.
fn gate_config(repo: &TestRepo<'_>) -> Vec<(String, u64, String, String)> {
    let run = repo.gatehouse(&["check", "--range", "HEAD~1..HEAD", "--format", "json"]);
    let report = run.json();
    let messages: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["message"].as_str())
        .collect();
    findings(&report)
        .into_iter()
        .zip(messages)
        .filter(|(_, message)| message.contains("(gate-config)"))
        .map(|(f, _)| f)
        .collect()
}

#[test]
fn a_change_in_the_hooks_path_directory_is_gate_config() {
    let env = TestEnv::new();
    let repo = with_tracked_hook(&env);
    assert!(gate_config(&repo).is_empty(), "not a hook directory yet");
    repo.git(&["config", "core.hooksPath", "tools/hooks"]);
    let expected = [(
        "tools/hooks/pre-push".to_string(),
        1,
        "sensitive-path".to_string(),
        "added".to_string(),
    )];
    assert_eq!(gate_config(&repo), expected);
    // Written as an absolute path, or with a trailing slash and a `./`, it is the same directory.
    let absolute = repo.root.join("tools/hooks");
    repo.git(&["config", "core.hooksPath", absolute.to_str().unwrap()]);
    assert_eq!(gate_config(&repo), expected);
    repo.git(&["config", "core.hooksPath", "./tools/hooks/"]);
    assert_eq!(gate_config(&repo), expected);
    // A directory outside the repository names nothing in it.
    repo.git(&["config", "core.hooksPath", "../elsewhere/tools/hooks"]);
    assert!(gate_config(&repo).is_empty());
}
