//! Runs started by hand start now; request-changes makes another round on the same branch; run
//! ids take prefixes and `latest`.

use super::*;

#[test]
fn a_hand_started_run_starts_now_however_busy_the_repository_is() {
    let env = TestEnv::new();
    let (repo, _) = setup(&env, "1h");
    assert_eq!(repo.gatehouse(&["daemon", "start"]).code, 0);
    let _daemon = Daemon(&repo);
    // Activity: the repository will not be quiet for an hour.
    repo.write("README.md", "busy\n");
    repo.commit("busy");
    trust(&repo, "docs");
    let started = Instant::now();
    let queued = repo.gatehouse(&["task", "run", "docs"]);
    assert_eq!(queued.code, 0, "{}", queued.stderr);
    let id = loop {
        let all = runs(&repo);
        if let Some(run) = all.iter().find(|r| r["state"] != "queued") {
            break run["id"].as_str().unwrap().to_string();
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the hand-started run waited for quiet: {all:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    eprintln!(
        "a hand-started run left the queue {:?} after `task run` started",
        started.elapsed()
    );
    // A run queued behind a running one starts as soon as that one ends, quiet or not, and
    // --wait says what it waits for, then the outcome.
    let config = std::fs::read_to_string(repo.root.join(".gatehouse/config.toml")).unwrap();
    repo.write(
        ".gatehouse/config.toml",
        config.replace(
            "STANDIN_PROMPT_COPY",
            "STANDIN_SLEEP = \"2\", STANDIN_PROMPT_COPY",
        ),
    );
    // Outside docs/: the trusted task's commit trigger must not queue a run of its own.
    repo.write("other.txt", "x\n");
    repo.commit("another base");
    trust(&repo, "docs");
    let first = repo
        .env
        .command(env!("CARGO_BIN_EXE_gatehouse"), &repo.root)
        .args(["task", "run", "docs"])
        .output()
        .unwrap();
    assert!(first.status.success());
    repo.write("third.txt", "x\n");
    repo.commit("a third base");
    let mut waiting = repo
        .env
        .command(env!("CARGO_BIN_EXE_gatehouse"), &repo.root)
        .args(["task", "run", "docs", "--wait"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let since = Instant::now();
    while waiting.try_wait().unwrap().is_none() {
        if since.elapsed() > Duration::from_secs(30) {
            let _ = waiting.kill();
            panic!(
                "the queued hand-started run never started: {:?}",
                runs(&repo)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let waited = waiting.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&waited.stderr);
    assert!(waited.status.success(), "{stderr}");
    assert!(
        stderr.contains("waiting: a run is already running")
            && stderr.contains("is working")
            && stderr.contains("ready for review"),
        "{stderr}"
    );
    assert!(!id.is_empty());
}

#[test]
fn request_changes_makes_a_second_round_on_the_same_branch() {
    let env = TestEnv::new();
    let (repo, _) = setup(&env, "1h");
    let first = ready_run(&repo);
    let branch = runs(&repo)[0]["branch"].as_str().unwrap().to_string();
    let first_commit = repo.git(&["rev-parse", &branch]).trim().to_string();
    // A round that fails puts the review back as it was.
    let config_file = repo.root.join(".gatehouse/config.toml");
    let config = std::fs::read_to_string(&config_file).unwrap();
    std::fs::write(
        &config_file,
        config.replace(
            "STANDIN_EDIT = \"docs/notes.txt\"",
            "STANDIN_MODE = \"fail\", STANDIN_EDIT = \"docs/notes.txt\"",
        ),
    )
    .unwrap();
    trust(&repo, "docs");
    let failed = repo.gatehouse(&[
        "review",
        "request-changes",
        &first,
        "-m",
        "Shorter, please.",
    ]);
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    let all = runs(&repo);
    assert_eq!(
        (all[0]["state"].as_str(), all[1]["state"].as_str()),
        (Some("ready"), Some("failed")),
        "{all:?}"
    );
    assert_eq!(repo.git(&["rev-parse", &branch]).trim(), first_commit);
    std::fs::write(&config_file, &config).unwrap();
    trust(&repo, "docs");
    // The second try works on the same branch, with the comment and the change so far.
    let asked = repo.gatehouse(&[
        "review",
        "request-changes",
        first.split_once('-').unwrap().1,
        "-m",
        "Mention the installer too.",
    ]);
    assert_eq!(asked.code, 0, "{}", asked.stderr);
    assert!(asked.stderr.contains("round 3"), "{}", asked.stderr);
    let prompt = std::fs::read_to_string(env.path().join("prompt.txt")).unwrap();
    assert!(
        prompt.contains("> Mention the installer too.")
            && prompt.contains("+edited by the codex stand-in")
            && prompt.contains("Improve the notes."),
        "{prompt}"
    );
    let all = runs(&repo);
    let last = all.last().unwrap();
    assert_eq!(
        (
            all[0]["state"].as_str(),
            last["state"].as_str(),
            last["parent"].as_str()
        ),
        (
            Some("changes_requested"),
            Some("ready"),
            Some(first.as_str())
        ),
        "{all:?}"
    );
    assert_eq!(last["branch"], branch.as_str());
    let log = repo.git(&[
        "log",
        "--format=%(trailers:key=Gatehouse-Run,valueonly)",
        &format!("main..{branch}"),
    ]);
    let ids: Vec<&str> = log.split_whitespace().collect();
    assert_eq!(ids, [last["id"].as_str().unwrap(), first.as_str()], "{log}");
    // The review shows each round and the summed cost.
    let shown = repo
        .gatehouse(&["review", "show", &first, "--format", "json"])
        .json();
    let rounds = shown["rounds"].as_array().unwrap();
    assert_eq!(rounds.len(), 3, "{shown}");
    let sum: f64 = rounds.iter().filter_map(|r| r["cost_usd"].as_f64()).sum();
    assert!(
        sum > 0.0 && (shown["total_cost_usd"].as_f64().unwrap() - sum).abs() < 1e-9,
        "{shown}"
    );
    let human = repo.gatehouse(&["review", "show", &first]).stdout;
    assert!(
        human.contains("== round 3 ==")
            && human.contains("answers the reviewer: Mention the installer too."),
        "{human}"
    );
    let list = repo.gatehouse(&["review", "list"]).stdout;
    assert_eq!(list.lines().count(), 1, "{list}");
    assert!(list.contains("(round 3)"), "{list}");
    // Accepting the review takes every round, and approves both agent commits.
    let accepted = repo.gatehouse(&["review", "accept", &first]);
    assert_eq!(accepted.code, 0, "{}", accepted.stderr);
    let named = notes(&repo)[0].1["approvals"][0]["commits"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(named, 2);
    let push = git_run(&repo, &["push", "origin", "main"]);
    assert_eq!(push.code, 0, "{}", push.stderr);
}

#[test]
fn run_ids_take_prefixes_and_latest_and_a_queued_run_has_no_output_yet() {
    let env = TestEnv::new();
    let (repo, _) = setup(&env, "1h");
    let id = ready_run(&repo);
    for name in [&id[..], &id[..15], "latest"] {
        let shown = repo.gatehouse(&["runs", "show", name, "--format", "json"]);
        assert_eq!(shown.code, 0, "{name}: {}", shown.stderr);
        assert_eq!(shown.json()["id"], id.as_str());
    }
    repo.write("README.md", "another base\n");
    repo.commit("another base");
    ready_run(&repo);
    let ambiguous = repo.gatehouse(&["runs", "show", &id[..4]]);
    assert_eq!(ambiguous.code, 2, "{}", ambiguous.stderr);
    assert!(
        ambiguous.stderr.contains("names 2 runs"),
        "{}",
        ambiguous.stderr
    );
    // A run that never started: its log is not an error.
    assert_eq!(repo.gatehouse(&["daemon", "start"]).code, 0);
    let _daemon = Daemon(&repo);
    assert_eq!(repo.gatehouse(&["task", "trust", "docs"]).code, 0);
    repo.write("docs/more.txt", "more\n");
    repo.commit("docs, while busy");
    let started = Instant::now();
    let queued = loop {
        if let Some(run) = runs(&repo).into_iter().find(|r| r["trigger"] == "commit") {
            break run;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "nothing was queued"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(queued["state"], "queued");
    let log = repo.gatehouse(&["runs", "log", queued["id"].as_str().unwrap()]);
    assert_eq!(log.code, 0, "{}", log.stderr);
    assert!(log.stderr.contains("no output yet"), "{}", log.stderr);
}
