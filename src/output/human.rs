//! Human output, like rustc and ruff: `path:line:col: rule [code] message`, the source line with
//! a caret under the finding, a help line, and a one-line summary. Colour only on a terminal.

use std::fmt::Write;

use crate::checks::{self, Finding};
use crate::config::Level;
use crate::engine::Stats;

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
            color: !crate::cli::env::no_color() && std::io::stderr().is_terminal(),
        }
    }

    /// Renders the findings without a summary line.
    pub fn render_findings(&self, findings: &[Finding], sources: &mut dyn SourceLines) -> String {
        let mut out = String::new();
        let mut current: Option<(&str, Option<String>)> = None;
        for finding in findings {
            if current
                .as_ref()
                .is_none_or(|(path, _)| *path != finding.path)
            {
                let text = if has_source(finding) {
                    sources.text(&finding.path)
                } else {
                    None
                };
                current = Some((&finding.path, text));
            }
            let text = current.as_ref().and_then(|(_, t)| t.as_deref());
            self.finding(&mut out, finding, text);
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

    fn finding(&self, out: &mut String, f: &Finding, text: Option<&str>) {
        let location = self.paint("1", &format!("{}:{}:{}:", f.path, f.line, f.column));
        let rule = self.paint(level_color(f.level), &format!("{} [{}]", f.rule, f.code));
        let _ = writeln!(out, "{location} {rule} {}", f.message);
        let line = text.and_then(|t| t.lines().nth(f.line as usize - 1));
        if let Some(line) = line {
            let number = f.line.to_string();
            let pad = " ".repeat(number.len());
            let lead: String = line
                .chars()
                .take(f.column as usize - 1)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let width = if f.end_line == f.line {
                f.end_column.saturating_sub(f.column).max(1)
            } else {
                1
            };
            let caret = self.paint(level_color(f.level), &"^".repeat(width as usize));
            let _ = writeln!(out, "{pad} |\n{number} | {line}\n{pad} | {lead}{caret}");
        }
        if let Some(help) = &f.help {
            let _ = writeln!(out, "  = {}: {help}", self.paint("1", "help"));
        }
        out.push('\n');
    }

    fn summary(&self, findings: &[Finding], stats: &Stats) -> String {
        let count = |level| findings.iter().filter(|f| f.level == level).count();
        let files = plural(stats.files_checked, "file");
        let mut line = if findings.is_empty() {
            format!("No findings in {files}")
        } else {
            format!(
                "{} ({} block, {} review, {} warn) in {files}",
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
                "; {} skipped ({} binary, {} over the size limit)",
                plural(skipped, "file"),
                stats.skipped_binary,
                stats.skipped_large
            );
        }
        line.push('\n');
        line
    }
}

fn has_source(finding: &Finding) -> bool {
    checks::find(finding.rule).is_some_and(|c| !c.meta().languages.is_empty())
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
