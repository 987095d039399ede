//! Inline suppressions: `# gatehouse: ignore[rule-id, …]` (Python) or `// gatehouse:
//! ignore[rule-id]` (Rust), on the reported line or the line above it.

use std::collections::HashMap;

const MARKER: &str = "gatehouse: ignore[";

/// The suppressions of one file: line → rule ids.
#[derive(Debug, Default)]
pub struct Suppressions(HashMap<u32, Vec<String>>);

impl Suppressions {
    /// Finds the suppression comments of `source`; `comment` is the language's line comment.
    pub fn scan(source: &str, comment: &str) -> Suppressions {
        let mut map: HashMap<u32, Vec<String>> = HashMap::new();
        if !source.contains(MARKER) {
            return Suppressions(map);
        }
        for (index, line) in source.lines().enumerate() {
            let Some(at) = line.find(MARKER) else {
                continue;
            };
            // Only a marker inside a comment counts, not one in a string before any comment.
            if !line[..at].contains(comment) {
                continue;
            }
            let rest = &line[at + MARKER.len()..];
            let Some(close) = rest.find(']') else {
                continue;
            };
            let ids = rest[..close]
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty());
            let number = u32::try_from(index + 1).unwrap_or(u32::MAX);
            map.entry(number).or_default().extend(ids);
        }
        Suppressions(map)
    }

    /// Whether `rule` is suppressed for a finding reported at `line`.
    pub fn covers(&self, rule: &str, line: u32) -> bool {
        let on = |n: u32| {
            self.0
                .get(&n)
                .is_some_and(|ids| ids.iter().any(|id| id == rule))
        };
        on(line) || (line > 1 && on(line - 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_the_line_or_the_line_above() {
        let src = "# gatehouse: ignore[untyped-function]\ndef f(x): pass\ndef g(y): pass  # gatehouse: ignore[a, untyped-function]\n\ndef h(z): pass\n";
        let s = Suppressions::scan(src, "#");
        assert!(s.covers("untyped-function", 1));
        assert!(s.covers("untyped-function", 2));
        assert!(s.covers("untyped-function", 3));
        assert!(s.covers("a", 3));
        assert!(s.covers("untyped-function", 4));
        assert!(!s.covers("untyped-function", 5));
        assert!(!s.covers("missing-import", 2));
    }

    #[test]
    fn marker_outside_a_comment_does_not_count() {
        let src = "x = \"gatehouse: ignore[untyped-function]\"\n";
        assert!(!Suppressions::scan(src, "#").covers("untyped-function", 1));
        let src = "let x = 1; // gatehouse: ignore[missing-import]\n";
        assert!(Suppressions::scan(src, "//").covers("missing-import", 1));
    }
}
