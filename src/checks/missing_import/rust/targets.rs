//! Cargo's target discovery: the library, binaries, tests, examples, benches and build script
//! of a package, from its `[lib]`, `[[bin]]`, `[[test]]`, `[[example]]`, `[[bench]]` tables
//! (with and without `path`), `autobins`/`autotests`/`autoexamples`/`autobenches`/`autolib`,
//! `build`, and the files of the standard layout, by the rules Cargo itself applies.

use crate::checks::ProjectFiles;

use super::manifest::{Edition, Package, join, normalize};

/// The kind of a Cargo target: which dependencies its code sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Lib,
    Bin,
    Test,
    Bench,
    Example,
    Build,
}

impl Kind {
    /// What the target is called in messages.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Lib => "library",
            Kind::Bin => "binary",
            Kind::Test => "test",
            Kind::Bench => "bench",
            Kind::Example => "example",
            Kind::Build => "build script",
        }
    }

    /// Tests, benches and examples see the dev-dependencies.
    pub fn is_dev(self) -> bool {
        matches!(self, Kind::Test | Kind::Bench | Kind::Example)
    }
}

/// One target of a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub kind: Kind,
    pub name: String,
    /// The crate root, repository-relative.
    pub root: String,
}

/// A `[[bin]]`-like table: its `name` and `path`.
#[derive(Debug, Clone, Default)]
pub struct Decl {
    pub name: Option<String>,
    pub path: Option<String>,
}

/// `[package] build`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Build {
    /// No key: `build.rs` when it exists.
    #[default]
    Default,
    Off,
    Path(String),
}

/// What a manifest declares about its targets.
#[derive(Debug, Clone, Default)]
pub struct Decls {
    /// `[lib]`, when the table is present.
    pub lib: Option<Decl>,
    pub bins: Vec<Decl>,
    pub tests: Vec<Decl>,
    pub examples: Vec<Decl>,
    pub benches: Vec<Decl>,
    /// `autolib`, `autobins`, `autotests`, `autoexamples`, `autobenches`.
    pub auto: [Option<bool>; 5],
    pub build: Build,
}

const AUTO_KEYS: [&str; 5] = [
    "autolib",
    "autobins",
    "autotests",
    "autoexamples",
    "autobenches",
];

impl Decls {
    /// Reads the target tables of a parsed manifest.
    pub fn parse(table: &toml::Table) -> Decls {
        let package = table.get("package").and_then(toml::Value::as_table);
        let list = |key: &str| -> Vec<Decl> {
            table
                .get(key)
                .and_then(toml::Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(toml::Value::as_table)
                .map(decl)
                .collect()
        };
        let mut auto = [None; 5];
        for (slot, key) in auto.iter_mut().zip(AUTO_KEYS) {
            *slot = package
                .and_then(|p| p.get(key))
                .and_then(toml::Value::as_bool);
        }
        let build = match package.and_then(|p| p.get("build")) {
            None | Some(toml::Value::Boolean(true)) => Build::Default,
            Some(toml::Value::String(path)) => Build::Path(normalize(path)),
            Some(_) => Build::Off,
        };
        Decls {
            lib: table.get("lib").and_then(toml::Value::as_table).map(decl),
            bins: list("bin"),
            tests: list("test"),
            examples: list("example"),
            benches: list("bench"),
            auto,
            build,
        }
    }
}

fn decl(table: &toml::Table) -> Decl {
    let text = |key: &str| table.get(key).and_then(|v| v.as_str()).map(String::from);
    Decl {
        name: text("name"),
        path: text("path").map(|p| normalize(&p)),
    }
}

/// The package's targets whose crate root exists, in Cargo's order.
pub fn discover(pkg: &Package, project: &dyn ProjectFiles) -> Vec<Target> {
    let d = &pkg.manifest.targets;
    let files = PackageFiles::new(pkg, project);
    let package = pkg.name().replace('-', "_");
    let e2015 = pkg.edition() == Edition::E2015;
    // Edition 2015 turns discovery of a kind off when any target of that kind is declared.
    let auto = |i: usize, declared: &[Decl]| d.auto[i].unwrap_or(!e2015 || declared.is_empty());
    let mut out = Vec::new();
    let lib_path = match d.lib.as_ref().and_then(|l| l.path.clone()) {
        Some(path) => Some(path),
        None if d.auto[0] != Some(false) || d.lib.is_some() => Some("src/lib.rs".to_string()),
        None => None,
    };
    if let Some(path) = lib_path.filter(|p| files.exists(p)) {
        let name = d.lib.as_ref().and_then(|l| l.name.clone());
        out.push(files.target(Kind::Lib, name.unwrap_or_else(|| package.clone()), &path));
    }
    let mut bins_inferred = files.inferred("src/bin");
    if files.exists("src/main.rs") {
        bins_inferred.insert(0, (pkg.name().to_string(), "src/main.rs".to_string()));
    }
    let kinds = [
        (Kind::Bin, &d.bins, 1, bins_inferred),
        (Kind::Test, &d.tests, 2, files.inferred("tests")),
        (Kind::Example, &d.examples, 3, files.inferred("examples")),
        (Kind::Bench, &d.benches, 4, files.inferred("benches")),
    ];
    for (kind, declared, slot, inferred) in kinds {
        let dir = match kind {
            Kind::Bin => "src/bin",
            Kind::Test => "tests",
            Kind::Example => "examples",
            _ => "benches",
        };
        let mut explicit: Vec<(String, String)> = Vec::new();
        for decl in declared.iter() {
            let Some(name) = decl.name.clone() else {
                continue;
            };
            let path = decl.path.clone().or_else(|| {
                let by_name = inferred.iter().find(|(n, _)| *n == name).map(|(_, p)| p);
                by_name.cloned().or_else(|| {
                    [format!("{dir}/{name}.rs"), format!("{dir}/{name}/main.rs")]
                        .into_iter()
                        .find(|p| files.exists(p))
                })
            });
            if let Some(path) = path.filter(|p| files.exists(p)) {
                explicit.push((name, path));
            }
        }
        if auto(slot, declared) {
            let extra: Vec<(String, String)> = inferred
                .into_iter()
                .filter(|(n, p)| !explicit.iter().any(|(en, ep)| en == n || ep == p))
                .collect();
            explicit.extend(extra);
        }
        out.extend(
            explicit
                .into_iter()
                .map(|(name, path)| files.target(kind, name, &path)),
        );
    }
    let build = match &d.build {
        Build::Default => Some("build.rs".to_string()),
        Build::Path(path) => Some(path.clone()),
        Build::Off => None,
    };
    if let Some(path) = build.filter(|p| files.exists(p)) {
        out.push(files.target(Kind::Build, "build-script-build".to_string(), &path));
    }
    out
}

/// The files of one package, by package-relative path.
struct PackageFiles<'a> {
    dir: &'a str,
    project: &'a dyn ProjectFiles,
}

impl<'a> PackageFiles<'a> {
    fn new(pkg: &'a Package, project: &'a dyn ProjectFiles) -> Self {
        PackageFiles {
            dir: &pkg.dir,
            project,
        }
    }

    fn exists(&self, rel: &str) -> bool {
        self.project.exists(&join(self.dir, rel))
    }

    fn target(&self, kind: Kind, name: String, rel: &str) -> Target {
        Target {
            kind,
            name,
            root: join(self.dir, rel),
        }
    }

    /// Cargo's inferred targets of a directory: `dir/*.rs` and `dir/*/main.rs`, by name.
    fn inferred(&self, dir: &str) -> Vec<(String, String)> {
        let prefix = format!("{}/", join(self.dir, dir));
        let paths = self.project.paths();
        let start = paths.partition_point(|p| p.as_str() < prefix.as_str());
        let mut found = Vec::new();
        for path in paths[start..].iter().take_while(|p| p.starts_with(&prefix)) {
            let rest = &path[prefix.len()..];
            let parts: Vec<&str> = rest.split('/').collect();
            let name = match parts.as_slice() {
                [file] => file.strip_suffix(".rs"),
                [sub, "main.rs"] => Some(*sub),
                _ => None,
            };
            if let Some(name) = name {
                found.push((name.to_string(), format!("{dir}/{rest}")));
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::checks::missing_import::rust::manifest::Manifest;

    struct Files(Vec<String>);

    impl ProjectFiles for Files {
        fn paths(&self) -> &[String] {
            &self.0
        }
        fn read(&self, path: &str) -> Option<Arc<str>> {
            self.0.iter().any(|p| p == path).then(|| Arc::from(""))
        }
    }

    fn targets(manifest: &str, files: &[&str]) -> Vec<(Kind, String, String)> {
        let mut paths: Vec<String> = files.iter().map(|f| format!("p/{f}")).collect();
        paths.sort();
        let pkg = Package {
            dir: "p".into(),
            manifest: Arc::new(Manifest::parse(manifest).unwrap()),
            workspace: None,
        };
        discover(&pkg, &Files(paths))
            .into_iter()
            .map(|t| (t.kind, t.name, t.root))
            .collect()
    }

    const HEAD: &str = "[package]\nname = \"rg-x\"\nedition = \"2021\"\n";

    #[test]
    fn standard_layout() {
        let found = targets(
            HEAD,
            &[
                "src/lib.rs",
                "src/main.rs",
                "src/bin/a.rs",
                "src/bin/b/main.rs",
                "src/bin/b/util.rs",
                "tests/t.rs",
                "tests/common/mod.rs",
                "examples/e/main.rs",
                "benches/b.rs",
                "build.rs",
            ],
        );
        let roots: Vec<&str> = found.iter().map(|(_, _, r)| r.as_str()).collect();
        assert_eq!(
            roots,
            [
                "p/src/lib.rs",
                "p/src/main.rs",
                "p/src/bin/a.rs",
                "p/src/bin/b/main.rs",
                "p/tests/t.rs",
                "p/examples/e/main.rs",
                "p/benches/b.rs",
                "p/build.rs"
            ]
        );
        assert_eq!(found[0].1, "rg_x");
    }

    #[test]
    fn declared_paths_and_auto_off() {
        let manifest = format!(
            "{HEAD}autotests = false\nbuild = false\n[lib]\npath = \"lib.rs\"\n[[bin]]\nname = \"rg\"\npath = \"crates/core/main.rs\"\n[[test]]\nname = \"integration\"\npath = \"tests/tests.rs\"\n[[example]]\nname = \"demo\"\n"
        );
        let found = targets(
            &manifest,
            &[
                "lib.rs",
                "crates/core/main.rs",
                "tests/tests.rs",
                "tests/util.rs",
                "examples/demo.rs",
                "build.rs",
            ],
        );
        assert_eq!(
            found,
            [
                (Kind::Lib, "rg_x".into(), "p/lib.rs".into()),
                (Kind::Bin, "rg".into(), "p/crates/core/main.rs".into()),
                (Kind::Test, "integration".into(), "p/tests/tests.rs".into()),
                (Kind::Example, "demo".into(), "p/examples/demo.rs".into()),
            ]
        );
    }

    #[test]
    fn edition_2015_declared_kind_turns_discovery_off() {
        let manifest = "[package]\nname = \"old\"\n[[bin]]\nname = \"x\"\n";
        let found = targets(manifest, &["src/bin/x.rs", "src/bin/y.rs", "src/main.rs"]);
        assert_eq!(found, [(Kind::Bin, "x".into(), "p/src/bin/x.rs".into())]);
        let manifest = format!("{HEAD}autobins = false\n[[bin]]\nname = \"rg-x\"\n");
        let found = targets(&manifest, &["src/main.rs", "src/bin/y.rs"]);
        assert_eq!(found, [(Kind::Bin, "rg-x".into(), "p/src/main.rs".into())]);
    }
}
