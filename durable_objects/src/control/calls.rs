//! The call logger's storage in the `ControlDO` (calls are platform-wide, not a bot's): every
//! version of every call in one hash chain (`call_versions`, engine `calls::log`), and the stored
//! score of each call (`call_scores`), always computed from the call's **first** version so an
//! edit cannot change it. The engine's errors become HTTP answers here, on the Worker side.
//!
//! Routes (under the ControlDO; the edge forwards `/api/v1/calls…`):
//! `POST /calls`, `GET /calls`, `GET /calls/leaderboard`, `GET /calls/{id}`,
//! `POST /calls/{id}/versions` (an edit), `POST /calls/{id}/score`.

use crate::db::{int, text, Db, WriteBatch};
use crate::http::{json, read_json, ApiError};
use keel_engine::calls::{
    leaderboard, parse_message, score_call, CallFields, CallInput, CallLog, CallLogError,
    CallOrigin, CallScore, CallVersion, ScoreParams,
};
use keel_engine::history::Candle;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json as j;
use worker::{Method, Request, Response};

/// Tables of the call logger.
pub const SCHEMA: [&str; 2] = [
    "CREATE TABLE IF NOT EXISTS call_versions (seq INTEGER PRIMARY KEY, call_id TEXT NOT NULL, body TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS call_scores (call_id TEXT PRIMARY KEY, version INTEGER NOT NULL, scored_ms INTEGER NOT NULL, body TEXT NOT NULL)",
];

/// Largest pasted message (characters): a channel post, not a document.
const MAX_TEXT_CHARS: usize = 4_000;

/// `POST /calls` and `POST /calls/{id}/versions`: a pasted message or the fields.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CallBody {
    #[serde(default)]
    call_id: Option<String>,
    #[serde(default)]
    source: Option<String>,
    /// When the call was made (defaults to the receive time).
    #[serde(default)]
    call_time_ms: Option<i64>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    fields: Option<CallFields>,
}

/// `POST /calls/{id}/score`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScoreBody {
    candles: Vec<Candle>,
    as_of_ms: i64,
    #[serde(default)]
    slippage: Decimal,
    #[serde(default)]
    fee_rate: Decimal,
}

#[derive(Debug, Deserialize)]
struct BodyRow {
    body: String,
}

/// The HTTP answer of an engine error.
fn log_error(e: CallLogError) -> ApiError {
    match e {
        CallLogError::BadSource(_) => ApiError::bad_request("invalid_source", e.to_string()),
        CallLogError::BadCallId(_) => ApiError::bad_request("invalid_call_id", e.to_string()),
        CallLogError::Duplicate(_) => ApiError::conflict("call_exists", e.to_string()),
        CallLogError::Unknown(_) => ApiError::not_found("unknown_call", e.to_string()),
        CallLogError::TimeBackwards { .. } => {
            ApiError::unprocessable("time_backwards", e.to_string())
        }
        CallLogError::Serialize(_) => ApiError::internal(e.to_string()),
    }
}

fn load(db: &Db) -> Result<CallLog, ApiError> {
    let rows: Vec<BodyRow> = db.rows("SELECT body FROM call_versions ORDER BY seq", vec![])?;
    let versions = rows
        .into_iter()
        .map(|r| serde_json::from_str::<CallVersion>(&r.body))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::internal(format!("stored call version: {e}")))?;
    Ok(CallLog { versions })
}

fn stored_score(db: &Db, call_id: &str) -> Result<Option<serde_json::Value>, ApiError> {
    let row: Option<BodyRow> = db.row(
        "SELECT body FROM call_scores WHERE call_id = ?",
        vec![text(call_id)],
    )?;
    row.map(|r| serde_json::from_str(&r.body))
        .transpose()
        .map_err(|e| ApiError::internal(format!("stored call score: {e}")))
}

/// The input of a version: the text parsed by the engine grammar, or the fields as given.
fn input(body: CallBody, call_id: String, source: String, now: i64) -> Result<CallInput, ApiError> {
    let (origin, text, fields, flags) = match (body.text, body.fields) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "text_or_fields",
                "send the pasted text or the fields, not both",
            ))
        }
        (Some(t), None) => {
            if t.chars().count() > MAX_TEXT_CHARS {
                return Err(ApiError::bad_request(
                    "text_too_long",
                    format!("a call message is at most {MAX_TEXT_CHARS} characters"),
                )
                .with_field("text"));
            }
            let parsed = parse_message(&t);
            (CallOrigin::Text, Some(t), parsed.fields, parsed.flags)
        }
        (None, Some(f)) => (CallOrigin::Fields, None, f, Vec::new()),
        (None, None) => {
            return Err(ApiError::bad_request(
                "text_or_fields",
                "a call needs its pasted text or its fields",
            ))
        }
    };
    Ok(CallInput {
        call_id,
        source,
        received_ms: now,
        call_time_ms: body.call_time_ms.unwrap_or(now),
        origin,
        text,
        fields,
        flags,
    })
}

fn store(db: &Db, v: &CallVersion) -> Result<(), ApiError> {
    let body = serde_json::to_string(v).map_err(|e| ApiError::internal(e.to_string()))?;
    let seq = i64::try_from(v.seq).map_err(|_| ApiError::internal("call seq overflow"))?;
    let mut batch = WriteBatch::new();
    batch.push(
        "INSERT INTO call_versions (seq, call_id, body) VALUES (?, ?, ?)",
        vec![int(seq), text(v.call_id.clone()), text(body)],
    );
    db.commit(batch)?;
    Ok(())
}

/// Routes `/calls…` inside the ControlDO.
///
/// # Errors
/// Any [`ApiError`].
pub async fn route(
    db: &Db,
    req: &mut Request,
    method: &Method,
    segs: &[&str],
    now: i64,
) -> Result<Response, ApiError> {
    match (method, segs) {
        (Method::Post, ["calls"]) => {
            let body: CallBody = read_json(req).await?;
            let call_id = body.call_id.clone().unwrap_or_default();
            let source = body.source.clone().unwrap_or_default();
            if call_id == "leaderboard" {
                return Err(ApiError::bad_request(
                    "invalid_call_id",
                    "\"leaderboard\" names the leaderboard route",
                ));
            }
            let log = load(db)?;
            let v = log
                .receive(input(body, call_id, source, now)?)
                .map_err(log_error)?;
            store(db, &v)?;
            Ok(json(201, &v)?)
        }
        (Method::Get, ["calls"]) => {
            let log = load(db)?;
            let mut ids: Vec<&str> = Vec::new();
            for v in &log.versions {
                if !ids.contains(&v.call_id.as_str()) {
                    ids.push(&v.call_id);
                }
            }
            let mut out = Vec::new();
            for id in ids {
                out.push(j!({
                    "call_id": id,
                    "versions": log.history(id).len(),
                    "scored": log.scored_version(id),
                    "latest": log.latest(id),
                    "score": stored_score(db, id)?,
                }));
            }
            Ok(json(
                200,
                &j!({"calls": out, "chain_head": log.head(), "chain_break": log.verify()}),
            )?)
        }
        (Method::Get, ["calls", "leaderboard"]) => {
            let log = load(db)?;
            let mut rows = Vec::new();
            let stored: Vec<(String, String)> = db
                .rows::<ScoreRow>(
                    "SELECT call_id, body FROM call_scores ORDER BY call_id",
                    vec![],
                )?
                .into_iter()
                .map(|r| (r.call_id, r.body))
                .collect();
            for (id, body) in stored {
                let score: CallScore = serde_json::from_str(&body)
                    .map_err(|e| ApiError::internal(format!("stored call score: {e}")))?;
                if let Some(v) = log.scored_version(&id) {
                    rows.push((v.source.clone(), score, v.fields.targets.len()));
                }
            }
            Ok(json(200, &j!({"sources": leaderboard(&rows)}))?)
        }
        (Method::Get, ["calls", id]) => {
            let log = load(db)?;
            let history = log.history(id);
            if history.is_empty() {
                return Err(ApiError::not_found(
                    "unknown_call",
                    format!("no call {id:?}"),
                ));
            }
            Ok(json(
                200,
                &j!({"call_id": id, "versions": history, "score": stored_score(db, id)?}),
            )?)
        }
        (Method::Post, ["calls", id, "versions"]) => {
            let body: CallBody = read_json(req).await?;
            if body.call_id.as_deref().is_some_and(|c| c != *id) {
                return Err(ApiError::bad_request(
                    "invalid_call_id",
                    "call_id differs from the path",
                ));
            }
            let log = load(db)?;
            let v = log
                .edit(input(body, id.to_string(), String::new(), now)?)
                .map_err(log_error)?;
            store(db, &v)?;
            Ok(json(201, &v)?)
        }
        (Method::Post, ["calls", id, "score"]) => {
            let body: ScoreBody = read_json(req).await?;
            for (k, c) in body.candles.iter().enumerate() {
                c.check().map_err(|e| {
                    ApiError::bad_request("invalid_candle", format!("candles[{k}]: {e}"))
                })?;
                if k > 0 && body.candles[k - 1].open_time_ms >= c.open_time_ms {
                    return Err(ApiError::bad_request(
                        "invalid_candle",
                        format!("candles[{k}]: open times must increase"),
                    ));
                }
            }
            let params = ScoreParams {
                slippage: body.slippage,
                fee_rate: body.fee_rate,
            };
            if params.slippage < Decimal::ZERO
                || params.fee_rate < Decimal::ZERO
                || params.slippage >= Decimal::ONE
                || params.fee_rate >= Decimal::ONE
            {
                return Err(ApiError::bad_request(
                    "invalid_costs",
                    "slippage and fee_rate are fractions in [0, 1)",
                ));
            }
            // A final score (stopped, done, expired) is kept as it is: nothing re-scores it.
            if let Some(prev) = stored_score(db, id)? {
                let status = prev["status"].as_str().unwrap_or_default();
                if matches!(status, "stopped" | "done" | "expired") {
                    return Ok(json(
                        200,
                        &j!({"call_id": id, "version": 1, "score": prev, "final": true}),
                    )?);
                }
            }
            let log = load(db)?;
            // The first version, always: an edit cannot move the score.
            let Some(v) = log.scored_version(id) else {
                return Err(ApiError::not_found(
                    "unknown_call",
                    format!("no call {id:?}"),
                ));
            };
            let score = score_call(
                &v.fields,
                v.call_time_ms,
                &body.candles,
                body.as_of_ms,
                params,
            );
            let stored =
                serde_json::to_string(&score).map_err(|e| ApiError::internal(e.to_string()))?;
            let mut batch = WriteBatch::new();
            batch.push(
                "INSERT INTO call_scores (call_id, version, scored_ms, body) VALUES (?, ?, ?, ?) ON CONFLICT(call_id) DO UPDATE SET version = excluded.version, scored_ms = excluded.scored_ms, body = excluded.body",
                vec![text(*id), int(i64::from(v.version)), int(now), text(stored)],
            );
            db.commit(batch)?;
            Ok(json(
                200,
                &j!({"call_id": id, "version": v.version, "score": score, "final": false}),
            )?)
        }
        _ => Err(ApiError::not_found(
            "no_route",
            format!("ControlDO: no call route {method:?} /{}", segs.join("/")),
        )),
    }
}

#[derive(Debug, Deserialize)]
struct ScoreRow {
    call_id: String,
    body: String,
}
