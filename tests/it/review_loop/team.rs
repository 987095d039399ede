//! Approvals in a team: shared through the remote without anyone forcing the notes ref.

use super::*;

#[test]
fn two_people_approving_at_once_both_keep_their_approvals() {
    let env = TestEnv::new();
    let (seed, origin) = setup(&env, "1h");
    assert_eq!(seed.gatehouse_in(&origin, &["install", "--server"]).code, 0);
    let mut clones = Vec::new();
    for name in ["Alice", "Bob"] {
        let dir = env.path().join(name.to_lowercase());
        env.git(
            env.path(),
            &[
                "clone",
                "-q",
                origin.to_str().unwrap(),
                dir.to_str().unwrap(),
            ],
        );
        env.git(&dir, &["config", "commit.gpgsign", "false"]);
        let installed = as_person(&env, &dir, name, "gatehouse", &["install"]);
        assert!(
            installed.stderr.contains("brings origin's approvals"),
            "{}",
            installed.stderr
        );
        let branch = format!("{}-ci", name.to_lowercase());
        env.git(&dir, &["switch", "-q", "-c", &branch]);
        std::fs::create_dir_all(dir.join(".github/workflows")).unwrap();
        std::fs::write(
            dir.join(format!(".github/workflows/{branch}.yml")),
            "on: push\n",
        )
        .unwrap();
        env.git(&dir, &["add", "-A"]);
        assert_eq!(
            as_person(&env, &dir, name, "git", &["commit", "-qm", "ci"]).code,
            0
        );
        let approved = as_person(&env, &dir, name, "gatehouse", &["approve", "-m", "mine"]);
        assert_eq!(approved.code, 0, "{}", approved.stderr);
        clones.push((name, dir, branch));
    }
    // Alice's branch alone: the server lacks her approval, and her gate says which command fixes it.
    let (alice, alice_dir, alice_branch) = &clones[0];
    let alone = as_person(
        &env,
        alice_dir,
        alice,
        "git",
        &["push", "origin", alice_branch],
    );
    assert_ne!(alone.code, 0, "{}", alone.stderr);
    assert!(
        alone
            .stderr
            .contains("git push origin refs/notes/gatehouse"),
        "{}",
        alone.stderr
    );
    let both = as_person(
        &env,
        alice_dir,
        alice,
        "git",
        &["push", "origin", alice_branch, "refs/notes/gatehouse"],
    );
    assert_eq!(both.code, 0, "{}", both.stderr);
    // Bob approved at the same time: his notes push is refused as it stands, never forced.
    let (bob, bob_dir, bob_branch) = &clones[1];
    let refused = as_person(
        &env,
        bob_dir,
        bob,
        "git",
        &["push", "origin", bob_branch, "refs/notes/gatehouse"],
    );
    assert_ne!(refused.code, 0, "{}", refused.stderr);
    // A fetch brings Alice's approvals; gatehouse joins them with his; the push fast-forwards.
    env.git(bob_dir, &["fetch", "-q", "origin"]);
    let listed = as_person(&env, bob_dir, bob, "gatehouse", &["approve", "--list"]);
    assert!(
        listed.stdout.contains("Alice <alice@example.com>")
            && listed.stdout.contains("Bob <bob@example.com>"),
        "{}{}",
        listed.stdout,
        listed.stderr
    );
    let pushed = as_person(
        &env,
        bob_dir,
        bob,
        "git",
        &["push", "origin", bob_branch, "refs/notes/gatehouse"],
    );
    assert_eq!(pushed.code, 0, "{}", pushed.stderr);
    let on_server = env.git(&origin, &["notes", "--ref", "refs/notes/gatehouse", "list"]);
    assert_eq!(
        on_server.lines().count(),
        2,
        "both approvals reached the server: {on_server}"
    );
}
