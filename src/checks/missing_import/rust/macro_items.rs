//! Items in the arguments of item-level macros (tokio's `cfg_net! { pub mod net; }`): a token
//! tree read as items, so `mod x;` (with its `#[path = "…"]`) and inline `mod x { … }` inside
//! a macro are part of the module tree. Every identifier counts as a name the module may declare.

use tree_sitter::Node;

use super::attrs::Flags;
use super::modules::{Entry, FileModules, ITEM_MACROS};

impl FileModules {
    /// An item-level macro invocation in module `idx`.
    pub(super) fn item_macro(&mut self, node: Node<'_>, idx: usize, src: &str) {
        let text = |n: Node<'_>| n.utf8_text(src.as_bytes()).unwrap_or("");
        let mac = node.child_by_field_name("macro");
        let name = mac
            .map(|m| m.child_by_field_name("name").unwrap_or(m))
            .map_or("", text);
        let bare = mac.is_some_and(|m| m.kind() == "identifier");
        if bare && !ITEM_MACROS.contains(&name) {
            // Known only once the crate's definition of the macro is (`transparent`).
            self.mods[idx].macros.push(name.to_string());
        } else if !ITEM_MACROS.contains(&name) {
            self.mods[idx].complete = false;
        }
        if name.starts_with("include") {
            self.mods[idx].glob = true;
        }
        if let Some(mac) = mac {
            self.add(idx, text(mac), Entry::Other);
        }
        // Whatever the macro does, its modules exist only under the `cfg` it may add.
        let in_macro = Flags {
            any_cfg: true,
            ..Flags::default()
        };
        let mut c = node.walk();
        let trees: Vec<Node<'_>> = node
            .named_children(&mut c)
            .filter(|n| n.kind() == "token_tree")
            .collect();
        for tree in trees {
            self.top_level_tokens(tree, idx, src);
            self.macro_tokens(tree, idx, src, in_macro);
        }
    }

    /// What a macro's arguments hold at item level, if it re-emits them: further item-level
    /// macros (which must re-emit theirs too) and glob imports.
    fn top_level_tokens(&mut self, tree: Node<'_>, idx: usize, src: &str) {
        let text = |n: Node<'_>| n.utf8_text(src.as_bytes()).unwrap_or("");
        let mut c = tree.walk();
        let toks: Vec<Node<'_>> = tree.children(&mut c).collect();
        let mut in_use = false;
        for (i, tok) in toks.iter().enumerate() {
            let next = toks.get(i + 1).map_or("", |n| text(*n));
            match text(*tok) {
                "use" => in_use = true,
                ";" => in_use = false,
                "*" if in_use => self.glob(idx),
                t if tok.kind() == "identifier" && next == "!" && t != "macro_rules" => {
                    self.mods[idx].macros.push(t.to_string());
                }
                _ if in_use && tok.kind() == "token_tree" && text(*tok).contains('*') => {
                    self.glob(idx);
                }
                _ => {}
            }
        }
    }

    fn glob(&mut self, idx: usize) {
        self.mods[idx].glob = true;
        self.mods[idx].complete = false;
    }

    fn macro_tokens(&mut self, tree: Node<'_>, idx: usize, src: &str, flags: Flags) {
        let text = |n: Node<'_>| n.utf8_text(src.as_bytes()).unwrap_or("");
        let mut c = tree.walk();
        let toks: Vec<Node<'_>> = tree.children(&mut c).collect();
        let mut path: Option<String> = None;
        let mut i = 0;
        while i < toks.len() {
            let tok = toks[i];
            let next = toks.get(i + 1).copied();
            if text(tok) == "#"
                && let Some(attr) = next.filter(|n| text(*n).starts_with('['))
            {
                if let Some(p) = path_attribute(attr, src) {
                    path = Some(p);
                }
                i += 2;
                continue;
            }
            if text(tok) == "mod"
                && let Some(name) = next.filter(|n| n.kind() == "identifier")
            {
                let after = toks.get(i + 2).copied();
                match after {
                    Some(a) if text(a) == ";" => {
                        self.declare_file(idx, text(name), path.take(), flags);
                        i += 3;
                        continue;
                    }
                    Some(body) if body.kind() == "token_tree" && text(body).starts_with('{') => {
                        let child = self.declare_inline(idx, text(name), path.take(), flags);
                        // Names read from tokens are a guess: never "all known".
                        self.mods[child].complete = false;
                        self.macro_tokens(body, child, src, flags);
                        i += 3;
                        continue;
                    }
                    _ => {}
                }
            }
            if tok.kind() == "identifier" {
                self.add(idx, text(tok), Entry::Other);
            } else if tok.child_count() > 0 {
                self.macro_tokens(tok, idx, src, flags);
            }
            if text(tok) == ";" {
                path = None;
            }
            i += 1;
        }
    }
}

/// The file of a `[path = "x.rs"]` attribute token tree; `Some("")` for a `cfg_attr` that
/// sets a path (unknowable); `None` for any other attribute.
fn path_attribute(attr: Node<'_>, src: &str) -> Option<String> {
    let text = |n: Node<'_>| n.utf8_text(src.as_bytes()).unwrap_or("");
    let mut c = attr.walk();
    let toks: Vec<Node<'_>> = attr.named_children(&mut c).collect();
    match toks.first().map(|t| text(*t)) {
        Some("path") => toks
            .iter()
            .find(|t| t.kind().contains("string"))
            .map(|t| text(*t).trim_matches('"').to_string()),
        Some("cfg_attr") if text(attr).contains("path") => Some(String::new()),
        _ => None,
    }
}
