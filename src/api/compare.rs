//! `GET /api/v1/compare?a=BOT&b=BOT&period=1d`: two bots side by side (an A/B or A/A test of
//! strategy versions, e.g. a live bot and its paper shadow). Each bot's analytics view gives its
//! performance index per period (transfers taken out) and ratios; the engine pairs the two
//! return series and runs the Ledoit–Wolf Sharpe-difference test and the mSPRT
//! (`keel_engine::abtest::compare`). docs/admin-api.md.

use super::{call_bot, Call};
use keel_durable_objects::http::{json, ApiError};
use keel_engine::abtest::{compare, MsprtParams};
use keel_engine::market::Timeframe;
use serde_json::{json, Value};
use worker::{Method, Response};

/// The resampling period when the query names none (as the analytics view).
const DEFAULT_PERIOD: &str = "1d";

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::unprocessable(
        if field == "period" {
            "invalid_period"
        } else {
            "invalid_compare"
        },
        message,
    )
    .with_field(field)
}

/// The `[[time, value], …]` curve of an analytics answer (also the portfolio allocation's input).
pub(super) fn curve(v: &Value) -> Vec<(i64, f64)> {
    v.get("curve")
        .and_then(Value::as_array)
        .map(|points| {
            points
                .iter()
                .filter_map(|p| Some((p.get(0)?.as_i64()?, p.get(1)?.as_f64()?)))
                .collect()
        })
        .unwrap_or_default()
}

/// One side of the answer: who it is and its own figures.
fn side(v: &Value) -> Value {
    json!({
        "bot_id": v.get("bot_id").cloned().unwrap_or(Value::Null),
        "quote_asset": v.get("quote_asset").cloned().unwrap_or(Value::Null),
        "metrics": v.get("metrics").cloned().unwrap_or(Value::Null),
        "net": v.pointer("/attribution/total/net").cloned().unwrap_or(Value::Null),
        "points": v.get("points").cloned().unwrap_or(Value::Null),
    })
}

/// Answers the comparison.
///
/// # Errors
/// 422 for a missing bot or a bad period; the bots' own errors (404 unknown bot, 403 outside a
/// scoped token).
pub async fn route(ctx: &Call<'_>) -> Result<Response, ApiError> {
    let (mut a, mut b, mut period) = (None, None, None);
    for (k, v) in worker::url::form_urlencoded::parse(ctx.query.as_deref().unwrap_or("").as_bytes())
    {
        match k.as_ref() {
            "a" => a = Some(v.into_owned()),
            "b" => b = Some(v.into_owned()),
            "period" => period = Some(v.into_owned()),
            other => {
                return Err(invalid(
                    other,
                    format!("unknown parameter {other:?} (a, b, period)"),
                ))
            }
        }
    }
    let a = a
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid("a", "a: the first bot's id is required"))?;
    let b = b
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid("b", "b: the second bot's id is required"))?;
    let period = period.unwrap_or_else(|| DEFAULT_PERIOD.to_string());
    // A timeframe label goes into the bots' query as it is: letters and digits only.
    if period.is_empty() || !period.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(invalid(
            "period",
            format!("period {period:?} is not a timeframe (1h, 4h, 1d, …)"),
        ));
    }
    ctx.principal.require_bot(&a)?;
    ctx.principal.require_bot(&b)?;
    Ok(json(200, &comparison(ctx, &a, &b, &period).await?)?)
}

/// The comparison of bots `a` and `b` over `period` (already validated), as answered by
/// `GET /compare` and read by a promotion (`shadow::promote`). `sequential.periods_to_decision`
/// (formula in `keel_engine::abtest::eta`) is also given as `expected_decision_in_ms`.
///
/// # Errors
/// The bots' own errors (404 unknown bot…).
pub(super) async fn comparison(
    ctx: &Call<'_>,
    a: &str,
    b: &str,
    period: &str,
) -> Result<Value, ApiError> {
    let path = format!("/view/analytics?period={period}");
    let (va, vb) = futures_util::future::join(
        call_bot(ctx.env, a, Method::Get, &path, None),
        call_bot(ctx.env, b, Method::Get, &path, None),
    )
    .await;
    let (va, vb) = (va?, vb?);
    let c = compare(&curve(&va), &curve(&vb), MsprtParams::default());
    let mut out = serde_json::to_value(&c).map_err(|e| ApiError::internal(e.to_string()))?;
    let period_ms = Timeframe::parse(period).map(Timeframe::ms).ok();
    out["sequential"]["expected_decision_in_ms"] =
        match (c.sequential.periods_to_decision, period_ms) {
            (Some(n), Some(ms)) => json!(i64::try_from(n).ok().and_then(|n| n.checked_mul(ms))),
            _ => Value::Null,
        };
    out["period"] = json!(period);
    out["a"] = side(&va);
    out["b"] = side(&vb);
    Ok(out)
}
