//! Fixture tests: each fixture's `# expect:` header (generated from ruff 0.17.6's output for the
//! file) must match the findings exactly, and the rendered findings are snapshotted.

use std::fmt::Write as _;

use super::{Options, UntypedFunction, check_file};
use crate::checks::{Check, Diagnostic, module_doc};
use crate::lang::{Language, ParsedFile, parse};

macro_rules! fixture {
    ($name:literal) => {
        ($name, include_str!(concat!("fixtures/", $name)))
    };
}

const FIXTURES: &[(&str, &str)] = &[
    fixture!("basics.py"),
    fixture!("methods.py"),
    fixture!("shadowed.py"),
    fixture!("scopes.py"),
    fixture!("late_rebinding.py"),
    fixture!("overload.py"),
    fixture!("dunder_all.py"),
    fixture!("dynamic_all.py"),
    fixture!("_private_module.py"),
    fixture!("private_package.py"),
    fixture!("stub.pyi"),
    fixture!("mypy_init_return.py"),
    fixture!("suppress_dummy_args.py"),
    fixture!("suppress_none_returning.py"),
    fixture!("ignore_fully_untyped.py"),
    fixture!("syntax_error.py"),
    fixture!("python2.py"),
];

/// The header of a fixture: options, the path to check it as, and the expected findings.
struct Header {
    options: Options,
    path: String,
    expected: Vec<(u32, u32, String)>,
}

fn header(name: &str, source: &str) -> Header {
    let mut options = Options::default();
    let mut path = name.to_string();
    let mut expect = String::new();
    for line in source.lines().take_while(|l| l.starts_with('#')) {
        if let Some(rest) = line.strip_prefix("# options:") {
            for option in rest.split_whitespace() {
                match option {
                    "mypy-init-return" => options.mypy_init_return = true,
                    "suppress-dummy-args" => options.suppress_dummy_args = true,
                    "suppress-none-returning" => options.suppress_none_returning = true,
                    "ignore-fully-untyped" => options.ignore_fully_untyped = true,
                    other => panic!("{name}: unknown option {other}"),
                }
            }
        } else if let Some(rest) = line.strip_prefix("# path:") {
            path = rest.trim().to_string();
        } else if let Some(rest) = line.strip_prefix("# expect:") {
            expect.push_str(rest);
            expect.push(' ');
        }
    }
    let mut expected = Vec::new();
    for item in expect
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty() && *s != "nothing")
    {
        let (position, code) = item
            .split_once(' ')
            .unwrap_or_else(|| panic!("{name}: bad expectation {item}"));
        let (line, column) = position.split_once(':').unwrap();
        expected.push((
            line.parse().unwrap(),
            column.parse().unwrap(),
            code.to_string(),
        ));
    }
    expected.sort();
    Header {
        options,
        path,
        expected,
    }
}

/// A revision in which every directory of a fixture's path is a package (has `__init__.py`).
struct Packages;

impl crate::checks::ProjectFiles for Packages {
    fn paths(&self) -> &[String] {
        &[]
    }

    fn read(&self, path: &str) -> Option<std::sync::Arc<str>> {
        path.ends_with("/__init__.py")
            .then(|| std::sync::Arc::from(""))
    }
}

fn run(path: &str, source: &str, options: Options) -> Vec<Diagnostic> {
    let tree = parse(Language::Python, source).unwrap();
    let file = ParsedFile {
        path,
        language: Language::Python,
        source,
        tree: &tree,
        project: &Packages,
    };
    let mut out = Vec::new();
    check_file(options, &file, &mut out);
    out.sort_by(|a, b| (a.line, a.column, &a.code).cmp(&(b.line, b.column, &b.code)));
    out
}

fn render(found: &[Diagnostic]) -> String {
    let mut text = String::new();
    for d in found {
        let symbol = d.symbol.as_deref().unwrap_or("");
        let help = d.help.as_deref().unwrap_or("");
        let _ = writeln!(
            text,
            "{}:{}-{}:{} {} [{symbol}] {}\n    help: {help}",
            d.line, d.column, d.end_line, d.end_column, d.code, d.message
        );
    }
    text
}

#[test]
fn fixtures_fire_exactly_where_their_headers_say() {
    for (name, source) in FIXTURES {
        let header = header(name, source);
        let found = run(&header.path, source, header.options);
        let mut got: Vec<_> = found
            .iter()
            .map(|d| (d.line, d.column, d.code.clone()))
            .collect();
        got.sort();
        assert_eq!(
            got, header.expected,
            "{name}: findings differ from its `# expect:` header"
        );
        insta::assert_snapshot!(name.replace('.', "_"), render(&found));
    }
}

#[test]
fn every_code_is_covered_by_a_fixture() {
    let all: String = FIXTURES.iter().map(|(_, s)| *s).collect();
    for (code, _) in super::report::CODES {
        assert!(
            all.contains(&format!(" {code}")),
            "no fixture expects {code}"
        );
    }
}

#[test]
fn options_are_kebab_case_and_unknown_ones_are_rejected() {
    let ok: toml::Table =
        toml::from_str("mypy-init-return = true\nsuppress-dummy-args = true").unwrap();
    assert!(UntypedFunction.configure(&ok).is_ok());
    let bad: toml::Table = toml::from_str("mypy_init_return = true").unwrap();
    let error = UntypedFunction.configure(&bad).err().unwrap();
    assert!(error.contains("mypy_init_return"), "{error}");
}

#[test]
fn explain_prints_the_module_doc() {
    let doc = module_doc(UntypedFunction.meta().module_source);
    assert!(doc.starts_with("## untyped-function\n"), "{doc}");
    assert!(doc.contains("mypy-init-return"));
}

#[test]
fn broken_source_does_not_panic() {
    for source in [
        "def f(x",
        "class C:\n    def m(self, x):\n  return\n",
        "@overload\n",
        "def (",
        "lambda: 0",
    ] {
        let _ = run("broken.py", source, Options::default());
    }
}

/// Where the time goes on a real code base, single-threaded: reading, parsing, checking.
/// `GATEHOUSE_BENCH_DIR=/path/to/sympy cargo test --release --lib parse_vs_check -- --ignored --nocapture`
#[test]
#[ignore = "needs GATEHOUSE_BENCH_DIR"]
fn parse_vs_check() {
    use std::time::{Duration, Instant};
    let Some(root) = std::env::var_os("GATEHOUSE_BENCH_DIR") else {
        return;
    };
    let mut stack = vec![std::path::PathBuf::from(root)];
    let (mut read, mut parsing, mut checking, mut free) = (
        Duration::ZERO,
        Duration::ZERO,
        Duration::ZERO,
        Duration::ZERO,
    );
    let (mut files, mut bytes, mut findings) = (0, 0, 0);
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if !path.extension().is_some_and(|e| e == "py" || e == "pyi") {
                continue;
            }
            let t = Instant::now();
            let Ok(source) = std::fs::read_to_string(&path) else {
                continue;
            };
            read += t.elapsed();
            let t = Instant::now();
            let tree = parse(Language::Python, &source).unwrap();
            parsing += t.elapsed();
            let t = Instant::now();
            let file = ParsedFile {
                path: "x.py",
                language: Language::Python,
                source: &source,
                tree: &tree,
                project: &crate::checks::NoProject,
            };
            let mut out = Vec::new();
            check_file(Options::default(), &file, &mut out);
            checking += t.elapsed();
            let t = Instant::now();
            drop(tree);
            free += t.elapsed();
            files += 1;
            bytes += source.len();
            findings += out.len();
        }
    }
    let mb = bytes as f64 / 1e6;
    eprintln!("{files} files, {mb:.1} MB, {findings} findings");
    eprintln!(
        "read  {read:?}\nparse {parsing:?} ({:.1} MB/s)\ncheck {checking:?} ({:.0} MB/s)\nfree tree {free:?}",
        mb / parsing.as_secs_f64(),
        mb / checking.as_secs_f64()
    );
}
