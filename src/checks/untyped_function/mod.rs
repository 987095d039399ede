//! ## untyped-function
//!
//! What it does: reports every Python `def` (and `async def`) whose parameters or return type
//! lack a type annotation, with exactly the semantics of ruff's flake8-annotations rules
//! (`ruff check --select ANN`, ANN401 aside), one finding per missing annotation, at the
//! position ruff reports it (1-based line, column in characters):
//!
//! - `ANN001` a parameter, `ANN002` `*args`, `ANN003` `**kwargs`, at the parameter;
//! - `ANN201` a public function, `ANN202` a private one, `ANN204` a special method (any
//!   `__dunder__` method, `__init__` included), `ANN205` a staticmethod, `ANN206` a
//!   classmethod, at the function's name.
//!
//! Why it matters: "annotate every function, fail if any remain" is a task given to coding
//! agents; this check is the gate that says whether it is done, and it agrees with the linter
//! the team already trusts finding for finding.
//!
//! Rules, as ruff applies them:
//!
//! - A method is a `def` directly in a class body (under `if`/`try`/`with` inside the class
//!   included). Its first non-variadic parameter (positional or, failing that, keyword-only)
//!   is exempt, whatever its name, unless the method is a `@staticmethod`.
//! - `@staticmethod` and `@classmethod` are the builtins. As in ruff, a bare
//!   `@staticmethod` counts unless the module scope, as the file ends, binds the name to
//!   something else (an import, an assignment, a def; rebinding it in a class or function body
//!   changes nothing). Once the module imports `builtins`, `@builtins.staticmethod` and
//!   aliases imported from `builtins` count too, and names resolve through the scopes as bound
//!   at the decorator. Outside a class they change nothing. `@overload` is `typing.overload`,
//!   `typing_extensions.overload` or `_typeshed.overload`, however imported (`import typing as
//!   t`, `from typing import overload as ov`, also inside the enclosing function).
//! - Private (`ANN202`): a name starting with `_` (for methods, dunders are public); any
//!   function nested in a function, and everything in a class nested in a function; a method
//!   decorated `@name.setter` or `@name.deleter`; a module-level function or class not listed
//!   in the module's `__all__` when it has one (an `__all__` that is not a literal list or
//!   tuple counts as empty); everything in a private module. A module-level dunder function
//!   (`def __getattr__(name)`) is private, because it starts with `_`.
//! - The `def` that follows `@overload` stubs of the same name is their implementation and is
//!   exempt; the stubs are not. "Follows" is in ruff's definition order: module and class
//!   bodies first, then function bodies level by level.
//! - Lambdas are never reported; `.pyi` stubs are checked like any module.
//!
//! Decided where gatehouse cannot see what ruff sees:
//!
//! - Private modules, as ruff decides them: a component of the dotted module path starts with `_`
//!   (dunders such as `__init__` aside), the module path running up from the file through the
//!   directories that have an `__init__.py` in the checked revision (an `__init__.pyi` alone does
//!   not make a package, as in ruff). `docs/_ext/x.py` without `docs/_ext/__init__.py` is public.
//! - Decorator names resolve through the scopes of the function body being walked (its
//!   classes included) and the module's, as bound at the decorator; the bodies of functions
//!   further out (a def inside a def inside a def) are not consulted, nor does a name used
//!   before its module-level import fall back to it. Whether the module imports `builtins` is
//!   judged from module-level imports only.
//! - A file that does not parse is checked as far as it parsed, where ruff reports only the
//!   syntax error: the `parse-error` rule reports the error (tree-sitter's error recovery
//!   stands in for ruff's parser: across the 5,668 files of the parity corpora it flagged
//!   exactly the one file ruff rejects; Python 2 `print x` and `exec code` statements, which
//!   tree-sitter's grammar accepts, count as syntax errors), and this rule the functions that
//!   parsed, so that a syntax error cannot hide an untyped function from the gate.
//! - `# noqa` comments are ruff's; suppress a finding here with `# gatehouse: ignore[untyped-function]`.
//!
//! Options (all default `false`, like ruff's):
//!
//! - `mypy-init-return`: no `ANN204` for an `__init__` with at least one annotated parameter.
//! - `suppress-dummy-args`: no finding for parameters matching ruff's default dummy-variable
//!   pattern (`_`, `_x`, `__x`; not `_x_`).
//! - `suppress-none-returning`: no return finding when every `return` is bare or `return None`.
//! - `ignore-fully-untyped`: no finding at all for a function without a single annotation.
//!
//! Example (`.gatehouse/config.toml`):
//!
//! ```toml
//! [rules.untyped-function]
//! level = "block"
//! paths = ["src/"]
//! options = { mypy-init-return = true, suppress-dummy-args = true }
//! ```
//!
//! ```python
//! def area(width, height=1):        # ANN201 at `area`, ANN001 at `width` and at `height`
//!     return width * height
//!
//! def area(width: float, height: float = 1) -> float:   # nothing
//!     return width * height
//! ```

mod exports;
mod function;
mod infer;
mod kinds;
mod names;
mod report;
mod walk;

use serde::Deserialize;

use crate::checks::Level;
use crate::checks::{Check, Diagnostic, FileRule, RuleMeta, parse_options};
use crate::lang::{Language, ParsedFile};
use report::Reporter;

/// The rule id.
pub const ID: &str = "untyped-function";

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "Python functions with missing parameter or return annotations (ruff's ANN rules)",
    default_level: Level::Block,
    languages: &[Language::Python],
    codes: report::CODES,
    version: 5,
    uses_project: true,
    per_file: false,
    module_source: include_str!("mod.rs"),
};

/// The rule's options, as ruff's `lint.flake8-annotations` settings.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Options {
    pub mypy_init_return: bool,
    pub suppress_dummy_args: bool,
    pub suppress_none_returning: bool,
    pub ignore_fully_untyped: bool,
}

/// The `untyped-function` check.
pub struct UntypedFunction;

impl Check for UntypedFunction {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn configure(&self, options: &toml::Table) -> Result<Box<dyn FileRule>, String> {
        Ok(Box::new(Configured(parse_options::<Options>(options)?)))
    }
}

struct Configured(Options);

impl FileRule for Configured {
    fn check(&self, file: &ParsedFile<'_>, out: &mut Vec<Diagnostic>) {
        if file.language == Language::Python {
            check_file(self.0, file, out);
        }
    }
}

/// Runs the rule on one parsed Python file.
pub fn check_file(options: Options, file: &ParsedFile<'_>, out: &mut Vec<Diagnostic>) {
    let fields = kinds::fields();
    let root = file.tree.root_node();
    // Unlike ruff, which reports only the syntax error, a file that does not parse is checked as
    // far as it parsed: the `parse-error` rule reports the error, this one what is above it.
    let mut walker = walk::Walker::new(options, fields, file.source, Reporter { file, out });
    walker.module_private = names::is_private_module(file.path, |dir| {
        file.project.exists(&format!("{dir}/__init__.py"))
    });
    walker.module = exports::module_scope(root, file.source, fields);
    walker.run(root);
}

#[cfg(test)]
mod tests;
