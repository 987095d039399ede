//! Matching changes against sensitive tables.

use super::*;
use crate::git::LineSet;
use crate::pathmatch::PatternSet;

fn table(name: &str, paths: &[&str], level: Level) -> SensitiveRule {
    SensitiveRule {
        name: name.into(),
        paths: paths.iter().map(ToString::to_string).collect(),
        patterns: PatternSet::new(paths).unwrap(),
        level,
        owners: Vec::new(),
        reason: None,
    }
}

fn change(path: &str, old: Option<&str>, status: ChangeStatus) -> Change {
    Change {
        path: path.into(),
        old_path: old.map(Into::into),
        status,
        new_id: None,
        new_mode: 0o100644,
        added: LineSet::default(),
    }
}

#[test]
fn one_hit_per_change_and_table_with_its_code() {
    let rules = [
        table("keys", &["*.pem", "certs/"], Level::Review),
        table("off", &["*"], Level::Off),
    ];
    let changes = [
        change("certs/a.pem", None, ChangeStatus::Added),
        change("b.pem", None, ChangeStatus::Deleted),
        change("run.sh", None, ChangeStatus::ModeChange),
        change("notes.txt", None, ChangeStatus::Modified),
    ];
    let hits = check_changes(&rules, &changes);
    let got: Vec<(&str, &str, &str)> = hits
        .iter()
        .map(|h| (h.rule.name.as_str(), h.path.as_str(), h.code))
        .collect();
    assert_eq!(
        got,
        [
            ("keys", "certs/a.pem", "added"),
            ("keys", "b.pem", "deleted")
        ]
    );
}

#[test]
fn a_rename_counts_its_old_path_too() {
    let rules = [table("keys", &["*.pem"], Level::Review)];
    let away = change("notes/key.txt", Some("key.pem"), ChangeStatus::Renamed);
    let into = change("key.pem", Some("notes/key.txt"), ChangeStatus::Renamed);
    let hits = check_changes(&rules, &[away, into]);
    let got: Vec<(&str, &str)> = hits
        .iter()
        .map(|h| (h.path.as_str(), h.message.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "key.pem",
                "notes/key.txt renamed from `key.pem`: sensitive (keys)"
            ),
            (
                "key.pem",
                "key.pem renamed from `notes/key.txt`: sensitive (keys)"
            ),
        ]
    );
}

#[test]
fn options_are_refused() {
    let mut options = toml::Table::new();
    options.insert("strict".into(), true.into());
    assert!(SensitivePath.configure(&options).is_err());
    assert!(SensitivePath.configure(&toml::Table::new()).is_ok());
}
