//! What a `Cargo.toml` says about the names a package's code may use: its dependencies by
//! kind (under the name code uses: the key, `-` → `_`), its own library name, its edition and
//! its targets; and how to find the package and the workspace a file belongs to.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::checks::ProjectFiles;

use super::Memo;
use super::targets::Decls;

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
    /// `[lib] name`, `[lib] proc-macro`.
    pub lib_name: Option<String>,
    pub proc_macro: bool,
    /// Dependencies: (name in code, kind).
    pub deps: BTreeSet<(String, DepKind)>,
    /// Where each dependency (by name in code) comes from.
    pub sources: BTreeMap<String, Source>,
    /// The target tables and discovery switches.
    pub targets: Decls,
    /// `[workspace]`, when present: members, excludes, dependencies, package edition.
    pub workspace: Option<Workspace>,
}

/// A `[workspace]` table.
#[derive(Debug, Default)]
pub struct Workspace {
    pub members: Vec<String>,
    pub exclude: Vec<String>,
    pub deps: BTreeSet<String>,
    /// `[workspace.dependencies]` by name in code.
    pub sources: BTreeMap<String, Source>,
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
        }
        if let Some(lib) = table.get("lib").and_then(toml::Value::as_table) {
            manifest.lib_name = lib.get("name").and_then(|v| v.as_str()).map(String::from);
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
        manifest.targets = Decls::parse(&table);
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
            for (name, spec) in deps {
                self.deps.insert((code_name(name), kind));
                self.sources.insert(code_name(name), Source::of(name, spec));
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

fn parse_workspace(ws: &toml::Table) -> Workspace {
    let strings = |key: &str| -> Vec<String> {
        ws.get(key)
            .and_then(toml::Value::as_array)
            .map(|a| a.iter().filter_map(|v| v.as_str()).map(normalize).collect())
            .unwrap_or_default()
    };
    let table = ws.get("dependencies").and_then(toml::Value::as_table);
    let deps = table
        .map(|d| d.keys().map(|k| code_name(k)).collect())
        .unwrap_or_default();
    let sources = table
        .into_iter()
        .flatten()
        .map(|(k, spec)| (code_name(k), Source::of(k, spec)))
        .collect();
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
        sources,
        edition,
    }
}

/// Where a dependency comes from: its package name (`package = …`, else the key), and whether
/// it is a local path, inherited from the workspace, or from git.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub package: String,
    pub path: bool,
    pub workspace: bool,
}

impl Source {
    fn of(key: &str, spec: &toml::Value) -> Source {
        let field = |k: &str| spec.as_table().and_then(|t| t.get(k));
        Source {
            package: field("package")
                .and_then(|p| p.as_str())
                .unwrap_or(key)
                .to_string(),
            path: field("path").is_some(),
            workspace: field("workspace").and_then(toml::Value::as_bool) == Some(true),
        }
    }
}

/// The registry and git packages a `Cargo.toml` text declares (dependencies of every kind and
/// target, `[workspace.dependencies]`), by package name; path dependencies and `workspace =
/// true` entries (declared in the workspace root) left out.
pub fn registry_packages(text: &str) -> Option<Vec<String>> {
    let manifest = Manifest::parse(text)?;
    let ws = manifest.workspace.iter().flat_map(|w| w.sources.values());
    let mut packages: Vec<String> = manifest
        .sources
        .values()
        .chain(ws)
        .filter(|s| !s.path && !s.workspace)
        .map(|s| s.package.clone())
        .collect();
    packages.sort();
    packages.dedup();
    Some(packages)
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

/// The directory of the virtual workspace (a `Cargo.toml` with a `[workspace]` and no
/// `[package]`) that holds `file` when no package does; `None` when a manifest on the way does
/// not parse, or there is none.
pub fn workspace_holding(project: &dyn ProjectFiles, memo: &Memo, file: &str) -> Option<String> {
    let mut dir = parent(file);
    loop {
        let path = join(dir, "Cargo.toml");
        if project.exists(&path) && manifest_at(project, memo, &path)?.workspace.is_some() {
            return Some(dir.to_string());
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
            && let Some(w) = &ws.workspace
        {
            // An excluded package is a workspace of its own: it inherits nothing.
            let rel = dir.strip_prefix(up).unwrap_or(dir).trim_start_matches('/');
            let excluded = w.exclude.iter().any(|e| {
                rel == e.as_str()
                    || rel
                        .strip_prefix(e.as_str())
                        .is_some_and(|r| r.starts_with('/'))
            });
            return (!excluded).then(|| (up.to_string(), ws.clone()));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::missing_import::tests::MemProject;

    #[test]
    fn packages_their_workspace_and_its_exclusions() {
        let project = MemProject::from_fixture(
            "# --- Cargo.toml\n[workspace]\nmembers = [\"crates/*\"]\nexclude = [\"crates/alone\"]\n[workspace.dependencies]\njson = { package = \"serde_json\", version = \"1\" }\n\
             # --- crates/a/Cargo.toml\n[package]\nname = \"a\"\n[dependencies]\njson = { workspace = true }\nlocal = { path = \"../b\" }\n\
             # --- crates/a/src/lib.rs\n\
             # --- crates/alone/Cargo.toml\n[package]\nname = \"alone\"\n\
             # --- crates/alone/src/lib.rs\n\
             # --- tools/x.rs\n",
        );
        let memo = Memo::default();
        let a = package_of(&project, &memo, "crates/a/src/lib.rs").unwrap();
        assert_eq!(a.workspace.as_ref().map(|(d, _)| d.as_str()), Some(""));
        assert!(a.manifest.sources["json"].workspace && a.manifest.sources["local"].path);
        let ws = a
            .workspace
            .as_ref()
            .and_then(|(_, w)| w.workspace.as_ref())
            .unwrap();
        assert_eq!(ws.sources["json"].package, "serde_json");
        let alone = package_of(&project, &memo, "crates/alone/src/lib.rs").unwrap();
        assert!(alone.workspace.is_none());
        assert!(package_of(&project, &memo, "tools/x.rs").is_none());
        assert_eq!(
            workspace_holding(&project, &memo, "tools/x.rs").as_deref(),
            Some("")
        );
        assert_eq!(
            registry_packages(
                "[dependencies]\nserde = \"1\"\nlocal = { path = \"x\" }\nws = { workspace = true }\n[workspace.dependencies]\nj = { package = \"serde_json\" }\n"
            ),
            Some(vec!["serde".to_string(), "serde_json".to_string()])
        );
    }
}
