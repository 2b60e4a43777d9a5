//! Historical candles in R2 through the admin API:
//!
//! - `POST /api/v1/data/import` fetches `[from, to)` from the configured exchange or simulator
//!   (the backtest route's fetch loop) and merges it into the `KEELBARS` month objects of the
//!   `HISTORY` bucket. One call imports at most [`MAX_BARS`] candles (or `max_bars`, to keep calls
//!   short); the answer's `next_from` is where the next call starts (`null` once the range end or
//!   the present is reached). Re-importing a range replaces candles at the same open times, so it
//!   is idempotent.
//! - `GET /api/v1/data?exchange=&market=&symbol=&timeframe=&from=&to=` answers the stored count
//!   and the gap report of a range.
//!
//! What is stored where, and what a call covers, is planned by `keel_engine::history`; this module
//! only parses the request and moves candles between the fetch loop and the store.

use super::backtest::{too_many, MAX_BARS};
use super::{history_store, klines, ok, Call};
use keel_durable_objects::http::ApiError;
use keel_engine::history::import;
use keel_engine::history::store::{gap_report, tf_label};
use keel_engine::history::Instrument;
use keel_engine::ids::Symbol;
use keel_engine::market::Timeframe;
use keel_engine::model::{Exchange, Market};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use worker::{Method, Response};

/// Most candles one `GET /api/v1/data` reads: a Worker has 128 MB, a decoded candle takes about
/// 88 bytes and is held twice while the range is sliced out of its months.
const MAX_REPORT_BARS: usize = 4 * MAX_BARS;

/// Which series: the request fields besides the range (and `max_bars`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Series {
    exchange: Exchange,
    market: Market,
    symbol: Symbol,
    #[serde(default = "one_minute")]
    timeframe: String,
}

fn one_minute() -> String {
    "1m".to_string()
}

/// A parsed request: series and range.
#[derive(Debug)]
struct Target {
    inst: Instrument,
    tf: Timeframe,
    label: &'static str,
    from_ms: i64,
    to_ms: i64,
}

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::unprocessable("invalid_data_request", message).with_field(field)
}

/// Series and range out of a JSON body or a query string's fields.
fn target(mut obj: Map<String, Value>) -> Result<Target, ApiError> {
    let (from, to) = (obj.remove("from"), obj.remove("to"));
    let series: Series =
        serde_json::from_value(Value::Object(obj)).map_err(|e| invalid("body", e.to_string()))?;
    let tf =
        Timeframe::parse(&series.timeframe).map_err(|e| invalid("timeframe", e.to_string()))?;
    let label = tf_label(tf).map_err(|e| invalid("timeframe", e.to_string()))?;
    let (from, to) = match (from, to) {
        (Some(f), Some(t)) => (f, t),
        (None, _) => return Err(invalid("from", "required (YYYY-MM-DD or epoch ms)")),
        (_, None) => return Err(invalid("to", "required (YYYY-MM-DD or epoch ms)")),
    };
    let (from_ms, to_ms) = klines::range(&from, &to).map_err(|e| invalid(e.field, e.reason))?;
    Ok(Target {
        inst: Instrument {
            exchange: series.exchange,
            market: series.market,
            symbol: series.symbol,
        },
        tf,
        label,
        from_ms,
        to_ms,
    })
}

/// The series fields of an answer.
fn series_json(t: &Target) -> Value {
    json!({
        "exchange": t.inst.exchange_name(),
        "market": t.inst.market_name(),
        "symbol": t.inst.symbol.as_str(),
        "timeframe": t.label,
    })
}

/// Routes `/api/v1/data…` (the caller has authenticated; writes need the admin role).
///
/// # Errors
/// Any [`ApiError`]: 404 for other paths, 413/422 for the request, 502/503 from the exchange or R2.
pub async fn route(ctx: &Call<'_>, method: &Method, segs: &[&str]) -> Result<Response, ApiError> {
    match (method, segs) {
        (Method::Get, []) => report(ctx).await,
        (Method::Post, ["import"]) => {
            ctx.principal.require_admin()?;
            import(ctx).await
        }
        _ => Err(ApiError::not_found("no_route", "no such API route")),
    }
}

async fn import(ctx: &Call<'_>) -> Result<Response, ApiError> {
    let Value::Object(mut obj) = ctx.body.clone() else {
        return Err(invalid(".", "the body must be a JSON object"));
    };
    let max_bars = match obj.remove("max_bars") {
        None | Some(Value::Null) => MAX_BARS,
        Some(v) => {
            let n = v
                .as_u64()
                .filter(|n| *n >= 1)
                .ok_or_else(|| invalid("max_bars", "a positive integer"))?;
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            if n > MAX_BARS {
                return Err(too_many(n, MAX_BARS, "per import call"));
            }
            n
        }
    };
    let t = target(obj)?;
    let chunk = import::chunk(t.from_ms, t.to_ms, t.tf, max_bars, klines::now_ms())
        .map_err(|e| invalid("to", e.to_string()))?;
    let bucket = history_store::bucket(ctx.env)?;
    let candles = klines::fetch(ctx.env, t.inst.clone(), t.tf, chunk.from_ms, chunk.to_ms).await?;
    let written = history_store::store(&bucket, &t.inst, t.tf, &candles).await?;
    let months_written = written.len();
    // The gap report reads the months just written from memory, R2 only for the others.
    let stored = if chunk.closed_to_ms > chunk.from_ms {
        let (from, to) = (chunk.from_ms, chunk.closed_to_ms);
        history_store::load_known(&bucket, &t.inst, t.tf, from, to, written).await?
    } else {
        Vec::new()
    };
    let mut out = series_json(&t);
    out["imported"] = json!(candles.len());
    out["months_written"] = json!(months_written);
    out["next_from"] = json!(chunk.next_from_ms);
    out["gaps"] = json!(gap_report(&stored, t.tf, chunk.from_ms, chunk.closed_to_ms));
    ok(200, &out)
}

async fn report(ctx: &Call<'_>) -> Result<Response, ApiError> {
    let mut obj = Map::new();
    let query = ctx.query.as_deref().unwrap_or_default();
    for (k, v) in worker::url::form_urlencoded::parse(query.as_bytes()) {
        obj.insert(k.into_owned(), Value::String(v.into_owned()));
    }
    let t = target(obj)?;
    let wanted = usize::try_from((t.to_ms - t.from_ms) / t.tf.ms()).unwrap_or(usize::MAX);
    if wanted > MAX_REPORT_BARS {
        return Err(too_many(wanted, MAX_REPORT_BARS, "per data query"));
    }
    let bucket = history_store::bucket(ctx.env)?;
    let candles = history_store::load(&bucket, &t.inst, t.tf, t.from_ms, t.to_ms).await?;
    let mut out = series_json(&t);
    out["from"] = json!(t.from_ms);
    out["to"] = json!(t.to_ms);
    out["count"] = json!(candles.len());
    out["gaps"] = json!(gap_report(&candles, t.tf, t.from_ms, t.to_ms));
    ok(200, &out)
}
