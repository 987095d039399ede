//! What a parse left besides the tree: where it first failed (an `ERROR` or `MISSING` node, or a
//! Python 2 statement that Python 3 rejects), and whether the tree is deeper than the checks may
//! walk. Found with one iterative walk, so a tree of any depth is inspected safely.

use std::sync::OnceLock;

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

/// Reports `tree`'s first failure and whether it is too deep, without recursion.
///
/// Visiting every node would cost a tenth of a cold check, so unless the parse failed (then
/// every node is looked at, as the failure may be anywhere) the walk only goes where an
/// answer can be: into Python's statement containers (a Python 2 statement is a statement),
/// and into subtrees with more nodes than the depth left (a subtree of `n` nodes is at most
/// `n` levels deep). It visits the nodes it visits in document order, so what it finds first
/// is what a walk of every node finds first.
pub fn inspect(tree: &Tree, language: Language) -> Shape<'_> {
    inspect_with(tree, language, true)
}

/// [`inspect`] for a tree of `source`: a Python file that never spells `print` or `exec` holds
/// no Python 2 statement, so only the depth is looked at (three files in four, in sympy).
pub fn inspect_source<'t>(tree: &'t Tree, language: Language, source: &str) -> Shape<'t> {
    inspect_with(
        tree,
        language,
        source.contains("print") || source.contains("exec"),
    )
}

fn inspect_with(tree: &Tree, language: Language, python2: bool) -> Shape<'_> {
    let errors = tree.root_node().has_error();
    let python = (language == Language::Python && (python2 || errors)).then(python_kinds);
    let looking = Looking {
        errors,
        // Python 2 statements parse without an error node, so Python files are always looked at.
        python2: python.map(|kinds| kinds.python2),
    };
    if errors {
        return walk(tree, looking, |_, _| true);
    }
    walk(tree, looking, |node, depth| {
        python.is_some_and(|kinds| kinds.is_container(node.kind_id()))
            || depth + node.descendant_count() > MAX_DEPTH + 1
    })
}

/// The walk of [`inspect`], descending only into nodes for which `descend(node, depth)` holds.
fn walk<'t>(
    tree: &'t Tree,
    mut looking: Looking,
    descend: impl Fn(Node<'t>, usize) -> bool,
) -> Shape<'t> {
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
        if descend(node, depth) && cursor.goto_first_child() {
            depth += 1;
            continue;
        }
        loop {
            if depth == 0 {
                return shape;
            }
            if cursor.goto_next_sibling() {
                break;
            }
            cursor.goto_parent();
            depth -= 1;
        }
    }
}

/// The Python grammar's kind ids that [`inspect`] looks for, resolved once.
struct PythonKinds {
    python2: [u16; 2],
    /// By kind id: whether its children may be statements (a simple statement is a child of
    /// the module or of a block, a block a child of a compound statement or clause).
    containers: Vec<bool>,
}

impl PythonKinds {
    fn is_container(&self, id: u16) -> bool {
        self.containers
            .get(usize::from(id))
            .copied()
            .unwrap_or(false)
    }
}

fn python_kinds() -> &'static PythonKinds {
    static KINDS: OnceLock<PythonKinds> = OnceLock::new();
    KINDS.get_or_init(|| {
        let grammar = Language::Python.grammar();
        let id = |kind: &str| grammar.id_for_node_kind(kind, true);
        let mut containers = vec![false; grammar.node_kind_count()];
        for kind in [
            "module",
            "block",
            "if_statement",
            "for_statement",
            "while_statement",
            "try_statement",
            "with_statement",
            "match_statement",
            "function_definition",
            "class_definition",
            "decorated_definition",
            "elif_clause",
            "else_clause",
            "except_clause",
            "except_group_clause",
            "finally_clause",
            "case_clause",
        ] {
            // Id 0 means "not in the grammar".
            let id = id(kind);
            if id != 0
                && let Some(slot) = containers.get_mut(usize::from(id))
            {
                *slot = true;
            }
        }
        PythonKinds {
            python2: [id("print_statement"), id("exec_statement")],
            containers,
        }
    })
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

    /// What a walk of every node finds: the definition [`inspect`] must agree with.
    fn every_node(tree: &Tree, language: Language) -> Shape<'_> {
        let looking = Looking {
            errors: tree.root_node().has_error(),
            python2: (language == Language::Python).then(|| python_kinds().python2),
        };
        walk(tree, looking, |_, _| true)
    }

    fn agree(language: Language, source: &str) -> Shape<'static> {
        let tree = Box::leak(Box::new(parse(language, source).unwrap()));
        let fast = inspect(tree, language);
        let full = every_node(tree, language);
        let key = |s: &Shape<'_>| {
            (
                s.failure.map(|(f, n)| (f, n.id())),
                s.too_deep.map(|n| n.id()),
            )
        };
        assert_eq!(
            key(&fast),
            key(&full),
            "{language:?}: {}",
            &source[..source.len().min(200)]
        );
        fast
    }

    #[test]
    fn skipping_subtrees_finds_what_a_walk_of_every_node_finds() {
        let deep = |open: &str, close: &str, n: usize| open.repeat(n) + "1" + &close.repeat(n);
        let python2 = [
            "if x:\n    while y:\n        print 'a'\n",
            "class C:\n    def f(self):\n        try:\n            pass\n        finally:\n            exec code\n",
            "match x:\n    case 1:\n        print y\n",
            "with a:\n    for i in b:\n        pass\n    else:\n        print i\n",
            "@d\ndef f():\n    if a:\n        pass\n    elif b:\n        exec 'x'\n",
            "try:\n    pass\nexcept E:\n    print 1\n",
            "x = [print]\nprint(x)\n",
        ];
        for source in python2 {
            agree(Language::Python, source);
        }
        assert!(agree(Language::Python, python2[1]).failure.is_some());
        // Around the limit: parentheses, and operator chains that nest without brackets.
        for n in [
            MAX_DEPTH / 2 - 2,
            MAX_DEPTH / 2,
            MAX_DEPTH / 2 + 2,
            MAX_DEPTH - 1,
            MAX_DEPTH,
            MAX_DEPTH + 1,
        ] {
            agree(Language::Python, &format!("x = {}\n", deep("(", ")", n)));
            agree(
                Language::Python,
                &format!("x = {}\n", "1 + ".repeat(n) + "1"),
            );
            agree(Language::Python, &format!("x = {}\n", "-".repeat(n) + "1"));
            agree(
                Language::Python,
                &format!("print 1\ny = 2\nx = {}\nprint 2\n", "not ".repeat(n) + "a"),
            );
            agree(
                Language::Python,
                &format!("x = {}\nprint 2\n", "a.".repeat(n) + "b"),
            );
            agree(
                Language::Rust,
                &format!("fn f() {{ let x = {}; }}\n", deep("(", ")", n)),
            );
            agree(Language::Rust, &format!("fn f() {}\n", deep("{", "}", n)));
        }
        let chain = agree(
            Language::Python,
            &format!("x = {}\n", "1 + ".repeat(MAX_DEPTH + 5) + "1"),
        );
        assert!(chain.too_deep.is_some());
        let fine = agree(
            Language::Python,
            &format!("x = {}\n", "1 + ".repeat(MAX_DEPTH / 2) + "1"),
        );
        assert!(fine.too_deep.is_none());
        // Knowing the source: no keyword, no statement walk, same answer.
        for source in [
            python2[0],
            "x = 1\nif y:\n    z = [1]\n",
            "def f():\n    return g(1)\n",
        ] {
            let tree = parse(Language::Python, source).unwrap();
            let key = |s: &Shape<'_>| {
                (
                    s.failure.map(|(f, n)| (f, n.id())),
                    s.too_deep.map(|n| n.id()),
                )
            };
            assert_eq!(
                key(&inspect_source(&tree, Language::Python, source)),
                key(&every_node(&tree, Language::Python))
            );
        }
        let nested = format!("x = {}\n", deep("(", ")", MAX_DEPTH + 3));
        let tree = parse(Language::Python, &nested).unwrap();
        assert!(
            inspect_source(&tree, Language::Python, &nested)
                .too_deep
                .is_some()
        );
        // A parse that failed is walked in full: error before, after and inside deep nesting.
        agree(
            Language::Python,
            &format!("def g(:\n    pass\nx = {}\n", deep("(", ")", MAX_DEPTH + 3)),
        );
        agree(
            Language::Python,
            &format!("x = {}\ndef g(:\n    pass\n", deep("(", ")", MAX_DEPTH + 3)),
        );
        agree(
            Language::Rust,
            &format!("fn f() {{ let x = {}; let y = ; }}\n", deep("(", ")", 10)),
        );
    }
}
