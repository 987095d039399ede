//! The Python half of `missing-import`: each import is the standard library, first-party (then
//! its module and names must exist), provided by a declared distribution, or a finding.

mod dists;
mod imports;
mod manifest;
mod modules;
mod other_manifests;
mod project;
mod report;
mod scope;
mod stdlib;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use imports::Import;
use modules::{Found, Index};
use project::Project;
use report::{near_miss, relative_text, unlocked_finding};
use scope::{Class, class_of, integrates, named_in_strings};

use super::Options;
use crate::checks::Diagnostic;
use crate::lang::ParsedFile;

pub use dists::normalize;

/// The distributions a Python manifest at `path` declares, each with whether its own line pins
/// it by hash (`--hash=…` in a requirements file); `None` when `path` is no Python manifest.
pub fn declared_in(path: &str, text: &str) -> Option<Vec<(String, bool)>> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let mut declared = manifest::Declared::default();
    match name {
        "pyproject.toml" => manifest::pyproject(text, "", &mut declared),
        "setup.cfg" => other_manifests::setup_cfg(text, "", &mut declared),
        "Pipfile" => other_manifests::pipfile(text, &mut declared),
        _ if project::is_requirements_file(path) => {
            let joined = text.replace("\\\n", " ");
            let lines = joined.lines().filter_map(|line| {
                let name = manifest::requirement_name(line.trim())?;
                Some((name, line.contains("--hash")))
            });
            return Some(lines.collect());
        }
        _ => return None,
    }
    Some(
        declared
            .distributions
            .into_iter()
            .map(|(d, _)| (d, false))
            .collect(),
    )
}

/// What one engine run has learned about the revision, shared by all files.
#[derive(Default)]
pub struct Memo {
    index: OnceLock<Index>,
    projects: Mutex<HashMap<String, Arc<Project>>>,
    names: Mutex<HashMap<String, Option<Arc<HashSet<String>>>>>,
}

/// Checks one Python file.
pub fn check(file: &ParsedFile<'_>, options: &Options, memo: &Memo, out: &mut Vec<Diagnostic>) {
    let imports = imports::collect(file.tree.root_node(), file.source);
    if imports.is_empty() {
        return;
    }
    let paths = file.project.paths();
    let index = memo.index.get_or_init(|| Index::new(paths));
    let project = project_of(file, options, memo, index);
    let roots = roots(file.path, &project, index);
    let class = class_of(file.path, &project, index);
    let ctx = Ctx {
        file,
        options,
        memo,
        index,
        project: &project,
        roots,
        class,
    };
    for import in &imports {
        let start = out.len();
        if import.level > 0 {
            ctx.relative(import, out);
        } else {
            ctx.absolute(import, out);
        }
        if import.guarded
            && let Some(level) = options.guarded_level
        {
            out[start..].iter_mut().for_each(|d| d.level = Some(level));
        }
    }
}

/// The project of `file`, read once per run; its manifests are recorded as read by every file.
fn project_of(
    file: &ParsedFile<'_>,
    options: &Options,
    memo: &Memo,
    index: &Index,
) -> Arc<Project> {
    let dir = project::project_dir(file.path, &|p| index.is_file(p));
    let known = memo.projects.lock().ok().and_then(|p| p.get(&dir).cloned());
    if let Some(project) = known {
        for path in &project.read {
            file.project.read(path);
        }
        return project;
    }
    let project = Arc::new(project::load(&dir, file.project, options));
    if let Ok(mut projects) = memo.projects.lock() {
        projects.insert(dir, Arc::clone(&project));
    }
    project
}

/// The directories `import x` searches for a file: the project's source roots, the file's own
/// directory (a script's `sys.path[0]`), the first directory above it that is not a package
/// (pytest's rootdir insertion), and the repository root.
fn roots(path: &str, project: &Project, index: &Index) -> Vec<String> {
    let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
    let mut roots = project.roots.clone();
    let mut base = dir;
    // A module inside a package is imported as part of it, never run from its directory.
    if !is_package(index, dir) {
        roots.push(dir.to_string());
    }
    while !base.is_empty() && is_package(index, base) {
        base = base.rsplit_once('/').map_or("", |(d, _)| d);
    }
    roots.push(base.to_string());
    roots.push(String::new());
    let mut seen = HashSet::new();
    roots.retain(|r| seen.insert(r.clone()) && index.is_dir(r));
    roots
}

pub(super) fn is_package(index: &Index, dir: &str) -> bool {
    !dir.is_empty() && index.is_file(&format!("{dir}/__init__.py"))
}

/// Modules that only type checkers see (typeshed's), and the one every type checker bundles:
/// fine under `if TYPE_CHECKING:` and in stubs.
const TYPE_CHECKER_MODULES: &[&str] = &["_typeshed", "typing_extensions", "mypy_extensions"];

pub(super) struct Ctx<'a, 'f> {
    file: &'a ParsedFile<'f>,
    options: &'a Options,
    memo: &'a Memo,
    index: &'a Index,
    project: &'a Project,
    roots: Vec<String>,
    /// Library code (what users run) or the project's own tests, docs and scripts.
    class: Class,
}

impl Ctx<'_, '_> {
    fn absolute(&self, import: &Import<'_>, out: &mut Vec<Diagnostic>) {
        let parts: Vec<&str> = import.module.split('.').collect();
        let top = parts[0];
        if self.options.allow.iter().any(|a| a == top) || is_stdlib(top, self.project.python_bits) {
            return;
        }
        let type_only = import.type_checking || self.file.path.ends_with(".pyi");
        if top == "_typeshed" || type_only && TYPE_CHECKER_MODULES.contains(&top) {
            return;
        }
        let hits: Vec<(&str, Found)> = self
            .roots
            .iter()
            .filter_map(|r| self.index.child(r, top).map(|f| (r.as_str(), f)))
            .collect();
        let regular = hits
            .iter()
            .any(|(_, f)| !matches!(f, Found::Package { init: None }));
        let scopes = self.project.provided.get(&top.to_ascii_lowercase());
        let provided = scopes.is_some();
        if !hits.is_empty() && (regular || !provided) {
            let roots: Vec<&str> = hits.iter().map(|(r, _)| *r).collect();
            self.first_party(import, &roots, &parts, out);
        } else if !provided && !self.index.exists_anywhere(top) && self.project.declares {
            // Tests write modules and put directories on `sys.path` at run time.
            if self.class == Class::Project && named_in_strings(self.file.source, top) {
                return;
            }
            out.push(self.undeclared(import, top));
        } else if let Some(unlocked) = self.unlocked(top) {
            out.push(unlocked_finding(self.file, import.node, top, &unlocked));
        } else if let Some(scopes) = scopes
            && self.class == Class::Library
            && !(import.guarded || import.lazy || type_only)
            && !scopes.iter().any(scope::Scope::for_users)
            && !integrates(self.file.path, top)
        {
            out.push(self.dev_only(import, top, scopes));
        }
    }

    /// The lockfile that lacks every distribution providing `top`, when the project has one.
    fn unlocked(&self, top: &str) -> Option<String> {
        let (path, lock) = self.project.lock.as_ref()?;
        let providers = self.project.providers.get(&top.to_ascii_lowercase())?;
        // Build tools a lock rarely lists; `setup.py` declares setuptools by being there.
        let tooling = matches!(top, "setuptools" | "pkg_resources" | "pip" | "wheel");
        let missing = !tooling && providers.iter().all(|d| lock.get(d).is_none());
        missing.then(|| path.clone())
    }

    fn relative(&self, import: &Import<'_>, out: &mut Vec<Diagnostic>) {
        let mut base = self.file.path.rsplit_once('/').map(|(d, _)| d);
        for _ in 1..import.level {
            base = base.and_then(|b| {
                if b.is_empty() {
                    None
                } else {
                    Some(b.rsplit_once('/').map_or("", |(d, _)| d))
                }
            });
        }
        let Some(base) = base else {
            let message = format!(
                "`{}` goes above the top of the repository",
                relative_text(import)
            );
            out.push(self.missing_module(import, message, None));
            return;
        };
        let parts: Vec<&str> = import.module.split('.').filter(|p| !p.is_empty()).collect();
        self.first_party(import, &[base], &parts, out);
    }

    /// Checks that `parts` resolve under one of `roots`, then the imported names.
    fn first_party(
        &self,
        import: &Import<'_>,
        roots: &[&str],
        parts: &[&str],
        out: &mut Vec<Diagnostic>,
    ) {
        let resolved: Vec<(&str, usize, Option<Found>)> = roots
            .iter()
            .map(|r| {
                let (depth, found) = self.index.resolve(r, parts);
                (*r, depth, found)
            })
            .collect();
        let complete: Vec<(&str, Option<Found>)> = resolved
            .iter()
            .filter(|(_, depth, _)| *depth == parts.len())
            .map(|(r, _, f)| (*r, f.clone()))
            .collect();
        if complete.is_empty() {
            let (root, depth, found) = resolved
                .iter()
                .max_by_key(|(_, d, _)| *d)
                .cloned()
                .unwrap_or(("", 0, None));
            if self.generated(root, parts)
                || matches!(&found, Some(Found::Module { file }) if !self.plain_module(file))
            {
                return;
            }
            let prefix = parts[..depth].join(".");
            let dir = manifest::join(root, &parts[..depth].join("/"));
            let missing = parts[depth];
            let shown = if import.level > 0 {
                relative_text(import)
            } else {
                import.module.clone()
            };
            let message = if depth == 0 {
                format!("no module `{shown}`: there is no `{missing}` here")
            } else {
                format!("no module `{shown}`: `{prefix}` has no `{missing}`")
            };
            let candidates = self.index.children(&dir);
            out.push(self.missing_module(import, message, near_miss(missing, &candidates)));
            return;
        }
        if import.names.is_empty() {
            return;
        }
        for (name, node) in &import.names {
            let defined = complete
                .iter()
                .any(|(root, found)| self.defines(root, parts, found.as_ref(), name));
            if !defined {
                out.push(self.missing_name(import, name, *node, &complete));
            }
        }
    }

    /// Whether the module at `root`/`parts` has `name` (a submodule, or a top-level binding);
    /// `true` when that cannot be known.
    fn defines(&self, root: &str, parts: &[&str], found: Option<&Found>, name: &str) -> bool {
        let dir = manifest::join(root, &parts.join("/"));
        let files: Vec<String> = match found {
            None => vec![],
            Some(Found::Package { init }) => {
                if self.index.child(&dir, name).is_some() || self.generated(&dir, &[name]) {
                    return true;
                }
                init.iter().cloned().collect()
            }
            Some(Found::Module { file }) => vec![file.clone()],
        };
        if files.is_empty() {
            return found.is_none();
        }
        files
            .iter()
            .flat_map(|f| [f.clone(), stub_of(f)])
            .any(|f| match self.names_of(&f) {
                Some(Some(names)) => names.contains(name),
                Some(None) => true,
                None => false,
            })
    }

    /// The top-level names of a module file: `None` if the file does not exist, `Some(None)`
    /// when they cannot be known.
    fn names_of(&self, path: &str) -> Option<Option<Arc<HashSet<String>>>> {
        if !self.index.is_file(path) {
            return None;
        }
        let source = self.file.project.read(path)?;
        let known = self
            .memo
            .names
            .lock()
            .ok()
            .and_then(|n| n.get(path).cloned());
        if let Some(names) = known {
            return Some(names);
        }
        let names = modules::module_words(path, &source).map(Arc::new);
        if let Ok(mut memo) = self.memo.names.lock() {
            memo.insert(path.to_string(), names.clone());
        }
        Some(names)
    }

    /// Whether a module file is plain Python that cannot grow submodules: not compiled, and not
    /// aliasing modules through `sys.modules` (as `requests.packages` does).
    fn plain_module(&self, path: &str) -> bool {
        (path.ends_with(".py") || path.ends_with(".pyi"))
            && self
                .file
                .project
                .read(path)
                .is_some_and(|source| !source.contains("sys.modules"))
    }

    /// Whether the build writes the module `parts` under `root` (setuptools-scm's version file).
    fn generated(&self, root: &str, parts: &[&str]) -> bool {
        let stem = manifest::join(root, &parts.join("/"));
        self.project.generated.iter().any(|g| {
            g.strip_prefix(&stem)
                .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('/'))
        })
    }
}

/// Whether `name` is a standard-library module of one of the Python versions in `bits`.
fn is_stdlib(name: &str, bits: u8) -> bool {
    stdlib::STDLIB
        .binary_search_by(|(n, _)| (*n).cmp(name))
        .is_ok_and(|at| stdlib::STDLIB[at].1 & bits != 0)
}

/// The stub next to a module (`m.py` → `m.pyi`), or the module itself.
fn stub_of(path: &str) -> String {
    path.strip_suffix(".py")
        .map_or_else(|| path.to_string(), |stem| format!("{stem}.pyi"))
}
