//! SARIF 2.1.0, as code-scanning services accept it.

use serde_json::{Value, json};

use crate::checks::{self, Finding};
use crate::config::Level;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The findings as a SARIF log with one run.
pub fn sarif(findings: &[Finding]) -> String {
    let rules: Vec<Value> = checks::all()
        .iter()
        .map(|c| {
            let meta = c.meta();
            json!({
                "id": meta.id,
                "name": meta.id,
                "shortDescription": { "text": meta.summary },
                "fullDescription": { "text": checks::module_doc(meta.module_source).trim() },
                "defaultConfiguration": { "level": sarif_level(meta.default_level) },
            })
        })
        .collect();
    let index = |id: &str| {
        checks::all()
            .iter()
            .position(|c| c.meta().id == id)
            .unwrap_or(0)
    };
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            let mut message = f.message.clone();
            if let Some(help) = &f.help {
                message = format!("{message}\nhelp: {help}");
            }
            json!({
                "ruleId": f.rule,
                "ruleIndex": index(f.rule),
                "level": sarif_level(f.level),
                "message": { "text": message },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri(&f.path), "uriBaseId": "%SRCROOT%" },
                        "region": {
                            "startLine": f.line,
                            "startColumn": f.column,
                            "endLine": f.end_line,
                            "endColumn": f.end_column,
                        }
                    }
                }],
                "properties": {
                    "code": f.code,
                    "gatehouseLevel": f.level.as_str(),
                    "symbol": f.symbol,
                    "owners": f.owners,
                },
            })
        })
        .collect();
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "gatehouse",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    serde_json::to_string_pretty(&log).unwrap_or_default()
}

/// SARIF has no "review": an unapproved review finding fails the gate, so it is an error.
fn sarif_level(level: Level) -> &'static str {
    match level {
        Level::Block | Level::Review => "error",
        Level::Warn => "warning",
        Level::Off => "none",
    }
}

/// A relative URI: each path segment percent-encoded where RFC 3986 requires it.
fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn uris_are_percent_encoded() {
        assert_eq!(super::uri("a b/ü.py"), "a%20b/%C3%BC.py");
    }
}
