//! Where a file sits in its crates (the chains of modules from each target's root down to
//! it), and the check of `crate::`/`self::`/`super::` paths against that tree.

use std::cell::OnceCell;
use std::collections::HashSet;
use std::sync::Arc;

use crate::checks::ProjectFiles;
use crate::lang::ParsedFile;

use super::Memo;
use super::attrs::Flags;
use super::modules::FileModules;
use super::paths::{Anchor, ModPath, Scan};
use super::reach::Via;
use super::targets::Target;
use super::tree::{Files, Lookup, ModRef, lookup};

/// The files a check may look at: the checked file (already parsed) and the rest, memoised.
pub struct Resolver<'a> {
    pub project: &'a dyn ProjectFiles,
    pub memo: &'a Memo,
    pub file: &'a ParsedFile<'a>,
    /// The package's targets, and the ways they reach the file.
    pub targets: Arc<Vec<Target>>,
    pub vias: Vec<Via>,
    current: OnceCell<Arc<FileModules>>,
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

    fn text(&self, path: &str) -> Option<Arc<str>> {
        self.project.read(path)
    }

    fn macros_re_emit(&self, m: &ModRef, macros: &[String]) -> bool {
        let mut roots: Vec<ModRef> = self
            .vias
            .iter()
            .filter_map(|v| v.chain.first().map(|(r, _)| r.clone()))
            .collect();
        roots.dedup();
        !roots.is_empty()
            && macros
                .iter()
                .all(|name| super::transparent::is_transparent(self, &roots, m, name))
    }
}

impl<'a> Resolver<'a> {
    pub fn new(
        project: &'a dyn ProjectFiles,
        memo: &'a Memo,
        file: &'a ParsedFile<'a>,
        targets: Arc<Vec<Target>>,
    ) -> Self {
        Resolver {
            project,
            memo,
            file,
            targets,
            vias: Vec::new(),
            current: OnceCell::new(),
        }
    }

    /// The ways the package's targets reach the file.
    pub fn vias(&self) -> &[Via] {
        &self.vias
    }

    /// The chains of modules from a crate root down to the file, with the flags of each `mod`
    /// declaration on the way.
    pub fn chains(&self) -> Vec<&[(ModRef, Flags)]> {
        self.vias().iter().map(|v| v.chain.as_slice()).collect()
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
                Lookup::Module(next) if next.file == cur.file => cur = next,
                _ => return None,
            }
            refs.push(cur.clone());
        }
        Some(refs)
    }

    /// Where a module path starts, once per way the file is included.
    fn starts(&self, scan: &Scan<'_>, path: &ModPath<'_>) -> Vec<ModRef> {
        let chains = self.chains();
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
    pub fn missing_segment(&self, scan: &Scan<'_>, path: &ModPath<'_>) -> Option<usize> {
        let starts = self.starts(scan, path);
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

    /// The names of the module `path` leads to (from every start), when they can all be known:
    /// what `use path::*` imports.
    pub fn module_names(&self, scan: &Scan<'_>, path: &ModPath<'_>) -> Option<HashSet<String>> {
        let starts = self.starts(scan, path);
        if starts.is_empty() {
            return None;
        }
        let mut names = HashSet::new();
        for mut cur in starts {
            for (name, _) in &path.segs {
                match lookup(self, &cur, name) {
                    Lookup::Module(next) => cur = next,
                    _ => return None,
                }
            }
            let fm = self.modules(&cur.file)?;
            let info = fm.mods.get(cur.idx)?;
            if info.glob {
                return None;
            }
            names.extend(info.names.keys().cloned());
        }
        Some(names)
    }

    fn walk(&self, mut cur: ModRef, path: &ModPath<'_>) -> Option<usize> {
        for (i, (name, _)) in path.segs.iter().take(path.checked).enumerate() {
            match lookup(self, &cur, name) {
                Lookup::Module(next) => cur = next,
                Lookup::Missing => return Some(i),
                Lookup::Found | Lookup::Unknown => return None,
            }
        }
        None
    }
}
