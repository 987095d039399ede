//! The module-scope pre-pass: `__all__` (the names a module exports, collected the way ruff
//! builds its `Export` bindings) and whether `staticmethod`/`classmethod` are rebound.

use tree_sitter::{Node, TreeCursor};

use super::kinds::Fields;

/// What ruff decides from the module scope as it stands after the whole file.
#[derive(Debug, Default)]
pub(super) struct ModuleScope {
    /// The names of every `__all__` assignment in module scope (`=`, `+=`, annotated), or
    /// `None` when the module has none. An `__all__` that is not a literal still counts, with
    /// no names: then no module-level function is public, as in ruff.
    pub exports: Option<Vec<String>>,
    /// `staticmethod` / `classmethod` bound in module scope (assigned, imported, defined).
    pub rebound_static: bool,
    pub rebound_class: bool,
    /// `import builtins` or `from builtins import …` at module level.
    pub builtins_imported: bool,
}

/// Scans the module's own statements (compound statements included, function and class
/// bodies not: their scopes are not the module's).
pub(super) fn module_scope(root: Node<'_>, src: &str, f: &Fields) -> ModuleScope {
    let mut scope = ModuleScope::default();
    let mut cursor = root.walk();
    scan(&mut cursor, src, f, &mut scope);
    scope
}

fn scan(cursor: &mut TreeCursor<'_>, src: &str, f: &Fields, scope: &mut ModuleScope) {
    if !cursor.goto_first_child() {
        return;
    }
    loop {
        let node = cursor.node();
        match node.kind() {
            "expression_statement" => {
                if let Some(assignment) = node.named_child(0) {
                    assigned(assignment, src, f, scope);
                    dunder_all(assignment, src, f, &mut scope.exports);
                }
            }
            "function_definition" | "class_definition" => {
                bound(node.child_by_field_id(f.name.get()), src, scope)
            }
            "decorated_definition" => {
                let definition = node.child_by_field_id(f.definition.get());
                bound(
                    definition.and_then(|d| d.child_by_field_id(f.name.get())),
                    src,
                    scope,
                );
            }
            "import_statement" | "import_from_statement" => imported(node, src, f, scope),
            "block"
            | "if_statement"
            | "for_statement"
            | "while_statement"
            | "try_statement"
            | "with_statement"
            | "match_statement"
            | "elif_clause"
            | "else_clause"
            | "except_clause"
            | "except_group_clause"
            | "finally_clause"
            | "case_clause" => scan(cursor, src, f, scope),
            _ => {}
        }
        if !cursor.goto_next_sibling() {
            break;
        }
    }
    cursor.goto_parent();
}

fn bound(name: Option<Node<'_>>, src: &str, scope: &mut ModuleScope) {
    match name.map(|n| text(n, src)) {
        Some("staticmethod") => scope.rebound_static = true,
        Some("classmethod") => scope.rebound_class = true,
        _ => {}
    }
}

fn assigned(mut node: Node<'_>, src: &str, f: &Fields, scope: &mut ModuleScope) {
    while node.kind() == "assignment" {
        bound(
            node.child_by_field_id(f.left.get())
                .filter(|l| l.kind() == "identifier"),
            src,
            scope,
        );
        match node.child_by_field_id(f.right.get()) {
            Some(right) => node = right,
            None => return,
        }
    }
}

fn imported(node: Node<'_>, src: &str, f: &Fields, scope: &mut ModuleScope) {
    let mut cursor = node.walk();
    let from = node.kind() == "import_from_statement";
    if from
        && node
            .child_by_field_id(f.module_name.get())
            .is_some_and(|m| text(m, src) == "builtins")
    {
        scope.builtins_imported = true;
    }
    for name in node.children_by_field_id(f.name, &mut cursor) {
        let (path, alias) = match name.kind() {
            "aliased_import" => (
                name.child_by_field_id(f.name.get()),
                name.child_by_field_id(f.alias.get()),
            ),
            _ => (Some(name), None),
        };
        let path = path.map_or("", |p| text(p, src));
        if !from && path == "builtins" {
            scope.builtins_imported = true;
        }
        // `import a.b` binds `a`, but a dotted name is never `staticmethod` anyway.
        bound(Some(alias.unwrap_or(name)), src, scope);
    }
}

fn dunder_all(assignment: Node<'_>, src: &str, f: &Fields, exports: &mut Option<Vec<String>>) {
    if !matches!(assignment.kind(), "assignment" | "augmented_assignment") {
        return;
    }
    let Some(left) = assignment.child_by_field_id(f.left.get()) else {
        return;
    };
    if left.kind() != "identifier" || text(left, src) != "__all__" {
        return;
    }
    let mut value = assignment.child_by_field_id(f.right.get());
    // `__all__ = x = [...]`: ruff looks at the assigned value, the last right-hand side.
    while let Some(v) = value.filter(|v| v.kind() == "assignment") {
        value = v.child_by_field_id(f.right.get());
    }
    // `__all__: list[str]` alone binds nothing.
    if let Some(value) = value {
        add_value(value, src, f, exports.get_or_insert_with(Vec::new));
    }
}

/// `[...]`, `(...)`, `a + b + …` of those, `list((...))`/`tuple([...])`, `(x := [...])`.
fn add_value(value: Node<'_>, src: &str, f: &Fields, names: &mut Vec<String>) {
    match value.kind() {
        "list" | "tuple" | "expression_list" => add_elements(value, src, names),
        "parenthesized_expression" => {
            if let Some(inner) = value.named_child(0) {
                add_value(inner, src, f, names);
            }
        }
        "binary_operator" => {
            for side in [f.left, f.right] {
                if let Some(operand) = value.child_by_field_id(side.get()) {
                    add_value(operand, src, f, names);
                }
            }
        }
        "named_expression" => {
            if let Some(inner) = value.child_by_field_id(f.value.get()) {
                add_value(inner, src, f, names);
            }
        }
        "call" => {
            let callee = value
                .child_by_field_id(f.function.get())
                .map(|c| text(c, src));
            let args = value.child_by_field_id(f.arguments.get());
            if let (Some("list" | "tuple"), Some(args)) = (callee, args)
                && args.named_child_count() == 1
                && let Some(arg) = args.named_child(0)
                && matches!(arg.kind(), "list" | "tuple" | "set")
            {
                add_elements(arg, src, names);
            }
        }
        _ => {}
    }
}

fn add_elements(seq: Node<'_>, src: &str, names: &mut Vec<String>) {
    let mut cursor = seq.walk();
    for element in seq.named_children(&mut cursor) {
        if let Some(name) = string_literal(element, src) {
            names.push(name);
        }
    }
}

/// The value of a plain string literal (implicit concatenation included; not f-, t- or bytes).
fn string_literal(node: Node<'_>, src: &str) -> Option<String> {
    let mut value = String::new();
    match node.kind() {
        "string" => append_string(node, src, &mut value)?,
        "concatenated_string" => {
            let mut cursor = node.walk();
            for part in node.named_children(&mut cursor) {
                append_string(part, src, &mut value)?;
            }
        }
        _ => return None,
    }
    Some(value)
}

fn append_string(node: Node<'_>, src: &str, value: &mut String) -> Option<()> {
    if node.kind() != "string" {
        return None;
    }
    let mut cursor = node.walk();
    for part in node.named_children(&mut cursor) {
        match part.kind() {
            "string_start" => {
                let prefix = text(part, src);
                if prefix
                    .chars()
                    .any(|c| matches!(c, 'f' | 'F' | 'b' | 'B' | 't' | 'T'))
                {
                    return None;
                }
            }
            "string_content" => value.push_str(text(part, src)),
            "interpolation" => return None,
            _ => {}
        }
    }
    Some(())
}

fn text<'s>(node: Node<'_>, src: &'s str) -> &'s str {
    src.get(node.byte_range()).unwrap_or("")
}
