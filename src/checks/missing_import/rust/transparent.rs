//! Item-level macros that only re-emit their arguments (tokio's `cfg_net! { … }`, whose rules
//! are `($($item:item)*) => { $( #[cfg(feature = "net")] $item )* }`). A module that invokes
//! such a macro declares exactly the items written in its arguments, so its names stay known
//! and a `crate::` path through it is checked. Any other macro (a rule that writes a name of
//! its own, calls another macro, or a macro not defined in the crate) leaves the module's names
//! unknown, as before.
//!
//! A macro re-emits its arguments when every rule's expansion holds only metavariables,
//! repetitions of them, and `cfg`/`cfg_attr`/`doc`/lint attributes. A bare-name invocation
//! is resolved to the crate's own `macro_rules!` of that name: in the crate root, in the
//! modules it declares with `#[macro_use]` (and theirs), and in the invoking file; every
//! definition found must re-emit, and there must be one.

use std::collections::HashSet;

use tree_sitter::Node;

use super::tree::{Files, ModRef, enter};

/// Attributes an expansion may put on the items it re-emits: none of them declares a name.
const INERT_ATTRIBUTES: &[&str] = &["cfg", "cfg_attr", "doc", "allow", "warn", "deny", "expect"];

/// Whether the `macro_rules!` definition `node` only re-emits its arguments.
pub(super) fn re_emits(node: Node<'_>, src: &str) -> bool {
    let mut c = node.walk();
    let rules: Vec<Node<'_>> = node
        .named_children(&mut c)
        .filter(|n| n.kind() == "macro_rule")
        .collect();
    !rules.is_empty()
        && rules.iter().all(|rule| {
            rule.child_by_field_name("right")
                .is_some_and(|right| only_arguments(right, src))
        })
}

/// Whether the token tree `tree` (an expansion) holds only metavariables, repetitions of them
/// and inert attributes.
fn only_arguments(tree: Node<'_>, src: &str) -> bool {
    let text = |n: Node<'_>| n.utf8_text(src.as_bytes()).unwrap_or("");
    let mut c = tree.walk();
    let toks: Vec<Node<'_>> = tree.children(&mut c).collect();
    let mut i = 0;
    while i < toks.len() {
        let tok = toks[i];
        let next = toks.get(i + 1).copied();
        match (tok.kind(), text(tok)) {
            ("metavariable", _) => {}
            ("token_repetition" | "token_tree", _) => {
                if !only_arguments(tok, src) {
                    return false;
                }
            }
            (_, "#") if next.is_some_and(|n| inert_attribute(n, src)) => i += 1,
            (_, "$" | "(" | ")" | "[" | "]" | "{" | "}" | "*" | "+" | "?" | "," | ";") => {}
            _ => return false,
        }
        i += 1;
    }
    true
}

/// Whether `[…]` is an inert attribute (`[cfg(…)]`, `[doc = "…"]`, …).
fn inert_attribute(tree: Node<'_>, src: &str) -> bool {
    let body = tree.utf8_text(src.as_bytes()).unwrap_or("");
    let Some(inner) = body.strip_prefix('[') else {
        return false;
    };
    let name: String = inner
        .trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    INERT_ATTRIBUTES.contains(&name.as_str())
}

/// Whether the bare-name macro `name`, invoked in module `m` of a crate rooted at one of
/// `roots`, is the crate's own and re-emits its arguments.
pub(super) fn is_transparent(files: &dyn Files, roots: &[ModRef], m: &ModRef, name: &str) -> bool {
    let mut found = false;
    let mut seen: HashSet<String> = HashSet::new();
    // The roots first (popped last-in first-out), so a root is walked with its depth.
    let mut stack = vec![(m.clone(), usize::MAX)];
    stack.extend(roots.iter().map(|r| (r.clone(), 0)));
    while let Some((module, depth)) = stack.pop() {
        if !seen.insert(module.file.clone()) {
            continue;
        }
        let Some(fm) = files.modules(&module.file) else {
            return false;
        };
        for (def, re_emits) in &fm.macro_defs {
            if def == name {
                if !re_emits {
                    return false;
                }
                found = true;
            }
        }
        // `#[macro_use] mod x;` chains from the root (a few levels deep, as crates use them).
        if depth >= 4 {
            continue;
        }
        let from = ModRef {
            idx: 0,
            ..module.clone()
        };
        for child in fm.mods.first().map_or(&[][..], |info| &info.macro_use) {
            if let Some((next, _)) = enter(files, &from, child) {
                stack.push((next, depth + 1));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_macros_that_re_emit_their_arguments() {
        let src = "macro_rules! cfg_rt {\n    ($($item:item)*) => {\n        $(\n            #[cfg(feature = \"rt\")]\n            #[cfg_attr(docsrs, doc(cfg(feature = \"rt\")))]\n            $item\n        )*\n    }\n}\n\
                   macro_rules! gen { ($n:ident) => { pub mod $n {} }; }\n";
        let tree = crate::lang::parse(crate::lang::Language::Rust, src).unwrap();
        let root = tree.root_node();
        let mut c = root.walk();
        let defs: Vec<bool> = root
            .named_children(&mut c)
            .map(|n| re_emits(n, src))
            .collect();
        assert_eq!(defs, [true, false]);
    }
}
