//! The type a help text can name where the source makes it evident: a parameter's literal
//! default (`x=0` → `int`), and what a function returns when every `return` gives a literal or
//! nothing (`return "s"` → `str`; no value, or none at all → `None`), as ruff's fix infers it.
//! Anything else (a call, a name, a generator, a body that ends raising, a `...` stub) names no
//! type.

use tree_sitter::Node;

use super::function::{first_named, is_statement_container};

/// The type of a literal expression; `None` when it is not one.
pub(super) fn literal_type(node: Node<'_>, src: &str) -> Option<&'static str> {
    Some(match node.kind() {
        "integer" => "int",
        "float" => "float",
        "true" | "false" => "bool",
        "none" => "None",
        "string" => {
            let text = src.get(node.byte_range()).unwrap_or("");
            let prefix = &text[..text.find(['"', '\'']).unwrap_or(0)];
            if prefix.contains(['b', 'B']) {
                "bytes"
            } else {
                "str"
            }
        }
        "concatenated_string" => literal_type(node.named_child(0)?, src)?,
        "list" | "list_comprehension" => "list",
        "dictionary" | "dictionary_comprehension" => "dict",
        "set" | "set_comprehension" => "set",
        "tuple" => "tuple",
        // `"…" % args` formats a string.
        "binary_operator" => {
            let left = node.child_by_field_name("left")?;
            let op = node.child_by_field_name("operator")?;
            match (literal_type(left, src)?, op.kind()) {
                (text @ ("str" | "bytes"), "%") => text,
                _ => return None,
            }
        }
        "unary_operator" | "parenthesized_expression" => {
            let inner = first_named(node)?;
            match literal_type(inner, src)? {
                number @ ("int" | "float") => number,
                other if node.kind() == "parenthesized_expression" => other,
                _ => return None,
            }
        }
        _ => return None,
    })
}

/// The type a parameter's default makes evident: `int` for `x=0`, `"None"` for `x=None` (which
/// says nothing of the other values); `None` for a default that is not a literal.
pub(super) fn default_type(param: Node<'_>, src: &str) -> Option<&'static str> {
    let value = param.child_by_field_name("value")?;
    literal_type(value, src)
}

/// The return type `body` makes evident: the union of the literal types its `return`s give
/// (`None` last), or `None` when it returns nothing; `None` (no hint) when a return gives
/// something else, the function is a generator, or the body ends by raising.
pub(super) fn return_type(body: Node<'_>, src: &str) -> Option<String> {
    // Most bodies never say `yield`: their expressions need no walk. (Looking for the word in
    // the text is a hundred times cheaper than visiting every node of every expression.)
    let may_yield = src
        .get(body.byte_range())
        .is_none_or(|text| text.contains("yield"));
    let mut types: Vec<&'static str> = Vec::new();
    let mut stack = vec![body];
    while let Some(node) = stack.pop() {
        match node.kind() {
            "return_statement" => {
                let ty = match first_named(node) {
                    None => "None",
                    Some(value) => literal_type(value, src)?,
                };
                if !types.contains(&ty) {
                    types.push(ty);
                }
            }
            "function_definition" | "class_definition" | "decorated_definition" => {}
            kind if node.id() == body.id() || is_statement_container(kind) => {
                let mut cursor = node.walk();
                let first = stack.len();
                stack.extend(node.named_children(&mut cursor));
                stack[first..].reverse();
            }
            // An expression (statement) with a `yield` makes the function a generator.
            _ if may_yield && has_yield(node) => return None,
            _ => {}
        }
    }
    if types.is_empty() {
        let mut cursor = body.walk();
        let last = body
            .named_children(&mut cursor)
            .filter(|n| n.kind() != "comment")
            .last();
        // A body that only raises returns nothing ever; a `...` body is a stub (an overload).
        let stub = |n: Node<'_>| {
            n.kind() == "expression_statement"
                && first_named(n).is_some_and(|e| e.kind() == "ellipsis")
        };
        if last.is_some_and(|n| n.kind() == "raise_statement" || stub(n)) {
            return None;
        }
        return Some("None".to_string());
    }
    // Running off the end returns None too.
    if !always_leaves(body) && !types.contains(&"None") {
        types.push("None");
    }
    types.sort_by_key(|ty| *ty == "None");
    Some(types.join(" | "))
}

/// Whether every path through `block` ends in a `return` or a `raise` (an `if` counts when it
/// has an `else` and each branch does; other compound statements do not).
fn always_leaves(block: Node<'_>) -> bool {
    let mut cursor = block.walk();
    let last = block
        .named_children(&mut cursor)
        .filter(|n| n.kind() != "comment")
        .last();
    let Some(last) = last else {
        return false;
    };
    match last.kind() {
        "return_statement" | "raise_statement" => true,
        "if_statement" => {
            let mut cursor = last.walk();
            let branches: Vec<Node<'_>> = last.named_children(&mut cursor).collect();
            let has_else = branches.iter().any(|b| b.kind() == "else_clause");
            let consequence = last.child_by_field_name("consequence");
            has_else
                && consequence.is_some_and(always_leaves)
                && branches
                    .iter()
                    .filter(|b| matches!(b.kind(), "elif_clause" | "else_clause"))
                    .all(|b| {
                        b.child_by_field_name("consequence")
                            .or_else(|| b.child_by_field_name("body"))
                            .is_some_and(always_leaves)
                    })
        }
        _ => false,
    }
}

/// Whether an expression holds a `yield` (not one of a nested lambda).
fn has_yield(node: Node<'_>) -> bool {
    if node.kind() == "yield" {
        return true;
    }
    if matches!(
        node.kind(),
        "function_definition" | "class_definition" | "decorated_definition" | "lambda"
    ) {
        return false;
    }
    let mut cursor = node.walk();
    node.named_children(&mut cursor).any(has_yield)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::{Language, parse};

    /// The (default, return) types the first `def` of `source` makes evident.
    fn evident(source: &str) -> (Vec<Option<&'static str>>, Option<String>) {
        let tree = parse(Language::Python, source).unwrap();
        let def = tree.root_node().named_child(0).unwrap();
        let params = def.child_by_field_name("parameters").unwrap();
        let mut cursor = params.walk();
        let defaults = params
            .named_children(&mut cursor)
            .map(|p| default_type(p, source))
            .collect();
        let body = def.child_by_field_name("body").unwrap();
        (defaults, return_type(body, source))
    }

    #[test]
    fn defaults_name_their_literal_type() {
        let (defaults, _) = evident(
            "def f(j, a=0, b=1.5, c='s', d=b'x', e=True, f=None, g=-1, h=[], i=x):\n  pass\n",
        );
        assert_eq!(
            defaults,
            [
                None,
                Some("int"),
                Some("float"),
                Some("str"),
                Some("bytes"),
                Some("bool"),
                Some("None"),
                Some("int"),
                Some("list"),
                None
            ]
        );
    }

    #[test]
    fn returns_name_a_type_only_when_every_return_is_evident() {
        let ret = |src: &str| evident(src).1;
        assert_eq!(ret("def f(x):\n    return \"s\"\n").as_deref(), Some("str"));
        assert_eq!(ret("def f(x):\n    pass\n").as_deref(), Some("None"));
        assert_eq!(ret("def f(x):\n    return\n").as_deref(), Some("None"));
        assert_eq!(
            ret("def f(x):\n    if x:\n        return None\n    return 1\n").as_deref(),
            Some("int | None")
        );
        assert_eq!(ret("def f(x):\n    return x * 2\n"), None);
        assert_eq!(ret("def f(x):\n    yield 1\n"), None);
        assert_eq!(ret("def f(x):\n    y = yield\n    return 1\n"), None);
        assert_eq!(
            ret("def f(x):\n    s = 'yield'  # yield\n    return 1\n").as_deref(),
            Some("int"),
            "the word in a string or a comment makes no generator"
        );
        assert_eq!(
            ret("def f(x):\n    if x:\n        print((yield x))\n    return 1\n"),
            None
        );
        assert_eq!(ret("def f(x):\n    raise ValueError(x)\n"), None);
        assert_eq!(ret("def f(x): ...\n"), None, "an overload stub");
        assert_eq!(
            ret("def f(x):\n    if x:\n        return 's'\n").as_deref(),
            Some("str | None"),
            "running off the end returns None"
        );
        assert_eq!(
            ret("def f(x):\n    if x:\n        return 's'\n    elif x > 1:\n        return 't'\n    else:\n        raise ValueError\n").as_deref(),
            Some("str")
        );
        assert_eq!(
            ret("def f(x):\n    return '%s!' % x\n").as_deref(),
            Some("str")
        );
        assert_eq!(
            ret("def f(x):\n    def g():\n        return x\n    return 1\n").as_deref(),
            Some("int"),
            "a nested function's returns are its own"
        );
    }
}
