//! `POST /api/v1/backtest`: a short backtest run inside the Worker, with the engine's own
//! request runner (`keel_engine::backtest::request`) so it means exactly what `keel backtest`
//! means. Bars come inline (`bars`, Binance kline rows), are fetched from the configured exchange
//! or simulator (`from`/`to`) with the engine's paged, rate-limit-aware importer (`klines`), or
//! with `"source": "stored"` are read from the R2 history (`from`/`to`, imported beforehand by
//! `POST /api/v1/data/import`). A hard cap of [`MAX_BARS`] candles keeps the run inside a Worker's
//! CPU and memory budget: more is a 413 `too_many_bars` (run `keel backtest` locally for long
//! histories). Answers the JSON report, or with `?format=html` the self-contained HTML page.

use super::{history_store, klines};
use keel_durable_objects::http::{json, ApiError};
use keel_engine::backtest::report;
use keel_engine::backtest::request::{BacktestRequest, RequestError};
use keel_engine::history::store::{self, tf_label};
use keel_engine::history::{kline, Candle, Instrument};
use keel_engine::market::Timeframe;
use serde_json::Value;
use worker::{Env, Request, Response};

/// Most candles one API backtest may use (inline, fetched or read from R2), and one import call
/// may fetch.
pub const MAX_BARS: usize = 50_000;
/// Largest request body (50k inline rows of ~70 bytes, with room).
const MAX_BODY: usize = 6 * 1024 * 1024;

pub(super) fn unprocessable(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::unprocessable("invalid_backtest", message).with_field(field)
}

/// 413 `too_many_bars`: `requested` candles over the cap `max` of this kind of call (`what`).
pub(super) fn too_many(requested: usize, max: usize, what: &str) -> ApiError {
    ApiError::new(
        413,
        "too_many_bars",
        format!("{requested} candles requested; the API handles at most {max} {what} (use `keel data` / `keel backtest` for longer histories)"),
    )
    .with_detail(serde_json::json!({"max_bars": max, "requested": requested}))
}

/// Where a `from`/`to` backtest takes its candles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    /// Fetched from the configured exchange or simulator (the default).
    Exchange,
    /// Read from the R2 history.
    Stored,
}

impl Source {
    /// The body's `source` field (absent: the exchange).
    pub(super) fn parse(v: Option<Value>) -> Result<Self, ApiError> {
        match v {
            None | Some(Value::Null) => Ok(Source::Exchange),
            Some(Value::String(s)) if s == "exchange" => Ok(Source::Exchange),
            Some(Value::String(s)) if s == "stored" => Ok(Source::Stored),
            Some(_) => Err(unprocessable("source", "`exchange` (default) or `stored`")),
        }
    }
}

/// Handles `POST /api/v1/backtest` (the caller has already authenticated an admin).
///
/// # Errors
/// 405 for other methods, 413 for a body or range over the caps, 422 naming the bad field,
/// 502/503 when the exchange cannot serve the candles.
pub async fn handle(
    req: &mut Request,
    env: &Env,
    query: Option<&str>,
) -> Result<Response, ApiError> {
    let mut obj = super::post_object(req, MAX_BODY, "backtest", "/api/v1/backtest", || {
        unprocessable(".", "the body must be a JSON object")
    })
    .await?;
    let bars = obj.remove("bars");
    let from = obj.remove("from");
    let to = obj.remove("to");
    let source = Source::parse(obj.remove("source"))?;
    let request: BacktestRequest = serde_json::from_value(Value::Object(obj))
        .map_err(|e| unprocessable("body", e.to_string()))?;
    let tf = request
        .bar_timeframe()
        .map_err(|e| unprocessable("timeframe", e.to_string()))?;
    let feeds = request.feeds().map_err(|e| match e {
        RequestError::Field { field, reason } => unprocessable(field, reason),
        RequestError::Backtest(b) => ApiError::unprocessable("backtest_failed", b.to_string()),
    })?;
    if let Some(symbols) = feeds {
        return multi(env, &request, tf, symbols, bars, from, to, source, query).await;
    }
    let (candles, source_tf) = single(env, &request, tf, bars, from, to, source).await?;
    let rep = request.execute(&candles, source_tf).map_err(|e| match e {
        RequestError::Field { field, reason } => unprocessable(field, reason),
        RequestError::Backtest(b) => ApiError::unprocessable("backtest_failed", b.to_string()),
    })?;
    let html = query.is_some_and(|q| q.split('&').any(|kv| kv == "format=html"));
    if html {
        return Ok(Response::from_html(report::html(&rep))?);
    }
    Ok(json(200, &rep)?)
}

/// The candles of a single-instrument run (and their timeframe): inline `bars` rows, fetched
/// from the exchange (`from`/`to`) or read from the R2 history (`source: stored`), capped at
/// [`MAX_BARS`]. `POST /api/v1/optimize` loads its bars the same way.
pub(super) async fn single(
    env: &Env,
    request: &BacktestRequest,
    tf: Timeframe,
    bars: Option<Value>,
    from: Option<Value>,
    to: Option<Value>,
    source: Source,
) -> Result<(Vec<Candle>, Timeframe), ApiError> {
    Ok(match (bars, from, to) {
        (Some(_), None, None) if source == Source::Stored => {
            return Err(unprocessable(
                "source",
                "`stored` reads `from`/`to` from the R2 history, not inline `bars`",
            ))
        }
        (Some(Value::Array(rows)), None, None) => {
            if rows.len() > MAX_BARS {
                return Err(too_many(rows.len(), MAX_BARS, "per backtest"));
            }
            let candles =
                kline::parse_rows(&rows).map_err(|e| unprocessable("bars", e.to_string()))?;
            (candles, tf)
        }
        (Some(_), None, None) => return Err(unprocessable("bars", "must be an array of kline rows")),
        (None, Some(f), Some(t)) => {
            let (from_ms, to_ms) =
                klines::range(&f, &t).map_err(|e| unprocessable(e.field, e.reason))?;
            let inst = Instrument {
                exchange: request.exchange,
                market: request.market,
                symbol: request.symbol.clone(),
            };
            match source {
                Source::Stored => stored(env, &inst, tf, from_ms, to_ms).await?,
                Source::Exchange => {
                    let wanted = ((to_ms - from_ms) / tf.ms()) as usize;
                    if wanted > MAX_BARS {
                        return Err(too_many(wanted, MAX_BARS, "per backtest"));
                    }
                    (klines::fetch(env, inst, tf, from_ms, to_ms).await?, tf)
                }
            }
        }
        _ => {
            return Err(unprocessable(
                "bars",
                "give either `bars` (inline kline rows) or both `from` and `to` (fetched from the exchange, or read from R2 with \"source\": \"stored\")",
            ))
        }
    })
}

/// A multi-series spec's backtest: one history per instrument the spec reads, inline
/// (`"bars": {"BTCUSDT": [rows], "ETHUSDT": [rows]}`), fetched from the exchange or read from
/// the R2 history (`from`/`to`, per symbol, same exchange and market); [`MAX_BARS`] caps the
/// candles of all instruments together.
#[allow(clippy::too_many_arguments)]
async fn multi(
    env: &Env,
    request: &BacktestRequest,
    tf: Timeframe,
    symbols: Vec<keel_engine::ids::Symbol>,
    bars: Option<Value>,
    from: Option<Value>,
    to: Option<Value>,
    source: Source,
    query: Option<&str>,
) -> Result<Response, ApiError> {
    let mut history = std::collections::BTreeMap::new();
    let mut total = 0usize;
    match (bars, from, to) {
        (Some(Value::Object(mut by_symbol)), None, None) if source == Source::Exchange => {
            for symbol in symbols {
                let field = format!("bars.{symbol}");
                let Some(Value::Array(rows)) = by_symbol.remove(symbol.as_str()) else {
                    return Err(unprocessable(
                        &field,
                        "an array of kline rows for each symbol the spec reads",
                    ));
                };
                total += rows.len();
                if total > MAX_BARS {
                    return Err(too_many(total, MAX_BARS, "per backtest"));
                }
                let candles =
                    kline::parse_rows(&rows).map_err(|e| unprocessable(&field, e.to_string()))?;
                history.insert(symbol, (candles, tf));
            }
        }
        (Some(_), None, None) => {
            return Err(unprocessable(
                "bars",
                "a multi-series spec takes an object of kline rows by symbol ({\"BTCUSDT\": [...], ...}), or `from`/`to`",
            ))
        }
        (None, Some(f), Some(t)) => {
            let (from_ms, to_ms) =
                klines::range(&f, &t).map_err(|e| unprocessable(e.field, e.reason))?;
            for symbol in symbols {
                let inst = Instrument {
                    exchange: request.exchange,
                    market: request.market,
                    symbol: symbol.clone(),
                };
                let got = match source {
                    Source::Stored => stored(env, &inst, tf, from_ms, to_ms).await?,
                    Source::Exchange => {
                        let wanted = ((to_ms - from_ms) / tf.ms()) as usize;
                        if total + wanted > MAX_BARS {
                            return Err(too_many(total + wanted, MAX_BARS, "per backtest"));
                        }
                        (klines::fetch(env, inst, tf, from_ms, to_ms).await?, tf)
                    }
                };
                total += got.0.len();
                if total > MAX_BARS {
                    return Err(too_many(total, MAX_BARS, "per backtest"));
                }
                history.insert(symbol, got);
            }
        }
        _ => {
            return Err(unprocessable(
                "bars",
                "give either `bars` (kline rows by symbol) or both `from` and `to` (fetched from the exchange, or read from R2 with \"source\": \"stored\")",
            ))
        }
    }
    let rep = request.execute_multi(&history).map_err(|e| match e {
        RequestError::Field { field, reason } => unprocessable(field, reason),
        RequestError::Backtest(b) => ApiError::unprocessable("backtest_failed", b.to_string()),
    })?;
    if query.is_some_and(|q| q.split('&').any(|kv| kv == "format=html")) {
        return Ok(Response::from_html(report::html(&rep))?);
    }
    Ok(json(200, &rep)?)
}

/// Stored candles of `[from_ms, to_ms)` for a run at `tf`: the coarsest stored timeframe that
/// divides `tf` (resampled up by the engine), capped at [`MAX_BARS`] candles read.
async fn stored(
    env: &Env,
    inst: &Instrument,
    tf: Timeframe,
    from_ms: i64,
    to_ms: i64,
) -> Result<(Vec<Candle>, Timeframe), ApiError> {
    let bucket = history_store::bucket(env)?;
    let series = format!(
        "{} {} {}",
        inst.exchange_name(),
        inst.market_name(),
        inst.symbol.as_str()
    );
    let label = tf_label(tf).unwrap_or("?");
    let stored_tfs = history_store::stored_timeframes(&bucket, inst).await?;
    let source = store::source_timeframe(&stored_tfs, tf).ok_or_else(|| {
        unprocessable(
            "from",
            format!("nothing stored for {series} at or below {label}: import it first (POST /api/v1/data/import)"),
        )
    })?;
    let wanted = ((to_ms - from_ms) / source.ms()) as usize;
    if wanted > MAX_BARS {
        return Err(too_many(wanted, MAX_BARS, "per backtest"));
    }
    let candles = history_store::load(&bucket, inst, source, from_ms, to_ms).await?;
    if candles.is_empty() {
        return Err(unprocessable(
            "from",
            format!("no stored {series} {} candles in [from, to): import the range first (POST /api/v1/data/import)", tf_label(source).unwrap_or("?")),
        ));
    }
    Ok((candles, source))
}
