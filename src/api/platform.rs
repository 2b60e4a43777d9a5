//! Platform-wide admin routes: whoami, tokens, the platform audit chain, credential re-encryption,
//! global halt/resume, P&L across bots,
//! reconciliation, signal causal chains (from Neo4j), health, metrics and the OpenAPI document.

use super::{call_bot, call_control, ok, Call};
use crate::env;
use keel_durable_objects::control::tokens;
use keel_durable_objects::http::{neo4j_proxy_request, ApiError};
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
            &json!({"token_id": ctx.principal.id, "role": ctx.principal.role,
                    "expires_at": ctx.principal.expires_ms.map(keel_engine::calendar::rfc3339),
                    "bots": ctx.principal.bots}),
        ),
        (Method::Get, ["tokens"]) => ok(
            200,
            &call_control(ctx.env, Method::Get, "/tokens", None).await?,
        ),
        (Method::Post, ["tokens"]) => create_token(ctx).await,
        (Method::Delete, ["tokens", id]) => {
            let body = json!({"actor": ctx.principal.actor()});
            ok(
                200,
                &call_control(
                    ctx.env,
                    Method::Post,
                    &format!("/tokens/{}/revoke", crate::path::encode(id)),
                    Some(body),
                )
                .await?,
            )
        }
        (Method::Get, ["audit"]) => {
            let path = match &ctx.query {
                Some(q) => format!("/audit?{q}"),
                None => "/audit".to_string(),
            };
            ok(200, &call_control(ctx.env, Method::Get, &path, None).await?)
        }
        (Method::Post, ["credentials", "rotate"]) => rotate_credentials(ctx).await,
        (Method::Post, ["halt"]) => halt(ctx, true).await,
        (Method::Post, ["resume"]) => halt(ctx, false).await,
        (Method::Get, ["health"]) => crate::health::platform(ctx.env).await,
        (Method::Get, ["accounts", "state"]) => account_state(ctx).await,
        (Method::Post, ["accounts", "stream"]) => account_stream(ctx).await,
        (Method::Get, ["pnl"]) => fan_out(ctx, "/view/pnl").await,
        (Method::Get, ["reconciliation"]) => fan_out(ctx, "/view/reconciliation").await,
        (Method::Post, ["reconcile"]) => fan_out_post(ctx, "/control/reconcile").await,
        (Method::Get, ["metrics"]) => crate::metrics::handle(ctx, "").await,
        (Method::Get, ["signals", id]) => signal_chain(ctx, id).await,
        (Method::Get, ["chat"]) => ok(
            200,
            &call_control(ctx.env, Method::Get, "/chat", None).await?,
        ),
        (Method::Put, ["chat"]) => set_chat(ctx).await,
        _ => Err(ApiError::not_found("no_route", "no such API route")),
    }
}

/// `POST /tokens`: validates the body ([`tokens::parse_create`]), draws the token and has the
/// ControlDO store its hash with the expiry and scope. The token is answered this once.
async fn create_token(ctx: &Call<'_>) -> Result<Response, ApiError> {
    let spec = tokens::parse_create(&ctx.body)?;
    let mut raw = [0u8; 32];
    getrandom::getrandom(&mut raw).map_err(|e| ApiError::internal(format!("random: {e}")))?;
    let token = format!("keel_{}", hex::encode(raw));
    let row = call_control(
        ctx.env,
        Method::Post,
        "/tokens",
        Some(json!({"name": spec.name, "role": spec.role, "token": token,
                    "actor": ctx.principal.actor(), "ttl_secs": spec.ttl_secs,
                    "minter_expires_ms": ctx.principal.expires_ms, "bots": spec.bots})),
    )
    .await?;
    let mut out = row;
    // The only time the token is ever shown: the ControlDO keeps its SHA-256 only.
    out["token"] = Value::String(token);
    ok(201, &out)
}

/// `POST /credentials/rotate`: re-seals every bot's credentials under the current `MASTER_KEY`
/// (each bot opens them with `MASTER_KEY_PREVIOUS` when that sealed them), then records the
/// outcome in the platform audit chain. Safe to repeat.
async fn rotate_credentials(ctx: &Call<'_>) -> Result<Response, ApiError> {
    let (mut rotated, mut skipped, mut failed) = (Vec::new(), Vec::new(), Vec::new());
    let mut bots = serde_json::Map::new();
    for id in bot_ids(ctx).await? {
        let body = json!({"actor": ctx.principal.actor()});
        let res = call_bot(
            ctx.env,
            &id,
            Method::Post,
            "/control/rotate-credentials",
            Some(body),
        )
        .await;
        match &res {
            Ok(v) if v["rotated"].as_bool() == Some(true) => rotated.push(id.clone()),
            Ok(_) => skipped.push(id.clone()),
            Err(e) => failed.push(format!("{id}: {}", e.code)),
        }
        bots.insert(id, res.unwrap_or_else(|e| json!({"error": e.body()})));
    }
    let record = json!({"actor": ctx.principal.actor(), "rotated": rotated, "skipped": skipped, "failed": failed});
    let audit = call_control(
        ctx.env,
        Method::Post,
        "/audit/credentials-rotated",
        Some(record),
    )
    .await?;
    let status = if failed.is_empty() { 200 } else { 207 };
    ok(
        status,
        &json!({"rotated": rotated.len(), "skipped": skipped.len(), "failed": failed,
                "audit_seq": audit["audit_seq"], "bots": bots}),
    )
}

/// Every registered bot the caller's token covers (all of them for an unscoped token).
async fn bot_ids(ctx: &Call<'_>) -> Result<Vec<String>, ApiError> {
    registered_bots(ctx.env, |id| ctx.principal.covers(id)).await
}

/// Every registered bot `covers` accepts, in the registry's order.
async fn registered_bots(
    env: &worker::Env,
    covers: impl Fn(&str) -> bool,
) -> Result<Vec<String>, ApiError> {
    let rows = call_control(env, Method::Get, "/bots", None).await?;
    Ok(rows
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r["id"].as_str().map(String::from))
                .filter(|id| covers(id))
                .collect()
        })
        .unwrap_or_default())
}

/// How long the halt waits for each bot to confirm. One bot whose object hangs, or whose trading
/// execution is still sending an order decided before the halt, must not hold the operator's
/// answer (and the other bots' report) hostage: past this it is reported unreached.
const HALT_PUSH_WITHIN: std::time::Duration = std::time::Duration::from_secs(5);

/// One bot's halt push, given up after [`HALT_PUSH_WITHIN`] (the bot still stores the flag when
/// the push arrives, and adopts the platform state itself before its next decision).
async fn push_within(
    push: impl std::future::Future<Output = Result<Value, ApiError>>,
) -> Result<Value, ApiError> {
    use futures_util::future::{select, Either};
    let timeout = worker::Delay::from(HALT_PUSH_WITHIN);
    futures_util::pin_mut!(push);
    futures_util::pin_mut!(timeout);
    match select(push, timeout).await {
        Either::Left((result, _)) => result,
        Either::Right(((), _)) => Err(ApiError::unavailable(
            "halt_unconfirmed",
            format!(
                "the bot did not confirm within {} s (its object is busy or unreachable); it re-reads the platform state before its next decision",
                HALT_PUSH_WITHIN.as_secs()
            ),
        )),
    }
}

async fn halt(ctx: &Call<'_>, halted: bool) -> Result<Response, ApiError> {
    let flatten = halted
        && ctx
            .body
            .get("flatten")
            .and_then(Value::as_bool)
            .unwrap_or(false);
    let reason = ctx.body.get("reason").cloned().unwrap_or(Value::Null);
    let report = set_halt(
        ctx.env,
        &ctx.principal.actor(),
        halted,
        flatten,
        reason,
        |id| ctx.principal.covers(id),
    )
    .await?;
    ok(200, &report)
}

/// The platform halt (or resume) as `actor`: stores the flag in the ControlDO (audited there),
/// pushes it to every registered bot `covers` accepts, and with `flatten` has them close
/// everything. One code path for the admin API and the Telegram `/halt` (src/chat.rs).
///
/// # Errors
/// The ControlDO's errors; a bot's failure is reported in the answer, never an error.
pub(crate) async fn set_halt(
    env: &worker::Env,
    actor: &str,
    halted: bool,
    flatten: bool,
    reason: Value,
    covers: impl Fn(&str) -> bool,
) -> Result<Value, ApiError> {
    let state = call_control(
        env,
        Method::Post,
        "/halt",
        Some(json!({"halted": halted, "reason": reason, "actor": actor, "flatten": flatten})),
    )
    .await?;
    // The bots receive the flag in parallel, BOT_FAN_OUT at a time: a platform of thousands of
    // bots stays inside a Worker invocation's connection and subrequest limits, and each push's
    // HALT_PUSH_WITHIN starts when it is sent, not while it waits for a slot (all at once, the
    // last ones timed out queued behind the first and were reported unreached). Until its push
    // arrives a bot is still stopped: it re-reads the platform state before every decision.
    let ids = registered_bots(env, covers).await?;
    let results: Vec<Result<Value, ApiError>> = {
        use futures_util::stream::{self, StreamExt};
        stream::iter(ids.iter().map(|id| {
            let body = json!({"halted": halted, "actor": actor, "flatten": flatten});
            push_within(call_bot(env, id, Method::Post, "/control/halt", Some(body)))
        }))
        .buffered(super::BOT_FAN_OUT)
        .collect()
        .await
    };
    let mut bots = serde_json::Map::new();
    // Bots the push did not reach: they adopt the platform state themselves before their next
    // decision (they re-check it), but the operator is told which ones to watch.
    let mut unreached = Vec::new();
    for (id, res) in ids.into_iter().zip(results) {
        if res.is_err() {
            unreached.push(id.clone());
        }
        bots.insert(id, res.unwrap_or_else(|e| json!({"error": e.body()})));
    }
    // Panic close: every bot is halted first (entries stop everywhere at once), then the bots
    // cancel and close, BOT_FAN_OUT at a time (one after the other, a platform of a few
    // hundred bots took minutes to flatten; bots sharing an exchange account queue at its AccountDO);
    // the answer carries each bot's per-instrument result.
    let mut flattened = serde_json::Map::new();
    if flatten {
        let ids: Vec<String> = bots.keys().cloned().collect();
        let body = json!({"actor": actor, "reason": "platform halt with flatten"});
        for (id, res) in
            super::call_bots(env, ids, Method::Post, "/control/flatten", Some(body)).await
        {
            flattened.insert(id, res.unwrap_or_else(|e| json!({"error": e.body()})));
        }
    }
    Ok(
        json!({"halt": state, "flatten": flatten, "bots": bots, "flattened": flattened,
              "unreached": unreached}),
    )
}

/// `PUT /chat`: the Telegram chat control settings (docs/chat.md), validated and audited by the
/// ControlDO; the answer never carries the bot token or the webhook secret.
async fn set_chat(ctx: &Call<'_>) -> Result<Response, ApiError> {
    let Value::Object(mut body) = ctx.body.clone() else {
        return Err(ApiError::unprocessable(
            "not_object",
            "the chat settings are a JSON object",
        ));
    };
    body.insert("actor".into(), Value::String(ctx.principal.actor()));
    ok(
        200,
        &call_control(ctx.env, Method::Put, "/chat", Some(Value::Object(body))).await?,
    )
}

async fn fan_out(ctx: &Call<'_>, path: &str) -> Result<Response, ApiError> {
    let mut out = serde_json::Map::new();
    for (id, res) in super::call_bots(ctx.env, bot_ids(ctx).await?, Method::Get, path, None).await {
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
    let path = format!("/signals/{}", crate::path::encode(id));
    let mut resp = proxy
        .fetch_request(neo4j_proxy_request(ctx.env, Method::Get, &path, None)?)
        .await?;
    let status = resp.status_code();
    let value: Value = resp.json().await.unwrap_or(Value::Null);
    if status >= 400 {
        return Err(super::error_from(status, &value));
    }
    ok(200, &value)
}

/// `GET /api/v1/accounts/state?account=NAME`: an exchange account's AccountDO view (rate
/// budget, ban, user-data stream health: docs/streams.md). `NAME` is the account's name as the
/// bots derive it: `{Exchange}-{Market}-{REST base URL}-{first 8 bytes of SHA-256(API key), hex}`.
///
/// # Errors
/// 400 without a valid `account`; the AccountDO's error.
async fn account_state(ctx: &Call<'_>) -> Result<Response, ApiError> {
    let stub = account_stub(ctx)?;
    let mut resp = stub.fetch_with_str("https://account/state").await?;
    let value: Value = resp.json().await.unwrap_or(Value::Null);
    ok(200, &value)
}

/// `POST /api/v1/accounts/stream?account=NAME` `{"enabled": bool}`: switches the account's
/// user-data stream on or off (off by default; `KEEL_USER_STREAMS=on` switches every account on),
/// answering the account's view.
///
/// # Errors
/// 400 without a valid `account`; 422 without a boolean `enabled`; the AccountDO's error.
async fn account_stream(ctx: &Call<'_>) -> Result<Response, ApiError> {
    let enabled = ctx.body["enabled"].as_bool().ok_or_else(|| {
        ApiError::unprocessable("enabled_required", "give {\"enabled\": true|false}")
    })?;
    let stub = account_stub(ctx)?;
    let mut init = worker::RequestInit::new();
    init.with_method(Method::Post);
    init.with_body(Some(json!({ "enabled": enabled }).to_string().into()));
    let req = worker::Request::new_with_init("https://account/stream", &init)?;
    let mut resp = stub.fetch_with_request(req).await?;
    let status = resp.status_code();
    let value: Value = resp.json().await.unwrap_or(Value::Null);
    ok(status, &value)
}

/// The AccountDO named by `?account=`.
fn account_stub(ctx: &Call<'_>) -> Result<worker::Stub, ApiError> {
    let name = ctx
        .query
        .as_deref()
        .and_then(|q| {
            worker::Url::parse(&format!("https://q/?{q}"))
                .ok()?
                .query_pairs()
                .find(|(k, _)| k == "account")
                .map(|(_, v)| v.into_owned())
        })
        .ok_or_else(|| {
            ApiError::bad_request("account_required", "give ?account=NAME (docs/streams.md)")
        })?;
    if !is_account_name(&name) {
        return Err(ApiError::bad_request(
            "invalid_account",
            "account names read {Binance|Bybit}-{Spot|Linear}-{REST base URL}-{16 hex digits of the key's SHA-256, or public} (docs/streams.md)",
        ));
    }
    Ok(ctx.env.durable_object("ACCOUNT")?.get_by_name(&name)?)
}

/// Whether `name` has the shape bots give their AccountDO (`exchange.rs`): an operator's typo is
/// refused instead of creating an empty AccountDO under that name.
fn is_account_name(name: &str) -> bool {
    if name.len() > 300 {
        return false;
    }
    let Some(rest) = ["Binance-", "Bybit-"]
        .iter()
        .find_map(|p| name.strip_prefix(p))
    else {
        return false;
    };
    let Some(rest) = ["Spot-", "Linear-"]
        .iter()
        .find_map(|p| rest.strip_prefix(p))
    else {
        return false;
    };
    let Some((url, key)) = rest.rsplit_once('-') else {
        return false;
    };
    let key_ok = key == "public"
        || (key.len() == 16
            && key
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));
    key_ok
        && (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() > "https://".len()
}

#[cfg(test)]
mod account_name_tests {
    use super::is_account_name;

    #[test]
    fn accepts_what_bots_derive_and_refuses_the_rest() {
        assert!(is_account_name(
            "Binance-Linear-http://127.0.0.1:8080-0123456789abcdef"
        ));
        assert!(is_account_name("Bybit-Spot-https://api.bybit.com-public"));
        for bad in [
            "",
            "nonsense",
            "Kraken-Spot-https://x-0123456789abcdef",
            "Binance-Margin-https://x-0123456789abcdef",
            "Binance-Spot-ftp://x-0123456789abcdef",
            "Binance-Spot-https://-0123456789abcdef",
            "Binance-Spot-https://x-0123456789ABCDEF",
            "Binance-Spot-https://x-0123",
            "Binance-Spot-https://x-ééééééééééééééé",
        ] {
            assert!(!is_account_name(bad), "{bad}");
        }
        assert!(!is_account_name(&format!(
            "Binance-Spot-https://{}-public",
            "x".repeat(300)
        )));
    }
}
