//! What happened, afterwards: `gatehouse log` and `gatehouse audit`.

use super::*;

#[test]
fn log_shows_hook_runs_skips_approvals_and_decisions_newest_first() {
    let env = TestEnv::new();
    let (repo, _) = setup(&env, "1h");
    let first = ready_run(&repo);
    let asked = repo.gatehouse(&["review", "request-changes", &first, "-m", "More."]);
    assert_eq!(asked.code, 0, "{}", asked.stderr);
    assert_eq!(repo.gatehouse(&["review", "accept", &first]).code, 0);
    repo.write("README.md", "next\n");
    repo.commit("next");
    let second = ready_run(&repo);
    let rejected = repo.gatehouse(&["review", "reject", &second, "-m", "not now"]);
    assert_eq!(rejected.code, 0, "{}", rejected.stderr);
    let skipped = repo
        .env
        .command("git", &repo.root)
        .args(["push", "-q", "origin", "main"])
        .env("GATEHOUSE_SKIP", "1")
        .output()
        .unwrap();
    assert!(skipped.status.success());
    repo.write("README.md", "after the skip\n");
    repo.commit("after the skip");
    assert_eq!(git_run(&repo, &["push", "origin", "main"]).code, 0);
    let log = repo.gatehouse(&["log", "--format", "json"]);
    assert_eq!(log.code, 0, "{}", log.stderr);
    let entries = log.json()["entries"].as_array().cloned().unwrap();
    let kinds: std::collections::BTreeSet<&str> = entries
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for kind in [
        "hook-run",
        "skip",
        "approval",
        "accept",
        "reject",
        "changes-requested",
    ] {
        assert!(kinds.contains(kind), "no {kind} entry: {entries:?}");
    }
    let times: Vec<&str> = entries
        .iter()
        .map(|e| e["time"].as_str().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "not newest first: {times:?}"
    );
    let reject = entries.iter().find(|e| e["kind"] == "reject").unwrap();
    assert_eq!(
        reject["who"], "Test Author <author@example.com>",
        "{reject}"
    );
    assert!(
        reject["summary"].as_str().unwrap().contains("not now"),
        "{reject}"
    );
    let human = repo.gatehouse(&["log", "-n", "1"]).stdout;
    assert_eq!(human.lines().count(), 1, "{human}");
    assert!(
        human.contains("hook-run") && human.contains("passed"),
        "{human}"
    );
}

#[test]
fn audit_lists_accepted_agent_work_with_approvers_cost_and_todays_findings() {
    let env = TestEnv::new();
    let (repo, _) = setup(&env, "1h");
    let codex = stand_in("codex").display().to_string();
    let config = std::fs::read_to_string(repo.root.join(".gatehouse/config.toml")).unwrap();
    let py_agent = format!(
        "\n[agents.py]\nadapter = \"codex\"\nprogram = \"{codex}\"\n\
         env = {{ STANDIN_EDIT = \"lib.py\", STANDIN_TEXT = \"def g(x):\\n    return x\" }}\n\
         price = {{ input = 3.0, output = 15.0 }}\n"
    );
    // Untyped functions only warn today: the agent's one is accepted.
    repo.write(
        ".gatehouse/config.toml",
        format!("{config}{py_agent}\n[rules.untyped-function]\nlevel = \"warn\"\n"),
    )
    .write(
        ".gatehouse/tasks/py.toml",
        "kind = \"py\"\ngoal = \"Add g.\"\nscope = [\"lib.py\"]\nagent = \"py\"\n[[accept]]\nrun = \"true\"\n",
    );
    let start = repo.commit("a python task");
    let py = ready_run_of(&repo, "py");
    assert_eq!(repo.gatehouse(&["review", "accept", &py]).code, 0);
    let deps = ready_run_of(&repo, "deps");
    assert_eq!(repo.gatehouse(&["review", "accept", &deps]).code, 0);
    // The user's own untyped function is not the agent's; then the rules tighten.
    repo.write("user.py", "def mine(y):\n    return y\n");
    repo.commit("the user's own code");
    let tightened = std::fs::read_to_string(repo.root.join(".gatehouse/config.toml"))
        .unwrap()
        .replace("level = \"warn\"", "level = \"block\"");
    repo.write(".gatehouse/config.toml", tightened);
    repo.commit("stricter rules");
    let audit = repo.gatehouse(&["audit", "--since", &start, "--format", "json"]);
    assert_eq!(audit.code, 0, "{}", audit.stderr);
    let audit = audit.json();
    let commits = audit["commits"].as_array().unwrap();
    let tasks: Vec<&str> = commits
        .iter()
        .map(|c| c["task"].as_str().unwrap())
        .collect();
    assert_eq!(tasks, ["deps", "py"], "{audit}");
    for c in commits {
        assert_eq!(c["approvers"][0], "Test Author <author@example.com>", "{c}");
        assert!(c["cost_usd"].as_f64().is_some_and(|x| x > 0.0), "{c}");
    }
    let py_findings: Vec<(String, u64, String)> = commits[1]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["level"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        py_findings.contains(&("lib.py".into(), 1, "block".into())),
        "today's rules on the agent's lines: {py_findings:?}"
    );
    assert!(
        !audit.to_string().contains("user.py"),
        "the user's code was attributed to an agent: {audit}"
    );
    assert!(
        commits[0]["findings"][0]["path"] == "requirements.txt",
        "{audit}"
    );
    // Recorded: the next audit starts there, and status says when it was.
    let again = repo.gatehouse(&["audit", "--format", "json"]).json();
    assert_eq!(again["since"]["from"], "last-audit", "{again}");
    assert_eq!(again["commits"].as_array().unwrap().len(), 0, "{again}");
    let status = repo.gatehouse(&["status", "--format", "json"]).json();
    assert!(status["audit"]["last"].is_string(), "{status}");
    let human = repo.gatehouse(&["status"]).stdout;
    assert!(
        human.contains("last audit:") && human.contains("ago"),
        "{human}"
    );
    let by_date = repo.gatehouse(&[
        "audit",
        "--since",
        "2000-01-01",
        "--no-record",
        "--format",
        "json",
    ]);
    assert_eq!(by_date.json()["commits"].as_array().unwrap().len(), 2);
}

#[test]
fn log_lists_the_merge_hook_runs_of_real_merges() {
    let env = TestEnv::new();
    let (repo, _) = setup(&env, "1h");
    let config = std::fs::read_to_string(repo.root.join(".gatehouse/config.toml")).unwrap();
    repo.write(
        ".gatehouse/config.toml",
        format!("{config}\n[rules.untyped-function]\nlevel = \"block\"\n"),
    );
    repo.commit("untyped functions block");
    // A clean merge commit (pre-merge-commit), a blocked one, and a fast-forward (post-merge).
    repo.git(&["switch", "-q", "-c", "clean"]);
    repo.write("docs/more.txt", "more\n");
    repo.commit("more docs");
    repo.git(&["switch", "-q", "-c", "untyped", "main"]);
    repo.write("lib.py", "def g(x):\n    return x\n");
    repo.commit("an untyped function");
    repo.git(&["switch", "-q", "-c", "ahead", "main"]);
    repo.write("README.md", "ahead\n");
    repo.commit("ahead");
    repo.git(&["switch", "-q", "main"]);
    repo.write("app.py", "def f(x: int) -> int:\n    return x + 1\n");
    repo.commit("main moves on");
    let clean = git_run(&repo, &["merge", "--no-edit", "clean"]);
    assert_eq!(clean.code, 0, "{}", clean.stderr);
    let blocked = git_run(&repo, &["merge", "--no-edit", "untyped"]);
    assert_ne!(
        blocked.code, 0,
        "the gate let an untyped function in: {}",
        blocked.stderr
    );
    assert_eq!(git_run(&repo, &["merge", "--abort"]).code, 0);
    repo.git(&["switch", "-q", "-c", "ff", "ahead~1"]);
    let ahead = repo.git(&["rev-parse", "ahead"]).trim().to_string();
    let ff = git_run(&repo, &["merge", "--ff-only", "ahead"]);
    assert_eq!(ff.code, 0, "{}", ff.stderr);
    let log = repo.gatehouse(&["log", "--format", "json"]);
    assert_eq!(log.code, 0, "{}", log.stderr);
    let runs: Vec<(String, String)> = log.json()["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "hook-run")
        .map(|e| {
            let s = e["summary"].as_str().unwrap().to_string();
            (e["detail"]["hook"].as_str().unwrap_or("").to_string(), s)
        })
        .collect();
    let [post, refused, passed] = runs.as_slice() else {
        panic!("not three merge hook runs, newest first: {runs:?}");
    };
    assert_eq!(passed.0, "pre-merge-commit", "{runs:?}");
    assert!(
        passed.1.contains("on main: merge of clean passed"),
        "{runs:?}"
    );
    assert_eq!(refused.0, "pre-merge-commit", "{runs:?}");
    assert!(refused.1.contains("merge of untyped BLOCKED"), "{runs:?}");
    assert_eq!(post.0, "post-merge", "{runs:?}");
    assert!(
        post.1.starts_with("post-merge on ff: fast-forward ")
            && post
                .1
                .ends_with(&format!("..{} checked (it cannot refuse)", &ahead[..12])),
        "{runs:?}"
    );
    let human = repo.gatehouse(&["log"]).stdout;
    assert!(human.contains("merge of untyped BLOCKED"), "{human}");
}
