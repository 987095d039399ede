//! Reading a repository's configuration files: from the working tree, or from HEAD's tree in a
//! bare repository. Only regular files (or blobs) inside the repository, up to
//! [`MAX_CONFIG_SIZE`], are read: anything else is an error that names the file.

use crate::git::{GitError, Repo};

use super::read::{MAX_CONFIG_SIZE, UnsafeFile, read_repo_file};
use super::{CONFIG_PATH, ConfigError, ConfigText, RULES_DIR, Settings};

/// Errors while reading configuration from a repository.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Git(#[from] GitError),
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "refusing to read {path}: {reason}; configuration is read only from regular files inside the repository, up to 1 MiB"
    )]
    Unsafe { path: String, reason: UnsafeFile },
}

impl LoadError {
    fn unsafe_file(path: &str, reason: UnsafeFile) -> LoadError {
        match reason {
            UnsafeFile::Io(source) => LoadError::Io {
                path: path.to_string(),
                source,
            },
            reason => LoadError::Unsafe {
                path: path.to_string(),
                reason,
            },
        }
    }
}

/// Loads the settings of `repo`.
pub fn load_for(repo: &Repo) -> Result<Settings, LoadError> {
    let (packs, config) = match repo.workdir() {
        Some(workdir) => from_workdir(workdir)?,
        None => match repo.head_tree()? {
            Some(tree) => from_tree(repo, tree)?,
            None => (Vec::new(), None),
        },
    };
    Ok(super::load(&packs, config.as_ref())?)
}

/// Loads the settings as committed in `commit` (what a remote that has it enforces).
pub fn load_at(repo: &Repo, commit: git2::Oid) -> Result<Settings, LoadError> {
    let (packs, config) = from_tree(repo, repo.commit_tree(commit)?)?;
    Ok(super::load(&packs, config.as_ref())?)
}

type Texts = (Vec<ConfigText>, Option<ConfigText>);

fn from_workdir(workdir: &std::path::Path) -> Result<Texts, LoadError> {
    let read = |rel: &str| -> Result<Option<ConfigText>, LoadError> {
        match read_repo_file(workdir, rel, MAX_CONFIG_SIZE) {
            Ok(Some(bytes)) => Ok(Some(text(rel, &bytes)?)),
            Ok(None) => Ok(None),
            Err(reason) => Err(LoadError::unsafe_file(rel, reason)),
        }
    };
    let mut names: Vec<String> = match std::fs::read_dir(workdir.join(RULES_DIR)) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".toml"))
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    let mut packs = Vec::new();
    for name in names {
        packs.extend(read(&format!("{RULES_DIR}/{name}"))?);
    }
    Ok((packs, read(CONFIG_PATH)?))
}

/// A symlink's mode in a git tree.
const SYMLINK_MODE: u32 = 0o120_000;

fn from_tree(repo: &Repo, tree: git2::Oid) -> Result<Texts, LoadError> {
    refuse_odd_entries(repo, tree)?;
    let files = repo.config_files(tree)?;
    let mut packs = Vec::new();
    let mut config = None;
    for file in files {
        let in_rules = file
            .path
            .strip_prefix(RULES_DIR)
            .and_then(|r| r.strip_prefix('/'));
        let is_pack = in_rules.is_some_and(|name| !name.contains('/') && name.ends_with(".toml"));
        if !is_pack && file.path != CONFIG_PATH {
            continue;
        }
        if file.mode == SYMLINK_MODE {
            return Err(LoadError::unsafe_file(&file.path, UnsafeFile::SymlinkBlob));
        }
        let size = repo.blob_size(file.id)?;
        if size > MAX_CONFIG_SIZE {
            let reason = UnsafeFile::TooLarge {
                size,
                limit: MAX_CONFIG_SIZE,
            };
            return Err(LoadError::unsafe_file(&file.path, reason));
        }
        let loaded = text(&file.path, &repo.read_blob(file.id)?)?;
        if is_pack {
            packs.push(loaded)
        } else {
            config = Some(loaded)
        }
    }
    Ok((packs, config))
}

/// `.gatehouse` and `.gatehouse/rules` must be directories, and the config file a file: a
/// symlink or a submodule in their place would otherwise make the configuration vanish.
fn refuse_odd_entries(repo: &Repo, tree: git2::Oid) -> Result<(), LoadError> {
    let tree = repo
        .git2()
        .find_tree(tree)
        .map_err(crate::git::ctx(format!("reading tree {tree}")))?;
    let dirs = [".gatehouse", RULES_DIR];
    for path in dirs.iter().chain([&CONFIG_PATH]) {
        let Ok(entry) = tree.get_path(std::path::Path::new(path)) else {
            continue;
        };
        let mode = u32::try_from(entry.filemode()).unwrap_or(0);
        let expected_dir = dirs.contains(path);
        let fine = match entry.kind() {
            Some(git2::ObjectType::Tree) => expected_dir,
            Some(git2::ObjectType::Blob) => !expected_dir && mode != SYMLINK_MODE,
            _ => false,
        };
        if !fine {
            let reason = if mode == SYMLINK_MODE {
                UnsafeFile::SymlinkBlob
            } else if expected_dir {
                UnsafeFile::NotRegular("not a directory in the commit")
            } else {
                UnsafeFile::NotRegular("not a file in the commit")
            };
            return Err(LoadError::unsafe_file(path, reason));
        }
    }
    Ok(())
}

fn text(file: &str, bytes: &[u8]) -> Result<ConfigText, ConfigError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(ConfigText {
            file: file.to_string(),
            text: text.to_string(),
        }),
        Err(e) => Err(ConfigError::new(
            file,
            "",
            None,
            format!("not valid UTF-8 (at byte {})", e.valid_up_to()),
        )),
    }
}
