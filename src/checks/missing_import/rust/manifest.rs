//! What a `Cargo.toml` says about the names a package's code may use: its dependencies by
//! kind (under the name code uses: the key, `-` → `_`), its own library name, its edition and
//! its targets; and how to find the package and the workspace a file belongs to.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::checks::ProjectFiles;

use super::Memo;

/// The kind of a dependency table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DepKind {
    Normal,
    Dev,
    Build,
}

impl DepKind {
    pub fn table(self) -> &'static str {
        match self {
            DepKind::Normal => "[dependencies]",
            DepKind::Dev => "[dev-dependencies]",
            DepKind::Build => "[build-dependencies]",
        }
    }
}

/// The edition of a package; `Unknown` when it is inherited from a workspace that says nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edition {
    E2015,
    Modern,
    Unknown,
}

/// A parsed `Cargo.toml`.
#[derive(Debug, Default)]
pub struct Manifest {
    /// `[package] name`, when the manifest has a `[package]`.
    pub package: Option<String>,
    /// `[package] edition`: `None` when absent, `Some(None)` when `edition.workspace = true`.
    pub edition: Option<Option<String>>,
    /// `[package] workspace`: an explicit path to the workspace root's directory.
    pub workspace_path: Option<String>,
    /// `[lib] name`, `[lib] path`, `[lib] proc-macro`.
    pub lib_name: Option<String>,
    pub lib_path: Option<String>,
    pub proc_macro: bool,
    /// `[package] build`: `None` for the default `build.rs`, `Some(None)` for `build = false`.
    pub build: Option<Option<String>>,
    /// Dependencies: (name in code, kind).
    pub deps: BTreeSet<(String, DepKind)>,
    /// Paths of `[[bin]]` targets, and of `[[test]]`, `[[bench]]`, `[[example]]` targets.
    pub bin_paths: Vec<String>,
    pub dev_target_paths: Vec<String>,
    /// `[workspace]`, when present: members, excludes, dependencies, package edition.
    pub workspace: Option<Workspace>,
}

/// A `[workspace]` table.
#[derive(Debug, Default)]
pub struct Workspace {
    pub members: Vec<String>,
    pub exclude: Vec<String>,
    pub deps: BTreeSet<String>,
    pub edition: Option<String>,
}

/// The name code uses for a crate or dependency key: `-` → `_`.
pub fn code_name(name: &str) -> String {
    name.replace('-', "_")
}

impl Manifest {
    /// Parses a manifest; `None` when it is not valid TOML.
    pub fn parse(text: &str) -> Option<Manifest> {
        let table: toml::Table = toml::from_str(text).ok()?;
        let mut manifest = Manifest::default();
        if let Some(package) = table.get("package").and_then(toml::Value::as_table) {
            manifest.package = package
                .get("name")
                .and_then(|v| v.as_str())
                .map(String::from);
            manifest.edition = package.get("edition").map(|v| v.as_str().map(String::from));
            manifest.workspace_path = package
                .get("workspace")
                .and_then(|v| v.as_str())
                .map(String::from);
            manifest.build = package.get("build").map(|v| v.as_str().map(String::from));
        }
        if let Some(lib) = table.get("lib").and_then(toml::Value::as_table) {
            manifest.lib_name = lib.get("name").and_then(|v| v.as_str()).map(String::from);
            manifest.lib_path = lib.get("path").and_then(|v| v.as_str()).map(String::from);
            manifest.proc_macro = ["proc-macro", "proc_macro"]
                .iter()
                .any(|k| lib.get(*k).and_then(toml::Value::as_bool) == Some(true));
        }
        manifest.add_deps(&table);
        if let Some(targets) = table.get("target").and_then(toml::Value::as_table) {
            for target in targets.values().filter_map(toml::Value::as_table) {
                manifest.add_deps(target);
            }
        }
        manifest.bin_paths = target_paths(&table, &["bin"]);
        manifest.dev_target_paths = target_paths(&table, &["test", "bench", "example"]);
        if let Some(ws) = table.get("workspace").and_then(toml::Value::as_table) {
            manifest.workspace = Some(parse_workspace(ws));
        }
        Some(manifest)
    }

    fn add_deps(&mut self, table: &toml::Table) {
        let kinds = [
            ("dependencies", DepKind::Normal),
            ("dev-dependencies", DepKind::Dev),
            ("dev_dependencies", DepKind::Dev),
            ("build-dependencies", DepKind::Build),
            ("build_dependencies", DepKind::Build),
        ];
        for (key, kind) in kinds {
            let Some(deps) = table.get(key).and_then(toml::Value::as_table) else {
                continue;
            };
            for name in deps.keys() {
                self.deps.insert((code_name(name), kind));
            }
        }
    }

    /// The name of the package's library crate (`[lib] name`, else the package name).
    pub fn lib_crate(&self) -> Option<String> {
        self.lib_name
            .clone()
            .or_else(|| self.package.as_deref().map(code_name))
    }

    /// Whether `name` is a dependency of one of `kinds`.
    pub fn has(&self, name: &str, kinds: &[DepKind]) -> bool {
        kinds
            .iter()
            .any(|k| self.deps.contains(&(name.to_string(), *k)))
    }

    /// The kinds `name` is declared as.
    pub fn kinds_of(&self, name: &str) -> Vec<DepKind> {
        self.deps
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, k)| *k)
            .collect()
    }
}

fn target_paths(table: &toml::Table, kinds: &[&str]) -> Vec<String> {
    let mut paths = Vec::new();
    for kind in kinds {
        let Some(targets) = table.get(*kind).and_then(toml::Value::as_array) else {
            continue;
        };
        for target in targets.iter().filter_map(toml::Value::as_table) {
            if let Some(path) = target.get("path").and_then(|v| v.as_str()) {
                paths.push(normalize(path));
            }
        }
    }
    paths
}

fn parse_workspace(ws: &toml::Table) -> Workspace {
    let strings = |key: &str| -> Vec<String> {
        ws.get(key)
            .and_then(toml::Value::as_array)
            .map(|a| a.iter().filter_map(|v| v.as_str()).map(normalize).collect())
            .unwrap_or_default()
    };
    let deps = ws
        .get("dependencies")
        .and_then(toml::Value::as_table)
        .map(|d| d.keys().map(|k| code_name(k)).collect())
        .unwrap_or_default();
    let edition = ws
        .get("package")
        .and_then(toml::Value::as_table)
        .and_then(|p| p.get("edition"))
        .and_then(|v| v.as_str())
        .map(String::from);
    Workspace {
        members: strings("members"),
        exclude: strings("exclude"),
        deps,
        edition,
    }
}

/// A relative path with `.` and `x/..` components removed (leading `..` kept).
pub fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    parts.join("/")
}

/// `dir` joined with `rel` (`dir` empty for the repository root).
pub fn join(dir: &str, rel: &str) -> String {
    if dir.is_empty() {
        normalize(rel)
    } else {
        normalize(&format!("{dir}/{rel}"))
    }
}

/// The directory of a path (`""` for a top-level file).
pub fn parent(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..i])
}

/// A package: its directory, its manifest, and its workspace root's manifest when it has one.
pub struct Package {
    pub dir: String,
    pub manifest: Arc<Manifest>,
    pub workspace: Option<(String, Arc<Manifest>)>,
}

impl Package {
    pub fn manifest_path(&self) -> String {
        join(&self.dir, "Cargo.toml")
    }

    pub fn name(&self) -> &str {
        self.manifest.package.as_deref().unwrap_or("")
    }

    /// The package's edition, resolving `edition.workspace = true`.
    pub fn edition(&self) -> Edition {
        let edition = match &self.manifest.edition {
            None => return Edition::E2015,
            Some(Some(e)) => Some(e.as_str()),
            Some(None) => self
                .workspace
                .as_ref()
                .and_then(|(_, ws)| ws.workspace.as_ref()?.edition.as_deref()),
        };
        match edition {
            Some("2015") => Edition::E2015,
            Some(_) => Edition::Modern,
            None => Edition::Unknown,
        }
    }
}

/// The manifest at `path`, parsed once per run; `None` when absent or invalid.
pub fn manifest_at(project: &dyn ProjectFiles, memo: &Memo, path: &str) -> Option<Arc<Manifest>> {
    let text = project.read(path)?;
    memo.manifest(path, &text, || Manifest::parse(&text))
}

/// The package `file` belongs to: the nearest `Cargo.toml` with a `[package]` above it.
pub fn package_of(project: &dyn ProjectFiles, memo: &Memo, file: &str) -> Option<Package> {
    let mut dir = parent(file);
    loop {
        let path = join(dir, "Cargo.toml");
        if project.exists(&path) {
            let manifest = manifest_at(project, memo, &path)?;
            if manifest.package.is_some() {
                let workspace = workspace_of(project, memo, dir, &manifest);
                return Some(Package {
                    dir: dir.to_string(),
                    manifest,
                    workspace,
                });
            }
        }
        if dir.is_empty() {
            return None;
        }
        dir = parent(dir);
    }
}

fn workspace_of(
    project: &dyn ProjectFiles,
    memo: &Memo,
    dir: &str,
    manifest: &Arc<Manifest>,
) -> Option<(String, Arc<Manifest>)> {
    if manifest.workspace.is_some() {
        return Some((dir.to_string(), manifest.clone()));
    }
    if let Some(rel) = &manifest.workspace_path {
        let ws_dir = join(dir, rel);
        let ws = manifest_at(project, memo, &join(&ws_dir, "Cargo.toml"))?;
        return ws.workspace.is_some().then_some((ws_dir, ws));
    }
    let mut up = dir;
    while !up.is_empty() {
        up = parent(up);
        let path = join(up, "Cargo.toml");
        if project.exists(&path)
            && let Some(ws) = manifest_at(project, memo, &path)
            && ws.workspace.is_some()
        {
            return Some((up.to_string(), ws));
        }
    }
    None
}
