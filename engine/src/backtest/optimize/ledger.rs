//! The trial ledger: every configuration ever tried for a strategy, with its metrics, the seed
//! and sampler that proposed it and the fingerprint of the data it ran on. It is what makes a
//! run resumable (a run continues from its own trials) and what the deflated Sharpe ratio
//! counts (every trial, not only this run's). Serialisable; the CLI keeps it as a JSON file.

use super::space::SamplerKind;
use super::stats::ReturnStats;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A trial's results (exact money, `f64` ratios).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialMetrics {
    /// Net P&L, quote (exact, the ledger's).
    pub net: Decimal,
    /// Fees paid, quote (exact).
    pub fees: Decimal,
    /// Executions (signals that traded).
    pub executions: usize,
    /// Final / initial equity − 1.
    pub total_return: f64,
    /// Annualised Sharpe ratio.
    pub sharpe: f64,
    /// Annualised Sortino ratio.
    pub sortino: f64,
    /// Annual return / max drawdown.
    pub calmar: f64,
    /// Largest peak-to-trough fall (fraction).
    pub max_drawdown: f64,
    /// Annualised volatility.
    pub volatility: f64,
    /// Winning share of realizing executions.
    pub win_rate: f64,
    /// Gross gains / gross losses.
    pub profit_factor: f64,
    /// Fraction of bars in a position.
    pub exposure: f64,
}

/// Names a weighted objective may use (see [`TrialMetrics::value`]).
pub const METRIC_NAMES: [&str; 12] = [
    "net",
    "fees",
    "executions",
    "total_return",
    "sharpe",
    "sortino",
    "calmar",
    "max_drawdown",
    "volatility",
    "win_rate",
    "profit_factor",
    "exposure",
];

impl TrialMetrics {
    /// A metric by name as `f64` (money converted for ranking only; the exact value stays in
    /// the field), `None` for an unknown name.
    pub fn value(&self, name: &str) -> Option<f64> {
        use rust_decimal::prelude::ToPrimitive;
        Some(match name {
            "net" => self.net.to_f64().unwrap_or(0.0),
            "fees" => self.fees.to_f64().unwrap_or(0.0),
            "executions" => self.executions as f64,
            "total_return" => self.total_return,
            "sharpe" => self.sharpe,
            "sortino" => self.sortino,
            "calmar" => self.calmar,
            "max_drawdown" => self.max_drawdown,
            "volatility" => self.volatility,
            "win_rate" => self.win_rate,
            "profit_factor" => self.profit_factor,
            "exposure" => self.exposure,
            _ => return None,
        })
    }
}

/// One configuration tried.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// The run it belongs to (hash of strategy, sampler, seed, batch, space, objective,
    /// constraints, data and window): a resumed run continues its own trials.
    pub run: String,
    /// Position in its run (the sampler's trial index).
    pub index: usize,
    /// Walk-forward window (in-sample search), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<usize>,
    /// Sampler that proposed it.
    pub sampler: SamplerKind,
    /// Seed of its run.
    pub seed: u64,
    /// Fingerprint of the bars and backtest config it ran on.
    pub data: String,
    /// Parameters.
    pub params: BTreeMap<String, f64>,
    /// Strategy version id (name, code version and parameters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy_version: Option<String>,
    /// Results (absent when the strategy refused the parameters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<TrialMetrics>,
    /// Objective value (higher is better).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objective: Option<f64>,
    /// Met every constraint (an infeasible trial is recorded, never best).
    pub feasible: bool,
    /// Constraints it broke.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<String>,
    /// Why it could not run (parameters refused, backtest failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Per-bar return statistics (DSR inputs, CSCV blocks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub returns: Option<ReturnStats>,
}

/// Every trial of one strategy, in the order they ran.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TrialLedger {
    /// Strategy name.
    pub strategy: String,
    /// Trials.
    pub trials: Vec<Trial>,
}

impl TrialLedger {
    /// An empty ledger for `strategy`.
    pub fn new(strategy: &str) -> Self {
        Self {
            strategy: strategy.to_string(),
            trials: Vec::new(),
        }
    }

    /// The trials of run `run`, in index order.
    pub fn run(&self, run: &str) -> Vec<&Trial> {
        let mut out: Vec<&Trial> = self.trials.iter().filter(|t| t.run == run).collect();
        out.sort_by_key(|t| t.index);
        out
    }

    /// Trials that produced metrics (the N of the deflated Sharpe ratio) and the sample
    /// variance of their per-bar Sharpe ratios.
    pub fn sharpe_dispersion(&self) -> (usize, f64) {
        let srs: Vec<f64> = self
            .trials
            .iter()
            .filter_map(|t| t.returns.as_ref().filter(|_| t.metrics.is_some()))
            .map(|r| r.sharpe)
            .collect();
        (srs.len(), super::stats::variance(&srs))
    }
}
