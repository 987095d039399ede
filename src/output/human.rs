//! Human output, like rustc and ruff: `path:line:col: rule [code] message`, the source line with
//! a caret under the finding, a help line, and a one-line summary. Colour only on a terminal.

use std::collections::HashMap;
use std::fmt::Write;

use crate::checks::{self, Finding};
use crate::config::Level;
use crate::engine::Stats;

/// Findings shown per file; the rest are counted (JSON and SARIF list them all).
pub const MAX_SHOWN_PER_FILE: usize = 100;
/// A longer source line is shown as an excerpt of this many characters around the finding.
const MAX_LINE_CHARS: usize = 160;

/// Gives the text of a file, to show the lines that findings point at.
pub trait SourceLines {
    fn text(&mut self, path: &str) -> Option<String>;
}

/// The human renderer.
pub struct Human {
    pub color: bool,
}

impl Human {
    /// Colour when stdout is a terminal and `NO_COLOR` is not set.
    pub fn for_stdout(no_color: bool) -> Human {
        use std::io::IsTerminal;
        Human {
            color: !no_color && std::io::stdout().is_terminal(),
        }
    }

    /// Colour when stderr is a terminal and `NO_COLOR` is not set (hooks report on stderr).
    pub fn for_stderr() -> Human {
        use std::io::IsTerminal;
        Human {
            color: !crate::env::no_color() && std::io::stderr().is_terminal(),
        }
    }

    /// Renders the findings without a summary line: at most [`MAX_SHOWN_PER_FILE`] per file,
    /// then a count of the rest. Linear in the number of findings and the size of their files.
    pub fn render_findings(&self, findings: &[Finding], sources: &mut dyn SourceLines) -> String {
        let mut out = String::new();
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for run in findings.chunk_by(|a, b| a.path == b.path) {
            let path = run[0].path.as_str();
            let before = seen.entry(path).or_default();
            let room = MAX_SHOWN_PER_FILE.saturating_sub(*before);
            let visible = &run[..room.min(run.len())];
            *before += run.len();
            if !visible.is_empty() {
                let text = if visible.iter().any(has_source) {
                    sources.text(path)
                } else {
                    None
                };
                let lines = text.as_deref().map(Lines::new);
                for finding in visible {
                    self.finding(&mut out, finding, lines.as_ref());
                }
            }
            let hidden = run.len() - visible.len();
            if hidden > 0 {
                let _ = writeln!(
                    out,
                    "… {} in {path} not shown (`--format json` lists them all)\n",
                    plural(hidden, "more finding")
                );
            }
        }
        out
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// Renders every finding and the summary line.
    pub fn render(
        &self,
        findings: &[Finding],
        stats: &Stats,
        sources: &mut dyn SourceLines,
    ) -> String {
        let mut out = self.render_findings(findings, sources);
        out.push_str(&self.summary(findings, stats));
        out
    }

    fn finding(&self, out: &mut String, f: &Finding, lines: Option<&Lines<'_>>) {
        let location = self.paint("1", &format!("{}:{}:{}:", f.path, f.line, f.column));
        let rule = self.paint(level_color(f.level), &format!("{} [{}]", f.rule, f.code));
        let _ = writeln!(out, "{location} {rule} {}", f.message);
        if let Some(line) = lines.and_then(|l| l.get(f.line as usize)) {
            let column = (f.column as usize).saturating_sub(1);
            let (shown, lead) = excerpt(line, column);
            let number = f.line.to_string();
            let pad = " ".repeat(number.len());
            let width = if f.end_line == f.line {
                f.end_column.saturating_sub(f.column).max(1) as usize
            } else {
                1
            };
            let width = width.min(MAX_LINE_CHARS);
            let caret = self.paint(level_color(f.level), &"^".repeat(width));
            let _ = writeln!(out, "{pad} |\n{number} | {shown}\n{pad} | {lead}{caret}");
        }
        if let Some(help) = &f.help {
            let _ = writeln!(out, "  = {}: {help}", self.paint("1", "help"));
        }
        out.push('\n');
    }

    fn summary(&self, findings: &[Finding], stats: &Stats) -> String {
        let count = |level| findings.iter().filter(|f| f.level == level).count();
        // The files checked are the `files_checked` of `--stats` and of the JSON report; the
        // skipped ones are counted apart (they may carry a finding: too large, binary).
        let files = format!("{} checked", plural(stats.files_checked, "file"));
        let mut line = if findings.is_empty() {
            format!("No findings; {files}")
        } else {
            format!(
                "{} ({} block, {} review, {} warn); {files}",
                plural(findings.len(), "finding"),
                count(Level::Block),
                count(Level::Review),
                count(Level::Warn),
            )
        };
        let skipped = stats.skipped_binary + stats.skipped_large;
        if skipped > 0 {
            let _ = write!(
                line,
                ", {skipped} skipped ({} binary, {} over the size limit)",
                stats.skipped_binary, stats.skipped_large
            );
        }
        line.push('\n');
        line
    }
}

/// A file's lines, found in one pass so that each finding's line is looked up in constant time.
struct Lines<'t> {
    text: &'t str,
    starts: Vec<usize>,
}

impl<'t> Lines<'t> {
    fn new(text: &'t str) -> Lines<'t> {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines { text, starts }
    }

    /// Line `number` (1-based) without its line break.
    fn get(&self, number: usize) -> Option<&'t str> {
        let start = *self.starts.get(number.checked_sub(1)?)?;
        let end = self.starts.get(number).map_or(self.text.len(), |&e| e);
        let line = self.text.get(start..end)?;
        Some(
            line.strip_suffix('\n')
                .unwrap_or(line)
                .trim_end_matches('\r'),
        )
    }
}

/// The part of `line` to show for a finding at character `column` (0-based), and the lead that
/// puts a caret under it (tabs kept, so the caret lines up).
fn excerpt(line: &str, column: usize) -> (String, String) {
    let total = line.chars().count();
    let from = if total <= MAX_LINE_CHARS {
        0
    } else {
        column
            .saturating_sub(MAX_LINE_CHARS / 3)
            .min(total - MAX_LINE_CHARS)
    };
    let body: String = line.chars().skip(from).take(MAX_LINE_CHARS).collect();
    let lead: String = body
        .chars()
        .take(column.saturating_sub(from))
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    if total <= MAX_LINE_CHARS {
        return (body, lead);
    }
    let prefix = if from > 0 { "…" } else { "" };
    let suffix = if from + MAX_LINE_CHARS < total {
        "…"
    } else {
        ""
    };
    let lead = if from > 0 { format!(" {lead}") } else { lead };
    (format!("{prefix}{body}{suffix}"), lead)
}

/// Whether the finding points into source text worth showing (not a path, not an unread file).
fn has_source(finding: &Finding) -> bool {
    finding.rule != checks::file_too_large::ID
        && checks::find(finding.rule).is_some_and(|c| !c.meta().languages.is_empty())
}

fn level_color(level: Level) -> &'static str {
    match level {
        Level::Block => "1;31",
        Level::Review => "1;35",
        Level::Warn => "1;33",
        Level::Off => "0",
    }
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(path: &str, line: u32) -> Finding {
        Finding {
            rule: "untyped-function",
            code: "ANN001".into(),
            level: Level::Block,
            path: path.into(),
            line,
            column: 1,
            end_line: line,
            end_column: 2,
            message: "m".into(),
            symbol: None,
            help: None,
            owners: Vec::new(),
        }
    }

    struct Text(String);

    impl SourceLines for Text {
        fn text(&mut self, _path: &str) -> Option<String> {
            Some(self.0.clone())
        }
    }

    #[test]
    fn caps_findings_per_file_and_counts_the_rest() {
        let text: String = (1..=300).map(|i| format!("line {i}\n")).collect();
        let mut findings: Vec<Finding> = (1..=250).map(|i| finding("a.py", i)).collect();
        findings.push(finding("b.py", 3));
        let out = Human { color: false }.render_findings(&findings, &mut Text(text));
        assert_eq!(out.matches("a.py:").count(), MAX_SHOWN_PER_FILE);
        assert!(out.contains("100 | line 100\n"), "{out}");
        assert!(!out.contains("line 101\n"));
        assert!(
            out.contains("… 150 more findings in a.py not shown"),
            "{out}"
        );
        assert!(
            out.contains("b.py:3:1:") && out.contains("3 | line 3\n"),
            "{out}"
        );
    }

    #[test]
    fn long_lines_are_shown_as_an_excerpt_with_the_caret_in_place() {
        let line = format!("{}X{}", "a".repeat(1000), "b".repeat(1000));
        let (shown, lead) = excerpt(&line, 1000);
        assert!(shown.starts_with('…') && shown.ends_with('…'));
        assert_eq!(shown.chars().nth(lead.chars().count()), Some('X'));
        assert_eq!(
            excerpt("\tx = 1", 1),
            ("\tx = 1".to_string(), "\t".to_string())
        );
        let lines = Lines::new("a\r\nb\n");
        assert_eq!(
            (lines.get(1), lines.get(2), lines.get(0)),
            (Some("a"), Some("b"), None)
        );
    }
}
