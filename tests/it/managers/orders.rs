//! Every install order of gatehouse and a real manager leaves exactly one working gate: a commit,
//! a merge and a push all work, the push runs the gate once (one recorded gate run), the gate
//! still refuses an untyped function, and `doctor` agrees.

use super::{gate_runs, run, run_with, setup};
use crate::common::{TestEnv, TestRepo};

const TYPES: &[&str] = &[
    "-t",
    "pre-commit",
    "-t",
    "pre-push",
    "-t",
    "pre-merge-commit",
];

/// Runs one installer: G = `gatehouse install`, V = `gatehouse install --via VIA`,
/// P = pre-commit's, K = prek's, H = husky's, L = lefthook's own install.
fn step(work: &TestRepo<'_>, step: char, via: &str) {
    let (program, args): (&str, Vec<&str>) = match step {
        'G' => ("gatehouse", vec!["install"]),
        'V' => ("gatehouse", vec!["install", "--via", via]),
        'P' => ("pre-commit", [&["install"], TYPES].concat()),
        'K' => ("prek", [&["install"], TYPES].concat()),
        'H' => ("husky", vec![]),
        'L' => ("lefthook", vec!["install"]),
        _ => unreachable!(),
    };
    let out = run(work, program, &args);
    // A plain install refuses (2) where husky or lefthook own the hooks and do not run the gate.
    let refused = step == 'G' && out.code == 2 && out.stderr.contains("gatehouse install --via");
    assert!(
        out.code == 0 || refused,
        "{program} {args:?}: {}\n{}",
        out.code,
        out.stderr
    );
    // Like a user, do what `--via lefthook` says is still needed: lefthook installs git hooks
    // only for the hooks its config had at its own install (it syncs later ones on a later run
    // only when its checksum notices, which made this order flaky).
    if step == 'V' && out.stderr.contains("next: run `lefthook install`") {
        let again = run(work, "lefthook", &["install"]);
        assert_eq!(again.code, 0, "lefthook install: {}", again.stderr);
    }
}

/// The installers ran in `order`; `label` names the case in failures.
fn assert_one_gate(work: &TestRepo<'_>, label: &str) {
    let ok = |args: &[&str]| {
        let out = run(work, "git", args);
        assert_eq!(
            out.code, 0,
            "{label}: git {args:?}:\n{}{}",
            out.stdout, out.stderr
        );
    };
    ok(&["add", "-A"]);
    ok(&["commit", "-q", "--allow-empty", "-m", "hook set-up"]);
    let out = run_with(
        work,
        "git",
        &["push", "-q", "origin", "main"],
        &[("GATEHOUSE_SKIP", "1")],
    );
    assert_eq!(out.code, 0, "{label}: {}", out.stderr);
    ok(&["checkout", "-q", "-b", "side"]);
    work.write("side.py", "s = 1\n");
    ok(&["add", "-A"]);
    ok(&["commit", "-q", "-m", "side"]);
    ok(&["checkout", "-q", "main"]);
    ok(&["merge", "-q", "--no-ff", "-m", "merge side", "side"]);
    work.write("c.py", "c = 1\n");
    ok(&["add", "-A"]);
    ok(&["commit", "-q", "-m", "c"]);
    let before = gate_runs(work);
    let out = run(work, "git", &["push", "origin", "main"]);
    assert_eq!(out.code, 0, "{label}: push:\n{}", out.stderr);
    assert_eq!(
        gate_runs(work) - before,
        1,
        "{label}: the push ran the gate once:\n{}",
        out.stderr
    );
    work.write("bad.py", "def f(x):\n    return x\n");
    ok(&["add", "-A"]);
    ok(&["commit", "-q", "-m", "untyped"]);
    let out = run(work, "git", &["push", "origin", "main"]);
    assert_ne!(
        out.code, 0,
        "{label}: the gate refuses an untyped function:\n{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("untyped-function") || out.stdout.contains("untyped-function"),
        "{label}: {}{}",
        out.stdout,
        out.stderr
    );
    let doctor = run(work, "gatehouse", &["doctor", "--format", "json"]);
    let report = doctor.json();
    assert_eq!(doctor.code, 0, "{label}: doctor: {report:#}");
    let pre_push = &report["hooks"][0];
    assert_eq!(
        (pre_push["name"].as_str(), pre_push["runs"].as_u64()),
        (Some("pre-push"), Some(1)),
        "{label}: {report:#}"
    );
}

fn orders(orders: &[&str], via: &str, files: &[(&str, &str)]) {
    for order in orders {
        let env = TestEnv::new();
        let work = setup(&env, files);
        for c in order.chars() {
            step(&work, c, via);
        }
        assert_one_gate(&work, &format!("{via}, order {order}"));
    }
}

#[test]
fn pre_commit_in_every_order() {
    orders(
        &[
            "GP", "PG", "GPG", "PGP", "VP", "PV", "GPV", "GVP", "PGV", "PVG", "VGP", "VPG",
        ],
        "pre-commit",
        &[(".pre-commit-config.yaml", "repos: []\n")],
    );
}

/// prek refuses to run a hook type with no hooks ("No hooks found after filtering"), so its
/// users' configs have one for each installed type.
const PREK_CONFIG: &str = "repos:\n  - repo: local\n    hooks:\n      - id: hello\n        name: hello\n        entry: \"true\"\n        language: system\n        pass_filenames: false\n        always_run: true\n        stages: [pre-commit, pre-push, pre-merge-commit]\n";

#[test]
fn prek_in_every_order() {
    orders(
        &["GK", "KG", "GKG", "KGK", "VK", "KV", "GKV", "KVG"],
        "prek",
        &[(".pre-commit-config.yaml", PREK_CONFIG)],
    );
}

#[test]
fn husky_in_every_order_that_integrates() {
    orders(
        &["HV", "VH", "GHV", "GVH", "HGV", "HVG", "VGH", "VHG"],
        "husky",
        &[("package.json", "{ \"name\": \"w\", \"private\": true }\n")],
    );
}

#[test]
fn lefthook_in_every_order_that_integrates() {
    orders(
        &["LV", "VL", "GLV", "GVL", "LGV", "LVG", "VGL"],
        "lefthook",
        &[(
            "lefthook.yml",
            "pre-commit:\n  commands:\n    hello:\n      run: echo hello\n",
        )],
    );
}

#[test]
fn the_issues_order_no_longer_breaks_every_commit() {
    // gatehouse install, pre-commit install, gatehouse install: with an older gatehouse this
    // left each hook running the other in a loop. An install over that state repairs it.
    let env = TestEnv::new();
    let work = setup(&env, &[(".pre-commit-config.yaml", "repos: []\n")]);
    step(&work, 'G', "");
    step(&work, 'P', "");
    let hooks = work.root.join(".git/hooks");
    // What the older gatehouse did: keep pre-commit's script as .local behind a new shim.
    std::fs::rename(hooks.join("pre-push"), hooks.join("pre-push.local")).unwrap();
    std::fs::copy(hooks.join("pre-push.legacy"), hooks.join("pre-push")).unwrap();
    let doctor = run(&work, "gatehouse", &["doctor"]);
    assert_eq!(doctor.code, 1, "{}", doctor.stdout);
    assert!(
        doctor.stdout.contains("call each other"),
        "{}",
        doctor.stdout
    );
    let status = run(&work, "gatehouse", &["status"]);
    assert!(
        status.stdout.contains("pre-push broken"),
        "{}",
        status.stdout
    );
    let out = run(&work, "gatehouse", &["install"]);
    assert!(out.stderr.contains("pre-push: repaired"), "{}", out.stderr);
    assert_one_gate(&work, "repaired");
}
