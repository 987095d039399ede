//! First-party modules: which exist in the checked revision (by its file list), and which names
//! a module defines at its top level.

use std::collections::HashSet;

use tree_sitter::Node;

use crate::lang::{Language, parse};

/// Suffixes of files Python imports as a module.
const MODULE_SUFFIXES: &[&str] = &[".py", ".pyi", ".pyx", ".pxd", ".so", ".pyd"];

/// Directories of installed packages and build copies: what is in them is not the project's,
/// and must not make the result depend on what happens to be installed.
const INSTALLED: &[&str] = &[
    "site-packages",
    "dist-packages",
    "node_modules",
    "__pycache__",
    ".tox",
    ".nox",
];

/// The revision's files and directories, for module lookups.
#[derive(Default)]
pub struct Index {
    files: HashSet<String>,
    dirs: HashSet<String>,
    /// Top-level names of every package or module anywhere in the tree (`a/b/foo/__init__.py`
    /// and `a/foo.py` give `foo`), for imports made through roots we cannot see.
    anywhere: HashSet<String>,
}

/// What a dotted path names under one root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// A package directory (`__init__.py` or a namespace package) at this path.
    Package { init: Option<String> },
    /// A module file at this path.
    Module { file: String },
}

impl Index {
    pub fn new(paths: &[String], generated: &[String]) -> Index {
        let mut index = Index::default();
        let environments: Vec<&str> = paths
            .iter()
            .filter_map(|p| p.strip_suffix("/pyvenv.cfg"))
            .collect();
        let installed = |path: &str| {
            path.split('/').any(|c| INSTALLED.contains(&c))
                || environments
                    .iter()
                    .any(|e| path.starts_with(e) && path[e.len()..].starts_with('/'))
        };
        for path in paths.iter().chain(generated).filter(|p| !installed(p)) {
            let mut dir = path.as_str();
            while let Some((parent, _)) = dir.rsplit_once('/') {
                if !index.dirs.insert(parent.to_string()) {
                    break;
                }
                dir = parent;
            }
            let name = path.rsplit('/').next().unwrap_or(path);
            if let Some(stem) = module_stem(name) {
                if stem == "__init__" {
                    let package = path.rsplit('/').nth(1).unwrap_or("");
                    index.anywhere.insert(package.to_string());
                } else {
                    index.anywhere.insert(stem.to_string());
                }
            }
            index.files.insert(path.clone());
        }
        index
    }

    pub fn is_file(&self, path: &str) -> bool {
        self.files.contains(path)
    }

    pub fn is_dir(&self, path: &str) -> bool {
        path.is_empty() || self.dirs.contains(path)
    }

    /// Whether a package or module of this name exists anywhere in the tree.
    pub fn exists_anywhere(&self, name: &str) -> bool {
        self.anywhere.contains(name)
    }

    /// What `name` is inside the directory `dir`: a package, a module, or nothing.
    pub fn child(&self, dir: &str, name: &str) -> Option<Found> {
        let base = super::manifest::join(dir, name);
        if self.is_dir(&base) {
            let init = ["__init__.py", "__init__.pyi"]
                .iter()
                .map(|i| format!("{base}/{i}"))
                .find(|f| self.is_file(f));
            return Some(Found::Package { init });
        }
        MODULE_SUFFIXES
            .iter()
            .map(|s| format!("{base}{s}"))
            .find(|f| self.is_file(f))
            .or_else(|| self.extension_module(dir, name))
            .map(|file| Found::Module { file })
    }

    /// A compiled module `name.cpython-312-x86_64-linux-gnu.so` (tracked in some repositories).
    fn extension_module(&self, dir: &str, name: &str) -> Option<String> {
        let prefix = super::manifest::join(dir, &format!("{name}."));
        self.files
            .iter()
            .find(|f| f.starts_with(&prefix) && (f.ends_with(".so") || f.ends_with(".pyd")))
            .cloned()
    }

    /// Follows `parts` from `dir`: how many of them resolve, and what the last resolved one is.
    pub fn resolve(&self, dir: &str, parts: &[&str]) -> (usize, Option<Found>) {
        let mut current = dir.to_string();
        // No parts (`from . import x`): the directory itself, as a package.
        let mut found = parts.is_empty().then(|| Found::Package {
            init: ["__init__.py", "__init__.pyi"]
                .iter()
                .map(|i| super::manifest::join(dir, i))
                .find(|f| self.is_file(f)),
        });
        for (depth, part) in parts.iter().enumerate() {
            if matches!(found, Some(Found::Module { .. })) {
                return (depth, found);
            }
            match self.child(&current, part) {
                Some(next) => {
                    current = super::manifest::join(&current, part);
                    found = Some(next);
                }
                None => return (depth, found),
            }
        }
        (parts.len(), found)
    }

    /// The names of the entries of `dir` that could be submodules, for near-miss suggestions.
    pub fn children(&self, dir: &str) -> Vec<String> {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let mut names: Vec<String> = self
            .files
            .iter()
            .chain(&self.dirs)
            .filter_map(|p| p.strip_prefix(&prefix))
            .filter_map(|rest| {
                let first = rest.split('/').next()?;
                if rest.contains('/') {
                    Some(first.to_string())
                } else {
                    module_stem(first).map(str::to_string)
                }
            })
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}

/// The module name of a file name, when Python would import it.
fn module_stem(name: &str) -> Option<&str> {
    MODULE_SUFFIXES
        .iter()
        .find_map(|s| name.strip_suffix(s))
        .map(|stem| stem.split('.').next().unwrap_or(stem))
        .filter(|stem| !stem.is_empty())
}

/// The names a module binds at its top level; `None` when they cannot be known (a star import,
/// a module `__getattr__`, writes through `globals()`, `exec`, a module replacing itself in
/// `sys.modules`, a file that is not Python).
pub fn top_level_names(path: &str, source: &str) -> Option<HashSet<String>> {
    if !(path.ends_with(".py") || path.ends_with(".pyi")) {
        return None;
    }
    // Writes through the module's namespace (reading `globals()` or `sys.modules[x]` is fine).
    let dynamic = [
        "globals()[",
        "globals().update",
        "globals().setdefault",
        "vars()[",
        "vars().update",
        "locals()[",
        "locals().update",
        "sys.modules[__name__]",
        "exec(",
    ];
    if dynamic.iter().any(|d| source.contains(d)) {
        return None;
    }
    let tree = parse(Language::Python, source)?;
    let mut names = HashSet::new();
    bind_statements(tree.root_node(), source, &mut names)?;
    if source.contains("global ") {
        globals(tree.root_node(), source, &mut names);
    }
    // `__getattr__ = getattr_migration(__name__)` makes every name possible, as a def does.
    (!names.contains("__getattr__")).then_some(names)
}

fn bind_statements(node: Node<'_>, source: &str, names: &mut HashSet<String>) -> Option<()> {
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        match child.kind() {
            "function_definition" | "class_definition" => {
                let name = text(child.child_by_field_name("name")?, source);
                if name == "__getattr__" && child.kind() == "function_definition" {
                    return None;
                }
                names.insert(name.to_string());
            }
            "decorated_definition" => bind_statements(child, source, names)?,
            "import_statement" | "import_from_statement" | "future_import_statement" => {
                import_names(child, source, names)?;
            }
            "expression_statement" => targets(child, source, names),
            "type_alias_statement" => {
                if let Some(name) = child.named_child(0) {
                    targets(name, source, names);
                }
            }
            "for_statement" => {
                if let Some(left) = child.child_by_field_name("left") {
                    targets(left, source, names);
                }
                bind_statements(child, source, names)?;
            }
            "with_statement" | "with_clause" | "with_item" | "as_pattern" => {
                targets_of_as(child, source, names);
                bind_statements(child, source, names)?;
            }
            "module"
            | "block"
            | "if_statement"
            | "elif_clause"
            | "else_clause"
            | "while_statement"
            | "try_statement"
            | "except_clause"
            | "except_group_clause"
            | "finally_clause"
            | "match_statement"
            | "case_clause"
            | "ERROR" => {
                targets_of_as(child, source, names);
                bind_statements(child, source, names)?;
            }
            _ => {}
        }
    }
    Some(())
}

/// Names bound by an import statement; `None` for a star import.
fn import_names(node: Node<'_>, source: &str, names: &mut HashSet<String>) -> Option<()> {
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        if child.kind() == "wildcard_import" {
            return None;
        }
    }
    let from = node.kind() != "import_statement";
    for name in node.children_by_field_name("name", &mut cursor) {
        let bound = match name.kind() {
            "aliased_import" => name.child_by_field_name("alias").map(|a| text(a, source)),
            _ if from => Some(text(name, source)),
            // `import a.b` binds `a`.
            _ => text(name, source).split('.').next(),
        };
        if let Some(bound) = bound {
            names.insert(bound.trim().to_string());
        }
    }
    Some(())
}

/// Identifiers bound by assignments in an expression statement (`a = b = 1`, `x, *y = …`,
/// `n: int`, `v += 1`, `(w := 2)`).
fn targets(node: Node<'_>, source: &str, names: &mut HashSet<String>) {
    match node.kind() {
        "identifier" => {
            names.insert(text(node, source).to_string());
        }
        "assignment" | "augmented_assignment" => {
            if let Some(left) = node.child_by_field_name("left") {
                targets(left, source, names);
            }
            if let Some(right) = node.child_by_field_name("right") {
                targets(right, source, names);
            }
        }
        "named_expression" => {
            if let Some(name) = node.child_by_field_name("name") {
                targets(name, source, names);
            }
        }
        "pattern_list"
        | "tuple_pattern"
        | "list_pattern"
        | "list_splat_pattern"
        | "expression_statement"
        | "parenthesized_expression"
        | "tuple"
        | "list"
        | "type" => {
            let mut cursor = node.walk();
            for child in node.named_children(&mut cursor) {
                targets(child, source, names);
            }
        }
        _ => {}
    }
}

/// `with … as name` and `except … as name`.
fn targets_of_as(node: Node<'_>, source: &str, names: &mut HashSet<String>) {
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        match child.kind() {
            "as_pattern" => {
                if let Some(alias) = child.child_by_field_name("alias") {
                    targets(alias, source, names);
                    let mut inner = alias.walk();
                    for part in alias.named_children(&mut inner) {
                        targets(part, source, names);
                    }
                }
            }
            "with_clause" | "with_item" => targets_of_as(child, source, names),
            _ => {}
        }
    }
}

/// Names a function declares `global`: assigning them binds them in the module.
fn globals(root: Node<'_>, source: &str, names: &mut HashSet<String>) {
    let mut stack = vec![root];
    let mut cursor = root.walk();
    while let Some(node) = stack.pop() {
        if node.kind() == "global_statement" {
            let mut inner = node.walk();
            for name in node.named_children(&mut inner) {
                names.insert(text(name, source).to_string());
            }
            continue;
        }
        stack.extend(node.named_children(&mut cursor));
    }
}

fn text<'s>(node: Node<'_>, source: &'s str) -> &'s str {
    node.utf8_text(source.as_bytes()).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_level_names_of_every_binding_form() {
        let source = "\
import os.path
import numpy as np
from a import b, c as d
x = y = 1
(p, [q, *r]) = 1, [2, 3, 4]
n: int
v += 1
def f(): global g; g = 1
class K: inner = 1
if True:
    z = 1
else:
    from e import w
try:
    import t
except ImportError as err:
    t = None
with open('f') as (fh, gh):
    pass
for i, j in []:
    pass
@decorator
def decorated(): pass
type Alias = int
";
        let names = top_level_names("m.py", source).unwrap();
        for name in [
            "os",
            "np",
            "b",
            "d",
            "x",
            "y",
            "p",
            "q",
            "r",
            "n",
            "v",
            "f",
            "g",
            "K",
            "z",
            "w",
            "t",
            "err",
            "fh",
            "gh",
            "i",
            "j",
            "decorated",
            "Alias",
        ] {
            assert!(names.contains(name), "{name} missing from {names:?}");
        }
        assert!(!names.contains("inner") && !names.contains("numpy") && !names.contains("c"));
    }

    #[test]
    fn dynamic_modules_are_unknowable() {
        assert!(top_level_names("m.py", "from a import *\n").is_none());
        assert!(top_level_names("m.py", "def __getattr__(name): ...\n").is_none());
        assert!(top_level_names("m.py", "globals()['x'] = 1\n").is_none());
        assert!(top_level_names("m.py", "globals().update(x=1)\n").is_none());
        assert!(top_level_names("m.py", "import sys\nsys.modules[__name__] = X()\n").is_none());
        let reads = "import sys\nm = sys.modules['os']\nn = dict(globals())\n";
        assert!(top_level_names("m.py", reads).is_some());
        assert!(top_level_names("m.pyx", "x = 1\n").is_none());
    }

    #[test]
    fn resolves_packages_modules_and_namespace_packages() {
        let paths: Vec<String> = ["src/pkg/__init__.py", "src/pkg/mod.py", "ns/sub/leaf.py"]
            .iter()
            .map(|s| (*s).to_string())
            .collect();
        let index = Index::new(&paths, &[]);
        assert_eq!(index.resolve("src", &["pkg", "mod"]).0, 2);
        assert_eq!(index.resolve("src", &["pkg", "nope"]).0, 1);
        assert_eq!(index.resolve("src", &["pkg", "mod", "deeper"]).0, 2);
        assert_eq!(index.resolve("", &["ns", "sub", "leaf"]).0, 3);
        assert!(index.exists_anywhere("pkg") && index.exists_anywhere("leaf"));
        assert_eq!(index.children("src/pkg"), ["__init__", "mod"]);
        let installed: Vec<String> = [
            "env/pyvenv.cfg",
            "env/lib/numpy/__init__.py",
            "x/lib/python3.11/site-packages/yaml/__init__.py",
        ]
        .iter()
        .map(|s| (*s).to_string())
        .collect();
        let index = Index::new(&installed, &[]);
        assert!(!index.exists_anywhere("numpy") && !index.exists_anywhere("yaml"));
    }
}
