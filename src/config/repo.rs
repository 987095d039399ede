//! Reading a repository's configuration files: from the working tree, or from HEAD's tree in a
//! bare repository.

use crate::git::{GitError, Repo};

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
        match std::fs::read(workdir.join(rel)) {
            Ok(bytes) => Ok(Some(text(rel, &bytes)?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(LoadError::Io {
                path: rel.to_string(),
                source,
            }),
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

fn from_tree(repo: &Repo, tree: git2::Oid) -> Result<Texts, LoadError> {
    let files = repo.config_files(tree)?;
    let mut packs = Vec::new();
    let mut config = None;
    for file in files {
        let in_rules = file
            .path
            .strip_prefix(RULES_DIR)
            .and_then(|r| r.strip_prefix('/'));
        let is_pack = in_rules.is_some_and(|name| !name.contains('/') && name.ends_with(".toml"));
        if is_pack || file.path == CONFIG_PATH {
            let loaded = text(&file.path, &repo.read_blob(file.id)?)?;
            if is_pack {
                packs.push(loaded)
            } else {
                config = Some(loaded)
            }
        }
    }
    Ok((packs, config))
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
