//! What a confined agent may read: the system (toolchains, libraries, `/etc`), its worktree, its
//! run directory, the repository's object store, and the toolchain directories of the user's
//! home; never the rest of the home (`~/.ssh`, `~/.aws`, other repositories, documents) nor
//! other users' homes.
//!
//! Landlock only allows, it cannot carve a hole into an allowed directory. So the readable set
//! is built by walking from `/` towards each hidden directory and allowing every sibling on the
//! way: with the home `/home/alice`, `/` is not allowed but `/usr`, `/etc`, … are; `/home`
//! neither; and in `/home/alice` only the entries of [`HOME_TOOLCHAINS`]. Entries created after
//! the run starts are not readable.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

/// Parts of a home that hold toolchains and caches programs need, and no credentials. Some are
/// subdirectories on purpose: `~/.cargo/credentials.toml`, `~/.m2/settings.xml` and
/// `~/.npmrc` hold tokens.
pub const HOME_TOOLCHAINS: &[&str] = &[
    ".cargo/bin",
    ".cargo/registry",
    ".cargo/git",
    ".rustup",
    ".nvm",
    ".volta",
    ".fnm",
    ".bun/bin",
    ".deno",
    ".pyenv",
    ".rbenv",
    ".asdf",
    ".local/bin",
    ".local/lib",
    ".local/share/pipx",
    ".local/share/uv",
    ".npm-global",
    ".npm/_cacache",
    "go/pkg/mod",
    "go/bin",
    ".m2/repository",
    ".gradle/caches",
    ".gradle/wrapper",
    ".sdkman/candidates",
    ".dotnet",
    ".nuget/packages",
    ".ghcup",
    ".elan",
    ".opam",
    ".gitconfig",
    ".config/git",
];

/// Top-level directories that hold users' homes: never readable as a whole.
const HOMES: &[&str] = &["/home", "/root", "/Users"];

/// What may be read, as the roots to allow.
pub struct ReadScope {
    pub home: Option<PathBuf>,
    /// Allowed whatever else is hidden: the worktree, the run directory, the writable
    /// directories, the repository's git data, the program, the PATH, the table's `readable`.
    pub allowed: Vec<PathBuf>,
}

impl ReadScope {
    /// The directories and files to allow reading beneath.
    pub fn roots(&self) -> Vec<PathBuf> {
        let mut hidden: Vec<PathBuf> = HOMES.iter().map(PathBuf::from).collect();
        if let Some(home) = &self.home {
            hidden.push(home.clone());
        }
        let hidden: Vec<PathBuf> = hidden.iter().map(|p| canonical(p)).collect();
        let mut roots = BTreeSet::new();
        walk_around(Path::new("/"), &hidden, &mut roots);
        // The toolchains of the home, and of any other home the PATH or the program lives in
        // (a test or a service with its own HOME still runs pyenv's or cargo's programs from
        // the real one).
        let mut homes: BTreeSet<PathBuf> = self.home.iter().map(|h| canonical(h)).collect();
        for path in &self.allowed {
            let path = canonical(path);
            if let Some(home) = home_of(&path, &hidden) {
                homes.insert(home);
            }
            roots.insert(path);
        }
        for home in &homes {
            for entry in HOME_TOOLCHAINS {
                roots.insert(home.join(entry));
            }
        }
        for path in &self.allowed {
            // A program under a home runs from its installation (a venv, a node package).
            if let Some(install) = installation_of(path, &homes) {
                roots.insert(install);
            }
        }
        roots.into_iter().filter(|p| p.exists()).collect()
    }
}

/// The home a path lies in: the hidden directory containing it, or for `/home` and `/Users`
/// the user directory below.
fn home_of(path: &Path, hidden: &[PathBuf]) -> Option<PathBuf> {
    let top = hidden
        .iter()
        .filter(|h| path.starts_with(h) && path != h.as_path())
        .max_by_key(|h| h.components().count())?;
    if ["/home", "/Users"].iter().any(|p| top == Path::new(p)) {
        let user = path.strip_prefix(top).ok()?.components().next()?;
        return Some(top.join(user));
    }
    Some(top.clone())
}

/// For a path inside one of `homes`, its ancestor three levels below that home
/// (`~/.npm-global/lib/node_modules`), where an installation usually keeps what it loads.
fn installation_of(path: &Path, homes: &BTreeSet<PathBuf>) -> Option<PathBuf> {
    let path = canonical(path);
    let home = homes.iter().find(|h| path.starts_with(h))?;
    let rest = path.strip_prefix(home).ok()?;
    let keep: PathBuf = rest.components().take(3).collect();
    (keep.components().count() >= 2).then(|| home.join(keep))
}

/// Allows every entry of `dir` that is not on the way to a hidden directory, and descends
/// into those that are (a hidden directory itself is skipped).
fn walk_around(dir: &Path, hidden: &[PathBuf], roots: &mut BTreeSet<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if hidden.contains(&path) {
            continue;
        }
        if hidden.iter().any(|h| h.starts_with(&path)) {
            // Only real directories lead on; a symlink on the way is allowed as it is (its
            // target is judged by its own path).
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                walk_around(&path, hidden, roots);
            }
            continue;
        }
        roots.insert(path);
    }
}

/// The path with symlinks resolved where it exists, else made absolute lexically.
fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| {
        path.components()
            .filter(|c| !matches!(c, Component::CurDir))
            .collect()
    })
}

/// The parts of a repository's git directory that git needs to work in a linked worktree:
/// objects, refs, configuration and the worktrees' own administrative directories; not
/// gatehouse's state (other runs' logs, the database) nor the hooks.
pub fn git_data(common_dir: &Path) -> Vec<PathBuf> {
    [
        "objects",
        "refs",
        "packed-refs",
        "HEAD",
        "config",
        "info",
        "shallow",
        "worktrees",
    ]
    .iter()
    .map(|p| common_dir.join(p))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_home_is_hidden_but_its_toolchains_and_the_system_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        for sub in [
            ".ssh",
            ".cargo/bin",
            ".cargo/registry",
            "src/other-repo",
            "work/repo",
        ] {
            std::fs::create_dir_all(home.join(sub)).unwrap();
        }
        std::fs::write(home.join(".cargo/credentials.toml"), "token").unwrap();
        std::fs::write(dir.path().join("sibling.txt"), "x").unwrap();
        let scope = ReadScope {
            home: Some(home.clone()),
            allowed: vec![home.join("work/repo")],
        };
        let roots = scope.roots();
        let home = home.canonicalize().unwrap();
        let readable = |p: &Path| roots.iter().any(|r| p.starts_with(r));
        assert!(readable(Path::new("/usr/bin")));
        assert!(readable(&home.join(".cargo/bin/cargo")));
        assert!(readable(&home.join("work/repo/a.py")));
        assert!(readable(
            &dir.path().canonicalize().unwrap().join("sibling.txt")
        ));
        assert!(!readable(&home.join(".ssh/id_ed25519")));
        assert!(!readable(&home.join(".cargo/credentials.toml")));
        assert!(!readable(&home.join("src/other-repo/secret.env")));
        assert!(!readable(&home));
        assert!(!readable(Path::new("/root/.ssh/id_rsa")));
    }

    #[test]
    fn a_program_installed_in_the_home_is_readable_from_its_installation() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let package = home.join(".tools/lib/node_modules/agent");
        std::fs::create_dir_all(package.join("bin")).unwrap();
        std::fs::create_dir_all(home.join(".tools/lib/node_modules/dep")).unwrap();
        let scope = ReadScope {
            home: Some(home.clone()),
            allowed: vec![package.join("bin")],
        };
        let roots = scope.roots();
        let readable = |p: &Path| roots.iter().any(|r| p.starts_with(r));
        let home = home.canonicalize().unwrap();
        assert!(readable(&home.join(".tools/lib/node_modules/dep/index.js")));
        assert!(!readable(&home.join(".tools/secret")));
    }
}
