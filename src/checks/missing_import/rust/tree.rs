//! Walking the module tree: what a name is in a module (`lookup`) and where the file of a
//! `mod x;` declaration is (`x.rs`, `x/mod.rs`, a `#[path]`), by the rules rustc applies.

use std::sync::Arc;

use super::attrs::Flags;
use super::manifest::{join, parent};
use super::modules::{Child, Entry, FileModules, ModInfo};

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
    Module(ModRef),
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
    /// A file's text.
    fn text(&self, path: &str) -> Option<Arc<str>>;
    /// Whether the item-level macros module `m` invokes only re-emit their arguments, so the
    /// names in those arguments are all it declares (`transparent`). Unknown: no.
    fn macros_re_emit(&self, m: &ModRef, macros: &[String]) -> bool {
        let _ = m;
        macros.is_empty()
    }
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
        None if info.complete && files.macros_re_emit(m, &info.macros) => Lookup::Missing,
        None => Lookup::Unknown,
        Some(Entry::Other) => Lookup::Found,
        Some(Entry::Inline(idx)) => Lookup::Module(ModRef {
            file: m.file.clone(),
            mod_rs: m.mod_rs,
            idx: *idx,
        }),
        Some(Entry::File(path)) => match mod_file(files, m, info, name, path.as_deref()) {
            ModFile::Found(next) => Lookup::Module(next),
            ModFile::Absent | ModFile::Unknown => Lookup::Found,
        },
    }
}

/// The module `name` declared in `m` (the first declaration of that name whose file exists),
/// with the flags of its declaration.
pub fn enter(files: &dyn Files, m: &ModRef, name: &str) -> Option<(ModRef, Flags)> {
    let fm = files.modules(&m.file)?;
    let info = fm.mods.get(m.idx)?;
    for child in &info.children {
        match child {
            Child::Inline(idx, flags)
                if fm.mods[*idx].inline_names.last().map(String::as_str) == Some(name) =>
            {
                let next = ModRef {
                    file: m.file.clone(),
                    mod_rs: m.mod_rs,
                    idx: *idx,
                };
                return Some((next, *flags));
            }
            Child::File(n, path, flags) if n == name => {
                if let ModFile::Found(next) = mod_file(files, m, info, name, path.as_deref()) {
                    return Some((next, *flags));
                }
            }
            _ => {}
        }
    }
    None
}

/// Where the file of a `mod name;` declaration is.
pub enum ModFile {
    Found(ModRef),
    /// No such file: the declaration does not compile (or the file is generated).
    Absent,
    /// The file cannot be known (`#[cfg_attr(…, path = …)]`, a `#[path]` on an inline module,
    /// both `x.rs` and `x/mod.rs`).
    Unknown,
}

/// The file of `mod name;` in module `m`.
pub fn mod_file(
    files: &dyn Files,
    m: &ModRef,
    info: &ModInfo,
    name: &str,
    path: Option<&str>,
) -> ModFile {
    if info.path_attr {
        return ModFile::Unknown;
    }
    // The directory a module's `mod x;` files (and `#[path]`s inside inline modules) are in.
    let dir = |inline: bool| -> Option<String> {
        let mut dir = match m.mod_rs {
            Some(true) => parent(&m.file).to_string(),
            Some(false) => m.file.strip_suffix(".rs")?.to_string(),
            None => return None,
        };
        if inline {
            for name in &info.inline_names {
                dir = join(&dir, name);
            }
        }
        Some(dir)
    };
    if let Some(path) = path {
        if path.is_empty() {
            return ModFile::Unknown;
        }
        // Outside inline modules a `#[path]` is relative to the file's own directory; a file
        // loaded through `#[path]` is treated as a `mod.rs` (its modules are its siblings).
        let base = if info.inline_names.is_empty() {
            Some(parent(&m.file).to_string())
        } else {
            dir(true)
        };
        let Some(base) = base else {
            return ModFile::Unknown;
        };
        let file = join(&base, path);
        return if files.exists(&file) {
            ModFile::Found(ModRef {
                file,
                mod_rs: Some(true),
                idx: 0,
            })
        } else {
            ModFile::Absent
        };
    }
    let Some(dir) = dir(true) else {
        return ModFile::Unknown;
    };
    let flat = join(&dir, &format!("{name}.rs"));
    let nested = join(&dir, &format!("{name}/mod.rs"));
    match (files.exists(&flat), files.exists(&nested)) {
        (true, false) => ModFile::Found(ModRef {
            file: flat,
            mod_rs: Some(false),
            idx: 0,
        }),
        (false, true) => ModFile::Found(ModRef {
            file: nested,
            mod_rs: Some(true),
            idx: 0,
        }),
        (false, false) => ModFile::Absent,
        (true, true) => ModFile::Unknown,
    }
}
