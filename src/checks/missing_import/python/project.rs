//! The Python project a file belongs to: its manifests (the nearest directory holding one, and
//! the repository root), the import names its declared distributions provide, its source roots.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::dists;
use super::manifest::{self, Declared, join};
use super::other_manifests;
use super::scope::Scope;
use crate::checks::ProjectFiles;
use crate::checks::missing_import::Options;
use crate::checks::missing_import::lockfiles::{Lock, PYTHON_LOCKS};

/// Files that make a directory a Python project.
const MARKERS: &[&str] = &["pyproject.toml", "setup.py", "setup.cfg"];

/// What a project declares, resolved to import names.
pub struct Project {
    /// Top-level import names (lower case) the declared distributions provide, with the scopes
    /// those distributions are declared for.
    pub provided: HashMap<String, Vec<Scope>>,
    /// Top-level modules the project itself distributes (its name, py-modules).
    pub modules: Vec<String>,
    /// Import name (lower case) → the declared distributions that provide it.
    pub providers: HashMap<String, Vec<String>>,
    /// The project's lockfile (uv, Poetry, PDM, Pipenv) in its directory: path and packages.
    pub lock: Option<(String, Lock)>,
    /// The declared distribution names, normalized, for near-miss suggestions.
    pub declared: Vec<String>,
    /// Source roots, repository-relative.
    pub roots: Vec<String>,
    /// Standard-library bits (see `stdlib::STDLIB`) of the Python versions it supports.
    pub python_bits: u8,
    /// Whether it declares anything at all (no manifest: undeclared packages are not reported).
    pub declares: bool,
    /// Files a build writes.
    pub generated: Vec<String>,
    /// The manifests read, so each file's check records them as dependencies.
    pub read: Vec<String>,
    /// Where the project's manifests are.
    pub dir: String,
}

/// The nearest directory at or above `path`'s that holds a project marker ("" for the root).
pub fn project_dir(path: &str, exists: &dyn Fn(&str) -> bool) -> String {
    let mut dir = path.rsplit_once('/').map_or("", |(d, _)| d);
    loop {
        if MARKERS.iter().any(|m| exists(&join(dir, m))) {
            return dir.to_string();
        }
        match dir.rsplit_once('/') {
            Some((parent, _)) => dir = parent,
            None if dir.is_empty() => return String::new(),
            None => dir = "",
        }
    }
}

/// Reads the manifests of the project in `dir` (and of the repository root) from `files`.
pub fn load(dir: &str, files: &dyn ProjectFiles, options: &Options) -> Project {
    let mut declared = Declared::default();
    let mut read = Vec::new();
    let mut text = |path: String| -> Option<Arc<str>> {
        let content = files.read(&path);
        read.push(path);
        content
    };
    let mut dirs = vec![dir.to_string()];
    if !dir.is_empty() {
        dirs.push(String::new());
    }
    for d in &dirs {
        if let Some(t) = text(join(d, "pyproject.toml")) {
            manifest::pyproject(&t, d, &mut declared);
        }
        if let Some(t) = text(join(d, "setup.cfg")) {
            other_manifests::setup_cfg(&t, d, &mut declared);
        }
        if let Some(t) = text(join(d, "setup.py")) {
            other_manifests::setup_py(&t, &mut declared);
        }
        if let Some(t) = text(join(d, "Pipfile")) {
            other_manifests::pipfile(&t, &mut declared);
        }
        if let Some(t) = text(join(d, "tox.ini")) {
            other_manifests::tox_ini(&t, &mut declared);
        }
    }
    let requirement_files: Vec<String> = files
        .paths()
        .iter()
        .filter(|p| is_requirements_file(p))
        .cloned()
        .collect();
    let mut seen = HashSet::new();
    let mut queue = requirement_files;
    while let Some(path) = queue.pop() {
        if !seen.insert(path.clone()) || seen.len() > 200 {
            continue;
        }
        let Some(t) = text(path.clone()) else {
            continue;
        };
        let base = path.rsplit_once('/').map_or("", |(d, _)| d);
        let scope = Scope::requirements_file(&path);
        for include in other_manifests::requirements(&t, &scope, &mut declared) {
            queue.push(normalize_path(&join(base, &include)));
        }
    }
    let mut lock = None;
    let packaged = declared.packaged.iter().any(|d| d == dir);
    let pipfile = files.exists(&join(dir, "Pipfile"));
    for name in PYTHON_LOCKS.iter().filter(|_| packaged || pipfile) {
        let path = join(dir, name);
        if let Some(t) = text(path.clone()) {
            lock = Lock::parse(&path, &t).map(|l| (path, l));
            break;
        }
    }
    let mut project = finish(dir, declared, options, read);
    project.lock = lock;
    project
}

fn finish(dir: &str, declared: Declared, options: &Options, read: Vec<String>) -> Project {
    let mut provided: HashMap<String, Vec<Scope>> = HashMap::new();
    let mut providers: HashMap<String, Vec<String>> = HashMap::new();
    let mut add = |import: String, scope: &Scope, distribution: &str| {
        let by = providers.entry(import.clone()).or_default();
        if !by.iter().any(|d| d == distribution) {
            by.push(distribution.to_string());
        }
        let scopes = provided.entry(import).or_default();
        if !scopes.contains(scope) {
            scopes.push(scope.clone());
        }
    };
    let normalized: Vec<(String, &Scope)> = declared
        .distributions
        .iter()
        .map(|(d, scope)| (dists::normalize(d), scope))
        .collect();
    for (distribution, scope) in &declared.distributions {
        for import in dists::provided(distribution) {
            add(import, scope, distribution);
        }
    }
    for (import, distributions) in &options.mapping {
        for wanted in distributions.names() {
            let wanted = dists::normalize(wanted);
            for (_, scope) in normalized.iter().filter(|(d, _)| *d == wanted) {
                add(import.to_ascii_lowercase(), scope, &wanted);
            }
        }
    }
    let mut normalized: Vec<String> = normalized.into_iter().map(|(d, _)| d).collect();
    normalized.sort();
    normalized.dedup();
    let mut roots = vec![dir.to_string(), join(dir, "src")];
    roots.extend(declared.roots);
    roots.extend(
        options
            .roots
            .iter()
            .map(|r| r.trim_matches('/').to_string()),
    );
    roots.dedup();
    let first = declared
        .min_minor
        .unwrap_or(super::stdlib::FIRST_MINOR)
        .clamp(super::stdlib::FIRST_MINOR, super::stdlib::LAST_MINOR);
    let skip = first - super::stdlib::FIRST_MINOR;
    let python_bits = if skip >= 8 { 0 } else { 0xff << skip };
    Project {
        provided,
        modules: declared.modules,
        providers,
        lock: None,
        declared: normalized,
        roots,
        python_bits,
        declares: declared.found && !declared.broken,
        generated: declared.generated,
        read,
        dir: dir.to_string(),
    }
}

/// `requirements.txt`, `requirements-dev.in`, `dev-requirements.txt`, `requirements/base.txt`.
pub(super) fn is_requirements_file(path: &str) -> bool {
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
    let text_file = name.ends_with(".txt") || name.ends_with(".in");
    text_file && (name.contains("requirements") || dir.rsplit('/').next() == Some("requirements"))
}

/// Resolves `.` and `..` components.
fn normalize_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirements_files_by_name_or_directory() {
        assert!(is_requirements_file("requirements.txt"));
        assert!(is_requirements_file("docs/requirements-docs.in"));
        assert!(is_requirements_file("requirements/base.txt"));
        assert!(is_requirements_file("dev-requirements.txt"));
        assert!(!is_requirements_file("notes.txt"));
        assert_eq!(normalize_path("a/b/../c/./d.txt"), "a/c/d.txt");
    }
}
