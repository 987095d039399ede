//! Finding the imports of a Python file: `import a.b [as c]`, `from [.]a import b`, relative
//! imports, function-local ones, and `importlib.import_module("literal")` / `__import__("literal")`.

use tree_sitter::Node;

/// One imported module, as written.
pub struct Import<'t> {
    /// The node naming the module (reported for module-level problems).
    pub node: Node<'t>,
    /// The dotted module path, without the leading dots of a relative import ("" for `from . import x`).
    pub module: String,
    /// The number of leading dots: 0 for an absolute import.
    pub level: usize,
    /// `from … import name`: each imported name and its node; empty for `import a.b` and `*`.
    pub names: Vec<(String, Node<'t>)>,
    /// Inside a `try` whose handlers catch `ImportError` (an optional dependency), in its body,
    /// a handler or its `else:`.
    pub guarded: bool,
    /// Under `if TYPE_CHECKING:` (seen by type checkers only).
    pub type_checking: bool,
    /// Inside a function: runs when the function is called, not when the module is imported.
    pub lazy: bool,
}

/// Where a statement sits.
#[derive(Clone, Copy, Default)]
struct Context {
    guarded: bool,
    type_checking: bool,
    lazy: bool,
}

/// Every import of the file rooted at `root`, in source order.
pub fn collect<'t>(root: Node<'t>, source: &str) -> Vec<Import<'t>> {
    let mut out = Vec::new();
    statements(root, source, Context::default(), &mut out);
    if source.contains("import_module") || source.contains("__import__") {
        // A bare `import_module(…)` is importlib's only when the file imports it from there
        // (sympy has its own `import_module` that returns None for a missing module).
        let bare = source.contains("from importlib import import_module");
        dynamic(root, source, bare, &mut out);
        out.sort_by_key(|i| i.node.start_byte());
    }
    out
}

/// Walks statements only: imports are statements, so expressions are never entered.
fn statements<'t>(node: Node<'t>, source: &str, ctx: Context, out: &mut Vec<Import<'t>>) {
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        match child.kind() {
            "import_statement" => import_statement(child, source, ctx, out),
            "import_from_statement" => from_statement(child, source, ctx, out),
            "try_statement" => {
                let guards = catches_import_error(child, source);
                let mut inner = child.walk();
                for part in child.named_children(&mut inner) {
                    // The body, the handlers (a fallback import) and `else:` are alternatives
                    // that depend on what is installed; `finally:` is not.
                    let in_body = part.kind() != "finally_clause";
                    let guarded = ctx.guarded || (guards && in_body);
                    statements(part, source, Context { guarded, ..ctx }, out);
                }
            }
            "if_statement" if is_type_checking(child, source) => {
                let mut inner = child.walk();
                for part in child.named_children(&mut inner) {
                    let type_checking = ctx.type_checking || part.kind() == "block";
                    statements(
                        part,
                        source,
                        Context {
                            type_checking,
                            ..ctx
                        },
                        out,
                    );
                }
            }
            // `with pytest.raises(ImportError):` expects the import to fail.
            "with_statement" if expects_import_error(child, source) => {}
            "function_definition" => {
                let lazy = Context { lazy: true, ..ctx };
                statements(child, source, lazy, out);
            }
            "module"
            | "block"
            | "if_statement"
            | "elif_clause"
            | "else_clause"
            | "for_statement"
            | "while_statement"
            | "except_clause"
            | "except_group_clause"
            | "finally_clause"
            | "with_statement"
            | "class_definition"
            | "decorated_definition"
            | "match_statement"
            | "case_clause"
            | "ERROR" => statements(child, source, ctx, out),
            _ => {}
        }
    }
}

/// `if TYPE_CHECKING:` / `if typing.TYPE_CHECKING:` (its first branch).
fn is_type_checking(if_node: Node<'_>, source: &str) -> bool {
    if_node
        .child_by_field_name("condition")
        .is_some_and(|c| text(c, source).trim().ends_with("TYPE_CHECKING"))
}

/// `with raises(ImportError):` and the like: a test that the import fails.
fn expects_import_error(with: Node<'_>, source: &str) -> bool {
    let Some(clause) = with.named_child(0) else {
        return false;
    };
    let text = text(clause, source);
    text.contains("raises")
        && (text.contains("ImportError") || text.contains("ModuleNotFoundError"))
}

/// Whether one of a `try`'s handlers catches `ImportError` (or a base of it, or everything).
fn catches_import_error(try_node: Node<'_>, source: &str) -> bool {
    let mut cursor = try_node.walk();
    try_node.named_children(&mut cursor).any(|clause| {
        if !matches!(clause.kind(), "except_clause" | "except_group_clause") {
            return false;
        }
        // The caught expression is everything before the clause's block.
        let mut inner = clause.walk();
        let caught: Vec<Node<'_>> = clause
            .named_children(&mut inner)
            .take_while(|n| n.kind() != "block")
            .collect();
        caught.is_empty()
            || caught.iter().any(|n| {
                let text = n.utf8_text(source.as_bytes()).unwrap_or("");
                ["ImportError", "ModuleNotFoundError", "Exception"]
                    .iter()
                    .any(|name| text.contains(name))
            })
    })
}

fn import_statement<'t>(node: Node<'t>, source: &str, ctx: Context, out: &mut Vec<Import<'t>>) {
    let mut cursor = node.walk();
    for name in node.children_by_field_name("name", &mut cursor) {
        let dotted = if name.kind() == "aliased_import" {
            match name.child_by_field_name("name") {
                Some(n) => n,
                None => continue,
            }
        } else {
            name
        };
        out.push(Import {
            node: dotted,
            module: dotted_text(dotted, source),
            level: 0,
            names: Vec::new(),
            guarded: ctx.guarded,
            type_checking: ctx.type_checking,
            lazy: ctx.lazy,
        });
    }
}

fn from_statement<'t>(node: Node<'t>, source: &str, ctx: Context, out: &mut Vec<Import<'t>>) {
    let Some(module) = node.child_by_field_name("module_name") else {
        return;
    };
    let (module_text, level) = if module.kind() == "relative_import" {
        let mut level = 0;
        let mut dotted = String::new();
        let mut cursor = module.walk();
        for part in module.children(&mut cursor) {
            match part.kind() {
                "import_prefix" => level += text(part, source).matches('.').count(),
                "dotted_name" => dotted = dotted_text(part, source),
                _ => {}
            }
        }
        (dotted, level)
    } else {
        (dotted_text(module, source), 0)
    };
    let mut names = Vec::new();
    let mut cursor = node.walk();
    for name in node.children_by_field_name("name", &mut cursor) {
        let target = if name.kind() == "aliased_import" {
            match name.child_by_field_name("name") {
                Some(n) => n,
                None => continue,
            }
        } else {
            name
        };
        names.push((dotted_text(target, source), target));
    }
    out.push(Import {
        node: module,
        module: module_text,
        level,
        names,
        guarded: ctx.guarded,
        type_checking: ctx.type_checking,
        lazy: ctx.lazy,
    });
}

/// `importlib.import_module("a.b")`, `import_module("a.b")` and `__import__("a.b")` with a
/// plain string literal; relative names (`".x"`, which need `package=`) are left alone.
fn dynamic<'t>(root: Node<'t>, source: &str, bare: bool, out: &mut Vec<Import<'t>>) {
    let mut cursor = root.walk();
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        if node.kind() == "call"
            && let Some(import) = dynamic_call(node, source, bare)
        {
            out.push(import);
        }
        for child in node.named_children(&mut cursor) {
            stack.push(child);
        }
    }
}

fn dynamic_call<'t>(call: Node<'t>, source: &str, bare: bool) -> Option<Import<'t>> {
    let function = call.child_by_field_name("function")?;
    let name = match function.kind() {
        "identifier" if bare || text(function, source) == "__import__" => text(function, source),
        "attribute" => {
            let object = function.child_by_field_name("object")?;
            if text(object, source) != "importlib" {
                return None;
            }
            text(function.child_by_field_name("attribute")?, source)
        }
        _ => return None,
    };
    if name != "import_module" && name != "__import__" {
        return None;
    }
    let arguments = call.child_by_field_name("arguments")?;
    let first = arguments.named_child(0)?;
    if first.kind() != "string" {
        return None;
    }
    let mut cursor = first.walk();
    let parts: Vec<Node<'_>> = first.named_children(&mut cursor).collect();
    // string_start, string_content, string_end: anything else (interpolation) is not a literal.
    let content = match parts.as_slice() {
        [start, content, _] if content.kind() == "string_content" => {
            let prefix = text(*start, source).to_ascii_lowercase();
            if prefix.contains('f') || prefix.contains('b') {
                return None;
            }
            *content
        }
        _ => return None,
    };
    let module = text(content, source);
    let valid = !module.is_empty()
        && module
            .split('.')
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_alphanumeric() || c == '_'));
    valid.then(|| Import {
        node: content,
        module: module.to_string(),
        level: 0,
        names: Vec::new(),
        guarded: false,
        type_checking: false,
        lazy: true,
    })
}

fn text<'s>(node: Node<'_>, source: &'s str) -> &'s str {
    node.utf8_text(source.as_bytes()).unwrap_or("")
}

/// A dotted name without the whitespace or comments Python allows between its parts.
fn dotted_text(node: Node<'_>, source: &str) -> String {
    if node.kind() != "dotted_name" {
        return text(node, source).to_string();
    }
    let mut cursor = node.walk();
    let parts: Vec<&str> = node
        .named_children(&mut cursor)
        .filter(|n| n.kind() == "identifier")
        .map(|n| text(n, source))
        .collect();
    parts.join(".")
}
