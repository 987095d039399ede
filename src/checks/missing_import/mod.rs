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
//! Rust (`undeclared-crate`, `missing-module`), for each `use` tree (nested braces, `as`,
//! globs, a leading `::`), `extern crate`, and path in an expression, a type, an attribute
//! (`#[tokio::main]`, `#[derive(serde::Serialize)]`) or a macro invocation's arguments:
//!
//! - `undeclared-crate`: the first segment is a crate this package cannot use. Accepted:
//!   `std`, `core`, `alloc`, `proc_macro`, `test`; `crate`, `self`, `super`, `Self`; the
//!   package's own library (`[lib] name`, else the package name with `-` → `_`); the
//!   dependencies of the package the file belongs to (the nearest `Cargo.toml` with a
//!   `[package]`): `[dependencies]`, `[target.'cfg(…)'.dependencies]`, optional ones, renamed
//!   ones under their key (`json = { package = "serde_json" }` is `json`), `workspace = true`
//!   ones; `[dev-dependencies]` only in `tests/`, `benches/`, `examples/` and in test code
//!   (`#[cfg(test)]`, `#[test]`, `#[tokio::test]`, any `cfg` naming `test`);
//!   `[build-dependencies]` only in `build.rs`, which sees nothing else; an `extern crate x
//!   as y` alias (in the file or the crate root); any name the file declares (a module,
//!   function, type, constant, macro, `use` import) and names in `allow`. The help says when
//!   the crate is a near-miss of a declared one, a dependency of another workspace member, in
//!   `[workspace.dependencies]` but not used by this member, or only a dev-dependency.
//! - `missing-module`: in a `crate::`, `self::` or `super::` path, a segment used as a module
//!   (every one but the last; in `use a::b::{…}` and `use a::b::*`, `b` too) that its parent
//!   module does not declare. The module tree follows `mod x;` to `x.rs` or `x/mod.rs`,
//!   inline `mod x { … }` and `#[path]`, from the crate roots: `src/lib.rs` (or `[lib] path`),
//!   `src/main.rs`, `src/bin/`, `tests/`, `benches/`, `examples/`, `build.rs`. Any item or
//!   import counts as declared (`crate::config::Kind::A` is fine when `Kind` is an enum).
//!
//! Deliberately not reported, because code that builds can do it:
//!
//! - Anything in a module with a glob import (`use x::*`) or an item-level `include!`, except
//!   a `::crate` path; anything under a `cfg` that normal builds never set (`loom`, `kani`,
//!   `docsrs`, …); macro arguments of `quote!`-like macros, all of a proc-macro crate's macro
//!   arguments, and `macro_rules!` bodies.
//! - A name matching a dependency but for `_`, a `rust-` prefix or an `-rs` suffix (`md-5` is
//!   `md5`, `rust-ini` is `ini`): a library may be named differently from its package.
//! - Lower-case names only: a CamelCase first segment is a type; primitive types (`u8::MAX`,
//!   `str::from_utf8`) and tool attributes (`#[rustfmt::skip]`, `clippy::`) are not crates.
//! - A dev- or build-dependency used in `src/` under any `cfg` or inside a macro's arguments,
//!   or in a file whose `mod` declarations from the crate root cannot all be followed.
//! - Edition 2015 (no `edition` key): `use` paths are crate-relative, so only `extern crate`
//!   of an undeclared crate is reported there.
//! - A module whose names cannot all be known: it has an item-level macro invocation (tokio
//!   declares modules inside `cfg_*!` macros), a glob import, a `#[path]` or
//!   `#[cfg_attr(…, path = …)]` that cannot be followed, or does not parse; a file outside
//!   the module tree of every crate root (`crate::` is unknown there); a file without a
//!   `Cargo.toml` above it, or whose manifest does not parse.
//! - The last segment of a path (`crate::utils::helper`): it may be any item, and items can
//!   come from macros.
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
//!
//! Example (`.gatehouse/config.toml`):
//!
//! ```toml
//! [rules.missing-import]
//! level = "block"
//! options = { roots = ["lib"], mapping = { foo = "python-foo-bindings" }, guarded-level = "warn" }
//! ```

pub mod python;
pub mod rust;

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::checks::{Check, Diagnostic, FileRule, RuleMeta, parse_options};
use crate::config::Level;
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
];

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "imports of undeclared packages and crates, and of first-party modules or names that do not exist",
    default_level: Level::Block,
    languages: &[Language::Python, Language::Rust],
    codes: CODES,
    version: 1,
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
