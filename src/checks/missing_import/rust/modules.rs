//! The module tree: the names each module of a file declares (items, `use` imports, `mod`
//! declarations and where their files are), and the walk down `crate::a::b` from a module.
//! A module whose names cannot all be known (a glob import, an item-level macro, a file that
//! does not parse) is incomplete: nothing is reported about it.

use std::collections::HashMap;
use std::sync::Arc;

use tree_sitter::Node;

use super::attrs::{Flags, attribute_flags};
use super::manifest::{join, parent};

/// A name a module declares.
#[derive(Debug, Clone)]
pub enum Entry {
    /// An inline `mod x { … }`: its index in the file's modules.
    Inline(usize, Flags),
    /// `mod x;` in a file, with its `#[path]` if any.
    File(Option<String>, Flags),
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
}

/// The modules of one file: `[0]` is the file's own.
#[derive(Debug, Default)]
pub struct FileModules {
    pub mods: Vec<ModInfo>,
    /// `extern crate` names (or aliases) at the file's top level.
    pub extern_crates: Vec<String>,
}

/// Macros known not to declare modules or glob imports; their names are in their arguments.
const ITEM_MACROS: &[&str] = &[
    "thread_local",
    "lazy_static",
    "bitflags",
    "const_assert",
    "const_assert_eq",
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
        fm
    }

    fn items(&mut self, body: Node<'_>, idx: usize, src: &str) {
        let text = |n: Node<'_>| n.utf8_text(src.as_bytes()).unwrap_or("");
        let mut flags = Flags::default();
        let mut path_attr: Option<String> = None;
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
                "mod_item" => self.module(node, idx, flags, path_attr.take(), src),
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
                }
            }
            flags = Flags::default();
            path_attr = None;
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
        let Some(body) = node.child_by_field_name("body") else {
            self.add(idx, &name, Entry::File(path, flags));
            return;
        };
        let mut inline_names = self.mods[idx].inline_names.clone();
        inline_names.push(name.clone());
        let child = ModInfo {
            names: HashMap::new(),
            complete: self.mods[idx].complete,
            inline_names,
            path_attr: self.mods[idx].path_attr || path.is_some(),
        };
        self.mods.push(child);
        let child = self.mods.len() - 1;
        self.add(idx, &name, Entry::Inline(child, flags));
        self.items(body, child, src);
    }

    fn add(&mut self, idx: usize, name: &str, entry: Entry) {
        let name = name.strip_prefix("r#").unwrap_or(name);
        let names = &mut self.mods[idx].names;
        if matches!(entry, Entry::Other) && names.contains_key(name) {
            return;
        }
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
            "use_wildcard" => self.mods[idx].complete = false,
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

    fn item_macro(&mut self, node: Node<'_>, idx: usize, src: &str) {
        let name = node
            .child_by_field_name("macro")
            .map(|m| m.child_by_field_name("name").unwrap_or(m))
            .and_then(|m| m.utf8_text(src.as_bytes()).ok())
            .unwrap_or("");
        if !ITEM_MACROS.contains(&name) {
            self.mods[idx].complete = false;
        }
        // `mod x;` in the arguments (tokio's `cfg_net! { pub mod net; }`) is a file module,
        // resolved from the invoking file, under whatever `cfg` the macro adds.
        let in_macro = Flags {
            any_cfg: true,
            ..Flags::default()
        };
        let text = |n: Node<'_>| n.utf8_text(src.as_bytes()).unwrap_or("");
        let mut stack = vec![node];
        while let Some(n) = stack.pop() {
            let mut c = n.walk();
            let toks: Vec<Node<'_>> = n.children(&mut c).collect();
            for (i, k) in toks.iter().enumerate() {
                if k.kind() == "identifier" {
                    let file_mod = i > 0
                        && text(toks[i - 1]) == "mod"
                        && toks.get(i + 1).is_some_and(|t| t.kind() == ";");
                    let entry = if file_mod {
                        Entry::File(None, in_macro)
                    } else {
                        Entry::Other
                    };
                    self.add(idx, text(*k), entry);
                } else if k.child_count() > 0 {
                    stack.push(*k);
                }
            }
        }
    }
}

/// A module: a file, whether that file is a `mod.rs`-like one (its `mod x;` files are in its
/// own directory; `None` when unknown), and which of its modules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModRef {
    pub file: String,
    pub mod_rs: Option<bool>,
    pub idx: usize,
}

/// What a name is in a module.
pub enum Lookup {
    /// Declared as a module we can enter.
    Module(ModRef, Flags),
    /// Declared, as something we do not (or cannot) enter.
    Found,
    /// Not declared, and the module's names are all known.
    Missing,
    /// Not declared, but the module's names are not all known.
    Unknown,
}

/// Where the files of a module's `mod x;` declarations are, by the file and its modules.
pub trait Files {
    fn modules(&self, path: &str) -> Option<Arc<FileModules>>;
    fn exists(&self, path: &str) -> bool;
}

/// Looks `name` up in module `m`.
pub fn lookup(files: &dyn Files, m: &ModRef, name: &str) -> Lookup {
    let Some(fm) = files.modules(&m.file) else {
        return Lookup::Unknown;
    };
    let Some(info) = fm.mods.get(m.idx) else {
        return Lookup::Unknown;
    };
    let name = name.strip_prefix("r#").unwrap_or(name);
    match info.names.get(name) {
        None if info.complete => Lookup::Missing,
        None => Lookup::Unknown,
        Some(Entry::Other) => Lookup::Found,
        Some(Entry::Inline(idx, flags)) => Lookup::Module(
            ModRef {
                file: m.file.clone(),
                mod_rs: m.mod_rs,
                idx: *idx,
            },
            *flags,
        ),
        Some(Entry::File(path, flags)) => match mod_file(files, m, info, name, path.as_deref()) {
            Some(next) => Lookup::Module(next, *flags),
            None => Lookup::Found,
        },
    }
}

/// The file of `mod name;` in module `m`, when it can be known.
fn mod_file(
    files: &dyn Files,
    m: &ModRef,
    info: &ModInfo,
    name: &str,
    path: Option<&str>,
) -> Option<ModRef> {
    if info.path_attr {
        return None;
    }
    if let Some(path) = path {
        if !info.inline_names.is_empty() || path.is_empty() {
            return None;
        }
        let file = join(parent(&m.file), path);
        return files.exists(&file).then_some(ModRef {
            file,
            mod_rs: None,
            idx: 0,
        });
    }
    let mut dir = if m.mod_rs? {
        parent(&m.file).to_string()
    } else {
        let stem = m.file.strip_suffix(".rs")?;
        stem.to_string()
    };
    for inline in &info.inline_names {
        dir = join(&dir, inline);
    }
    let flat = join(&dir, &format!("{name}.rs"));
    let nested = join(&dir, &format!("{name}/mod.rs"));
    match (files.exists(&flat), files.exists(&nested)) {
        (true, false) => Some(ModRef {
            file: flat,
            mod_rs: Some(false),
            idx: 0,
        }),
        (false, true) => Some(ModRef {
            file: nested,
            mod_rs: Some(true),
            idx: 0,
        }),
        _ => None,
    }
}
