//! Layering and validation of configuration.

use super::*;

fn text(file: &str, text: &str) -> ConfigText {
    ConfigText {
        file: file.to_string(),
        text: text.to_string(),
    }
}

#[test]
fn the_built_in_packs_load_with_review_tables() {
    let settings = defaults();
    assert_eq!(settings.scope, None);
    assert_eq!(settings.max_file_size, DEFAULT_MAX_FILE_SIZE);
    assert_eq!(settings.agent_commits, Level::Review);
    let names: Vec<&str> = settings.sensitive.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "ci-config",
            "dependency-manifests",
            "secrets-and-keys",
            "auth",
            "migrations",
            "gate-config"
        ]
    );
    assert!(settings.sensitive.iter().all(|s| s.level == Level::Review));
}

#[test]
fn config_overrides_packs_which_override_built_ins() {
    let pack = text(
        "p.toml",
        "[[sensitive]]\nname = \"ci-config\"\nlevel = \"warn\"\nowners = [\"a@x\"]\n",
    );
    let config = text(
        "c.toml",
        "scope = \"all\"\n[[sensitive]]\nname = \"ci-config\"\nlevel = \"block\"\n",
    );
    let settings = load(std::slice::from_ref(&pack), Some(&config)).unwrap();
    let ci = settings
        .sensitive
        .iter()
        .find(|s| s.name == "ci-config")
        .unwrap();
    assert_eq!(ci.level, Level::Block, "config.toml wins");
    assert_eq!(
        ci.owners,
        ["a@x"],
        "fields the config does not set stay from the pack"
    );
    assert!(
        ci.patterns.is_match(".github/workflows/ci.yml"),
        "paths stay from the built-in table"
    );
    assert_eq!(settings.scope, Some(Scope::All));
    let settings = load(&[pack], None).unwrap();
    assert_eq!(
        settings
            .sensitive
            .iter()
            .find(|s| s.name == "ci-config")
            .unwrap()
            .level,
        Level::Warn
    );
}

#[test]
fn a_new_table_defaults_to_the_rule_level() {
    let config = text(
        "c.toml",
        "[rules.sensitive-path]\nlevel = \"warn\"\n[[sensitive]]\nname = \"x\"\npaths = [\"x/\"]\n",
    );
    let settings = load(&[], Some(&config)).unwrap();
    assert_eq!(
        settings
            .sensitive
            .iter()
            .find(|s| s.name == "x")
            .unwrap()
            .level,
        Level::Warn
    );
}

#[test]
fn rule_paths_and_exclude_select_files() {
    let config = text(
        "c.toml",
        "[rules.sensitive-path]\npaths = [\"src/\"]\nexclude = [\"src/vendor/\"]\n",
    );
    let settings = load(&[], Some(&config)).unwrap();
    let rule = &settings.rules["sensitive-path"];
    assert!(rule.applies_to("src/a.py"));
    assert!(!rule.applies_to("src/vendor/b.py"));
    assert!(!rule.applies_to("tests/c.py"));
}

#[test]
fn protected_branch_patterns_match_whole_names() {
    let settings = defaults();
    assert!(settings.protected_set.is_match_whole("main"));
    assert!(settings.protected_set.is_match_whole("release/1.0"));
    assert!(!settings.protected_set.is_match_whole("feature/main"));
    assert!(!settings.protected_set.is_match_whole("release/1.0/hotfix"));
    let config = text("c.toml", "protected = [\"prod\", \"!main\"]\n");
    let settings = load(&[], Some(&config)).unwrap();
    assert!(settings.protected_set.is_match_whole("prod"));
    assert!(!settings.protected_set.is_match_whole("main"));
}

#[test]
fn the_digest_follows_the_texts() {
    let a = load(&[], Some(&text("c.toml", "scope = \"all\"\n"))).unwrap();
    let b = load(&[], Some(&text("c.toml", "scope = \"all\"\n"))).unwrap();
    let c = load(&[], Some(&text("c.toml", "scope = \"changed-files\"\n"))).unwrap();
    assert_eq!(a.digest, b.digest);
    assert_ne!(a.digest, c.digest);
}

#[test]
fn errors_point_into_the_right_file() {
    let pack = text(
        ".gatehouse/rules/a.toml",
        "[[sensitive]]\nname = \"a\"\npaths = [\"x\"]\nlevel = 3\n",
    );
    let err = load(&[pack], None).unwrap_err();
    assert_eq!(err.file, ".gatehouse/rules/a.toml");
    assert_eq!(err.line_column(), Some((4, 9)));
    let err = load(&[], Some(&text("c.toml", "max_file_size = \"big\"\n"))).unwrap_err();
    assert_eq!(err.line_column(), Some((1, 17)));
}
