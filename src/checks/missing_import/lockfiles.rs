//! Lockfiles: the packages a `uv.lock`, `poetry.lock`, `pdm.lock`, `Pipfile.lock` or
//! `Cargo.lock` pins, and whether each is pinned by a hash (a registry checksum, a file hash, a
//! git commit): a resolver found it, so it exists.

use std::collections::HashMap;

/// Python lockfiles, by file name.
pub const PYTHON_LOCKS: &[&str] = &["uv.lock", "poetry.lock", "pdm.lock", "Pipfile.lock"];

/// The packages of a lockfile: normalized name → pinned by a hash.
#[derive(Debug, Default)]
pub struct Lock {
    pub packages: HashMap<String, bool>,
}

/// A package name as lockfiles of either language compare it: lower case, `-`/`.` → `_`.
pub fn key(name: &str) -> String {
    super::python::normalize(name)
}

/// Whether a file name is a lockfile gatehouse reads.
pub fn is_lockfile(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name == "Cargo.lock" || PYTHON_LOCKS.contains(&name)
}

impl Lock {
    /// Parses the lockfile at `path`; `None` when it is not one or does not parse.
    pub fn parse(path: &str, text: &str) -> Option<Lock> {
        let name = path.rsplit('/').next().unwrap_or(path);
        if name == "Pipfile.lock" {
            return pipfile_lock(text);
        }
        if !is_lockfile(name) {
            return None;
        }
        let doc: toml::Table = toml::from_str(text).ok()?;
        let mut lock = Lock::default();
        let packages = doc.get("package").and_then(toml::Value::as_array);
        for package in packages
            .into_iter()
            .flatten()
            .filter_map(toml::Value::as_table)
        {
            let Some(name) = package.get("name").and_then(toml::Value::as_str) else {
                continue;
            };
            let hashed = hashed(package);
            let entry = lock.packages.entry(key(name)).or_default();
            *entry |= hashed;
        }
        Some(lock)
    }

    /// Whether the lock has `name`, and whether pinned by a hash.
    pub fn get(&self, name: &str) -> Option<bool> {
        self.packages.get(&key(name)).copied()
    }
}

/// A `[[package]]` entry pinned by a hash: Cargo's `checksum` or git commit, uv's and PDM's
/// `hash`es of sdists and wheels, Poetry's and PDM's `files`.
fn hashed(package: &toml::Table) -> bool {
    if package.contains_key("checksum") {
        return true;
    }
    if let Some(source) = package.get("source") {
        match source {
            // Cargo: `git+https://…?rev=…#<commit>`.
            toml::Value::String(s) if s.starts_with("git+") && s.contains('#') => return true,
            // uv: `{ git = "…#<commit>" }`.
            toml::Value::Table(t)
                if t.get("git")
                    .and_then(|g| g.as_str())
                    .is_some_and(|g| g.contains('#')) =>
            {
                return true;
            }
            _ => {}
        }
    }
    let has_hash = |v: &toml::Value| {
        v.get("hash")
            .and_then(|h| h.as_str())
            .is_some_and(|h| h.contains(':'))
    };
    let in_list = |key: &str| {
        package
            .get(key)
            .and_then(toml::Value::as_array)
            .is_some_and(|a| a.iter().any(has_hash))
    };
    package.get("sdist").is_some_and(has_hash) || in_list("wheels") || in_list("files")
}

fn pipfile_lock(text: &str) -> Option<Lock> {
    let doc: serde_json::Value = serde_json::from_str(text).ok()?;
    let mut lock = Lock::default();
    for section in ["default", "develop"] {
        let Some(entries) = doc.get(section).and_then(|s| s.as_object()) else {
            continue;
        };
        for (name, entry) in entries {
            let hashed = entry
                .get("hashes")
                .and_then(|h| h.as_array())
                .is_some_and(|h| !h.is_empty());
            *lock.packages.entry(key(name)).or_default() |= hashed;
        }
    }
    Some(lock)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lockfile_kind() {
        let cargo = "version = 4\n[[package]]\nname = \"serde-json\"\nversion = \"1\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"ab\"\n[[package]]\nname = \"local\"\nversion = \"0.1.0\"\n";
        let lock = Lock::parse("Cargo.lock", cargo).unwrap();
        assert_eq!(lock.get("serde_json"), Some(true));
        assert_eq!(lock.get("local"), Some(false));
        assert_eq!(lock.get("nope"), None);
        let uv = "version = 1\n[[package]]\nname = \"Requests\"\nversion = \"2\"\nsource = { registry = \"https://pypi.org/simple\" }\nsdist = { url = \"u\", hash = \"sha256:00\" }\n";
        assert_eq!(
            Lock::parse("uv.lock", uv).unwrap().get("requests"),
            Some(true)
        );
        let poetry = "[[package]]\nname = \"attrs\"\nversion = \"1\"\nfiles = [{file = \"a.whl\", hash = \"sha256:11\"}]\n";
        assert_eq!(
            Lock::parse("sub/poetry.lock", poetry).unwrap().get("attrs"),
            Some(true)
        );
        let pipfile =
            r#"{"default": {"flask": {"hashes": ["sha256:1"], "version": "==3"}}, "develop": {}}"#;
        assert_eq!(
            Lock::parse("Pipfile.lock", pipfile).unwrap().get("Flask"),
            Some(true)
        );
        assert!(Lock::parse("requirements.txt", "flask").is_none());
    }
}
