//! What a Python project's `pyproject.toml` says: the distributions it declares (PEP 621,
//! dependency groups, Poetry, PDM, uv, Hatch environments) and for whom, its source roots, its
//! minimum Python, the modules it distributes and those its build writes.

use toml::{Table, Value};

use super::scope::Scope;

/// What the manifests of one directory declare.
#[derive(Debug, Default, Clone)]
pub struct Declared {
    /// Distribution names, as written, with the scope each is declared for.
    pub distributions: Vec<(String, Scope)>,
    /// Source roots, repository-relative.
    pub roots: Vec<String>,
    /// The lowest Python minor version `requires-python` allows (3.x).
    pub min_minor: Option<u8>,
    /// Files a build writes (setuptools-scm's version file), repository-relative.
    pub generated: Vec<String>,
    /// A manifest could not be read: the project's declarations are unknown.
    pub broken: bool,
    /// A manifest that declares dependencies exists (even if it declares none).
    pub found: bool,
    /// Top-level modules the project distributes: its import name, flit's module, py-modules.
    pub modules: Vec<String>,
    /// Directories whose manifest defines a project (`[project]`, Poetry, a Pipfile): where a
    /// lockfile locks what they declare.
    pub packaged: Vec<String>,
}

impl Declared {
    pub(super) fn add_requirement(&mut self, requirement: &str, scope: &Scope) {
        if let Some(name) = requirement_name(requirement) {
            self.distributions.push((name, scope.clone()));
        }
    }

    pub(super) fn add_root(&mut self, dir: &str, root: &str) {
        let root = root.trim().trim_start_matches("./").trim_end_matches('/');
        if root.is_empty() || root == "." {
            self.roots.push(dir.to_string());
        } else if !root.starts_with("..") && !root.starts_with('/') {
            self.roots.push(join(dir, root));
        }
    }
}

/// `dir/rest`, with `""` as the repository root.
pub fn join(dir: &str, rest: &str) -> String {
    if rest.is_empty() {
        dir.to_string()
    } else if dir.is_empty() {
        rest.to_string()
    } else {
        format!("{dir}/{rest}")
    }
}

/// The distribution name at the start of a PEP 508 requirement or a requirements-file line;
/// `None` for options, paths and URLs that do not name one.
pub fn requirement_name(line: &str) -> Option<String> {
    let line = line.split(" #").next().unwrap_or(line).trim();
    let line = line
        .strip_prefix("-e ")
        .or_else(|| line.strip_prefix("--editable "))
        .or_else(|| line.strip_prefix("--editable="))
        .map_or(line, str::trim);
    if let Some((_, egg)) = line.split_once("#egg=") {
        return requirement_name(egg.split('&').next().unwrap_or(egg));
    }
    if line.starts_with('-')
        || line.starts_with('#')
        || line.contains("://") && !line.contains(" @ ")
    {
        return None;
    }
    let name: String = line
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    let name = name.trim_end_matches(['.', '-', '_']);
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    valid.then(|| name.to_string())
}

/// `requires-python` (or Poetry's `python`): the lowest 3.x minor it allows.
pub fn min_minor(spec: &str) -> Option<u8> {
    let mut lowest: Option<u8> = None;
    for clause in spec.split([',', '|']) {
        let clause = clause.trim();
        let op_end = clause
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(clause.len());
        let (op, version) = clause.split_at(op_end);
        let op = op.trim();
        if op.starts_with('<') || op == "!=" {
            continue;
        }
        let mut parts = version.split('.');
        let (Some("3"), Some(minor)) = (parts.next(), parts.next()) else {
            continue;
        };
        let Ok(minor) = minor.trim_end_matches('*').parse::<u8>() else {
            continue;
        };
        let minor = if op == ">" && version.matches('.').count() == 1 {
            minor + 1
        } else {
            minor
        };
        lowest = Some(lowest.map_or(minor, |l| l.min(minor)));
    }
    lowest
}

fn strings(value: Option<&Value>) -> impl Iterator<Item = &str> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

fn get<'v>(table: &'v Table, path: &[&str]) -> Option<&'v Value> {
    let (first, rest) = path.split_first()?;
    let value = table.get(*first)?;
    if rest.is_empty() {
        Some(value)
    } else {
        get(value.as_table()?, rest)
    }
}

pub(super) fn tables(value: Option<&Value>) -> impl Iterator<Item = (&String, &Value)> {
    value.and_then(Value::as_table).into_iter().flatten()
}

/// `pyproject.toml` of the project in `dir`.
pub fn pyproject(text: &str, dir: &str, out: &mut Declared) {
    let Ok(doc) = text.parse::<Table>() else {
        out.broken = true;
        return;
    };
    let project = doc.get("project").and_then(Value::as_table);
    let has_poetry = get(&doc, &["tool", "poetry", "dependencies"]).is_some();
    out.found |= project.is_some() || has_poetry;
    if project.is_some() || has_poetry {
        out.packaged.push(dir.to_string());
    }
    if let Some(project) = project {
        if let Some(name) = project.get("name").and_then(Value::as_str) {
            out.modules
                .push(name.to_ascii_lowercase().replace(['-', '.'], "_"));
        }
        strings(project.get("dependencies")).for_each(|r| out.add_requirement(r, &Scope::Runtime));
        for (name, extra) in tables(project.get("optional-dependencies")) {
            let scope = Scope::extra(name);
            strings(Some(extra)).for_each(|r| out.add_requirement(r, &scope));
        }
        if let Some(spec) = project.get("requires-python").and_then(Value::as_str) {
            out.min_minor = min_minor(spec);
        }
    }
    for (name, group) in tables(doc.get("dependency-groups")) {
        let scope = Scope::Dev(format!("dependency group `{name}`"));
        strings(Some(group)).for_each(|r| out.add_requirement(r, &scope));
    }
    if let Some(requires) = get(&doc, &["build-system", "requires"]) {
        let scope = Scope::Dev("[build-system] requires".to_string());
        strings(Some(requires)).for_each(|r| out.add_requirement(r, &scope));
    }
    let Some(tool) = doc.get("tool").and_then(Value::as_table) else {
        return;
    };
    poetry(tool, dir, out);
    let modules = [
        get(tool, &["flit", "module", "name"]).and_then(Value::as_str),
        get(tool, &["poetry", "name"]).and_then(Value::as_str),
    ];
    out.modules
        .extend(modules.into_iter().flatten().map(|m| m.replace('-', "_")));
    out.modules
        .extend(strings(get(tool, &["setuptools", "py-modules"])).map(String::from));
    for path in [&["pdm", "dev-dependencies"][..], &["hatch", "envs"]] {
        for (name, entry) in tables(get(tool, path)) {
            let scope = Scope::Dev(format!("[tool.{}] `{name}`", path.join(".")));
            match entry {
                Value::Array(_) => {
                    strings(Some(entry)).for_each(|r| out.add_requirement(r, &scope))
                }
                Value::Table(env) => {
                    for key in ["dependencies", "extra-dependencies"] {
                        strings(env.get(key)).for_each(|r| out.add_requirement(r, &scope));
                    }
                }
                _ => {}
            }
        }
    }
    for path in [
        &["uv", "dev-dependencies"][..],
        &["uv", "constraint-dependencies"],
    ] {
        let scope = Scope::Dev(format!("[tool.{}]", path.join(".")));
        strings(get(tool, path)).for_each(|r| out.add_requirement(r, &scope));
    }
    layout(tool, dir, out);
}

fn poetry(tool: &Table, dir: &str, out: &mut Declared) {
    let Some(poetry) = tool.get("poetry").and_then(Value::as_table) else {
        return;
    };
    let mut sections: Vec<(&Value, Scope)> = Vec::new();
    if let Some(deps) = poetry.get("dependencies") {
        sections.push((deps, Scope::Runtime));
    }
    if let Some(deps) = poetry.get("dev-dependencies") {
        sections.push((deps, Scope::Dev("[tool.poetry.dev-dependencies]".into())));
    }
    for (name, group) in tables(poetry.get("group")) {
        if let Some(deps) = group.get("dependencies") {
            sections.push((deps, Scope::Dev(format!("Poetry group `{name}`"))));
        }
    }
    for (section, scope) in sections {
        for (name, spec) in tables(Some(section)) {
            if name == "python" {
                if let Some(spec) = spec.as_str() {
                    out.min_minor = out.min_minor.or_else(|| min_minor(&poetry_spec(spec)));
                }
                continue;
            }
            // An optional main dependency is an extra's.
            let optional = spec.get("optional").and_then(Value::as_bool) == Some(true);
            let scope = match scope {
                Scope::Runtime if optional => Scope::Extra(name.clone()),
                ref other => other.clone(),
            };
            out.distributions.push((name.clone(), scope));
        }
    }
    for package in poetry
        .get("packages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(from) = package.get("from").and_then(Value::as_str) {
            out.add_root(dir, from);
        }
    }
}

/// Poetry's `^3.10` / `~3.10` as a PEP 440 lower bound.
fn poetry_spec(spec: &str) -> String {
    spec.replace(['^', '~'], ">=")
}

/// Source roots and generated modules from setuptools, Hatch, PDM, pytest and setuptools-scm.
fn layout(tool: &Table, dir: &str, out: &mut Declared) {
    for (_, root) in tables(get(tool, &["setuptools", "package-dir"])) {
        if let Some(root) = root.as_str() {
            out.add_root(dir, root);
        }
    }
    for root in strings(get(tool, &["setuptools", "packages", "find", "where"])) {
        out.add_root(dir, root);
    }
    for package in strings(get(
        tool,
        &["hatch", "build", "targets", "wheel", "packages"],
    )) {
        let parent = package.rsplit_once('/').map_or("", |(parent, _)| parent);
        out.add_root(dir, parent);
    }
    if let Some(root) = get(tool, &["pdm", "build", "package-dir"]).and_then(Value::as_str) {
        out.add_root(dir, root);
    }
    let pythonpath = get(tool, &["pytest", "ini_options", "pythonpath"]);
    match pythonpath {
        Some(Value::String(paths)) => paths.split_whitespace().for_each(|p| out.add_root(dir, p)),
        other => strings(other).for_each(|p| out.add_root(dir, p)),
    }
    let version_files = [
        get(tool, &["setuptools_scm", "write_to"]),
        get(tool, &["setuptools_scm", "version_file"]),
        get(tool, &["hatch", "build", "hooks", "vcs", "version-file"]),
        get(tool, &["hatch", "version", "raw-options", "version_file"]),
        get(tool, &["pdm", "version", "write_to"]),
    ];
    for file in version_files
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        out.generated.push(join(dir, file.trim_start_matches("./")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirement_names_of_every_shape() {
        for (line, name) in [
            ("requests>=2.0", Some("requests")),
            ("PyYAML ; python_version < '3.8'", Some("PyYAML")),
            ("foo[bar,baz]~=1.0", Some("foo")),
            ("zope.interface", Some("zope.interface")),
            ("pkg @ https://example.com/pkg.whl", Some("pkg")),
            ("-e git+https://github.com/x/y.git#egg=yolo", Some("yolo")),
            ("git+https://github.com/x/y.git", None),
            ("-e ./local/path", None),
            ("--hash=sha256:abc", None),
            ("# a comment", None),
            ("", None),
        ] {
            assert_eq!(requirement_name(line).as_deref(), name, "{line}");
        }
    }

    #[test]
    fn requires_python_lower_bounds() {
        assert_eq!(min_minor(">=3.10"), Some(10));
        assert_eq!(min_minor(">=3.8, <4"), Some(8));
        assert_eq!(min_minor("~=3.11"), Some(11));
        assert_eq!(min_minor(">3.9"), Some(10));
        assert_eq!(min_minor("==3.12.*"), Some(12));
        assert_eq!(min_minor(&poetry_spec("^3.10")), Some(10));
        assert_eq!(min_minor("<3.13"), None);
    }

    #[test]
    fn every_manifest_kind_declares() {
        let mut out = Declared::default();
        pyproject(
            r#"
[project]
dependencies = ["requests>=2"]
optional-dependencies = { yaml = ["PyYAML"] }
requires-python = ">=3.11"
[dependency-groups]
test = ["pytest", { include-group = "lint" }]
[tool.poetry.dependencies]
python = "^3.9"
httpx = "*"
[tool.poetry.group.dev.dependencies]
black = "*"
[tool.pdm.dev-dependencies]
lint = ["ruff"]
[tool.uv]
dev-dependencies = ["mypy"]
[tool.hatch.envs.test]
dependencies = ["coverage"]
[tool.setuptools.packages.find]
where = ["src"]
[tool.setuptools_scm]
write_to = "src/pkg/_version.py"
"#,
            "sub",
            &mut out,
        );
        for name in [
            "requests", "PyYAML", "pytest", "httpx", "black", "ruff", "mypy", "coverage",
        ] {
            assert!(
                out.distributions.iter().any(|(d, _)| d == name),
                "{name}: {out:?}"
            );
        }
        assert_eq!(out.min_minor, Some(11));
        assert_eq!(out.roots, ["sub/src"]);
        assert_eq!(out.generated, ["sub/src/pkg/_version.py"]);
    }
}
