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
                    "… {} in {} not shown (`--format json` lists them all)\n",
                    plural(hidden, "more finding"),
                    escaped(path, false)
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
        let path = escaped(&f.path, false);
        let location = self.paint("1", &format!("{path}:{}:{}:", f.line, f.column));
        let code = escaped(&f.code, false);
        let rule = self.paint(level_color(f.level), &format!("{} [{code}]", f.rule));
        let _ = writeln!(out, "{location} {rule} {}", escaped(&f.message, false));
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
            let help = escaped(help, false);
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
    // Control characters shown escaped (see [`escaped`]); the lead follows their shown width.
    let mut body = String::new();
    let mut lead = String::new();
    for (i, c) in line.chars().skip(from).take(MAX_LINE_CHARS).enumerate() {
        let before = body.len();
        push_visible(&mut body, c, true);
        if i < column.saturating_sub(from) {
            if c == '\t' {
                lead.push('\t');
            } else {
                lead.extend(std::iter::repeat_n(' ', body[before..].chars().count()));
            }
        }
    }
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

/// `text` with its control characters made visible, for a terminal: a hostile repository's file
/// names, messages and source lines (and an agent's branch names, subjects and messages) must
/// not reach it as escape sequences (`\x1b]8;;…` links, a cleared screen, a rewritten line).
/// `\n`, `\r` and `\t` are shown as such, other C0 and C1 controls and DEL as `\x1b`, and the
/// bidirectional overrides (`\u{202e}`: "Trojan Source") as `\u{202e}`. With `keep_tab`, a tab
/// stays a tab (source lines). JSON and SARIF carry the text unchanged.
pub fn escaped(text: &str, keep_tab: bool) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(|c| needs_escape(c, keep_tab)) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        push_visible(&mut out, c, keep_tab);
    }
    std::borrow::Cow::Owned(out)
}

/// A human report of many lines, each through [`escaped`] (tabs kept), its line breaks kept:
/// for `runs show`, `review show` (with its diff), `status`, `log`, `audit`, whose text holds
/// an agent's or a repository's words (task names, errors, branch names, subjects, messages).
pub fn escaped_lines(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(|c| c != '\n' && needs_escape(c, true)) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c == '\n' {
            out.push(c);
        } else {
            push_visible(&mut out, c, true);
        }
    }
    std::borrow::Cow::Owned(out)
}

fn needs_escape(c: char, keep_tab: bool) -> bool {
    (c.is_control() && !(keep_tab && c == '\t'))
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn push_visible(out: &mut String, c: char, keep_tab: bool) {
    if !needs_escape(c, keep_tab) {
        out.push(c);
        return;
    }
    let _ = match c {
        '\n' => write!(out, "\\n"),
        '\r' => write!(out, "\\r"),
        '\t' => write!(out, "\\t"),
        c if (c as u32) < 0x100 => write!(out, "\\x{:02x}", c as u32),
        c => write!(out, "\\u{{{:x}}}", c as u32),
    };
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
    fn control_characters_reach_no_terminal() {
        let mut f = finding("evil\x1b]0;pwned\x07.py", 1);
        f.message = "bad \x1b[2J\u{202e}name".into();
        f.column = 13;
        let out =
            Human { color: false }.render_findings(&[f], &mut Text("x = \"\x1b[31m\"\tX\n".into()));
        assert!(!out.contains('\x1b') && !out.contains('\x07') && !out.contains('\u{202e}'));
        assert!(out.contains("evil\\x1b]0;pwned\\x07.py:1:13:"), "{out}");
        assert!(out.contains("bad \\x1b[2J\\u{202e}name"), "{out}");
        // The tab stays, the caret stays under the X.
        assert!(out.contains("1 | x = \"\\x1b[31m\"\tX\n"), "{out}");
        assert!(out.contains(&format!("  | {}\t^", " ".repeat(14))), "{out}");
        assert_eq!(escaped("a\tb", true), "a\tb");
        assert_eq!(escaped("a\tb\n", false), "a\\tb\\n");
        assert!(matches!(
            escaped("plain ü", false),
            std::borrow::Cow::Borrowed(_)
        ));
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
