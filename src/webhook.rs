//! `POST /webhook/{bot_id}`: the edge half of the signal path, cheapest checks first so a flood
//! of unauthenticated requests costs little and cannot crowd out a real alert:
//!
//! 1. declared size (`Content-Length` over 16 KiB: 413 without reading anything);
//! 2. source address refused at the edge after exhausting its failure budget (429);
//! 3. rate per source address and per bot (429; the `WEBHOOK_IP_LIMITER` / `WEBHOOK_BOT_LIMITER`
//!    bindings, or the ControlDO's token buckets when they are not bound);
//! 4. shape of `X-Keel-Signature` (at most 4 `v1=` entries, 512 bytes: 401 before any HMAC);
//! 5. the body read chunk by chunk and refused (413) as soon as it passes the cap, so a chunked
//!    body is never buffered whole;
//! 6. the bot's Durable Object: signature or secret, then schema, then freshness and risk. A
//!    source whose requests it refuses as unauthenticated or malformed (400/401/403) spends its
//!    failure budget (`WEBHOOK_FAIL_LIMITER`: 30 a minute); past it, step 2 refuses it for a
//!    minute.
//!
//! Refusals decided here are reported to the bot's audit trail coalesced: the first of each bot,
//! reason and minute at once, the rest as a count carried by the next report (`webhook_guard`).
//! TradingView cancels a webhook after 3 s, so after 2.5 s the edge answers `202` and the bot
//! finishes in the background.

use crate::api::{bot_stub, call_control, error_from};
use crate::webhook_guard::{check_signature_header, Blocklist, Coalescer};
use futures_util::future::{select, Either};
use futures_util::StreamExt;
use keel_durable_objects::http::{json, ApiError};
use keel_engine::signal::MAX_BODY_BYTES;
use serde_json::{json, Value};
use std::cell::RefCell;
use std::time::Duration;
use worker::{Delay, Env, Method, Request, RequestInit, Response};

/// How long the edge waits for the bot before answering `202 accepted`.
const ANSWER_WITHIN: Duration = Duration::from_millis(2500);

/// One rate limit of the webhook path: its binding and the ControlDO bucket used without it.
struct Limit {
    binding: &'static str,
    capacity: i64,
    period_ms: i64,
}

/// Every request per source address (`wrangler.toml`: 3,000 per 10 s). TradingView sends all of a
/// deployment's alerts from four addresses, so this budget is shared by every bot: a thousand
/// bots alerting on the same bar close must all pass (a refused alert is never retried). It stops
/// a single-source flood; unauthenticated floods are cut far earlier by `FAILURES_PER_IP`, and
/// each bot is shielded by `PER_BOT`.
const PER_IP: Limit = Limit {
    binding: "WEBHOOK_IP_LIMITER",
    capacity: 3_000,
    period_ms: 10_000,
};
/// Every request per bot (600 per 10 s): a backstop for floods from very many addresses that
/// keeps the bot's Durable Object below its throughput limit (a saturated object would delay
/// real alerts anyway). Real alerts come far below it.
const PER_BOT: Limit = Limit {
    binding: "WEBHOOK_BOT_LIMITER",
    capacity: 600,
    period_ms: 10_000,
};
/// Refusals as unauthenticated or malformed per source address (30 per minute); past it the
/// address is refused at the edge for a minute.
const FAILURES_PER_IP: Limit = Limit {
    binding: "WEBHOOK_FAIL_LIMITER",
    capacity: 30,
    period_ms: 60_000,
};

thread_local! {
    /// This isolate's refusal counts and refused addresses (see `webhook_guard`).
    static GUARD: RefCell<(Coalescer, Blocklist)> = RefCell::new(Default::default());
}

/// Handles one webhook.
///
/// # Errors
/// Any [`ApiError`]: 404 unknown bot, 413 too large, 429 rate limited, 401 malformed signature,
/// or the bot's own answer.
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
        .and_then(|v| v.trim().parse::<u64>().ok());
    let checked = cheap_checks(
        &mut req,
        env,
        bot_id,
        ip.as_deref(),
        signature.as_deref(),
        declared,
        received_ms,
    )
    .await;
    let body = match checked {
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
        Either::Left((result, _)) => {
            if let (Err(e), Some(ip)) = (&result, ip.as_deref()) {
                if matches!(e.status, 400 | 401 | 403) {
                    spend_failure_budget(env, ip, received_ms).await;
                }
            }
            result
        }
        Either::Right(((), _)) => Ok(json(
            202,
            &json!({"status": "accepted", "message": "the bot is still executing; see /api/v1/bots/{id}/signals"}),
        )?),
    }
}

/// Steps 1–5 of the module doc, in that order; returns the body when all pass.
async fn cheap_checks(
    req: &mut Request,
    env: &Env,
    bot_id: &str,
    ip: Option<&str>,
    signature: Option<&str>,
    declared: Option<u64>,
    received_ms: i64,
) -> Result<Vec<u8>, ApiError> {
    if let Some(len) = declared.filter(|l| *l > MAX_BODY_BYTES as u64) {
        return Err(too_large(&len.to_string()));
    }
    if let Some(ip) = ip {
        if GUARD.with(|g| g.borrow().1.blocked(ip, received_ms)) {
            return Err(ApiError::new(
                429,
                "rate_limited",
                format!(
                    "too many refused webhooks from {}; try again in a minute",
                    keel_durable_objects::http::cap_text(ip, 64)
                ),
            )
            .with_field("ip"));
        }
    }
    rate_limit(env, bot_id, ip).await?;
    if let Some(Err(h)) = signature.map(check_signature_header) {
        return Err(ApiError::unauthorized("malformed_signature", h.message()));
    }
    read_capped(req).await
}

fn too_large(got: &str) -> ApiError {
    ApiError::new(
        413,
        "body_too_large",
        format!("webhook bodies are capped at {MAX_BODY_BYTES} bytes, got {got}"),
    )
}

/// Reads the body chunk by chunk, refusing it as soon as it passes [`MAX_BODY_BYTES`]: whatever
/// `Content-Length` claimed (or a chunked body that claims nothing), at most the cap plus one
/// chunk is ever held.
async fn read_capped(req: &mut Request) -> Result<Vec<u8>, ApiError> {
    if req.inner().body().is_none() {
        return Ok(Vec::new());
    }
    let mut stream = req.stream()?;
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_large(&format!(
                "more than {} (reading stopped there)",
                body.len() + chunk.len()
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
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

/// Rejections decided here (size, rate, signature shape) still belong in the bot's audit trail,
/// coalesced: one report per bot, reason and minute in this isolate, carrying the count (the bot
/// coalesces again across isolates).
async fn report_edge_rejection(
    stub: &worker::Stub,
    bot_id: &str,
    err: &ApiError,
    received_ms: i64,
    ip: Option<&str>,
) {
    let key = format!("{bot_id}\n{}", err.code);
    let Some(count) = GUARD.with(|g| g.borrow_mut().0.record(&key, received_ms)) else {
        return;
    };
    let body = json!({"status": err.status, "code": err.code, "message": err.message,
                      "received_ms": received_ms, "ip": ip, "count": count});
    if let Err(e) = forward(stub, &format!("/{bot_id}/edge-rejection"), &body).await {
        worker::console_error!("could not audit edge rejection: {e}");
    }
}

/// Takes one request from `key`'s budget under `limit`: the binding when bound, else the
/// ControlDO's token bucket (one object, so the count is shared by every isolate).
async fn take(env: &Env, limit: &Limit, key: &str) -> Result<bool, ApiError> {
    match env.rate_limiter(limit.binding) {
        Ok(limiter) => Ok(limiter.limit(key.to_string()).await?.success),
        Err(_) => {
            let body = json!({"key": format!("{}:{key}", limit.binding), "capacity": limit.capacity,
                              "period_ms": limit.period_ms});
            let v = call_control(env, Method::Post, "/ratelimit", Some(body)).await?;
            Ok(v["allowed"].as_bool().unwrap_or(false))
        }
    }
}

async fn rate_limit(env: &Env, bot_id: &str, ip: Option<&str>) -> Result<(), ApiError> {
    let mut checks = vec![(&PER_BOT, format!("bot:{bot_id}"), "bot")];
    if let Some(ip) = ip {
        checks.insert(0, (&PER_IP, format!("ip:{ip}"), "ip"));
    }
    for (limit, key, field) in checks {
        if !take(env, limit, &key).await? {
            let per = limit.period_ms / 1000;
            return Err(ApiError::new(
                429,
                "rate_limited",
                format!(
                    "too many webhooks per {field}: at most {} per {per} s",
                    limit.capacity
                ),
            )
            .with_field(field));
        }
    }
    Ok(())
}

/// Counts one refusal against `ip`'s failure budget; an exhausted budget refuses the address at
/// the edge for a minute (in this isolate; other isolates learn it from the shared budget).
async fn spend_failure_budget(env: &Env, ip: &str, now_ms: i64) {
    match take(env, &FAILURES_PER_IP, &format!("ip:{ip}")).await {
        Ok(true) => {}
        Ok(false) => GUARD.with(|g| g.borrow_mut().1.block(ip, now_ms)),
        Err(e) => worker::console_error!("webhook failure budget: {}", e.message),
    }
}
