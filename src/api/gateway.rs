//! The admin API's gateway checks, before and around the handlers: CORS (closed except the
//! dashboard's origin, preflight answered here), rate limits per client IP (before
//! authentication, so token guessing is throttled) and per token (after it), and the response
//! headers every API answer carries.
//!
//! Rate limits use the Workers rate-limiting bindings `ADMIN_IP_LIMITER` / `ADMIN_TOKEN_LIMITER`
//! when bound (counters in Cloudflare's edge), otherwise a token bucket in the ControlDO.

use super::call_control;
use crate::env;
use keel_durable_objects::http::ApiError;
use serde_json::json;
use worker::{Env, Headers, Method, Request, Response};

/// Rate-limit binding for `ip:<addr>` keys (see `wrangler.toml`: 300 per 10 s).
const IP_LIMITER: &str = "ADMIN_IP_LIMITER";
/// Rate-limit binding for `token:<id>` keys (150 per 10 s).
const TOKEN_LIMITER: &str = "ADMIN_TOKEN_LIMITER";
/// Fallback buckets: the same budgets as the bindings, per [`FALLBACK_PERIOD_MS`].
const FALLBACK_IP_BUDGET: i64 = 300;
/// See [`FALLBACK_IP_BUDGET`].
const FALLBACK_TOKEN_BUDGET: i64 = 150;
/// Refill period of the fallback buckets.
const FALLBACK_PERIOD_MS: i64 = 10_000;

/// Methods the dashboard may use cross-origin.
const ALLOW_METHODS: &str = "GET, POST, PUT, PATCH, DELETE, OPTIONS";
/// Request headers the dashboard may send cross-origin.
const ALLOW_HEADERS: &str = "Authorization, Content-Type";

/// The request's `Origin`, when it is a cross-origin browser request.
fn origin(req: &Request) -> Option<String> {
    req.headers()
        .get("Origin")
        .ok()
        .flatten()
        .filter(|o| !o.is_empty())
}

/// Whether `origin` may call the API: only the configured dashboard origin (exact match).
fn origin_allowed(env: &Env, origin: &str) -> bool {
    env::get(env, env::DASHBOARD_ORIGIN)
        .is_some_and(|allowed| allowed.trim_end_matches('/') == origin)
}

/// Answers a CORS preflight: 204 with the allowed methods and headers for the dashboard origin,
/// 403 for any other origin (the browser then blocks the real request).
///
/// # Errors
/// 403 `cors_origin_denied`.
pub fn preflight(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let Some(origin) = origin(req) else {
        return Err(ApiError::bad_request(
            "not_a_preflight",
            "OPTIONS without Origin",
        ));
    };
    if !origin_allowed(env, &origin) {
        return Err(ApiError::forbidden(
            "cors_origin_denied",
            format!("origin {origin} may not call this API"),
        ));
    }
    let mut resp = Response::empty()?.with_status(204);
    let h = resp.headers_mut();
    h.set("Access-Control-Allow-Origin", &origin)?;
    h.set("Access-Control-Allow-Methods", ALLOW_METHODS)?;
    h.set("Access-Control-Allow-Headers", ALLOW_HEADERS)?;
    h.set("Access-Control-Max-Age", "600")?;
    h.set("Vary", "Origin")?;
    Ok(resp)
}

/// Refuses a cross-origin request from any origin but the dashboard's, before it does anything
/// (a browser would hide the answer, but a simple POST would still have run).
///
/// # Errors
/// 403 `cors_origin_denied`.
pub fn check_origin(req: &Request, env: &Env) -> Result<(), ApiError> {
    let Some(origin) = origin(req) else {
        return Ok(());
    };
    let own = req.url().ok().map(|u| u.origin().ascii_serialization());
    if own.as_deref() == Some(origin.as_str()) || origin_allowed(env, &origin) {
        return Ok(());
    }
    Err(ApiError::forbidden(
        "cors_origin_denied",
        format!("origin {origin} may not call this API"),
    ))
}

/// Headers added to every API answer: no caching of admin data anywhere, and CORS only for the
/// dashboard origin (the router adds the security headers).
pub fn finish(mut resp: Response, req_origin: Option<&str>, env: &Env) -> Response {
    let h: &mut Headers = resp.headers_mut();
    let _ = h.set("Cache-Control", "no-store");
    let _ = h.set("Vary", "Origin");
    match req_origin {
        Some(o) if origin_allowed(env, o) => {
            let _ = h.set("Access-Control-Allow-Origin", o);
        }
        // The router may have set the configured origin for other paths; an API answer to any
        // other caller carries none.
        _ => {
            let _ = h.delete("Access-Control-Allow-Origin");
        }
    }
    resp
}

/// The caller's IP (Cloudflare sets `CF-Connecting-IP`; absent only in unusual local setups).
pub fn client_ip(req: &Request) -> String {
    req.headers()
        .get("CF-Connecting-IP")
        .ok()
        .flatten()
        .unwrap_or_else(|| "unknown".into())
}

/// The `Origin` header, for [`finish`].
pub fn request_origin(req: &Request) -> Option<String> {
    origin(req)
}

/// Takes one request from `key`'s budget (`ip:<addr>` or `token:<id>`).
///
/// # Errors
/// 429 `rate_limited` naming the key kind; 503 when the fallback limiter cannot be reached.
pub async fn rate_limit(env: &Env, key: &str) -> Result<(), ApiError> {
    let kind = key.split(':').next().unwrap_or("key");
    let (binding, budget) = if kind == "ip" {
        (IP_LIMITER, FALLBACK_IP_BUDGET)
    } else {
        (TOKEN_LIMITER, FALLBACK_TOKEN_BUDGET)
    };
    let allowed = match env.rate_limiter(binding) {
        Ok(limiter) => limiter.limit(key.to_string()).await?.success,
        Err(_) => {
            let body = json!({"key": key, "capacity": budget, "period_ms": FALLBACK_PERIOD_MS});
            let v = call_control(env, Method::Post, "/ratelimit", Some(body)).await?;
            v["allowed"].as_bool().unwrap_or(false)
        }
    };
    if allowed {
        return Ok(());
    }
    Err(ApiError::new(
        429,
        "rate_limited",
        format!("too many admin API requests for this {kind}; slow down"),
    )
    .with_field(kind.to_string()))
}
