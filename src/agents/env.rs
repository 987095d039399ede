//! The agent's environment (an allowlist of gatehouse's own, plus what the agent's table and
//! provider need), program lookup, and the directories the agent may write to.
//!
//! gatehouse's environment is read here and nowhere else in this module.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use super::config::{AgentConfig, EnvSpec};
use super::{AgentError, Invocation};

/// Variables every agent gets from gatehouse's environment when set. Proxy and CA settings are
/// here because an agent that cannot reach its provider is useless; everything else
/// (`AWS_SECRET_ACCESS_KEY`, `GITHUB_TOKEN`, …) is scrubbed unless the agent's table names it.
pub const BASE_ALLOWLIST: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TERM",
    "TMPDIR",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "NO_PROXY",
    "https_proxy",
    "http_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "NODE_EXTRA_CA_CERTS",
];

/// What Amazon Bedrock needs from gatehouse's environment (credentials, profile, region).
pub const AWS_VARS: &[&str] = &[
    "AWS_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_BEARER_TOKEN_BEDROCK",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CA_BUNDLE",
];

/// The environment one agent process gets.
pub struct AgentEnv {
    parent: BTreeMap<OsString, OsString>,
    vars: BTreeMap<OsString, OsString>,
}

impl AgentEnv {
    /// The allowlisted part of gatehouse's environment.
    pub fn from_process() -> Self {
        Self::from_vars(std::env::vars_os())
    }

    pub fn from_vars(parent: impl IntoIterator<Item = (OsString, OsString)>) -> Self {
        let mut env = AgentEnv {
            parent: parent.into_iter().collect(),
            vars: BTreeMap::new(),
        };
        for name in BASE_ALLOWLIST {
            env.pass(name);
        }
        env
    }

    /// Copies `name` from gatehouse's environment, when set there.
    pub fn pass(&mut self, name: &str) {
        if let Some(value) = self.parent.get(OsStr::new(name)) {
            self.vars.insert(name.into(), value.clone());
        }
    }

    pub fn set(&mut self, name: &str, value: impl AsRef<OsStr>) {
        self.vars.insert(name.into(), value.as_ref().to_os_string());
    }

    /// The agent table's `env`.
    pub fn apply_spec(&mut self, spec: &EnvSpec) {
        match spec {
            EnvSpec::Pass(names) => names.iter().for_each(|name| self.pass(name)),
            EnvSpec::Set(map) => map.iter().for_each(|(name, value)| self.set(name, value)),
        }
    }

    /// Passes Bedrock's variables through and sets region and profile from the agent's table.
    pub fn bedrock(&mut self, config: &AgentConfig) {
        AWS_VARS.iter().for_each(|name| self.pass(name));
        if let Some(region) = &config.region {
            self.set("AWS_REGION", region);
        }
        if let Some(profile) = &config.profile {
            self.set("AWS_PROFILE", profile);
        }
    }

    pub fn get(&self, name: &str) -> Option<&OsStr> {
        self.vars.get(OsStr::new(name)).map(OsString::as_os_str)
    }

    pub fn into_vars(self) -> Vec<(OsString, OsString)> {
        self.vars.into_iter().collect()
    }
}

/// Finds the executable for `program`: a path with a `/` (relative ones against the worktree,
/// `~/` against the user's home), else the first match on gatehouse's PATH.
pub fn resolve_program(
    agent: &str,
    program: &str,
    inv: &Invocation,
    path_var: Option<&OsStr>,
) -> Result<PathBuf, AgentError> {
    let not_found = |searched: String| AgentError::ProgramNotFound {
        agent: agent.to_string(),
        program: program.to_string(),
        searched,
    };
    if program.contains('/') {
        let path = expand(program, inv);
        return if is_executable(&path) {
            Ok(path)
        } else {
            Err(not_found(format!("no executable at {}", path.display())))
        };
    }
    std::env::split_paths(path_var.unwrap_or_default())
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
        .ok_or_else(|| not_found("not on PATH".into()))
}

/// Where the agent may write: its worktree, its run directory (its TMPDIR is in there), the table's
/// `writable` entries, and the devices programs write to.
pub fn writable_dirs(config: &AgentConfig, inv: &Invocation) -> Vec<PathBuf> {
    // The run's own temp dir (TMPDIR) is inside the run dir; the shared /tmp and /dev/shm are
    // not writable, so an agent cannot leave files for other processes there.
    let mut dirs = vec![inv.worktree.to_path_buf(), inv.run_dir.to_path_buf()];
    dirs.extend(config.writable.iter().map(|p| expand(p, inv)));
    for device in [
        "/dev/null",
        "/dev/zero",
        "/dev/full",
        "/dev/tty",
        "/dev/ptmx",
        "/dev/pts",
    ] {
        dirs.push(PathBuf::from(device));
    }
    dirs.retain(|p| p.exists());
    dirs
}

/// Where the agent may read (see [`super::reads`]): besides the system and the home's
/// toolchains, what it may write, the repository's git data (git works in the worktree), the
/// program and the directories of its PATH, and the table's `readable` entries.
pub fn read_scope(
    config: &AgentConfig,
    inv: &Invocation,
    program: &Path,
    writable: &[PathBuf],
    path_var: Option<&OsStr>,
) -> super::reads::ReadScope {
    let mut allowed = writable.to_vec();
    if let Ok(repo) = git2::Repository::open(inv.worktree) {
        allowed.extend(super::reads::git_data(repo.commondir()));
    }
    allowed.push(program.to_path_buf());
    if let Ok(real) = program.canonicalize() {
        allowed.push(real);
    }
    // A script runs on its interpreter (a venv's `python`, which links into a pyenv or
    // /usr/lib installation): that must be readable too.
    if let Some(interpreter) = shebang(program) {
        if let Ok(real) = interpreter.canonicalize() {
            allowed.push(real);
        }
        allowed.push(interpreter);
    }
    allowed.extend(std::env::split_paths(path_var.unwrap_or_default()).filter(|p| p.is_absolute()));
    allowed.extend(config.readable.iter().map(|p| expand(p, inv)));
    super::reads::ReadScope {
        home: inv.home.map(Path::to_path_buf),
        allowed,
    }
}

/// The interpreter a `#!` line names, if `program` is a script with an absolute one.
fn shebang(program: &Path) -> Option<PathBuf> {
    use std::io::Read;
    let mut head = [0u8; 256];
    let n = std::fs::File::open(program).ok()?.read(&mut head).ok()?;
    let line = head[..n].strip_prefix(b"#!")?;
    let line = line.split(|b| *b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let interpreter = line.split_whitespace().next()?;
    Path::new(interpreter)
        .is_absolute()
        .then(|| PathBuf::from(interpreter))
}

/// `~/x` → home/x; a relative path → worktree/path.
fn expand(path: &str, inv: &Invocation) -> PathBuf {
    if let (Some(rest), Some(home)) = (path.strip_prefix("~/"), inv.home) {
        return home.join(rest);
    }
    let path = Path::new(path);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        inv.worktree.join(path)
    }
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// Copies `from` to `to` when `from` exists (permissions included); returns whether it did.
pub fn seed_file(from: &Path, to: &Path) -> Result<bool, AgentError> {
    if !from.is_file() {
        return Ok(false);
    }
    std::fs::copy(from, to)
        .map_err(|e| AgentError::io("seed the agent's config home with", from, e))?;
    Ok(true)
}

/// Creates a per-run config home under the run directory.
pub fn config_home(inv: &Invocation, name: &str) -> Result<PathBuf, AgentError> {
    let dir = inv.run_dir.join(name);
    std::fs::create_dir_all(&dir).map_err(|e| AgentError::io("create", &dir, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Credentials land here.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| AgentError::io("restrict the permissions of", &dir, e))?;
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    #[test]
    fn scrubs_everything_outside_the_allowlist() {
        let mut env = AgentEnv::from_vars(vars(&[
            ("PATH", "/bin"),
            ("HOME", "/home/u"),
            ("AWS_SECRET_ACCESS_KEY", "s3cret"),
            ("GITHUB_TOKEN", "ghp"),
            ("OPENAI_API_KEY", "sk"),
        ]));
        assert_eq!(env.get("PATH"), Some(OsStr::new("/bin")));
        assert_eq!(env.get("AWS_SECRET_ACCESS_KEY"), None);
        assert_eq!(env.get("GITHUB_TOKEN"), None);
        env.apply_spec(&EnvSpec::Pass(vec![
            "OPENAI_API_KEY".into(),
            "UNSET".into(),
        ]));
        assert_eq!(env.get("OPENAI_API_KEY"), Some(OsStr::new("sk")));
        assert_eq!(env.get("UNSET"), None);
    }

    #[test]
    fn bedrock_passes_aws_credentials_and_sets_region() {
        let mut config = AgentConfig::new(super::super::AdapterKind::Codex);
        config.provider = Some("amazon-bedrock".into());
        config.region = Some("eu-west-1".into());
        let mut env = AgentEnv::from_vars(vars(&[
            ("AWS_SECRET_ACCESS_KEY", "s3cret"),
            ("AWS_REGION", "us-east-1"),
        ]));
        env.bedrock(&config);
        assert_eq!(env.get("AWS_SECRET_ACCESS_KEY"), Some(OsStr::new("s3cret")));
        assert_eq!(env.get("AWS_REGION"), Some(OsStr::new("eu-west-1")));
    }

    #[test]
    fn a_scripts_interpreter_is_read_from_its_shebang() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("agent");
        std::fs::write(&script, "#!/opt/venv/bin/python3 -u\nprint(1)\n").unwrap();
        assert_eq!(
            shebang(&script),
            Some(PathBuf::from("/opt/venv/bin/python3"))
        );
        std::fs::write(&script, "#!python3\n").unwrap();
        assert_eq!(
            shebang(&script),
            None,
            "a relative interpreter is looked up on PATH"
        );
        std::fs::write(&script, [0x7f, b'E', b'L', b'F']).unwrap();
        assert_eq!(shebang(&script), None);
    }
}
