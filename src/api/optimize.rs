//! `POST /api/v1/optimize`: a bounded parameter search inside the Worker, with the engine's own
//! runner (`keel_engine::backtest::optimize::request`) so it means exactly what `keel optimize`
//! means. The body is a backtest body (`POST /api/v1/backtest`: strategy, market, fees, `bars`
//! or `from`/`to`, `source`) plus an `optimize` object (sampler, trials, seed, objective,
//! constraints, space, walk_forward…). Bounded to fit a Worker's CPU budget: at most
//! [`MAX_TRIALS`] trials over all windows and [`MAX_WORK`] bar-evaluations (trials × bars);
//! longer searches run with `keel optimize`. The trial ledger is not stored: the answer lists
//! the run's best trials with the deflated Sharpe ratio (N = this run's trials) and the PBO.

use super::backtest::{single, too_many, unprocessable, Source, MAX_BARS};
use keel_durable_objects::http::{json, ApiError};
use keel_engine::backtest::optimize::ledger::TrialLedger;
use keel_engine::backtest::optimize::request::execute;
use keel_engine::backtest::optimize::search::SearchSpec;
use keel_engine::backtest::optimize::OptimizeError;
use keel_engine::backtest::request::BacktestRequest;
use serde_json::Value;
use worker::{Env, Request, Response};

/// Most trials one API search may run (over all walk-forward windows).
pub const MAX_TRIALS: usize = 200;
/// Most bar-evaluations (trials × bars) one API search may run.
pub const MAX_WORK: usize = 2_000_000;
/// Largest request body (as a backtest's: inline bars).
const MAX_BODY: usize = 6 * 1024 * 1024;

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::unprocessable("invalid_optimize", message).with_field(field)
}

/// Handles `POST /api/v1/optimize` (the caller has already authenticated).
///
/// # Errors
/// 405 for other methods, 413 for a body, range or search over the caps, 422 naming the bad
/// field, 502/503 when the exchange cannot serve the candles.
pub async fn handle(req: &mut Request, env: &Env) -> Result<Response, ApiError> {
    let mut obj = super::post_object(req, MAX_BODY, "optimize", "/api/v1/optimize", || {
        invalid(".", "the body must be a JSON object")
    })
    .await?;
    let spec: SearchSpec = match obj.remove("optimize") {
        None | Some(Value::Null) => SearchSpec::default(),
        Some(v) => serde_json::from_value(v).map_err(|e| invalid("optimize", e.to_string()))?,
    };
    spec.check().map_err(|e| match e {
        OptimizeError::Field { field, reason } => invalid(&format!("optimize.{field}"), reason),
        other => invalid("optimize", other.to_string()),
    })?;
    // CSCV over 20 blocks is 184,756 splits per trial set: more CPU than a Worker has.
    if spec.cscv_blocks > 16 {
        return Err(invalid(
            "optimize.cscv_blocks",
            "at most 16 blocks here (12,870 splits); `keel optimize` takes up to 20",
        ));
    }
    let runs = spec.walk_forward.map_or(1, |w| w.windows);
    let trials = spec.trials.saturating_mul(runs);
    if trials > MAX_TRIALS {
        return Err(ApiError::new(
            413,
            "too_many_trials",
            format!("{trials} trials requested; the API runs at most {MAX_TRIALS} per search (use `keel optimize` for larger searches)"),
        )
        .with_detail(serde_json::json!({"max_trials": MAX_TRIALS, "requested": trials})));
    }
    let bars = obj.remove("bars");
    let from = obj.remove("from");
    let to = obj.remove("to");
    let source = Source::parse(obj.remove("source"))?;
    let request: BacktestRequest = serde_json::from_value(Value::Object(obj))
        .map_err(|e| unprocessable("body", e.to_string()))?;
    if request.spec.is_some() {
        return Err(invalid(
            "spec",
            "optimize searches registered strategies (give `strategy`)",
        ));
    }
    let tf = request
        .bar_timeframe()
        .map_err(|e| unprocessable("timeframe", e.to_string()))?;
    let (candles, source_tf) = single(env, &request, tf, bars, from, to, source).await?;
    // Bars at the run's timeframe are at most the candles read (resampling only merges).
    let work = trials.saturating_mul(candles.len().min(MAX_BARS));
    if work > MAX_WORK {
        return Err(too_many(
            candles.len(),
            MAX_WORK / trials.max(1),
            &format!("for {trials} trials (the API evaluates at most {MAX_WORK} trial-bars)"),
        ));
    }
    let mut ledger = TrialLedger::default();
    let rep = execute(
        &request,
        &spec,
        &candles,
        source_tf,
        &mut ledger,
        false,
        &mut |_, _| {},
    )
    .map_err(|e| match e {
        OptimizeError::Field { field, reason } => invalid(field, reason),
        OptimizeError::Space(s) => invalid("optimize.space", s.to_string()),
        OptimizeError::Strategy(s) => invalid("strategy", s.to_string()),
        other => ApiError::unprocessable("optimize_failed", other.to_string()),
    })?;
    Ok(json(200, &rep)?)
}
