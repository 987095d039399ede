//! The hook directory `core.hooksPath` names, when it lies inside the working tree: tracked
//! hooks are gate configuration ("an agent must never loosen its own gate"), so changes there
//! are sensitive like the fixed names of the built-in `gate-config` table.

use std::path::{Component, Path, PathBuf};

use super::Repo;

/// Every hook name git runs (githooks(5)): the files that matter when `core.hooksPath` is the
/// working tree's root itself.
const HOOK_NAMES: &[&str] = &[
    "applypatch-msg",
    "pre-applypatch",
    "post-applypatch",
    "pre-commit",
    "pre-merge-commit",
    "prepare-commit-msg",
    "commit-msg",
    "post-commit",
    "pre-rebase",
    "post-checkout",
    "post-merge",
    "pre-push",
    "pre-receive",
    "update",
    "proc-receive",
    "post-receive",
    "post-update",
    "reference-transaction",
    "push-to-checkout",
    "pre-auto-gc",
    "post-rewrite",
    "sendemail-validate",
    "fsmonitor-watchman",
    "p4-changelist",
    "p4-prepare-changelist",
    "p4-post-changelist",
    "p4-pre-submit",
    "post-index-change",
];

impl Repo {
    /// `core.hooksPath` as a repository-relative directory (`""`: the root), when it is set and
    /// lies inside the working tree (not inside `.git`); `None` otherwise, and in a bare
    /// repository. A relative value is relative to the working tree's root, as git resolves it
    /// for hooks; `~/` is the home directory; symbolic links are resolved where they exist.
    pub fn hooks_path_in_worktree(&self) -> Option<String> {
        let workdir = self.workdir()?;
        let config = self.git2().config().ok()?;
        let value = config.get_path("core.hooksPath").ok()?;
        let joined = normalize(&workdir.join(value));
        let root = normalize(workdir);
        let (joined, root) = match (joined.canonicalize(), root.canonicalize()) {
            (Ok(joined), Ok(root)) => (joined, root),
            // Not there (yet): compare as written.
            _ => (joined, root),
        };
        let relative = joined.strip_prefix(&root).ok()?;
        let text = relative.to_str()?.trim_end_matches('/').to_string();
        let in_git_dir = text == ".git" || text.starts_with(".git/");
        (!in_git_dir).then_some(text)
    }

    /// Patterns (`.gitignore` dialect, for a `[[sensitive]]` table) naming the hook directory
    /// of [`Repo::hooks_path_in_worktree`]: the directory and everything in it, or, for the
    /// root, the hook files (and the `NAME.local` hooks gatehouse's shims run).
    pub fn hooks_path_patterns(&self) -> Vec<String> {
        match self.hooks_path_in_worktree() {
            None => Vec::new(),
            Some(dir) if dir.is_empty() => HOOK_NAMES
                .iter()
                .flat_map(|name| [format!("/{name}"), format!("/{name}.local")])
                .collect(),
            Some(dir) => vec![format!("/{}/", escape(&dir))],
        }
    }
}

/// `path` with `.` and `..` components resolved lexically.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// A literal path as a `.gitignore` pattern: every character with a meaning escaped. A line
/// break (which a pattern cannot hold, but a git config value can) becomes `?`, any one
/// character: the pattern then matches a little more, never less.
fn escape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if matches!(c, '\n' | '\r' | '\0') {
            out.push('?');
            continue;
        }
        if matches!(c, '\\' | '*' | '?' | '[' | ' ' | '!' | '#') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;
    use crate::pathmatch::PatternSet;

    #[test]
    fn an_escaped_directory_matches_itself_only() {
        let dir = "tools/[x] *hooks?";
        let set = PatternSet::new([format!("/{}/", escape(dir))]).unwrap();
        assert!(set.is_match("tools/[x] *hooks?/pre-push"));
        assert!(!set.is_match("tools/x ahooksb/pre-push"));
        assert!(!set.is_match("other/tools/[x] *hooks?/pre-push"));
        let broken = PatternSet::new([format!("/{}/", escape("a\nb"))]).unwrap();
        assert!(broken.is_match("a\nb/pre-push"));
    }
}
