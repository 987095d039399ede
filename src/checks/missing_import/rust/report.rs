//! `undeclared-crate`: which first segments name a crate this package cannot use, and what to
//! tell the user about each (a near-miss, a dependency of another workspace member, a
//! dev-dependency used outside tests).

use std::collections::HashSet;

use crate::checks::Diagnostic;

use super::Memo;
use super::manifest::{DepKind, Edition, Package, join, manifest_at};
use super::paths::{CrateRef, RefKind, Scan};
use super::resolve::{Resolver, build_script, lib_root, relative, roots};
use crate::checks::ProjectFiles;
use crate::checks::missing_import::{Options, diagnostic};
use crate::lang::ParsedFile;

/// Crates every Rust build can name.
const SYSROOT: &[&str] = &["std", "core", "alloc", "proc_macro", "test"];
/// Primitive types, whose associated items look like paths (`u8::MAX`).
const PRIMITIVES: &[&str] = &[
    "bool", "char", "str", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64",
    "i128", "isize", "f16", "f32", "f64", "f128",
];
/// Tools whose attributes look like paths (`#[rustfmt::skip]`).
const TOOLS: &[&str] = &[
    "rustfmt",
    "clippy",
    "rustdoc",
    "diagnostic",
    "rust_analyzer",
    "miri",
];

/// What a file is to its package, for which dependencies it sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Library or binary code.
    Src,
    /// The build script.
    Build,
    /// Tests, benches, examples.
    Dev,
    /// Anything else: it may be included from anywhere.
    Other,
}

impl Class {
    pub fn of(pkg: &Package, file: &str) -> Class {
        let rel = relative(pkg, file);
        let m = &pkg.manifest;
        if build_script(pkg).as_deref() == Some(rel) {
            Class::Build
        } else if ["tests/", "benches/", "examples/"]
            .iter()
            .any(|d| rel.starts_with(d))
            || m.dev_target_paths.iter().any(|p| p == rel)
        {
            Class::Dev
        } else if rel.starts_with("src/")
            || lib_root(pkg) == rel
            || m.bin_paths.iter().any(|p| p == rel)
        {
            Class::Src
        } else {
            Class::Other
        }
    }

    fn kinds(self, test: bool) -> &'static [DepKind] {
        match self {
            Class::Src if test => &[DepKind::Normal, DepKind::Dev],
            Class::Src => &[DepKind::Normal],
            Class::Build => &[DepKind::Build],
            Class::Dev => &[DepKind::Normal, DepKind::Dev],
            Class::Other => &[DepKind::Normal, DepKind::Dev, DepKind::Build],
        }
    }

    fn table(self) -> &'static str {
        match self {
            Class::Build => DepKind::Build.table(),
            Class::Dev => DepKind::Dev.table(),
            Class::Src | Class::Other => DepKind::Normal.table(),
        }
    }
}

/// Whether a name could be a crate's: lower snake case.
fn crate_like(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A dependency key and a library name that may differ only in `_`, a `rust_` prefix or an
/// `_rs` suffix (`md-5` is `md5`, `rust-ini` is `ini`, `xml-rs` is `xml`).
fn same_crate(a: &str, b: &str) -> bool {
    let key = |s: &str| {
        let s = s.strip_prefix("rust_").unwrap_or(s);
        let s = s.strip_suffix("_rs").unwrap_or(s);
        s.replace('_', "")
    };
    key(a) == key(b)
}

/// Reports the crates of `scan` this package cannot use.
pub fn undeclared(
    file: &ParsedFile<'_>,
    options: &Options,
    pkg: &Package,
    scan: &Scan<'_>,
    resolver: &Resolver<'_>,
    out: &mut Vec<Diagnostic>,
) {
    let class = Class::of(pkg, file.path);
    let modern = pkg.edition() == Edition::Modern;
    let lib = pkg.manifest.lib_crate();
    let mut seen = HashSet::new();
    let mut root_crates: Option<Vec<String>> = None;
    // `extern crate rustc_*` means the compiler's own crates are available (`rustc_private`).
    let rustc_private = scan
        .crates
        .iter()
        .any(|r| r.kind == RefKind::ExternCrate && r.name.starts_with("rustc_"));
    for r in &scan.crates {
        let name = r.name.strip_prefix("r#").unwrap_or(r.name);
        if !crate_like(name)
            || SYSROOT.contains(&name)
            || PRIMITIVES.contains(&name)
            || TOOLS.contains(&name)
            || (!r.leading_colon
                && (scan.locals.contains(name)
                    || scan.locals.contains(r.name)
                    || scan.locals.contains(format!("r#{name}").as_str())
                    || opaque(scan, r.scope)))
            || options.allow.iter().any(|a| a == name)
            || r.flags.custom_cfg
            || (!modern && r.kind != RefKind::ExternCrate)
            || (r.kind == RefKind::ExternCrate && (name.starts_with("rustc_") || rustc_private))
            || lib.as_deref() == Some(name)
            || !seen.insert(r.node.id())
        {
            continue;
        }
        let m = &pkg.manifest;
        if m.has(name, class.kinds(r.flags.test)) {
            continue;
        }
        if m.deps
            .iter()
            .any(|(dep, _)| dep != name && same_crate(dep, name))
        {
            continue;
        }
        let root_crates = root_crates.get_or_insert_with(|| root_extern_crates(resolver, pkg));
        if r.kind != RefKind::ExternCrate && root_crates.iter().any(|c| c == name) {
            continue;
        }
        if let Some(d) = report(file, pkg, class, r, name, resolver) {
            out.push(d);
        }
    }
}

/// The module or one around it has a glob import or an `include!`.
fn opaque(scan: &Scan<'_>, scope: usize) -> bool {
    let mut at = Some(scope);
    while let Some(i) = at {
        if scan.scopes[i].opaque {
            return true;
        }
        at = scan.scopes[i].parent;
    }
    false
}

/// `extern crate` names of the crate roots that may include the file: the extern prelude.
fn root_extern_crates(resolver: &Resolver<'_>, pkg: &Package) -> Vec<String> {
    use super::modules::Files as _;
    let mut names = Vec::new();
    let mut files = vec![
        join(&pkg.dir, &lib_root(pkg)),
        join(&pkg.dir, "src/main.rs"),
    ];
    files.extend(
        roots(pkg, resolver.file.path)
            .candidates
            .into_iter()
            .map(|(r, _)| r),
    );
    for path in files {
        if resolver.exists(&path)
            && let Some(fm) = resolver.modules(&path)
        {
            names.extend(fm.extern_crates.iter().cloned());
        }
    }
    names
}

/// The finding for a crate the file cannot use, unless it is one it may use after all.
fn report(
    file: &ParsedFile<'_>,
    pkg: &Package,
    class: Class,
    r: &CrateRef<'_>,
    name: &str,
    resolver: &Resolver<'_>,
) -> Option<Diagnostic> {
    let manifest_path = pkg.manifest_path();
    let kinds = pkg.manifest.kinds_of(name);
    let package = pkg.name();
    let chains = || resolver.chains(pkg);
    let (message, help) = if kinds.is_empty() {
        let non_root = !roots(pkg, file.path).is_root;
        if non_root && chains().iter().any(|c| c.iter().any(|(_, f)| f.custom_cfg)) {
            return None;
        }
        (
            format!("`{name}` is not a dependency of package `{package}`"),
            undeclared_help(resolver.project, resolver.memo, pkg, class, name),
        )
    } else {
        if r.flags.token_tree || r.flags.any_cfg {
            return None;
        }
        match class {
            Class::Src => {
                let chains = chains();
                let plain = |c: &Vec<(_, super::attrs::Flags)>| {
                    c.iter()
                        .all(|(_, f): &(_, super::attrs::Flags)| !f.any_cfg && !f.test)
                };
                if chains.is_empty() || !chains.iter().all(plain) {
                    return None;
                }
                if kinds.contains(&DepKind::Dev) {
                    (
                        format!(
                            "`{name}` is only a dev-dependency of package `{package}`, and this is not test code"
                        ),
                        format!(
                            "add it to [dependencies] in {manifest_path}, or use it only under #[cfg(test)]"
                        ),
                    )
                } else {
                    (
                        format!(
                            "`{name}` is only a build-dependency of package `{package}`, for build.rs"
                        ),
                        format!("add it to [dependencies] in {manifest_path}"),
                    )
                }
            }
            Class::Build => (
                format!(
                    "`{name}` is not a build-dependency of package `{package}`: build.rs sees only [build-dependencies]"
                ),
                format!("add it to [build-dependencies] in {manifest_path}"),
            ),
            Class::Dev | Class::Other => return None,
        }
    };
    Some(diagnostic(
        file,
        r.node,
        "undeclared-crate",
        message,
        name,
        help,
    ))
}

fn undeclared_help(
    project: &dyn ProjectFiles,
    memo: &Memo,
    pkg: &Package,
    class: Class,
    name: &str,
) -> String {
    let manifest_path = pkg.manifest_path();
    let table = class.table();
    let near = pkg
        .manifest
        .deps
        .iter()
        .map(|(d, _)| d.as_str())
        .filter(|d| close(d, name))
        .min();
    if let Some(near) = near {
        return format!(
            "did you mean `{near}`? Otherwise add `{name}` to {table} in {manifest_path}"
        );
    }
    let members = members_declaring(project, memo, pkg, name);
    if let Some((member, path)) = members.first() {
        return format!(
            "`{name}` is a dependency of workspace member `{member}` ({path}), not of this package: add it to {table} in {manifest_path}"
        );
    }
    let in_ws = pkg
        .workspace
        .as_ref()
        .and_then(|(_, ws)| ws.workspace.as_ref())
        .is_some_and(|w| w.deps.contains(name));
    if in_ws {
        return format!("add `{name} = {{ workspace = true }}` to {table} in {manifest_path}");
    }
    format!("add it to {table} in {manifest_path}, or fix the name")
}

/// A near-miss: edit distance 1 for short names, 2 for longer ones.
fn close(a: &str, b: &str) -> bool {
    let limit = if a.len().min(b.len()) <= 4 { 1 } else { 2 };
    a.len().abs_diff(b.len()) <= limit && levenshtein(a, b) <= limit
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// Other members of the workspace that declare `name`: (package, manifest path).
fn members_declaring(
    project: &dyn ProjectFiles,
    memo: &Memo,
    pkg: &Package,
    name: &str,
) -> Vec<(String, String)> {
    let Some((ws_dir, ws)) = &pkg.workspace else {
        return Vec::new();
    };
    let Some(w) = &ws.workspace else {
        return Vec::new();
    };
    let mut dirs: Vec<String> = vec![ws_dir.clone()];
    for pattern in &w.members {
        if pattern.contains('*') {
            let prefix = if ws_dir.is_empty() {
                String::new()
            } else {
                format!("{ws_dir}/")
            };
            for path in project.paths() {
                if let Some(rel) = path
                    .strip_prefix(&prefix)
                    .and_then(|p| p.strip_suffix("/Cargo.toml"))
                    && glob(pattern, rel)
                {
                    dirs.push(join(ws_dir, rel));
                }
            }
        } else {
            dirs.push(join(ws_dir, pattern));
        }
    }
    let mut found = Vec::new();
    for dir in dirs {
        let path = join(&dir, "Cargo.toml");
        let excluded = w.exclude.iter().any(|e| join(ws_dir, e) == dir);
        if dir == pkg.dir || excluded || !project.exists(&path) {
            continue;
        }
        if let Some(m) = manifest_at(project, memo, &path)
            && let Some(package) = &m.package
            && m.has(name, &[DepKind::Normal, DepKind::Dev, DepKind::Build])
        {
            found.push((package.clone(), path));
        }
    }
    found
}

/// A workspace member pattern: `*` matches within one path component.
fn glob(pattern: &str, path: &str) -> bool {
    let (p, s): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), path.split('/').collect());
    p.len() == s.len()
        && p.iter()
            .zip(&s)
            .all(|(p, s)| wildcard(p.as_bytes(), s.as_bytes()))
}

fn wildcard(p: &[u8], s: &[u8]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|i| wildcard(rest, &s[i..])),
        Some((c, rest)) => s.first() == Some(c) && wildcard(rest, &s[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(crate_like("serde_json") && !crate_like("Vec") && !crate_like("_x"));
        assert!(
            same_crate("md_5", "md5")
                && same_crate("rust_ini", "ini")
                && same_crate("xml_rs", "xml")
        );
        assert!(close("serde_jsn", "serde_json") && !close("foo", "bar"));
        assert!(glob("crates/*", "crates/a") && !glob("crates/*", "crates/a/b"));
    }
}
