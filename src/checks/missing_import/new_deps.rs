//! New dependencies (the slopsquatting case): a change that adds a package to
//! `pyproject.toml`, a requirements file, `setup.cfg`, a `Pipfile` or a `Cargo.toml` is a
//! review-level `new-dependency` finding, unless a lockfile changed in the same change pins it
//! by a hash (or its own requirements line does). Models invent package names, and squatters
//! register them; a resolver that wrote a hash found the package, and a human looks at the rest.

use std::sync::Arc;

use super::lockfiles::{Lock, PYTHON_LOCKS, is_lockfile, key};
use super::{python, rust};
use crate::checks::Diagnostic;
use crate::checks::Level;

/// The files of a change, before and after.
pub trait ChangeFiles {
    /// The paths the change adds, modifies or deletes.
    fn changed(&self) -> Vec<String>;
    /// A file as the change found it (`None`: it did not exist).
    fn before(&self, path: &str) -> Option<Arc<str>>;
    /// A file as the change leaves it (`None`: deleted).
    fn after(&self, path: &str) -> Option<Arc<str>>;
    /// The file as each commit the remote already has and the change is credited to holds it
    /// (a merge's known sides): a package one of them declares is someone else's, not new here.
    fn known(&self, _path: &str) -> Vec<Arc<str>> {
        Vec::new()
    }
}

/// Which ecosystem a manifest belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ecosystem {
    Python,
    Rust,
}

/// The packages a manifest declares, each with whether its own line pins it by hash.
fn declared(path: &str, text: &str) -> Option<(Ecosystem, Vec<(String, bool)>)> {
    if path.rsplit('/').next() == Some("Cargo.toml") {
        let packages = rust::registry_packages(text)?;
        return Some((
            Ecosystem::Rust,
            packages.into_iter().map(|p| (p, false)).collect(),
        ));
    }
    python::declared_in(path, text).map(|d| (Ecosystem::Python, d))
}

/// The `new-dependency` findings of a change: (manifest path, diagnostic).
pub fn new_dependencies(files: &dyn ChangeFiles) -> Vec<(String, Diagnostic)> {
    let changed = files.changed();
    let locks: Vec<(String, Lock)> = changed
        .iter()
        .filter(|p| is_lockfile(p))
        .filter_map(|p| Some((p.clone(), Lock::parse(p, &files.after(p)?)?)))
        .collect();
    let mut out = Vec::new();
    for path in &changed {
        let Some(text) = files.after(path) else {
            continue;
        };
        let Some((eco, now)) = declared(path, &text) else {
            continue;
        };
        let before: Vec<String> = files
            .before(path)
            .into_iter()
            .chain(files.known(path))
            .filter_map(|old| declared(path, &old))
            .flat_map(|(_, d)| d.into_iter().map(|(n, _)| key(&n)))
            .collect();
        let mut seen = Vec::new();
        for (name, pinned_inline) in now {
            let k = key(&name);
            if before.contains(&k) || seen.contains(&k) {
                continue;
            }
            seen.push(k);
            let pinned = pinned_inline
                || locks
                    .iter()
                    .any(|(lp, lock)| ecosystem_of(lp) == eco && lock.get(&name) == Some(true));
            if !pinned {
                out.push((path.clone(), finding(path, &text, &name, eco)));
            }
        }
    }
    out
}

fn ecosystem_of(lock: &str) -> Ecosystem {
    let name = lock.rsplit('/').next().unwrap_or(lock);
    if PYTHON_LOCKS.contains(&name) {
        Ecosystem::Python
    } else {
        Ecosystem::Rust
    }
}

fn finding(path: &str, text: &str, name: &str, eco: Ecosystem) -> Diagnostic {
    let (line, column, end) = locate(text, name);
    let lock = match eco {
        Ecosystem::Python => "its lockfile (`uv lock`, `poetry lock`, `pdm lock`, `pipenv lock`)",
        Ecosystem::Rust => "Cargo.lock (`cargo update -p …` or any cargo build)",
    };
    Diagnostic {
        code: "new-dependency".to_string(),
        line,
        column,
        end_line: line,
        end_column: end,
        message: format!("new dependency `{name}` in {path}: no lockfile in this change pins it"),
        symbol: Some(name.to_string()),
        help: Some(format!(
            "check that `{name}` is the package you mean (models invent names, and others register them), then update {lock} in the same change, or approve it with `gatehouse approve`"
        )),
        level: Some(Level::Review),
    }
}

/// The 1-based line and columns where `name` is declared in `text` (line 1 when not found).
fn locate(text: &str, name: &str) -> (u32, u32, u32) {
    let wanted = key(name);
    for (n, line) in text.lines().enumerate() {
        let lower = line.to_ascii_lowercase();
        let words = lower
            .match_indices(|c: char| c.is_ascii_alphanumeric())
            .map(|(i, _)| i);
        for at in words {
            if at > 0 && lower.as_bytes()[at - 1].is_ascii_alphanumeric() {
                continue;
            }
            let word: String = lower[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                .collect();
            if key(word.trim_end_matches(['.', '-', '_'])) == wanted {
                let line_no = u32::try_from(n + 1).unwrap_or(u32::MAX);
                let col = u32::try_from(line[..at].chars().count() + 1).unwrap_or(1);
                let len = u32::try_from(word.chars().count()).unwrap_or(0);
                return (line_no, col, col + len);
            }
        }
    }
    (1, 1, 1)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    struct Change {
        old: HashMap<&'static str, &'static str>,
        new: HashMap<&'static str, &'static str>,
    }

    impl ChangeFiles for Change {
        fn changed(&self) -> Vec<String> {
            let mut paths: Vec<String> = self
                .new
                .keys()
                .chain(self.old.keys())
                .map(|p| p.to_string())
                .collect();
            paths.sort();
            paths.dedup();
            paths
        }
        fn before(&self, path: &str) -> Option<Arc<str>> {
            self.old.get(path).map(|t| Arc::from(*t))
        }
        fn after(&self, path: &str) -> Option<Arc<str>> {
            self.new.get(path).map(|t| Arc::from(*t))
        }
    }

    fn names(found: &[(String, Diagnostic)]) -> Vec<(String, String, u32)> {
        found
            .iter()
            .map(|(p, d)| (p.clone(), d.symbol.clone().unwrap_or_default(), d.line))
            .collect()
    }

    #[test]
    fn added_packages_need_a_lock_in_the_same_change() {
        let change = Change {
            old: HashMap::from([
                (
                    "pyproject.toml",
                    "[project]\nname = \"a\"\ndependencies = [\"requests\"]\n",
                ),
                (
                    "Cargo.toml",
                    "[package]\nname = \"c\"\n[dependencies]\nserde = \"1\"\n",
                ),
            ]),
            new: HashMap::from([
                (
                    "pyproject.toml",
                    "[project]\nname = \"a\"\ndependencies = [\n  \"Requests>=2\",\n  \"fastjsonx\",\n  \"httpx\",\n]\n",
                ),
                (
                    "requirements-dev.txt",
                    "pytest==8 --hash=sha256:00\nhypothesys\n",
                ),
                (
                    "Cargo.toml",
                    "[package]\nname = \"c\"\n[dependencies]\nserde = \"1\"\nlocal = { path = \"../local\" }\nserde-jsonx = \"1\"\ntokio = \"1\"\n",
                ),
                (
                    "uv.lock",
                    "[[package]]\nname = \"httpx\"\nsdist = { url = \"u\", hash = \"sha256:1\" }\n",
                ),
                (
                    "Cargo.lock",
                    "[[package]]\nname = \"tokio\"\nchecksum = \"2\"\n",
                ),
            ]),
        };
        assert_eq!(
            names(&new_dependencies(&change)),
            [
                ("Cargo.toml".to_string(), "serde-jsonx".to_string(), 6),
                ("pyproject.toml".to_string(), "fastjsonx".to_string(), 5),
                (
                    "requirements-dev.txt".to_string(),
                    "hypothesys".to_string(),
                    2
                ),
            ]
        );
        let found = new_dependencies(&change);
        assert_eq!(found[0].1.level, Some(Level::Review));
        assert_eq!((found[1].1.column, found[1].1.end_column), (4, 13));
    }
}
