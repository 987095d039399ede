//! The JSON report: `{"verdict", "files_checked", "findings", "elapsed_ms"}`.

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

/// The report as one JSON document.
pub fn json(findings: &[Finding], files_checked: usize, elapsed_ms: u128) -> String {
    let report = JsonReport {
        verdict: Verdict::of(findings),
        files_checked,
        findings,
        elapsed_ms,
    };
    // Serialising plain data to a string cannot fail.
    serde_json::to_string_pretty(&report).unwrap_or_default()
}
