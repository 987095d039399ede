//! The Python findings: what each says and suggests (a near-miss of a declared or existing
//! name, the scope a package is declared for).

use super::Ctx;
use super::imports::Import;
use super::manifest;
use super::modules::Found;
use super::scope::Scope;
use crate::checks::Diagnostic;
use crate::checks::missing_import::diagnostic;
use crate::lang::ParsedFile;

impl Ctx<'_, '_> {
    /// An import in library code of a package declared only for the project's own work.
    pub(super) fn dev_only(&self, import: &Import<'_>, top: &str, scopes: &[Scope]) -> Diagnostic {
        let manifest = if self.project.dir.is_empty() {
            "pyproject.toml".to_string()
        } else {
            format!("{}/pyproject.toml", self.project.dir)
        };
        let declared: Vec<String> = scopes.iter().map(ToString::to_string).collect();
        diagnostic(
            self.file,
            import.node,
            "undeclared-package",
            format!(
                "`{top}` is declared only for {}, and this is library code: users of the package do not get it",
                declared.join(" and ")
            ),
            top,
            format!(
                "declare it in [project] dependencies (or an extra) in {manifest}, or import it inside `try: … except ImportError:` where it is optional"
            ),
        )
    }

    pub(super) fn undeclared(&self, import: &Import<'_>, top: &str) -> Diagnostic {
        let manifest = if self.project.dir.is_empty() {
            String::new()
        } else {
            format!("{}/", self.project.dir)
        };
        let candidates: Vec<String> = self
            .project
            .declared
            .iter()
            .chain(self.project.provided.keys())
            .cloned()
            .collect();
        let help = match near_miss(&top.to_ascii_lowercase(), &candidates) {
            Some(close) => format!(
                "did you mean `{close}`, which the project declares? Otherwise declare the distribution that provides `{top}` ({manifest}pyproject.toml or requirements.txt)"
            ),
            None => format!(
                "declare the distribution that provides `{top}` ({manifest}pyproject.toml or requirements.txt), or, if it is declared under another name, map it: [rules.missing-import] options = {{ mapping = {{ {top} = \"distribution\" }} }}"
            ),
        };
        diagnostic(
            self.file,
            import.node,
            "undeclared-package",
            format!(
                "`{top}` is not the standard library, not first-party, and no declared distribution provides it"
            ),
            top,
            help,
        )
    }

    pub(super) fn missing_module(
        &self,
        import: &Import<'_>,
        message: String,
        close: Option<String>,
    ) -> Diagnostic {
        let help = match close {
            Some(close) => {
                format!("did you mean `{close}`? The module does not exist at this revision")
            }
            None => {
                "the module does not exist at this revision: was it renamed or moved?".to_string()
            }
        };
        let symbol = if import.level > 0 {
            relative_text(import)
        } else {
            import.module.clone()
        };
        diagnostic(
            self.file,
            import.node,
            "missing-module",
            message,
            &symbol,
            help,
        )
    }

    pub(super) fn missing_name(
        &self,
        import: &Import<'_>,
        name: &str,
        node: tree_sitter::Node<'_>,
        complete: &[(&str, Option<Found>)],
    ) -> Diagnostic {
        let module = if import.level > 0 {
            relative_text(import)
        } else {
            import.module.clone()
        };
        let mut candidates = Vec::new();
        for (root, found) in complete {
            let dir = manifest::join(root, &import.module.replace('.', "/"));
            if let Some(Found::Package { init }) = found {
                candidates.extend(self.index.children(&dir));
                candidates.extend(
                    init.iter()
                        .filter_map(|i| self.names_of(i).flatten())
                        .flat_map(|n| n.iter().cloned().collect::<Vec<_>>()),
                );
            } else if let Some(Found::Module { file }) = found {
                candidates.extend(
                    self.names_of(file)
                        .flatten()
                        .into_iter()
                        .flat_map(|n| n.iter().cloned().collect::<Vec<_>>()),
                );
            }
        }
        let help = match near_miss(name, &candidates) {
            Some(close) => format!("did you mean `{close}`? `{module}` does not define `{name}`"),
            None => format!(
                "`{module}` neither defines, assigns nor imports `{name}`, and has no submodule of that name: was it renamed?"
            ),
        };
        diagnostic(
            self.file,
            node,
            "missing-name",
            format!("`{module}` has no `{name}`"),
            &format!("{module}.{name}"),
            help,
        )
    }
}

/// A module as written in a relative import: `..pkg.mod`.
pub(super) fn relative_text(import: &Import<'_>) -> String {
    format!("{}{}", ".".repeat(import.level), import.module)
}

/// The candidate closest to `name` within a small edit distance.
pub(super) fn near_miss(name: &str, candidates: &[String]) -> Option<String> {
    let limit = if name.len() <= 4 { 1 } else { 2 };
    candidates
        .iter()
        .filter(|c| c.as_str() != name && !c.starts_with("__"))
        .map(|c| {
            (
                edit_distance(&name.to_ascii_lowercase(), &c.to_ascii_lowercase()),
                c,
            )
        })
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c.clone())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (previous + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(current + 1);
            previous = current;
        }
    }
    row[b.len()]
}

/// An import of a declared package that the project's lockfile does not have.
pub(super) fn unlocked_finding(
    file: &ParsedFile<'_>,
    node: tree_sitter::Node<'_>,
    top: &str,
    lock: &str,
) -> Diagnostic {
    let mut d = diagnostic(
        file,
        node,
        "unlocked-dependency",
        format!(
            "`{top}` is declared but {lock} does not have it: it was added without being resolved"
        ),
        top,
        format!(
            "check that `{top}` is the package you mean, then update {lock} (`uv lock`, `poetry lock`, `pdm lock`, `pipenv lock`)"
        ),
    );
    d.level = Some(crate::checks::Level::Review);
    d
}
