//! `__all__`: the names a module exports, collected the way ruff builds its `Export` bindings.

use tree_sitter::{Node, TreeCursor};

use super::kinds::Fields;

/// The names of every `__all__` assignment in module scope (`=`, `+=`, annotated), or `None`
/// when the module has none. An `__all__` that is not a literal still counts, with no names:
/// then no module-level function is public, as in ruff.
pub(super) fn module_exports(root: Node<'_>, src: &str, f: &Fields) -> Option<Vec<String>> {
    if !src.contains("__all__") {
        return None;
    }
    let mut exports: Option<Vec<String>> = None;
    let mut cursor = root.walk();
    scan(&mut cursor, src, f, &mut exports);
    exports
}

/// Scans the statements under the cursor's node, descending into compound statements but not
/// into functions or classes (their scopes are not the module's).
fn scan(cursor: &mut TreeCursor<'_>, src: &str, f: &Fields, exports: &mut Option<Vec<String>>) {
    if !cursor.goto_first_child() {
        return;
    }
    loop {
        let node = cursor.node();
        match node.kind() {
            "expression_statement" => {
                if let Some(assignment) = node.named_child(0) {
                    dunder_all(assignment, src, f, exports);
                }
            }
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
            | "case_clause" => scan(cursor, src, f, exports),
            _ => {}
        }
        if !cursor.goto_next_sibling() {
            break;
        }
    }
    cursor.goto_parent();
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
    node.utf8_text(src.as_bytes()).unwrap_or("")
}
