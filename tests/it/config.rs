//! Configuration errors: every one names the file, line and column, shows the line, and exits 2.

use crate::common::TestEnv;

fn config_error(file: &str, text: impl AsRef<[u8]>) -> String {
    let env = TestEnv::new();
    let repo = env.repo("r");
    repo.write("a.txt", "a\n");
    repo.commit("base");
    repo.write(file, text);
    let run = repo.gatehouse(&["check"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    run.stderr
}

#[test]
fn an_unknown_level_points_at_the_value() {
    insta::assert_snapshot!(config_error(".gatehouse/config.toml", "scope = \"all\"\n[rules.sensitive-path]\nlevel = \"blocker\"\n"), @r#"
    error: .gatehouse/config.toml:3:9: unknown variant `blocker`, expected one of `off`, `warn`, `review`, `block`
      |
    3 | level = "blocker"
      |         ^^^^^^^^^
    "#);
}

#[test]
fn unknown_keys_are_errors() {
    insta::assert_snapshot!(config_error(".gatehouse/config.toml", "scope = \"all\"\nscopes = 1\n"), @r"
    error: .gatehouse/config.toml:2:1: unknown field `scopes`, expected one of `scope`, `max_file_size`, `protected`, `agent_commits`, `hooks`, `daemon`, `tasks`, `agents`, `rules`, `sensitive`
      |
    2 | scopes = 1
      | ^^^^^^
    ");
}

#[test]
fn malformed_toml_names_file_line_and_column() {
    insta::assert_snapshot!(config_error(".gatehouse/config.toml", "[rules.sensitive-path\nlevel = \"warn\"\n"), @r"
    error: .gatehouse/config.toml:1:22: unclosed table, expected `]`
      |
    1 | [rules.sensitive-path
      |                      ^
    ");
}

#[test]
fn an_unknown_rule_lists_the_known_ones() {
    let err = config_error(
        ".gatehouse/config.toml",
        "[rules.untyped-functions]\nlevel = \"warn\"\n",
    );
    assert!(
        err.starts_with(
            "error: .gatehouse/config.toml:1:8: unknown rule `untyped-functions`, expected one of: "
        ),
        "{err}"
    );
    assert!(err.contains("sensitive-path"), "{err}");
}

#[test]
fn a_sensitive_table_without_paths_is_an_error() {
    insta::assert_snapshot!(config_error(".gatehouse/rules/extra.toml", "\n[[sensitive]]\nname = \"new\"\nlevel = \"block\"\n"), @r#"
    error: .gatehouse/rules/extra.toml:2:1: sensitive rule `new` has no `paths`
      |
    2 | [[sensitive]]
      | ^^^^^^^^^^^^^
    "#);
}

#[test]
fn options_of_a_rule_are_validated() {
    let err = config_error(
        ".gatehouse/config.toml",
        "[rules.sensitive-path]\noptions = { strict = true }\n",
    );
    assert!(
        err.starts_with("error: .gatehouse/config.toml:2:11: unknown option `strict`"),
        "{err}"
    );
}

#[test]
fn a_non_utf8_config_is_an_error() {
    let err = config_error(".gatehouse/config.toml", b"scope = \"\xff\"\n");
    assert!(err.contains(".gatehouse/config.toml"), "{err}");
}

#[test]
fn init_writes_a_config_that_loads() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let run = repo.gatehouse(&["init"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = std::fs::read_to_string(repo.root.join(".gatehouse/config.toml")).unwrap();
    assert!(text.contains("# scope = \"changed-lines\""));
    let run = repo.gatehouse(&["check"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    std::fs::write(
        repo.root.join(".gatehouse/config.toml"),
        "scope = \"all\"\n",
    )
    .unwrap();
    let run = repo.gatehouse(&["init"]);
    assert_eq!(run.code, 0);
    assert!(run.stderr.contains("already exists"));
    assert_eq!(
        std::fs::read_to_string(repo.root.join(".gatehouse/config.toml")).unwrap(),
        "scope = \"all\"\n"
    );
}

#[test]
fn rules_list_and_explain() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let run = repo.gatehouse(&["rules", "list", "--format", "json"]);
    assert_eq!(run.code, 0);
    let ids: Vec<String> = run.json()["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert!(ids.contains(&"sensitive-path".to_string()));
    let run = repo.gatehouse(&["rules", "explain", "sensitive-path"]);
    assert_eq!(run.code, 0);
    assert!(
        run.stdout.starts_with("## sensitive-path\n\nWhat it does:"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("git check-ignore --no-index"));
    let run = repo.gatehouse(&["rules", "explain", "nope"]);
    assert_eq!(run.code, 2);
}
