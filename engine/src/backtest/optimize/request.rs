//! An optimisation described as data: a [`BacktestRequest`] (market, fees, capital, strategy)
//! and a [`SearchSpec`], run on exact candles. The CLI (`keel optimize`) and the admin API
//! (`POST /api/v1/optimize`) share it, so a search means the same in both and each trial is the
//! very backtest `keel backtest` would run with its parameters.

use super::ledger::{Trial, TrialLedger};
use super::search::{search, Problem, Progress, SearchReport, SearchSpec};
use super::space::Range;
use super::OptimizeError;
use crate::backtest::request::{BacktestRequest, RequestError};
use crate::history::store;
use crate::history::Candle;
use crate::market::Timeframe;
use crate::strategy::Registry;

fn field(field: &'static str, reason: impl std::fmt::Display) -> OptimizeError {
    OptimizeError::Field {
        field,
        reason: reason.to_string(),
    }
}

impl From<RequestError> for OptimizeError {
    fn from(e: RequestError) -> Self {
        match e {
            RequestError::Field { field, reason } => OptimizeError::Field { field, reason },
            RequestError::Backtest(b) => OptimizeError::Backtest(b),
        }
    }
}

/// Runs the search `spec` for the registered strategy of `req` on `candles` stored at `source`
/// (resampled to the request's timeframe). The request's `params` pin those parameters (a
/// one-value range) unless `spec.space` gives them a range. New trials are appended to `ledger`.
///
/// # Errors
/// [`OptimizeError`] naming the field: a spec strategy (only registered strategies are searched),
/// a bad timeframe, no bars, a bad space or setting, a run already in the ledger without `resume`.
pub fn execute(
    req: &BacktestRequest,
    spec: &SearchSpec,
    candles: &[Candle],
    source: Timeframe,
    ledger: &mut TrialLedger,
    resume: bool,
    on_batch: &mut dyn FnMut(&Progress, &[Trial]),
) -> Result<SearchReport, OptimizeError> {
    if req.spec.is_some() {
        return Err(field(
            "spec",
            "optimize searches registered strategies (give `strategy`)",
        ));
    }
    let tf = req.bar_timeframe()?;
    let bars = store::bars(candles, source, tf).map_err(|e| field("timeframe", e))?;
    if bars.is_empty() {
        return Err(field("bars", "no candles in the requested range"));
    }
    let config = req.config(candles)?;
    let registry = Registry::builtin();
    let name = req.strategy_name();
    if registry.describe(name).is_none() {
        return Err(field(
            "strategy",
            format!(
                "unknown strategy {name:?}; known: {}",
                registry.names().join(", ")
            ),
        ));
    }
    let mut spec = spec.clone();
    for (k, v) in &req.params {
        spec.space.entry(k.clone()).or_insert(Range {
            min: *v,
            max: *v,
            step: None,
            integer: false,
            log: false,
        });
    }
    let problem = Problem {
        config: &config,
        registry: &registry,
        strategy: name,
        bars: &bars,
    };
    search(&problem, &spec, ledger, resume, on_batch)
}
