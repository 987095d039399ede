//! The cost view: what each task kind cost, day by day, and how much of it went on failed runs
//! (the number people ask for and no agent shows).

use std::collections::BTreeMap;

use serde::Serialize;

use super::WebError;
use super::views::format_money;
use crate::store::Store;
use crate::store::runs::Run;

/// Cost per task kind, per day, with what failed runs cost.
#[derive(Debug, Serialize)]
pub struct CostKind {
    pub kind: String,
    pub runs: usize,
    pub failed: usize,
    pub cost: String,
    pub failed_cost: String,
    pub days: Vec<CostDay>,
}

#[derive(Debug, Serialize)]
pub struct CostDay {
    pub day: String,
    pub runs: usize,
    pub failed: usize,
    pub cost: String,
    pub failed_cost: String,
    /// Bar widths, percent of the costliest day of any kind.
    pub bar_ok: String,
    pub bar_failed: String,
    pub bar_failed_x: String,
}

#[derive(Default)]
struct Sum {
    runs: usize,
    failed: usize,
    cost: f64,
    failed_cost: f64,
}

impl Sum {
    fn add(&mut self, run: &Run) {
        self.runs += 1;
        let cost = run.cost_usd.unwrap_or(0.0);
        self.cost += cost;
        if run.state.is_failure() {
            self.failed += 1;
            self.failed_cost += cost;
        }
    }
}

pub fn costs(store: &Store) -> Result<Vec<CostKind>, WebError> {
    let mut kinds: BTreeMap<String, (Sum, BTreeMap<String, Sum>)> = BTreeMap::new();
    for run in store.runs(&[])? {
        let when = run.finished_at.as_deref().unwrap_or(&run.queued_at);
        let day = when.get(..10).unwrap_or(when).to_string();
        let (total, days) = kinds.entry(run.kind.clone()).or_default();
        total.add(&run);
        days.entry(day).or_default().add(&run);
    }
    let max = kinds
        .values()
        .flat_map(|(_, days)| days.values().map(|d| d.cost))
        .fold(0.0_f64, f64::max);
    let percent = |v: f64| {
        if max > 0.0 {
            format!("{:.1}", v / max * 100.0)
        } else {
            "0".into()
        }
    };
    Ok(kinds
        .into_iter()
        .map(|(kind, (total, days))| CostKind {
            kind,
            runs: total.runs,
            failed: total.failed,
            cost: format_money(total.cost),
            failed_cost: format_money(total.failed_cost),
            days: days
                .into_iter()
                .rev()
                .map(|(day, d)| CostDay {
                    day,
                    runs: d.runs,
                    failed: d.failed,
                    cost: format_money(d.cost),
                    failed_cost: format_money(d.failed_cost),
                    bar_ok: percent(d.cost - d.failed_cost),
                    bar_failed: percent(d.failed_cost),
                    bar_failed_x: percent(d.cost - d.failed_cost),
                })
                .collect(),
        })
        .collect())
}
