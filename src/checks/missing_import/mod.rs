//! ## missing-import
//!
//! What it does: reports imports that cannot work in this project, the ones a coding agent
//! hallucinates: a package the project does not declare, a first-party module that does not
//! exist at the checked revision, a name a first-party module does not define.
//!
//! Why it matters: an import of an undeclared package passes on the machine where it happens
//! to be installed and fails everywhere else; an import of a helper that was renamed last week
//! looks right and fails at run time. Both are cheap to catch before the push.
//!
//! ### Python
//!
//! Every import is judged: `import a.b as c`, `from a.b import c`, relative imports, imports
//! inside functions, under `if TYPE_CHECKING:`, inside `try: … except ImportError:` (reported
//! too, at `guarded-level`), and `importlib.import_module("a.b")` / `__import__("a.b")` with a
//! literal name. In order, an import's top-level name is:
//!
//! 1. the standard library of any Python from the project's minimum (`requires-python`, default
//!    3.9) to 3.14: `tomllib` passes in a `>=3.9` project, `distutils` in a `>=3.12` one does
//!    not (it is `undeclared-package` unless setuptools is declared);
//! 2. first-party: a package or module in a source root (the project directory, `src/`,
//!    setuptools `package-dir` / `packages.find where`, Poetry `packages`, Hatch wheel
//!    `packages`, pytest `pythonpath`, the `roots` option), in the importing file's directory
//!    (a script's `sys.path[0]`) or in the first directory above it that is not a package
//!    (pytest's rootdir insertion, so tests import `conftest` and their helpers); then every
//!    dotted part must exist (`missing-module`), and each name of `from m import name` must be a
//!    submodule of `m` or appear in `m`'s text at all (a name that is not even a word of the
//!    module cannot be bound there; one that is counts as bound, which errs towards silence
//!    and spares parsing every imported module): else `missing-name`. A namespace directory (no
//!    `__init__.py`) counts as first-party only when no declared distribution provides the name;
//! 3. provided by a declared distribution: PEP 621 `dependencies` and
//!    `optional-dependencies`, `[dependency-groups]`, `[build-system] requires`, Poetry (and its
//!    groups), PDM and uv dev dependencies, Hatch environments, `requirements*.txt` / `.in` and
//!    files under `requirements/` anywhere in the repository (following `-r` and `-c`, with
//!    markers, `name @ URL`, `-e …#egg=name`), `setup.cfg`, `setup.py`, `Pipfile`, `tox.ini`
//!    deps. The project is the nearest directory with `pyproject.toml`, `setup.py` or
//!    `setup.cfg`, plus the repository root. A distribution provides its normalized name
//!    (`-`/`.` → `_`, lower case, a leading `python-` dropped), the first part of a dotted
//!    name (`zope.interface` → `zope`), its namespace family (`google-*`, `azure-*`, …), the
//!    built-in table of well-known mismatches (`PyYAML` → `yaml`, `Pillow` → `PIL`,
//!    `scikit-learn` → `sklearn`, `beautifulsoup4` → `bs4`, …), and whatever `mapping` says.
//!    Nothing installed on the machine is consulted, so the result is the same everywhere;
//! 4. otherwise `undeclared-package`, with a near-miss of a declared name suggested.
//!
//! Declaration scope: a distribution is declared for users (`[project] dependencies`,
//! `install_requires`, Poetry's main dependencies, Pipfile `[packages]`, `requirements.txt`
//! and any requirements file not named for development), for an extra's users (an
//! `optional-dependencies` extra not named for development), or only for the project's own work
//! (a `test`, `docs`, `dev`, `lint`, `typing`… extra, every `[dependency-groups]` group, Poetry
//! groups, PDM/uv dev dependencies, Hatch environments, `tests_require`, `[build-system]
//! requires`, tox deps, `requirements-dev.txt`, `docs/requirements.txt`, `requirements/test.in`).
//! Library code (a module of a package under a source root, not in `tests/`, `docs/`,
//! `examples/`, `scripts/`, … and not `test_*.py` or `conftest.py`) may import at module level
//! only what users get: otherwise `undeclared-package`, saying which scope the package was
//! declared for. Tests, docs (`docs/conf.py`), examples, scripts, `setup.py` may import what
//! any scope declares, and what the tools they declare install (Sphinx brings docutils and
//! packaging, pytest brings pluggy). Imports inside a function (run only when called),
//! `try: … except ImportError:` and `if TYPE_CHECKING:` are optional by construction; a module
//! named for the tool it plugs into (`pkg/mypy.py`, `pkg/sphinxext/`) may import that tool.
//! In tests, docs and scripts, a module the file names in a string (`"config_module_app.py"`,
//! `"namespace"`) is one it writes or puts on `sys.path` at run time, not a finding.
//!
//! `unlocked-dependency` (review): the project's lockfile (`uv.lock`, `poetry.lock`,
//! `pdm.lock`, `Pipfile.lock` next to the manifest that defines the project) lacks every
//! declared distribution that provides the import: it was added without being resolved.
//!
//! Deliberately not flagged (zero false positives on projects that work comes first):
//!
//! - undeclared packages in a repository with no manifest at all (nothing is declared, so
//!   nothing can be undeclared); first-party modules and names are still checked there;
//! - a top-level name that is a package or module somewhere in the repository, outside the
//!   known roots (code that extends `sys.path` itself);
//! - names from a module with a star import, a module-level `__getattr__` (defined or
//!   assigned), writes through `globals()`, `vars()` or `locals()`, `exec(…)`, or that replaces
//!   itself in `sys.modules`; submodules of a module file that aliases modules through
//!   `sys.modules` (as `requests.packages` does); names from compiled
//!   modules (`.pyx`, `.so`); modules the build writes (setuptools-scm / Hatch VCS / PDM
//!   version files named in `pyproject.toml`);
//! - `importlib.import_module` with a non-literal or relative name.
//! - A manifest that does not parse makes its project's undeclared packages unknown (silent).
//!
//! ### Rust
//!
//! Rust (`undeclared-crate`, `missing-module`, `unreached-file`), for each `use` tree (nested
//! braces, `as`, globs, a leading `::`), `extern crate`, and the first segment of every path: in
//! expressions, types, patterns, trait bounds, attributes (`#[tokio::main]`,
//! `#[derive(serde::Serialize)]`) and macro invocations and their arguments
//! (`serde_json::json!`).
//!
//! Every file belongs to the Cargo targets that compile it, found by Cargo's own rules: `[lib]`
//! (its `path`, else `src/lib.rs`), `src/main.rs`, `src/bin/*.rs`, `src/bin/*/main.rs`,
//! `tests/`, `examples/`, `benches/` (`*.rs` and `*/main.rs`), `[[bin]]`, `[[test]]`,
//! `[[example]]`, `[[bench]]` with or without `path`, `autolib`/`autobins`/`autotests`/
//! `autoexamples`/`autobenches = false` (and edition 2015's rule that declaring one target of a
//! kind turns discovery of that kind off), and `build` (`build.rs` by default). From each root
//! the module tree is followed through `mod x;` (`x.rs`, `x/mod.rs`), inline modules, `#[path]`
//! (also inside inline modules, and on modules declared twice under different `cfg`s) and
//! `mod` declarations in macro arguments (`cfg_net! { pub mod net; }`). The package is the
//! nearest `Cargo.toml` with a `[package]`; its workspace the nearest `[workspace]` above that
//! does not `exclude` it (or `package.workspace`).
//!
//! - `undeclared-crate`: the first segment is a crate a target compiling the file cannot use.
//!   Accepted: `std`, `core`, `alloc`, `proc_macro`, `test`; `crate`, `self`, `super`, `Self`;
//!   the package's own library (`[lib] name`, else the package name with `-` → `_`); the
//!   package's dependencies under the name code uses (`json = { package = "serde_json" }` is
//!   `json`; `workspace = true`, optional, `[target.'cfg(…)'.dependencies]` ones); an `extern
//!   crate x as y` alias; any name the file declares (a module, function, type, constant,
//!   macro, `use` import or rename) and what a glob import brings in (a first-party module's
//!   names for `use super::*`, standard-library modules for `use std::…::*`, nothing a path
//!   starts with for an enum's `use Kind::*`); and names in `allow`. Which kinds of dependency
//!   a file sees depends on the targets that compile it: a library or binary sees
//!   `[dependencies]` (and `[dev-dependencies]` in test code: `#[cfg(test)]`, `#[test]`,
//!   `#[tokio::test]`, any `cfg` naming `test`); tests, examples and benches see both; the
//!   build script sees only `[build-dependencies]`. A dev-dependency in library code is a
//!   finding (it will not compile), naming the target. The help says when the crate is a
//!   near-miss of a declared one, a dependency of another workspace member, in
//!   `[workspace.dependencies]` but not used by this member, or only a dev-dependency.
//! - `missing-module`: in a `crate::`, `self::` or `super::` path, a segment used as a module
//!   (every one but the last; in `use a::b::{…}` and `use a::b::*`, `b` too) that its parent
//!   module does not declare, from every crate root that reaches the file. Any item or import
//!   counts as declared (`crate::config::Kind::A` is fine when `Kind` is an enum).
//! - `unreached-file` (warn, reported once per file and nothing else there): a `.rs` file of a
//!   package that no target compiles (a module nobody declares, a test file under `autotests =
//!   false`), or under a virtual workspace but in none of its packages. Files the package's code names in a string (`include!("gen.rs")`, trybuild's
//!   `"tests/ui/*.rs"`, `automod::dir!("tests/x")`) are reached that way, and are checked
//!   against all of the package's dependencies.
//! - `unlocked-dependency` (review): a crate the file uses that the package declares but the
//!   workspace's `Cargo.lock`, when there is one, does not have.
//!
//! Deliberately not reported, because code that builds can do it:
//!
//! - Anything under a glob import from another crate (`use rayon::prelude::*` may bring any
//!   name) or an item-level `include!`, except a `::crate` path; anything under a `cfg` that
//!   normal builds never set (`loom`, `kani`, `docsrs`, …); macro arguments of `quote!`-like
//!   macros, all of a proc-macro crate's macro arguments, paths in the arguments of item-level
//!   macros other than `use` (`impmod! {a::b as c}` may mean `crate::a::b`), and `macro_rules!`
//!   bodies.
//! - A name matching a dependency but for `_`, a `rust-` prefix or an `-rs` suffix (`md-5` is
//!   `md5`, `rust-ini` is `ini`): a library may be named differently from its package.
//! - Lower-case names only: a CamelCase first segment is a type; primitive types (`u8::MAX`,
//!   `str::from_utf8`) and tool attributes (`#[rustfmt::skip]`, `clippy::`) are not crates.
//! - A dev- or build-dependency used under any `cfg` (a feature build may add it), inside a
//!   macro's arguments, or in a module reached only through a `cfg` or a macro.
//! - Edition 2015 (no `edition` key): `use` and `::x` paths start at the crate root (they name
//!   its items, not crates), and macro arguments may become such paths; there only `extern
//!   crate` and paths in code and attributes (which reach the dependencies, the extern
//!   prelude, as in later editions) are checked.
//! - A module whose names cannot all be known: it has a glob import, does not parse, or
//!   invokes an item-level macro other than the crate's own `macro_rules!` that only re-emit
//!   their arguments under attributes (tokio's `cfg_*! { … }`, found in the crate root, the
//!   `#[macro_use]` modules it declares, or the invoking file; the module's names are then the
//!   items in the arguments, and `crate::`/`self::` paths through it are checked).
//! - Unreached files, when some module file cannot be known: a `#[cfg_attr(…, path = …)]`, a
//!   `#[path]` on an inline module, both `x.rs` and `x/mod.rs`, a `macro_rules!` that declares
//!   modules (serde's `crate_root!`), a file that does not parse. A `.rs` file with no
//!   `Cargo.toml` above it, or whose manifest does not parse, is not Cargo's and not checked.
//! - The last segment of a path (`crate::utils::helper`): it may be any item, and items can
//!   come from macros.
//!
//! ### New dependencies
//!
//! `new-dependency` (review): a change (what a push, merge or `--range` brings, or the staged
//! or working-tree changes) adds a package to `pyproject.toml`, a requirements file,
//! `setup.cfg`, a `Pipfile` or a `Cargo.toml` (any dependency table, `[workspace.dependencies]`,
//! `[build-system] requires`), and no lockfile changed in the same change pins it by a hash
//! (`Cargo.lock` checksum or git commit, `uv.lock`/`poetry.lock`/`pdm.lock` file hashes,
//! `Pipfile.lock` hashes), nor does its own requirements line (`--hash=`). Models invent package
//! names and others register them; a resolver that wrote a hash found the package, and a
//! human approves the rest (`gatehouse approve`). Path dependencies and `workspace = true`
//! entries are not new packages. The registry is not asked, except by `gatehouse check --online`.
//!
//! `--online` (or the `online` option; only `gatehouse check`: hooks never ask, whatever the
//! configuration says) asks PyPI's JSON API and the crates.io sparse index about the package
//! of each `new-dependency`, `undeclared-package` and `undeclared-crate` finding, through `curl`,
//! at most four requests at a time, each within 20 seconds. A new dependency the registry does
//! not have (or, on PyPI, that has no released files) rises to the rule's level: it cannot be
//! installed, and anyone may register the name. For one it has, the finding says when it was
//! first released and how many days ago, and calls it very new under 30 days. A registry that
//! cannot be reached leaves the findings as they were, with a warning. `GATEHOUSE_PYPI_URL`
//! (default `https://pypi.org/pypi`) and `GATEHOUSE_CRATES_INDEX_URL` (default
//! `https://index.crates.io`) point it at a mirror.
//!
//! Options (`[rules.missing-import] options = { … }`):
//!
//! - `roots`: more Python source roots (repository-relative directories), besides the
//!   project directory, `src/`, setuptools `package-dir` / `packages.find where`, Poetry
//!   `packages` and pytest's `pythonpath`.
//! - `mapping`: import name → the distribution(s) that provide it, for the mismatches the
//!   built-in table does not know: `mapping = { foo = "python-foo-bindings" }`.
//! - `allow`: top-level Python module names or Rust crate names always accepted (a module the
//!   host application provides at run time, such as `bpy`).
//! - `guarded-level`: the level of a Python import inside `try: … except ImportError:` (an
//!   optional dependency); default: the rule's level. `"warn"` reports without blocking,
//!   `"off"` drops them.
//! - `online`: `true` makes `gatehouse check` ask the registries as with `--online` (hooks
//!   never do).
//!
//! Example (`.gatehouse/config.toml`):
//!
//! ```toml
//! [rules.missing-import]
//! level = "block"
//! options = { roots = ["lib"], mapping = { foo = "python-foo-bindings" }, guarded-level = "warn" }
//! ```

pub mod lockfiles;
pub mod new_deps;
pub mod online;
pub mod python;
pub mod registry;
pub mod rust;

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::checks::Level;
use crate::checks::{Check, Diagnostic, FileRule, RuleMeta, parse_options};
use crate::lang::{Language, ParsedFile};

/// The rule id.
pub const ID: &str = "missing-import";

/// The finer kinds of finding.
pub const CODES: &[(&str, &str)] = &[
    (
        "undeclared-package",
        "a Python import of a package that is neither the standard library, first-party, nor provided by a declared distribution",
    ),
    (
        "missing-module",
        "a first-party Python module, or a Rust `crate::`/`self::`/`super::` module, that does not exist",
    ),
    (
        "missing-name",
        "`from first_party import name` where the module does not define `name`",
    ),
    (
        "undeclared-crate",
        "a Rust path whose first segment is a crate this package does not depend on",
    ),
    (
        "unreached-file",
        "a Rust file no Cargo target compiles (warn)",
    ),
    (
        "new-dependency",
        "a change adds a package to a manifest and no lockfile in the change pins it (review)",
    ),
    (
        "unlocked-dependency",
        "an import of a declared package that the project's lockfile does not have (review)",
    ),
];

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "imports of undeclared packages and crates, and of first-party modules or names that do not exist",
    default_level: Level::Block,
    languages: &[Language::Python, Language::Rust],
    codes: CODES,
    version: 2,
    uses_project: true,
    per_file: false,
    module_source: include_str!("mod.rs"),
};

/// One name or several, as a TOML string or array.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn names(&self) -> &[String] {
        match self {
            OneOrMany::One(name) => std::slice::from_ref(name),
            OneOrMany::Many(names) => names,
        }
    }
}

/// The rule's options.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Options {
    pub roots: Vec<String>,
    pub mapping: BTreeMap<String, OneOrMany>,
    pub allow: Vec<String>,
    pub guarded_level: Option<Level>,
    /// `gatehouse check` asks the registries, as with `--online` (never hooks).
    pub online: bool,
}

/// The `missing-import` check.
pub struct MissingImport;

impl Check for MissingImport {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn configure(&self, options: &toml::Table) -> Result<Box<dyn FileRule>, String> {
        let options = parse_options::<Options>(options)?;
        Ok(Box::new(Configured {
            python: python::Memo::default(),
            rust: rust::Memo::default(),
            options,
        }))
    }
}

/// The configured rule; it lives for one engine run, so what it memoises (parsed manifests,
/// the names other modules define) is never stale.
struct Configured {
    options: Options,
    python: python::Memo,
    rust: rust::Memo,
}

impl FileRule for Configured {
    fn check(&self, file: &ParsedFile<'_>, out: &mut Vec<Diagnostic>) {
        match file.language {
            Language::Python => python::check(file, &self.options, &self.python, out),
            Language::Rust => rust::check(file, &self.options, &self.rust, out),
        }
    }
}

/// A diagnostic of `code` at `node`.
pub(crate) fn diagnostic(
    file: &ParsedFile<'_>,
    node: tree_sitter::Node<'_>,
    code: &str,
    message: String,
    symbol: &str,
    help: String,
) -> Diagnostic {
    let (line, column) = file.start(node);
    let (end_line, end_column) = file.end(node);
    Diagnostic {
        code: code.to_string(),
        line,
        column,
        end_line,
        end_column,
        message,
        symbol: Some(symbol.to_string()),
        help: Some(help),
        level: None,
    }
}

#[cfg(test)]
mod tests;
