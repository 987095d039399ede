//! Token usage normalised across agents, and its cost.

use serde::{Deserialize, Serialize};

use super::config::Price;

/// Tokens one run used. `input` includes `cached_input`; `reasoning` is part of `output` (the
/// OpenAI convention; agents that report otherwise are normalised to it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    pub input: u64,
    pub cached_input: u64,
    pub output: u64,
    pub reasoning: u64,
    /// USD: the agent's own figure when it reports one, else computed from the configured price.
    pub cost_usd: Option<f64>,
}

impl Usage {
    /// Input plus output tokens (what budgets count).
    pub fn total_tokens(&self) -> u64 {
        self.input.saturating_add(self.output)
    }

    /// Fills `cost_usd` from `price` when the agent reported no cost.
    pub fn with_price(mut self, price: Option<&Price>) -> Self {
        if self.cost_usd.is_none()
            && let Some(price) = price
        {
            self.cost_usd = Some(price_of(&self, price));
        }
        self
    }
}

/// The cost of `usage` at `price` (USD per million tokens); cached input at its own price.
#[allow(clippy::cast_precision_loss)] // token counts far below 2^52
pub fn price_of(usage: &Usage, price: &Price) -> f64 {
    let cached = usage.cached_input.min(usage.input);
    let fresh = usage.input - cached;
    let cached_price = price.cached_input.unwrap_or(price.input);
    (fresh as f64 * price.input + cached as f64 * cached_price + usage.output as f64 * price.output)
        / 1_000_000.0
}

/// Reads a JSON number as a token count (absent, negative or fractional counts as 0).
pub(crate) fn count(value: Option<&serde_json::Value>) -> u64 {
    value.and_then(serde_json::Value::as_u64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn price_counts_cached_input_at_its_own_rate() {
        let usage = Usage {
            input: 1_000_000,
            cached_input: 400_000,
            output: 100_000,
            ..Usage::default()
        };
        let price = Price {
            input: 2.0,
            cached_input: Some(0.5),
            output: 10.0,
        };
        let cost = price_of(&usage, &price);
        assert!((cost - (1.2 + 0.2 + 1.0)).abs() < 1e-9, "{cost}");
    }

    #[test]
    fn agent_cost_wins_over_price() {
        let price = Price {
            input: 1.0,
            cached_input: None,
            output: 1.0,
        };
        let reported = Usage {
            input: 10,
            cost_usd: Some(0.5),
            ..Usage::default()
        };
        assert_eq!(reported.with_price(Some(&price)).cost_usd, Some(0.5));
        let unreported = Usage {
            input: 1_000_000,
            ..Usage::default()
        };
        assert_eq!(unreported.with_price(Some(&price)).cost_usd, Some(1.0));
        assert_eq!(unreported.with_price(None).cost_usd, None);
    }
}
