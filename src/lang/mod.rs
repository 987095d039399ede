//! Languages gatehouse parses with tree-sitter: detection by extension or `#!` line, and parsing
//! with one parser per language per thread.

mod shape;

use std::cell::RefCell;
use std::sync::{Arc, Once};

use serde::Serialize;
use tree_sitter::{Node, Parser, Tree};

pub use shape::{CHECK_STACK_SIZE, Failure, MAX_DEPTH, Shape, inspect, inspect_source};

/// A language with a tree-sitter grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Python,
    Rust,
}

impl Language {
    /// The language of `path`, from its extension, else from a `#!` first line of `head`.
    pub fn detect(path: &str, head: &[u8]) -> Option<Language> {
        let name = path.rsplit('/').next().unwrap_or(path);
        match name.rsplit_once('.').map(|(_, ext)| ext) {
            Some("py" | "pyi") => Some(Language::Python),
            Some("rs") => Some(Language::Rust),
            Some(_) => None,
            None => shebang_language(head),
        }
    }

    /// Whether a path's extension alone could make it this language, or it has none (a script).
    pub fn may_be(path: &str) -> bool {
        let name = path.rsplit('/').next().unwrap_or(path);
        match name.rsplit_once('.') {
            Some((stem, ext)) => stem.is_empty() || matches!(ext, "py" | "pyi" | "rs"),
            None => true,
        }
    }

    /// The `//`-style or `#`-style line comment marker.
    pub fn comment_marker(self) -> &'static str {
        match self {
            Language::Python => "#",
            Language::Rust => "//",
        }
    }

    fn grammar(self) -> tree_sitter::Language {
        match self {
            Language::Python => tree_sitter_python::LANGUAGE.into(),
            Language::Rust => tree_sitter_rust::LANGUAGE.into(),
        }
    }
}

fn shebang_language(head: &[u8]) -> Option<Language> {
    let line = head.strip_prefix(b"#!")?;
    let line = &line[..line.iter().position(|&b| b == b'\n').unwrap_or(line.len())];
    let line = String::from_utf8_lossy(line);
    let mut words = line.split_whitespace();
    let mut program = words.next()?.rsplit('/').next()?;
    if program == "env" {
        program = words.find(|w| !w.starts_with('-'))?;
    }
    program.starts_with("python").then_some(Language::Python)
}

/// A parsed file as checks see it.
pub struct ParsedFile<'a> {
    /// Repository-relative path, `/`-separated.
    pub path: &'a str,
    pub language: Language,
    pub source: &'a str,
    pub tree: &'a Tree,
    /// The rest of the revision, for rules that look beyond this file.
    pub project: &'a dyn ProjectFiles,
}

impl ParsedFile<'_> {
    /// The text of a node.
    pub fn text(&self, node: Node<'_>) -> &str {
        self.source.get(node.byte_range()).unwrap_or("")
    }

    /// 1-based (line, column in characters) where `node` starts.
    pub fn start(&self, node: Node<'_>) -> (u32, u32) {
        point_position(self.source, node.start_byte(), node.start_position())
    }

    /// 1-based (line, column in characters) just past the end of `node`.
    pub fn end(&self, node: Node<'_>) -> (u32, u32) {
        point_position(self.source, node.end_byte(), node.end_position())
    }
}

/// Like [`position`], in time proportional to the line's length thanks to tree-sitter's point.
fn point_position(source: &str, byte: usize, point: tree_sitter::Point) -> (u32, u32) {
    let line_start = byte.saturating_sub(point.column);
    let column = source
        .get(line_start..byte)
        .map_or(point.column, |s| s.chars().count())
        + 1;
    (to_u32(point.row + 1), to_u32(column))
}

/// 1-based (line, column in characters) of a byte offset of `source`.
pub fn position(source: &str, byte: usize) -> (u32, u32) {
    let byte = byte.min(source.len());
    let line_start = source[..byte].rfind('\n').map_or(0, |i| i + 1);
    let line = source.as_bytes()[..line_start]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1;
    let column = source
        .get(line_start..byte)
        .map_or(byte - line_start, |s| s.chars().count())
        + 1;
    (to_u32(line), to_u32(column))
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

thread_local! {
    static PARSERS: RefCell<Vec<(Language, Parser)>> = const { RefCell::new(Vec::new()) };
}

/// Parses `source` with this thread's parser for `language`.
pub fn parse(language: Language, source: &str) -> Option<Tree> {
    ALLOCATOR.call_once(use_mimalloc);
    PARSERS.with(|parsers| {
        let mut parsers = parsers.borrow_mut();
        let index = match parsers.iter().position(|(l, _)| *l == language) {
            Some(index) => index,
            None => {
                let mut parser = Parser::new();
                parser.set_language(&language.grammar()).ok()?;
                parsers.push((language, parser));
                parsers.len() - 1
            }
        };
        parsers[index].1.parse(source, None)
    })
}

/// Set before the first parser is made: every tree-sitter object comes from [`parse`].
static ALLOCATOR: Once = Once::new();

/// Gives tree-sitter mimalloc instead of the C library's malloc. Parsing allocates and frees a
/// small block per node; on sympy (27 MB of Python, two threads) this makes the whole parse 7%
/// faster (median of six alternating runs, 2.13 s → 1.98 s).
fn use_mimalloc() {
    use libmimalloc_sys::{mi_free, mi_malloc, mi_realloc, mi_zalloc};
    use std::ffi::c_void;

    unsafe extern "C" fn calloc(count: usize, size: usize) -> *mut c_void {
        match count.checked_mul(size) {
            // SAFETY: mi_zalloc takes any size and returns null when it cannot allocate.
            Some(bytes) => unsafe { mi_zalloc(bytes) },
            None => std::ptr::null_mut(),
        }
    }
    // SAFETY: no tree-sitter object exists yet (this runs once, before the first parser is
    // made, and every parser is made by `parse`), and each function pairs with the others: what
    // one allocates, mi_free and mi_realloc accept.
    unsafe {
        tree_sitter::set_allocator(Some(tree_sitter::Allocator {
            malloc: mi_malloc,
            calloc,
            realloc: mi_realloc,
            free: mi_free,
        }));
    }
}

/// What a check may see of the rest of the checked revision: its file list and the content of
/// other files (manifests, sibling modules). The engine provides it and records what each check
/// read, so cached results are reused only while those files are unchanged. It lives here, with
/// [`ParsedFile`] that carries it, so that `checks` uses `lang` and not the other way round.
/// Read access to the checked revision: a commit, the index, or the working tree.
pub trait ProjectFiles {
    /// Every file path of the revision, repository-relative, sorted.
    fn paths(&self) -> &[String];
    /// The text of a file of the revision (lossy UTF-8), or `None` when it does not exist.
    fn read(&self, path: &str) -> Option<Arc<str>>;
    /// Whether a file exists in the revision (cheaper than reading it).
    fn exists(&self, path: &str) -> bool {
        self.read(path).is_some()
    }
    /// Whether `path` is a directory of the revision (holds at least one file).
    fn is_dir(&self, path: &str) -> bool {
        let prefix = format!("{}/", path.trim_end_matches('/'));
        let paths = self.paths();
        let at = paths.partition_point(|p| p.as_str() < prefix.as_str());
        paths.get(at).is_some_and(|p| p.starts_with(&prefix))
    }
}

/// An empty revision, for checks run on a lone file (tests, or rules that need no project).
pub struct NoProject;

impl ProjectFiles for NoProject {
    fn paths(&self) -> &[String] {
        &[]
    }

    fn read(&self, _path: &str) -> Option<Arc<str>> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_extension_and_shebang() {
        assert_eq!(Language::detect("a/b.py", b""), Some(Language::Python));
        assert_eq!(Language::detect("a/b.pyi", b""), Some(Language::Python));
        assert_eq!(Language::detect("src/lib.rs", b""), Some(Language::Rust));
        assert_eq!(
            Language::detect("bin/tool", b"#!/usr/bin/env python3\nimport os\n"),
            Some(Language::Python)
        );
        assert_eq!(
            Language::detect("bin/tool", b"#!/usr/bin/python3.12 -u\n"),
            Some(Language::Python)
        );
        assert_eq!(
            Language::detect("bin/tool", b"#!/usr/bin/env -S python3 -u\n"),
            Some(Language::Python)
        );
        assert_eq!(Language::detect("bin/tool", b"#!/bin/sh\n"), None);
        assert_eq!(
            Language::detect("notes.txt", b"#!/usr/bin/env python\n"),
            None
        );
    }

    #[test]
    fn positions_count_characters() {
        let src = "x = 1\nµ = f(a)\n";
        let byte = src.find("f(").unwrap();
        assert_eq!(position(src, byte), (2, 5));
        assert_eq!(position(src, 0), (1, 1));
    }

    #[test]
    fn parses_both_languages_and_reuses_parsers() {
        for _ in 0..2 {
            let tree = parse(Language::Python, "def f(x):\n    return x\n").unwrap();
            assert_eq!(tree.root_node().kind(), "module");
            let tree = parse(Language::Rust, "fn main() {}\n").unwrap();
            assert_eq!(tree.root_node().kind(), "source_file");
        }
    }
}
