//! Approvals of the review loop: accepting approves exactly the agent's commits, one merge needs
//! one approval, unrelated commits and identical rebases keep it, a blocked tip is never approved.

use super::*;

#[test]
fn accept_approves_the_agents_commits_and_never_the_users_own_change() {
    let env = TestEnv::new();
    let (repo, _) = setup(&env, "1h");
    // The user's own, unapproved change to a sensitive file, in the branch the task runs on.
    let config = std::fs::read_to_string(repo.root.join(".gatehouse/config.toml")).unwrap();
    repo.write(
        ".gatehouse/config.toml",
        format!("# tuned by hand\n{config}"),
    );
    let own = repo.commit("the user's own config change");
    let id = ready_run(&repo);
    let accepted = repo.gatehouse(&["review", "accept", &id]);
    assert_eq!(accepted.code, 0, "{}", accepted.stderr);
    let agent = repo.git(&["rev-parse", "HEAD"]).trim().to_string();
    assert_ne!(agent, own);
    // One approval, naming the agent's commit alone and covering nothing of the user's.
    let notes = notes(&repo);
    assert_eq!(notes.len(), 1, "{notes:?}");
    let approval = &notes[0].1["approvals"][0];
    let named: Vec<&str> = approval["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["commit"].as_str().unwrap())
        .collect();
    assert_eq!(named, [agent.as_str()], "{approval}");
    assert!(
        !approval.to_string().contains(".gatehouse/config.toml"),
        "{approval}"
    );
    // The push is still held for the user's change, and only for it.
    let push = git_run(&repo, &["push", "origin", "main"]);
    assert_eq!(push.code, 1, "{}", push.stderr);
    assert!(
        push.stderr.contains(".gatehouse/config.toml") && push.stderr.contains("HELD FOR REVIEW"),
        "{}",
        push.stderr
    );
    assert!(
        !push.stderr.contains("agent-commit [unapproved]"),
        "the accepted agent commit was held again: {}",
        push.stderr
    );
    // The user approves their own change; then the push goes through.
    let approved = repo.gatehouse(&["approve", "-m", "my own change"]);
    assert_eq!(approved.code, 0, "{}", approved.stderr);
    let push = git_run(&repo, &["push", "origin", "main"]);
    assert_eq!(push.code, 0, "{}", push.stderr);
}

#[test]
fn a_merge_asks_for_one_approval_and_unrelated_commits_keep_it() {
    let env = TestEnv::new();
    let (repo, _) = setup(&env, "1h");
    let id = ready_run(&repo);
    // The user moves on meanwhile: accepting makes a merge commit.
    repo.write("README.md", "readme, by the user\n");
    repo.commit("the user's unrelated work");
    let accepted = repo.gatehouse(&["review", "accept", &id[..10]]);
    assert_eq!(accepted.code, 0, "{}", accepted.stderr);
    assert!(
        accepted.stderr.contains("merge commit") && !accepted.stderr.contains("fast-forward"),
        "{}",
        accepted.stderr
    );
    assert!(
        accepted.stderr.contains("nothing was pushed") && !accepted.stderr.contains("push again"),
        "{}",
        accepted.stderr
    );
    let parents = repo.git(&["log", "-1", "--format=%P", "HEAD"]);
    assert_eq!(parents.split_whitespace().count(), 2, "{parents}");
    assert_eq!(notes(&repo).len(), 1, "one merge, one approval");
    // Later unrelated commits do not undo it.
    repo.write("README.md", "readme, again\n");
    repo.commit("more of the user's work");
    let push = git_run(&repo, &["push", "origin", "main"]);
    assert_eq!(push.code, 0, "{}", push.stderr);
    assert!(
        push.stderr.contains("covered by approvals"),
        "{}",
        push.stderr
    );
}

#[test]
fn a_fast_forward_accept_says_so_and_the_post_merge_hook_stays_quiet() {
    let env = TestEnv::new();
    let (repo, _) = setup(&env, "1h");
    // The agent's change is itself sensitive (a dependency manifest): accepting approves it.
    let id = ready_run_of(&repo, "deps");
    let shown = repo.gatehouse(&["review", "show", "latest"]);
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    assert!(
        shown
            .stdout
            .contains("1 file changed, 1 insertion(+), 0 deletions(-)"),
        "{}",
        shown.stdout
    );
    let gate = shown
        .stdout
        .lines()
        .find(|l| l.starts_with("gate on accept:"));
    assert!(
        gate.is_some_and(|g| g.contains("passes: accepting approves")
            && g.contains("review findings of 1 agent commit")),
        "{}",
        shown.stdout
    );
    assert!(
        shown
            .stdout
            .contains("requirements.txt:1: sensitive-path [added] (review)"),
        "{}",
        shown.stdout
    );
    let accepted = repo.gatehouse(&["review", "accept", "latest"]);
    assert_eq!(accepted.code, 0, "{}", accepted.stderr);
    assert!(
        accepted.stderr.contains(&format!("accepted run {id}"))
            && accepted.stderr.contains("fast-forwarded")
            && !accepted.stderr.contains("merge commit"),
        "{}",
        accepted.stderr
    );
    // What accepting approved is no news to the post-merge hook.
    assert!(
        !accepted.stderr.contains("brought findings"),
        "{}",
        accepted.stderr
    );
    let push = git_run(&repo, &["push", "origin", "main"]);
    assert_eq!(push.code, 0, "{}", push.stderr);
}

#[test]
fn approve_refuses_a_blocked_tip_and_approves_nothing() {
    let env = TestEnv::new();
    let (repo, _) = setup(&env, "1h");
    repo.write(".github/workflows/ci.yml", "on: push\n")
        .write("app.py", "def f(x):\n    return x\n");
    repo.commit("a workflow and an untyped function");
    let approve = repo.gatehouse(&["approve"]);
    assert_eq!(approve.code, 1, "{}", approve.stderr);
    assert!(
        approve.stderr.contains("BLOCKED") && approve.stderr.contains("app.py:1"),
        "{}",
        approve.stderr
    );
    assert!(
        approve.stderr.contains("nothing was approved"),
        "{}",
        approve.stderr
    );
    assert!(notes(&repo).is_empty());
}

#[test]
fn an_approval_survives_a_rebase_only_when_the_patch_is_identical() {
    let env = TestEnv::new();
    let (repo, origin) = setup(&env, "1h");
    repo.git(&["switch", "-q", "-c", "feature"]);
    repo.write(".github/workflows/ci.yml", "on: push\n");
    repo.commit("a workflow");
    assert_eq!(repo.gatehouse(&["approve", "-m", "fine"]).code, 0);
    // A teammate moves main on meanwhile.
    let mate = env.path().join("mate");
    env.git(
        env.path(),
        &[
            "clone",
            "-q",
            origin.to_str().unwrap(),
            mate.to_str().unwrap(),
        ],
    );
    std::fs::write(mate.join("README.md"), "readme, by a teammate\n").unwrap();
    env.git(&mate, &["commit", "-qam", "teammate"]);
    env.git(&mate, &["push", "-q", "origin", "main"]);
    repo.git(&["fetch", "-q", "origin"]);
    repo.git(&["rebase", "-q", "origin/main"]);
    let push = git_run(&repo, &["push", "origin", "feature"]);
    assert_eq!(
        push.code, 0,
        "the same patch keeps its approval: {}",
        push.stderr
    );
    // A different patch does not.
    repo.write(".github/workflows/ci.yml", "on: [push, pull_request]\n");
    repo.git(&["commit", "-q", "-a", "--amend", "--no-edit"]);
    let push = git_run(&repo, &["push", "-f", "origin", "feature"]);
    assert_eq!(push.code, 1, "{}", push.stderr);
    assert!(push.stderr.contains("HELD FOR REVIEW"), "{}", push.stderr);
}

#[test]
fn merge_messages_say_what_happened() {
    let env = TestEnv::new();
    let (repo, _) = setup(&env, "1h");
    repo.git(&["switch", "-q", "-c", "feature"]);
    repo.write(".github/workflows/ci.yml", "on: push\n");
    repo.commit("a workflow");
    repo.git(&["switch", "-q", "main"]);
    repo.write("README.md", "moved on\n");
    repo.commit("main moves on");
    // Refused: nothing was pushed, so the message says to merge again.
    let refused = git_run(&repo, &["merge", "--no-ff", "--no-edit", "feature"]);
    assert_ne!(refused.code, 0, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("gatehouse approve") && refused.stderr.contains("and merge again"),
        "{}",
        refused.stderr
    );
    assert!(!refused.stderr.contains("push again"), "{}", refused.stderr);
    repo.git(&["merge", "--abort"]);
    // Approved, the merge commit goes through and post-merge has nothing to say about it.
    assert_eq!(repo.gatehouse(&["approve", "feature"]).code, 0);
    let merged = git_run(&repo, &["merge", "--no-ff", "--no-edit", "feature"]);
    assert_eq!(merged.code, 0, "{}", merged.stderr);
    assert!(!merged.stderr.contains("fast-forward"), "{}", merged.stderr);
    // A fast-forward of an unapproved change is reported as one (git has no hook to refuse it).
    repo.git(&["switch", "-q", "-c", "other", "HEAD~1"]);
    repo.git(&["switch", "-q", "-c", "later"]);
    repo.write(".github/workflows/other.yml", "on: push\n");
    repo.commit("another workflow");
    repo.git(&["switch", "-q", "other"]);
    let forwarded = git_run(&repo, &["merge", "--ff-only", "later"]);
    assert_eq!(forwarded.code, 0, "{}", forwarded.stderr);
    assert!(
        forwarded
            .stderr
            .contains("this fast-forward brought findings")
            && forwarded.stderr.contains(".github/workflows/other.yml"),
        "{}",
        forwarded.stderr
    );
}

#[test]
fn a_failed_accept_leaves_no_approval_behind() {
    let env = TestEnv::new();
    let (repo, _) = setup(&env, "1h");
    let notes_ref = || {
        git_run(
            &repo,
            &["rev-parse", "-q", "--verify", "refs/notes/gatehouse"],
        )
    };
    // The user rewrites the line the agent appends to: the merge conflicts and is undone.
    let conflict = |id: &str| {
        repo.write("docs/notes.txt", "notes, rewritten by the user\n");
        repo.commit("the user's own notes");
        let accept = repo.gatehouse(&["review", "accept", id]);
        assert_eq!(accept.code, 2, "{}", accept.stderr);
        assert!(accept.stderr.contains("undone"), "{}", accept.stderr);
        assert!(!repo.root.join(".git/MERGE_HEAD").exists());
    };
    let first = ready_run(&repo);
    conflict(&first);
    assert_eq!(
        notes(&repo),
        [],
        "the failed accept approved the agent's commit"
    );
    assert_eq!(notes_ref().stdout, "", "no notes ref was left behind");
    assert_eq!(repo.gatehouse(&["review", "reject", &first]).code, 0);
    // With approvals already there, a failed accept leaves them exactly as they were.
    let second = ready_run(&repo);
    let accepted = repo.gatehouse(&["review", "accept", &second]);
    assert_eq!(accepted.code, 0, "{}", accepted.stderr);
    let (before, at) = (notes(&repo), notes_ref().stdout);
    assert_eq!(before.len(), 1, "{before:?}");
    let third = ready_run(&repo);
    let branch = runs(&repo).last().unwrap()["branch"]
        .as_str()
        .unwrap()
        .to_string();
    let tip = repo.git(&["rev-parse", &branch]);
    conflict(&third);
    assert_eq!(
        notes(&repo),
        before,
        "the failed accept changed the approvals"
    );
    assert_eq!(notes_ref().stdout, at);
    // The review stays open and its commit unapproved: the push of it would still be held.
    let run = runs(&repo).into_iter().find(|r| r["id"] == third.as_str());
    assert_eq!(run.unwrap()["state"], "ready");
    let named = before[0].1.to_string();
    assert!(!named.contains(tip.trim()), "{named}");
}
