//! `undeclared-crate`: which first segments name a crate this package cannot use, and what to
//! tell the user about each (a near-miss, a dependency of another workspace member, a
//! dev-dependency used outside tests).

use std::collections::HashSet;

use crate::checks::Diagnostic;

use super::Memo;
use super::globs::GlobScopes;
use super::manifest::{DepKind, Edition, Package, join, manifest_at};
use super::paths::{CrateRef, RefKind, Scan};
use super::reach::glob;
use super::resolve::Resolver;
use super::targets::{Kind, Target};
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

/// The dependency kinds code of a target sees; `test`: compiled as a unit test.
fn visible(kind: Kind, test: bool) -> &'static [DepKind] {
    match kind {
        Kind::Lib | Kind::Bin if test => &[DepKind::Normal, DepKind::Dev],
        Kind::Lib | Kind::Bin => &[DepKind::Normal],
        Kind::Test | Kind::Bench | Kind::Example => &[DepKind::Normal, DepKind::Dev],
        Kind::Build => &[DepKind::Build],
    }
}

/// The table a crate used by a target of `kind` belongs in.
fn table_for(kind: Option<Kind>) -> &'static str {
    match kind {
        Some(Kind::Build) => DepKind::Build.table(),
        Some(k) if k.is_dev() => DepKind::Dev.table(),
        _ => DepKind::Normal.table(),
    }
}

/// A target as messages name it: "library", "binary `rg`", "test `integration`".
fn describe(target: &Target) -> String {
    match target.kind {
        Kind::Lib | Kind::Build => target.kind.describe().to_string(),
        k => format!("{} `{}`", k.describe(), target.name),
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
    let edition = pkg.edition();
    let lib = pkg.manifest.lib_crate();
    let mut seen = HashSet::new();
    let globs = GlobScopes::new(scan, resolver);
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
                    || globs.may_bring(scan, r.scope, name)))
            || options.allow.iter().any(|a| a == name)
            || r.flags.custom_cfg
            || !edition_checks(edition, r)
            || (r.kind == RefKind::ExternCrate && (name.starts_with("rustc_") || rustc_private))
            || lib.as_deref() == Some(name)
            || !seen.insert(r.node.id())
        {
            continue;
        }
        let m = &pkg.manifest;
        let kinds = m.kinds_of(name);
        // Declared, and every target that compiles the file sees it (any kind, for a file no
        // target reaches).
        let seen_by_all = resolver.vias().iter().all(|v| {
            let kind = resolver.targets[v.target].kind;
            visible(kind, r.flags.test)
                .iter()
                .any(|k| kinds.contains(k))
        });
        if !kinds.is_empty() && seen_by_all {
            continue;
        }
        if m.deps
            .iter()
            .any(|(dep, _)| dep != name && same_crate(dep, name))
        {
            continue;
        }
        let root_crates = root_crates.get_or_insert_with(|| root_extern_crates(resolver));
        if r.kind != RefKind::ExternCrate && root_crates.iter().any(|c| c == name) {
            continue;
        }
        if let Some(d) = report(file, pkg, r, name, resolver) {
            out.push(d);
        }
    }
}

/// Whether the edition lets a first segment of this kind name a crate. Edition 2015 resolves
/// `use` paths and `::x` paths from the crate root (they name its items, not crates), but
/// paths in code and attributes reach the extern prelude (the package's dependencies) as in
/// later editions; macro arguments may become `use` paths there, so they are left alone.
fn edition_checks(edition: Edition, r: &CrateRef<'_>) -> bool {
    match edition {
        Edition::Modern => true,
        Edition::E2015 => {
            r.kind == RefKind::ExternCrate
                || (matches!(r.kind, RefKind::Path | RefKind::Attribute) && !r.leading_colon)
        }
        Edition::Unknown => r.kind == RefKind::ExternCrate,
    }
}

/// `extern crate` names of the crate roots that include the file (of every target when none
/// does): the extern prelude.
fn root_extern_crates(resolver: &Resolver<'_>) -> Vec<String> {
    use super::tree::Files as _;
    let targets = &resolver.targets;
    let vias = resolver.vias();
    let roots: Vec<&str> = if vias.is_empty() {
        targets.iter().map(|t| t.root.as_str()).collect()
    } else {
        vias.iter()
            .map(|v| targets[v.target].root.as_str())
            .collect()
    };
    let mut names = Vec::new();
    for path in roots {
        if let Some(fm) = resolver.modules(path) {
            names.extend(fm.extern_crates.iter().cloned());
        }
    }
    names
}

/// The finding for a crate the file cannot use, unless it is one it may use after all.
fn report(
    file: &ParsedFile<'_>,
    pkg: &Package,
    r: &CrateRef<'_>,
    name: &str,
    resolver: &Resolver<'_>,
) -> Option<Diagnostic> {
    let kinds = pkg.manifest.kinds_of(name);
    let vias = resolver.vias();
    let (message, help) = if kinds.is_empty() {
        let custom = vias
            .iter()
            .any(|v| v.chain.iter().any(|(_, f)| f.custom_cfg));
        if custom {
            return None;
        }
        let kind = vias.first().map(|v| resolver.targets[v.target].kind);
        (
            format!("`{name}` is not a dependency of package `{}`", pkg.name()),
            undeclared_help(resolver.project, resolver.memo, pkg, kind, name),
        )
    } else {
        wrong_kind(pkg, r, name, &kinds, resolver)?
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

/// A crate declared only as a kind of dependency that a target compiling this file does not
/// see (a dev-dependency in library code), when the code and its modules are under no `cfg`.
fn wrong_kind(
    pkg: &Package,
    r: &CrateRef<'_>,
    name: &str,
    kinds: &[DepKind],
    resolver: &Resolver<'_>,
) -> Option<(String, String)> {
    if r.flags.token_tree || r.flags.any_cfg {
        return None;
    }
    let manifest_path = pkg.manifest_path();
    let package = pkg.name();
    let via = resolver.vias().iter().find(|v| {
        let plain = v.chain.iter().all(|(_, f)| !f.any_cfg && !f.test);
        let test = r.flags.test;
        plain
            && !visible(resolver.targets[v.target].kind, test)
                .iter()
                .any(|k| kinds.contains(k))
    })?;
    let target = &resolver.targets[via.target];
    let what = describe(target);
    Some(match target.kind {
        Kind::Build => (
            format!(
                "`{name}` is not a build-dependency of package `{package}`: build.rs sees only [build-dependencies]"
            ),
            format!("add it to [build-dependencies] in {manifest_path}"),
        ),
        Kind::Lib | Kind::Bin if kinds.contains(&DepKind::Dev) => (
            format!(
                "`{name}` is only a dev-dependency of package `{package}`, and this is {what} code, not test code"
            ),
            format!(
                "add it to [dependencies] in {manifest_path}, or use it only under #[cfg(test)]"
            ),
        ),
        _ => (
            format!(
                "`{name}` is only a build-dependency of package `{package}`, for build.rs, and this is {what} code"
            ),
            format!(
                "add it to {} in {manifest_path}",
                table_for(Some(target.kind))
            ),
        ),
    })
}

fn undeclared_help(
    project: &dyn ProjectFiles,
    memo: &Memo,
    pkg: &Package,
    kind: Option<Kind>,
    name: &str,
) -> String {
    let manifest_path = pkg.manifest_path();
    let table = table_for(kind);
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
    }
}
