//! Parameter search: a grid over parameter values, each point backtested on an in-sample span
//! and, untouched by the choice, on the out-of-sample span that follows (walk-forward split).
//! Both are reported so over-fitting shows as the gap between them.

use super::{run, BacktestConfig, BacktestError, Bar, Metrics};
use crate::strategy::{Registry, StrategyError};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;

/// Every combination of the given values (cartesian product), in a stable order.
pub fn grid(ranges: &BTreeMap<String, Vec<f64>>) -> Vec<BTreeMap<String, f64>> {
    let mut out = vec![BTreeMap::new()];
    for (name, values) in ranges {
        out = out
            .into_iter()
            .flat_map(|p| {
                values.iter().map(move |v| {
                    let mut q = p.clone();
                    q.insert(name.clone(), *v);
                    q
                })
            })
            .collect();
    }
    out
}

/// One grid point's results.
#[derive(Debug, Clone, Serialize)]
pub struct GridPoint {
    /// Parameters.
    pub params: BTreeMap<String, f64>,
    /// Strategy version id.
    pub strategy: String,
    /// In-sample ratios.
    pub in_sample: Metrics,
    /// In-sample net P&L (exact).
    pub in_sample_net: Decimal,
    /// Out-of-sample ratios.
    pub out_of_sample: Metrics,
    /// Out-of-sample net P&L (exact).
    pub out_of_sample_net: Decimal,
}

/// A walk-forward search: points sorted by in-sample Sharpe (best first); invalid parameter
/// combinations (e.g. fast ≥ slow) are listed apart, not silently dropped.
#[derive(Debug, Clone, Serialize)]
pub struct WalkForward {
    /// Bars in the in-sample span.
    pub in_sample_bars: usize,
    /// Results.
    pub points: Vec<GridPoint>,
    /// Parameter sets the strategy refused, with the reason.
    pub invalid: Vec<(BTreeMap<String, f64>, String)>,
}

/// Error of a walk-forward search.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OptimizeError {
    /// `in_sample` fraction outside (0, 1) or leaving a span empty.
    #[error("in_sample: {0} leaves an empty span")]
    Split(f64),
    /// A backtest failed.
    #[error(transparent)]
    Backtest(#[from] BacktestError),
    /// Unknown strategy.
    #[error(transparent)]
    Strategy(#[from] StrategyError),
}

/// Runs `strategy` for every point of `ranges` on the first `in_sample` fraction of `bars` and
/// on the rest (fresh strategy state and capital for each span).
///
/// # Errors
/// [`OptimizeError`] for a bad split, an unknown strategy or a failed backtest.
pub fn walk_forward(
    config: &BacktestConfig,
    registry: &Registry,
    strategy: &str,
    ranges: &BTreeMap<String, Vec<f64>>,
    bars: &[Bar],
    in_sample: f64,
) -> Result<WalkForward, OptimizeError> {
    let cut = (bars.len() as f64 * in_sample).floor() as usize;
    if !(in_sample > 0.0 && in_sample < 1.0) || cut == 0 || cut >= bars.len() {
        return Err(OptimizeError::Split(in_sample));
    }
    registry
        .describe(strategy)
        .ok_or_else(|| StrategyError::Unknown(strategy.to_string()))?;
    let (is, oos) = bars.split_at(cut);
    let mut points = Vec::new();
    let mut invalid = Vec::new();
    for params in grid(ranges) {
        let mut a = match registry.build(strategy, &params) {
            Ok(s) => s,
            Err(e) => {
                invalid.push((params, e.to_string()));
                continue;
            }
        };
        let ra = run(config, a.as_mut(), is)?;
        let mut b = registry.build(strategy, &params)?;
        let rb = run(config, b.as_mut(), oos)?;
        points.push(GridPoint {
            params,
            strategy: ra.strategy,
            in_sample: ra.metrics,
            in_sample_net: ra.pnl.net,
            out_of_sample: rb.metrics,
            out_of_sample_net: rb.pnl.net,
        });
    }
    points.sort_by(|x, y| y.in_sample.sharpe.total_cmp(&x.in_sample.sharpe));
    Ok(WalkForward {
        in_sample_bars: cut,
        points,
        invalid,
    })
}
