//! Parameter search: a grid over parameter values, each point backtested on an in-sample span
//! and, untouched by the choice, on the out-of-sample span that follows (walk-forward split).
//! Both are reported so over-fitting shows as the gap between them.
//!
//! The research workbench (issue 21) lives in the submodules: typed ranges and the grid, random
//! and TPE samplers ([`space`]), the search with objectives, constraints and walk-forward
//! ([`search`]), the trial ledger ([`ledger`]), the deflated Sharpe ratio and the PBO
//! ([`stats`]), and the request runner the CLI and the admin API share ([`request`]).

mod fast;
pub mod ledger;
pub mod request;
pub mod search;
#[cfg(test)]
mod search_tests;
pub mod space;
pub mod stats;

use super::{run, BacktestConfig, BacktestError, Metrics};
use crate::market::Bar;
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
    /// A bad search space.
    #[error(transparent)]
    Space(#[from] space::SpaceError),
    /// A setting with an unusable value.
    #[error("{field}: {reason}")]
    Field {
        /// Field name.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// The run already has trials in the ledger: resume it (or change the seed).
    #[error("run {run} already has {trials} trials in the ledger: resume it or change the seed")]
    AlreadyRun {
        /// Run id.
        run: String,
        /// Its trials.
        trials: usize,
    },
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
    let combos = grid(ranges);
    // Each point is independent (fresh strategy, ledger and venue), so points run in parallel
    // natively; results come back in grid order, so the report does not depend on threads.
    let results = par_map(&combos, |params| -> Result<_, OptimizeError> {
        let mut a = match registry.build(strategy, params) {
            Ok(s) => s,
            Err(e) => return Ok(Err(e.to_string())),
        };
        let ra = run(config, a.as_mut(), is)?;
        let mut b = registry.build(strategy, params)?;
        let rb = run(config, b.as_mut(), oos)?;
        Ok(Ok(GridPoint {
            params: params.clone(),
            strategy: ra.strategy,
            in_sample: ra.metrics,
            in_sample_net: ra.pnl.net,
            out_of_sample: rb.metrics,
            out_of_sample_net: rb.pnl.net,
        }))
    });
    let mut points = Vec::new();
    let mut invalid = Vec::new();
    for (params, result) in combos.into_iter().zip(results) {
        match result? {
            Ok(point) => points.push(point),
            Err(reason) => invalid.push((params, reason)),
        }
    }
    points.sort_by(|x, y| y.in_sample.sharpe.total_cmp(&x.in_sample.sharpe));
    Ok(WalkForward {
        in_sample_bars: cut,
        points,
        invalid,
    })
}

/// Worker threads for a search: every core natively; one on wasm32 (a Worker has no threads).
fn threads() -> usize {
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }
    #[cfg(target_arch = "wasm32")]
    {
        1
    }
}

/// `items.map(f)` in order, split into contiguous chunks over [`threads`] scoped threads
/// (each item is a whole backtest: chunking costs nothing measurable).
pub(crate) fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let n = threads().min(items.len());
    if n <= 1 {
        return items.iter().map(f).collect();
    }
    par_map_threads(items, n, &f)
}

#[cfg(not(target_arch = "wasm32"))]
fn par_map_threads<T: Sync, R: Send>(
    items: &[T],
    n: usize,
    f: &(impl Fn(&T) -> R + Sync),
) -> Vec<R> {
    // Interleaved assignment (item i on thread i % n) balances grids whose cost grows along
    // an axis; the results are put back in item order.
    let mut slots: Vec<Option<R>> = std::iter::repeat_with(|| None).take(items.len()).collect();
    let parts: Vec<Vec<(usize, R)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .map(|t| {
                scope.spawn(move || {
                    items
                        .iter()
                        .enumerate()
                        .skip(t)
                        .step_by(n)
                        .map(|(i, x)| (i, f(x)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    for (i, r) in parts.into_iter().flatten() {
        slots[i] = Some(r);
    }
    slots.into_iter().flatten().collect()
}

#[cfg(target_arch = "wasm32")]
fn par_map_threads<T: Sync, R: Send>(
    items: &[T],
    _n: usize,
    f: &(impl Fn(&T) -> R + Sync),
) -> Vec<R> {
    items.iter().map(f).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn par_map_keeps_item_order() {
        let items: Vec<u64> = (0..101).collect();
        let out = par_map(&items, |x| x * x);
        assert_eq!(out, items.iter().map(|x| x * x).collect::<Vec<_>>());
        assert_eq!(par_map_threads(&items, 3, &|x: &u64| x + 1)[100], 101);
        assert!(par_map(&Vec::<u64>::new(), |x| *x).is_empty());
    }
}
