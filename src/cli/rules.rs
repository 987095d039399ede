//! `gatehouse rules`: the active rules and what each means.

use anyhow::bail;
use serde::Serialize;

use crate::ExitStatus;
use crate::checks;
use crate::config::{self, Level, Settings};
use crate::git::Repo;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Option<Action>,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// List the rules with their effective levels.
    List {
        #[arg(long, value_enum, default_value_t = ListFormat::Human)]
        format: ListFormat,
    },
    /// Print a rule's documentation.
    Explain { id: String },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ListFormat {
    Human,
    Json,
}

#[derive(Serialize)]
struct RuleRow {
    id: &'static str,
    level: Level,
    languages: Vec<&'static str>,
    summary: &'static str,
    codes: Vec<&'static str>,
}

pub fn run(args: &Args) -> anyhow::Result<ExitStatus> {
    match &args.action {
        None => list(ListFormat::Human),
        Some(Action::List { format }) => list(*format),
        Some(Action::Explain { id }) => explain(id),
    }
}

/// The repository's settings when run inside one, else the built-in defaults.
fn settings() -> anyhow::Result<Settings> {
    match Repo::open_from_env() {
        Ok(repo) => Ok(config::load_for(&repo)?),
        Err(_) => Ok(config::defaults()),
    }
}

fn list(format: ListFormat) -> anyhow::Result<ExitStatus> {
    let settings = settings()?;
    let rows: Vec<RuleRow> = checks::all()
        .iter()
        .map(|c| {
            let meta = c.meta();
            RuleRow {
                id: meta.id,
                level: settings
                    .rules
                    .get(meta.id)
                    .map_or(meta.default_level, |r| r.level),
                languages: meta
                    .languages
                    .iter()
                    .map(|l| {
                        if *l == crate::lang::Language::Python {
                            "python"
                        } else {
                            "rust"
                        }
                    })
                    .collect(),
                summary: meta.summary,
                codes: meta.codes.iter().map(|(code, _)| *code).collect(),
            }
        })
        .collect();
    match format {
        ListFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "rules": rows }))?
        ),
        ListFormat::Human => {
            for row in &rows {
                let langs = if row.languages.is_empty() {
                    "all files".to_string()
                } else {
                    row.languages.join(", ")
                };
                println!(
                    "{:<18} {:<7} {:<16} {}",
                    row.id,
                    row.level.as_str(),
                    langs,
                    row.summary
                );
            }
            if settings
                .rules
                .get(checks::sensitive_path::ID)
                .is_some_and(|r| r.level != Level::Off)
            {
                println!("\nsensitive paths:");
                for s in &settings.sensitive {
                    println!(
                        "  {:<22} {:<7} {}",
                        s.name,
                        s.level.as_str(),
                        s.paths.join(" ")
                    );
                }
            }
        }
    }
    Ok(ExitStatus::Success)
}

fn explain(id: &str) -> anyhow::Result<ExitStatus> {
    let Some(check) = checks::find(id) else {
        let known: Vec<&str> = checks::all().iter().map(|c| c.meta().id).collect();
        bail!("unknown rule `{id}`; the rules are: {}", known.join(", "));
    };
    let meta = check.meta();
    println!("{}", checks::module_doc(meta.module_source).trim_end());
    println!("\nDefault level: {}", meta.default_level);
    println!("Codes:");
    for (code, description) in meta.codes {
        println!("  {code:<14} {description}");
    }
    Ok(ExitStatus::Success)
}
