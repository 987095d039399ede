//! The JSON report: `{"verdict", "files_checked", "findings", "elapsed_ms"}`, pretty-printed.
//! A large report's findings are serialised on several threads (a full check of a big
//! repository prints tens of megabytes), into exactly what serde_json's pretty printer writes.

use serde::Serialize;

use crate::checks::Finding;
use crate::gate::Verdict;

#[derive(Serialize)]
struct JsonReport<'a> {
    verdict: Verdict,
    files_checked: usize,
    findings: &'a [Finding],
    elapsed_ms: u128,
}

/// Below this many findings one thread writes them all.
const PARALLEL_FROM: usize = 4096;

/// The report as one JSON document.
pub fn json(findings: &[Finding], files_checked: usize, elapsed_ms: u128) -> String {
    let mut out = Vec::new();
    // Writing to memory cannot fail, and only serde_json's output and valid UTF-8 go in.
    let _ = write_json(&mut out, findings, files_checked, elapsed_ms);
    String::from_utf8(out).unwrap_or_default()
}

/// [`json`] written to `out` as it is made (a full check of a large repository prints tens of
/// megabytes: they are not copied into one string first).
pub fn write_json(
    out: &mut impl std::io::Write,
    findings: &[Finding],
    files_checked: usize,
    elapsed_ms: u128,
) -> std::io::Result<()> {
    let verdict = Verdict::of(findings);
    if findings.is_empty() {
        let report = JsonReport {
            verdict,
            files_checked,
            findings,
            elapsed_ms,
        };
        return serde_json::to_writer_pretty(out, &report).map_err(std::io::Error::other);
    }
    let verdict = serde_json::to_string(&verdict).map_err(std::io::Error::other)?;
    write!(
        out,
        "{{\n  \"verdict\": {verdict},\n  \"files_checked\": {files_checked},\n  \"findings\": [\n"
    )?;
    for (i, chunk) in chunks(findings).iter().enumerate() {
        if i > 0 {
            out.write_all(b",\n")?;
        }
        out.write_all(chunk)?;
    }
    write!(out, "\n  ],\n  \"elapsed_ms\": {elapsed_ms}\n}}")
}

/// The findings, pretty-printed and indented, in consecutive runs (one per thread).
fn chunks(findings: &[Finding]) -> Vec<Vec<u8>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    if findings.len() < PARALLEL_FROM || threads < 2 {
        return vec![write(findings)];
    }
    let per = findings.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = findings
            .chunks(per)
            .map(|chunk| scope.spawn(move || write(chunk)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

/// `findings` as array elements two levels deep, separated by `,\n`: the bytes serde_json's
/// pretty printer writes for them there, written directly (serialising each through serde and
/// indenting it again was 30% of a warm full check).
fn write(findings: &[Finding]) -> Vec<u8> {
    let mut out = Vec::with_capacity(findings.len() * 480);
    for (i, f) in findings.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b",\n");
        }
        out.extend_from_slice(b"    {\n");
        let mut fields = Fields {
            out: &mut out,
            first: true,
        };
        fields.string("rule", f.rule);
        fields.string("code", &f.code);
        fields.string("level", f.level.as_str());
        fields.string("path", &f.path);
        fields.number("line", f.line);
        fields.number("column", f.column);
        fields.number("end_line", f.end_line);
        fields.number("end_column", f.end_column);
        fields.string("message", &f.message);
        if let Some(symbol) = &f.symbol {
            fields.string("symbol", symbol);
        }
        if let Some(help) = &f.help {
            fields.string("help", help);
        }
        out.extend_from_slice(b"\n    }");
    }
    out
}

/// The fields of one finding's object, three levels deep.
struct Fields<'o> {
    out: &'o mut Vec<u8>,
    first: bool,
}

impl Fields<'_> {
    fn key(&mut self, key: &str) {
        if !std::mem::take(&mut self.first) {
            self.out.extend_from_slice(b",\n");
        }
        self.out.extend_from_slice(b"      \"");
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\": ");
    }

    fn number(&mut self, key: &str, value: u32) {
        self.key(key);
        let mut digits = [0u8; 10];
        let mut at = digits.len();
        let mut n = value;
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.out.extend_from_slice(&digits[at..]);
    }

    /// A JSON string escaped as serde_json escapes it: `"` and `\\`, the short forms of
    /// backspace, form feed, newline, carriage return and tab, `\u00xx` for the other control
    /// characters; everything else as it is.
    fn string(&mut self, key: &str, value: &str) {
        self.key(key);
        let out = &mut *self.out;
        out.push(b'"');
        let bytes = value.as_bytes();
        let mut from = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let short: &[u8] = match b {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                b'\n' => b"\\n",
                b'\r' => b"\\r",
                b'\t' => b"\\t",
                0x08 => b"\\b",
                0x0c => b"\\f",
                0x00..=0x1f => b"",
                _ => continue,
            };
            out.extend_from_slice(&bytes[from..i]);
            from = i + 1;
            if short.is_empty() {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            } else {
                out.extend_from_slice(short);
            }
        }
        out.extend_from_slice(&bytes[from..]);
        out.push(b'"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Level;

    fn finding(i: usize) -> Finding {
        Finding {
            rule: "untyped-function",
            code: "ANN001".into(),
            level: if i.is_multiple_of(3) {
                Level::Warn
            } else {
                Level::Block
            },
            path: format!("pkg/m\u{e9}{}.py", i / 7),
            line: u32::try_from(i).unwrap(),
            column: 5,
            end_line: 6,
            end_column: 7,
            message: format!(
                "Missing \"annotation\"\nfor `x{i}`\t\\ \r\u{1}\u{8}\u{c}\u{1f}\u{7f}"
            ),
            symbol: i.is_multiple_of(2).then(|| format!("x{i}")),
            help: (!i.is_multiple_of(5)).then(|| "add one".to_string()),
            owners: vec!["alice".into()],
        }
    }

    #[test]
    fn writes_what_serde_jsons_pretty_printer_writes() {
        for n in [
            0,
            1,
            2,
            3,
            PARALLEL_FROM - 1,
            PARALLEL_FROM,
            3 * PARALLEL_FROM + 1,
        ] {
            let findings: Vec<Finding> = (0..n).map(finding).collect();
            let expected = serde_json::to_string_pretty(&JsonReport {
                verdict: Verdict::of(&findings),
                files_checked: 7,
                findings: &findings,
                elapsed_ms: 12,
            })
            .unwrap();
            assert!(json(&findings, 7, 12) == expected, "{n} findings differ");
        }
    }
}
