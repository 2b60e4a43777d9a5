//! `GET /api/v1/bots/{id}/audit/verify`: the bot's hash chain checked twice, from the BotDO's own
//! audit table and from Neo4j (through neo4j-proxy), plus the first seq where the two copies
//! disagree. The DO part answers with Neo4j down, so an operator can always prove the primary
//! copy intact; a Neo4j failure is reported in its part, never as an error of the whole call.

use super::{call_bot, ok, Call};
use crate::env;
use keel_durable_objects::http::{neo4j_proxy_request, ApiError};
use keel_engine::audit::{chain_hash, first_divergence};
use serde_json::{json, Value};
use worker::{Method, Response};

/// Events per proxy page (the proxy's own maximum).
const NEO4J_PAGE: u64 = 1_000;
/// Pages read from Neo4j at most (a subrequest each): bounds one call's work.
const NEO4J_MAX_PAGES: u32 = 200;

/// Answers the verify call for bot `id`.
///
/// # Errors
/// The BotDO's errors (unknown bot, storage); Neo4j problems are reported in the answer.
pub async fn route(ctx: &Call<'_>, id: &str) -> Result<Response, ApiError> {
    let mut dobj = call_bot(ctx.env, id, Method::Get, "/view/audit_verify", None).await?;
    let do_hashes = hashes_of(&dobj["hashes"]);
    if let Some(obj) = dobj.as_object_mut() {
        obj.remove("hashes");
        obj.remove("bot_id");
    }
    let (neo4j, divergence) = match neo4j_side(ctx, id).await {
        Ok((report, neo_hashes)) => {
            let div = first_divergence(&do_hashes, &neo_hashes);
            (report, div)
        }
        Err(e) => (
            json!({"available": false, "ok": Value::Null, "error": e.body()}),
            None,
        ),
    };
    let all_ok = dobj["ok"] == Value::Bool(true)
        && neo4j["ok"] != Value::Bool(false)
        && divergence.is_none();
    ok(
        200,
        &json!({"bot_id": id, "ok": all_ok, "do": dobj, "neo4j": neo4j,
                "first_divergence": divergence}),
    )
}

fn hashes_of(v: &Value) -> Vec<(u64, String)> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| Some((p.get(0)?.as_u64()?, p.get(1)?.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// What stands for one Neo4j event in the comparison: its stored hash when that hash matches its
/// stored `prev_hash ‖ body`, else a marker that can never equal a DO hash (a body or prev_hash
/// altered in Neo4j diverges at that seq even though the stored hash was left alone).
fn neo4j_digest(ev: &Value) -> Option<(u64, String)> {
    let seq = ev["seq"].as_u64()?;
    let hash = ev["hash"].as_str()?;
    let computed = chain_hash(ev["prev_hash"].as_str()?, ev["body"].as_str()?);
    if computed == hash {
        Some((seq, hash.to_string()))
    } else {
        Some((seq, format!("altered:{computed}")))
    }
}

async fn proxy_get(ctx: &Call<'_>, path: &str) -> Result<Value, ApiError> {
    let proxy = ctx.env.service(env::NEO4J_PROXY).map_err(|_| {
        ApiError::unavailable(
            "neo4j_not_configured",
            "no neo4j-proxy binding: only the DO copy can be verified",
        )
    })?;
    let mut resp = proxy
        .fetch_request(neo4j_proxy_request(ctx.env, Method::Get, path, None)?)
        .await
        .map_err(|e| ApiError::unavailable("neo4j_unavailable", e.to_string()))?;
    let status = resp.status_code();
    let value: Value = resp.json().await.unwrap_or(Value::Null);
    if status >= 400 {
        return Err(super::error_from(status, &value));
    }
    Ok(value)
}

async fn neo4j_side(ctx: &Call<'_>, id: &str) -> Result<(Value, Vec<(u64, String)>), ApiError> {
    let enc = urlencode(id);
    let report = proxy_get(ctx, &format!("/bots/{enc}/verify")).await?;
    let mut hashes = Vec::new();
    let mut after = 0u64;
    let mut complete = false;
    for _ in 0..NEO4J_MAX_PAGES {
        let page = proxy_get(
            ctx,
            &format!("/bots/{enc}/events?after={after}&limit={NEO4J_PAGE}"),
        )
        .await?;
        let events = page["events"].as_array().cloned().unwrap_or_default();
        hashes.extend(events.iter().filter_map(neo4j_digest));
        match page["next_after"].as_u64() {
            Some(next) if next > after => after = next,
            _ => {
                complete = true;
                break;
            }
        }
    }
    let out = json!({
        "available": true,
        "ok": report["ok"],
        "count": report["count"],
        "max_seq": report["max_seq"],
        "gaps": report["gaps"],
        "first_break": report["hash_check"]["first_break"],
        "compared": hashes.len(),
        "compared_all": complete,
    });
    Ok((out, hashes))
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
