//! What a parse left besides the tree: where it first failed (an `ERROR` or `MISSING` node, or a
//! Python 2 statement that Python 3 rejects), and whether the tree is deeper than the checks may
//! walk. Found with one iterative walk, so a tree of any depth is inspected safely.

use tree_sitter::{Node, Tree};

use super::Language;

/// The deepest tree the checks walk. Their walks recurse once per level of the tree, on threads
/// whose stack is sized for this depth ([`CHECK_STACK_SIZE`]); a deeper file is a `parse-error`
/// finding (`too-deep`) and the other checks skip it. Real code stays far below: the deepest
/// files of CPython's standard library reach depth 27, those of the crates.io sources in a
/// Cargo registry 70 (syn's expression parser).
pub const MAX_DEPTH: usize = 1_500;

/// The stack of the threads that run the checks. Every check, unoptimised, walks trees of
/// [`MAX_DEPTH`] levels in under 4 MiB, whatever nests (blocks, parentheses, closures, modules,
/// `use` trees, macros, types, paths, `else if`, attributes, method chains, matches; Python
/// brackets, calls, operators, lambdas, attributes, comprehensions, f-strings, blocks); this
/// leaves a fourfold margin.
pub const CHECK_STACK_SIZE: usize = 16 * 1024 * 1024;

/// Why a file did not parse cleanly, at the first place it happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Text the grammar could not place.
    Error,
    /// A token the grammar expected and did not find (the node's kind names it).
    Missing,
    /// A Python 2 `print` or `exec` statement: valid for the grammar, a syntax error in Python 3.
    Python2,
}

/// The result of [`inspect`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Shape<'t> {
    /// The first node, in document order, where the parse failed.
    pub failure: Option<(Failure, Node<'t>)>,
    /// The first node deeper than [`MAX_DEPTH`]; the walk stops there.
    pub too_deep: Option<Node<'t>>,
}

/// Walks `tree` without recursion and reports its first failure and whether it is too deep.
pub fn inspect(tree: &Tree, language: Language) -> Shape<'_> {
    let root = tree.root_node();
    let mut looking = Looking {
        errors: root.has_error(),
        // Python 2 statements parse without an error node, so Python files are always looked at.
        python2: (language == Language::Python).then(|| {
            let grammar = tree.language();
            [
                grammar.id_for_node_kind("print_statement", true),
                grammar.id_for_node_kind("exec_statement", true),
            ]
        }),
    };
    let mut shape = Shape::default();
    let mut cursor = tree.walk();
    let mut depth = 0usize;
    loop {
        let node = cursor.node();
        if depth > MAX_DEPTH {
            shape.too_deep = Some(node);
            return shape;
        }
        if let Some(failure) = looking.at(node) {
            shape.failure = Some((failure, node));
            looking = Looking::default();
        }
        if cursor.goto_first_child() {
            depth += 1;
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return shape;
            }
            depth -= 1;
        }
    }
}

/// What the walk still looks for: error nodes (only when the tree has any), Python 2 statements
/// (by their kind ids).
#[derive(Default)]
struct Looking {
    errors: bool,
    python2: Option<[u16; 2]>,
}

impl Looking {
    fn at(&self, node: Node<'_>) -> Option<Failure> {
        if self.errors && node.is_error() {
            Some(Failure::Error)
        } else if self.errors && node.is_missing() {
            Some(Failure::Missing)
        } else if self
            .python2
            .is_some_and(|ids| ids.contains(&node.kind_id()))
        {
            Some(Failure::Python2)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::parse;

    fn shape_of(language: Language, source: &str) -> (Option<(Failure, usize)>, Option<usize>) {
        let tree = parse(language, source).unwrap();
        let shape = inspect(&tree, language);
        (
            shape.failure.map(|(f, n)| (f, n.start_position().row + 1)),
            shape.too_deep.map(|n| n.start_position().row + 1),
        )
    }

    #[test]
    fn finds_the_first_failure_in_document_order() {
        let src = "def f(x):\n    return x\n\n\ndef g(:\n    pass\n\n\n1bad\n";
        assert_eq!(shape_of(Language::Python, src).0.map(|f| f.1), Some(5));
        assert_eq!(shape_of(Language::Python, "x = 1\n"), (None, None));
        assert_eq!(
            shape_of(Language::Python, "x = 1\nprint \"a\"\n").0,
            Some((Failure::Python2, 2))
        );
        assert_eq!(
            shape_of(Language::Rust, "fn main() {\n    let x = ;\n}\n")
                .0
                .map(|f| f.1),
            Some(2)
        );
        assert_eq!(shape_of(Language::Rust, "fn main() {}\n"), (None, None));
    }

    #[test]
    fn a_tree_deeper_than_the_limit_is_reported_without_recursion() {
        let n = 100_000;
        let src = format!("fn main() {}\n", "{".repeat(n) + &"}".repeat(n));
        assert_eq!(shape_of(Language::Rust, &src).1, Some(1));
        let src = format!("x = {}1{}\n", "(".repeat(n), ")".repeat(n));
        assert_eq!(shape_of(Language::Python, &src).1, Some(1));
        let src = format!("x = {}1{}\n", "(".repeat(100), ")".repeat(100));
        assert_eq!(shape_of(Language::Python, &src).1, None);
    }
}
