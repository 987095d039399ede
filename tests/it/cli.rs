//! The command line's conventions: `--help` with examples and no internal commands, shell
//! completions run by the real shells, man pages read by the real `man`, and install.sh putting
//! them under $PREFIX/share.

mod purge;

use std::io::Write;
use std::path::Path;
use std::process::Command;

use crate::common::{Run, TestEnv};

const BIN: &str = env!("CARGO_BIN_EXE_gatehouse");

fn gatehouse(env: &TestEnv, args: &[&str]) -> Run {
    run(env.command(BIN, env.path()).args(args))
}

fn run(cmd: &mut Command) -> Run {
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Whether `program` is installed; outside CI a missing one skips the test, loudly (in CI,
/// .ci/run installs it, so missing is a failure).
fn have(test: &str, program: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        let why = format!("{program} is not installed (`apt-get install -y {program}`)");
        assert!(std::env::var_os("CI").is_none(), "{test}: {why}");
        let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
    }
    found
}

/// The subcommand names a `gatehouse --help` lists.
fn listed_commands(help: &str) -> Vec<String> {
    help.split("Commands:\n")
        .nth(1)
        .unwrap()
        .lines()
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .collect()
}

#[test]
fn help_hides_internal_commands_and_shows_examples() {
    let env = TestEnv::new();
    let help = gatehouse(&env, &["--help"]);
    assert_eq!(help.code, 0, "{}", help.stderr);
    let commands = listed_commands(&help.stdout);
    for visible in ["check", "install", "uninstall", "doctor", "completions"] {
        assert!(commands.iter().any(|c| c == visible), "{commands:?}");
    }
    for internal in ["hook", "manpage"] {
        assert!(!commands.iter().any(|c| c == internal), "{commands:?}");
    }
    assert!(help.stdout.contains("Examples:\n"), "{}", help.stdout);
    for args in [
        &["check", "--help"][..],
        &["install", "--help"],
        &["uninstall", "--help"],
        &["doctor", "--help"],
        &["task", "run", "--help"],
        &["review", "--help"],
        &["approve", "--help"],
        &["audit", "--help"],
    ] {
        let out = gatehouse(&env, args);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        let examples = out.stdout.split("Examples:\n").nth(1);
        let command = format!("  gatehouse {}", args[..args.len() - 1].join(" "));
        assert!(
            examples.is_some_and(|e| e.contains(&command)),
            "{args:?} shows no example of `{command}`:\n{}",
            out.stdout
        );
    }
    // Hidden is not gone: the shims still reach the hook entry point.
    let hook = gatehouse(&env, &["hook", "no-such-hook"]);
    assert_eq!(hook.code, 2);
    assert!(
        hook.stderr.contains("unknown hook `no-such-hook`"),
        "{}",
        hook.stderr
    );
}

#[test]
fn bash_completion_is_registered_and_completes_subcommands() {
    let env = TestEnv::new();
    let script = env.path().join("gatehouse.bash");
    let out = gatehouse(&env, &["completions", "bash"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    std::fs::write(&script, &out.stdout).unwrap();
    let words = bash_complete(&env, &script, "ch");
    assert_eq!(words, ["check"], "completing `gatehouse ch`");
    let all = bash_complete(&env, &script, "");
    assert!(all.iter().any(|w| w == "completions"), "{all:?}");
    assert!(!all.iter().any(|w| w == "hook"), "{all:?}");
    let words = bash_complete(&env, &script, "uninstall --p");
    assert_eq!(words, ["--purge"]);
}

/// What bash's completion of `gatehouse LINE` offers, with the script sourced by real bash.
fn bash_complete(env: &TestEnv, script: &Path, line: &str) -> Vec<String> {
    let program = r#"source "$0"
complete -p gatehouse >/dev/null || exit 9
COMP_LINE="gatehouse $1"; COMP_POINT=${#COMP_LINE}
read -ra COMP_WORDS <<<"$COMP_LINE"
[[ $COMP_LINE == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
_gatehouse gatehouse "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}""#;
    let out = run(env
        .command("bash", env.path())
        .args(["-c", program])
        .arg(script)
        .arg(line));
    assert_eq!(out.code, 0, "bash: {}", out.stderr);
    out.stdout.lines().map(str::to_string).collect()
}

#[test]
fn zsh_fish_elvish_and_powershell_scripts_name_the_subcommands() {
    let env = TestEnv::new();
    let script = |shell: &str| {
        let out = gatehouse(&env, &["completions", shell]);
        assert_eq!(out.code, 0, "{shell}: {}", out.stderr);
        let path = env.path().join(format!("gatehouse.{shell}"));
        std::fs::write(&path, &out.stdout).unwrap();
        (path, out.stdout)
    };
    let (zsh, text) = script("zsh");
    assert!(text.starts_with("#compdef gatehouse\n"), "{text}");
    assert!(
        text.contains("'check:") && text.contains("'doctor:"),
        "{text}"
    );
    let (fish, _) = script("fish");
    let (_, elvish) = script("elvish");
    assert!(elvish.contains("edit:completion:arg-completer[gatehouse]"));
    assert!(elvish.contains("&'gatehouse;check'= {"), "{elvish}");
    let (_, powershell) = script("powershell");
    assert!(powershell.contains("Register-ArgumentCompleter -Native -CommandName 'gatehouse'"));
    assert!(powershell.contains("'gatehouse;check'"), "{powershell}");
    if have(
        "zsh_fish_elvish_and_powershell_scripts_name_the_subcommands",
        "zsh",
    ) {
        // zsh loads it as the completion function of `gatehouse`.
        let program = "autoload -U compinit && compinit -u -d \"$2/zcompdump\" && source \"$1\" && print -r -- ${_comps[gatehouse]}";
        let out = run(env
            .command("zsh", env.path())
            .args(["-f", "-c", program, "zsh"])
            .arg(&zsh)
            .arg(env.path()));
        assert_eq!(out.stdout.trim(), "_gatehouse", "{}", out.stderr);
    }
    if have(
        "zsh_fish_elvish_and_powershell_scripts_name_the_subcommands",
        "fish",
    ) {
        let out = run(env.command("fish", env.path()).args([
            "--no-config",
            "-c",
            &format!("source {}; complete -C 'gatehouse '", fish.display()),
        ]));
        let offered: Vec<&str> = out
            .stdout
            .lines()
            .filter_map(|l| l.split('\t').next())
            .collect();
        assert!(
            offered.contains(&"check") && offered.contains(&"doctor"),
            "{offered:?} {}",
            out.stderr
        );
        assert!(!offered.contains(&"hook"), "{offered:?}");
    }
}

#[test]
fn man_pages_cover_each_subcommand_and_keep_the_examples() {
    let env = TestEnv::new();
    let dir = env.path().join("man");
    let out = gatehouse(&env, &["manpage", dir.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let page = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    assert!(
        page("gatehouse.1").starts_with(".ie \\n(.g .ds Aq \\(aq\n.el .ds Aq '\n.TH gatehouse 1 "),
        "{}",
        page("gatehouse.1")
    );
    for sub in [
        "check",
        "install",
        "uninstall",
        "doctor",
        "task-run",
        "review-accept",
        "completions",
    ] {
        let text = page(&format!("gatehouse-{sub}.1"));
        assert!(
            text.contains(&format!(".TH gatehouse-{sub} 1 ")),
            "gatehouse-{sub}.1: {text}"
        );
    }
    assert!(!dir.join("gatehouse-hook.1").exists() && !dir.join("gatehouse-manpage.1").exists());
    assert!(page("gatehouse.1").contains(".SH SUBCOMMANDS"));
    let check = page("gatehouse-check.1");
    assert!(check.contains(".SH EXAMPLES\n.nf\n"), "{check}");
    if have(
        "man_pages_cover_each_subcommand_and_keep_the_examples",
        "man",
    ) {
        let out = run(env
            .command("man", env.path())
            .env("MANWIDTH", "100")
            .env("MAN_KEEP_FORMATTING", "0")
            .args(["-l", "-P", "cat"])
            .arg(dir.join("gatehouse-check.1")));
        assert_eq!(out.code, 0, "{}", out.stderr);
        let text = plain(&out.stdout);
        assert!(
            text.contains("NAME\n       gatehouse-check - Check files"),
            "{text}"
        );
        // Kept line for line, not refilled into a paragraph.
        assert!(
            text.contains("\n         gatehouse check --staged             the index, as a commit would take it\n"),
            "{text}"
        );
    }
}

/// `man` output without its overstrike (bold `N\bN`, underlined `_\bx`).
fn plain(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{8}' {
            out.pop();
            out.extend(chars.next());
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn install_script_puts_completions_and_man_pages_under_prefix() {
    let env = TestEnv::new();
    let prefix = env.path().join("prefix");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh");
    let install = || {
        run(env
            .command("sh", env.path())
            .env("PREFIX", &prefix)
            .arg(&script)
            .args(["--binary", BIN]))
    };
    // A page of a subcommand that no longer exists goes on reinstall.
    let man1 = prefix.join("share/man/man1");
    std::fs::create_dir_all(&man1).unwrap();
    std::fs::write(man1.join("gatehouse-gone.1"), ".TH gone 1\n").unwrap();
    for _ in 0..2 {
        let out = install();
        assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
        assert!(
            out.stdout
                .contains("installed completions for bash, zsh and fish"),
            "{}",
            out.stdout
        );
    }
    let installed = prefix.join("bin/gatehouse");
    let version = run(Command::new(&installed).arg("--version"));
    assert!(version.stdout.starts_with("gatehouse "), "{version:?}");
    let share = prefix.join("share");
    let bash = share.join("bash-completion/completions/gatehouse");
    assert_eq!(bash_complete(&env, &bash, "doc"), ["doctor"]);
    let zsh = std::fs::read_to_string(share.join("zsh/site-functions/_gatehouse")).unwrap();
    assert!(zsh.starts_with("#compdef gatehouse"));
    let fish =
        std::fs::read_to_string(share.join("fish/vendor_completions.d/gatehouse.fish")).unwrap();
    assert!(fish.contains("complete -c gatehouse"), "{fish}");
    let mut pages: Vec<String> = std::fs::read_dir(&man1)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    assert!(
        pages.contains(&"gatehouse.1".to_string())
            && pages.contains(&"gatehouse-check.1".to_string()),
        "{pages:?}"
    );
    assert!(
        !pages.contains(&"gatehouse-gone.1".to_string()),
        "{pages:?}"
    );
    assert!(pages.len() > 20, "one page per subcommand: {pages:?}");
    let usage = run(env.command("sh", env.path()).arg(&script).arg("--bogus"));
    assert_eq!(usage.code, 2, "{}", usage.stderr);
}

#[test]
fn install_script_without_prefix_puts_completions_where_the_shells_look() {
    let test = "install_script_without_prefix_puts_completions_where_the_shells_look";
    let env = TestEnv::new();
    let home = env.path().join("home");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh");
    let out = run(env
        .command("sh", env.path())
        .arg(&script)
        .args(["--binary", BIN]));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(home.join(".cargo/bin/gatehouse").exists());
    let path = format!(
        "{}:{}",
        home.join(".cargo/bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let shell = |program: &str, args: &[&str]| {
        run(env
            .command(program, env.path())
            .env("PATH", &path)
            .args(args))
    };
    // man finds the pages beside the bin/ on PATH.
    if have(test, "man") {
        let found = shell("man", &["-w", "gatehouse-check"]);
        let page = home.join(".cargo/share/man/man1/gatehouse-check.1");
        assert_eq!(
            found.stdout.trim(),
            page.to_str().unwrap(),
            "{}",
            found.stderr
        );
    }
    // bash-completion's loader and fish find the scripts in the user's data directory.
    let loader = "/usr/share/bash-completion/bash_completion";
    if Path::new(loader).exists() {
        let program =
            format!("source {loader}; __load_completion gatehouse && complete -p gatehouse");
        let loaded = shell("bash", &["-c", &program]);
        assert!(
            loaded.stdout.contains("-F _gatehouse gatehouse"),
            "{loaded:?}"
        );
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: bash-completion is not installed"
        );
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {test} (bash part): bash-completion is not installed"
        );
    }
    if have(test, "fish") {
        let offered = shell("fish", &["-c", "complete -C 'gatehouse do'"]);
        assert!(offered.stdout.starts_with("doctor\t"), "{offered:?}");
    }
    assert!(
        home.join(".local/share/zsh/site-functions/_gatehouse")
            .exists()
            && out.stdout.contains("note: zsh: add fpath=("),
        "{}",
        out.stdout
    );
}

#[test]
fn the_gates_own_rules_are_listed_and_explained() {
    let env = TestEnv::new();
    let list = gatehouse(&env, &["rules", "list", "--format", "json"]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    let list: serde_json::Value = serde_json::from_str(&list.stdout).unwrap();
    let rules = list["rules"].as_array().unwrap();
    for (id, code) in [("agent-commit", "unapproved"), ("protected-ref", "deleted")] {
        let rule = rules.iter().find(|r| r["id"] == id).expect(id);
        assert_eq!(
            (&rule["kind"], &rule["level"], &rule["codes"][0]),
            (&"gate".into(), &"review".into(), &code.into()),
            "{rule}"
        );
        let explained = gatehouse(&env, &["rules", "explain", id]);
        assert_eq!(explained.code, 0, "{id}: {}", explained.stderr);
        assert!(
            explained.stdout.contains("gate rule") && explained.stdout.contains(code),
            "{}",
            explained.stdout
        );
    }
    assert!(
        rules
            .iter()
            .any(|r| r["id"] == "untyped-function" && r["kind"] == "check")
    );
    let human = gatehouse(&env, &["rules", "list"]);
    assert!(
        human
            .stdout
            .lines()
            .any(|l| l.starts_with("agent-commit") && l.contains("gate rule")),
        "{}",
        human.stdout
    );
    let unknown = gatehouse(&env, &["rules", "explain", "no-such-rule"]);
    assert_eq!(unknown.code, 2);
    assert!(
        unknown.stderr.contains("protected-ref"),
        "{}",
        unknown.stderr
    );
}

/// A listing whose reader went away (`gatehouse rules list | head -1`) ends quietly, killed by
/// SIGPIPE as git's listings are, not with a panic about a broken pipe.
#[test]
fn a_listing_whose_reader_went_away_ends_without_a_panic() {
    use std::os::unix::process::ExitStatusExt;
    let env = TestEnv::new();
    for args in [
        &["rules", "list"][..],
        &["rules", "explain", "untyped-function"],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = env
            .command(BIN, env.path())
            .args(args)
            .stdout(writer)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(
            out.status.signal(),
            Some(libc::SIGPIPE),
            "{args:?}: {stderr}"
        );
    }
}
