//! Where a file sits in its crate: the crate roots that may include it and the chain of
//! modules from each root down to it; and the check of `crate::`/`self::`/`super::` paths
//! against that tree.

use std::cell::OnceCell;
use std::sync::Arc;

use crate::checks::ProjectFiles;
use crate::lang::ParsedFile;

use super::Memo;
use super::attrs::Flags;
use super::manifest::{Package, join, normalize, parent};
use super::modules::{FileModules, Files, Lookup, ModRef, lookup};
use super::paths::{Anchor, ModPath, Scan};

/// The files a check may look at: the checked file (already parsed) and the rest, memoised.
pub struct Resolver<'a> {
    pub project: &'a dyn ProjectFiles,
    pub memo: &'a Memo,
    pub file: &'a ParsedFile<'a>,
    current: OnceCell<Arc<FileModules>>,
    chains: OnceCell<Vec<Vec<(ModRef, Flags)>>>,
}

impl Files for Resolver<'_> {
    fn modules(&self, path: &str) -> Option<Arc<FileModules>> {
        if path == self.file.path {
            let fm = self.current.get_or_init(|| {
                Arc::new(FileModules::collect(
                    self.file.tree.root_node(),
                    self.file.source,
                ))
            });
            return Some(fm.clone());
        }
        self.memo.modules(self.project, path)
    }

    fn exists(&self, path: &str) -> bool {
        self.project.exists(path)
    }
}

/// The roots of the crates that may include a file, each with the module names from the root
/// down to the file.
pub struct Roots {
    pub is_root: bool,
    pub candidates: Vec<(String, Vec<String>)>,
}

/// The package-relative path of a file.
pub fn relative<'p>(pkg: &Package, file: &'p str) -> &'p str {
    if pkg.dir.is_empty() {
        file
    } else {
        file.strip_prefix(&pkg.dir)
            .and_then(|r| r.strip_prefix('/'))
            .unwrap_or(file)
    }
}

/// The package-relative path of the build script, if the package has one.
pub fn build_script(pkg: &Package) -> Option<String> {
    match &pkg.manifest.build {
        None => Some("build.rs".to_string()),
        Some(Some(path)) => Some(normalize(path)),
        Some(None) => None,
    }
}

/// The package-relative path of the library root.
pub fn lib_root(pkg: &Package) -> String {
    pkg.manifest
        .lib_path
        .as_deref()
        .map_or_else(|| "src/lib.rs".to_string(), normalize)
}

fn auto_target(parts: &[&str]) -> bool {
    match parts {
        ["src", "bin", file] => file.ends_with(".rs"),
        ["src", "bin", _, "main.rs"] => true,
        [dir, file] => matches!(*dir, "tests" | "benches" | "examples") && file.ends_with(".rs"),
        [dir, _, "main.rs"] => matches!(*dir, "tests" | "benches" | "examples"),
        _ => false,
    }
}

/// The crate roots that may include `file`.
pub fn roots(pkg: &Package, file: &str) -> Roots {
    let rel = relative(pkg, file);
    let m = &pkg.manifest;
    let lib = lib_root(pkg);
    let parts: Vec<&str> = rel.split('/').collect();
    let is_root = rel == lib
        || rel == "src/main.rs"
        || build_script(pkg).as_deref() == Some(rel)
        || m.bin_paths
            .iter()
            .chain(&m.dev_target_paths)
            .any(|p| p == rel)
        || auto_target(&parts);
    let mut candidates = Vec::new();
    if is_root {
        candidates.push((rel.to_string(), Vec::new()));
    } else if parts.len() >= 4 && parts[0] == "src" && parts[1] == "bin" {
        candidates.push((
            format!("src/bin/{}/main.rs", parts[2]),
            components(&parts[3..]),
        ));
    } else if parts.len() >= 3 && matches!(parts[0], "tests" | "benches" | "examples") {
        candidates.push((
            format!("{}/{}/main.rs", parts[0], parts[1]),
            components(&parts[2..]),
        ));
    } else if parts[0] == "src" {
        for root in [lib.as_str(), "src/main.rs"] {
            let dir = parent(root);
            if let Some(rest) = rel.strip_prefix(dir).and_then(|r| r.strip_prefix('/')) {
                let rest: Vec<&str> = rest.split('/').collect();
                candidates.push((root.to_string(), components(&rest)));
            }
        }
    }
    candidates.dedup();
    let candidates = candidates
        .into_iter()
        .filter(|(_, comps)| comps.iter().all(|c| is_ident(c)))
        .map(|(root, comps)| (join(&pkg.dir, &root), comps))
        .collect();
    Roots {
        is_root,
        candidates,
    }
}

fn components(parts: &[&str]) -> Vec<String> {
    let mut comps: Vec<String> = parts
        .iter()
        .map(|p| p.strip_suffix(".rs").unwrap_or(p).to_string())
        .collect();
    if comps.last().is_some_and(|c| c == "mod") {
        comps.pop();
    }
    comps
}

fn is_ident(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_')
}

impl<'a> Resolver<'a> {
    pub fn new(project: &'a dyn ProjectFiles, memo: &'a Memo, file: &'a ParsedFile<'a>) -> Self {
        Resolver {
            project,
            memo,
            file,
            current: OnceCell::new(),
            chains: OnceCell::new(),
        }
    }

    /// The verified chains of modules from a crate root down to the file, with the flags of
    /// each `mod` declaration on the way.
    pub fn chains(&self, pkg: &Package) -> &[Vec<(ModRef, Flags)>] {
        self.chains.get_or_init(|| {
            let roots = roots(pkg, self.file.path);
            let mut chains = Vec::new();
            for (root, comps) in roots.candidates {
                if !self.exists(&root) {
                    continue;
                }
                let mut chain = vec![(
                    ModRef {
                        file: root,
                        mod_rs: Some(true),
                        idx: 0,
                    },
                    Flags::default(),
                )];
                let verified = comps.iter().all(|comp| {
                    let last = &chain[chain.len() - 1].0;
                    match lookup(self, last, comp) {
                        Lookup::Module(next, flags) => {
                            chain.push((next, flags));
                            true
                        }
                        _ => false,
                    }
                });
                let end = &chain[chain.len() - 1].0;
                if verified && end.file == self.file.path && end.idx == 0 {
                    chains.push(chain);
                }
            }
            chains
        })
    }

    /// The inline modules of the file from its top to `scope`; `None` inside a function body.
    fn inline_refs(&self, scan: &Scan<'_>, top: &ModRef, scope: usize) -> Option<Vec<ModRef>> {
        let mut names = Vec::new();
        let mut at = Some(scope);
        while let Some(i) = at {
            let s = &scan.scopes[i];
            if s.in_fn {
                return None;
            }
            if i != 0 {
                names.push(s.name);
            }
            at = s.parent;
        }
        let mut refs = Vec::new();
        let mut cur = top.clone();
        for name in names.iter().rev() {
            match lookup(self, &cur, name) {
                Lookup::Module(next, _) if next.file == cur.file => cur = next,
                _ => return None,
            }
            refs.push(cur.clone());
        }
        Some(refs)
    }

    /// Where a module path starts, once per way the file is included.
    fn starts(&self, pkg: &Package, scan: &Scan<'_>, path: &ModPath<'_>) -> Vec<ModRef> {
        let chains = self.chains(pkg);
        let pseudo;
        let stacks: Vec<Vec<ModRef>> = if chains.is_empty() {
            let name = self.file.path.rsplit('/').next().unwrap_or("");
            let mod_rs = (name == "mod.rs").then_some(true);
            pseudo = ModRef {
                file: self.file.path.to_string(),
                mod_rs,
                idx: 0,
            };
            if path.anchor == Anchor::Crate {
                return Vec::new();
            }
            vec![vec![pseudo]]
        } else {
            chains
                .iter()
                .map(|c| c.iter().map(|(m, _)| m.clone()).collect())
                .collect()
        };
        let mut starts = Vec::new();
        for mut stack in stacks {
            if path.anchor == Anchor::Crate {
                starts.push(stack[0].clone());
                continue;
            }
            let top = stack[stack.len() - 1].clone();
            let Some(inline) = self.inline_refs(scan, &top, path.scope) else {
                return Vec::new();
            };
            stack.extend(inline);
            let up = match path.anchor {
                Anchor::Super(n) => n,
                _ => 0,
            };
            if up >= stack.len() {
                return Vec::new();
            }
            starts.push(stack[stack.len() - 1 - up].clone());
        }
        starts
    }

    /// The index of the first segment of `path` that names nothing, when it names nothing
    /// from every start.
    pub fn missing_segment(
        &self,
        pkg: &Package,
        scan: &Scan<'_>,
        path: &ModPath<'_>,
    ) -> Option<usize> {
        let starts = self.starts(pkg, scan, path);
        let mut found = None;
        for start in starts.iter() {
            let at = self.walk(start.clone(), path)?;
            if found.is_some_and(|f| f != at) {
                return None;
            }
            found = Some(at);
        }
        found
    }

    fn walk(&self, mut cur: ModRef, path: &ModPath<'_>) -> Option<usize> {
        for (i, (name, _)) in path.segs.iter().take(path.checked).enumerate() {
            match lookup(self, &cur, name) {
                Lookup::Module(next, _) => cur = next,
                Lookup::Missing => return Some(i),
                Lookup::Found | Lookup::Unknown => return None,
            }
        }
        None
    }
}
