//! `POST /webhook/{bot_id}`: the edge half of the signal path. It caps the body (16 KiB), applies
//! the per-IP and per-bot rate limits, and hands the raw body with its authentication metadata to
//! the bot's Durable Object, which parses, authenticates, dedupes, checks risk and executes, and
//! audits every outcome in the bot's own hash chain (which is why parsing happens there once, not
//! twice). TradingView cancels a webhook after 3 s, so after 2.5 s the edge answers `202` and the
//! bot finishes in the background.

use crate::api::{bot_stub, error_from};
use crate::env;
use futures_util::future::{select, Either};
use keel_durable_objects::http::{json, ApiError};
use keel_engine::signal::MAX_BODY_BYTES;
use serde_json::{json, Value};
use std::time::Duration;
use worker::{Delay, Env, Method, Request, RequestInit, Response};

/// How long the edge waits for the bot before answering `202 accepted`.
const ANSWER_WITHIN: Duration = Duration::from_millis(2500);
/// Rate-limit binding for webhooks (per IP and per bot), optional.
const LIMITER: &str = "WEBHOOK_LIMITER";

/// Handles one webhook.
///
/// # Errors
/// Any [`ApiError`]: 404 unknown bot, 413 too large, 429 rate limited, or the bot's own answer.
pub async fn handle(mut req: Request, env: &Env, bot_id: &str) -> Result<Response, ApiError> {
    let received_ms = worker::Date::now().as_millis() as i64;
    let stub = bot_stub(env, bot_id)?;
    let headers = req.headers();
    let ip = headers.get("CF-Connecting-IP").ok().flatten();
    let signature = headers.get("X-Keel-Signature").ok().flatten();
    let content_type = headers.get("Content-Type").ok().flatten();
    let declared = headers
        .get("Content-Length")
        .ok()
        .flatten()
        .and_then(|v| v.parse::<usize>().ok());
    let too_large = |len: usize| {
        ApiError::new(
            413,
            "body_too_large",
            format!("webhook bodies are capped at {MAX_BODY_BYTES} bytes, got {len}"),
        )
    };
    let body = match declared {
        Some(len) if len > MAX_BODY_BYTES => None.ok_or(too_large(len)),
        _ => {
            let bytes = req.bytes().await?;
            if bytes.len() > MAX_BODY_BYTES {
                Err(too_large(bytes.len()))
            } else {
                Ok(bytes)
            }
        }
    };
    if let Err(e) = rate_limit(env, bot_id, ip.as_deref()).await {
        report_edge_rejection(&stub, bot_id, &e, received_ms, ip.as_deref()).await;
        return Err(e);
    }
    let body = match body {
        Ok(b) => b,
        Err(e) => {
            report_edge_rejection(&stub, bot_id, &e, received_ms, ip.as_deref()).await;
            return Err(e);
        }
    };
    let envelope = json!({
        "body": String::from_utf8_lossy(&body),
        "content_type": content_type,
        "signature": signature,
        "ip": ip,
        "received_ms": received_ms,
    });
    let signal_path = format!("/{bot_id}/signal");
    let call = forward(&stub, &signal_path, &envelope);
    let timeout = Delay::from(ANSWER_WITHIN);
    futures_util::pin_mut!(call);
    futures_util::pin_mut!(timeout);
    match select(call, timeout).await {
        Either::Left((result, _)) => result,
        Either::Right(((), _)) => Ok(json(
            202,
            &json!({"status": "accepted", "message": "the bot is still executing; see /api/v1/bots/{id}/signals"}),
        )?),
    }
}

async fn forward(stub: &worker::Stub, path: &str, body: &Value) -> Result<Response, ApiError> {
    let mut init = RequestInit::new();
    init.with_method(Method::Post);
    init.with_body(Some(body.to_string().into()));
    let req = Request::new_with_init(&format!("https://do{path}"), &init)?;
    let mut resp = stub.fetch_with_request(req).await?;
    let status = resp.status_code();
    let value: Value = resp.json().await.unwrap_or(Value::Null);
    if status >= 400 {
        return Err(error_from(status, &value));
    }
    Ok(json(status, &value)?)
}

/// Rejections decided here (size, rate) still belong in the bot's audit trail.
async fn report_edge_rejection(
    stub: &worker::Stub,
    bot_id: &str,
    err: &ApiError,
    received_ms: i64,
    ip: Option<&str>,
) {
    let body = json!({"status": err.status, "code": err.code, "message": err.message,
                      "received_ms": received_ms, "ip": ip});
    if let Err(e) = forward(stub, &format!("/{bot_id}/edge-rejection"), &body).await {
        worker::console_error!("could not audit edge rejection: {e}");
    }
}

async fn rate_limit(env: &Env, bot_id: &str, ip: Option<&str>) -> Result<(), ApiError> {
    let Ok(limiter) = env.rate_limiter(LIMITER) else {
        // Without the binding the BotDO's own token bucket still limits per bot.
        return Ok(());
    };
    let mut keys = vec![format!("bot:{bot_id}")];
    if let Some(ip) = ip {
        keys.push(format!("ip:{ip}"));
    }
    for key in keys {
        let outcome = limiter.limit(key.clone()).await?;
        if !outcome.success {
            return Err(ApiError::new(
                429,
                "rate_limited",
                format!("too many webhooks for {key}"),
            ));
        }
    }
    let _ = env::get(env, env::VERSION);
    Ok(())
}
