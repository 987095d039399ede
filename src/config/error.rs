//! Configuration errors that point at the offending file, line and column.

use std::fmt;
use std::ops::Range;

/// An error in a configuration file, with enough of the source to show the offending line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file as the user knows it (repository-relative, or `<built-in>/NAME` for a default pack).
    pub file: String,
    /// What was wrong and what was expected.
    pub message: String,
    location: Option<Location>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Location {
    line: usize,
    column: usize,
    /// Characters of `text` before the error (differs from `column - 1` in an excerpt).
    lead: usize,
    width: usize,
    text: String,
}

impl ConfigError {
    /// An error at a byte span of `source`; without a span it names the file only.
    pub fn new(
        file: &str,
        source: &str,
        span: Option<Range<usize>>,
        message: impl Into<String>,
    ) -> Self {
        let location = span.map(|span| locate(source, span));
        ConfigError {
            file: file.to_string(),
            message: message.into(),
            location,
        }
    }

    /// 1-based line and column (in characters) of the error, when known.
    pub fn line_column(&self) -> Option<(usize, usize)> {
        self.location.as_ref().map(|l| (l.line, l.column))
    }
}

fn locate(source: &str, span: Range<usize>) -> Location {
    let start = floor_char_boundary(source, span.start.min(source.len()));
    let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = source[start..]
        .find('\n')
        .map_or(source.len(), |i| start + i);
    let text = source[line_start..line_end]
        .trim_end_matches('\r')
        .to_string();
    let line = source[..start].matches('\n').count() + 1;
    let column = source[line_start..start].chars().count() + 1;
    let end = floor_char_boundary(source, span.end.clamp(start, line_end));
    let width = source[start..end].chars().count().max(1);
    let (text, lead) = excerpt(&text, column - 1);
    Location {
        line,
        column,
        lead,
        width: width.min(EXCERPT_CHARS),
        text,
    }
}

/// A longer offending line is shown as an excerpt of this many characters around the error.
const EXCERPT_CHARS: usize = 120;

/// The part of `line` to show for an error at character `column` (0-based), and how many
/// characters of the shown text come before the error.
fn excerpt(line: &str, column: usize) -> (String, usize) {
    let total = line.chars().count();
    if total <= EXCERPT_CHARS {
        return (line.to_string(), column);
    }
    let from = column
        .saturating_sub(EXCERPT_CHARS / 3)
        .min(total - EXCERPT_CHARS);
    let body: String = line.chars().skip(from).take(EXCERPT_CHARS).collect();
    let prefix = if from > 0 { "…" } else { "" };
    let suffix = if from + EXCERPT_CHARS < total {
        "…"
    } else {
        ""
    };
    (
        format!("{prefix}{body}{suffix}"),
        column - from + prefix.chars().count(),
    )
}

fn floor_char_boundary(s: &str, mut index: usize) -> usize {
    while index > 0 && !s.is_char_boundary(index) {
        index -= 1;
    }
    index
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(loc) = &self.location else {
            return write!(f, "{}: {}", self.file, self.message);
        };
        let gutter = loc.line.to_string().len();
        let pad = " ".repeat(gutter);
        writeln!(
            f,
            "{}:{}:{}: {}",
            self.file, loc.line, loc.column, self.message
        )?;
        writeln!(f, "{pad} |")?;
        writeln!(f, "{} | {}", loc.line, loc.text)?;
        let lead = " ".repeat(loc.lead);
        write!(f, "{pad} | {lead}{}", "^".repeat(loc.width))
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_at_line_and_character_column() {
        let src = "a = 1\nlevel = \"blocker\"\n";
        let start = src.find("\"blocker\"").unwrap();
        let err = ConfigError::new("c.toml", src, Some(start..start + 9), "unknown level");
        assert_eq!(err.line_column(), Some((2, 9)));
        assert_eq!(
            err.to_string(),
            "c.toml:2:9: unknown level\n  |\n2 | level = \"blocker\"\n  |         ^^^^^^^^^"
        );
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let src = "é = \"x\"";
        let start = src.find('"').unwrap();
        let err = ConfigError::new("c.toml", src, Some(start..start + 1), "bad");
        assert_eq!(err.line_column(), Some((1, 5)));
    }

    #[test]
    fn a_long_line_is_shown_as_an_excerpt() {
        let src = format!("x = {}\"bad\"{}\n", "[".repeat(5000), "]".repeat(5000));
        let start = src.find('"').unwrap();
        let err = ConfigError::new("c.toml", &src, Some(start..start + 5), "bad");
        assert_eq!(err.line_column(), Some((1, 5005)));
        let shown = err.to_string();
        assert!(shown.len() < 600, "{shown}");
        let lines: Vec<&str> = shown.lines().collect();
        let at = lines[2].chars().position(|c| c == '"');
        assert_eq!(lines[3].chars().position(|c| c == '^'), at, "{shown}");
    }
}
