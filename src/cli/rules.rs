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
    /// `check` (a check of the files) or `gate` (a policy of the push and merge gate).
    kind: &'static str,
    level: Level,
    languages: Vec<&'static str>,
    summary: &'static str,
    codes: Vec<&'static str>,
}

/// A finding the gate itself makes, not a check: its id appears in the gate's reports, so
/// `rules list` shows it (kind `gate`) and `rules explain` explains it. The spec lists rules as
/// checks only; these are here because a user who reads such an id asks `rules explain` for it.
struct GateRule {
    id: &'static str,
    summary: &'static str,
    explanation: &'static str,
    codes: &'static [(&'static str, &'static str)],
    level: fn(&Settings) -> Level,
}

const GATE_RULES: &[GateRule] = &[
    GateRule {
        id: crate::gate::push::AGENT_COMMIT,
        summary: "a pushed or merged commit made by an agent needs an approval",
        explanation: "What it does: reports each commit of a push or merge that carries a \
`Gatehouse-Run:` trailer: a commit an agent task made.\n\nWhy it matters: nothing an \
agent wrote should reach a pushed branch without a human decision. `gatehouse review accept` \
records the approval for the agent's commits of that review; otherwise `gatehouse approve` the \
pushed tip after reviewing them.\n\nSetting: its level is `agent_commits` in \
.gatehouse/config.toml (default `review`; `off` turns it off).",
        codes: &[("unapproved", "an agent's commit no approval covers")],
        level: |settings| settings.agent_commits,
    },
    GateRule {
        id: crate::gate::push::PROTECTED_REF,
        summary: "deleting a protected branch on a remote needs an approval",
        explanation: "What it does: reports a push that deletes a remote branch matched by \
`protected` in .gatehouse/config.toml (default: main, master, release/*).\n\nWhy it \
matters: deleting such a branch is rarely intended and hard to undo for others. If it is \
intended, approve it with `gatehouse approve --delete REF SHA` (the command the gate prints) and \
push again.",
        codes: &[("deleted", "a protected branch is deleted")],
        level: |_| Level::Review,
    },
];

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
                kind: "check",
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
        .chain(GATE_RULES.iter().map(|g| RuleRow {
            id: g.id,
            kind: "gate",
            level: (g.level)(&settings),
            languages: Vec::new(),
            summary: g.summary,
            codes: g.codes.iter().map(|(code, _)| *code).collect(),
        }))
        .collect();
    match format {
        ListFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "rules": rows }))?
        ),
        ListFormat::Human => {
            for row in &rows {
                let langs = if row.kind == "gate" {
                    "gate rule".to_string()
                } else if row.languages.is_empty() {
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
    if let Some(rule) = GATE_RULES.iter().find(|g| g.id == id) {
        println!(
            "## {} (a gate rule, not a check)\n\n{}",
            rule.id, rule.explanation
        );
        let level = (rule.level)(&config::defaults());
        println!("\nDefault level: {level}");
        println!("Codes:");
        for (code, description) in rule.codes {
            println!("  {code:<14} {description}");
        }
        return Ok(ExitStatus::Success);
    }
    let Some(check) = checks::find(id) else {
        let known: Vec<&str> = checks::all()
            .iter()
            .map(|c| c.meta().id)
            .chain(GATE_RULES.iter().map(|g| g.id))
            .collect();
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
