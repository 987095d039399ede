//! ## file-too-large
//!
//! What it does: reports a Python or Rust file (by its name, or a Python `#!` line) that is
//! larger than `max_file_size` (default 2 MiB, set in `.gatehouse/config.toml`), which the
//! other checks therefore did not read. One finding per file, at line 1.
//!
//! Why it matters: without it, growing a file past the limit (a generated blob, padding) would
//! hide everything in it from the gate. The default level is `review`: the gate cannot vouch
//! for the file, so a human looks at it and approves (`gatehouse approve`), or the
//! configuration says otherwise for files known to be large.
//!
//! In the gate this finding counts for the whole file, whichever lines a change touched.
//!
//! Example (`.gatehouse/config.toml`):
//!
//! ```toml
//! max_file_size = 4194304
//!
//! [rules.file-too-large]
//! exclude = ["src/generated/"]
//! ```

use crate::checks::Level;
use crate::checks::{Check, Diagnostic, FileRule, RuleMeta};
use crate::lang::{Language, ParsedFile};

/// The rule id.
pub const ID: &str = "file-too-large";

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "Python and Rust files over `max_file_size`, which the checks did not read",
    default_level: Level::Review,
    languages: &[Language::Python, Language::Rust],
    codes: &[("too-large", "the file is larger than `max_file_size`")],
    version: 1,
    uses_project: false,
    per_file: true,
    module_source: include_str!("mod.rs"),
};

/// The `file-too-large` check; the engine reports it before reading a file.
pub struct FileTooLarge;

impl Check for FileTooLarge {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn configure(&self, options: &toml::Table) -> Result<Box<dyn FileRule>, String> {
        match options.keys().next() {
            Some(key) => Err(format!(
                "unknown option `{key}`: file-too-large has no options (the limit is `max_file_size`)"
            )),
            None => Ok(Box::new(Unread)),
        }
    }
}

/// A file over the limit is never parsed, so there is nothing to look at here.
struct Unread;

impl FileRule for Unread {
    fn check(&self, _file: &ParsedFile<'_>, _out: &mut Vec<Diagnostic>) {}
}

/// The finding for a file of `size` bytes over `limit`.
pub fn diagnostic(size: u64, limit: u64) -> Diagnostic {
    Diagnostic {
        code: "too-large".into(),
        line: 1,
        column: 1,
        end_line: 1,
        end_column: 1,
        message: format!(
            "{size} bytes, over `max_file_size` ({limit} bytes): no check read this file"
        ),
        symbol: None,
        help: Some(
            "approve it with `gatehouse approve`, raise `max_file_size`, or exclude the file in \
             [rules.file-too-large]"
                .into(),
        ),
        level: None,
    }
}
