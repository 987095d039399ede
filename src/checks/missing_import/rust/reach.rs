//! Which targets reach which files: the module tree of every target of a package, walked once
//! per run from its crate root through `mod x;` (files and `#[path]`), inline modules and
//! modules declared in macro arguments. A file no target reaches is not compiled by Cargo.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::checks::ProjectFiles;

use super::Memo;
use super::attrs::Flags;
use super::manifest::{Package, join, parent};
use super::modules::{Child, FileModules};
use super::targets::Target;
use super::tree::{Files, ModFile, ModRef, enter, mod_file};

/// One way a target reaches a file: the modules from the crate root down to it, each with the
/// flags of its `mod` declaration (`[0]` is the root).
#[derive(Debug, Clone)]
pub struct Via {
    pub target: usize,
    pub chain: Vec<(ModRef, Flags)>,
}

/// The targets of a package and what each reaches.
#[derive(Debug, Default)]
pub struct Reach {
    pub targets: Vec<Target>,
    pub files: HashMap<String, Vec<Via>>,
    /// Paths (repository-relative, maybe with `*`) that code of the package names in a string.
    pub mentions: Vec<String>,
    /// Some module file could not be known: a file not reached may still be compiled.
    pub incomplete: bool,
    /// Every file the walk read.
    pub read: Vec<String>,
}

/// The files of the revision, as the walk sees them.
struct Walker<'a> {
    project: &'a dyn ProjectFiles,
    memo: &'a Memo,
}

impl Files for Walker<'_> {
    fn modules(&self, path: &str) -> Option<Arc<FileModules>> {
        self.memo.modules(self.project, path)
    }

    fn exists(&self, path: &str) -> bool {
        self.project.exists(path)
    }

    fn text(&self, path: &str) -> Option<Arc<str>> {
        self.project.read(path)
    }
}

impl Reach {
    /// Walks every target of `pkg`.
    pub fn walk(
        pkg: &Package,
        project: &dyn ProjectFiles,
        memo: &Memo,
        targets: Vec<Target>,
    ) -> Reach {
        let walker = Walker { project, memo };
        let mut reach = Reach {
            targets,
            ..Reach::default()
        };
        let mut read: HashSet<String> = HashSet::new();
        for t in 0..reach.targets.len() {
            let root = ModRef {
                file: reach.targets[t].root.clone(),
                mod_rs: Some(true),
                idx: 0,
            };
            let mut seen: HashSet<(String, usize)> = HashSet::new();
            let mut stack = vec![vec![(root, Flags::default())]];
            while let Some(chain) = stack.pop() {
                let m = chain[chain.len() - 1].0.clone();
                if !seen.insert((m.file.clone(), m.idx)) {
                    continue;
                }
                let Some(fm) = walker.modules(&m.file) else {
                    reach.incomplete = true;
                    continue;
                };
                if read.insert(m.file.clone()) {
                    reach.add_mentions(pkg, &m.file, &fm);
                }
                if m.idx == 0 {
                    let via = Via {
                        target: t,
                        chain: chain.clone(),
                    };
                    reach.files.entry(m.file.clone()).or_default().push(via);
                }
                let Some(info) = fm.mods.get(m.idx) else {
                    continue;
                };
                for child in &info.children {
                    let (next, flags) = match child {
                        Child::Inline(idx, flags) => (
                            ModRef {
                                file: m.file.clone(),
                                mod_rs: m.mod_rs,
                                idx: *idx,
                            },
                            *flags,
                        ),
                        Child::File(name, path, flags) => {
                            match mod_file(&walker, &m, info, name, path.as_deref()) {
                                ModFile::Found(next) => (next, *flags),
                                ModFile::Absent => continue,
                                ModFile::Unknown => {
                                    reach.incomplete = true;
                                    continue;
                                }
                            }
                        }
                    };
                    let mut longer = chain.clone();
                    longer.push((next, flags));
                    stack.push(longer);
                }
            }
        }
        let mut read: Vec<String> = read.into_iter().collect();
        read.sort();
        reach.read = read;
        reach
    }

    fn add_mentions(&mut self, pkg: &Package, file: &str, fm: &FileModules) {
        self.incomplete |= fm.hidden_mods;
        for text in &fm.mentions {
            let text = text.trim_start_matches("./");
            // `concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ui")`: relative to the package.
            let from_pkg = join(&pkg.dir, text.trim_start_matches('/'));
            self.mentions.push(from_pkg);
            if !text.starts_with('/') {
                self.mentions.push(join(parent(file), text));
            }
        }
    }

    /// The ways targets reach `file`.
    pub fn vias(&self, file: &str) -> &[Via] {
        self.files.get(file).map_or(&[], Vec::as_slice)
    }

    /// Whether code of the package names `file` (or a directory or glob that holds it).
    pub fn mentioned(&self, file: &str) -> bool {
        self.mentions.iter().any(|m| {
            if m.contains('*') {
                glob(m, file)
            } else {
                file == m
                    || file
                        .strip_prefix(m.trim_end_matches('/'))
                        .is_some_and(|r| r.starts_with('/'))
            }
        })
    }
}

/// The ways targets reach `file` by the standard layout, without walking whole module trees:
/// the target whose root it is, and the chain of `mod` declarations from each root whose
/// directory holds it (`src/a/b.rs` from `src/lib.rs` through `mod a;` and `mod b;`). Roots
/// that share their directory with many others (a `tests/` of single-file tests) are left to
/// the full walk. Every way found is a real one: findings from them hold whatever else
/// reaches the file.
pub fn predicted(files: &dyn Files, targets: &[Target], file: &str) -> Vec<Via> {
    // A crate root of its own: other roots that include it too are rare, and not needed.
    if let Some(t) = targets.iter().position(|t| t.root == file) {
        let root = ModRef {
            file: file.to_string(),
            mod_rs: Some(true),
            idx: 0,
        };
        return vec![Via {
            target: t,
            chain: vec![(root, Flags::default())],
        }];
    }
    let mut per_dir: HashMap<&str, usize> = HashMap::new();
    for target in targets {
        *per_dir.entry(parent(&target.root)).or_default() += 1;
    }
    let mut vias = Vec::new();
    for (t, target) in targets.iter().enumerate() {
        let root = ModRef {
            file: target.root.clone(),
            mod_rs: Some(true),
            idx: 0,
        };
        let dir = parent(&target.root);
        let rest = if dir.is_empty() {
            Some(file)
        } else {
            file.strip_prefix(dir).and_then(|r| r.strip_prefix('/'))
        };
        let Some(rest) = rest else {
            continue;
        };
        // Among many roots in one directory (`tests/*.rs`), parse only those whose text
        // names where the file is.
        let crowded = per_dir.get(dir).copied().unwrap_or(0) > 4;
        let first = rest.split('/').next().unwrap_or(rest);
        let first = first.strip_suffix(".rs").unwrap_or(first);
        if crowded && !files.text(&target.root).is_some_and(|t| t.contains(first)) {
            continue;
        }
        if let Some(step) = path_child(files, &root, file) {
            vias.push(Via {
                target: t,
                chain: vec![(root, Flags::default()), step],
            });
            continue;
        }
        let mut comps: Vec<&str> = rest
            .split('/')
            .map(|p| p.strip_suffix(".rs").unwrap_or(p))
            .collect();
        if comps.last() == Some(&"mod") {
            comps.pop();
        }
        let mut chain = vec![(root, Flags::default())];
        for comp in comps {
            match enter(files, &chain[chain.len() - 1].0, comp) {
                Some(step) => chain.push(step),
                None => break,
            }
        }
        let end = &chain[chain.len() - 1].0;
        if end.file == file && end.idx == 0 && chain.len() > 1 {
            vias.push(Via { target: t, chain });
        }
    }
    vias
}

/// A `#[path]` module of `root` whose file is `file`.
fn path_child(files: &dyn Files, root: &ModRef, file: &str) -> Option<(ModRef, Flags)> {
    let fm = files.modules(&root.file)?;
    let info = fm.mods.first()?;
    info.children.iter().find_map(|child| match child {
        Child::File(name, Some(path), flags) => {
            match mod_file(files, root, info, name, Some(path)) {
                ModFile::Found(next) if next.file == file => Some((next, *flags)),
                _ => None,
            }
        }
        _ => None,
    })
}

/// A path pattern: `*` matches within one component, `**` any number of them.
pub fn glob(pattern: &str, path: &str) -> bool {
    let p: Vec<&str> = pattern.split('/').collect();
    let s: Vec<&str> = path.split('/').collect();
    components(&p, &s)
}

fn components(p: &[&str], s: &[&str]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((&"**", rest)) => (0..=s.len()).any(|i| components(rest, &s[i..])),
        Some((first, rest)) => {
            s.first()
                .is_some_and(|c| wildcard(first.as_bytes(), c.as_bytes()))
                && components(rest, &s[1..])
        }
    }
}

/// `*` matches any run of characters.
pub fn wildcard(p: &[u8], s: &[u8]) -> bool {
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
    fn globs() {
        assert!(glob("p/tests/ui/*.rs", "p/tests/ui/a.rs"));
        assert!(!glob("p/tests/ui/*.rs", "p/tests/ui/x/a.rs"));
        assert!(glob("p/tests/**/*.rs", "p/tests/ui/x/a.rs"));
        let reach = Reach {
            mentions: vec!["p/tests/ui".into(), "p/src/gen.rs".into()],
            ..Reach::default()
        };
        assert!(reach.mentioned("p/tests/ui/a/b.rs") && reach.mentioned("p/src/gen.rs"));
        assert!(!reach.mentioned("p/tests/uix.rs"));
    }
}
