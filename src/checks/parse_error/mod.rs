//! ## parse-error
//!
//! What it does: reports a Python or Rust file that the checks cannot parse, once per file, at
//! the first place the parse failed:
//!
//! - `syntax-error`: text the grammar cannot place, a token it expected and did not find, or a
//!   Python 2 `print`/`exec` statement (valid for the grammar, a syntax error for Python 3);
//! - `too-deep`: nesting deeper than the checks walk (1,500 levels of the syntax tree; real
//!   code stays below 100). The other checks skip such a file, so it has this finding only;
//! - `binary`: a file with a `.py`/`.rs` name (or a Python `#!` line) that holds a NUL byte.
//!
//! Why it matters: a file the checks cannot read is a file they cannot vouch for. Without this
//! rule a syntax error, or nesting built to overflow a parser, would pass the gate with no
//! finding at all.
//!
//! What still happens: the parts of a file that did parse are still checked by the other
//! rules (an untyped `def` above the syntax error is reported), except in a `too-deep` file.
//!
//! In the gate (hooks, `check --range`, `--staged`) this finding counts for the whole file, like
//! a sensitive path: a change to a file that does not parse is refused whichever lines it
//! touched, because the change leaves a file behind that no check can vouch for. Fix the file,
//! or set this rule's `level`, `paths` or `exclude` for files that are not meant to parse
//! (test fixtures of a parser, templates).
//!
//! Example (`.gatehouse/config.toml`):
//!
//! ```toml
//! [rules.parse-error]
//! exclude = ["tests/fixtures/bad_syntax/"]
//! ```

use crate::checks::Level;
use crate::checks::{Check, Diagnostic, FileRule, RuleMeta};
use crate::lang::{Failure, Language, MAX_DEPTH, ParsedFile, Shape};

/// The rule id.
pub const ID: &str = "parse-error";

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "Python and Rust files the checks cannot parse (syntax errors, nesting too deep)",
    default_level: Level::Block,
    languages: &[Language::Python, Language::Rust],
    codes: &[
        ("syntax-error", "the file has a syntax error"),
        ("too-deep", "the file nests deeper than the checks walk"),
        ("binary", "a source file holds a NUL byte"),
    ],
    version: 1,
    uses_project: false,
    per_file: true,
    module_source: include_str!("mod.rs"),
};

/// The `parse-error` check; the engine gives it the parse's [`Shape`].
pub struct ParseError;

impl Check for ParseError {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn configure(&self, options: &toml::Table) -> Result<Box<dyn FileRule>, String> {
        match options.keys().next() {
            Some(key) => Err(format!(
                "unknown option `{key}`: parse-error has no options"
            )),
            None => Ok(Box::new(FromShape)),
        }
    }
}

/// The findings come from [`diagnostics`], which the engine calls with the parse's shape.
struct FromShape;

impl FileRule for FromShape {
    fn check(&self, _file: &ParsedFile<'_>, _out: &mut Vec<Diagnostic>) {}
}

/// The findings of a parsed file: at its first failure, and where it gets too deep.
pub fn diagnostics(file: &ParsedFile<'_>, shape: &Shape<'_>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if let Some((failure, node)) = shape.failure {
        let (line, column) = file.start(node);
        let (end_line, end_column) = file.end(node);
        let message = match failure {
            Failure::Missing => format!("syntax error: expected `{}`", node.kind()),
            Failure::Error => match first_token(file, node) {
                Some(token) => format!("syntax error: unexpected `{token}`"),
                None => "syntax error: unexpected end of file".to_string(),
            },
            Failure::Python2 => {
                let word = node.kind().trim_end_matches("_statement");
                format!("syntax error: a Python 2 `{word}` statement is not Python 3")
            }
        };
        out.push(Diagnostic {
            code: "syntax-error".into(),
            line,
            column,
            end_line,
            end_column: if (end_line, end_column) == (line, column) {
                column + 1
            } else {
                end_column
            },
            message,
            symbol: None,
            help: Some(
                "the rest of the file is checked as far as it parsed; fix the syntax, or exclude \
                 the file in [rules.parse-error] if it is not meant to parse"
                    .into(),
            ),
            level: None,
        });
    }
    if let Some(node) = shape.too_deep {
        let (line, column) = file.start(node);
        out.push(Diagnostic {
            code: "too-deep".into(),
            line,
            column,
            end_line: line,
            end_column: column + 1,
            message: format!(
                "nesting deeper than {MAX_DEPTH} levels of the syntax tree: the file is not checked"
            ),
            symbol: None,
            help: Some("no other check looked at this file; flatten the nesting".into()),
            level: None,
        });
    }
    out
}

/// A short excerpt of the first line of `node`'s text, for the message.
fn first_token(file: &ParsedFile<'_>, node: tree_sitter::Node<'_>) -> Option<String> {
    let text = file.text(node).lines().next()?.trim();
    if text.is_empty() {
        return None;
    }
    let word = text.split_whitespace().next().unwrap_or(text);
    let excerpt: String = word.chars().take(40).collect();
    Some(if excerpt.len() < word.len() {
        format!("{excerpt}…")
    } else {
        excerpt
    })
}

/// The finding for a source file that holds a NUL byte.
pub fn binary() -> Diagnostic {
    Diagnostic {
        code: "binary".into(),
        line: 1,
        column: 1,
        end_line: 1,
        end_column: 1,
        message: "the file holds a NUL byte: it is not source code the checks can read".into(),
        symbol: None,
        help: Some("no other check looked at this file".into()),
        level: None,
    }
}

#[cfg(test)]
mod tests;
