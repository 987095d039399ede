//! The change-level part of `missing-import`: packages a change adds to a manifest, read from
//! the manifests and lockfiles it touches as they were before and after.

use std::path::Path;
use std::sync::Arc;

use git2::Oid;

use super::Configured;
use super::project::{Revision, Tracker};
use crate::checks::missing_import::lockfiles::is_lockfile;
use crate::checks::missing_import::new_deps::{ChangeFiles, new_dependencies};
use crate::checks::{Finding, ProjectFiles};
use crate::git::{Change, ChangeStatus, Repo};

/// The `new-dependency` findings of `changes` (measured from tree `base`; a package a `known`
/// tree's version of the manifest declares is not new either).
pub(super) fn findings(
    repo: &Repo,
    base: Option<Oid>,
    known: &[Oid],
    changes: &[Change],
    revision: &Revision,
    rule: &Configured<'_>,
) -> Vec<Finding> {
    let manifest = |p: &str| {
        let name = p.rsplit('/').next().unwrap_or(p);
        matches!(
            name,
            "Cargo.toml" | "pyproject.toml" | "setup.cfg" | "Pipfile"
        ) || (name.contains("requirements") && (name.ends_with(".txt") || name.ends_with(".in")))
            || p.contains("requirements/")
    };
    if !changes.iter().any(|c| manifest(&c.path)) {
        return Vec::new();
    }
    let view = View {
        repo,
        base,
        known,
        tracker: Tracker::new(revision),
        paths: changes
            .iter()
            .filter(|c| manifest(&c.path) || is_lockfile(&c.path))
            .filter(|c| rule.settings.applies_to(&c.path) || is_lockfile(&c.path))
            .map(|c| (c.path.clone(), c.old_path.clone(), c.status))
            .collect(),
    };
    new_dependencies(&view)
        .into_iter()
        .map(|(path, d)| Finding::from_diagnostic(rule.id, rule.level, &path, d))
        .collect()
}

struct View<'a> {
    repo: &'a Repo,
    base: Option<Oid>,
    /// Trees of the commits the remote already has that the change is credited to.
    known: &'a [Oid],
    tracker: Tracker<'a>,
    /// Changed manifests and lockfiles: (path, old path of a rename, status).
    paths: Vec<(String, Option<String>, ChangeStatus)>,
}

impl View<'_> {
    /// `path` in `tree`, as text.
    fn read(&self, tree: Oid, path: &str) -> Option<Arc<str>> {
        let tree = self.repo.git2().find_tree(tree).ok()?;
        let entry = tree.get_path(Path::new(path)).ok()?;
        let bytes = self.repo.read_blob(entry.id()).ok()?;
        Some(Arc::from(String::from_utf8_lossy(&bytes).as_ref()))
    }
}

impl ChangeFiles for View<'_> {
    fn changed(&self) -> Vec<String> {
        self.paths.iter().map(|(p, _, _)| p.clone()).collect()
    }

    fn before(&self, path: &str) -> Option<Arc<str>> {
        let (_, old_path, status) = self.paths.iter().find(|(p, _, _)| p == path)?;
        if *status == ChangeStatus::Added {
            return None;
        }
        self.read(self.base?, old_path.as_deref().unwrap_or(path))
    }

    fn known(&self, path: &str) -> Vec<Arc<str>> {
        self.known
            .iter()
            .filter_map(|&tree| self.read(tree, path))
            .collect()
    }

    fn after(&self, path: &str) -> Option<Arc<str>> {
        self.tracker.read(path)
    }
}
