//! `POST /api/v1/backtest`: a short backtest run inside the Worker, with the engine's own
//! request runner (`keel_engine::backtest::request`) so it means exactly what `keel backtest`
//! means. Bars come inline (`bars`, Binance kline rows) or are fetched from the configured
//! exchange or simulator (`from`/`to`) with the engine's paged, rate-limit-aware importer. A hard
//! cap of [`MAX_BARS`] candles keeps the run inside a Worker's CPU and memory budget: more is a
//! 413 `too_many_bars` (run `keel backtest` locally for long histories). Answers the JSON report,
//! or with `?format=html` the self-contained HTML page.

use crate::env;
use keel_durable_objects::http::{json, ApiError};
use keel_engine::backtest::report;
use keel_engine::backtest::request::{BacktestRequest, RequestError};
use keel_engine::history::import::{ImportPlan, Importer, Next};
use keel_engine::history::kline;
use keel_engine::history::store::parse_date;
use keel_engine::history::{Candle, Instrument};
use keel_engine::model::{Exchange, Market};
use keel_engine::venue::http::HttpResponse;
use serde_json::Value;
use std::time::Duration;
use worker::{Env, Fetch, Method, Request, RequestInit, Response};

/// Most candles one API backtest may use (inline or fetched).
pub const MAX_BARS: usize = 50_000;
/// Largest request body (50k inline rows of ~70 bytes, with room).
const MAX_BODY: usize = 6 * 1024 * 1024;
/// Longest total rate-limit wait while fetching before answering 503.
const MAX_WAIT_MS: i64 = 15_000;

fn now_ms() -> i64 {
    worker::Date::now().as_millis() as i64
}

fn unprocessable(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::unprocessable("invalid_backtest", message).with_field(field)
}

fn too_many(n: usize) -> ApiError {
    ApiError::new(
        413,
        "too_many_bars",
        format!("{n} candles requested; the API runs at most {MAX_BARS} (use `keel backtest` for longer histories)"),
    )
    .with_detail(serde_json::json!({"max_bars": MAX_BARS, "requested": n}))
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
    if req.method() != Method::Post {
        return Err(ApiError::new(
            405,
            "method_not_allowed",
            "use POST /api/v1/backtest",
        ));
    }
    let bytes = super::read_capped(req, MAX_BODY, "backtest").await?;
    let mut body: Value = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request("invalid_json", format!("request body: {e}")))?;
    let obj = body
        .as_object_mut()
        .ok_or_else(|| unprocessable(".", "the body must be a JSON object"))?;
    let bars = obj.remove("bars");
    let from = obj.remove("from");
    let to = obj.remove("to");
    let request: BacktestRequest =
        serde_json::from_value(body).map_err(|e| unprocessable("body", e.to_string()))?;
    let tf = request
        .bar_timeframe()
        .map_err(|e| unprocessable("timeframe", e.to_string()))?;
    let candles = match (bars, from, to) {
        (Some(Value::Array(rows)), None, None) => {
            if rows.len() > MAX_BARS {
                return Err(too_many(rows.len()));
            }
            kline::parse_rows(&rows).map_err(|e| unprocessable("bars", e.to_string()))?
        }
        (Some(_), None, None) => return Err(unprocessable("bars", "must be an array of kline rows")),
        (None, Some(f), Some(t)) => {
            let date = |field: &'static str, v: &Value| match v {
                Value::String(s) => parse_date(field, s).map_err(|e| unprocessable(field, e.to_string())),
                Value::Number(n) => n.as_i64().ok_or_else(|| unprocessable(field, "not an integer")),
                _ => Err(unprocessable(field, "a date string or epoch ms")),
            };
            let (from_ms, to_ms) = (date("from", &f)?, date("to", &t)?);
            if to_ms <= from_ms {
                return Err(unprocessable("to", "must be after from"));
            }
            let wanted = ((to_ms - from_ms) / tf.ms()) as usize;
            if wanted > MAX_BARS {
                return Err(too_many(wanted));
            }
            let inst = Instrument {
                exchange: request.exchange,
                market: request.market,
                symbol: request.symbol.clone(),
            };
            fetch(env, inst, tf, from_ms, to_ms).await?
        }
        _ => {
            return Err(unprocessable(
                "bars",
                "give either `bars` (inline kline rows) or both `from` and `to` (fetched from the exchange)",
            ))
        }
    };
    let rep = request.execute(&candles, tf).map_err(|e| match e {
        RequestError::Field { field, reason } => unprocessable(field, reason),
        RequestError::Backtest(b) => ApiError::unprocessable("backtest_failed", b.to_string()),
    })?;
    let html = query.is_some_and(|q| q.split('&').any(|kv| kv == "format=html"));
    if html {
        return Ok(Response::from_html(report::html(&rep))?);
    }
    Ok(json(200, &rep)?)
}

/// Base URL for klines: the simulator when configured, else `KEEL_EXCHANGE_URLS`
/// (`{exchange}_{market}` or `{exchange}` keys), else the public endpoint.
fn base_url(env: &Env, inst: &Instrument) -> String {
    if let Some(sim) = env::get(env, env::EXCHANGE_SIM_URL) {
        return sim;
    }
    let (ex, mk) = (inst.exchange_name(), inst.market_name());
    let public = match (inst.exchange, inst.market) {
        (Exchange::Binance, Market::Spot) => "https://api.binance.com",
        (Exchange::Binance, Market::Linear) => "https://fapi.binance.com",
        (Exchange::Bybit, _) => "https://api.bybit.com",
    };
    let map: serde_json::Map<String, Value> = env::get(env, env::EXCHANGE_URLS)
        .and_then(|raw| serde_json::from_str(&raw).ok())
        .unwrap_or_default();
    if let Some(u) = map.get(&format!("{ex}_{mk}")).and_then(Value::as_str) {
        return u.to_string();
    }
    match map.get(ex).and_then(Value::as_str) {
        // A Binance spot host does not serve /fapi: only a non-Binance host (simulator, proxy)
        // stands in for both markets.
        Some(u)
            if !(inst.exchange == Exchange::Binance
                && inst.market == Market::Linear
                && u.contains("binance.com")) =>
        {
            u.to_string()
        }
        _ => public.to_string(),
    }
}

async fn fetch(
    env: &Env,
    inst: Instrument,
    tf: keel_engine::backtest::Timeframe,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<Candle>, ApiError> {
    let base = base_url(env, &inst);
    let mut imp = Importer::new(
        ImportPlan {
            instrument: inst,
            timeframe: tf,
            from_ms,
            to_ms,
            base_url: base,
        },
        None,
    );
    let mut candles = Vec::new();
    let mut waited = 0i64;
    let upstream =
        |e: String| ApiError::new(502, "exchange_error", format!("fetching candles: {e}"));
    loop {
        let now = now_ms();
        match imp
            .next(now)
            .map_err(|e| unprocessable("timeframe", e.to_string()))?
        {
            Next::Done => break,
            Next::Wait { until_ms } => {
                let ms = (until_ms - now).max(1);
                waited += ms;
                if waited > MAX_WAIT_MS {
                    return Err(ApiError::unavailable("exchange_rate_limited", "the exchange's rate limit would make this backtest wait too long; retry later"));
                }
                worker::Delay::from(Duration::from_millis(ms as u64)).await;
            }
            Next::Fetch(http) => {
                let mut init = RequestInit::new();
                init.with_method(Method::Get);
                let req = Request::new_with_init(&http.url(), &init)?;
                match Fetch::Request(req).send().await {
                    Ok(mut resp) => {
                        let headers = resp.headers().entries().collect();
                        let answer = HttpResponse {
                            status: resp.status_code(),
                            headers,
                            body: resp.text().await.unwrap_or_default(),
                            received_ms: now_ms(),
                        };
                        if let Some(page) = imp
                            .on_response(&answer)
                            .map_err(|e| upstream(e.to_string()))?
                        {
                            candles.extend(page.candles);
                        }
                    }
                    Err(e) => imp
                        .on_transport_error(&e.to_string(), now_ms())
                        .map_err(|e| upstream(e.to_string()))?,
                }
            }
        }
    }
    Ok(candles)
}
