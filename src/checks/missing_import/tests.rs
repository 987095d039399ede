//! Fixture tests. A fixture is a small project in one file: `# --- path` lines start each file
//! of it. A line of a `.py` or `.rs` file that must fire ends with a comment
//! `expect: CODE[, CODE…]`; every other line must stay silent. The rendered findings of every
//! fixture are snapshotted too.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use super::MissingImport;
use crate::checks::{Check, Diagnostic, ProjectFiles, module_doc};
use crate::lang::{Language, ParsedFile, parse};

macro_rules! fixture {
    ($name:literal) => {
        ($name, include_str!(concat!("fixtures/", $name)))
    };
}

/// Every fixture; a new one is one line here.
pub(super) const FIXTURES: &[(&str, &str)] = &[
    fixture!("python_forms.txt"),
    fixture!("python_manifests.txt"),
    fixture!("python_no_manifest.txt"),
    fixture!("python_requires_312.txt"),
    fixture!("python_scopes.txt"),
    fixture!("rust_workspace.txt"),
    fixture!("rust_paths.txt"),
    fixture!("rust_modules.txt"),
    fixture!("rust_macro_modules.txt"),
    fixture!("rust_item_macros.txt"),
    fixture!("rust_edition2015.txt"),
    fixture!("rust_no_package.txt"),
    fixture!("rust_proc_macro.txt"),
    fixture!("rust_targets.txt"),
];

/// A revision held in memory.
pub(super) struct MemProject {
    files: BTreeMap<String, Arc<str>>,
    paths: Vec<String>,
}

impl MemProject {
    /// The project of a fixture.
    pub(super) fn from_fixture(text: &str) -> MemProject {
        let mut files: BTreeMap<String, String> = BTreeMap::new();
        let mut current: Option<String> = None;
        for line in text.lines() {
            if let Some(path) = line.strip_prefix("# --- ") {
                current = Some(path.trim().to_string());
                files.entry(path.trim().to_string()).or_default();
            } else if let Some(path) = &current {
                let file = files.entry(path.clone()).or_default();
                file.push_str(line);
                file.push('\n');
            }
        }
        let paths = files.keys().cloned().collect();
        let files = files.into_iter().map(|(k, v)| (k, Arc::from(v))).collect();
        MemProject { files, paths }
    }
}

impl ProjectFiles for MemProject {
    fn paths(&self) -> &[String] {
        &self.paths
    }

    fn read(&self, path: &str) -> Option<Arc<str>> {
        self.files.get(path).cloned()
    }

    fn exists(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }
}

/// Runs the rule on every source file of `project`: (path, diagnostics sorted by position).
pub(super) fn run(project: &MemProject, options: &toml::Table) -> Vec<(String, Vec<Diagnostic>)> {
    let rule = MissingImport.configure(options).expect("options");
    let mut results = Vec::new();
    for (path, source) in &project.files {
        let Some(language) = Language::detect(path, source.as_bytes()) else {
            continue;
        };
        let tree = parse(language, source).expect("parse");
        let file = ParsedFile {
            path,
            language,
            source,
            tree: &tree,
            project,
        };
        let mut out = Vec::new();
        rule.check(&file, &mut out);
        out.sort_by(|a, b| (a.line, a.column, &a.code).cmp(&(b.line, b.column, &b.code)));
        results.push((path.clone(), out));
    }
    results
}

/// The `expect:` markers of a source file: (line, code), sorted.
fn expected(source: &str) -> Vec<(u32, String)> {
    let mut expected = Vec::new();
    for (n, line) in source.lines().enumerate() {
        let Some((_, codes)) = line.rsplit_once("expect:") else {
            continue;
        };
        for code in codes.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            expected.push((u32::try_from(n + 1).unwrap(), code.to_string()));
        }
    }
    expected.sort();
    expected
}

/// The options of a fixture's `# options: { … }` line (an inline TOML table), before its files.
fn options_table(text: &str) -> toml::Table {
    let Some(inline) = text
        .lines()
        .take_while(|l| !l.starts_with("# --- "))
        .find_map(|l| l.strip_prefix("# options:"))
    else {
        return toml::Table::new();
    };
    let mut wrapper: toml::Table =
        toml::from_str(&format!("o = {inline}")).expect("fixture options");
    match wrapper.remove("o") {
        Some(toml::Value::Table(table)) => table,
        _ => panic!("fixture options must be an inline table"),
    }
}

fn render(results: &[(String, Vec<Diagnostic>)]) -> String {
    let mut text = String::new();
    for (path, found) in results {
        for d in found {
            let level = d.level.map(|l| format!(" ({l})")).unwrap_or_default();
            writeln!(
                text,
                "{path}:{}:{}-{}:{} {}{level} {}\n  symbol: {}\n  help: {}",
                d.line,
                d.column,
                d.end_line,
                d.end_column,
                d.code,
                d.message,
                d.symbol.as_deref().unwrap_or(""),
                d.help.as_deref().unwrap_or("")
            )
            .unwrap();
        }
    }
    text
}

#[test]
fn fixtures_fire_exactly_where_their_markers_say() {
    let mut failures = String::new();
    for (name, text) in FIXTURES {
        let project = MemProject::from_fixture(text);
        let results = run(&project, &options_table(text));
        for (path, found) in &results {
            let source = project.read(path).unwrap();
            let want = expected(&source);
            let mut got: Vec<(u32, String)> =
                found.iter().map(|d| (d.line, d.code.clone())).collect();
            got.sort();
            if got != want {
                writeln!(
                    failures,
                    "{name}: {path}\n  expected {want:?}\n  found    {got:?}\n{}",
                    render(&[(path.clone(), found.clone())])
                )
                .unwrap();
            }
        }
        insta::assert_snapshot!(name.replace(['.', '/'], "_"), render(&results));
    }
    assert!(failures.is_empty(), "{failures}");
}

#[test]
fn explain_prints_the_module_doc() {
    let doc = module_doc(MissingImport.meta().module_source);
    assert!(doc.starts_with("## missing-import"), "{doc}");
    assert!(doc.contains("undeclared-package") && doc.contains("undeclared-crate"));
    assert!(
        !doc.contains("PYTHON_DOC") && !doc.contains("RUST_DOC"),
        "{doc}"
    );
}

#[test]
fn options_are_kebab_case_and_unknown_ones_are_rejected() {
    let table: toml::Table = toml::from_str(
        "roots = [\"lib\"]\nguarded-level = \"warn\"\nmapping = { a = \"b\", c = [\"d\", \"e\"] }",
    )
    .unwrap();
    assert!(MissingImport.configure(&table).is_ok());
    let table: toml::Table = toml::from_str("root = [\"lib\"]").unwrap();
    let error = MissingImport.configure(&table).err().unwrap();
    assert!(error.contains("unknown field `root`"), "{error}");
}
