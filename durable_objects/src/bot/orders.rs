//! Placing, cancelling and flattening, with the durable intent written before the request leaves
//! and the exchange's answer (fills, position, P&L) committed with its audit events.

use super::alerts::Signal;
use super::exchange::{drain_trail, save_link, Link};
use super::facts::fee_asset_prices;
use super::store::Journal;
use super::{ledger, now_ms, BotDO};
use crate::db::{int, text};
use crate::http::ApiError;
use keel_engine::alert::{Alert, AlertKind};
use keel_engine::audit::{AuditDraft, AuditEvent, ControlAction};
use keel_engine::bot::lifecycle::{self, status_name};
use keel_engine::config::BotConfig;
use keel_engine::ids::SignalId;
use keel_engine::model::InstrumentRules;
use keel_engine::order::{Order, OrderEvent};
use keel_engine::venue::CallFailure;
use keel_engine::venue::{VenueError, VenueOp, VenueReply};
use serde_json::{json, Value};

/// The stored and answered form of an order: the [`Order`] record plus its correlation.
pub fn order_body(order: &Order, signal_id: Option<&SignalId>) -> Value {
    let req = &order.request;
    json!({
        "client_order_id": req.client_order_id.as_str(),
        "signal_id": signal_id.map(|s| s.as_str()),
        "symbol": req.symbol.as_str(),
        "side": req.side,
        "type": req.order_type,
        "qty": req.qty,
        "price": req.price,
        "reduce_only": req.reduce_only,
        "status": status_name(order.status),
        "order_id": order.exchange_order_id,
        "executed_qty": order.filled_qty,
        "avg_price": order.avg_fill_price().map(|p| p.round_dp(8)),
        "fees": order.fees,
        "error": order.reason,
        "created_ms": order.created_ms,
        "updated_ms": order.updated_ms,
        "record": order,
    })
}

/// The [`Order`] record kept inside a stored order row (see [`order_body`]).
pub fn stored_order(body: &Value) -> Result<Order, serde_json::Error> {
    serde_json::from_value(body["record"].clone())
}

/// Stages the order row (status column = the record's state, for the views' filters).
pub fn upsert_order(j: &mut Journal, order: &Order, signal_id: Option<&SignalId>) -> Value {
    let body = order_body(order, signal_id);
    j.exec(
        "INSERT INTO orders (client_order_id, signal_id, symbol, status, updated_ms, body) VALUES (?, ?, ?, ?, ?, ?) \
         ON CONFLICT(client_order_id) DO UPDATE SET status = excluded.status, updated_ms = excluded.updated_ms, body = excluded.body",
        vec![
            text(order.request.client_order_id.as_str()),
            signal_id.map(|s| s.to_string()).into(),
            text(order.request.symbol.as_str()),
            text(status_name(order.status)),
            int(order.updated_ms),
            text(body.to_string()),
        ],
    );
    body
}

/// Commits what a poll of an order learnt (its fills are of the past: a third-asset fee is
/// valued at its trade's minute candle, [`fee_asset_prices`]).
pub async fn apply_outcome(
    bot: &BotDO,
    link: &mut Link<'_>,
    order: &mut Order,
    signal_id: Option<&SignalId>,
    rules: &InstrumentRules,
    config: &BotConfig,
    outcome: Result<VenueReply, CallFailure>,
) -> Result<Value, ApiError> {
    let req = order.request.clone();
    let coid = req.client_order_id.clone();
    let mut booked_ledger = None;
    let mut alert_signals = Vec::new();
    // Everything that needs I/O happens before the journal opens: a journal never spans an
    // await, so no other request of this object can commit in between (one chain, no forks).
    let (fills, fee_prices) = match &outcome {
        Ok(reply) => {
            let carried = keel_engine::bot::fills_of(reply);
            let pending = std::mem::take(&mut link.pending_fills);
            // A poll's answer (and the paper book's resting fills) reports trades of the past.
            let all: Vec<_> = carried.iter().chain(&pending).cloned().collect();
            let prices = fee_asset_prices(link, &[], &all, rules).await;
            let mut fills = carried;
            fills.extend(pending);
            (fills, prices)
        }
        Err(_) => (Vec::new(), keel_engine::ledger::FeePrices::none()),
    };
    // Read after the awaits above: a halt, pause or resume stored while this execution waited
    // for a fee asset's price must not be overwritten by a copy read before it.
    let mut flags = bot.flags()?;
    let mut j = bot.journal()?;
    drain_trail(&mut j, link, signal_id, Some(&coid))?;
    let result = match outcome {
        Ok(reply) => {
            let report = match &reply {
                VenueReply::Order(r) => Some(r.clone()),
                _ => None,
            };
            let booked = super::ledger::booking(
                bot,
                config,
                &fills,
                rules,
                &link.actor,
                signal_id,
                &fee_prices,
            )?;
            let (new_ledger, booking) = match booked {
                Ok(b) => b,
                Err(e) => {
                    return unbookable(bot, link, j, flags, order, signal_id, report, config, e)
                        .await
                }
            };
            for d in booking.drafts {
                j.audit(d)?;
            }
            ledger::stage(&mut j, &booking.entries)?;
            ledger::stage_fills(&mut j, &booking.booked, signal_id)?;
            ledger::stage_equity_point(&mut j, &new_ledger, now_ms())?;
            if let Some(r) = &report {
                lifecycle::apply_report(order, r, now_ms())
                    .map_err(|e| ApiError::internal(format!("order {coid}: {e}")))?;
            }
            let body = upsert_order(&mut j, order, signal_id);
            flags.consecutive_rejections = 0;
            alert_signals.push(Signal::Resolve(
                AlertKind::OrderRejected,
                req.symbol.to_string(),
            ));
            booked_ledger = Some(new_ledger);
            body
        }
        Err(e) => {
            // The bot machine's classification of the one failure type.
            let unknown = e.is_unknown();
            let rejected_by_exchange = e.is_exchange_rejection();
            // Refused credentials are alerted once as `credentials_failing` by the link.
            let credentials = e.is_credentials();
            let api: ApiError = e.into();
            lifecycle::apply_failure(order, unknown, &api.message, now_ms())
                .map_err(|e| ApiError::internal(format!("order {coid}: {e}")))?;
            let body = upsert_order(&mut j, order, signal_id);
            if rejected_by_exchange {
                if !credentials {
                    alert_signals.push(Signal::Raise(Alert::new(
                        config.id.as_str(),
                        AlertKind::OrderRejected,
                        req.symbol.as_str(),
                        api.message.clone(),
                    )));
                }
                flags.consecutive_rejections += 1;
                if let Some(why) = keel_engine::bot::auto_pause::rejection_pause_reason(
                    flags.consecutive_rejections,
                    flags.paused,
                ) {
                    flags.paused = true;
                    // Named like the loss-limit pause, so an operator tells an automatic
                    // pause apart.
                    flags.pause_reason = Some(format!("auto-paused: {why}"));
                    j.audit(AuditDraft::new(
                        now_ms(),
                        keel_engine::audit::Actor::System,
                        AuditEvent::Control {
                            action: ControlAction::Pause,
                            reason: flags.pause_reason.clone(),
                        },
                    ))?;
                    alert_signals.push(Signal::Raise(Alert::new(
                        config.id.as_str(),
                        AlertKind::AutoPaused,
                        "",
                        why,
                    )));
                }
            }
            body
        }
    };
    j.put("flags", &flags)?;
    j.put("venue_state", &link.state)?;
    if let Some(p) = link.paper.as_mut() {
        p.prune(
            super::exchange::PAPER_KEEP_ORDERS,
            super::exchange::PAPER_KEEP_FILLS,
        );
        j.put("paper", p)?;
    }
    // Circuit transitions seen by the order path (the cron tick sees the others).
    match link.state.circuit.state(now_ms()) {
        keel_engine::venue::CircuitState::Open { .. } => {
            alert_signals.push(Signal::Raise(Alert::new(
                config.id.as_str(),
                AlertKind::CircuitOpen,
                "",
                "exchange circuit open after repeated failures",
            )))
        }
        keel_engine::venue::CircuitState::Closed { .. } => {
            alert_signals.push(Signal::Resolve(AlertKind::CircuitOpen, String::new()))
        }
        keel_engine::venue::CircuitState::HalfOpen { .. } => {}
    }
    super::alerts::stage(bot, &mut j, alert_signals)?;
    bot.commit(j).await?;
    if let Some(l) = booked_ledger {
        *bot.ledger.borrow_mut() = Some(l);
        if let Err(e) = super::limits::check_limits(bot, config).await {
            worker::console_error!("auto-pause check: {}", e.message);
        }
    }
    Ok(result)
}

/// The ledger refused the fills of an answer: the order's own transition is still committed (a
/// final order is not queried again; before, the journal was dropped and the tick re-queried the
/// order every minute, failing the same way) and the bot needs attention, alerted, because its
/// ledger now misses fills that reconciliation must book. Answers the ledger's error.
#[allow(clippy::too_many_arguments)] // the journal and facts of the outcome being applied
async fn unbookable(
    bot: &BotDO,
    link: &mut Link<'_>,
    mut j: Journal,
    mut flags: super::Flags,
    order: &mut Order,
    signal_id: Option<&SignalId>,
    report: Option<keel_engine::venue::OrderReport>,
    config: &BotConfig,
    e: keel_engine::ledger::LedgerError,
) -> Result<Value, ApiError> {
    let coid = order.request.client_order_id.clone();
    if let Some(r) = &report {
        lifecycle::apply_report(order, r, now_ms())
            .map_err(|err| ApiError::internal(format!("order {coid}: {err}; ledger: {e}")))?;
    }
    let reason = format!("fills of order {coid} not booked: ledger: {e}");
    upsert_order(&mut j, order, signal_id);
    flags.needs_attention = true;
    flags.attention_reason = Some(reason.clone());
    j.put("flags", &flags)?;
    j.put("venue_state", &link.state)?;
    if let Some(p) = link.paper.as_mut() {
        p.prune(
            super::exchange::PAPER_KEEP_ORDERS,
            super::exchange::PAPER_KEEP_FILLS,
        );
        j.put("paper", p)?;
    }
    super::alerts::stage(
        bot,
        &mut j,
        vec![Signal::Raise(Alert::new(
            config.id.as_str(),
            AlertKind::ReconciliationMismatch,
            coid.as_str(),
            reason,
        ))],
    )?;
    bot.commit(j).await?;
    Err(ApiError::internal(format!("ledger: {e}")))
}

/// Working or unresolved orders are polled (from the cron tick): fills of a resting limit order
/// are booked when they happen, not only at the next reconciliation, and an order whose outcome
/// was unknown is settled once the exchange can answer for it.
///
/// # Errors
/// Storage failures; exchange failures leave the order as it was (the next tick retries).
pub async fn refresh_open(bot: &BotDO, config: &BotConfig) -> Result<usize, ApiError> {
    #[derive(serde::Deserialize)]
    struct Row {
        signal_id: Option<String>,
        body: String,
    }
    mark_lost_answers(bot).await?;
    let rows: Vec<Row> = bot.db.rows(
        "SELECT signal_id, body FROM orders WHERE status IN ('accepted','partially_filled','cancel_sent','unknown') ORDER BY updated_ms LIMIT 20",
        vec![],
    )?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut link = Link::open(bot, config, keel_engine::audit::Actor::System)?;
    let mut refreshed = 0;
    for row in rows {
        let body: Value = serde_json::from_str(&row.body).unwrap_or(Value::Null);
        let Ok(mut order) = stored_order(&body) else {
            continue;
        };
        let signal_id = row.signal_id.and_then(|s| SignalId::new(s).ok());
        let in_flight = bot.is_in_flight(order.request.client_order_id.as_str());
        if keel_engine::order::refresh_action(order.status, in_flight)
            != keel_engine::order::RefreshAction::Query
        {
            continue;
        }
        let req = order.request.clone();
        let query = VenueOp::QueryOrder {
            symbol: req.symbol.clone(),
            client_order_id: req.client_order_id.clone(),
        };
        let answer = link.call(&query).await;
        if let Err(CallFailure::Venue(VenueError::UnknownOrder { .. })) = &answer {
            if order.status == keel_engine::order::OrderStatus::Unknown
                && now_ms() - order.updated_ms > UNKNOWN_SETTLES_AFTER_MS
            {
                // Past every receive window: the order never reached the book.
                let mut j = bot.journal()?;
                order
                    .apply_event(OrderEvent::NotFound, now_ms())
                    .map_err(|e| ApiError::internal(e.to_string()))?;
                upsert_order(&mut j, &order, signal_id.as_ref());
                bot.commit(j).await?;
                refreshed += 1;
            }
            continue;
        }
        let Ok(reply) = answer else { continue };
        let settled = link
            .settle_placement(&req, order.created_ms, Ok(reply))
            .await;
        let Ok(settled) = settled else { continue };
        let facts = match super::facts::market_facts(bot, &mut link, &req.symbol).await {
            Ok(f) => f,
            Err(_) => continue,
        };
        apply_outcome(
            bot,
            &mut link,
            &mut order,
            signal_id.as_ref(),
            &facts.rules,
            config,
            Ok(settled),
        )
        .await?;
        refreshed += 1;
    }
    save_link(bot, &mut link, None).await?;
    Ok(refreshed)
}

/// Orders left `sent` by an execution that is gone (the instance that sent them crashed or was
/// evicted, so nobody will record their answer) become `unknown` as of when they were sent, so
/// the not-found window counts from then: the refresh then resolves them by client id (never by
/// sending again) and reconciliation recognises their trades. The decision is the engine's
/// (`keel_engine::order::refresh_action`); an order a live execution is sending is left alone.
///
/// # Errors
/// Storage failures.
pub async fn mark_lost_answers(bot: &BotDO) -> Result<usize, ApiError> {
    #[derive(serde::Deserialize)]
    struct Row {
        signal_id: Option<String>,
        body: String,
    }
    let rows: Vec<Row> = bot.db.rows(
        "SELECT signal_id, body FROM orders WHERE status = 'sent' ORDER BY updated_ms LIMIT 50",
        vec![],
    )?;
    let mut marked = 0;
    for row in rows {
        let body: Value = serde_json::from_str(&row.body).unwrap_or(Value::Null);
        let Ok(mut order) = stored_order(&body) else {
            continue;
        };
        let in_flight = bot.is_in_flight(order.request.client_order_id.as_str());
        if keel_engine::order::refresh_action(order.status, in_flight)
            != keel_engine::order::RefreshAction::LostAnswer
        {
            continue;
        }
        let sent_ms = order.updated_ms;
        order
            .apply_event(keel_engine::order::LOST_ANSWER_EVENT, sent_ms)
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let signal_id = row.signal_id.and_then(|s| SignalId::new(s).ok());
        let mut j = bot.journal()?;
        upsert_order(&mut j, &order, signal_id.as_ref());
        bot.commit(j).await?;
        marked += 1;
    }
    Ok(marked)
}

/// An unknown order older than this (well past any receive window) that the exchange does not
/// know was never placed.
const UNKNOWN_SETTLES_AFTER_MS: i64 = 120_000;
