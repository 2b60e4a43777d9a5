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
use keel_engine::ids::{SignalId, Symbol};
use keel_engine::model::InstrumentRules;
use keel_engine::order::{Order, OrderEvent};
use keel_engine::risk::{Approved, ProposedOrder, RiskCheck};
use keel_engine::venue::CallFailure;
use keel_engine::venue::{VenueError, VenueOp, VenueReply};
use serde_json::{json, Value};

/// What happened to one order.
#[derive(Debug)]
pub struct PlaceResult {
    /// JSON summary for the webhook answer and the orders view.
    pub summary: Value,
    /// Set when the order was not placed (or its outcome is unknown).
    pub failed: Option<ApiError>,
}

/// The stored and answered form of an order: the [`Order`] record plus its correlation.
fn order_body(order: &Order, signal_id: Option<&SignalId>) -> Value {
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
fn stored_order(body: &Value) -> Result<Order, serde_json::Error> {
    serde_json::from_value(body["record"].clone())
}

/// Stages the order row (status column = the record's state, for the views' filters).
fn upsert_order(j: &mut Journal, order: &Order, signal_id: Option<&SignalId>) -> Value {
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

/// Places one approved order: intent first (durable), then the request, then the outcome.
pub async fn place(
    bot: &BotDO,
    link: &mut Link<'_>,
    approved: Approved<ProposedOrder>,
    checks: &[RiskCheck],
    rules: &InstrumentRules,
    signal_id: &SignalId,
    config: &BotConfig,
) -> PlaceResult {
    match place_inner(bot, link, approved, checks, rules, signal_id, config).await {
        Ok(r) => r,
        Err(e) => PlaceResult {
            summary: json!({"error": e.body()}),
            failed: Some(e),
        },
    }
}

async fn place_inner(
    bot: &BotDO,
    link: &mut Link<'_>,
    approved: Approved<ProposedOrder>,
    checks: &[RiskCheck],
    rules: &InstrumentRules,
    signal_id: &SignalId,
    config: &BotConfig,
) -> Result<PlaceResult, ApiError> {
    let proposed = approved.into_inner();
    let req = proposed.request;
    // Protection rides on the entry where the exchange holds it (Bybit), so it survives our outage.
    let op = keel_engine::venue::protect::entry_op(
        config.exchange,
        config.market,
        &req,
        proposed.stop_loss,
        proposed.take_profit,
        rules.tick_size,
    );
    let coid = req.client_order_id.clone();
    let mut j = bot.journal()?;
    for d in keel_engine::bot::risk_drafts(&[checks.to_vec()], now_ms(), signal_id) {
        j.audit(d.order(coid.clone()))?;
    }
    j.audit(
        AuditDraft::new(
            now_ms(),
            link.actor.clone(),
            AuditEvent::OrderIntent {
                exchange: config.exchange,
                market: config.market,
                order: req.clone(),
            },
        )
        .signal(signal_id.clone())
        .order(coid.clone()),
    )?;
    // The intent is committed as in flight before the request leaves: a crash after this point
    // is resolved by querying the client order id, never by sending again.
    let mut order = Order::new(req.clone(), now_ms());
    let _in_flight = super::InFlight::new(bot, coid.as_str());
    order
        .apply_event(OrderEvent::Submitted, now_ms())
        .map_err(|e| ApiError::internal(e.to_string()))?;
    upsert_order(&mut j, &order, Some(signal_id));
    bot.commit(j).await?;

    let sent_ms = now_ms();
    let outcome = match link.call(&op).await {
        // An answer that is no order report cannot say whether the order exists: ask for it
        // by its client id (never send it again); without an answer it stays unknown for the
        // tick's poll (it was left `sent` and answered as executed before).
        Ok(other) if !matches!(other, VenueReply::Order(_)) => {
            let query = VenueOp::QueryOrder {
                symbol: req.symbol.clone(),
                client_order_id: coid.clone(),
            };
            match link.call(&query).await {
                Ok(VenueReply::Order(r)) => Ok(VenueReply::Order(r)),
                Ok(_) | Err(_) => Err(CallFailure::Unknown {
                    client_order_id: coid.clone(),
                    reason: format!("{} answered with no order report", op.name()),
                }),
            }
        }
        other => other,
    };
    let outcome = link.settle_placement(&req, sent_ms, outcome).await;
    let result = apply_outcome(
        bot,
        link,
        &mut order,
        Some(signal_id),
        rules,
        config,
        outcome,
        Learnt::InAnswer,
    )
    .await;
    super::metrics::record_order(bot, Some(signal_id), sent_ms, now_ms());
    let mut result = result?;
    if result.failed.is_none() {
        // TP/SL riding on the entry (Bybit) are recorded, so their fills can be claimed.
        let attached =
            super::protection::record_attached(bot, config, &op, &coid, signal_id, sent_ms).await?;
        if !attached.is_empty() {
            result.summary["exit_triggers"] = Value::Array(attached);
        }
    }
    if result.failed.is_none() && order.filled_qty > rust_decimal::Decimal::ZERO {
        let protection = keel_engine::venue::Protection {
            stop_loss: proposed.stop_loss,
            take_profit: proposed.take_profit,
        };
        let mut exits =
            place_exit_triggers(bot, link, &req, &protection, rules, signal_id, config).await?;
        if exits.is_empty() {
            // Binance spot: the holding is protected by an OCO pair.
            exits = super::protection::place_oco(
                bot,
                link,
                &order,
                &protection,
                rules,
                signal_id,
                config,
            )
            .await?;
        }
        if exits.is_empty() {
            // Bybit spot market buy: a spot TP/SL order for the holding.
            exits = super::protection::place_spot_tpsl(
                bot,
                link,
                &order,
                &protection,
                rules,
                signal_id,
                config,
            )
            .await?;
        }
        if !exits.is_empty() {
            result.summary["exit_triggers"] = Value::Array(exits);
        }
    }
    Ok(result)
}

/// After a filled entry on a venue that takes no TP/SL on the entry (Binance USDⓈ-M), places
/// its close-position triggers, each recorded as an orders row (status `trigger_open` or
/// `trigger_rejected`, outside the statuses the recovery loops re-query) with the request and
/// response audited. A refused trigger does not undo the entry; it is answered in the summary.
async fn place_exit_triggers(
    bot: &BotDO,
    link: &mut Link<'_>,
    entry: &keel_engine::model::OrderRequest,
    protection: &keel_engine::venue::Protection,
    rules: &InstrumentRules,
    signal_id: &SignalId,
    config: &BotConfig,
) -> Result<Vec<Value>, ApiError> {
    let triggers = keel_engine::venue::protect::exit_triggers(
        config.exchange,
        config.market,
        &config.id,
        signal_id,
        entry,
        protection,
        rules.tick_size,
    )
    .map_err(|e| ApiError::internal(e.to_string()))?;
    let mut out = Vec::new();
    for t in triggers {
        // Fixed at placement: the refresh reads a fired trigger's fills from here on, however
        // often the row changes later (it used the row's `updated_ms`, which a `trigger_fired`
        // update moves past fills made more than a minute before).
        let placed_ms = now_ms();
        let outcome = link.call(&VenueOp::PlaceExitTrigger(t.clone())).await;
        let (status, order_id, error) = match outcome {
            Ok(VenueReply::Order(r)) => ("trigger_open", Some(r.order_id), None),
            Ok(other) => (
                "trigger_rejected",
                None,
                Some(format!("unexpected reply {other:?}")),
            ),
            Err(e) => ("trigger_rejected", None, Some(ApiError::from(e).message)),
        };
        let body = super::protection::exit_body(
            &t,
            status,
            order_id.as_deref(),
            &entry.client_order_id,
            false,
            error,
            placed_ms,
        );
        let mut j = bot.journal()?;
        drain_trail(&mut j, link, Some(signal_id), Some(&t.client_order_id))?;
        link.stage_paper(&mut j)?;
        j.exec(
            "INSERT INTO orders (client_order_id, signal_id, symbol, status, updated_ms, body) VALUES (?, ?, ?, ?, ?, ?) \
             ON CONFLICT(client_order_id) DO UPDATE SET status = excluded.status, updated_ms = excluded.updated_ms, body = excluded.body",
            vec![
                text(t.client_order_id.as_str()),
                text(signal_id.as_str()),
                text(t.symbol.as_str()),
                text(status),
                int(now_ms()),
                text(body.to_string()),
            ],
        );
        bot.commit(j).await?;
        out.push(body);
    }
    Ok(out)
}

/// When the fills of an outcome were learnt, which decides how a third-asset fee is valued
/// ([`fee_asset_prices`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Learnt {
    /// In the answer to the order request itself (the trades are of now).
    InAnswer,
    /// Later: a poll of a resting order, a cancel's answer, reconciliation.
    Late,
}

/// Commits what an order request produced.
#[allow(clippy::too_many_arguments)] // each argument is a distinct fact of the outcome
pub async fn apply_outcome(
    bot: &BotDO,
    link: &mut Link<'_>,
    order: &mut Order,
    signal_id: Option<&SignalId>,
    rules: &InstrumentRules,
    config: &BotConfig,
    outcome: Result<VenueReply, CallFailure>,
    learnt: Learnt,
) -> Result<PlaceResult, ApiError> {
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
            // Only the answer to the order request itself carries fills of "now"; a poll's answer
            // (and the paper book's resting fills) reports trades of the past.
            let prices = match learnt {
                Learnt::InAnswer => fee_asset_prices(link, &carried, &pending, rules).await,
                Learnt::Late => {
                    let all: Vec<_> = carried.iter().chain(&pending).cloned().collect();
                    fee_asset_prices(link, &[], &all, rules).await
                }
            };
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
            PlaceResult {
                summary: body,
                failed: None,
            }
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
            PlaceResult {
                summary: body,
                failed: Some(api),
            }
        }
    };
    j.put("flags", &flags)?;
    link.stage(&mut j)?;
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
) -> Result<PlaceResult, ApiError> {
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
    link.stage(&mut j)?;
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

/// Cancels every open order of the bot (of one symbol, or of every whitelisted symbol traded).
///
/// An order is final only when the exchange says so: each working order is first recorded as
/// `cancel_sent` (durable before the request leaves), and after the cancel-all each is queried by
/// its client id and its answer applied like a poll's, so a fill that raced the cancel is booked
/// at once and the order ends `cancelled`, `filled` or `expired` as the exchange reports it. An
/// order whose query fails stays `cancel_sent` and the cron's poll ([`refresh_open`]) settles it.
pub async fn cancel_all(
    bot: &BotDO,
    link: &mut Link<'_>,
    symbol: Option<Symbol>,
    signal_id: Option<&SignalId>,
) -> Result<Value, CallFailure> {
    #[derive(serde::Deserialize)]
    struct Sym {
        symbol: String,
    }
    #[derive(serde::Deserialize)]
    struct Row {
        signal_id: Option<String>,
        body: String,
    }
    let internal = |e: ApiError| CallFailure::Internal(e.message);
    let symbols: Vec<Symbol> = match symbol {
        Some(s) => vec![s],
        None => bot
            .db
            .rows::<Sym>("SELECT DISTINCT symbol FROM orders", vec![])
            .map_err(|e| CallFailure::Internal(e.to_string()))?
            .into_iter()
            .filter_map(|s| Symbol::new(s.symbol).ok())
            .collect(),
    };
    // Intent first: every working order of those symbols goes to CancelSent before any request.
    let mut working: Vec<(Order, Option<SignalId>)> = Vec::new();
    let mut j = bot.journal().map_err(internal)?;
    for s in &symbols {
        let rows: Vec<Row> = bot
            .db
            .rows(
                "SELECT signal_id, body FROM orders WHERE symbol = ? AND status IN ('accepted','partially_filled','cancel_sent')",
                vec![text(s.as_str())],
            )
            .map_err(|e| CallFailure::Internal(e.to_string()))?;
        for row in rows {
            let body: Value = serde_json::from_str(&row.body).unwrap_or(Value::Null);
            let Ok(mut order) = stored_order(&body) else {
                continue;
            };
            if order
                .apply_event(OrderEvent::CancelRequested, now_ms())
                .is_ok()
            {
                let sid = row.signal_id.and_then(|s| SignalId::new(s).ok());
                upsert_order(&mut j, &order, sid.as_ref());
                working.push((order, sid));
            }
        }
    }
    bot.commit(j).await.map_err(internal)?;
    let mut out = Vec::new();
    for s in &symbols {
        let r = link.call(&VenueOp::CancelAll { symbol: s.clone() }).await;
        out.push(
            json!({"symbol": s.as_str(), "ok": r.is_ok(), "error": r.err().map(|e| e.to_string())}),
        );
    }
    let mut j = bot.journal().map_err(internal)?;
    drain_trail(&mut j, link, signal_id, None).map_err(internal)?;
    j.put("venue_state", &link.state)
        .map_err(|e| CallFailure::Internal(e.to_string()))?;
    bot.commit(j).await.map_err(internal)?;
    // The exchange's word on each order: its status and any fill that raced the cancel.
    let stored = super::config::load_config(bot).map_err(internal)?;
    let config = &stored.config;
    let mut orders = Vec::new();
    for (mut order, sid) in working {
        let req = order.request.clone();
        let answer = link
            .call(&VenueOp::QueryOrder {
                symbol: req.symbol.clone(),
                client_order_id: req.client_order_id.clone(),
            })
            .await;
        let settled = match answer {
            Ok(reply) => {
                link.settle_placement(&req, order.created_ms, Ok(reply))
                    .await
            }
            Err(e) => Err(e),
        };
        let applied = match settled {
            Ok(reply) => match super::facts::market_facts(bot, link, &req.symbol).await {
                Ok(facts) => apply_outcome(
                    bot,
                    link,
                    &mut order,
                    sid.as_ref(),
                    &facts.rules,
                    config,
                    Ok(reply),
                    Learnt::Late,
                )
                .await
                .map(|r| r.summary)
                .map_err(|e| e.message),
                Err(e) => Err(e.to_string()),
            },
            Err(e) => Err(e.to_string()),
        };
        orders.push(match applied {
            Ok(summary) => summary,
            // Still `cancel_sent`: the poll settles it from the exchange's answer.
            Err(why) => json!({
                "client_order_id": req.client_order_id.as_str(),
                "status": "cancel_sent",
                "error": why,
            }),
        });
    }
    save_link(bot, link, signal_id).await.map_err(internal)?;
    let status = if orders.iter().all(|o| o["status"] != "cancel_sent") {
        "cancelled"
    } else {
        "cancel_pending"
    };
    Ok(
        json!({"signal_id": signal_id.map(|s| s.as_str()), "status": status, "cancels": out, "orders": orders}),
    )
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
            Learnt::Late,
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
