//! What a check may see of the rest of the checked revision: its file list and the content of
//! other files (manifests, sibling modules). The engine provides it and records what each check
//! read, so cached results are reused only while those files are unchanged.

use std::sync::Arc;

/// Read access to the checked revision (a commit, the index, or the working tree).
pub trait ProjectFiles {
    /// Every file path of the revision, repository-relative, sorted.
    fn paths(&self) -> &[String];
    /// The text of a file of the revision (lossy UTF-8), or `None` when it does not exist.
    fn read(&self, path: &str) -> Option<Arc<str>>;
    /// Whether a file exists in the revision (cheaper than reading it).
    fn exists(&self, path: &str) -> bool {
        self.read(path).is_some()
    }
    /// Whether `path` is a directory of the revision (holds at least one file).
    fn is_dir(&self, path: &str) -> bool {
        let prefix = format!("{}/", path.trim_end_matches('/'));
        let paths = self.paths();
        let at = paths.partition_point(|p| p.as_str() < prefix.as_str());
        paths.get(at).is_some_and(|p| p.starts_with(&prefix))
    }
}

/// An empty revision, for checks run on a lone file (tests, or rules that need no project).
pub struct NoProject;

impl ProjectFiles for NoProject {
    fn paths(&self) -> &[String] {
        &[]
    }

    fn read(&self, _path: &str) -> Option<Arc<str>> {
        None
    }
}
