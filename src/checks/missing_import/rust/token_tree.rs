//! Macro invocations read as code: their paths (`serde_json::json!`), and their token trees,
//! where `a :: b` sequences are paths (`chrono::Utc::now()` inside `println!`, `use` lists in
//! macro arguments) and other identifiers names the macro may declare.

use tree_sitter::Node;

use super::paths::{At, Head, RefKind, Scan};

/// Standard macros that may stand where an item does; their arguments are ordinary code.
const STD_MACROS: &[&str] = &[
    "thread_local",
    "assert",
    "assert_eq",
    "const_assert",
    "compile_error",
];

/// Macros whose token trees are code for another crate (a proc macro's output).
const QUOTE_MACROS: &[&str] = &[
    "quote",
    "quote_spanned",
    "parse_quote",
    "parse_quote_spanned",
];

impl<'t> Scan<'t> {
    pub(super) fn macro_invocation(&mut self, node: Node<'t>, at: At) {
        let Some(mac) = node.child_by_field_name("macro") else {
            return;
        };
        if mac.kind() == "scoped_identifier" {
            self.path(mac, RefKind::Path, at);
        }
        let name = mac
            .child_by_field_name("name")
            .map_or(self.text(mac), |n| self.text(n));
        if at.item_level && name.starts_with("include") {
            self.scopes[at.scope].opaque = true;
        }
        if QUOTE_MACROS.contains(&name) || at.flags.no_token_trees {
            return;
        }
        if let Some(tree) =
            node.named_child(u32::try_from(node.named_child_count().saturating_sub(1)).unwrap_or(0))
            && tree.kind() == "token_tree"
        {
            let mut inner = at;
            inner.flags.token_tree = true;
            inner.use_only = at.item_level && !STD_MACROS.contains(&name);
            self.token_tree(tree, inner, false);
        }
    }

    /// The names a `macro_rules!` body may declare count as local.
    pub(super) fn macro_def_locals(&mut self, node: Node<'t>) {
        let mut stack = vec![node];
        while let Some(n) = stack.pop() {
            let mut c = n.walk();
            let kids: Vec<Node<'t>> = n.children(&mut c).collect();
            for (i, k) in kids.iter().enumerate() {
                if k.kind() == "identifier"
                    && kids.get(i + 1).is_none_or(|next| next.kind() != "::")
                {
                    self.locals.insert(self.text(*k));
                } else if k.child_count() > 0 {
                    stack.push(*k);
                }
            }
        }
    }

    /// A token tree: `a :: b` sequences are paths; other identifiers may be declared names.
    /// `relative`: the tree follows `::` (a `use a::{…}` list inside a macro).
    pub(super) fn token_tree(&mut self, tree: Node<'t>, at: At, relative: bool) {
        let mut c = tree.walk();
        let toks: Vec<Node<'t>> = tree.children(&mut c).collect();
        let kind_at = |i: usize| toks.get(i).map_or("", |t| t.kind());
        let mut i = 0;
        while i < toks.len() {
            let tok = toks[i];
            let prev = if i == 0 { "" } else { kind_at(i - 1) };
            match tok.kind() {
                // An attribute (`#[allow(clippy::x)]`) is not a path to check.
                "token_tree" if prev == "#" || (prev == "!" && i >= 2 && kind_at(i - 2) == "#") => {
                }
                "token_tree"
                    if prev == "identifier" && i >= 2 && self.text(toks[i - 2]) == "mod" =>
                {
                    let inner = At {
                        in_token_mod: true,
                        ..at
                    };
                    self.token_tree(tok, inner, false);
                }
                "token_tree" => self.token_tree(tok, at, prev == "::"),
                "*" if prev == "::" => self.scopes[at.scope].opaque = true,
                "identifier" if self.text(tok) == "macro_rules" && kind_at(i + 1) == "!" => {
                    i += 3;
                    continue;
                }
                "identifier" | "crate" | "self" | "super"
                    if !matches!(prev, "::" | "$" | "." | "#" | "'" | "@") =>
                {
                    let mut segs = vec![(self.text(tok), tok)];
                    let mut j = i + 1;
                    while kind_at(j) == "::" && matches!(kind_at(j + 1), "identifier" | "super") {
                        segs.push((self.text(toks[j + 1]), toks[j + 1]));
                        j += 2;
                    }
                    // The last segment may be a name a `use` in the tree imports.
                    if let Some(&(last, node)) = segs.last()
                        && node.kind() == "identifier"
                    {
                        self.locals.insert(last);
                    }
                    let after_use = i > 0 && self.text(toks[i - 1]) == "use";
                    if at.use_only && !after_use {
                        i = j;
                        continue;
                    }
                    let list = toks.get(i + 2).is_some_and(|t| {
                        t.kind() == "token_tree" && self.text(*t).starts_with('{')
                    });
                    if segs.len() == 1 {
                        if !relative && kind_at(i + 1) == "::" && tok.kind() == "identifier" && list
                        {
                            self.crate_ref(self.text(tok), tok, RefKind::TokenTree, at, false);
                        }
                    } else if !(relative
                        || (at.in_token_mod && matches!(tok.kind(), "self" | "super")))
                    {
                        let head = match tok.kind() {
                            "crate" => Head::Crate,
                            "self" => Head::SelfMod,
                            "super" => Head::Super,
                            _ => Head::Ident(self.text(tok), tok),
                        };
                        let rest = segs.split_off(1);
                        let checked = rest.len().saturating_sub(1);
                        self.emit(head, rest, checked, RefKind::TokenTree, at);
                    }
                    i = j;
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
    }
}
