//! Read-only views of one bot for the admin API and the dashboard. Every decimal is a string.

use super::{outbox, BotDO};
use crate::db::int;
use crate::http::{json, ApiError};
use serde::Deserialize;
use serde_json::{json, Value};
use worker::Response;

#[derive(Debug, Deserialize)]
struct AuditRow {
    seq: i64,
    time_ms: i64,
    kind: String,
    hash: String,
    prev_hash: String,
    body: String,
}

#[derive(Debug, Deserialize)]
struct SignalRow {
    id: String,
    received_ms: i64,
    status: i64,
    outcome: String,
}

#[derive(Debug, Deserialize)]
struct BodyRow {
    body: String,
}

#[derive(Debug, Deserialize)]
struct Count {
    n: i64,
}

fn param(query: Option<&str>, name: &str) -> Option<String> {
    query?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

fn limit(query: Option<&str>, default: i64, max: i64) -> i64 {
    param(query, "limit")
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
        .clamp(1, max)
}

/// Number of open orders plus non-flat positions (deletion guard, health).
pub fn open_exposure(bot: &BotDO) -> Result<i64, ApiError> {
    let orders: Option<Count> = bot.db.row(
        "SELECT COUNT(*) AS n FROM orders WHERE status IN ('intent','sent','accepted','partially_filled','cancel_sent','unknown')",
        vec![],
    )?;
    let positions = super::book_views::open_positions(bot)?;
    Ok(orders.map(|c| c.n).unwrap_or(0) + positions)
}

/// Renders a named view.
///
/// # Errors
/// 404 for an unknown view or bot; storage errors.
pub fn render(bot: &BotDO, view: &str, query: Option<&str>) -> Result<Response, ApiError> {
    let value = match view {
        "audit" => audit(bot, query)?,
        "audit_verify" => super::audit_verify::verify(bot)?,
        "outbox" => serde_json::to_value(outbox::health(bot)?)
            .map_err(|e| ApiError::internal(e.to_string()))?,
        "signals" => signals(bot, query)?,
        "orders" => bodies(
            bot,
            "SELECT body FROM orders ORDER BY updated_ms DESC LIMIT ?",
            query,
        )?,
        "fills" => bodies(
            bot,
            "SELECT body FROM fills ORDER BY time_ms DESC LIMIT ?",
            query,
        )?,
        other => super::book_views::view(bot, other, query)?,
    };
    Ok(json(200, &value)?)
}

fn audit(bot: &BotDO, query: Option<&str>) -> Result<Value, ApiError> {
    let after: i64 = param(query, "after")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let rows: Vec<AuditRow> = bot.db.rows(
        "SELECT seq, time_ms, kind, hash, prev_hash, body FROM audit WHERE seq > ? ORDER BY seq LIMIT ?",
        vec![int(after), int(limit(query, 100, 1000))],
    )?;
    let events: Vec<Value> = rows
        .into_iter()
        .map(|r| {
            let record: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
            json!({"seq": r.seq, "time_ms": r.time_ms, "kind": r.kind, "hash": r.hash,
                   "prev_hash": r.prev_hash, "record": record})
        })
        .collect();
    let st = outbox::state(bot)?;
    Ok(
        json!({"bot_id": bot.bot_id()?.to_string(), "events": events,
              "last_seq": outbox::last_seq(bot), "shipped_seq": st.shipped_seq}),
    )
}

fn signals(bot: &BotDO, query: Option<&str>) -> Result<Value, ApiError> {
    let rows: Vec<SignalRow> = bot.db.rows(
        "SELECT id, received_ms, status, outcome FROM signals ORDER BY received_ms DESC LIMIT ?",
        vec![int(limit(query, 50, 500))],
    )?;
    Ok(Value::Array(
        rows.into_iter()
            .map(|r| {
                json!({"signal_id": r.id, "received_ms": r.received_ms, "status": r.status,
                       "outcome": serde_json::from_str::<Value>(&r.outcome).unwrap_or(Value::Null)})
            })
            .collect(),
    ))
}

fn bodies(bot: &BotDO, sql: &str, query: Option<&str>) -> Result<Value, ApiError> {
    let rows: Vec<BodyRow> = bot.db.rows(sql, vec![int(limit(query, 100, 1000))])?;
    Ok(Value::Array(
        rows.into_iter()
            .filter_map(|r| serde_json::from_str(&r.body).ok())
            .collect(),
    ))
}
