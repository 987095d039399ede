//! First-party modules: which exist in the checked revision (by its file list), and which names
//! a module could define.

use std::collections::{HashMap, HashSet};

/// Suffixes of files Python imports as a module.
const MODULE_SUFFIXES: &[&str] = &[".py", ".pyi", ".pyx", ".pxd", ".so", ".pyd"];

/// Directories of installed packages and build copies: what is in them is not the project's,
/// and must not make the result depend on what happens to be installed.
const INSTALLED: &[&str] = &[
    "site-packages",
    "dist-packages",
    "node_modules",
    "__pycache__",
    ".tox",
    ".nox",
];

/// The revision's files and directories, for module lookups.
#[derive(Default)]
pub struct Index {
    files: HashSet<String>,
    dirs: HashSet<String>,
    /// Top-level names of every package or module anywhere in the tree (`a/b/foo/__init__.py`
    /// and `a/foo.py` give `foo`), for imports made through roots we cannot see.
    anywhere: HashSet<String>,
    /// Compiled modules by `dir/name` (`pkg/_speedups.cpython-312-x86_64-linux-gnu.so`).
    compiled: HashMap<String, String>,
}

/// What a dotted path names under one root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// A package directory (`__init__.py` or a namespace package) at this path.
    Package { init: Option<String> },
    /// A module file at this path.
    Module { file: String },
}

impl Index {
    pub fn new(paths: &[String]) -> Index {
        let mut index = Index::default();
        let environments: Vec<&str> = paths
            .iter()
            .filter_map(|p| p.strip_suffix("/pyvenv.cfg"))
            .collect();
        let installed = |path: &str| {
            path.split('/').any(|c| INSTALLED.contains(&c))
                || environments
                    .iter()
                    .any(|e| path.starts_with(e) && path[e.len()..].starts_with('/'))
        };
        for path in paths.iter().filter(|p| !installed(p)) {
            let mut dir = path.as_str();
            while let Some((parent, _)) = dir.rsplit_once('/') {
                if !index.dirs.insert(parent.to_string()) {
                    break;
                }
                dir = parent;
            }
            let name = path.rsplit('/').next().unwrap_or(path);
            if let Some(stem) = module_stem(name) {
                if stem == "__init__" {
                    let package = path.rsplit('/').nth(1).unwrap_or("");
                    index.anywhere.insert(package.to_string());
                } else {
                    index.anywhere.insert(stem.to_string());
                }
            }
            if path.ends_with(".so") || path.ends_with(".pyd") {
                let (dir, file) = path.rsplit_once('/').unwrap_or(("", path));
                let stem = file.split('.').next().unwrap_or(file);
                index
                    .compiled
                    .insert(super::manifest::join(dir, stem), path.clone());
            }
            index.files.insert(path.clone());
        }
        index
    }

    pub fn is_file(&self, path: &str) -> bool {
        self.files.contains(path)
    }

    pub fn is_dir(&self, path: &str) -> bool {
        path.is_empty() || self.dirs.contains(path)
    }

    /// Whether a package or module of this name exists anywhere in the tree.
    pub fn exists_anywhere(&self, name: &str) -> bool {
        self.anywhere.contains(name)
    }

    /// What `name` is inside the directory `dir`: a package, a module, or nothing.
    pub fn child(&self, dir: &str, name: &str) -> Option<Found> {
        let base = super::manifest::join(dir, name);
        if self.is_dir(&base) {
            let init = ["__init__.py", "__init__.pyi"]
                .iter()
                .map(|i| format!("{base}/{i}"))
                .find(|f| self.is_file(f));
            return Some(Found::Package { init });
        }
        MODULE_SUFFIXES
            .iter()
            .map(|s| format!("{base}{s}"))
            .find(|f| self.is_file(f))
            .or_else(|| self.extension_module(dir, name))
            .map(|file| Found::Module { file })
    }

    /// A compiled module `name.cpython-312-x86_64-linux-gnu.so` (tracked in some repositories).
    fn extension_module(&self, dir: &str, name: &str) -> Option<String> {
        self.compiled
            .get(&super::manifest::join(dir, name))
            .cloned()
    }

    /// Follows `parts` from `dir`: how many of them resolve, and what the last resolved one is.
    pub fn resolve(&self, dir: &str, parts: &[&str]) -> (usize, Option<Found>) {
        let mut current = dir.to_string();
        // No parts (`from . import x`): the directory itself, as a package.
        let mut found = parts.is_empty().then(|| Found::Package {
            init: ["__init__.py", "__init__.pyi"]
                .iter()
                .map(|i| super::manifest::join(dir, i))
                .find(|f| self.is_file(f)),
        });
        for (depth, part) in parts.iter().enumerate() {
            if matches!(found, Some(Found::Module { .. })) {
                return (depth, found);
            }
            match self.child(&current, part) {
                Some(next) => {
                    current = super::manifest::join(&current, part);
                    found = Some(next);
                }
                None => return (depth, found),
            }
        }
        (parts.len(), found)
    }

    /// The names of the entries of `dir` that could be submodules, for near-miss suggestions.
    pub fn children(&self, dir: &str) -> Vec<String> {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let mut names: Vec<String> = self
            .files
            .iter()
            .chain(&self.dirs)
            .filter_map(|p| p.strip_prefix(&prefix))
            .filter_map(|rest| {
                let first = rest.split('/').next()?;
                if rest.contains('/') {
                    Some(first.to_string())
                } else {
                    module_stem(first).map(str::to_string)
                }
            })
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}

/// The module name of a file name, when Python would import it.
fn module_stem(name: &str) -> Option<&str> {
    MODULE_SUFFIXES
        .iter()
        .find_map(|s| name.strip_suffix(s))
        .map(|stem| stem.split('.').next().unwrap_or(stem))
        .filter(|stem| !stem.is_empty())
}

/// The words of a module (every identifier in its text), standing in for the names it binds:
/// a name that is not even a word of the module is certainly not bound there, while one that
/// is counts as bound. That errs towards silence (a name mentioned but never bound is not
/// reported) and costs one scan instead of a parse of every imported module. `None` when the
/// names cannot be known at all: a star import, a module `__getattr__` (defined or assigned),
/// writes through `globals()`, `vars()` or `locals()`, `exec`, a module replacing itself in
/// `sys.modules`, a file that is not Python source.
pub fn module_words(path: &str, source: &str) -> Option<HashSet<String>> {
    if !(path.ends_with(".py") || path.ends_with(".pyi")) {
        return None;
    }
    // Writes through the module's namespace (reading `globals()` or `sys.modules[x]` is fine).
    let dynamic = [
        "globals()[",
        "globals().update",
        "globals().setdefault",
        "vars()[",
        "vars().update",
        "locals()[",
        "locals().update",
        "sys.modules[__name__]",
        "exec(",
        "__getattr__",
    ];
    if dynamic.iter().any(|d| source.contains(d)) || has_star_import(source) {
        return None;
    }
    let words = source
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| w.chars().next().is_some_and(|c| !c.is_ascii_digit()))
        .map(str::to_string)
        .collect();
    Some(words)
}

/// `from m import *` on some line (also inside a block, or after `;`).
fn has_star_import(source: &str) -> bool {
    source.match_indices("import").any(|(at, _)| {
        let rest = source[at + "import".len()..].trim_start_matches([' ', '\t', '(']);
        rest.starts_with('*')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_stand_in_for_names_and_dynamic_modules_are_unknowable() {
        let words = module_words(
            "m.py",
            "import os\ndef slugify(text):\n    return text  # µ_x\n",
        )
        .unwrap();
        assert!(words.contains("slugify") && words.contains("os") && words.contains("µ_x"));
        assert!(!words.contains("slugfy"));
        assert!(module_words("m.py", "from a import *\n").is_none());
        assert!(module_words("m.py", "if x:\n    from a import (*)\n").is_none());
        assert!(module_words("m.py", "def __getattr__(name): ...\n").is_none());
        assert!(module_words("m.py", "__getattr__ = make(__name__)\n").is_none());
        assert!(module_words("m.py", "globals()['x'] = 1\n").is_none());
        assert!(module_words("m.py", "globals().update(x=1)\n").is_none());
        assert!(module_words("m.py", "import sys\nsys.modules[__name__] = X()\n").is_none());
        let reads = "import sys\nm = sys.modules['os']\nn = dict(globals())\n";
        assert!(module_words("m.py", reads).is_some());
        assert!(module_words("m.pyx", "x = 1\n").is_none());
    }

    #[test]
    fn resolves_packages_modules_and_namespace_packages() {
        let paths: Vec<String> = ["src/pkg/__init__.py", "src/pkg/mod.py", "ns/sub/leaf.py"]
            .iter()
            .map(|s| (*s).to_string())
            .collect();
        let index = Index::new(&paths);
        assert_eq!(index.resolve("src", &["pkg", "mod"]).0, 2);
        assert_eq!(index.resolve("src", &["pkg", "nope"]).0, 1);
        assert_eq!(index.resolve("src", &["pkg", "mod", "deeper"]).0, 2);
        assert_eq!(index.resolve("", &["ns", "sub", "leaf"]).0, 3);
        assert!(index.exists_anywhere("pkg") && index.exists_anywhere("leaf"));
        assert_eq!(index.children("src/pkg"), ["__init__", "mod"]);
        let installed: Vec<String> = [
            "env/pyvenv.cfg",
            "env/lib/numpy/__init__.py",
            "x/lib/python3.11/site-packages/yaml/__init__.py",
        ]
        .iter()
        .map(|s| (*s).to_string())
        .collect();
        let index = Index::new(&installed);
        assert!(!index.exists_anywhere("numpy") && !index.exists_anywhere("yaml"));
    }
}
