//! Route handlers: authenticate, validate, call Neo4j through [`crate::neo4j`], shape the answer
//! with the pure modules. Every failure answers the [`ShipError`] JSON with a status that says
//! whether to retry: `503` transient (Neo4j down or busy, not configured), `502` permanent Neo4j
//! error, `409` hash conflict, `400` bad request or event, `401` bad proxy token, `404` not found.

use crate::cypher::{CHAIN_GAPS, CHAIN_STATS, EVENTS_PAGE, PING, SIGNAL_CHAIN, WRITE_EVENTS};
use crate::neo4j::{env_text, schema_ready, Neo4jClient};
use crate::query::{FailureClass, QueryFailure};
use crate::reads::{
    events_page_json, links_from_rows, page_params, percent_decode, signal_chain_json, verify_json,
    verify_page, PAGE_DEFAULT, PAGE_MAX, VERIFY_MAX, VERIFY_PAGE,
};
use crate::rows::batch_rows;
use crate::token_ok;
use keel_engine::audit::{ShipAck, ShipError, ShipRequest, VerifyAnchor};
use keel_engine::ids::BotId;
use serde_json::{json, Value};
use worker::{Date, Env, Request, Response, Result, RouteContext, Router};

/// Header carrying the shared `PROXY_TOKEN`.
pub const TOKEN_HEADER: &str = "X-Proxy-Token";

const NOT_CONFIGURED: &str = "NEO4J_URL is not set. Set it with `npx wrangler secret put NEO4J_URL -c neo4j-proxy/wrangler.toml` \
(e.g. https://<id>.databases.neo4j.io or http://127.0.0.1:7474), plus NEO4J_USER and NEO4J_PASSWORD; NEO4J_DATABASE defaults to neo4j. \
Locally put them in neo4j-proxy/.dev.vars.";

/// The route table.
pub fn router() -> Router<'static, ()> {
    Router::new()
        .get_async("/health", |req, ctx| async move {
            guarded(req, ctx, health).await
        })
        .post_async("/events", |req, ctx| async move {
            guarded(req, ctx, write_events).await
        })
        .get_async("/signals/:signal_id", |req, ctx| async move {
            guarded(req, ctx, signal_chain).await
        })
        .get_async("/bots/:bot_id/events", |req, ctx| async move {
            guarded(req, ctx, bot_events).await
        })
        .get_async("/bots/:bot_id/verify", |req, ctx| async move {
            guarded(req, ctx, bot_verify).await
        })
}

type Ctx = RouteContext<()>;

async fn guarded<F, Fut>(req: Request, ctx: Ctx, handler: F) -> Result<Response>
where
    F: FnOnce(Request, Ctx) -> Fut,
    Fut: std::future::Future<Output = Result<Response>>,
{
    let expected = env_text(&ctx.env, "PROXY_TOKEN");
    let got = req.headers().get(TOKEN_HEADER)?;
    if !token_ok(expected.as_deref(), got.as_deref()) {
        return fail(
            401,
            false,
            "proxy",
            "unauthorized",
            &format!("missing or wrong {TOKEN_HEADER}"),
        );
    }
    handler(req, ctx).await
}

fn fail(status: u16, retryable: bool, source: &str, code: &str, message: &str) -> Result<Response> {
    fail_with(
        status,
        ShipError {
            ok: false,
            retryable,
            source: source.into(),
            code: code.into(),
            message: message.into(),
            conflicts: vec![],
        },
    )
}

fn fail_with(status: u16, err: ShipError) -> Result<Response> {
    Ok(Response::from_json(&err)?.with_status(status))
}

fn neo4j_fail(f: &QueryFailure) -> Result<Response> {
    let source = if f.status == 0 { "network" } else { "neo4j" };
    match f.class {
        FailureClass::Transient => fail(503, true, source, &f.code, &f.message),
        FailureClass::Permanent => fail(502, false, source, &f.code, &f.message),
    }
}

/// The configured client, or the response to send instead.
fn client(env: &Env) -> std::result::Result<Neo4jClient, Result<Response>> {
    match Neo4jClient::from_env(env) {
        Ok(Some(c)) => Ok(c),
        Ok(None) => Err(fail(503, true, "proxy", "not_configured", NOT_CONFIGURED)),
        Err(e) => Err(fail(503, true, "proxy", "bad_config", &e.to_string())),
    }
}

async fn write_events(mut req: Request, ctx: Ctx) -> Result<Response> {
    let batch: ShipRequest = match req
        .text()
        .await
        .map(|t| serde_json::from_str::<ShipRequest>(&t))
    {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => {
            return fail(
                400,
                false,
                "proxy",
                "bad_request",
                &format!("body must be {{\"events\":[sealed event]}}: {e}"),
            )
        }
        Err(e) => return fail(400, false, "proxy", "bad_request", &e.to_string()),
    };
    let rows = match batch_rows(&batch.events) {
        Ok(r) => r,
        Err(e) => return fail(400, false, "proxy", "bad_event", &e.to_string()),
    };
    let neo = match client(&ctx.env) {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    if let Err(f) = neo.ensure_schema().await {
        return neo4j_fail(&f);
    }
    let result = match neo.run(WRITE_EVENTS, json!({ "events": rows })).await {
        Ok(r) => r,
        Err(f) => return neo4j_fail(&f),
    };
    let mut written = 0u64;
    let mut last_seq = Vec::new();
    let mut conflicts = Vec::new();
    for row in &result.rows {
        written += row.get("rows").and_then(Value::as_u64).unwrap_or(0);
        if let (Some(bot), Some(seq)) = (
            row.get("bot_id").and_then(Value::as_str),
            row.get("last_seq").and_then(Value::as_u64),
        ) {
            last_seq.push((bot.to_string(), seq));
        }
        conflicts.extend(
            row.get("conflicts")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_u64),
        );
    }
    if !conflicts.is_empty() {
        let message = "Neo4j already holds these seqs with a different hash: the bot's chain diverged from the audit copy";
        return fail_with(
            409,
            ShipError {
                ok: false,
                retryable: false,
                source: "proxy".into(),
                code: "hash_conflict".into(),
                message: message.into(),
                conflicts,
            },
        );
    }
    if written != batch.events.len() as u64 {
        return fail(
            503,
            true,
            "proxy",
            "short_write",
            &format!("wrote {written} of {} events", batch.events.len()),
        );
    }
    let ack = ShipAck {
        ok: true,
        events: written,
        last_seq,
        nodes_created: result.counter("nodesCreated"),
        relationships_created: result.counter("relationshipsCreated"),
    };
    Response::from_json(&ack)
}

async fn health(_req: Request, ctx: Ctx) -> Result<Response> {
    let neo = match Neo4jClient::from_env(&ctx.env) {
        Ok(Some(c)) => c,
        Ok(None) => {
            return Ok(Response::from_json(
                &json!({"ok": false, "configured": false, "message": NOT_CONFIGURED}),
            )?
            .with_status(503))
        }
        Err(e) => {
            return Ok(Response::from_json(
                &json!({"ok": false, "configured": true, "message": e.to_string()}),
            )?
            .with_status(503))
        }
    };
    let started = Date::now().as_millis();
    let ping = neo.run(PING, json!({})).await;
    let latency_ms = Date::now().as_millis().saturating_sub(started);
    let discovery = neo.discovery().await.ok();
    let field = |k: &str| {
        discovery
            .as_ref()
            .and_then(|d| d.get(k))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let body = json!({
        "ok": ping.is_ok(), "configured": true, "database": neo.database(), "reachable": ping.is_ok(),
        "latency_ms": latency_ms, "neo4j_version": field("neo4j_version"), "neo4j_edition": field("neo4j_edition"),
        "schema_ready": schema_ready(), "error": ping.err(),
    });
    let status = if body["ok"] == json!(true) { 200 } else { 503 };
    Ok(Response::from_json(&body)?.with_status(status))
}

async fn signal_chain(req: Request, ctx: Ctx) -> Result<Response> {
    let signal_id = percent_decode(
        ctx.param("signal_id")
            .map(String::as_str)
            .unwrap_or_default(),
    );
    let bot_id = req
        .url()?
        .query_pairs()
        .find(|(k, _)| k == "bot_id")
        .map(|(_, v)| v.into_owned());
    let neo = match client(&ctx.env) {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    match neo
        .run(
            SIGNAL_CHAIN,
            json!({"signal_id": signal_id, "bot_id": bot_id}),
        )
        .await
    {
        Ok(r) if r.rows.is_empty() => fail(
            404,
            false,
            "proxy",
            "not_found",
            &format!("no signal {signal_id:?} in Neo4j"),
        ),
        Ok(r) => Response::from_json(&signal_chain_json(&signal_id, &r.rows)),
        Err(f) => neo4j_fail(&f),
    }
}

fn bot_param(ctx: &Ctx) -> std::result::Result<BotId, Result<Response>> {
    BotId::new(ctx.param("bot_id").cloned().unwrap_or_default())
        .map_err(|e| fail(400, false, "proxy", "bad_bot_id", &e.to_string()))
}

async fn bot_events(req: Request, ctx: Ctx) -> Result<Response> {
    let bot = match bot_param(&ctx) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let (after, limit) = match page_params(req.url()?.query(), PAGE_DEFAULT, PAGE_MAX) {
        Ok(p) => p,
        Err(m) => return fail(400, false, "proxy", "bad_query", &m),
    };
    let neo = match client(&ctx.env) {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    match neo
        .run(
            EVENTS_PAGE,
            json!({"bot_id": bot.as_str(), "after": after, "limit": limit}),
        )
        .await
    {
        Ok(r) => match events_page_json(bot.as_str(), &r.rows, limit) {
            Ok(v) => Response::from_json(&v),
            Err(e) => fail(502, false, "neo4j", "bad_row", &e.to_string()),
        },
        Err(f) => neo4j_fail(&f),
    }
}

async fn bot_verify(req: Request, ctx: Ctx) -> Result<Response> {
    let bot = match bot_param(&ctx) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let (after, budget) = match page_params(req.url()?.query(), VERIFY_MAX, VERIFY_MAX) {
        Ok(p) => p,
        Err(m) => return fail(400, false, "proxy", "bad_query", &m),
    };
    let neo = match client(&ctx.env) {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    let b = bot.as_str();
    let stats = match neo.run(CHAIN_STATS, json!({"bot_id": b})).await {
        Ok(r) => r.rows.into_iter().next(),
        Err(f) => return neo4j_fail(&f),
    };
    let gaps: Vec<u64> = match neo
        .run(CHAIN_GAPS, json!({"bot_id": b, "limit": 100}))
        .await
    {
        Ok(r) => r
            .rows
            .iter()
            .filter_map(|row| row.get("missing").and_then(Value::as_u64))
            .collect(),
        Err(f) => return neo4j_fail(&f),
    };
    let mut anchor = VerifyAnchor::genesis();
    if after > 0 {
        match neo
            .run(
                EVENTS_PAGE,
                json!({"bot_id": b, "after": after - 1, "limit": 1}),
            )
            .await
            .map(|r| links_from_rows(&r.rows))
        {
            Ok(Ok(l)) if l.first().map(|x| x.seq) == Some(after) => {
                anchor = VerifyAnchor {
                    seq: after,
                    hash: l[0].hash.clone(),
                }
            }
            Ok(_) => {
                return fail(
                    404,
                    false,
                    "proxy",
                    "not_found",
                    &format!("no event {b}/{after} to continue from"),
                )
            }
            Err(f) => return neo4j_fail(&f),
        }
    }
    let mut report = keel_engine::audit::VerifyReport {
        checked: 0,
        last_good: anchor.clone(),
        first_break: None,
    };
    loop {
        let remaining = budget.saturating_sub(report.checked);
        let page = VERIFY_PAGE.min(remaining);
        let rows = match neo
            .run(
                EVENTS_PAGE,
                json!({"bot_id": b, "after": report.last_good.seq, "limit": page}),
            )
            .await
        {
            Ok(r) => r.rows,
            Err(f) => return neo4j_fail(&f),
        };
        let links = match links_from_rows(&rows) {
            Ok(l) => l,
            Err(e) => return fail(502, false, "neo4j", "bad_row", &e.to_string()),
        };
        let (step, done) = verify_page(b, report.last_good.clone(), &links, page, remaining);
        report = keel_engine::audit::VerifyReport {
            checked: report.checked + step.checked,
            last_good: step.last_good,
            first_break: step.first_break,
        };
        if done {
            break;
        }
    }
    Response::from_json(&verify_json(b, stats.as_ref(), &gaps, after, &report))
}
