//! The findings of files that do not parse, or nest too deep.

use super::diagnostics;
use crate::checks::NoProject;
use crate::lang::{Language, ParsedFile, inspect, parse};

fn found(language: Language, source: &str) -> Vec<(u32, u32, String, String)> {
    let tree = parse(language, source).unwrap();
    let file = ParsedFile {
        path: "x",
        language,
        source,
        tree: &tree,
        project: &NoProject,
    };
    diagnostics(&file, &inspect(&tree, language))
        .into_iter()
        .map(|d| (d.line, d.column, d.code, d.message))
        .collect()
}

#[test]
fn reports_the_first_failure_once() {
    let src = "def f(x):\n    return x\n\n\ndef g(:\n    pass\n\n\n1bad\n";
    let got = found(Language::Python, src);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!((got[0].0, got[0].2.as_str()), (5, "syntax-error"));
    assert_eq!(
        found(Language::Python, "def f(x: int) -> int:\n    return x\n"),
        []
    );
    let got = found(Language::Python, "x = 1\nprint \"a\"\n");
    assert_eq!(got[0].0, 2);
    assert!(got[0].3.contains("Python 2 `print`"), "{got:?}");
    let got = found(Language::Rust, "fn main() {\n    let x = ;\n}\n");
    assert_eq!((got[0].0, got[0].2.as_str()), (2, "syntax-error"));
    let got = found(Language::Rust, "fn main() {\n    let x = (1;\n}\n");
    assert!(
        got[0].3.contains("expected") || got[0].3.contains("unexpected"),
        "{got:?}"
    );
}

#[test]
fn reports_nesting_too_deep_to_walk() {
    let n = 5_000;
    let src = format!("fn main() {}\n", "{".repeat(n) + &"}".repeat(n));
    let got = found(Language::Rust, &src);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].2, "too-deep");
}
