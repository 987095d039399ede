//! The modules of a file: the names each declares (items, `use` imports, `mod` declarations
//! with their `#[path]` and `cfg`), its glob imports, and the files its code names.
//! A module whose names cannot all be known (a glob import, an item-level macro, a file that
//! does not parse) is incomplete: nothing is reported about it.

use std::collections::HashMap;

use tree_sitter::Node;

use super::attrs::{Flags, attribute_flags};

/// A name a module declares.
#[derive(Debug, Clone)]
pub enum Entry {
    /// An inline `mod x { … }`: its index in the file's modules.
    Inline(usize),
    /// `mod x;` in a file, with its `#[path]` if any.
    File(Option<String>),
    /// Any other item or import.
    Other,
}

/// One module of a file.
#[derive(Debug, Default)]
pub struct ModInfo {
    pub names: HashMap<String, Entry>,
    pub complete: bool,
    /// The inline modules from the file's top down to this one.
    pub inline_names: Vec<String>,
    /// This module or an inline one above it has a `#[path]`: its `mod x;` files are unknown.
    pub path_attr: bool,
    /// It has a glob import or an `include!`: it may define any name.
    pub glob: bool,
    /// Every module it declares, in order, including the same name declared twice under
    /// different `cfg`s (`#[cfg(unix)] #[path = "unix.rs"] mod imp;` and the Windows one).
    pub children: Vec<Child>,
    /// The item-level macros it invokes by a bare name: its names are all known only if each
    /// is a `macro_rules!` of the crate that re-emits its arguments (see `transparent`).
    pub macros: Vec<String>,
    /// Its `mod x;` declarations with `#[macro_use]` (their macros stay in scope after them).
    pub macro_use: Vec<String>,
}

/// A module declaration.
#[derive(Debug, Clone)]
pub enum Child {
    /// An inline module: its index in the file's modules.
    Inline(usize, Flags),
    /// `mod name;`, with its `#[path]` if any.
    File(String, Option<String>, Flags),
}

/// The modules of one file: `[0]` is the file's own.
#[derive(Debug, Default)]
pub struct FileModules {
    pub mods: Vec<ModInfo>,
    /// `extern crate` names (or aliases) at the file's top level.
    pub extern_crates: Vec<String>,
    /// String literals that look like relative paths (`include!("x.rs")`, trybuild's
    /// `"tests/ui/*.rs"`, `automod::dir!("tests/x")`): files the code names.
    pub mentions: Vec<String>,
    /// A macro of the file declares modules whose names are macro arguments (`mod $name;`),
    /// or the file does not parse: not every module file it reaches can be known.
    pub hidden_mods: bool,
    /// The file's `macro_rules!` definitions: name, and whether it only re-emits its arguments.
    pub macro_defs: Vec<(String, bool)>,
}

/// Macros known not to declare modules or glob imports; their names are in their arguments.
pub(super) const ITEM_MACROS: &[&str] = &[
    "thread_local",
    "lazy_static",
    "bitflags",
    "const_assert",
    "const_assert_eq",
    "compile_error",
];

impl FileModules {
    /// Collects the modules of a parsed file.
    pub fn collect(root: Node<'_>, src: &str) -> FileModules {
        let mut fm = FileModules::default();
        let complete = !root.has_error();
        fm.mods.push(ModInfo {
            complete,
            ..ModInfo::default()
        });
        fm.items(root, 0, src);
        fm.mentions = path_mentions(src);
        fm.hidden_mods |= !complete;
        fm
    }

    fn items(&mut self, body: Node<'_>, idx: usize, src: &str) {
        let text = |n: Node<'_>| n.utf8_text(src.as_bytes()).unwrap_or("");
        let mut flags = Flags::default();
        let mut path_attr: Option<String> = None;
        let mut macro_use = false;
        let mut c = body.walk();
        let kids: Vec<Node<'_>> = body.named_children(&mut c).collect();
        for node in kids {
            match node.kind() {
                "attribute_item" => {
                    if let Some(attr) = node.named_child(0)
                        && let Some(path) = attr.named_child(0)
                    {
                        let args = attr.child_by_field_name("arguments").map(text);
                        flags = flags.union(attribute_flags(text(path), args));
                        macro_use |= text(path) == "macro_use";
                        if text(path) == "path" {
                            path_attr = attr
                                .child_by_field_name("value")
                                .map(|v| text(v).trim_matches('"').to_string());
                        }
                        if text(path) == "cfg_attr" && args.is_some_and(|a| a.contains("path")) {
                            path_attr = Some(String::new());
                        }
                    }
                    continue;
                }
                "line_comment" | "block_comment" | "inner_attribute_item" => continue,
                "mod_item" => {
                    if macro_use && node.child_by_field_name("body").is_none() {
                        let name = node.child_by_field_name("name").map(text);
                        self.mods[idx].macro_use.extend(name.map(str::to_string));
                    }
                    self.module(node, idx, flags, path_attr.take(), src);
                }
                "use_declaration" => {
                    if let Some(arg) = node.child_by_field_name("argument") {
                        self.use_names(arg, idx, src, None);
                    }
                }
                "extern_crate_declaration" => {
                    let name = node
                        .child_by_field_name("alias")
                        .or(node.child_by_field_name("name"));
                    if let Some(name) = name.map(text) {
                        self.add(idx, name, Entry::Other);
                        if idx == 0 {
                            self.extern_crates.push(name.to_string());
                        }
                    }
                }
                "macro_invocation" => self.item_macro(node, idx, src),
                "expression_statement" => match node.named_child(0) {
                    Some(m) if m.kind() == "macro_invocation" => self.item_macro(m, idx, src),
                    _ => self.mods[idx].complete = false,
                },
                "foreign_mod_item" => {
                    if let Some(body) = node.child_by_field_name("body") {
                        self.items(body, idx, src);
                    }
                }
                _ => {
                    if let Some(name) = node.child_by_field_name("name") {
                        self.add(idx, text(name), Entry::Other);
                    }
                    // A `macro_rules!` whose expansion declares modules (serde's `crate_root!`).
                    if node.kind() == "macro_definition" && declares_mod(text(node)) {
                        self.hidden_mods = true;
                    }
                    if node.kind() == "macro_definition"
                        && let Some(name) = node.child_by_field_name("name")
                    {
                        let re_emits = super::transparent::re_emits(node, src);
                        self.macro_defs.push((text(name).to_string(), re_emits));
                    }
                }
            }
            flags = Flags::default();
            path_attr = None;
            macro_use = false;
        }
    }

    fn module(
        &mut self,
        node: Node<'_>,
        idx: usize,
        flags: Flags,
        path: Option<String>,
        src: &str,
    ) {
        let Some(name) = node.child_by_field_name("name") else {
            return;
        };
        let name = name.utf8_text(src.as_bytes()).unwrap_or("").to_string();
        match node.child_by_field_name("body") {
            None => self.declare_file(idx, &name, path, flags),
            Some(body) => {
                let child = self.declare_inline(idx, &name, path, flags);
                self.items(body, child, src);
            }
        }
    }

    /// Declares `mod name;` in module `idx`.
    pub(super) fn declare_file(
        &mut self,
        idx: usize,
        name: &str,
        path: Option<String>,
        flags: Flags,
    ) {
        let name = name.strip_prefix("r#").unwrap_or(name);
        self.mods[idx]
            .children
            .push(Child::File(name.to_string(), path.clone(), flags));
        self.add(idx, name, Entry::File(path));
    }

    /// Declares an inline `mod name { … }` in module `idx`; returns the new module's index.
    pub(super) fn declare_inline(
        &mut self,
        idx: usize,
        name: &str,
        path: Option<String>,
        flags: Flags,
    ) -> usize {
        let name = name.strip_prefix("r#").unwrap_or(name);
        let mut inline_names = self.mods[idx].inline_names.clone();
        inline_names.push(name.to_string());
        let info = ModInfo {
            complete: self.mods[idx].complete,
            inline_names,
            path_attr: self.mods[idx].path_attr || path.is_some(),
            ..ModInfo::default()
        };
        self.mods.push(info);
        let child = self.mods.len() - 1;
        self.mods[idx].children.push(Child::Inline(child, flags));
        self.add(idx, name, Entry::Inline(child));
        child
    }

    pub(super) fn add(&mut self, idx: usize, name: &str, entry: Entry) {
        let name = name.strip_prefix("r#").unwrap_or(name);
        let names = &mut self.mods[idx].names;
        let existing = names.get(name);
        if matches!(entry, Entry::Other) && existing.is_some() {
            return;
        }
        // A module declared twice (under different `cfg`s) is entered by neither.
        let twice = matches!(existing, Some(Entry::Inline(..) | Entry::File(..)));
        let entry = if twice { Entry::Other } else { entry };
        names.insert(name.to_string(), entry);
    }

    /// The names a `use` tree imports; a glob makes the module incomplete. `last`: the last
    /// segment of the path a list sits under (what `self` in the list imports).
    fn use_names(&mut self, node: Node<'_>, idx: usize, src: &str, last: Option<&str>) {
        let text = |n: Node<'_>| n.utf8_text(src.as_bytes()).unwrap_or("").to_string();
        let last_of = |n: Node<'_>| match n.kind() {
            "scoped_identifier" => n.child_by_field_name("name").map(text),
            "identifier" | "crate" | "super" => Some(text(n)),
            _ => None,
        };
        match node.kind() {
            "use_wildcard" => {
                self.mods[idx].complete = false;
                self.mods[idx].glob = true;
            }
            "use_as_clause" => {
                if let Some(alias) = node.child_by_field_name("alias") {
                    self.add(idx, &text(alias), Entry::Other);
                }
            }
            "scoped_use_list" => {
                let last = node.child_by_field_name("path").and_then(last_of);
                if let Some(list) = node.child_by_field_name("list") {
                    self.use_names(list, idx, src, last.as_deref());
                }
            }
            "use_list" => {
                let mut c = node.walk();
                let items: Vec<Node<'_>> = node.named_children(&mut c).collect();
                for item in items {
                    self.use_names(item, idx, src, last);
                }
            }
            "self" => match last {
                Some(last) => self.add(idx, last, Entry::Other),
                None => self.mods[idx].complete = false,
            },
            "scoped_identifier" | "identifier" => match last_of(node) {
                Some(name) => self.add(idx, &name, Entry::Other),
                None => self.mods[idx].complete = false,
            },
            _ => self.mods[idx].complete = false,
        }
    }
}

/// Whether macro text has a `mod` keyword followed by a name or a metavariable.
fn declares_mod(text: &str) -> bool {
    text.match_indices("mod").any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + 3..].trim_start();
        before.is_none_or(|c| !c.is_alphanumeric() && c != '_')
            && text[at + 3..].starts_with(char::is_whitespace)
            && after.starts_with(|c: char| c == '$' || c == '_' || c.is_alphabetic())
    })
}

/// The contents of string literals that name Rust files (`include!("x.rs")`, trybuild's
/// `"tests/ui/*.rs"`) or, as a macro's `dir!("…")` argument, a directory of them (automod).
fn path_mentions(src: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(start) = src[at..].find('"').map(|i| at + i) {
        let Some(len) = src[start + 1..].find('"') else {
            break;
        };
        let text = &src[start + 1..start + 1 + len];
        let plain = text.len() < 300
            && !text.contains(char::is_whitespace)
            && !text.contains("://")
            && !text.contains('\\');
        let dir_macro = src[..start].trim_end().ends_with("dir!(");
        // A pattern without a directory (`"*.rs"`) is test data, not a list of files.
        let file = text.ends_with(".rs") && (!text.contains('*') || text.contains('/'));
        if plain && (file || (dir_macro && !text.trim_matches(['.', '/']).is_empty())) {
            found.push(text.to_string());
        }
        at = start + len + 2;
    }
    found.sort();
    found.dedup();
    found
}
