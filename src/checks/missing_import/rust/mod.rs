//! The Rust half of `missing-import`: `use` trees, `extern crate` and paths whose first segment
//! names a crate, against this package's `Cargo.toml`; `crate::`/`self::`/`super::` modules
//! against the module tree. What follows is the user-facing text of the Rust rules.
//!
//! Rust (`undeclared-crate`, `missing-module`, `unreached-file`), for each `use` tree (nested
//! braces, `as`, globs, a leading `::`), `extern crate`, and the first segment of every path: in
//! expressions, types, patterns, trait bounds, attributes (`#[tokio::main]`,
//! `#[derive(serde::Serialize)]`) and macro invocations and their arguments
//! (`serde_json::json!`).
//!
//! Every file belongs to the Cargo targets that compile it, found by Cargo's own rules: `[lib]`
//! (its `path`, else `src/lib.rs`), `src/main.rs`, `src/bin/*.rs`, `src/bin/*/main.rs`,
//! `tests/`, `examples/`, `benches/` (`*.rs` and `*/main.rs`), `[[bin]]`, `[[test]]`,
//! `[[example]]`, `[[bench]]` with or without `path`, `autolib`/`autobins`/`autotests`/
//! `autoexamples`/`autobenches = false` (and edition 2015's rule that declaring one target of a
//! kind turns discovery of that kind off), and `build` (`build.rs` by default). From each root
//! the module tree is followed through `mod x;` (`x.rs`, `x/mod.rs`), inline modules, `#[path]`
//! (also inside inline modules, and on modules declared twice under different `cfg`s) and
//! `mod` declarations in macro arguments (`cfg_net! { pub mod net; }`). The package is the
//! nearest `Cargo.toml` with a `[package]`; its workspace the nearest `[workspace]` above that
//! does not `exclude` it (or `package.workspace`).
//!
//! - `undeclared-crate`: the first segment is a crate a target compiling the file cannot use.
//!   Accepted: `std`, `core`, `alloc`, `proc_macro`, `test`; `crate`, `self`, `super`, `Self`;
//!   the package's own library (`[lib] name`, else the package name with `-` → `_`); the
//!   package's dependencies under the name code uses (`json = { package = "serde_json" }` is
//!   `json`; `workspace = true`, optional, `[target.'cfg(…)'.dependencies]` ones); an `extern
//!   crate x as y` alias; any name the file declares (a module, function, type, constant,
//!   macro, `use` import or rename) and what a glob import brings in (a first-party module's
//!   names for `use super::*`, standard-library modules for `use std::…::*`, nothing a path
//!   starts with for an enum's `use Kind::*`); and names in `allow`. Which kinds of dependency
//!   a file sees depends on the targets that compile it: a library or binary sees
//!   `[dependencies]` (and `[dev-dependencies]` in test code: `#[cfg(test)]`, `#[test]`,
//!   `#[tokio::test]`, any `cfg` naming `test`); tests, examples and benches see both; the
//!   build script sees only `[build-dependencies]`. A dev-dependency in library code is a
//!   finding (it will not compile), naming the target. The help says when the crate is a
//!   near-miss of a declared one, a dependency of another workspace member, in
//!   `[workspace.dependencies]` but not used by this member, or only a dev-dependency.
//! - `missing-module`: in a `crate::`, `self::` or `super::` path, a segment used as a module
//!   (every one but the last; in `use a::b::{…}` and `use a::b::*`, `b` too) that its parent
//!   module does not declare, from every crate root that reaches the file. Any item or import
//!   counts as declared (`crate::config::Kind::A` is fine when `Kind` is an enum).
//! - `unreached-file` (warn, reported once per file and nothing else there): a `.rs` file of a
//!   package that no target compiles (a module nobody declares, a test file under `autotests =
//!   false`), or under a virtual workspace but in none of its packages. Files the package's code names in a string (`include!("gen.rs")`, trybuild's
//!   `"tests/ui/*.rs"`, `automod::dir!("tests/x")`) are reached that way, and are checked
//!   against all of the package's dependencies.
//! - `unlocked-dependency` (review): a crate the file uses that the package declares but the
//!   workspace's `Cargo.lock`, when there is one, does not have.
//!
//! Deliberately not reported, because code that builds can do it:
//!
//! - Anything under a glob import from another crate (`use rayon::prelude::*` may bring any
//!   name) or an item-level `include!`, except a `::crate` path; anything under a `cfg` that
//!   normal builds never set (`loom`, `kani`, `docsrs`, …); macro arguments of `quote!`-like
//!   macros, all of a proc-macro crate's macro arguments, paths in the arguments of item-level
//!   macros other than `use` (`impmod! {a::b as c}` may mean `crate::a::b`), and `macro_rules!`
//!   bodies.
//! - A name matching a dependency but for `_`, a `rust-` prefix or an `-rs` suffix (`md-5` is
//!   `md5`, `rust-ini` is `ini`): a library may be named differently from its package.
//! - Lower-case names only: a CamelCase first segment is a type; primitive types (`u8::MAX`,
//!   `str::from_utf8`) and tool attributes (`#[rustfmt::skip]`, `clippy::`) are not crates.
//! - A dev- or build-dependency used under any `cfg` (a feature build may add it), inside a
//!   macro's arguments, or in a module reached only through a `cfg` or a macro.
//! - Edition 2015 (no `edition` key): `use` paths are crate-relative, so only `extern crate`
//!   of an undeclared crate is reported there.
//! - A module whose names cannot all be known: it has an item-level macro invocation (tokio
//!   declares items inside `cfg_*!` macros), a glob import, or does not parse.
//! - Unreached files, when some module file cannot be known: a `#[cfg_attr(…, path = …)]`, a
//!   `#[path]` on an inline module, both `x.rs` and `x/mod.rs`, a `macro_rules!` that declares
//!   modules (serde's `crate_root!`), a file that does not parse. A `.rs` file with no
//!   `Cargo.toml` above it, or whose manifest does not parse, is not Cargo's and not checked.
//! - The last segment of a path (`crate::utils::helper`): it may be any item, and items can
//!   come from macros.

mod attrs;
mod globs;
mod macro_items;
mod manifest;
mod modules;
mod paths;
mod reach;
mod report;
mod resolve;
mod targets;
mod token_tree;
mod transparent;
mod tree;
mod use_tree;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use crate::checks::{Diagnostic, ProjectFiles};
use crate::lang::{Language, ParsedFile};

use super::{Options, diagnostic};
use crate::checks::missing_import::lockfiles::Lock;
pub use manifest::registry_packages;
use manifest::{Manifest, Package, package_of};
use modules::FileModules;
use paths::{Anchor, Scan};
use reach::Reach;
use resolve::Resolver;
use targets::Target;

/// A file's content and what was derived from it.
type Memoised<T> = Mutex<HashMap<String, (Arc<str>, T)>>;

/// What one engine run has learned about manifests and modules, shared by all files.
#[derive(Default)]
pub struct Memo {
    manifests: Memoised<Option<Arc<Manifest>>>,
    modules: Memoised<Option<Arc<FileModules>>>,
    locks: Memoised<Option<Arc<Lock>>>,
    /// Per package (by manifest path): its targets, and the files each reaches.
    targets: Mutex<HashMap<String, Arc<Vec<Target>>>>,
    reach: Mutex<HashMap<String, Arc<OnceLock<Arc<Reach>>>>>,
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

    /// The targets of `pkg`, discovered once per run.
    fn targets(&self, project: &dyn ProjectFiles, pkg: &Package) -> Arc<Vec<Target>> {
        let key = pkg.manifest_path();
        if let Some(found) = self.targets.lock().ok().and_then(|t| t.get(&key).cloned()) {
            project.paths();
            return found;
        }
        let found = Arc::new(targets::discover(pkg, project));
        if let Ok(mut map) = self.targets.lock() {
            map.insert(key, found.clone());
        }
        found
    }

    /// What every target of `pkg` reaches, walked once per run.
    fn reach(&self, project: &dyn ProjectFiles, pkg: &Package, targets: &[Target]) -> Arc<Reach> {
        let cell = match self.reach.lock() {
            Ok(mut map) => map.entry(pkg.manifest_path()).or_default().clone(),
            Err(_) => Arc::default(),
        };
        cell.get_or_init(|| Arc::new(Reach::walk(pkg, project, self, targets.to_vec())))
            .clone()
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
        // Inside a virtual workspace but in none of its packages: Cargo never compiles it.
        if let Some(ws) = manifest::workspace_holding(file.project, memo, file.path) {
            out.push(outside_packages(file, &ws));
        }
        return;
    };
    let targets = memo.targets(file.project, &pkg);
    let mut resolver = Resolver::new(file.project, memo, file, targets.clone());
    // The standard layout first; the whole module trees only when it does not lead here.
    let mut vias = reach::predicted(&resolver, &targets, file.path);
    if vias.is_empty() {
        let reach = memo.reach(file.project, &pkg, &targets);
        vias = reach.vias(file.path).to_vec();
        record_reads(file, &reach, &vias);
        // A file no target compiles is reported once, as such: what it means depends on
        // where it will be declared.
        if vias.is_empty() && !reach.incomplete && !reach.mentioned(file.path) {
            out.push(unreached(file, &pkg, &reach));
            return;
        }
    }
    resolver.vias = vias;
    let scan = Scan::run(file.tree.root_node(), file.source, pkg.manifest.proc_macro);
    if scan.crates.is_empty() && scan.modules.is_empty() {
        return;
    }
    report::undeclared(file, options, &pkg, &scan, &resolver, out);
    unlocked(file, memo, &pkg, &scan, out);
    let mut seen = HashSet::new();
    for path in &scan.modules {
        let Some(i) = resolver.missing_segment(&scan, path) else {
            continue;
        };
        if seen.insert(path.segs[i].1.id()) {
            out.push(missing_module(file, path, i));
        }
    }
}

/// Crates the file uses that its package declares but the workspace's `Cargo.lock` (when there
/// is one) does not have: added to the manifest without ever being resolved.
fn unlocked(
    file: &ParsedFile<'_>,
    memo: &Memo,
    pkg: &Package,
    scan: &Scan<'_>,
    out: &mut Vec<Diagnostic>,
) {
    let dir = pkg
        .workspace
        .as_ref()
        .map_or(pkg.dir.as_str(), |(d, _)| d.as_str());
    let path = manifest::join(dir, "Cargo.lock");
    let Some(text) = file.project.read(&path) else {
        return;
    };
    let Some(lock) = cached(&memo.locks, &path, &text, || {
        Lock::parse(&path, &text).map(Arc::new)
    }) else {
        return;
    };
    let mut seen = HashSet::new();
    for r in &scan.crates {
        let name = r.name.strip_prefix("r#").unwrap_or(r.name);
        let Some(source) = pkg.manifest.sources.get(name) else {
            continue;
        };
        if !seen.insert(name) || scan.locals.contains(name) {
            continue;
        }
        let package = if source.workspace {
            let ws = pkg
                .workspace
                .as_ref()
                .and_then(|(_, w)| w.workspace.as_ref());
            match ws.and_then(|w| w.sources.get(name)) {
                Some(s) => s.package.clone(),
                None => continue,
            }
        } else {
            source.package.clone()
        };
        if lock.get(&package).is_none() {
            let mut d = diagnostic(
                file,
                r.node,
                "unlocked-dependency",
                format!(
                    "`{package}` is declared but {path} does not have it: it was added without being resolved"
                ),
                name,
                format!(
                    "check that `{package}` is the crate you mean, then update {path} (`cargo update -p {package}` or any cargo build)"
                ),
            );
            d.level = Some(crate::checks::Level::Review);
            out.push(d);
        }
    }
}

/// Records, for the engine's cache, the files a result from the full walk depends on: the
/// module chains that reach the file, or every file the walk read when none does.
fn record_reads(file: &ParsedFile<'_>, reach: &Reach, vias: &[reach::Via]) {
    if vias.is_empty() {
        for path in &reach.read {
            file.project.read(path);
        }
        return;
    }
    let mut done = HashSet::new();
    for via in vias {
        for (m, _) in &via.chain {
            if done.insert(m.file.as_str()) && m.file != file.path {
                file.project.read(&m.file);
            }
        }
    }
}

/// The finding for a file that no target of its package compiles.
fn unreached(file: &ParsedFile<'_>, pkg: &Package, reach: &Reach) -> Diagnostic {
    use targets::Kind;
    let main: Vec<&str> = reach
        .targets
        .iter()
        .filter(|t| matches!(t.kind, Kind::Lib | Kind::Bin | Kind::Build))
        .map(|t| t.root.as_str())
        .collect();
    let others = reach.targets.len() - main.len();
    let mut roots = if main.is_empty() {
        "no library, binary or build script".to_string()
    } else {
        main.join(", ")
    };
    if others > 0 {
        roots.push_str(&format!(" and {others} test, example and bench targets"));
    }
    Diagnostic {
        code: "unreached-file".to_string(),
        line: 1,
        column: 1,
        end_line: 1,
        end_column: 1,
        message: format!(
            "no target of package `{}` compiles this file (crate roots: {roots}), and no `mod` declaration leads here",
            pkg.name()
        ),
        symbol: Some(file.path.to_string()),
        help: Some(
            "declare it with `mod name;` in its parent module (or `#[path]`), add a target for it in Cargo.toml, or delete it".to_string(),
        ),
        level: Some(crate::checks::Level::Warn),
    }
}

/// The finding for a file under a virtual workspace that no package contains.
fn outside_packages(file: &ParsedFile<'_>, ws: &str) -> Diagnostic {
    let manifest = manifest::join(ws, "Cargo.toml");
    Diagnostic {
        code: "unreached-file".to_string(),
        line: 1,
        column: 1,
        end_line: 1,
        end_column: 1,
        message: format!(
            "no package of the workspace in {manifest} contains this file: Cargo never compiles it"
        ),
        symbol: Some(file.path.to_string()),
        help: Some(
            "move it into a package's module tree, make its directory a package (a Cargo.toml with [package]) and a workspace member, or delete it".to_string(),
        ),
        level: Some(crate::checks::Level::Warn),
    }
}

fn missing_module(file: &ParsedFile<'_>, path: &paths::ModPath<'_>, i: usize) -> Diagnostic {
    let (name, node) = path.segs[i];
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
    diagnostic(
        file,
        node,
        "missing-module",
        format!("`{symbol}`: there is no module `{name}` in `{parent}`"),
        &symbol,
        format!(
            "`{parent}` declares no item `{name}`: fix the path, or declare `mod {name};` there"
        ),
    )
}
