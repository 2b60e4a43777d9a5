//! Candles fetched from the configured exchange or simulator, for the backtest route (`from`/`to`)
//! and the R2 import (`POST /api/v1/data/import`): one fetch loop driving the engine's paged,
//! rate-limit-aware [`Importer`], so both routes page, wait and fail the same way.

use crate::env;
use keel_durable_objects::http::ApiError;
use keel_engine::history::import::{ImportPlan, Importer, Next};
use keel_engine::history::store::parse_date;
use keel_engine::history::{Candle, Instrument};
use keel_engine::market::Timeframe;
use keel_engine::model::{Exchange, Market};
use keel_engine::venue::http::HttpResponse;
use serde_json::Value;
use std::time::Duration;
use worker::{Env, Fetch, Method, Request, RequestInit};

/// Longest total rate-limit wait while fetching before answering 503: a Worker request should
/// not sit idle for minutes, the caller can retry later.
const MAX_WAIT_MS: i64 = 15_000;

/// The Worker's clock in epoch ms.
pub fn now_ms() -> i64 {
    worker::Date::now().as_millis() as i64
}

/// Why candles could not be fetched; mapped to HTTP once, in `From<FetchError> for ApiError`.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The venue serves no such interval (422 naming `timeframe`).
    #[error("{0}")]
    Timeframe(String),
    /// The exchange refused or garbled the kline requests (502).
    #[error("fetching candles: {0}")]
    Exchange(String),
    /// The rate limit would make the request wait longer than [`MAX_WAIT_MS`] (503).
    #[error("the exchange's rate limit would make this request wait too long; retry later")]
    RateLimited,
    /// The Worker could not build a request (500).
    #[error(transparent)]
    Worker(#[from] worker::Error),
}

impl From<FetchError> for ApiError {
    fn from(e: FetchError) -> Self {
        match e {
            FetchError::Timeframe(m) => {
                ApiError::unprocessable("unsupported_timeframe", m).with_field("timeframe")
            }
            FetchError::Exchange(_) => ApiError::new(502, "exchange_error", e.to_string()),
            FetchError::RateLimited => {
                ApiError::unavailable("exchange_rate_limited", e.to_string())
            }
            FetchError::Worker(w) => ApiError::internal(w.to_string()),
        }
    }
}

/// A request field with an unusable value; each route maps it to its own 422 code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Field name.
    pub field: &'static str,
    /// Why.
    pub reason: String,
}

fn field(field: &'static str, reason: impl Into<String>) -> FieldError {
    FieldError {
        field,
        reason: reason.into(),
    }
}

/// A date field: `YYYY-MM-DD[THH:MM[:SS]Z]` or epoch ms, as a string or a JSON integer.
fn date(name: &'static str, v: &Value) -> Result<i64, FieldError> {
    match v {
        Value::String(s) => parse_date(name, s).map_err(|e| field(name, e.to_string())),
        Value::Number(n) => n.as_i64().ok_or_else(|| field(name, "not an integer")),
        _ => Err(field(name, "a date string or epoch ms")),
    }
}

/// The `[from, to)` range of a request, in ms.
///
/// # Errors
/// [`FieldError`] naming `from` or `to` (an unreadable date, or `to` not after `from`).
pub fn range(from: &Value, to: &Value) -> Result<(i64, i64), FieldError> {
    let (from_ms, to_ms) = (date("from", from)?, date("to", to)?);
    if to_ms <= from_ms {
        return Err(field("to", "must be after from"));
    }
    Ok((from_ms, to_ms))
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

/// The closed candles of `[from_ms, to_ms)` at `tf`, fetched page by page from the configured
/// exchange or simulator, oldest first (the caller caps the range).
///
/// # Errors
/// [`FetchError`]: unsupported interval, exchange refusal or garbage after retries, a rate-limit
/// wait over [`MAX_WAIT_MS`].
pub async fn fetch(
    env: &Env,
    inst: Instrument,
    tf: Timeframe,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<Candle>, FetchError> {
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
    loop {
        let now = now_ms();
        match imp
            .next(now)
            .map_err(|e| FetchError::Timeframe(e.to_string()))?
        {
            Next::Done => break,
            Next::Wait { until_ms } => {
                let ms = (until_ms - now).max(1);
                waited += ms;
                if waited > MAX_WAIT_MS {
                    return Err(FetchError::RateLimited);
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
                            .map_err(|e| FetchError::Exchange(e.to_string()))?
                        {
                            candles.extend(page.candles);
                        }
                    }
                    Err(e) => imp
                        .on_transport_error(&e.to_string(), now_ms())
                        .map_err(|e| FetchError::Exchange(e.to_string()))?,
                }
            }
        }
    }
    Ok(candles)
}
