//! The admin API (`/api/v1`, docs/admin-api.md). Authenticates, checks the role, then forwards to the
//! Durable Object that owns the data; bot-scoped calls go to that bot's `BotDO`, platform-wide
//! ones to the `ControlDO`.

mod audit_verify;
mod backtest;
mod bots;
mod calls;
mod compare;
mod data;
pub(crate) mod gateway;
mod history_store;
mod klines;
mod optimize;
pub(crate) mod platform;
mod portfolio;
mod shadow;
mod strategies;

use crate::auth::{authenticate, Principal};
use crate::env;
use keel_durable_objects::http::{json, respond, ApiError};
use serde_json::Value;
use worker::{Env, Method, Request, RequestInit, Response};

/// Routes one admin API request (`rest` is the path after `/api/v1`), adding the gateway's
/// headers to every answer, errors included.
///
/// # Errors
/// Only when an answer cannot be built at all (handler errors become JSON answers here).
pub async fn handle(req: Request, env: &Env, rest: &str) -> Result<Response, ApiError> {
    let origin = gateway::request_origin(&req);
    let resp = respond(dispatch(req, env, rest).await)?;
    Ok(gateway::finish(resp, origin.as_deref(), env))
}

async fn dispatch(mut req: Request, env: &Env, rest: &str) -> Result<Response, ApiError> {
    if req.method() == Method::Options {
        return gateway::preflight(&req, env);
    }
    gateway::check_origin(&req, env)?;
    if rest == "/openapi.json" && req.method() == Method::Get {
        return platform::openapi();
    }
    // Per IP before authentication (throttles token guessing), per token after it.
    gateway::rate_limit(env, &format!("ip:{}", gateway::client_ip(&req))).await?;
    let principal = authenticate(&req, env).await?;
    gateway::rate_limit(env, &format!("token:{}", principal.id)).await?;
    let method = req.method();
    if method != Method::Get && method != Method::Head {
        principal.require_admin()?;
    }
    if rest.trim_matches('/') == "backtest" {
        // A backtest reads no bot and changes nothing: open to scoped tokens too.
        // Its own (larger) body cap: inline bars do not fit the admin API's 64 KiB.
        let query = req.url().ok().and_then(|u| u.query().map(String::from));
        return backtest::handle(&mut req, env, query.as_deref()).await;
    }
    if rest.trim_matches('/') == "optimize" {
        // A bounded parameter search: like a backtest, reads no bot and changes nothing.
        return optimize::handle(&mut req, env).await;
    }
    let body = read_body(&mut req, &method).await?;
    // Path parameters decoded once, here: handlers see `strat:…`, never `strat%3A…`.
    let segments = crate::path::segments(rest)?;
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    match scope_of(&method, &segs) {
        Scope::Bot(id) => principal.require_bot(id)?,
        Scope::Platform(what) => principal.require_unscoped(what)?,
        Scope::Filtered | Scope::Open => {}
    }
    let query = req.url().ok().and_then(|u| u.query().map(String::from));
    let ctx = Call {
        env,
        principal: &principal,
        body,
        query,
    };
    if method == Method::Get && segs.as_slice() == ["metrics"] {
        // Content negotiation: `Accept: text/plain` selects the Prometheus exposition.
        let accept = req
            .headers()
            .get("Accept")
            .ok()
            .flatten()
            .unwrap_or_default();
        return crate::metrics::handle(&ctx, &accept).await;
    }
    match segs.as_slice() {
        // A/B with a paper shadow: creates a bot (through `bots`) and reads a comparison.
        ["bots", id, "shadow"] if method == Method::Post => shadow::create(&ctx, id).await,
        ["bots", id, "promote"] if method == Method::Post => shadow::promote(&ctx, id).await,
        ["bots", ..] => bots::route(&ctx, &method, &segs[1..]).await,
        // Historical candles in R2, next to the backtest route that reads them (`source: stored`).
        ["data", ..] => data::route(&ctx, &method, &segs[1..]).await,
        // The strategy catalogue and spec validation (pure: no I/O beyond the answer).
        ["strategies", ..] => strategies::route(&ctx, &method, &segs[1..]),
        // Two bots' analytics side by side (A/B tests); its bots are checked against the scope.
        ["compare"] if method == Method::Get => compare::route(&ctx).await,
        // Limits across bots (ControlDO scopes) and capital allocation proposals.
        ["portfolio", rest @ ..] => portfolio::route(&ctx, &method, rest).await,
        // Influencer/channel calls, their scores and leaderboard (platform-wide, ControlDO).
        ["calls", ..] => calls::route(&ctx, &method, &segs[1..]).await,
        _ => platform::route(&ctx, &method, &segs).await,
    }
}

/// How a route meets a token's scope (a token limited to some bots, issue 26 item 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope<'a> {
    /// About one bot: refused as unknown when the bot is outside the scope.
    Bot(&'a str),
    /// Over every bot: the handler keeps the bots in scope (lists, fan-outs, a created bot's id).
    Filtered,
    /// About no bot (identity, market data).
    Open,
    /// Platform-wide: refused to a scoped token, naming what it is.
    Platform(&'static str),
}

/// The scope rule of a route (path segments after `/api/v1`). Routes not named here are
/// platform-wide, so a route added later is closed to scoped tokens until it is placed.
fn scope_of<'a>(method: &Method, segs: &[&'a str]) -> Scope<'a> {
    match segs {
        ["bots"] => Scope::Filtered,
        ["bots", id, ..] => Scope::Bot(id),
        ["pnl" | "reconciliation" | "reconcile" | "metrics"] => Scope::Filtered,
        // The bots are in the query: the handler requires each of them.
        ["compare"] => Scope::Filtered,
        ["whoami"] => Scope::Open,
        ["data"] if *method == Method::Get => Scope::Open,
        ["data", ..] => Scope::Platform("importing shared candle history"),
        ["tokens", ..] => Scope::Platform("managing tokens"),
        ["halt" | "resume"] => Scope::Platform("the platform halt"),
        ["audit"] => Scope::Platform("the platform audit chain"),
        ["credentials", ..] => Scope::Platform("credential rotation"),
        ["health"] => Scope::Platform("platform health"),
        ["signals", ..] => Scope::Platform("the signal graph across bots"),
        ["portfolio", ..] => Scope::Platform("portfolio limits and allocation across bots"),
        ["calls", ..] => Scope::Platform("the call logger"),
        ["chat", ..] => Scope::Platform("chat control settings"),
        _ => Scope::Platform("this route"),
    }
}

/// One authenticated API call, as handlers see it.
#[derive(Debug)]
pub struct Call<'a> {
    /// Worker environment.
    pub env: &'a Env,
    /// Caller.
    pub principal: &'a Principal,
    /// Parsed JSON body (`Null` for GET or empty bodies).
    pub body: Value,
    /// Raw query string.
    pub query: Option<String>,
}

/// A POST route's body as a JSON object, read under `cap`: 405 naming `path` for another method,
/// 413 over the cap (`what` names the body), 400 for text that is not JSON, and the route's own
/// 422 (`not_object`) for JSON that is not an object. One reader for the backtest and optimize
/// routes, which take their own larger bodies outside the admin API's cap.
pub(crate) async fn post_object(
    req: &mut Request,
    cap: usize,
    what: &str,
    path: &str,
    not_object: impl FnOnce() -> ApiError,
) -> Result<serde_json::Map<String, Value>, ApiError> {
    if req.method() != Method::Post {
        return Err(ApiError::new(
            405,
            "method_not_allowed",
            format!("use POST {path}"),
        ));
    }
    let bytes = read_capped(req, cap, what).await?;
    match serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request("invalid_json", format!("request body: {e}")))?
    {
        Value::Object(obj) => Ok(obj),
        _ => Err(not_object()),
    }
}

/// Largest admin request body.
const MAX_ADMIN_BODY: usize = 64 * 1024;

/// The request body, refused with 413 `body_too_large` when its declared length (before reading)
/// or its actual length exceeds `cap`; `what` names the kind of body in the message. One reader
/// for the admin API and the backtest route, which only differ in their caps.
pub(crate) async fn read_capped(
    req: &mut Request,
    cap: usize,
    what: &str,
) -> Result<Vec<u8>, ApiError> {
    let declared = req
        .headers()
        .get("Content-Length")
        .ok()
        .flatten()
        .and_then(|v| v.parse::<usize>().ok());
    let too_large = || {
        ApiError::new(
            413,
            "body_too_large",
            format!("{what} bodies are capped at {cap} bytes"),
        )
    };
    if declared.is_some_and(|n| n > cap) {
        return Err(too_large());
    }
    let bytes = req.bytes().await?;
    if bytes.len() > cap {
        return Err(too_large());
    }
    Ok(bytes)
}

async fn read_body(req: &mut Request, method: &Method) -> Result<Value, ApiError> {
    if *method == Method::Get || *method == Method::Head {
        return Ok(Value::Null);
    }
    let bytes = read_capped(req, MAX_ADMIN_BODY, "admin").await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request("invalid_json", format!("request body: {e}")))
}

/// Sends a JSON request to a Durable Object stub and returns its JSON answer, turning an error
/// answer back into the same [`ApiError`].
async fn call_stub(
    stub: worker::Stub,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Result<Value, ApiError> {
    let mut init = RequestInit::new();
    init.with_method(method);
    if let Some(b) = body {
        init.with_body(Some(
            serde_json::to_string(&b)
                .map_err(|e| ApiError::internal(e.to_string()))?
                .into(),
        ));
    }
    let req = Request::new_with_init(&format!("https://do{path}"), &init)?;
    let mut resp = stub.fetch_with_request(req).await?;
    let status = resp.status_code();
    let value: Value = resp.json().await.unwrap_or(Value::Null);
    if status >= 400 {
        return Err(error_from(status, &value));
    }
    Ok(value)
}

/// Rebuilds an [`ApiError`] from a Durable Object's error answer.
pub fn error_from(status: u16, value: &Value) -> ApiError {
    let mut err = ApiError::new(
        status,
        value["code"].as_str().unwrap_or("error"),
        value["message"].as_str().unwrap_or("request failed"),
    );
    if let Some(f) = value["field"].as_str() {
        err = err.with_field(f);
    }
    if !value["detail"].is_null() {
        err = err.with_detail(value["detail"].clone());
    }
    if !value["mode"].is_null() {
        err.mode = Some(value["mode"].clone());
    }
    err
}

/// Calls the ControlDO.
///
/// # Errors
/// The ControlDO's error, or 500/503 when it cannot be reached.
pub async fn call_control(
    env: &Env,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Result<Value, ApiError> {
    let ns = env.durable_object(env::CONTROL)?;
    let stub = ns.get_by_name(env::CONTROL_NAME)?;
    call_stub(stub, method, path, body).await
}

/// Calls a bot's BotDO.
///
/// # Errors
/// The BotDO's error, or 500/503 when it cannot be reached.
pub async fn call_bot(
    env: &Env,
    bot_id: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Result<Value, ApiError> {
    let stub = bot_stub(env, bot_id)?;
    call_stub(stub, method, &format!("/{bot_id}{path}"), body).await
}

/// Bots asked at once by a call to every bot (the bot list, platform P&L and reconciliation,
/// the cron's ticks, the panic close).
/// One at a time, a platform of a few hundred bots took seconds per dashboard refresh; all at
/// once, one request would open thousands of Durable Object calls.
pub const BOT_FAN_OUT: usize = 32;

/// Calls `path` (with the same `body`) on each of `ids`' BotDOs, [`BOT_FAN_OUT`] at a time,
/// answering in `ids`' order.
pub async fn call_bots(
    env: &Env,
    ids: Vec<String>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Vec<(String, Result<Value, ApiError>)> {
    use futures_util::stream::{self, StreamExt};
    stream::iter(ids.into_iter().map(|id| {
        let (method, body) = (method.clone(), body.clone());
        async move {
            let res = call_bot(env, &id, method, path, body).await;
            (id, res)
        }
    }))
    .buffered(BOT_FAN_OUT)
    .collect()
    .await
}

/// The stub of a bot's Durable Object, placed near the exchanges (docs/deploy.md).
///
/// # Errors
/// 400 when the id is not a valid bot id.
pub fn bot_stub(env: &Env, bot_id: &str) -> Result<worker::Stub, ApiError> {
    keel_engine::ids::BotId::new(bot_id)
        .map_err(|e| ApiError::not_found("unknown_bot", format!("no bot {bot_id:?}: {e}")))?;
    let ns = env.durable_object(env::BOT)?;
    match env::get(env, env::DEFAULT_LOCATION_HINT) {
        Some(hint) => Ok(ns.get_by_name_with_location_hint(bot_id, &hint)?),
        None => Ok(ns.get_by_name(bot_id)?),
    }
}

/// Answers with a JSON value.
fn ok(status: u16, value: &Value) -> Result<Response, ApiError> {
    Ok(json(status, value)?)
}

#[cfg(test)]
mod tests {
    use super::{scope_of, Scope};
    use worker::Method;

    #[test]
    fn every_route_has_a_scope_rule_and_the_unknown_ones_are_platform_wide() {
        let get = Method::Get;
        let post = Method::Post;
        assert_eq!(scope_of(&get, &["bots"]), Scope::Filtered);
        assert_eq!(scope_of(&post, &["bots"]), Scope::Filtered);
        assert_eq!(scope_of(&get, &["bots", "a"]), Scope::Bot("a"));
        assert_eq!(scope_of(&get, &["bots", "a", "fills"]), Scope::Bot("a"));
        assert_eq!(
            scope_of(&post, &["bots", "a", "webhook-secret", "rotate"]),
            Scope::Bot("a")
        );
        for list in ["pnl", "reconciliation", "reconcile", "metrics"] {
            assert_eq!(scope_of(&get, &[list]), Scope::Filtered, "{list}");
        }
        assert_eq!(scope_of(&get, &["whoami"]), Scope::Open);
        assert_eq!(scope_of(&get, &["data"]), Scope::Open);
        for platform in [
            &["tokens"][..],
            &["tokens", "tok_1"],
            &["halt"],
            &["resume"],
            &["audit"],
            &["credentials", "rotate"],
            &["health"],
            &["signals", "s1"],
            &["data", "import"],
            &["calls"],
            &["calls", "c1", "score"],
            &["something-new"],
        ] {
            assert!(
                matches!(scope_of(&post, platform), Scope::Platform(_)),
                "{platform:?}"
            );
        }
    }
}
