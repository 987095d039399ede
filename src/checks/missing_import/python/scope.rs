//! Declaration scopes: for whom a distribution is declared (every user, an extra's users, or
//! only the project's own tests, docs and tools), and what a file is (library code, tests,
//! docs, scripts), which decides the scopes it may import from.

use std::fmt;

use super::modules::Index;
use super::project::Project;

/// For whom a distribution is declared.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Installed for every user: `[project] dependencies`, `install_requires`, `requirements.txt`.
    Runtime,
    /// An extra users may ask for (`pip install pkg[extra]`): optional features.
    Extra(String),
    /// Only the project's own environments (tests, docs, lint, build): where it was declared.
    Dev(String),
}

impl Scope {
    /// Library code may import it: users may have it.
    pub fn for_users(&self) -> bool {
        !matches!(self, Scope::Dev(_))
    }

    /// The scope of an extra (`[project.optional-dependencies] test = …`): the extras named
    /// for the project's own tools are not meant for users.
    pub fn extra(name: &str) -> Scope {
        if dev_word(name) {
            Scope::Dev(format!("the `{name}` extra"))
        } else {
            Scope::Extra(name.to_string())
        }
    }

    /// The scope of a requirements file, from its path: `requirements-dev.txt`,
    /// `docs/requirements.txt` and `requirements/test.in` are the project's own; any other
    /// (`requirements.txt`, `requirements/base.txt`) may be what the application runs with.
    pub fn requirements_file(path: &str) -> Scope {
        let lower = path.to_ascii_lowercase();
        let (dirs, name) = lower.rsplit_once('/').unwrap_or(("", &lower));
        let dev_dir = dirs.split('/').any(dev_word);
        let dev_name = name.split(['-', '_', '.']).any(|part| {
            dev_word(part)
                || (part.starts_with("test") || part.starts_with("doc")) && part != "docker"
        });
        let dev = dev_dir || dev_name;
        if dev {
            Scope::Dev(path.to_string())
        } else {
            Scope::Runtime
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Runtime => f.write_str("the runtime dependencies"),
            Scope::Extra(name) => write!(f, "the `{name}` extra"),
            Scope::Dev(origin) => f.write_str(origin),
        }
    }
}

/// Names of extras, groups and environments for the project's own work, never its users'.
fn dev_word(name: &str) -> bool {
    const WORDS: &[&str] = &[
        "test",
        "tests",
        "testing",
        "dev",
        "devel",
        "develop",
        "development",
        "doc",
        "docs",
        "documentation",
        "lint",
        "linting",
        "lint-tools",
        "typing",
        "types",
        "type",
        "mypy",
        "style",
        "check",
        "checks",
        "qa",
        "ci",
        "coverage",
        "cov",
        "bench",
        "benchmark",
        "benchmarks",
        "tox",
        "nox",
        "pre-commit",
        "precommit",
        "release",
        "build",
        "format",
        "fmt",
        "formatting",
        "tooling",
        "tools",
        "sphinx",
    ];
    WORDS.contains(&name.to_ascii_lowercase().as_str())
}

/// What a file is to its project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Code of the distributed package: runs for every user.
    Library,
    /// Tests, docs, scripts, examples, build and task files: run in the project's own
    /// environments, which install what the project declares for them.
    Project,
}

/// What the file at `rel` (relative to the project's directory) is. `in_package`: it sits in
/// an importable package of a source root (a directory with `__init__.py`, or under `src/`);
/// `top_module`: it is a top-level module the project distributes (named like the project).
pub fn classify(rel: &str, in_package: bool, top_module: bool) -> Class {
    let parts: Vec<&str> = rel.split('/').collect();
    let name = parts.last().copied().unwrap_or("");
    let stem = name.strip_suffix(".py").unwrap_or(name);
    let project_dir = |p: &&str| {
        matches!(
            *p,
            "tests"
                | "test"
                | "docs"
                | "doc"
                | "documentation"
                | "examples"
                | "example"
                | "scripts"
                | "script"
                | "tools"
                | "bin"
                | "benchmarks"
                | "benchmark"
                | "bench"
                | "benches"
                | "ci"
                | "tasks"
                | "dev"
                | "_build"
        ) || p.starts_with('.')
    };
    let test_file = stem.starts_with("test_")
        || stem.ends_with("_test")
        || stem.ends_with("_tests")
        || stem == "conftest"
        || stem.contains("pytest_plugin");
    let dirs = &parts[..parts.len().saturating_sub(1)];
    if test_file || dirs.iter().any(project_dir) || !(in_package || top_module) {
        Class::Project
    } else {
        Class::Library
    }
}

/// Whether a file is library code: in an importable package of a source root (or a module the
/// project distributes), and not a test, doc, example or script by its path.
pub(super) fn class_of(path: &str, project: &Project, index: &Index) -> Class {
    let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
    let rel = match project.dir.as_str() {
        "" => path,
        pdir => path
            .strip_prefix(pdir)
            .and_then(|r| r.strip_prefix('/'))
            .unwrap_or(path),
    };
    // Under `src/` or a configured root other than the project directory: package code.
    let under_root = project.roots.iter().any(|r| {
        *r != project.dir
            && path
                .strip_prefix(r.as_str())
                .is_some_and(|p| p.starts_with('/'))
    });
    let in_package = under_root || super::is_package(index, dir);
    let stem = path.rsplit('/').next().unwrap_or(path);
    let stem = stem.strip_suffix(".py").unwrap_or(stem);
    let top_module =
        project.roots.iter().any(|r| r == dir) && project.modules.iter().any(|m| m == stem);
    classify(rel, in_package, top_module)
}

/// A module named for the tool it plugs into (`pydantic/mypy.py`, `pkg/pytest_plugin.py`,
/// `pkg/sphinxext/`): only that tool loads it, so the tool is there when it runs.
pub(super) fn integrates(path: &str, top: &str) -> bool {
    let top = top.to_ascii_lowercase();
    path.to_ascii_lowercase()
        .split('/')
        .skip(1)
        .flat_map(|part| part.split(['_', '.', '-']))
        .any(|word| word == top || word.strip_suffix("ext") == Some(top.as_str()))
}

/// Whether a string literal of the source names module `top` (`"top"`, `"top.py"`,
/// `"top/…"`, `"top.sub"`): a module the code writes or finds at run time.
pub(super) fn named_in_strings(source: &str, top: &str) -> bool {
    ['"', '\''].iter().any(|q| {
        source.match_indices(&format!("{q}{top}")).any(|(at, m)| {
            let rest = &source[at + m.len()..];
            rest.starts_with(*q) || rest.starts_with('.') || rest.starts_with('/')
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_by_name() {
        assert_eq!(Scope::extra("test"), Scope::Dev("the `test` extra".into()));
        assert_eq!(Scope::extra("socks"), Scope::Extra("socks".into()));
        assert!(Scope::requirements_file("requirements.txt").for_users());
        assert!(Scope::requirements_file("requirements/base.txt").for_users());
        assert!(!Scope::requirements_file("requirements-dev.txt").for_users());
        assert!(!Scope::requirements_file("docs/requirements.txt").for_users());
        assert!(!Scope::requirements_file("requirements/tests.in").for_users());
        assert!(!Scope::requirements_file("test-requirements.txt").for_users());
        assert!(Scope::requirements_file("docker/requirements.txt").for_users());
    }

    #[test]
    fn files_by_layout() {
        assert_eq!(classify("src/pkg/app.py", true, false), Class::Library);
        assert_eq!(
            classify("pkg/tests/test_app.py", true, false),
            Class::Project
        );
        assert_eq!(
            classify("pkg/core/tests/helpers.py", true, false),
            Class::Project
        );
        assert_eq!(classify("docs/conf.py", false, false), Class::Project);
        assert_eq!(classify("setup.py", false, false), Class::Project);
        assert_eq!(classify("six.py", false, true), Class::Library);
        assert_eq!(classify("pkg/conftest.py", true, false), Class::Project);
        assert_eq!(classify("scripts/release.py", false, false), Class::Project);
    }
}
