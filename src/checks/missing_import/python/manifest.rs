//! What a Python project's manifests say: the distributions it declares (PEP 621, dependency
//! groups, Poetry, PDM, uv, Hatch environments, Pipfile, `requirements*.txt`/`.in`, `setup.cfg`,
//! `setup.py`, tox), its source roots, its minimum Python, and the modules its build writes.

use toml::{Table, Value};

/// What the manifests of one directory declare.
#[derive(Debug, Default, Clone)]
pub struct Declared {
    /// Distribution names, as written.
    pub distributions: Vec<String>,
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
}

impl Declared {
    fn add_requirement(&mut self, requirement: &str) {
        if let Some(name) = requirement_name(requirement) {
            self.distributions.push(name);
        }
    }

    fn add_root(&mut self, dir: &str, root: &str) {
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

fn tables(value: Option<&Value>) -> impl Iterator<Item = (&String, &Value)> {
    value.and_then(Value::as_table).into_iter().flatten()
}

/// `pyproject.toml` of the project in `dir`.
pub fn pyproject(text: &str, dir: &str, out: &mut Declared) {
    let Ok(doc) = text.parse::<Table>() else {
        out.broken = true;
        return;
    };
    let project = doc.get("project").and_then(Value::as_table);
    out.found |= project.is_some() || get(&doc, &["tool", "poetry", "dependencies"]).is_some();
    if let Some(project) = project {
        strings(project.get("dependencies")).for_each(|r| out.add_requirement(r));
        for (_, extra) in tables(project.get("optional-dependencies")) {
            strings(Some(extra)).for_each(|r| out.add_requirement(r));
        }
        if let Some(spec) = project.get("requires-python").and_then(Value::as_str) {
            out.min_minor = min_minor(spec);
        }
    }
    for (_, group) in tables(doc.get("dependency-groups")) {
        strings(Some(group)).for_each(|r| out.add_requirement(r));
    }
    if let Some(requires) = get(&doc, &["build-system", "requires"]) {
        strings(Some(requires)).for_each(|r| out.add_requirement(r));
    }
    let Some(tool) = doc.get("tool").and_then(Value::as_table) else {
        return;
    };
    poetry(tool, dir, out);
    for path in [&["pdm", "dev-dependencies"][..], &["hatch", "envs"]] {
        for (_, entry) in tables(get(tool, path)) {
            match entry {
                Value::Array(_) => strings(Some(entry)).for_each(|r| out.add_requirement(r)),
                Value::Table(env) => {
                    for key in ["dependencies", "extra-dependencies"] {
                        strings(env.get(key)).for_each(|r| out.add_requirement(r));
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
        strings(get(tool, path)).for_each(|r| out.add_requirement(r));
    }
    layout(tool, dir, out);
}

fn poetry(tool: &Table, dir: &str, out: &mut Declared) {
    let Some(poetry) = tool.get("poetry").and_then(Value::as_table) else {
        return;
    };
    let mut sections: Vec<&Value> = ["dependencies", "dev-dependencies"]
        .iter()
        .filter_map(|k| poetry.get(*k))
        .collect();
    for (_, group) in tables(poetry.get("group")) {
        sections.extend(group.get("dependencies"));
    }
    for (name, spec) in sections.into_iter().flat_map(|s| tables(Some(s))) {
        if name == "python" {
            if let Some(spec) = spec.as_str() {
                out.min_minor = out.min_minor.or_else(|| min_minor(&poetry_spec(spec)));
            }
        } else {
            out.distributions.push(name.clone());
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

/// A requirements file's lines (`-r`/`-c` includes are returned for the caller to follow).
pub fn requirements(text: &str, out: &mut Declared) -> Vec<String> {
    out.found = true;
    let mut includes = Vec::new();
    let joined = text.replace("\\\n", " ");
    for line in joined.lines().map(str::trim) {
        let include = ["-r", "--requirement", "-c", "--constraint"]
            .iter()
            .find_map(|flag| line.strip_prefix(flag))
            .filter(|rest| rest.starts_with([' ', '=']));
        match include {
            Some(rest) => includes.push(rest.trim_start_matches('=').trim().to_string()),
            None => out.add_requirement(line),
        }
    }
    includes
}

/// `setup.cfg`: `install_requires`, `extras_require`, `tests_require`, `setup_requires`,
/// `package_dir` and `packages.find where`.
pub fn setup_cfg(text: &str, dir: &str, out: &mut Declared) {
    let mut section = String::new();
    let mut key = String::new();
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if line.starts_with('[') {
            section = line.trim_matches(['[', ']']).trim().to_string();
            out.found |= section == "options";
            key.clear();
            continue;
        }
        let value = if raw.starts_with([' ', '\t']) {
            line
        } else if let Some((k, v)) = line.split_once(['=', ':']) {
            key = k.trim().to_string();
            v.trim()
        } else {
            continue;
        };
        match (section.as_str(), key.as_str()) {
            ("options", "install_requires" | "tests_require" | "setup_requires")
            | ("options.extras_require", _) => {
                value
                    .split(';')
                    .next()
                    .into_iter()
                    .for_each(|r| out.add_requirement(r));
            }
            ("options", "python_requires") => out.min_minor = min_minor(value),
            ("options", "package_dir") => {
                let root = value.rsplit('=').next().unwrap_or(value);
                if !root.is_empty() {
                    out.add_root(dir, root);
                }
            }
            ("options.packages.find", "where") => out.add_root(dir, value),
            _ => {}
        }
    }
}

/// `setup.py`: every string literal that reads as a requirement (the lists passed to
/// `install_requires`, `extras_require`, … are usually literals, sometimes via variables).
pub fn setup_py(text: &str, out: &mut Declared) {
    out.found = true;
    out.add_requirement("setuptools");
    for line in text.lines() {
        for (i, quoted) in line.split(['"', '\'']).enumerate() {
            let looks_like = quoted.len() < 200 && !quoted.contains(' ')
                || quoted.contains(['<', '>', '=', ';']);
            if i % 2 == 1 && looks_like {
                out.add_requirement(quoted);
            }
        }
    }
}

/// `Pipfile`: `[packages]` and `[dev-packages]`.
pub fn pipfile(text: &str, out: &mut Declared) {
    let Ok(doc) = text.parse::<Table>() else {
        out.broken = true;
        return;
    };
    out.found = true;
    for section in ["packages", "dev-packages"] {
        for (name, _) in tables(doc.get(section)) {
            out.distributions.push(name.clone());
        }
    }
}

/// `tox.ini`: the `deps` of every test environment.
pub fn tox_ini(text: &str, out: &mut Declared) {
    let mut in_deps = false;
    for raw in text.lines() {
        let line = raw.trim();
        if raw.starts_with('[') {
            in_deps = false;
        } else if let Some(rest) = line.strip_prefix("deps") {
            in_deps = true;
            if let Some(value) = rest.trim_start().strip_prefix('=') {
                out.add_requirement(value.trim());
            }
        } else if in_deps && raw.starts_with([' ', '\t']) {
            let requirement = line.split_once(':').map_or(line, |(_, r)| r.trim());
            out.add_requirement(requirement);
        } else if !raw.starts_with([' ', '\t']) {
            in_deps = false;
        }
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
                out.distributions.iter().any(|d| d == name),
                "{name}: {out:?}"
            );
        }
        assert_eq!(out.min_minor, Some(11));
        assert_eq!(out.roots, ["sub/src"]);
        assert_eq!(out.generated, ["sub/src/pkg/_version.py"]);

        let mut out = Declared::default();
        let includes = requirements(
            "-r base.txt\nflask==2 \\\n  --hash=sha256:0\n-c constraints.txt\n",
            &mut out,
        );
        assert_eq!(includes, ["base.txt", "constraints.txt"]);
        assert_eq!(out.distributions, ["flask"]);

        let mut out = Declared::default();
        setup_cfg(
            "[options]\ninstall_requires =\n    attrs>=20\n    click\npackage_dir =\n    =src\n[options.extras_require]\ntest = pytest\n",
            "",
            &mut out,
        );
        assert_eq!(out.distributions, ["attrs", "click", "pytest"]);
        assert_eq!(out.roots, ["src"]);

        let mut out = Declared::default();
        tox_ini(
            "[testenv]\ndeps =\n    pytest-cov\n    py38: mock\ncommands = pytest\n",
            &mut out,
        );
        assert_eq!(out.distributions, ["pytest-cov", "mock"]);
    }
}
