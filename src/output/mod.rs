//! Renderers of a check's findings: human (like rustc and ruff), JSON and SARIF 2.1.0.

mod human;
mod json;
mod sarif;

pub use human::{Human, SourceLines, escaped, escaped_lines};
pub use json::{json, write_json};
pub use sarif::sarif;

/// The output formats of `gatehouse check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    Sarif,
}
