//! The other Python manifests: `requirements*.txt`/`.in`, `setup.cfg`, `setup.py`, `Pipfile`
//! and `tox.ini`, and the scope each declares for.

use toml::Table;

use super::manifest::{Declared, min_minor, tables};
use super::scope::Scope;

/// A requirements file's lines (`-r`/`-c` includes are returned for the caller to follow).
pub fn requirements(text: &str, scope: &Scope, out: &mut Declared) -> Vec<String> {
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
            None => out.add_requirement(line, scope),
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
                let scope = match (section.as_str(), key.as_str()) {
                    ("options", "install_requires") => Scope::Runtime,
                    ("options", other) => Scope::Dev(format!("setup.cfg `{other}`")),
                    (_, extra) => Scope::extra(extra),
                };
                value
                    .split(';')
                    .next()
                    .into_iter()
                    .for_each(|r| out.add_requirement(r, &scope));
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
    // Which list a literal belongs to is not known: every one counts for users.
    out.add_requirement("setuptools", &Scope::Runtime);
    for line in text.lines() {
        for (i, quoted) in line.split(['"', '\'']).enumerate() {
            let looks_like = quoted.len() < 200 && !quoted.contains(' ')
                || quoted.contains(['<', '>', '=', ';']);
            if i % 2 == 1 && looks_like {
                out.add_requirement(quoted, &Scope::Runtime);
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
    for (section, scope) in [
        ("packages", Scope::Runtime),
        ("dev-packages", Scope::Dev("Pipfile [dev-packages]".into())),
    ] {
        for (name, _) in tables(doc.get(section)) {
            out.distributions.push((name.clone(), scope.clone()));
        }
    }
}

/// `tox.ini`: the `deps` of every test environment.
pub fn tox_ini(text: &str, out: &mut Declared) {
    let scope = Scope::Dev("tox.ini".to_string());
    let mut in_deps = false;
    for raw in text.lines() {
        let line = raw.trim();
        if raw.starts_with('[') {
            in_deps = false;
        } else if let Some(rest) = line.strip_prefix("deps") {
            in_deps = true;
            if let Some(value) = rest.trim_start().strip_prefix('=') {
                out.add_requirement(value.trim(), &scope);
            }
        } else if in_deps && raw.starts_with([' ', '\t']) {
            let requirement = line.split_once(':').map_or(line, |(_, r)| r.trim());
            out.add_requirement(requirement, &scope);
        } else if !raw.starts_with([' ', '\t']) {
            in_deps = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(out: &Declared) -> Vec<&str> {
        out.distributions.iter().map(|(d, _)| d.as_str()).collect()
    }

    #[test]
    fn requirements_setup_cfg_and_tox() {
        let mut out = Declared::default();
        let includes = requirements(
            "-r base.txt\nflask==2 \\\n  --hash=sha256:0\n-c constraints.txt\n",
            &Scope::Runtime,
            &mut out,
        );
        assert_eq!(includes, ["base.txt", "constraints.txt"]);
        assert_eq!(names(&out), ["flask"]);

        let mut out = Declared::default();
        setup_cfg(
            "[options]\ninstall_requires =\n    attrs>=20\n    click\npackage_dir =\n    =src\n[options.extras_require]\ntest = pytest\n",
            "",
            &mut out,
        );
        assert_eq!(names(&out), ["attrs", "click", "pytest"]);
        assert_eq!(
            out.distributions[2].1,
            Scope::Dev("the `test` extra".into())
        );
        assert_eq!(out.roots, ["src"]);

        let mut out = Declared::default();
        tox_ini(
            "[testenv]\ndeps =\n    pytest-cov\n    py38: mock\ncommands = pytest\n",
            &mut out,
        );
        assert_eq!(names(&out), ["pytest-cov", "mock"]);
    }
}
