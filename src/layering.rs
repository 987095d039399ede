//! Guards for the direction of the imports between modules: a lower module never names a higher
//! one, so no import cycle can come back unnoticed.
//!
//! `checks` is below `config` (configuration knows the check registry, a check gets its settings
//! as plain values), `lang` is below `checks`, and `daemon` is below `cli`. Each guard reads the
//! module's source files and fails on a `crate::HIGHER` path outside `//` comments.

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Whether `item`, one entry of a `use crate::{…}` group, is `module` or a path into it.
fn item_names(item: &str, module: &str) -> bool {
    let item = item.trim();
    item.strip_prefix(module)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with("::") || rest.starts_with(' '))
}

/// The lines of `source` that name `crate::MODULE`, directly or in a `crate::{…}` group;
/// `//` comment lines do not count.
fn naming_lines(source: &str, module: &str) -> Vec<String> {
    let code: String = source
        .lines()
        .map(|line| {
            if line.trim_start().starts_with("//") {
                ""
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let direct = format!("crate::{module}");
    let mut found = Vec::new();
    for line in code.lines() {
        let at_boundary = line.match_indices(&direct).any(|(i, _)| {
            let next = line[i + direct.len()..].chars().next();
            !next.is_some_and(|c| c.is_alphanumeric() || c == '_')
        });
        if at_boundary {
            found.push(line.trim().to_string());
        }
    }
    for (start, _) in code.match_indices("crate::{") {
        let group = &code[start + "crate::{".len()..];
        let mut depth = 0;
        let mut item_start = 0;
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' | ',' if depth == 0 => {
                    if item_names(&group[item_start..i], module) {
                        found.push(format!("crate::{{{}", &group[..=i]));
                    }
                    item_start = i + 1;
                    if c == '}' {
                        break;
                    }
                }
                '}' => depth -= 1,
                _ => {}
            }
        }
    }
    found
}

/// Fails with every file under `src/LOWER` that names `crate::HIGHER`.
fn assert_never_names(lower: &str, higher: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join(lower);
    let files = rust_files(&root);
    assert!(!files.is_empty(), "no sources under {}", root.display());
    let mut offenders = Vec::new();
    for file in files {
        let source = std::fs::read_to_string(&file).unwrap();
        for line in naming_lines(&source, higher) {
            offenders.push(format!("{}: {line}", file.display()));
        }
    }
    assert!(
        offenders.is_empty(),
        "src/{lower} must not name crate::{higher} (it is the layer above):\n{}",
        offenders.join("\n")
    );
}

#[test]
fn checks_never_name_config() {
    assert_never_names("checks", "config");
}

#[test]
fn daemon_never_names_cli() {
    assert_never_names("daemon", "cli");
}

#[test]
fn lang_never_names_checks() {
    assert_never_names("lang", "checks");
}

#[test]
fn naming_lines_finds_paths_and_groups_but_not_comments() {
    let source = "\
//! counts as declared (`crate::config::Kind::A` is fine)
// use crate::config::Level;
use crate::configuration::X;
use crate::{git, config::Level};
use crate::{
    checks::{Check, Finding},
    config,
};
fn f() -> crate::config::Settings {}
";
    assert_eq!(
        naming_lines(source, "config"),
        [
            "fn f() -> crate::config::Settings {}",
            "crate::{git, config::Level}",
            "crate::{\n    checks::{Check, Finding},\n    config,",
        ]
    );
    assert!(naming_lines(source, "cli").is_empty());
    assert_eq!(naming_lines("use crate::{cli as c};", "cli").len(), 1);
}
