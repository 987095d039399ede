//! Name rules: what a decorator resolves to (`typing.overload`, the `staticmethod` and
//! `classmethod` builtins), dunders, dummy names and private modules.

use std::collections::HashMap;

use tree_sitter::Node;

use super::kinds::Fields;

/// What a name in a scope is bound to, as far as decorator resolution cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Binding<'a> {
    /// `import a.b as x` binds `x` to `a.b`; `import a.b` binds `a` to `a`.
    Module(&'a str),
    /// `from a.b import c [as x]` binds `x` to `a.b` . `c`.
    Member(&'a str, &'a str),
    /// Anything else (an assignment, a def, a relative import): resolves to nothing we know.
    Other,
}

/// The bindings of one scope, in the state reached so far in source order.
#[derive(Debug, Default)]
pub(super) struct Bindings<'a> {
    map: HashMap<&'a str, Binding<'a>>,
    /// A class body: its names are visible only to code directly in it.
    pub is_class: bool,
}

/// Names whose rebinding changes what a decorator means even without an import.
const BUILTIN_DECORATORS: [&str; 2] = ["staticmethod", "classmethod"];

impl<'a> Bindings<'a> {
    pub(super) fn class() -> Self {
        Bindings {
            map: HashMap::new(),
            is_class: true,
        }
    }

    pub(super) fn get(&self, name: &str) -> Option<Binding<'a>> {
        self.map.get(name).copied()
    }

    pub(super) fn bind(&mut self, name: &'a str, binding: Binding<'a>) {
        self.map.insert(name, binding);
    }

    /// Records a non-import binding (assignment, def, class) when it can shadow something that
    /// matters: an import already recorded, or a builtin decorator.
    pub(super) fn shadow(&mut self, name: &'a str) {
        if self.map.contains_key(name) || BUILTIN_DECORATORS.contains(&name) {
            self.map.insert(name, Binding::Other);
        }
    }

    /// Records the names bound by an `import` or `from … import` statement.
    pub(super) fn record_import(&mut self, node: Node<'_>, src: &'a str, f: &Fields) {
        let text = |n: Node<'_>| src.get(n.byte_range()).unwrap_or("");
        let mut cursor = node.walk();
        if node.kind() == "import_statement" {
            for name in node.children_by_field_id(f.name, &mut cursor) {
                if name.kind() == "aliased_import" {
                    let (Some(path), Some(alias)) = (
                        name.child_by_field_id(f.name.get()),
                        name.child_by_field_id(f.alias.get()),
                    ) else {
                        continue;
                    };
                    self.bind(text(alias), Binding::Module(text(path)));
                } else {
                    let path = text(name);
                    let head = path.split('.').next().unwrap_or(path).trim();
                    self.bind(head, Binding::Module(head));
                }
            }
            return;
        }
        let module = node.child_by_field_id(f.module_name.get());
        let relative = module.is_none_or(|m| m.kind() == "relative_import");
        let module = module.map_or("", text);
        for name in node.children_by_field_id(f.name, &mut cursor) {
            let (member, alias) = if name.kind() == "aliased_import" {
                let member = name.child_by_field_id(f.name.get()).map_or("", text);
                (
                    member,
                    name.child_by_field_id(f.alias.get()).map_or(member, text),
                )
            } else {
                (text(name), text(name))
            };
            let binding = if relative {
                Binding::Other
            } else {
                Binding::Member(module, member)
            };
            self.bind(alias, binding);
        }
    }
}

/// The decorators ruff recognises for flake8-annotations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Known {
    Overload,
    StaticMethod,
    ClassMethod,
}

/// Resolves a `Name` or `a.b.c` decorator expression the way ruff's semantic model does: the
/// head name through the scopes from the innermost out (enclosing class bodies skipped), an
/// unbound head being a builtin. `segments` are the dotted parts of the expression; `scopes`
/// runs from the module's to the innermost.
pub(super) fn resolve(segments: &[&str], scopes: &[Bindings<'_>]) -> Option<Known> {
    let (head, rest) = segments.split_first()?;
    let innermost = scopes.len().saturating_sub(1);
    let binding = scopes
        .iter()
        .enumerate()
        .rev()
        .filter(|(i, scope)| *i == innermost || !scope.is_class)
        .find_map(|(_, scope)| scope.get(head));
    match binding {
        None => match (segments, *head) {
            ([_], "staticmethod") => Some(Known::StaticMethod),
            ([_], "classmethod") => Some(Known::ClassMethod),
            _ => None,
        },
        Some(Binding::Other) => None,
        Some(Binding::Module(path)) => {
            known(path.split('.').map(str::trim).chain(rest.iter().copied()))
        }
        Some(Binding::Member(module, member)) => known(
            module
                .split('.')
                .map(str::trim)
                .chain([member])
                .chain(rest.iter().copied()),
        ),
    }
}

fn known<'s>(mut qualified: impl Iterator<Item = &'s str>) -> Option<Known> {
    let (Some(module), Some(member), None) = (qualified.next(), qualified.next(), qualified.next())
    else {
        return None;
    };
    match (module, member) {
        ("typing" | "typing_extensions" | "_typeshed", "overload") => Some(Known::Overload),
        ("builtins", "staticmethod") => Some(Known::StaticMethod),
        ("builtins", "classmethod") => Some(Known::ClassMethod),
        _ => None,
    }
}

/// ruff's `is_magic`: starts and ends with `__` (so `__` itself counts).
pub(super) fn is_magic(name: &str) -> bool {
    name.starts_with("__") && name.ends_with("__")
}

/// ruff's default `dummy-variable-rgx`, `^(_+|(_+[\p{XID_Continue}]*[\p{XID_Continue}--_]+?))$`,
/// for a name that is already an identifier: underscores only, or a leading underscore and a
/// last character that is not one.
pub(super) fn is_dummy(name: &str) -> bool {
    name.starts_with('_') && (name.bytes().all(|b| b == b'_') || !name.ends_with('_'))
}

/// Whether a module is private, as ruff decides it from the module path: the file itself named
/// `_x` (but not a dunder such as `__init__`), or a package on its module path named so. The
/// module path runs up from the file through the directories that are packages (have an
/// `__init__.py`, which `is_package` answers for a directory path) and stops at the first that
/// is not.
pub(super) fn is_private_module(path: &str, is_package: impl Fn(&str) -> bool) -> bool {
    let private = |component: &str| {
        let stem = component
            .rfind('.')
            .filter(|&i| i > 0)
            .map_or(component, |i| &component[..i]);
        stem.starts_with('_') && !is_magic(stem)
    };
    let (mut dir, file) = path.rsplit_once('/').unwrap_or(("", path));
    if private(file) {
        return true;
    }
    while !dir.is_empty() && is_package(dir) {
        let (parent, name) = dir.rsplit_once('/').unwrap_or(("", dir));
        if private(name) {
            return true;
        }
        dir = parent;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dummy_names_follow_ruffs_default_regex() {
        for yes in ["_", "__", "_x", "__x", "_unused1", "_é"] {
            assert!(is_dummy(yes), "{yes}");
        }
        for no in ["x", "x_", "_x_", "__init__", "self"] {
            assert!(!is_dummy(no), "{no}");
        }
    }

    #[test]
    fn private_modules_by_path_component() {
        let all = |_: &str| true;
        assert!(is_private_module("pkg/_impl.py", all));
        assert!(is_private_module("pkg/_vendor/lib/mod.py", all));
        assert!(!is_private_module("pkg/__init__.py", all));
        assert!(!is_private_module("pkg/__main__.py", all));
        assert!(!is_private_module("src/pkg/mod.pyi", all));
        assert!(!is_private_module("pkg/.hidden/mod.py", all));
        // Only packages are on the module path: `docs/_ext` without `__init__.py` is not one.
        let none = |_: &str| false;
        assert!(!is_private_module("docs/_ext/ext.py", none));
        assert!(is_private_module("docs/_ext.py", none));
        // The module path stops at the first directory that is not a package.
        let only_inner = |dir: &str| dir == "_vendor/pkg";
        assert!(!is_private_module("_vendor/pkg/mod.py", only_inner));
        let both = |dir: &str| dir == "_vendor/pkg" || dir == "_vendor";
        assert!(is_private_module("_vendor/pkg/mod.py", both));
    }

    #[test]
    fn resolves_imports_aliases_and_builtins() {
        let mut global = Bindings::default();
        global.bind("t", Binding::Module("typing"));
        global.bind("ov", Binding::Member("typing_extensions", "overload"));
        global.bind("bi", Binding::Module("builtins"));
        let scopes = [global];
        assert_eq!(resolve(&["t", "overload"], &scopes), Some(Known::Overload));
        assert_eq!(resolve(&["ov"], &scopes), Some(Known::Overload));
        assert_eq!(resolve(&["overload"], &scopes), None);
        assert_eq!(
            resolve(&["staticmethod"], &scopes),
            Some(Known::StaticMethod)
        );
        assert_eq!(
            resolve(&["bi", "classmethod"], &scopes),
            Some(Known::ClassMethod)
        );
        let [global] = scopes;
        let mut class = Bindings::class();
        class.shadow("staticmethod");
        let scopes = [global, class, Bindings::class()];
        // The outer class body is not visible from the inner one.
        assert_eq!(
            resolve(&["staticmethod"], &scopes),
            Some(Known::StaticMethod)
        );
        assert_eq!(resolve(&["staticmethod"], &scopes[..2]), None);
    }
}
