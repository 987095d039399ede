//! The environment variables gatehouse reads, read in this one place: below the command line,
//! the daemon, tasks and the web page, which all read them.

use crate::git::{Identity, Repo};

/// `GATEHOUSE_SKIP=1` skips a client hook (recorded).
pub fn skip() -> bool {
    std::env::var_os("GATEHOUSE_SKIP").is_some_and(|v| !v.is_empty() && v != "0")
}

/// The push pre-commit or prek describes to a pre-push hook they run (they read git's ref
/// lines themselves and pass on only the first ref that brings commits): (remote name, the
/// ref line), when this process was started that way.
pub fn pre_commit_push() -> Option<(String, String)> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    var("PRE_COMMIT")?;
    let local_ref = var("PRE_COMMIT_LOCAL_BRANCH")?;
    let remote_ref = var("PRE_COMMIT_REMOTE_BRANCH")?;
    let remote = var("PRE_COMMIT_REMOTE_NAME").unwrap_or_default();
    // Without a from-ref (a push that starts at a root commit) the remote had nothing.
    let local = var("PRE_COMMIT_TO_REF").unwrap_or_else(|| local_ref.clone());
    let old = var("PRE_COMMIT_FROM_REF").unwrap_or_else(|| "0".repeat(40));
    Some((remote, format!("{local_ref} {local} {remote_ref} {old}")))
}

/// pre-commit or prek started this hook from its config (they set `PRE_COMMIT=1` for the
/// hooks they run, and `PRE_COMMIT_RUNNING_LEGACY` / `PREK_RUNNING_LEGACY` for `NAME.legacy`).
pub fn run_by_pre_commit() -> bool {
    let set = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
    std::env::var_os("PRE_COMMIT").is_some_and(|v| v == "1")
        && !set("PRE_COMMIT_RUNNING_LEGACY")
        && !set("PREK_RUNNING_LEGACY")
}

/// The variables set now that turn the gate off: `GATEHOUSE_SKIP`, `HUSKY=0`, `LEFTHOOK=0`
/// or `false`, and pre-commit's `SKIP` naming a gatehouse hook; as `NAME=value`.
pub fn gate_off_vars() -> Vec<String> {
    let mut found = Vec::new();
    let get = |k: &str| std::env::var(k).ok();
    if skip() {
        found.push(format!(
            "GATEHOUSE_SKIP={}",
            get("GATEHOUSE_SKIP").unwrap_or_default()
        ));
    }
    if get("HUSKY").as_deref() == Some("0") {
        found.push("HUSKY=0".into());
    }
    if let Some(v) = get("LEFTHOOK").filter(|v| v == "0" || v == "false") {
        found.push(format!("LEFTHOOK={v}"));
    }
    if let Some(v) =
        get("SKIP").filter(|v| v.split(',').any(|id| id.trim().starts_with("gatehouse")))
    {
        found.push(format!("SKIP={v}"));
    }
    found
}

/// The user the hosting layer authenticated for a push to a server: `GL_USERNAME`
/// (GitLab), else `GITOLITE_USER` (gitolite), else `REMOTE_USER` (a web server in front of
/// `git http-backend`). The pusher cannot set these through git's protocols.
pub fn authenticated_user() -> Option<String> {
    ["GL_USERNAME", "GITOLITE_USER", "REMOTE_USER"]
        .iter()
        .find_map(|key| std::env::var(key).ok().filter(|v| !v.trim().is_empty()))
}

/// `GIT_REFLOG_ACTION`, which git sets for hooks of a merge (`merge feature`, `pull`).
pub fn reflog_action() -> Option<String> {
    std::env::var("GIT_REFLOG_ACTION").ok()
}

/// The user's git identity, as git's committer ident: `GIT_COMMITTER_NAME`/`EMAIL`, else
/// `user.name`/`user.email`.
pub fn identity(repo: &Repo) -> anyhow::Result<Identity> {
    let config = repo.git2().config()?;
    let pick = |env: &str, key: &str| {
        std::env::var(env)
            .ok()
            .filter(|v| !v.is_empty())
            .or_else(|| config.get_string(key).ok())
    };
    match (
        pick("GIT_COMMITTER_NAME", "user.name"),
        pick("GIT_COMMITTER_EMAIL", "user.email"),
    ) {
        (Some(name), Some(email)) => Ok(Identity { name, email }),
        _ => anyhow::bail!(
            "no git identity: set user.name and user.email (git config --global user.name …)"
        ),
    }
}

/// `XDG_RUNTIME_DIR`: where the daemon's socket goes when the repository path is too long.
pub fn runtime_dir() -> Option<std::path::PathBuf> {
    std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from)
}

/// Where per-user state outside any repository goes: `$XDG_STATE_HOME` when it is an absolute
/// path (the XDG base directory rules ignore a relative one), else `$HOME/.local/state`.
pub fn state_home() -> Option<std::path::PathBuf> {
    std::env::var_os("XDG_STATE_HOME")
        .map(std::path::PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| home().map(|h| h.join(".local").join("state")))
}

/// `XDG_CONFIG_HOME` when absolute, else `$HOME/.config` (where husky's `init.sh` lives).
pub fn config_home() -> Option<std::path::PathBuf> {
    std::env::var_os("XDG_CONFIG_HOME")
        .map(std::path::PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| home().map(|h| h.join(".config")))
}

/// `PATH`, as hooks started from here would get it.
pub fn path() -> String {
    std::env::var("PATH").unwrap_or_default()
}

/// `GATEHOUSE_PYPI_URL` and `GATEHOUSE_CRATES_INDEX_URL`: where `check --online` asks
/// (a mirror, or a test's fake registry); default PyPI's JSON API and the crates.io index.
pub fn registries() -> crate::checks::missing_import::online::Registries {
    let mut registries = crate::checks::missing_import::online::Registries::default();
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    if let Some(url) = var("GATEHOUSE_PYPI_URL") {
        registries.pypi = url;
    }
    if let Some(url) = var("GATEHOUSE_CRATES_INDEX_URL") {
        registries.crates_index = url;
    }
    registries
}

/// `HOME`: where service files go.
pub fn home() -> Option<std::path::PathBuf> {
    std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from)
}

/// Git's repository-local variables (`git rev-parse --local-env-vars`), removed from the
/// environment of a daemon started from inside a hook, so it finds its repository afresh.
pub fn git_local_vars() -> &'static [&'static str] {
    &[
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_CONFIG",
        "GIT_CONFIG_PARAMETERS",
        "GIT_CONFIG_COUNT",
        "GIT_OBJECT_DIRECTORY",
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_IMPLICIT_WORK_TREE",
        "GIT_GRAFT_FILE",
        "GIT_INDEX_FILE",
        "GIT_NO_REPLACE_OBJECTS",
        "GIT_REPLACE_REF_BASE",
        "GIT_PREFIX",
        "GIT_SHALLOW_FILE",
        "GIT_COMMON_DIR",
    ]
}

/// `NO_COLOR` set to anything non-empty turns colour off (<https://no-color.org>).
pub fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}
