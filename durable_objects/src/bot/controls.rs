//! Emergency controls and the cron keep-alive of one bot.
//!
//! - `POST /control/flatten`: cancel every open order, then close every position with a
//!   reduce-only market order (spot: the held quantity rounded down to the step), retrying until
//!   the ledger is flat or a per-instrument failure is clear: the bot machine's flatten
//!   (`keel_engine::bot::machine`), driven by [`super::driver`]. Every order goes through the
//!   risk engine, which lets reduce-only orders pass while paused or halted. The answer is sent
//!   after everything is committed.
//! - `POST /control/tick`: clock/circuit probe (a ServerTime call through the link), marks of open
//!   positions, the loss and drawdown auto-pause, the audit-outbox lag alert, and an outbox flush.
//! - the loss and drawdown auto-pause ([`super::limits::check_limits`]), also run after every
//!   booking.

use super::alerts::{self, Signal};
use super::config::{actor, load_config};
use super::exchange::Link;
use super::{ledger, now_ms, outbox, BotDO};
use crate::http::{json, read_json, ApiError};
use keel_engine::alert::{Alert, AlertKind};
use keel_engine::audit::Actor;
use keel_engine::bot::machine::{Answer, Machine};
use keel_engine::config::BotConfig;
use keel_engine::ids::Symbol;
use keel_engine::ledger::{LedgerEntry, MarkPrice};
use keel_engine::venue::{CircuitState, VenueOp};
use serde::Deserialize;
use serde_json::{json, Value};
use worker::{Request, Response};

/// Audit outbox depth that raises the lag alert.
const OUTBOX_MAX_DEPTH: u64 = 1_000;
/// Age of the oldest unshipped event that raises the lag alert.
const OUTBOX_MAX_AGE_MS: i64 = 10 * 60_000;

/// `POST /control/tick` body (all optional).
#[derive(Debug, Default, Deserialize)]
struct TickBody {
    /// The cron's scheduled time (ms).
    #[serde(default)]
    scheduled_ms: Option<i64>,
    /// When the bot was registered (ms), from the platform registry.
    #[serde(default)]
    registered_ms: Option<i64>,
    /// `keep_alive` or `maintenance` (recorded for the health view).
    #[serde(default)]
    kind: Option<String>,
}

#[derive(Debug, Deserialize)]
struct FlattenBody {
    actor: String,
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /control/flatten`.
///
/// # Errors
/// 404 unknown bot, 400 bad actor, storage failures. Exchange failures are reported per
/// instrument in the answer (`flat: false`), not as an error.
pub async fn flatten_route(bot: &BotDO, req: &mut Request) -> Result<Response, ApiError> {
    let body: FlattenBody = read_json(req).await?;
    let actor = actor(&body.actor)?;
    let out = {
        let _turn = bot.exec.lock().await;
        flatten(bot, actor, body.reason).await?
    };
    let status = if out["flat"].as_bool() == Some(true) {
        200
    } else {
        207
    };
    Ok(json(status, &out)?)
}

/// Flattens the bot (also called by the platform halt with `flatten: true`), through the bot
/// machine (`Machine::on_flatten`): cancel-all, then every open instrument closed by reduce-only
/// orders until flat, every step audited.
///
/// # Errors
/// Storage failures.
pub async fn flatten(bot: &BotDO, actor: Actor, reason: Option<String>) -> Result<Value, ApiError> {
    let stored = load_config(bot)?;
    let config = &stored.config;
    let snapshot = super::driver::snapshot(bot, config)?;
    let link = Link::open(bot, config, actor.clone())?;
    let mut driver = super::driver::Driver::new(bot, config, Some(link), snapshot.flags.clone());
    let mut machine = Machine::new(config.clone(), snapshot, now_ms());
    machine.on_flatten(actor, reason, now_ms());
    match driver.run(&mut machine, None).await? {
        Some(Answer::Flatten(report)) => Ok(super::driver::flatten_report(config, &report)),
        _ => Err(ApiError::internal(
            "the bot machine gave no answer to the flatten",
        )),
    }
}

/// `POST /control/tick` (cron): keep-alive and the periodic checks. Always answers 200 with what
/// it found; each step's failure is reported in the answer, not raised.
///
/// # Errors
/// 404 unknown bot; storage failures.
pub async fn tick(bot: &BotDO, req: &mut Request) -> Result<Response, ApiError> {
    // The cron's scheduled time (calendar decisions: the daily summary) and the bot's
    // registration time; both optional for callers that only want the keep-alive.
    let body: TickBody = req.json().await.unwrap_or_default();
    let _turn = bot.exec.lock().await;
    let stored = load_config(bot)?;
    let config = &stored.config;
    let now = now_ms();
    let bot_id = config.id.to_string();
    if let Err(e) = super::orders::refresh_open(bot, config).await {
        worker::console_error!("tick: refreshing open orders: {e}");
    }
    if let Err(e) = super::interrupted::resolve_interrupted(bot).await {
        worker::console_error!("tick: answering interrupted signals: {e}");
    }
    if let Err(e) = super::protection::refresh(bot, config, Actor::System).await {
        worker::console_error!("tick: refreshing exchange-side exits: {e}");
    }
    let due =
        super::reconcile::last_run_ms(bot)?.is_none_or(|t| now - t >= super::reconcile::EVERY_MS);
    let traded = bot
        .db
        .row::<Value>("SELECT client_order_id FROM orders LIMIT 1", vec![])?
        .is_some();
    if due && traded {
        if let Err(e) = super::reconcile::run(bot, Actor::System).await {
            worker::console_error!("tick: reconciliation: {e}");
        }
    }
    let mut link = Link::open(bot, config, Actor::System)?;
    let probe = link.call(&VenueOp::ServerTime).await;
    let after = link.state.circuit.state(now_ms());
    let mut signals = Vec::new();
    match after {
        CircuitState::Open { .. } => signals.push(Signal::Raise(Alert::new(
            &bot_id,
            AlertKind::CircuitOpen,
            "",
            format!(
                "exchange circuit open: {}",
                probe
                    .as_ref()
                    .err()
                    .map(|e| e.to_string())
                    .unwrap_or_default()
            ),
        ))),
        CircuitState::Closed { .. } => {
            signals.push(Signal::Resolve(AlertKind::CircuitOpen, String::new()))
        }
        _ => {}
    }
    // Marks for open positions, so the loss rule sees unrealized P&L between signals.
    let mut marks = Vec::new();
    for symbol in open_symbols(bot, config)? {
        if let Ok(facts) = super::facts::market_facts(bot, &mut link, &symbol).await {
            marks.push(LedgerEntry::Mark(MarkPrice {
                symbol,
                price: facts.price,
                time_ms: now_ms(),
            }));
        }
    }
    let mut l = ledger::load(bot, config)?;
    for m in &marks {
        if let Err(e) = l.book(m) {
            worker::console_error!("tick: mark: {e:?}");
        }
    }
    let out = outbox::state(bot)?;
    let depth = outbox::last_seq(bot).saturating_sub(out.shipped_seq);
    let oldest = oldest_unshipped_ms(bot, out.shipped_seq)?;
    let lagging = depth > OUTBOX_MAX_DEPTH || oldest.is_some_and(|t| now - t > OUTBOX_MAX_AGE_MS);
    if lagging {
        signals.push(Signal::Raise(Alert::new(
            &bot_id,
            AlertKind::OutboxLagging,
            "",
            format!(
                "audit outbox depth {depth}, oldest unshipped {} s",
                oldest.map(|t| (now - t) / 1000).unwrap_or(0)
            ),
        )));
    } else {
        signals.push(Signal::Resolve(AlertKind::OutboxLagging, String::new()));
    }
    let mut j = bot.journal()?;
    drain(&mut j, &mut link)?;
    j.put("venue_state", &link.state)?;
    ledger::stage(&mut j, &marks)?;
    let summary = super::summary::due(
        bot,
        &mut j,
        config,
        body.registered_ms.unwrap_or(now),
        body.scheduled_ms.unwrap_or(now),
    )?;
    let daily_summary = summary.is_some();
    signals.extend(summary);
    j.put(
        "last_tick",
        &json!({"at_ms": now, "scheduled_ms": body.scheduled_ms, "kind": body.kind}),
    )?;
    alerts::stage(bot, &mut j, signals)?;
    bot.commit(j).await?;
    *bot.ledger.borrow_mut() = Some(l);
    let paused_now = super::limits::check_limits(bot, config).await?;
    Ok(json(
        200,
        &json!({
            "bot_id": bot_id,
            "probe": probe.as_ref().map(|_| "ok").unwrap_or("failed"),
            "probe_error": probe.err().map(|e| e.to_string()),
            "circuit": after,
            "clock_offset_ms": link.state.clock.offset_ms(),
            "marks": marks.len(),
            "outbox_depth": depth,
            "outbox_lagging": lagging,
            "auto_paused": paused_now,
            "daily_summary": daily_summary,
        }),
    )?)
}

fn drain(j: &mut super::store::Journal, link: &mut Link<'_>) -> Result<(), ApiError> {
    for d in std::mem::take(&mut link.trail) {
        j.audit(d)?;
    }
    Ok(())
}

/// Symbols with an open position in the ledger (dust below one lot is none: no order sells it).
fn open_symbols(bot: &BotDO, config: &BotConfig) -> Result<Vec<Symbol>, ApiError> {
    let l = ledger::load(bot, config)?;
    let snap = l
        .risk_snapshot(now_ms())
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(snap
        .positions
        .iter()
        .filter(|(_, p)| !p.qty.is_zero() && !p.dust)
        .map(|(s, _)| s.clone())
        .collect())
}

fn oldest_unshipped_ms(bot: &BotDO, shipped: u64) -> Result<Option<i64>, ApiError> {
    #[derive(Deserialize)]
    struct R {
        t: Option<i64>,
    }
    let r: Option<R> = bot.db.row(
        "SELECT MIN(time_ms) AS t FROM audit WHERE seq > ?",
        vec![crate::db::int(shipped as i64)],
    )?;
    Ok(r.and_then(|r| r.t))
}
