//! One walk over a file's tree: the first segments that may name a crate (`use` trees,
//! `extern crate`, paths in expressions, types, attributes and macro token trees), the
//! `crate::`/`self::`/`super::` paths, the names the file declares, and the inline modules
//! whose names cannot all be known (a glob import, an item-level `include!`).

use std::collections::HashSet;

use tree_sitter::{Node, TreeCursor};

use super::attrs::{Flags, attribute_flags};

/// Where a crate name was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefKind {
    Use,
    Path,
    Attribute,
    TokenTree,
    ExternCrate,
}

/// A first segment that may name a crate.
pub struct CrateRef<'t> {
    pub name: &'t str,
    pub node: Node<'t>,
    pub scope: usize,
    pub flags: Flags,
    pub kind: RefKind,
    /// The path starts with `::`: only a crate can follow, whatever is in scope.
    pub leading_colon: bool,
}

/// What a module path starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    Crate,
    SelfMod,
    Super(usize),
}

/// A `crate::`/`self::`/`super::` path: its segments after the anchor, of which the first
/// `checked` are used as modules.
pub struct ModPath<'t> {
    pub anchor: Anchor,
    pub segs: Vec<(&'t str, Node<'t>)>,
    pub checked: usize,
    pub scope: usize,
}

impl<'t> ModPath<'t> {
    /// The module a glob import (`use super::super::a::*`) imports from: every segment is one.
    pub fn glob(anchor: Anchor, mut segs: Vec<(&'t str, Node<'t>)>, scope: usize) -> Self {
        let mut anchor = anchor;
        if let Anchor::Super(n) = &mut anchor {
            while segs.first().is_some_and(|(s, _)| *s == "super") {
                segs.remove(0);
                *n += 1;
            }
        }
        ModPath {
            anchor,
            checked: segs.len(),
            segs,
            scope,
        }
    }
}

/// A glob import: `use head::segs::*`.
pub struct Glob<'t> {
    pub head: Head<'t>,
    pub segs: Vec<(&'t str, Node<'t>)>,
}

/// An inline module (`[0]` is the file's own module).
pub struct Scope<'t> {
    pub name: &'t str,
    pub parent: Option<usize>,
    /// A glob in a macro's arguments or an item-level `include!`: names may come from anywhere.
    pub opaque: bool,
    /// Its glob imports.
    pub globs: Vec<Glob<'t>>,
    /// Declared inside a function body (a block, not a module path).
    pub in_fn: bool,
}

/// What the walk found.
pub struct Scan<'t> {
    pub locals: HashSet<&'t str>,
    pub scopes: Vec<Scope<'t>>,
    pub crates: Vec<CrateRef<'t>>,
    pub modules: Vec<ModPath<'t>>,
    pub(super) src: &'t str,
}

/// The start of a path: an identifier, `::`, `crate`, `self`, `super`, or something else.
#[derive(Clone, Copy)]
pub enum Head<'t> {
    Ident(&'t str, Node<'t>),
    Colon,
    Crate,
    SelfMod,
    Super,
    Other,
}

const ITEM_KINDS: &[&str] = &[
    "mod_item",
    "function_item",
    "function_signature_item",
    "struct_item",
    "enum_item",
    "union_item",
    "trait_item",
    "type_item",
    "const_item",
    "static_item",
    "macro_definition",
    "associated_type",
];

#[derive(Clone, Copy)]
pub(super) struct At {
    pub flags: Flags,
    pub scope: usize,
    pub in_fn: bool,
    /// The node is the `path` of a scoped path (or the type of such a generic type).
    pub in_chain: bool,
    pub item_level: bool,
    /// In the arguments of an item-level macro that is not the standard library's: only the
    /// paths of `use` declarations are known to be paths (`impmod! {a::b as c}` may mean
    /// `crate::a::b`).
    pub use_only: bool,
    /// Inside `mod x { … }` in macro arguments: `self::`/`super::` there are not checked.
    pub in_token_mod: bool,
}

impl<'t> Scan<'t> {
    /// Walks the whole file.
    pub fn run(root: Node<'t>, src: &'t str, skip_token_trees: bool) -> Scan<'t> {
        let mut scan = Scan {
            locals: HashSet::new(),
            scopes: vec![Scope {
                name: "",
                parent: None,
                opaque: false,
                globs: Vec::new(),
                in_fn: false,
            }],
            crates: Vec::new(),
            modules: Vec::new(),
            src,
        };
        let at = At {
            flags: Flags {
                no_token_trees: skip_token_trees,
                ..Flags::default()
            },
            scope: 0,
            in_fn: false,
            in_chain: false,
            item_level: true,
            use_only: false,
            in_token_mod: false,
        };
        scan.children(&mut root.walk(), at);
        scan
    }

    pub(super) fn text(&self, node: Node<'_>) -> &'t str {
        node.utf8_text(self.src.as_bytes()).unwrap_or("")
    }

    fn visit(&mut self, c: &mut TreeCursor<'t>, mut at: At) {
        let node = c.node();
        let kind = node.kind();
        match kind {
            "ERROR" => return,
            "use_declaration" => {
                if let Some(arg) = node.child_by_field_name("argument") {
                    self.use_tree(arg, None, at);
                }
                return;
            }
            "extern_crate_declaration" => return self.extern_crate(node, at),
            "macro_definition" => {
                self.declare(node);
                self.macro_def_locals(node);
                return;
            }
            "macro_invocation" => return self.macro_invocation(node, at),
            "scoped_identifier" | "scoped_type_identifier" if !at.in_chain => {
                self.path(node, RefKind::Path, at);
            }
            "mod_item" => {
                self.declare(node);
                if node.child_by_field_name("body").is_some() {
                    let name = node
                        .child_by_field_name("name")
                        .map_or("", |n| self.text(n));
                    self.scopes.push(Scope {
                        name,
                        parent: Some(at.scope),
                        opaque: false,
                        globs: Vec::new(),
                        in_fn: at.in_fn,
                    });
                    at.scope = self.scopes.len() - 1;
                }
            }
            "function_item" | "closure_expression" => {
                self.declare(node);
                at.in_fn = true;
            }
            _ if ITEM_KINDS.contains(&kind) => self.declare(node),
            _ => {}
        }
        // `include!(…);` at the top of a file is an expression statement.
        at.item_level = matches!(kind, "source_file" | "declaration_list")
            || (kind == "expression_statement" && at.item_level);
        let chain_parent = matches!(kind, "scoped_identifier" | "scoped_type_identifier")
            || (kind == "generic_type" && at.in_chain);
        at.in_chain = chain_parent;
        self.children(c, at);
    }

    /// Visits the children of the cursor's node; outer attributes apply to the next sibling,
    /// inner ones to the rest of the body.
    fn children(&mut self, c: &mut TreeCursor<'t>, at: At) {
        if !c.goto_first_child() {
            return;
        }
        let chain_parent = at.in_chain;
        let mut base = at;
        let mut pending = Flags::default();
        loop {
            let child = c.node();
            match child.kind() {
                "attribute_item" => pending = pending.union(self.attribute(child, base)),
                "inner_attribute_item" => {
                    base.flags = base.flags.union(self.attribute(child, base))
                }
                "line_comment" | "block_comment" => {}
                _ => {
                    let field = c.field_name();
                    let mut child_at = base;
                    child_at.flags = base.flags.union(pending);
                    child_at.in_chain =
                        chain_parent && matches!(field, Some("path") | Some("type"));
                    self.visit(c, child_at);
                    if child.is_named() {
                        pending = Flags::default();
                    }
                }
            }
            if !c.goto_next_sibling() {
                break;
            }
        }
        c.goto_parent();
    }

    fn declare(&mut self, node: Node<'t>) {
        if let Some(name) = node.child_by_field_name("name") {
            self.locals.insert(self.text(name));
        }
    }

    fn extern_crate(&mut self, node: Node<'t>, at: At) {
        let Some(name) = node.child_by_field_name("name") else {
            return;
        };
        let alias = node.child_by_field_name("alias").unwrap_or(name);
        self.locals.insert(self.text(alias));
        if name.kind() == "identifier" && self.text(name) != "self" {
            self.crates.push(CrateRef {
                name: self.text(name),
                node: name,
                scope: at.scope,
                flags: at.flags,
                kind: RefKind::ExternCrate,
                leading_colon: true,
            });
        }
    }

    /// Returns the flags an attribute puts on its item, and records the paths it names.
    fn attribute(&mut self, item: Node<'t>, at: At) -> Flags {
        let Some(attr) = item.named_child(0) else {
            return Flags::default();
        };
        let Some(path) = attr.named_child(0) else {
            return Flags::default();
        };
        let args = attr.child_by_field_name("arguments");
        if path.kind() == "scoped_identifier" {
            self.path(path, RefKind::Attribute, at);
        } else if self.text(path) == "derive"
            && let Some(args) = args
        {
            self.token_tree(args, at, false);
        }
        attribute_flags(self.text(path), args.map(|a| self.text(a)))
    }

    pub(super) fn crate_ref(
        &mut self,
        name: &'t str,
        node: Node<'t>,
        kind: RefKind,
        at: At,
        colon: bool,
    ) {
        self.crates.push(CrateRef {
            name,
            node,
            scope: at.scope,
            flags: at.flags,
            kind,
            leading_colon: colon,
        });
    }

    /// A path's head and its segments after the head, left to right.
    pub(super) fn segments(&self, node: Node<'t>) -> (Head<'t>, Vec<(&'t str, Node<'t>)>) {
        let mut segs = Vec::new();
        let mut cur = node;
        let head = loop {
            match cur.kind() {
                "scoped_identifier" | "scoped_type_identifier" => {
                    if let Some(name) = cur.child_by_field_name("name") {
                        segs.push((self.text(name), name));
                    }
                    match cur.child_by_field_name("path") {
                        Some(p) => cur = p,
                        None => break Head::Colon,
                    }
                }
                "generic_type" => match cur.child_by_field_name("type") {
                    Some(t) => cur = t,
                    None => break Head::Other,
                },
                "identifier" | "type_identifier" => break Head::Ident(self.text(cur), cur),
                "crate" => break Head::Crate,
                "self" => break Head::SelfMod,
                "super" => break Head::Super,
                _ => break Head::Other,
            }
        };
        segs.reverse();
        (head, segs)
    }

    pub(super) fn path(&mut self, node: Node<'t>, kind: RefKind, at: At) {
        let (head, segs) = self.segments(node);
        let checked = segs.len().saturating_sub(1);
        self.emit(head, segs, checked, kind, at);
    }

    /// Records a path: its crate name, or its module path.
    pub(super) fn emit(
        &mut self,
        head: Head<'t>,
        mut segs: Vec<(&'t str, Node<'t>)>,
        checked: usize,
        kind: RefKind,
        at: At,
    ) {
        match head {
            Head::Ident(name, node) => self.crate_ref(name, node, kind, at, false),
            Head::Colon => {
                if let Some(&(name, node)) = segs.first() {
                    self.crate_ref(name, node, kind, at, true);
                }
            }
            Head::Crate | Head::SelfMod | Head::Super => {
                let mut anchor = match head {
                    Head::Crate => Anchor::Crate,
                    Head::SelfMod => Anchor::SelfMod,
                    _ => Anchor::Super(1),
                };
                let mut checked = checked;
                if let Anchor::Super(n) = &mut anchor {
                    while segs.first().is_some_and(|(s, _)| *s == "super") && checked > 0 {
                        segs.remove(0);
                        *n += 1;
                        checked -= 1;
                    }
                }
                if checked > 0 {
                    self.modules.push(ModPath {
                        anchor,
                        segs,
                        checked,
                        scope: at.scope,
                    });
                }
            }
            Head::Other => {}
        }
    }
}
