//! The `[daemon]` table: whether the daemon is used (hint hooks), how long the repository must
//! be still to count as quiet, and which extra working-tree paths it watches.

use std::time::Duration;

use toml::Spanned;

use super::ConfigError;
use super::schema::DaemonConfig;

/// How long without events before the repository counts as quiet, unless `quiet` says otherwise.
pub const DEFAULT_QUIET: Duration = Duration::from_secs(30);

/// The daemon's settings after layering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonSettings {
    /// `gatehouse install` adds the hint hooks that poke the daemon.
    pub enabled: bool,
    /// No events for this long (and no git operation in progress) = quiet.
    pub quiet: Duration,
    /// Extra paths, relative to the working tree root, watched recursively (events there only
    /// delay quiet; refs are what the daemon acts on).
    pub watch: Vec<String>,
}

impl Default for DaemonSettings {
    fn default() -> Self {
        DaemonSettings {
            enabled: false,
            quiet: DEFAULT_QUIET,
            watch: Vec::new(),
        }
    }
}

impl DaemonSettings {
    /// The `watch` paths of the working tree `repository` to watch: each only when it resolves
    /// inside the repository. The configuration checks them as text (relative, no `..`), but a
    /// clone can commit `watch = ["src"]` with `src` a symlink to `/` or `~`: the daemon would
    /// then watch (and wake on) the whole disk or the home. Those are left out with a warning.
    pub fn watch_dirs(&self, repository: &std::path::Path) -> Vec<std::path::PathBuf> {
        self.watch
            .iter()
            .filter(|rel| match super::read::ensure_inside(repository, rel) {
                Ok(()) => true,
                Err(why) => {
                    tracing::warn!("not watching [daemon] watch entry `{rel}`: it is {why}");
                    false
                }
            })
            .map(|rel| repository.join(rel))
            .collect()
    }

    pub(super) fn apply(
        &mut self,
        file: &str,
        text: &str,
        raw: DaemonConfig,
    ) -> Result<(), ConfigError> {
        if let Some(enabled) = raw.enabled {
            self.enabled = enabled;
        }
        if let Some(quiet) = raw.quiet {
            self.quiet = parse_duration(quiet.get_ref())
                .map_err(|message| ConfigError::new(file, text, Some(quiet.span()), message))?;
        }
        if let Some(watch) = raw.watch {
            self.watch = watch
                .into_iter()
                .map(|p| check_watch_path(file, text, p))
                .collect::<Result<_, _>>()?;
        }
        Ok(())
    }
}

fn check_watch_path(file: &str, text: &str, path: Spanned<String>) -> Result<String, ConfigError> {
    let value = path.get_ref();
    let escapes = value.split('/').any(|part| part == "..");
    if value.is_empty() || value.starts_with('/') || escapes {
        return Err(ConfigError::new(
            file,
            text,
            Some(path.span()),
            format!(
                "`{value}`: expected a path relative to the repository root, inside it (e.g. \"src\")"
            ),
        ));
    }
    Ok(path.into_inner())
}

/// Parses `500ms`, `30s`, `5m`, `2h`, `1d` (one number and one unit).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let expected = || {
        format!(
            "invalid duration `{text}`: expected a number and a unit, e.g. \"30s\", \"5m\", \"500ms\""
        )
    };
    let n: u64 = number.parse().map_err(|_| expected())?;
    let millis = match unit {
        "ms" => Some(n),
        "s" => n.checked_mul(1_000),
        "m" => n.checked_mul(60_000),
        "h" => n.checked_mul(3_600_000),
        "d" => n.checked_mul(86_400_000),
        _ => return Err(expected()),
    };
    millis.map(Duration::from_millis).ok_or_else(expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConfigText, load};

    fn config(text: &str) -> Result<crate::config::Settings, ConfigError> {
        let config = ConfigText {
            file: ".gatehouse/config.toml".into(),
            text: text.into(),
        };
        load(&[], Some(&config))
    }

    #[test]
    fn watch_paths_that_resolve_outside_are_not_watched() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::os::unix::fs::symlink("/", root.join("everything")).unwrap();
        std::os::unix::fs::symlink(dir.path(), root.join("up")).unwrap();
        std::os::unix::fs::symlink("src", root.join("alias")).unwrap();
        let settings = DaemonSettings {
            watch: ["src", "everything", "up", "alias", "later"]
                .map(String::from)
                .to_vec(),
            ..DaemonSettings::default()
        };
        assert_eq!(
            settings.watch_dirs(&root),
            [root.join("src"), root.join("alias"), root.join("later")]
        );
    }

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert!(parse_duration("30").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("3 weeks").is_err());
        assert!(parse_duration("99999999999999999999d").is_err());
    }

    #[test]
    fn daemon_table_defaults_and_values() {
        let settings = config("").unwrap();
        assert_eq!(settings.daemon, DaemonSettings::default());
        let settings =
            config("[daemon]\nenabled = true\nquiet = \"5s\"\nwatch = [\"src\"]\n").unwrap();
        assert!(settings.daemon.enabled);
        assert_eq!(settings.daemon.quiet, Duration::from_secs(5));
        assert_eq!(settings.daemon.watch, vec!["src".to_string()]);
    }

    #[test]
    fn daemon_errors_point_at_the_value() {
        let err = config("[daemon]\nquiet = \"soon\"\n").unwrap_err();
        assert_eq!(err.line_column(), Some((2, 9)));
        assert!(err.to_string().contains("invalid duration"), "{err}");
        let err = config("[daemon]\nwatch = [\"../x\"]\n").unwrap_err();
        assert_eq!(err.line_column(), Some((2, 10)));
        let err = config("[daemon]\nquite = \"5s\"\n").unwrap_err();
        assert_eq!(err.line_column(), Some((2, 1)));
    }
}
