//! `use` trees: every leaf as a full path (`use a::{b::c, d as e, self, *}`), with the names
//! it brings into scope and the modules its prefixes must be.

use tree_sitter::Node;

use super::paths::{At, Glob, Head, RefKind, Scan};

/// The path a `use` list sits under: its head and segments.
#[derive(Clone)]
pub(super) struct Prefix<'t> {
    head: Head<'t>,
    segs: Vec<(&'t str, Node<'t>)>,
}

impl<'t> Scan<'t> {
    /// Records one `use` tree: `prefix` is `None` at the root of the declaration.
    pub(super) fn use_tree(&mut self, node: Node<'t>, prefix: Option<&Prefix<'t>>, at: At) {
        match node.kind() {
            "identifier" | "crate" | "self" | "super" | "scoped_identifier" => {
                let Some(full) = self.join(prefix, node) else {
                    return;
                };
                if let Some(&(last, _)) = full.segs.last() {
                    self.locals.insert(last);
                } else if let Head::Ident(name, _) = full.head {
                    self.locals.insert(name);
                }
                self.leaf(full, false, at);
            }
            "use_as_clause" => {
                if let Some(alias) = node.child_by_field_name("alias") {
                    self.locals.insert(self.text(alias));
                }
                let Some(path) = node.child_by_field_name("path") else {
                    return;
                };
                if let Some(full) = self.join(prefix, path) {
                    self.leaf(full, false, at);
                }
            }
            "scoped_use_list" => {
                let full = match node.child_by_field_name("path") {
                    Some(path) => self.join(prefix, path),
                    None if prefix.is_none() && has_colon(node) => Some(Prefix {
                        head: Head::Colon,
                        segs: Vec::new(),
                    }),
                    None => prefix.cloned(),
                };
                let Some(full) = full else { return };
                if let Some(list) = node.child_by_field_name("list") {
                    self.use_list(list, Some(&full), at);
                }
                self.leaf(full, true, at);
            }
            "use_list" => self.use_list(node, prefix, at),
            "use_wildcard" => {
                let full = match node.named_child(0) {
                    Some(path) => self.join(prefix, path),
                    None => prefix.cloned(),
                };
                let Some(full) = full else {
                    self.scopes[at.scope].opaque = true;
                    return;
                };
                self.scopes[at.scope].globs.push(Glob {
                    head: full.head,
                    segs: full.segs.clone(),
                });
                self.leaf(full, true, at);
            }
            _ => {}
        }
    }

    fn use_list(&mut self, list: Node<'t>, prefix: Option<&Prefix<'t>>, at: At) {
        let mut c = list.walk();
        let items: Vec<Node<'t>> = list.named_children(&mut c).collect();
        for item in items {
            self.use_tree(item, prefix, at);
        }
    }

    /// The full path of `node` under `prefix`; `None` when it cannot be one.
    fn join(&self, prefix: Option<&Prefix<'t>>, node: Node<'t>) -> Option<Prefix<'t>> {
        let (head, segs) = self.segments(node);
        let Some(prefix) = prefix else {
            return Some(Prefix { head, segs });
        };
        let mut full = prefix.clone();
        match head {
            Head::Ident(name, n) => full.segs.push((name, n)),
            Head::SelfMod => {}
            _ => return None,
        }
        full.segs.extend(segs);
        if matches!(full.head, Head::Colon) && full.segs.is_empty() {
            return None;
        }
        Some(full)
    }

    /// Records a leaf's crate name or module path; `whole`: every segment is a module (the
    /// prefix of a list or a glob), else all but the last.
    fn leaf(&mut self, full: Prefix<'t>, whole: bool, at: At) {
        let checked = if whole {
            full.segs.len()
        } else {
            full.segs.len().saturating_sub(1)
        };
        self.emit(full.head, full.segs, checked, RefKind::Use, at);
    }
}

fn has_colon(node: Node<'_>) -> bool {
    let mut c = node.walk();
    node.children(&mut c).any(|k| k.kind() == "::")
}
