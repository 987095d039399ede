//! The Rust half of `missing-import`: `use` trees, `extern crate` and paths whose first segment
//! names a crate, against this package's `Cargo.toml`; `crate::`/`self::`/`super::` modules
//! against the module tree. What follows is the user-facing text of the Rust rules.
//!
//! Rust (`undeclared-crate`, `missing-module`), for each `use` tree (nested braces, `as`,
//! globs, a leading `::`), `extern crate`, and path in an expression, a type, an attribute
//! (`#[tokio::main]`, `#[derive(serde::Serialize)]`) or a macro invocation's arguments:
//!
//! - `undeclared-crate`: the first segment is a crate this package cannot use. Accepted:
//!   `std`, `core`, `alloc`, `proc_macro`, `test`; `crate`, `self`, `super`, `Self`; the
//!   package's own library (`[lib] name`, else the package name with `-` → `_`); the
//!   dependencies of the package the file belongs to (the nearest `Cargo.toml` with a
//!   `[package]`): `[dependencies]`, `[target.'cfg(…)'.dependencies]`, optional ones, renamed
//!   ones under their key (`json = { package = "serde_json" }` is `json`), `workspace = true`
//!   ones; `[dev-dependencies]` only in `tests/`, `benches/`, `examples/` and in test code
//!   (`#[cfg(test)]`, `#[test]`, `#[tokio::test]`, any `cfg` naming `test`);
//!   `[build-dependencies]` only in `build.rs`, which sees nothing else; an `extern crate x
//!   as y` alias (in the file or the crate root); any name the file declares (a module,
//!   function, type, constant, macro, `use` import) and names in `allow`. The help says when
//!   the crate is a near-miss of a declared one, a dependency of another workspace member, in
//!   `[workspace.dependencies]` but not used by this member, or only a dev-dependency.
//! - `missing-module`: in a `crate::`, `self::` or `super::` path, a segment used as a module
//!   (every one but the last; in `use a::b::{…}` and `use a::b::*`, `b` too) that its parent
//!   module does not declare. The module tree follows `mod x;` to `x.rs` or `x/mod.rs`,
//!   inline `mod x { … }` and `#[path]`, from the crate roots: `src/lib.rs` (or `[lib] path`),
//!   `src/main.rs`, `src/bin/`, `tests/`, `benches/`, `examples/`, `build.rs`. Any item or
//!   import counts as declared (`crate::config::Kind::A` is fine when `Kind` is an enum).
//!
//! Deliberately not reported, because code that builds can do it:
//!
//! - Anything in a module with a glob import (`use x::*`) or an item-level `include!`, except
//!   a `::crate` path; anything under a `cfg` that normal builds never set (`loom`, `kani`,
//!   `docsrs`, …); macro arguments of `quote!`-like macros, all of a proc-macro crate's macro
//!   arguments, and `macro_rules!` bodies.
//! - A name matching a dependency but for `_`, a `rust-` prefix or an `-rs` suffix (`md-5` is
//!   `md5`, `rust-ini` is `ini`): a library may be named differently from its package.
//! - Lower-case names only: a CamelCase first segment is a type; primitive types (`u8::MAX`,
//!   `str::from_utf8`) and tool attributes (`#[rustfmt::skip]`, `clippy::`) are not crates.
//! - A dev- or build-dependency used in `src/` under any `cfg` or inside a macro's arguments,
//!   or in a file whose `mod` declarations from the crate root cannot all be followed.
//! - Edition 2015 (no `edition` key): `use` paths are crate-relative, so only `extern crate`
//!   of an undeclared crate is reported there.
//! - A module whose names cannot all be known: it has an item-level macro invocation (tokio
//!   declares modules inside `cfg_*!` macros), a glob import, a `#[path]` or
//!   `#[cfg_attr(…, path = …)]` that cannot be followed, or does not parse; a file outside
//!   the module tree of every crate root (`crate::` is unknown there); a file without a
//!   `Cargo.toml` above it, or whose manifest does not parse.
//! - The last segment of a path (`crate::utils::helper`): it may be any item, and items can
//!   come from macros.

mod attrs;
mod manifest;
mod modules;
mod paths;
mod report;
mod resolve;
mod use_tree;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use crate::checks::{Diagnostic, ProjectFiles};
use crate::lang::{Language, ParsedFile};

use super::{Options, diagnostic};
use manifest::{Manifest, package_of};
use modules::FileModules;
use paths::{Anchor, Scan};
use resolve::Resolver;

/// A file's content and what was derived from it.
type Memoised<T> = Mutex<HashMap<String, (Arc<str>, T)>>;

/// What one engine run has learned about manifests and modules, shared by all files.
#[derive(Default)]
pub struct Memo {
    manifests: Memoised<Option<Arc<Manifest>>>,
    modules: Memoised<Option<Arc<FileModules>>>,
}

fn cached<T: Clone>(map: &Memoised<T>, path: &str, text: &Arc<str>, make: impl FnOnce() -> T) -> T {
    if let Ok(map) = map.lock()
        && let Some((seen, value)) = map.get(path)
        && (Arc::ptr_eq(seen, text) || **seen == **text)
    {
        return value.clone();
    }
    let value = make();
    if let Ok(mut map) = map.lock() {
        map.insert(path.to_string(), (text.clone(), value.clone()));
    }
    value
}

impl Memo {
    /// The parsed manifest of `text` at `path`.
    fn manifest(
        &self,
        path: &str,
        text: &Arc<str>,
        parse: impl FnOnce() -> Option<Manifest>,
    ) -> Option<Arc<Manifest>> {
        cached(&self.manifests, path, text, || parse().map(Arc::new))
    }

    /// The modules of the Rust file at `path`; read each time, so the engine records it.
    fn modules(&self, project: &dyn ProjectFiles, path: &str) -> Option<Arc<FileModules>> {
        let text = project.read(path)?;
        cached(&self.modules, path, &text, || {
            let tree = crate::lang::parse(Language::Rust, &text)?;
            // Too deep to walk: unknowable, like a file that does not parse.
            if crate::lang::inspect(&tree, Language::Rust)
                .too_deep
                .is_some()
            {
                return None;
            }
            Some(Arc::new(FileModules::collect(tree.root_node(), &text)))
        })
    }
}

/// Checks one Rust file.
pub fn check(file: &ParsedFile<'_>, options: &Options, memo: &Memo, out: &mut Vec<Diagnostic>) {
    let Some(pkg) = package_of(file.project, memo, file.path) else {
        return;
    };
    let scan = Scan::run(file.tree.root_node(), file.source, pkg.manifest.proc_macro);
    if scan.crates.is_empty() && scan.modules.is_empty() {
        return;
    }
    let resolver = Resolver::new(file.project, memo, file);
    // A file no crate root reaches may not be compiled at all (`// mod old;`).
    if !resolve::roots(&pkg, file.path).is_root && resolver.chains(&pkg).is_empty() {
        return;
    }
    report::undeclared(file, options, &pkg, &scan, &resolver, out);
    let mut seen = HashSet::new();
    for path in &scan.modules {
        let Some(i) = resolver.missing_segment(&pkg, &scan, path) else {
            continue;
        };
        let (name, node) = path.segs[i];
        if !seen.insert(node.id()) {
            continue;
        }
        let anchor = match path.anchor {
            Anchor::Crate => "crate".to_string(),
            Anchor::SelfMod => "self".to_string(),
            Anchor::Super(n) => vec!["super"; n].join("::"),
        };
        let parent: Vec<&str> = std::iter::once(anchor.as_str())
            .chain(path.segs[..i].iter().map(|(s, _)| *s))
            .collect();
        let parent = parent.join("::");
        let symbol = format!("{parent}::{name}");
        out.push(diagnostic(
            file,
            node,
            "missing-module",
            format!("`{symbol}`: there is no module `{name}` in `{parent}`"),
            &symbol,
            format!(
                "`{parent}` declares no item `{name}`: fix the path, or declare `mod {name};` there"
            ),
        ));
    }
}
