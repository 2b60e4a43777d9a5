//! Shipping the audit outbox to neo4j-proxy from the object's alarm. The shipped cursor advances
//! only when the proxy confirms the batch's last seq; while Neo4j is down the alarm backs off with
//! full jitter and the events stay here (bounded only by storage).

use super::{now_ms, BotDO};
use crate::db::{int, text};
use crate::http::ApiError;
use keel_engine::audit::{
    classify_ship_response, outbox_health, select_batch, FailureKind, OutboxHealth, OutboxPolicy,
    OutboxState, SealedEvent, ShipOutcome, ShipRequest,
};
use serde::Deserialize;
use worker::Method;

#[derive(Debug, Deserialize)]
struct Pending {
    seq: i64,
    bytes: i64,
}

/// Makes sure an alarm is pending so new events ship soon.
pub async fn schedule(bot: &BotDO) {
    let storage = bot.state.storage();
    match storage.get_alarm().await {
        // An alarm already due soon will ship these events too; a later one (a backoff or an
        // alert retry) is brought forward only while the outbox is not backing off.
        Ok(Some(at)) if at <= now_ms() + 1_000 => {}
        Ok(Some(_)) if state(bot).map(|s| !s.due(now_ms())).unwrap_or(true) => {}
        _ => {
            if let Err(e) = storage
                .set_alarm(std::time::Duration::from_millis(50))
                .await
            {
                worker::console_error!("outbox: cannot set alarm: {e}");
            }
        }
    }
}

/// The outbox cursor and retry state.
pub fn state(bot: &BotDO) -> Result<OutboxState, ApiError> {
    Ok(super::store::kv_get::<OutboxState>(&bot.db, "outbox")?.unwrap_or_default())
}

/// The outbox's health (depth, oldest unshipped event's age, failures, status): the bot's part of
/// the platform `/health` totals, which must show a Neo4j outage's backlog grow and drain.
///
/// # Errors
/// Storage failures.
pub fn health(bot: &BotDO) -> Result<OutboxHealth, ApiError> {
    #[derive(Deserialize)]
    struct Oldest {
        time_ms: i64,
    }
    let st = state(bot)?;
    let oldest: Option<Oldest> = bot.db.row(
        "SELECT time_ms FROM audit WHERE seq > ? ORDER BY seq LIMIT 1",
        vec![int(st.shipped_seq as i64)],
    )?;
    Ok(outbox_health(
        &st,
        last_seq(bot),
        oldest.map(|o| o.time_ms),
        now_ms(),
        &OutboxPolicy::default(),
    ))
}

/// Last sealed seq.
pub fn last_seq(bot: &BotDO) -> u64 {
    bot.loaded
        .borrow()
        .as_ref()
        .map(|l| l.chain.last_seq())
        .unwrap_or(0)
}

fn jitter() -> u64 {
    let mut b = [0u8; 8];
    if getrandom::getrandom(&mut b).is_err() {
        return 0;
    }
    u64::from_le_bytes(b)
}

/// Ships one batch (alarm handler) and re-arms the alarm while work remains.
///
/// # Errors
/// Storage failures; shipping failures are recorded in the outbox state instead.
pub async fn ship(bot: &BotDO) -> Result<(), ApiError> {
    if !bot.initialized()? {
        return Ok(());
    }
    let Some(bot_id) = stored_bot_id(bot)? else {
        return Ok(());
    };
    bot.ensure_loaded(&bot_id)?;
    let policy = OutboxPolicy::default();
    let mut st = state(bot)?;
    let now = now_ms();
    if !st.due(now) {
        return rearm(bot, st.next_attempt_ms - now).await;
    }
    let pending: Vec<Pending> = bot.db.rows(
        "SELECT seq, length(body) AS bytes FROM audit WHERE seq > ? ORDER BY seq LIMIT ?",
        vec![int(st.shipped_seq as i64), int(policy.max_events as i64)],
    )?;
    let pairs: Vec<(u64, usize)> = pending
        .iter()
        .map(|p| (p.seq as u64, p.bytes as usize))
        .collect();
    let plan = select_batch(st.shipped_seq, &pairs, &policy)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let Some(plan) = plan else { return Ok(()) };
    let events: Vec<SealedEvent> = bot.db.rows(
        "SELECT ? AS bot_id, seq, time_ms, kind, prev_hash, hash, body FROM audit WHERE seq >= ? AND seq <= ? ORDER BY seq",
        vec![text(bot_id.as_str()), int(plan.first_seq as i64), int(plan.last_seq as i64)],
    )?;
    let outcome = match post(bot, &ShipRequest { events }).await {
        Ok((status, body)) => classify_ship_response(status, &body, bot_id.as_str(), plan.last_seq),
        Err(message) => ShipOutcome::Failed {
            kind: FailureKind::Transient,
            message,
        },
    };
    let delay = match outcome {
        ShipOutcome::Confirmed { last_seq } => {
            st.on_success(&plan, last_seq)
                .map_err(|e| ApiError::internal(e.to_string()))?;
            if (st.shipped_seq) < last_seq_stored(bot)? {
                10
            } else {
                -1
            }
        }
        ShipOutcome::Failed { kind, message } => {
            let next = st.on_failure(kind, &message, now, jitter(), &policy);
            next - now
        }
    };
    let mut batch = crate::db::WriteBatch::new();
    batch.push(
        "INSERT INTO kv (key, value) VALUES ('outbox', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        vec![text(serde_json::to_string(&st).map_err(|e| ApiError::internal(e.to_string()))?)],
    );
    bot.db.commit(batch)?;
    if delay >= 0 {
        rearm(bot, delay).await?;
    }
    Ok(())
}

fn stored_bot_id(bot: &BotDO) -> Result<Option<keel_engine::ids::BotId>, ApiError> {
    let cfg: Option<super::config::StoredConfig> = super::store::kv_get(&bot.db, "config")?;
    Ok(cfg
        .map(|c| c.config.id)
        .or_else(|| bot.loaded.borrow().as_ref().map(|l| l.bot_id.clone())))
}

fn last_seq_stored(bot: &BotDO) -> Result<u64, ApiError> {
    Ok(last_seq(bot))
}

async fn rearm(bot: &BotDO, delay_ms: i64) -> Result<(), ApiError> {
    let delay = std::time::Duration::from_millis(delay_ms.max(10) as u64);
    bot.state.storage().set_alarm(delay).await?;
    Ok(())
}

async fn post(bot: &BotDO, request: &ShipRequest) -> Result<(u16, String), String> {
    let proxy = bot
        .env
        .service("NEO4J_PROXY")
        .map_err(|_| "no NEO4J_PROXY binding: events stay in the outbox".to_string())?;
    let body = serde_json::to_string(request).map_err(|e| e.to_string())?;
    let req = crate::http::neo4j_proxy_request(&bot.env, Method::Post, "/events", Some(body))
        .map_err(|e| e.to_string())?;
    let mut resp = proxy.fetch_request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status_code();
    let text = resp.text().await.map_err(|e| e.to_string())?;
    Ok((status, text))
}
