//! Platform health: versions, Neo4j reachability (through neo4j-proxy), the bots' audit outbox
//! totals (counts only), each configured exchange's reachability and clock offset, and the halt.
//! It fans out to every bot, Neo4j and the exchanges, so it is served to admin API tokens only
//! (`GET /api/v1/health`, or `GET /health` with a token); `GET /health` without one is a cheap
//! liveness answer (issue 26, item 5).

use crate::env;
use keel_durable_objects::http::{json, neo4j_proxy_request, ApiError};
use keel_engine::audit::{OutboxHealth, OutboxTotals};
use serde_json::{json, Value};
use worker::{Env, Fetch, Method, Request, RequestInit, Response};

/// Default public endpoints probed when `KEEL_EXCHANGE_URLS` is unset.
const DEFAULT_EXCHANGES: &str =
    r#"{"binance":"https://api.binance.com","bybit":"https://api.bybit.com"}"#;

/// `GET /health`: without `Authorization`, a liveness answer that costs nothing (no Durable
/// Object, Neo4j or exchange is asked, nothing about the deployment is shown), for load balancers
/// and uptime checks; with a valid admin API token (any role), the platform document of
/// [`platform`], the same as `GET /api/v1/health`.
///
/// # Errors
/// 401 for a wrong token, 429 when the caller's address is over the admin API's budget.
pub async fn public(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let has_token = req
        .headers()
        .get("Authorization")
        .ok()
        .flatten()
        .is_some_and(|h| !h.trim().is_empty());
    if !has_token {
        let mut resp = json(
            200,
            &json!({"status": "alive", "time_ms": worker::Date::now().as_millis(),
                    "detail": "send an admin API token (Authorization: Bearer) for the platform health document"}),
        )?;
        let _ = resp.headers_mut().set("Cache-Control", "no-store");
        return Ok(resp);
    }
    let ip = crate::api::gateway::client_ip(req);
    crate::api::gateway::rate_limit(env, &format!("ip:{ip}")).await?;
    crate::auth::authenticate(req, env)
        .await?
        .require_unscoped("platform health")?;
    let mut resp = platform(env).await?;
    let _ = resp.headers_mut().set("Cache-Control", "no-store");
    Ok(resp)
}

/// Builds the platform health document.
///
/// # Errors
/// Only on a broken response builder; dependency failures are reported inside the document.
pub async fn platform(env: &Env) -> Result<Response, ApiError> {
    let (neo4j, exchanges, audit_outbox) =
        futures_util::future::join3(neo4j(env), exchanges(env), audit_outbox(env)).await;
    let halt = crate::api::call_control(env, Method::Get, "/halt", None)
        .await
        .ok();
    let exchanges_ok = exchanges
        .as_object()
        .map(|m| m.values().all(|v| v["reachable"] == Value::Bool(true)))
        .unwrap_or(false);
    let neo4j_ok =
        neo4j["reachable"] == Value::Bool(true) || neo4j["configured"] == Value::Bool(false);
    let status = if exchanges_ok && neo4j_ok {
        "ok"
    } else {
        "degraded"
    };
    Ok(json(
        200,
        &json!({
            "status": status,
            "version": env::get(env, env::VERSION).unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_string()),
            "engine_version": keel_engine::VERSION,
            "neo4j": neo4j,
            "audit_outbox": audit_outbox,
            "exchanges": exchanges,
            "halt": halt,
            "time_ms": worker::Date::now().as_millis(),
        }),
    )?)
}

async fn neo4j(env: &Env) -> Value {
    let Ok(proxy) = env.service(env::NEO4J_PROXY) else {
        return json!({"configured": false, "reachable": false,
            "message": "no NEO4J_PROXY service binding: audit stays in each bot's outbox; deploy neo4j-proxy and bind it"});
    };
    let req = match neo4j_proxy_request(env, Method::Get, "/health", None) {
        Ok(r) => r,
        Err(e) => return json!({"configured": true, "reachable": false, "message": e.to_string()}),
    };
    match proxy.fetch_request(req).await {
        Ok(mut resp) => {
            let status = resp.status_code();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            let mut v = if body.is_object() { body } else { json!({}) };
            if v.get("reachable").is_none() {
                v["reachable"] = Value::Bool(status == 200);
            }
            v
        }
        Err(e) => json!({"configured": true, "reachable": false, "message": e.to_string()}),
    }
}

/// Every bot's outbox health summed ([`OutboxTotals`]): while Neo4j is down the depth grows here,
/// and drains after it is back. Bots are asked in parallel, `BOT_FAN_OUT` at a time (the Worker's
/// connection and subrequest limits); one that cannot answer counts as `unreadable`, it never
/// fails the document.
async fn audit_outbox(env: &Env) -> Value {
    let bots = match crate::api::call_control(env, Method::Get, "/bots", None).await {
        Ok(v) => v,
        Err(e) => return json!({"error": e.message}),
    };
    let ids: Vec<String> = bots
        .as_array()
        .map(|rows| {
            rows.iter()
                .filter_map(|r| r["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let answers = crate::api::call_bots(env, ids, Method::Get, "/view/outbox", None).await;
    let mut totals = OutboxTotals::default();
    for (_, answer) in answers {
        let health = answer
            .ok()
            .and_then(|v| serde_json::from_value::<OutboxHealth>(v).ok());
        totals.add(health.as_ref());
    }
    serde_json::to_value(totals).unwrap_or(Value::Null)
}

async fn exchanges(env: &Env) -> Value {
    let raw = match (
        env::get(env, env::EXCHANGE_URLS),
        env::get(env, env::EXCHANGE_SIM_URL),
    ) {
        (Some(urls), _) => urls,
        (None, Some(sim)) => serde_json::json!({"binance": sim, "bybit": sim}).to_string(),
        (None, None) => DEFAULT_EXCHANGES.to_string(),
    };
    let urls: serde_json::Map<String, Value> = serde_json::from_str(&raw).unwrap_or_default();
    let mut out = serde_json::Map::new();
    for (name, url) in urls {
        let base = url
            .as_str()
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_string();
        let probe = match name.as_str() {
            "bybit" => format!("{base}/v5/market/time"),
            _ => format!("{base}/api/v3/time"),
        };
        out.insert(name, probe_time(&probe).await);
    }
    Value::Object(out)
}

async fn probe_time(url: &str) -> Value {
    let started = worker::Date::now().as_millis() as i64;
    let req = match Request::new_with_init(url, RequestInit::new().with_method(Method::Get)) {
        Ok(r) => r,
        Err(e) => return json!({"url": url, "reachable": false, "error": e.to_string()}),
    };
    match Fetch::Request(req).send().await {
        Ok(mut resp) => {
            let ended = worker::Date::now().as_millis() as i64;
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            let server_ms = body["serverTime"]
                .as_i64()
                .or_else(|| body["time"].as_i64());
            let offset = server_ms.map(|s| s - (started + ended) / 2);
            json!({"url": url, "reachable": resp.status_code() == 200, "status": resp.status_code(),
                   "latency_ms": ended - started, "clock_offset_ms": offset})
        }
        Err(e) => json!({"url": url, "reachable": false, "error": e.to_string()}),
    }
}
