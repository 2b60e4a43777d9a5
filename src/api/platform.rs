//! Platform-wide admin routes: whoami, tokens, global halt/resume, P&L across bots,
//! reconciliation, signal causal chains (from Neo4j), health, metrics and the OpenAPI document.

use super::{call_bot, call_control, ok, Call};
use crate::env;
use keel_durable_objects::http::ApiError;
use serde_json::{json, Value};
use worker::{Method, Response};

/// The OpenAPI 3.1 document, kept next to the code it describes.
const OPENAPI: &str = include_str!("openapi.json");

/// Serves `/api/v1/openapi.json`.
///
/// # Errors
/// 500 if the embedded document is not JSON (a build defect).
pub fn openapi() -> Result<Response, ApiError> {
    let doc: Value =
        serde_json::from_str(OPENAPI).map_err(|e| ApiError::internal(e.to_string()))?;
    ok(200, &doc)
}

/// Routes platform paths.
///
/// # Errors
/// Any [`ApiError`].
pub async fn route(ctx: &Call<'_>, method: &Method, segs: &[&str]) -> Result<Response, ApiError> {
    match (method, segs) {
        (Method::Get, ["whoami"]) => ok(
            200,
            &json!({"token_id": ctx.principal.id, "role": ctx.principal.role}),
        ),
        (Method::Get, ["tokens"]) => ok(
            200,
            &call_control(ctx.env, Method::Get, "/tokens", None).await?,
        ),
        (Method::Post, ["tokens"]) => create_token(ctx).await,
        (Method::Delete, ["tokens", id]) => ok(
            200,
            &call_control(ctx.env, Method::Delete, &format!("/tokens/{id}"), None).await?,
        ),
        (Method::Post, ["halt"]) => halt(ctx, true).await,
        (Method::Post, ["resume"]) => halt(ctx, false).await,
        (Method::Get, ["health"]) => crate::health::platform(ctx.env).await,
        (Method::Get, ["pnl"]) => fan_out(ctx, "/view/pnl").await,
        (Method::Get, ["reconciliation"]) => fan_out(ctx, "/view/reconciliation").await,
        (Method::Post, ["reconcile"]) => fan_out_post(ctx, "/control/reconcile").await,
        (Method::Get, ["metrics"]) => fan_out(ctx, "/view/metrics").await,
        (Method::Get, ["signals", id]) => signal_chain(ctx, id).await,
        _ => Err(ApiError::not_found("no_route", "no such API route")),
    }
}

async fn create_token(ctx: &Call<'_>) -> Result<Response, ApiError> {
    let role = ctx
        .body
        .get("role")
        .and_then(Value::as_str)
        .unwrap_or("viewer");
    if role != "admin" && role != "viewer" {
        return Err(
            ApiError::bad_request("invalid_role", "role must be admin or viewer")
                .with_field("role"),
        );
    }
    let name = ctx
        .body
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("unnamed");
    let mut raw = [0u8; 32];
    getrandom::getrandom(&mut raw).map_err(|e| ApiError::internal(format!("random: {e}")))?;
    let token = format!("keel_{}", hex::encode(raw));
    let row = call_control(
        ctx.env,
        Method::Post,
        "/tokens",
        Some(json!({"name": name, "role": role, "token": token})),
    )
    .await?;
    let mut out = row;
    out["token"] = Value::String(token);
    ok(201, &out)
}

async fn bot_ids(ctx: &Call<'_>) -> Result<Vec<String>, ApiError> {
    let rows = call_control(ctx.env, Method::Get, "/bots", None).await?;
    Ok(rows
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r["id"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default())
}

async fn halt(ctx: &Call<'_>, halted: bool) -> Result<Response, ApiError> {
    let actor = ctx.principal.actor();
    let flatten = halted
        && ctx
            .body
            .get("flatten")
            .and_then(Value::as_bool)
            .unwrap_or(false);
    let reason = ctx.body.get("reason").cloned().unwrap_or(Value::Null);
    let state = call_control(
        ctx.env,
        Method::Post,
        "/halt",
        Some(json!({"halted": halted, "reason": reason, "actor": actor})),
    )
    .await?;
    let mut bots = serde_json::Map::new();
    for id in bot_ids(ctx).await? {
        let body = json!({"halted": halted, "actor": actor, "flatten": flatten});
        let res = call_bot(ctx.env, &id, Method::Post, "/control/halt", Some(body)).await;
        bots.insert(id, res.unwrap_or_else(|e| json!({"error": e.body()})));
    }
    ok(
        200,
        &json!({"halt": state, "flatten": flatten, "bots": bots}),
    )
}

async fn fan_out(ctx: &Call<'_>, path: &str) -> Result<Response, ApiError> {
    let mut out = serde_json::Map::new();
    for id in bot_ids(ctx).await? {
        let res = call_bot(ctx.env, &id, Method::Get, path, None).await;
        out.insert(id, res.unwrap_or_else(|e| json!({"error": e.body()})));
    }
    ok(200, &json!({"bots": out}))
}

async fn fan_out_post(ctx: &Call<'_>, path: &str) -> Result<Response, ApiError> {
    let mut out = serde_json::Map::new();
    for id in bot_ids(ctx).await? {
        let body = json!({"actor": ctx.principal.actor()});
        let res = call_bot(ctx.env, &id, Method::Post, path, Some(body)).await;
        out.insert(id, res.unwrap_or_else(|e| json!({"error": e.body()})));
    }
    ok(200, &json!({"bots": out}))
}

async fn signal_chain(ctx: &Call<'_>, id: &str) -> Result<Response, ApiError> {
    let proxy = ctx.env.service(env::NEO4J_PROXY).map_err(|_| {
        ApiError::unavailable(
            "neo4j_not_configured",
            "no neo4j-proxy binding: the causal graph needs Neo4j",
        )
    })?;
    let url = format!("https://neo4j-proxy/signals/{}", urlencode(id));
    let mut resp = proxy.fetch(url, None).await?;
    let status = resp.status_code();
    let value: Value = resp.json().await.unwrap_or(Value::Null);
    if status >= 400 {
        return Err(super::error_from(status, &value));
    }
    ok(200, &value)
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
