//! One function definition: its parameters and return annotation against ruff's ANN0xx/ANN2xx
//! rules, given how the walk classified it (method, visibility, static/class method).

use tree_sitter::{Node, TreeCursor};

use super::Options;
use super::infer;
use super::kinds::Fields;
use super::names::{is_dummy, is_magic};
use super::report::{Code, Reporter};

/// A `def` as the walk classified it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Def<'t> {
    pub node: Node<'t>,
    pub name: Node<'t>,
    /// Defined directly in a class body (under `if`/`try` included).
    pub is_method: bool,
    /// ruff's visibility: private names, nested functions, setters, not in `__all__`, …
    pub private: bool,
    pub is_static: bool,
    pub is_class: bool,
}

/// What the parameter list contained, for the return rules and `ignore-fully-untyped`.
#[derive(Debug, Default, Clone, Copy)]
struct Params {
    any_typed: bool,
    first_positional_typed: bool,
}

/// Reports the missing annotations of `def` (nothing when `ignore-fully-untyped` applies).
pub(super) fn check<'t>(
    def: &Def<'t>,
    options: Options,
    f: &Fields,
    cursor: &mut TreeCursor<'t>,
    rep: &mut Reporter<'_, '_>,
) {
    let start = rep.len();
    let params = match def.node.child_by_field_id(f.parameters.get()) {
        Some(list) => parameters(def, list, options, f, cursor, rep),
        None => Params::default(),
    };
    let typed_return = def.node.child_by_field_id(f.return_type.get()).is_some();
    if !typed_return {
        let none_only = options.suppress_none_returning
            && def
                .node
                .child_by_field_id(f.body.get())
                .is_none_or(|body| is_none_returning(body, cursor));
        if !none_only {
            return_rule(def, &params, options, rep);
        }
    }
    let keep = !options.ignore_fully_untyped
        || params.any_typed
        || typed_return
        || (def.is_method && !def.is_static && params.first_positional_typed);
    if !keep {
        rep.truncate(start);
    }
}

fn parameters<'t>(
    def: &Def<'t>,
    list: Node<'t>,
    options: Options,
    f: &Fields,
    cursor: &mut TreeCursor<'t>,
    rep: &mut Reporter<'_, '_>,
) -> Params {
    let mut params = Params::default();
    // ruff skips the first of posonly + args + kwonly parameters of a non-static method.
    let mut skip = def.is_method && !def.is_static;
    let mut positional = true;
    let mut first_positional = true;
    cursor.reset(list);
    if !cursor.goto_first_child() {
        return params;
    }
    loop {
        let node = cursor.node();
        let (kind, typed) = match node.kind() {
            "typed_parameter" => (node.named_child(0).map_or("identifier", |n| n.kind()), true),
            "typed_default_parameter" => ("identifier", true),
            "identifier" | "default_parameter" => ("identifier", false),
            "list_splat_pattern" => ("list_splat_pattern", false),
            "dictionary_splat_pattern" => ("dictionary_splat_pattern", false),
            "keyword_separator" => {
                positional = false;
                ("", false)
            }
            _ => ("", false),
        };
        match kind {
            "identifier" => {
                if positional && std::mem::take(&mut first_positional) {
                    params.first_positional_typed = typed;
                }
                if !std::mem::take(&mut skip) {
                    params.any_typed |= typed;
                    let name = match node.kind() {
                        "identifier" => Some(node),
                        "typed_parameter" => node.named_child(0),
                        _ => node.child_by_field_id(f.name.get()),
                    };
                    if let (false, Some(name)) = (typed, name) {
                        let evident = infer::default_type(node, rep.file.source);
                        report_param(rep, Code::Ann001, name, name, options, evident);
                    }
                }
            }
            "list_splat_pattern" | "dictionary_splat_pattern" => {
                positional &= kind != "list_splat_pattern";
                params.any_typed |= typed;
                let code = if kind == "list_splat_pattern" {
                    Code::Ann002
                } else {
                    Code::Ann003
                };
                if let (false, Some(name)) = (typed, node.named_child(0)) {
                    report_param(rep, code, node, name, options, None);
                }
            }
            _ => {}
        }
        if !cursor.goto_next_sibling() {
            break;
        }
    }
    params
}

fn report_param(
    rep: &mut Reporter<'_, '_>,
    code: Code,
    at: Node<'_>,
    name: Node<'_>,
    options: Options,
    evident: Option<&str>,
) {
    let name_text = rep.text(name);
    if options.suppress_dummy_args && is_dummy(name_text) {
        return;
    }
    rep.report(code, at, name, evident);
}

fn return_rule(def: &Def<'_>, params: &Params, options: Options, rep: &mut Reporter<'_, '_>) {
    let name = rep.text(def.name);
    let code = if def.is_method && def.is_class {
        Code::Ann206
    } else if def.is_method && def.is_static {
        Code::Ann205
    } else if def.is_method && name == "__init__" {
        if options.mypy_init_return && params.any_typed {
            return;
        }
        Code::Ann204
    } else if def.is_method && is_magic(name) {
        Code::Ann204
    } else if def.private {
        Code::Ann202
    } else {
        Code::Ann201
    };
    let evident = def
        .node
        .child_by_field_name("body")
        .and_then(|body| infer::return_type(body, rep.file.source));
    rep.report(code, def.name, def.name, evident.as_deref());
}

/// ruff's `is_none_returning`: every `return` in the body (not in nested defs or classes) is
/// bare or returns the `None` literal.
fn is_none_returning<'t>(block: Node<'t>, cursor: &mut TreeCursor<'t>) -> bool {
    cursor.reset(block);
    let mut depth = 0usize;
    loop {
        let node = cursor.node();
        let descend = match node.kind() {
            "return_statement" => {
                if !returns_none(node) {
                    return false;
                }
                false
            }
            "function_definition" | "class_definition" | "decorated_definition" => false,
            kind => depth == 0 || is_statement_container(kind),
        };
        if descend && cursor.goto_first_child() {
            depth += 1;
            continue;
        }
        loop {
            if depth == 0 {
                return true;
            }
            if cursor.goto_next_sibling() {
                break;
            }
            cursor.goto_parent();
            depth -= 1;
        }
    }
}

fn returns_none(ret: Node<'_>) -> bool {
    let mut value = match first_named(ret) {
        None => return true,
        Some(v) => v,
    };
    while value.kind() == "parenthesized_expression" {
        match first_named(value) {
            Some(inner) => value = inner,
            None => return false,
        }
    }
    value.kind() == "none"
}

/// Nodes whose children may be statements: blocks, compound statements and their clauses.
pub(super) fn is_statement_container(kind: &str) -> bool {
    matches!(
        kind,
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
            | "case_clause"
    )
}

/// The first named child that is not a comment.
pub(super) fn first_named(node: Node<'_>) -> Option<Node<'_>> {
    let mut child = node.named_child(0);
    while let Some(c) = child.filter(|c| c.kind() == "comment") {
        child = c.next_named_sibling();
    }
    child
}
