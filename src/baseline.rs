//! The findings baseline, `.gatehouse/baseline.json`: what `gatehouse baseline` recorded, so
//! that whole-tree checks (`check` with scope `all`) report only findings that are new since.
//!
//! Decisions where the spec is silent:
//! - A finding is keyed by (rule, code, path, symbol — or the message when it has none, and a
//!   hash of its source line's trimmed text), never by line or column, so edits elsewhere in the
//!   file (lines added above it, re-indenting it) keep it baselined; editing its own line makes
//!   it new. Keys are counted: two identical findings in a file against one recorded entry leave
//!   one reported (the later one, findings being sorted by line).
//! - The file is JSON with one compact line per finding, sorted by path, rule, code, symbol,
//!   message and hash, without line numbers, so unrelated edits leave it unchanged and a diff of
//!   it shows one line per finding gained or lost. It carries a `version`; a file of a newer
//!   version is an error (never half-understood).
//! - Findings about changes rather than code are never recorded: `sensitive-path` (a change to
//!   a watched path) and `missing-import [new-dependency]` (a dependency the working tree adds).
//!   They describe what is about to be committed, which a baseline must not hide.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::checks::{Finding, missing_import, sensitive_path};
use crate::config::read::{UnsafeFile, read_repo_file};
use crate::output::SourceLines;

/// Where the baseline lives, relative to the working tree's root.
pub const PATH: &str = ".gatehouse/baseline.json";

/// The format version this gatehouse writes and the newest it reads.
pub const VERSION: u32 = 1;

/// The largest baseline read: 64 MiB (about 250,000 findings).
const MAX_SIZE: u64 = 64 * 1024 * 1024;

/// Errors reading or writing the baseline.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("cannot read the baseline {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: UnsafeFile,
    },
    #[error(
        "{}:{line}:{column}: malformed baseline: {message} (`gatehouse baseline` writes it anew)",
        path.display()
    )]
    Malformed {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "{} was written by a newer gatehouse (baseline version {version}; this one reads up to \
         version {VERSION}): upgrade gatehouse, or check with --no-baseline",
        path.display()
    )]
    Newer { path: PathBuf, version: u32 },
    #[error("cannot write the baseline {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// One recorded finding. Field order is the sort order of the file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub path: String,
    pub rule: String,
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    pub message: String,
    /// The first 16 hex digits of git's blob id of the finding's source line, trimmed.
    pub line_hash: String,
}

type Key = (String, String, String, String, String);

impl Entry {
    /// The entry of `finding`, whose source line reads `line` (untrimmed).
    #[must_use]
    pub fn of(finding: &Finding, line: &str) -> Entry {
        Entry {
            path: finding.path.clone(),
            rule: finding.rule.to_string(),
            code: finding.code.clone(),
            symbol: finding.symbol.clone(),
            message: finding.message.clone(),
            line_hash: line_hash(line),
        }
    }

    /// What matching compares: the symbol stands for the message when there is one, so a
    /// reworded message does not make a recorded finding new.
    fn key(self) -> Key {
        let what = self.symbol.unwrap_or(self.message);
        (self.path, self.rule, self.code, what, self.line_hash)
    }
}

fn line_hash(line: &str) -> String {
    let id = crate::git::hash_blob(line.trim().as_bytes()).to_string();
    id[..16].to_string()
}

/// Whether a finding belongs in a baseline: findings about the code, not about a change.
#[must_use]
pub fn recordable(finding: &Finding) -> bool {
    finding.rule != sensitive_path::ID
        && !(finding.rule == missing_import::ID && finding.code == "new-dependency")
}

/// The entries of `findings` that belong in a baseline, their lines read from `sources`.
pub fn entries(findings: &[Finding], sources: &mut impl SourceLines) -> Vec<Entry> {
    let mut lines = Lines::new(sources);
    let mut entries: Vec<Entry> = findings
        .iter()
        .filter(|f| recordable(f))
        .map(|f| Entry::of(f, lines.line(&f.path, f.line)))
        .collect();
    entries.sort();
    entries
}

/// The source lines of findings, each file read once.
struct Lines<'s, S> {
    sources: &'s mut S,
    files: HashMap<String, Vec<String>>,
}

impl<'s, S: SourceLines> Lines<'s, S> {
    fn new(sources: &'s mut S) -> Self {
        Lines {
            sources,
            files: HashMap::new(),
        }
    }

    /// Line `line` (1-based) of `path`; empty when the file or line cannot be read.
    fn line(&mut self, path: &str, line: u32) -> &str {
        let sources = &mut *self.sources;
        let lines = self.files.entry(path.to_string()).or_insert_with(|| {
            sources
                .text(path)
                .map(|t| t.lines().map(str::to_string).collect())
                .unwrap_or_default()
        });
        let index = usize::try_from(line).unwrap_or(0).checked_sub(1);
        index.and_then(|i| lines.get(i)).map_or("", String::as_str)
    }
}

/// A loaded baseline: how many times each key was recorded.
#[derive(Debug, Default)]
pub struct Baseline {
    counts: HashMap<Key, usize>,
    /// How many entries the file holds.
    pub len: usize,
}

#[derive(Deserialize)]
#[serde(expecting = "an object with `version` and `findings`")]
struct Header {
    version: u32,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "an object with `version` and `findings`"
)]
struct File {
    #[allow(
        dead_code,
        reason = "checked through `Header` before the entries are read"
    )]
    version: u32,
    findings: Vec<Entry>,
}

impl Baseline {
    /// The baseline of the working tree at `workdir`; `None` when there is none.
    ///
    /// # Errors
    /// A file that cannot be read safely, is malformed, or is of a newer version.
    pub fn load(workdir: &Path) -> Result<Option<Baseline>, BaselineError> {
        let path = workdir.join(PATH);
        let bytes =
            read_repo_file(workdir, PATH, MAX_SIZE).map_err(|source| BaselineError::Read {
                path: path.clone(),
                source,
            })?;
        bytes.map(|b| Baseline::parse(&b, &path)).transpose()
    }

    /// Parses a baseline file's bytes; `path` is for the errors.
    ///
    /// # Errors
    /// Malformed JSON or entries (with the position), or a newer version.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Baseline, BaselineError> {
        let malformed = |e: serde_json::Error| {
            let text = e.to_string();
            let message = text
                .rsplit_once(" at line ")
                .map_or(text.as_str(), |(m, _)| m)
                .to_string();
            BaselineError::Malformed {
                path: path.to_path_buf(),
                line: e.line(),
                column: e.column(),
                message,
            }
        };
        // The version first: a newer file's entries may not read as this version's.
        let header: Header = serde_json::from_slice(bytes).map_err(malformed)?;
        if header.version > VERSION {
            return Err(BaselineError::Newer {
                path: path.to_path_buf(),
                version: header.version,
            });
        }
        let file: File = serde_json::from_slice(bytes).map_err(malformed)?;
        let len = file.findings.len();
        let mut counts = HashMap::new();
        for entry in file.findings {
            *counts.entry(entry.key()).or_insert(0) += 1;
        }
        Ok(Baseline { counts, len })
    }

    /// Drops the findings the baseline records, each recorded entry matching one finding;
    /// returns how many it dropped.
    pub fn filter(&self, findings: &mut Vec<Finding>, sources: &mut impl SourceLines) -> usize {
        let mut left = self.counts.clone();
        let mut lines = Lines::new(sources);
        let before = findings.len();
        findings.retain(|f| {
            if !recordable(f) {
                return true;
            }
            let key = Entry::of(f, lines.line(&f.path, f.line)).key();
            match left.get_mut(&key) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    false
                }
                _ => true,
            }
        });
        before - findings.len()
    }
}

/// The file's text: sorted entries, one compact JSON object a line.
#[must_use]
pub fn render(entries: &[Entry]) -> String {
    let mut text = format!("{{\n  \"version\": {VERSION},\n  \"findings\": [");
    for (i, entry) in entries.iter().enumerate() {
        let json = serde_json::to_string(entry).unwrap_or_default();
        text.push_str(if i == 0 { "\n    " } else { ",\n    " });
        text.push_str(&json);
    }
    text.push_str(if entries.is_empty() {
        "]\n}\n"
    } else {
        "\n  ]\n}\n"
    });
    text
}

/// Writes `entries` as the baseline of `workdir`, replacing it atomically: a failed write
/// leaves the previous file as it was.
///
/// # Errors
/// The directory or file cannot be written.
pub fn write(workdir: &Path, entries: &[Entry]) -> Result<PathBuf, BaselineError> {
    let path = workdir.join(PATH);
    let err = |source| BaselineError::Write {
        path: path.clone(),
        source,
    };
    let dir = path.parent().unwrap_or(workdir);
    std::fs::create_dir_all(dir).map_err(err)?;
    let mut temp = tempfile_in(dir).map_err(err)?;
    let written = temp
        .1
        .write_all(render(entries).as_bytes())
        .and_then(|()| temp.1.sync_all())
        .and_then(|()| std::fs::rename(&temp.0, &path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp.0);
        return Err(err(e));
    }
    Ok(path)
}

/// A new file beside the baseline, for the atomic replace.
fn tempfile_in(dir: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    let path = dir.join(format!(".baseline.json.{}.tmp", std::process::id()));
    let file = std::fs::File::options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)?;
    Ok((path, file))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Level;

    struct Text(&'static str);

    impl SourceLines for Text {
        fn text(&mut self, _: &str) -> Option<String> {
            Some(self.0.to_string())
        }
    }

    fn finding(line: u32, symbol: &str) -> Finding {
        Finding {
            rule: "untyped-function",
            code: "missing-annotations".to_string(),
            level: Level::Block,
            path: "a.py".to_string(),
            line,
            column: 1,
            end_line: line,
            end_column: 2,
            message: format!("`{symbol}` has no annotations"),
            symbol: Some(symbol.to_string()),
            help: None,
            owners: Vec::new(),
        }
    }

    #[test]
    fn a_finding_keeps_its_key_when_its_line_moves_and_duplicates_are_counted() {
        let before = Text("def f(x):\n    pass\n");
        let entries = entries(&[finding(1, "f")], &mut Text(before.0));
        let baseline = Baseline::parse(render(&entries).as_bytes(), Path::new("b")).unwrap();
        let mut moved = vec![finding(3, "f"), finding(5, "f")];
        let after = "\n\n  def f(x):\n    pass\ndef f(x):\n";
        assert_eq!(baseline.filter(&mut moved, &mut Text(after)), 1);
        assert_eq!(moved, [finding(5, "f")]);
    }

    #[test]
    fn the_file_is_sorted_one_line_per_finding_and_reads_back() {
        let text = "def g(x):\ndef f(x):\n";
        let out = render(&entries(
            &[finding(1, "g"), finding(2, "f")],
            &mut Text(text),
        ));
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 7, "{out}");
        assert!(lines[3].contains("\"symbol\":\"f\""), "{out}");
        assert!(lines[4].contains("\"symbol\":\"g\""), "{out}");
        assert_eq!(render(&[]), "{\n  \"version\": 1,\n  \"findings\": []\n}\n");
        let back = Baseline::parse(out.as_bytes(), Path::new("b")).unwrap();
        assert_eq!(back.len, 2);
    }

    #[test]
    fn bad_files_name_the_position_and_newer_versions_are_refused() {
        let path = Path::new(".gatehouse/baseline.json");
        let err = Baseline::parse(b"{\"version\": 1,\n  \"findings\": [}\n", path).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(".gatehouse/baseline.json:2:16: malformed baseline: "),
            "{err}"
        );
        let err = Baseline::parse(b"{\"version\": 2, \"findings\": {}}", path).unwrap_err();
        assert!(
            matches!(err, BaselineError::Newer { version: 2, .. }),
            "{err}"
        );
        let err = Baseline::parse(b"{\"findings\": []}", path).unwrap_err();
        assert!(err.to_string().contains("missing field `version`"), "{err}");
    }
}
