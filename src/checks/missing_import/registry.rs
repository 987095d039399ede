//! The registries `--online` asks (`online`): PyPI's JSON API (`/pypi/NAME/json`: every
//! release's files with their upload times) and the crates.io sparse index (what Cargo reads:
//! one JSON line per version, with `pubtime`), fetched with `curl` as a subprocess, so no HTTP
//! client is linked in. Each request has a time limit.

use std::process::{Command, Stdio};

/// Seconds allowed to connect, and for a whole request.
const CONNECT_TIMEOUT: &str = "5";
const MAX_TIME: &str = "20";

/// Where the registries are (overridable, for mirrors and tests).
#[derive(Debug, Clone)]
pub struct Registries {
    /// PyPI's JSON API base: `{pypi}/NAME/json`.
    pub pypi: String,
    /// The crates.io sparse index base: `{crates_index}/se/rd/serde`.
    pub crates_index: String,
}

impl Default for Registries {
    fn default() -> Registries {
        Registries {
            pypi: "https://pypi.org/pypi".to_string(),
            crates_index: "https://index.crates.io".to_string(),
        }
    }
}

/// Which registry a package belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Registry {
    PyPi,
    Crates,
}

impl Registry {
    pub(super) fn label(self) -> &'static str {
        match self {
            Registry::PyPi => "PyPI",
            Registry::Crates => "crates.io",
        }
    }
}

/// What a registry said about a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// No such package.
    Missing,
    /// The package exists: its first release (`YYYY-MM-DD`), when the registry says.
    Exists { first: Option<String> },
    /// It exists but has nothing to install (a PyPI name with no released files).
    Empty,
    /// The name breaks the registry's naming rules: nothing by that name can be published, and
    /// the registry is not asked (a name from a cloned repository's manifest never becomes part
    /// of a request unchecked).
    Invalid,
    /// The registry could not be asked, or answered something else.
    Failed(String),
}

/// Asks one registry about one package (crates: also with `-` and `_` swapped, as Cargo
/// treats them as the same name).
pub fn ask(registry: Registry, name: &str, registries: &Registries) -> Answer {
    if !valid_name(registry, name) {
        return Answer::Invalid;
    }
    match registry {
        Registry::PyPi => {
            let url = format!("{}/{}/json", registries.pypi.trim_end_matches('/'), name);
            match get(&url) {
                Ok((200, body)) => pypi_answer(&body),
                Ok((404, _)) => Answer::Missing,
                Ok((status, _)) => Answer::Failed(format!("PyPI answered HTTP {status}")),
                Err(why) => Answer::Failed(why),
            }
        }
        Registry::Crates => {
            let mut spellings = vec![name.to_string()];
            for alt in [name.replace('_', "-"), name.replace('-', "_")] {
                if !spellings.contains(&alt) {
                    spellings.push(alt);
                }
            }
            for spelling in spellings {
                let base = registries.crates_index.trim_end_matches('/');
                match get(&format!("{base}/{}", index_path(&spelling))) {
                    Ok((200, body)) => return crates_answer(&body),
                    // The index answers 403 or 404 for a name it does not have.
                    Ok((404 | 403 | 410, _)) => continue,
                    Ok((status, _)) => {
                        return Answer::Failed(format!(
                            "the crates.io index answered HTTP {status}"
                        ));
                    }
                    Err(why) => return Answer::Failed(why),
                }
            }
            Answer::Missing
        }
    }
}

/// Whether `name` is one the registry can hold: PyPI's (PEP 508: ASCII letters and digits,
/// with `.`, `_` and `-` inside) or crates.io's (ASCII letters, digits, `_` and `-`, a letter
/// first, at most 64 characters). Nothing else reaches a URL.
pub fn valid_name(registry: Registry, name: &str) -> bool {
    let inner = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_');
    match registry {
        Registry::PyPi => {
            name.starts_with(|c: char| c.is_ascii_alphanumeric())
                && name.ends_with(|c: char| c.is_ascii_alphanumeric())
                && name.chars().all(|c| inner(c) || c == '.')
        }
        Registry::Crates => {
            name.len() <= 64
                && name.starts_with(|c: char| c.is_ascii_alphabetic())
                && name.chars().all(inner)
        }
    }
}

/// A crate's file in the sparse index: `1/a`, `2/ab`, `3/a/abc`, `se/rd/serde`.
pub fn index_path(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    match lower.len() {
        0 => String::new(),
        1 => format!("1/{lower}"),
        2 => format!("2/{lower}"),
        3 => format!("3/{}/{lower}", &lower[..1]),
        _ => format!("{}/{}/{lower}", &lower[..2], &lower[2..4]),
    }
}

/// PyPI's JSON API answer: the earliest upload among all releases' files.
pub fn pypi_answer(body: &str) -> Answer {
    let Ok(json) = serde_json::from_str::<serde_json::Value>(body) else {
        return Answer::Failed("PyPI's answer is not JSON".to_string());
    };
    let Some(releases) = json.get("releases").and_then(|r| r.as_object()) else {
        return Answer::Failed("PyPI's answer has no `releases`".to_string());
    };
    let first = releases
        .values()
        .filter_map(|files| files.as_array())
        .flatten()
        .filter_map(|f| {
            f.get("upload_time_iso_8601")
                .or_else(|| f.get("upload_time"))
                .and_then(|t| t.as_str())
        })
        .filter_map(date_of)
        .min();
    match first {
        Some(date) => Answer::Exists { first: Some(date) },
        None => Answer::Empty,
    }
}

/// A sparse index file: one JSON line per version; the earliest `pubtime`.
pub fn crates_answer(body: &str) -> Answer {
    let versions: Vec<serde_json::Value> = body
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    if versions.is_empty() {
        return Answer::Failed("the crates.io index's answer has no versions".to_string());
    }
    let first = versions
        .iter()
        .filter_map(|v| v.get("pubtime").and_then(|t| t.as_str()))
        .filter_map(date_of)
        .min();
    Answer::Exists { first }
}

/// The `YYYY-MM-DD` of an ISO 8601 timestamp.
fn date_of(timestamp: &str) -> Option<String> {
    let date = timestamp.get(..10)?;
    days_from_civil(date).map(|_| date.to_string())
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date (proleptic Gregorian).
pub fn days_from_civil(date: &str) -> Option<i64> {
    let mut parts = date.get(..10)?.split('-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// GETs `url` with `curl`: (HTTP status, body), or why it could not.
fn get(url: &str) -> Result<(u16, String), String> {
    let agent = concat!(
        "gatehouse/",
        env!("CARGO_PKG_VERSION"),
        " (missing-import --online)"
    );
    let output = Command::new("curl")
        .args([
            "-sS",
            // A URL is never a pattern: `[1-9]` or `{a,b}` in it is not expanded.
            "--globoff",
            "--proto",
            "=http,https",
            "--connect-timeout",
            CONNECT_TIMEOUT,
        ])
        .args([
            "--max-time",
            MAX_TIME,
            "-A",
            agent,
            "-w",
            "\n%{http_code}",
            "--",
            url,
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                "--online needs `curl`, which is not on PATH".to_string()
            }
            _ => format!("could not run curl: {e}"),
        })?;
    if !output.status.success() {
        let err = String::from_utf8_lossy(&output.stderr);
        let err = err.trim().trim_start_matches("curl: ");
        return Err(format!("{url}: {err}"));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let (body, status) = text.rsplit_once('\n').unwrap_or(("", &text));
    let status = status
        .trim()
        .parse()
        .map_err(|_| format!("{url}: no HTTP status from curl"))?;
    Ok((status, body.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_a_registry_can_hold_are_asked_about() {
        for name in [
            "attrs",
            "A",
            "zope.interface",
            "python-dateutil",
            "ruamel_yaml",
            "3to2",
        ] {
            assert!(valid_name(Registry::PyPi, name), "{name}");
        }
        for name in [
            "serde",
            "serde_json",
            "serde-jsonx",
            "a",
            "windows_x86_64_gnu",
        ] {
            assert!(valid_name(Registry::Crates, name), "{name}");
        }
        let hostile = [
            "", "a[1-9]", "{a,b}", "../../x", "a/b", "a?b", "a#b", "a b", "-o", ".a", "a.", "a%2e",
            "é", "a\nb",
        ];
        for name in hostile {
            assert!(!valid_name(Registry::PyPi, name), "PyPI {name:?}");
            assert!(!valid_name(Registry::Crates, name), "crates {name:?}");
        }
        assert!(
            !valid_name(Registry::Crates, "3to2"),
            "a crate starts with a letter"
        );
        assert!(!valid_name(Registry::Crates, "zope.interface"));
        assert!(!valid_name(Registry::Crates, &"a".repeat(65)));
        let nowhere = Registries {
            pypi: "http://127.0.0.1:9".into(),
            crates_index: "http://127.0.0.1:9".into(),
        };
        assert_eq!(ask(Registry::Crates, "a[1-9]", &nowhere), Answer::Invalid);
    }

    #[test]
    fn index_paths_follow_cargos_layout() {
        assert_eq!(index_path("a"), "1/a");
        assert_eq!(index_path("ab"), "2/ab");
        assert_eq!(index_path("log"), "3/l/log");
        assert_eq!(index_path("Serde_JSON"), "se/rd/serde_json");
    }

    #[test]
    fn dates_and_first_releases() {
        assert_eq!(days_from_civil("1970-01-01"), Some(0));
        assert_eq!(days_from_civil("2000-03-01"), Some(11_017));
        assert_eq!(days_from_civil("2026-12-06"), Some(20_793));
        let pypi = r#"{"info": {"name": "attrs"}, "releases": {
            "15.0.0": [{"upload_time_iso_8601": "2015-04-15T21:55:53.369068Z"}],
            "0.1": [], "14.0.0": [{"upload_time": "2014-02-01T10:00:00"}]}}"#;
        assert_eq!(
            pypi_answer(pypi),
            Answer::Exists {
                first: Some("2014-02-01".into())
            }
        );
        assert_eq!(pypi_answer(r#"{"releases": {}}"#), Answer::Empty);
        let index = "{\"name\":\"log\",\"vers\":\"0.1.1\",\"pubtime\":\"2015-01-01T00:00:00Z\"}\n\
                     {\"name\":\"log\",\"vers\":\"0.1.0\",\"pubtime\":\"2014-12-13T22:10:19Z\"}\n";
        assert_eq!(
            crates_answer(index),
            Answer::Exists {
                first: Some("2014-12-13".into())
            }
        );
        assert_eq!(
            crates_answer("{\"name\":\"x\",\"vers\":\"0.1.0\"}\n"),
            Answer::Exists { first: None }
        );
    }
}
