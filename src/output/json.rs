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
/// Each finding sits two levels deep: in the report object, in the `findings` array.
const INDENT: &[u8] = b"    ";

/// The report as one JSON document.
pub fn json(findings: &[Finding], files_checked: usize, elapsed_ms: u128) -> String {
    let verdict = Verdict::of(findings);
    if findings.is_empty() {
        let report = JsonReport {
            verdict,
            files_checked,
            findings,
            elapsed_ms,
        };
        // Serialising plain data to a string cannot fail.
        return serde_json::to_string_pretty(&report).unwrap_or_default();
    }
    let verdict = serde_json::to_string(&verdict).unwrap_or_default();
    let mut out = format!(
        "{{\n  \"verdict\": {verdict},\n  \"files_checked\": {files_checked},\n  \"findings\": [\n"
    )
    .into_bytes();
    for (i, chunk) in chunks(findings).iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b",\n");
        }
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(format!("\n  ],\n  \"elapsed_ms\": {elapsed_ms}\n}}").as_bytes());
    // Only serde_json's output and ASCII went in.
    String::from_utf8(out).unwrap_or_default()
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

/// `findings` as array elements two levels deep, separated by `,\n`.
fn write(findings: &[Finding]) -> Vec<u8> {
    let mut out = Vec::with_capacity(findings.len() * 480);
    let mut one = Vec::with_capacity(1024);
    for (i, finding) in findings.iter().enumerate() {
        one.clear();
        if serde_json::to_writer_pretty(&mut one, finding).is_err() {
            continue;
        }
        if i > 0 {
            out.extend_from_slice(b",\n");
        }
        // A JSON string never holds a raw newline, so every newline starts a line to indent.
        for (n, line) in one.split(|&b| b == b'\n').enumerate() {
            if n > 0 {
                out.push(b'\n');
            }
            out.extend_from_slice(INDENT);
            out.extend_from_slice(line);
        }
    }
    out
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
            message: format!("Missing \"annotation\"\nfor `x{i}`\t\\"),
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
