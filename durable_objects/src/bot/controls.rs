//! Emergency controls and the cron keep-alive of one bot.
//!
//! - `POST /control/flatten`: cancel every open order, then close every position with a
//!   reduce-only market order (spot: the held quantity rounded down to the step), retrying until
//!   the ledger is flat or a per-instrument failure is clear. Every order goes through the
//!   ordinary journal path ([`super::orders::place`]: durable intent, then the call, then the
//!   outcome with its audit) and through the risk engine, which lets reduce-only orders pass
//!   while paused or halted. The answer is sent after everything is committed.
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
use keel_engine::audit::{Actor, AuditDraft, AuditEvent, ControlAction};
use keel_engine::bot::{self as engine_bot, BotState};
use keel_engine::config::BotConfig;
use keel_engine::ids::{SignalId, Symbol};
use keel_engine::ledger::{LedgerEntry, MarkPrice};
use keel_engine::model::OrderType;
use keel_engine::signal::{Action, ParsedSignal, Signal as TvSignal};
use keel_engine::venue::{CircuitState, VenueOp};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Value};
use worker::{Request, Response};

/// Close attempts per instrument before flatten reports a failure.
const FLATTEN_ATTEMPTS: u32 = 3;
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

/// Flattens the bot (also called by the platform halt with `flatten: true`).
///
/// # Errors
/// Storage failures.
pub async fn flatten(bot: &BotDO, actor: Actor, reason: Option<String>) -> Result<Value, ApiError> {
    let stored = load_config(bot)?;
    let config = &stored.config;
    let started = now_ms();
    // The operator's intent is durable and audited before any exchange call.
    let mut j = bot.journal()?;
    j.audit(AuditDraft::new(
        started,
        actor.clone(),
        AuditEvent::Control {
            action: ControlAction::Flatten,
            reason: reason.clone().or_else(|| Some("flatten requested".into())),
        },
    ))?;
    bot.commit(j).await?;

    let mut link = Link::open(bot, config, actor.clone())?;
    let cancels = match super::orders::cancel_all(bot, &mut link, None, None).await {
        Ok(v) => v["cancels"].clone(),
        Err(e) => json!({"error": e.to_string()}),
    };
    let mut instruments = serde_json::Map::new();
    let mut all_flat = true;
    for symbol in open_symbols(bot, config)? {
        let r = close_symbol(bot, &mut link, config, &symbol, started).await;
        all_flat &= r["flat"].as_bool() == Some(true);
        instruments.insert(symbol.to_string(), r);
    }
    let summary = format!(
        "flatten by {actor}: {} instrument(s), {}",
        instruments.len(),
        if all_flat { "all flat" } else { "NOT all flat" }
    );
    let mut j = bot.journal()?;
    drain(&mut j, &mut link)?;
    link.stage(&mut j)?;
    j.audit(AuditDraft::new(
        now_ms(),
        actor,
        AuditEvent::Control {
            action: ControlAction::Flatten,
            reason: Some(summary.clone()),
        },
    ))?;
    let bot_id = config.id.to_string();
    let mut sig = vec![Signal::Raise(Alert::new(
        &bot_id,
        AlertKind::Flattened,
        "",
        summary,
    ))];
    for (sym, r) in &instruments {
        if r["flat"].as_bool() != Some(true) {
            let why = r["error"]
                .as_str()
                .unwrap_or("still open after retries")
                .to_string();
            sig.push(Signal::Raise(Alert::new(
                &bot_id,
                AlertKind::OrderRejected,
                sym.clone(),
                format!("flatten could not close {sym}: {why}"),
            )));
        }
    }
    alerts::stage(bot, &mut j, sig)?;
    bot.commit(j).await?;
    Ok(
        json!({"bot_id": bot_id, "flat": all_flat, "cancels": cancels, "instruments": instruments, "took_ms": now_ms() - started}),
    )
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

fn position(bot: &BotDO, config: &BotConfig, symbol: &Symbol) -> Result<Decimal, ApiError> {
    let l = ledger::load(bot, config)?;
    Ok(l.position(symbol).map(|p| p.qty).unwrap_or(Decimal::ZERO))
}

/// A synthetic `close` signal: the close goes through the same sizing and risk as a webhook's.
fn close_signal(symbol: &Symbol, started: i64, attempt: u32) -> Result<ParsedSignal, ApiError> {
    let signal_id = SignalId::new(format!("flatten-{started}-{attempt}-{symbol}"))
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(ParsedSignal {
        signal: TvSignal {
            id: None,
            action: Action::Close,
            symbol: Some(symbol.clone()),
            sizing: None,
            target_position: None,
            order_type: OrderType::Market,
            price: None,
            stop_loss: None,
            take_profit: None,
            time_ms: Some(now_ms()),
        },
        secret: None,
        signal_id,
    })
}

async fn close_symbol(
    bot: &BotDO,
    link: &mut Link<'_>,
    config: &BotConfig,
    symbol: &Symbol,
    started: i64,
) -> Value {
    let mut attempts = Vec::new();
    let mut last_error: Option<String> = None;
    for attempt in 1..=FLATTEN_ATTEMPTS {
        let qty = match position(bot, config, symbol) {
            Ok(q) => q,
            Err(e) => return json!({"flat": false, "error": e.message, "attempts": attempts}),
        };
        if qty.is_zero() {
            return json!({"flat": true, "position": qty, "attempts": attempts});
        }
        match close_once(bot, link, config, symbol, started, attempt).await {
            Ok(Some(summary)) => {
                if let Some(err) = summary["error"].as_str() {
                    last_error = Some(err.to_string());
                }
                attempts.push(summary);
            }
            // Nothing to close at the instrument's step: what is left is dust.
            Ok(None) => return json!({"flat": true, "dust": qty, "attempts": attempts}),
            Err(e) => {
                last_error = Some(e.message.clone());
                attempts.push(json!({"error": e.body()}));
            }
        }
    }
    let left = position(bot, config, symbol).unwrap_or(Decimal::ZERO);
    if left.is_zero() {
        return json!({"flat": true, "position": left, "attempts": attempts});
    }
    json!({"flat": false, "position": left, "error": last_error.unwrap_or_else(|| "position still open".into()), "attempts": attempts})
}

/// One close order. `Ok(None)` when sizing finds nothing sellable (dust below the step).
async fn close_once(
    bot: &BotDO,
    link: &mut Link<'_>,
    config: &BotConfig,
    symbol: &Symbol,
    started: i64,
    attempt: u32,
) -> Result<Option<Value>, ApiError> {
    let parsed = close_signal(symbol, started, attempt)?;
    let facts = super::facts::market_facts(bot, link, symbol)
        .await
        .map_err(ApiError::from)?;
    let l = ledger::load(bot, config)?;
    let flags = bot.flags()?;
    let state = BotState {
        paused: flags.paused,
        halted: flags.halted,
        ..BotState::default()
    };
    let decision = engine_bot::decide(&config.id, config, &parsed, &facts, &l, &state, now_ms())
        .map_err(|r| ApiError::new(r.status, r.code.clone(), r.message.clone()))?;
    let position = l.position(symbol).map(|p| p.qty).unwrap_or_default();
    let exits = super::exit_cancel::before_close(
        bot,
        link,
        config,
        symbol,
        position,
        &decision.orders,
        Some(&parsed.signal_id),
    )
    .await?;
    let Some((approved, checks)) = decision.orders.into_iter().zip(decision.checks).next() else {
        return Ok(None);
    };
    let r = super::orders::place(
        bot,
        link,
        approved,
        &checks,
        &facts.rules,
        &parsed.signal_id,
        config,
    )
    .await;
    let mut summary = r.summary;
    if let Some(x) = exits {
        summary["exits_cancelled"] = x;
    }
    if let Some(e) = r.failed {
        summary["error"] = Value::String(e.message);
    }
    Ok(Some(summary))
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
