//! Exchange-side protection after it is placed: the bot records every stop-loss / take-profit
//! it put on the exchange (an orders row per exit, status `trigger_open`) and, from the cron
//! tick and before each reconciliation, finds out whether one fired. A fired exit's closing
//! order is the exchange's own (Binance: the trigger's `actualOrderId`; Bybit: a new `orderId`
//! with an empty `orderLinkId`), so its fills would otherwise look like someone else's trades;
//! here they are claimed for the exit that sent them and booked through the ordinary
//! [`keel_engine::bot::book_fills`] → ledger path, audited, with the request/response trail.
//!
//! Row statuses: `trigger_open` (watching), `trigger_fired` (fired, fills may still come),
//! `trigger_filled` (its close is booked), `trigger_cancelled` / `trigger_expired` /
//! `trigger_rejected` (can no longer fire). None of them is re-queried by the order loops.
//! The fired order's id is kept as `actual_order_id` in the row, which reconciliation counts
//! as the bot's own, so the trades match instead of being foreign, and nothing is booked twice
//! (the ledger and the fills table both key fills by trade id).

use super::exchange::Link;
use super::store::Journal;
use super::{ledger, now_ms, BotDO};
use crate::db::{int, text};
use crate::http::ApiError;
use keel_engine::audit::Actor;
use keel_engine::config::BotConfig;
use keel_engine::ids::{ClientOrderId, SignalId, Symbol};
use keel_engine::model::{Exchange, Fill, InstrumentRules, Market, Side};
use keel_engine::order::Order;
use keel_engine::venue::{protect, Protection};
use keel_engine::venue::{ExitFill, ExitKind, ExitTrigger, TriggerState, VenueOp, VenueReply};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Statuses of exits that may still produce a fill.
const LIVE: &str = "('trigger_open','trigger_fired')";
/// Exits looked at per run (oldest first); the next tick continues.
const PER_RUN: i64 = 20;
/// Slack before an exit's placement when reading executions (clock differences).
const SINCE_SLACK_MS: i64 = 60_000;

/// The body of an exit's orders row.
pub fn exit_body(
    t: &ExitTrigger,
    status: &str,
    order_id: Option<&str>,
    entry: &ClientOrderId,
    attached: bool,
    error: Option<String>,
    since_ms: i64,
) -> Value {
    json!({
        "client_order_id": t.client_order_id, "order_id": order_id, "symbol": t.symbol,
        "exit_trigger": t.kind, "close_side": t.close_side, "trigger_price": t.trigger_price,
        "status": status, "entry_client_order_id": entry, "attached": attached,
        "since_ms": since_ms, "error": error,
    })
}

/// Stages an exit's orders row (insert or update).
pub fn stage_row(
    j: &mut Journal,
    coid: &str,
    signal_id: Option<&str>,
    symbol: &str,
    status: &str,
    body: &Value,
) {
    j.exec(
        "INSERT INTO orders (client_order_id, signal_id, symbol, status, updated_ms, body) VALUES (?, ?, ?, ?, ?, ?) \
         ON CONFLICT(client_order_id) DO UPDATE SET status = excluded.status, updated_ms = excluded.updated_ms, body = excluded.body",
        vec![
            text(coid),
            signal_id.map(String::from).into(),
            text(symbol),
            text(status),
            int(now_ms()),
            text(body.to_string()),
        ],
    );
}

/// Records the exits an accepted entry carries on the exchange (Bybit TP/SL on create), so
/// their fills can be claimed when one fires. Nothing for an entry without attached protection.
///
/// # Errors
/// Storage failures.
pub async fn record_attached(
    bot: &BotDO,
    config: &BotConfig,
    op: &VenueOp,
    entry: &ClientOrderId,
    signal_id: &SignalId,
    since_ms: i64,
) -> Result<Vec<Value>, ApiError> {
    let exits = keel_engine::venue::protect::attached_exits(&config.id, signal_id, op)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    if exits.is_empty() {
        return Ok(Vec::new());
    }
    let mut j = bot.journal()?;
    let mut out = Vec::new();
    for t in &exits {
        let body = exit_body(t, "trigger_open", None, entry, true, None, since_ms);
        stage_row(
            &mut j,
            t.client_order_id.as_str(),
            Some(signal_id.as_str()),
            t.symbol.as_str(),
            "trigger_open",
            &body,
        );
        out.push(body);
    }
    bot.commit(j).await?;
    Ok(out)
}

/// After a filled spot buy on Binance with both a stop-loss and a take-profit, places the OCO
/// exit pair for what the entry left held (net of base-asset fees, on the step) and records
/// both legs (`oco` = the list's client id, `order_id` = each leg's exchange id). A refused pair
/// does not undo the entry; it is recorded (`trigger_rejected`) and answered.
///
/// # Errors
/// Storage failures.
pub async fn place_oco(
    bot: &BotDO,
    link: &mut Link<'_>,
    entry: &Order,
    protection: &Protection,
    rules: &InstrumentRules,
    signal_id: &SignalId,
    config: &BotConfig,
) -> Result<Vec<Value>, ApiError> {
    let qty = protect::net_holding(
        entry.filled_qty,
        &entry.fees,
        &rules.base_asset,
        rules.step_size,
    );
    let Some(oco) = protect::oco_exit(
        config.exchange,
        config.market,
        &config.id,
        signal_id,
        &entry.request,
        protection,
        rules.tick_size,
        qty,
    )
    .map_err(|e| ApiError::internal(e.to_string()))?
    else {
        return Ok(Vec::new());
    };
    let outcome = link.call(&VenueOp::PlaceOcoExit(oco.clone())).await;
    let (status, legs, error) = match outcome {
        Ok(VenueReply::Orders(legs)) => ("trigger_open", legs, None),
        Ok(other) => (
            "trigger_rejected",
            Vec::new(),
            Some(format!("unexpected reply {other:?}")),
        ),
        Err(e) => (
            "trigger_rejected",
            Vec::new(),
            Some(ApiError::from(e).message),
        ),
    };
    let leg_id = |c: &ClientOrderId| {
        legs.iter()
            .find(|r| r.client_order_id.as_ref() == Some(c))
            .map(|r| r.order_id.clone())
    };
    let now = now_ms();
    let mut j = bot.journal()?;
    for d in std::mem::take(&mut link.trail) {
        j.audit(
            d.signal(signal_id.clone())
                .order(oco.list_client_order_id.clone()),
        )?;
    }
    let mut out = Vec::new();
    for (kind, leg) in [
        (ExitKind::StopLoss, &oco.stop_loss),
        (ExitKind::TakeProfit, &oco.take_profit),
    ] {
        let t = ExitTrigger {
            client_order_id: leg.client_order_id.clone(),
            symbol: oco.symbol.clone(),
            close_side: oco.close_side,
            kind,
            trigger_price: leg.price,
            qty: Some(oco.qty),
        };
        let mut body = exit_body(
            &t,
            status,
            leg_id(&leg.client_order_id).as_deref(),
            &entry.request.client_order_id,
            false,
            error.clone(),
            now,
        );
        body["oco"] = json!(oco.list_client_order_id);
        body["qty"] = json!(oco.qty);
        stage_row(
            &mut j,
            t.client_order_id.as_str(),
            Some(signal_id.as_str()),
            t.symbol.as_str(),
            status,
            &body,
        );
        out.push(body);
    }
    link.stage(&mut j)?;
    bot.commit(j).await?;
    Ok(out)
}

/// After a filled Bybit spot market buy with protection, places the spot TP/SL order
/// (`tpslOrder`) for the holding and records it; its fills are claimed like Bybit's other exits.
/// Bybit locks a spot TP/SL order's quantity from placement, so a holding carries one: the
/// stop-loss when the alert has one (the answer says so when a take-profit was left out).
///
/// # Errors
/// Storage failures.
#[allow(clippy::too_many_arguments)]
pub async fn place_spot_tpsl(
    bot: &BotDO,
    link: &mut Link<'_>,
    entry: &Order,
    protection: &Protection,
    rules: &InstrumentRules,
    signal_id: &SignalId,
    config: &BotConfig,
) -> Result<Vec<Value>, ApiError> {
    let qty = protect::net_holding(
        entry.filled_qty,
        &entry.fees,
        &rules.base_asset,
        rules.step_size,
    );
    let Some(t) = protect::spot_tpsl(
        config.exchange,
        config.market,
        &config.id,
        signal_id,
        &entry.request,
        protection,
        rules.tick_size,
        qty,
    )
    .map_err(|e| ApiError::internal(e.to_string()))?
    else {
        return Ok(Vec::new());
    };
    let outcome = link.call(&VenueOp::PlaceExitTrigger(t.clone())).await;
    let (status, order_id, mut error) = match outcome {
        Ok(VenueReply::Order(r)) => ("trigger_open", Some(r.order_id), None),
        Ok(other) => (
            "trigger_rejected",
            None,
            Some(format!("unexpected reply {other:?}")),
        ),
        Err(e) => ("trigger_rejected", None, Some(ApiError::from(e).message)),
    };
    if error.is_none() && t.kind == ExitKind::StopLoss && protection.take_profit.is_some() {
        error = Some(
            "take-profit not placed: Bybit locks a spot TP/SL order's quantity, one per holding"
                .into(),
        );
    }
    let now = now_ms();
    let mut j = bot.journal()?;
    for d in std::mem::take(&mut link.trail) {
        j.audit(d.signal(signal_id.clone()).order(t.client_order_id.clone()))?;
    }
    let mut body = exit_body(
        &t,
        status,
        order_id.as_deref(),
        &entry.request.client_order_id,
        false,
        error,
        now,
    );
    body["qty"] = json!(t.qty);
    stage_row(
        &mut j,
        t.client_order_id.as_str(),
        Some(signal_id.as_str()),
        t.symbol.as_str(),
        status,
        &body,
    );
    link.stage(&mut j)?;
    bot.commit(j).await?;
    Ok(vec![body])
}

#[derive(Debug, Deserialize)]
struct Row {
    client_order_id: String,
    signal_id: Option<String>,
    symbol: String,
    updated_ms: i64,
    body: String,
}

/// One live exit as stored.
#[derive(Debug, Clone)]
struct Exit {
    coid: ClientOrderId,
    signal_id: Option<String>,
    symbol: Symbol,
    kind: Option<ExitKind>,
    close_side: Option<Side>,
    since_ms: i64,
    body: Value,
}

impl Exit {
    fn from_row(r: Row) -> Option<Exit> {
        let body: Value = serde_json::from_str(&r.body).ok()?;
        Some(Exit {
            coid: ClientOrderId::new(r.client_order_id).ok()?,
            signal_id: r.signal_id,
            symbol: Symbol::new(r.symbol).ok()?,
            kind: serde_json::from_value(body["exit_trigger"].clone()).ok(),
            close_side: serde_json::from_value(body["close_side"].clone()).ok(),
            since_ms: body["since_ms"].as_i64().unwrap_or(r.updated_ms),
            body,
        })
    }

    fn signal(&self) -> Option<SignalId> {
        self.signal_id.clone().and_then(|s| SignalId::new(s).ok())
    }

    /// The row with a new status (and the fired order's id when known).
    fn with(&self, status: &str, actual_order_id: Option<&str>) -> Value {
        let mut b = self.body.clone();
        b["status"] = json!(status);
        if let Some(id) = actual_order_id {
            b["actual_order_id"] = json!(id);
        }
        b
    }
}

/// What one run decided: fills to book per symbol and row updates, committed together.
#[derive(Debug, Default)]
struct Outcome {
    fills: BTreeMap<Symbol, Vec<(Option<SignalId>, Fill)>>,
    rows: Vec<(Exit, String, Value)>,
}

/// Looks at every live exit: books the fills of those that fired and closes the rows of those
/// that can no longer fire. Returns how many rows changed.
///
/// # Errors
/// Storage failures; exchange failures leave the exits as they were (the next run retries).
pub async fn refresh(bot: &BotDO, config: &BotConfig, actor: Actor) -> Result<usize, ApiError> {
    refresh_with(bot, config, actor, true).await
}

/// [`refresh`] right after a paper bot's venue observed new bars (the strategy run): the exits
/// that fired are booked without another tick of the ticker, so the fills are exactly those the
/// bars decided (as the backtester's).
///
/// # Errors
/// As [`refresh`].
pub async fn refresh_observed(
    bot: &BotDO,
    config: &BotConfig,
    actor: Actor,
) -> Result<usize, ApiError> {
    refresh_with(bot, config, actor, false).await
}

async fn refresh_with(
    bot: &BotDO,
    config: &BotConfig,
    actor: Actor,
    tick_paper: bool,
) -> Result<usize, ApiError> {
    let rows: Vec<Row> = bot.db.rows(
        &format!(
            "SELECT client_order_id, signal_id, symbol, updated_ms, body FROM orders WHERE status IN {LIVE} ORDER BY updated_ms LIMIT {PER_RUN}"
        ),
        vec![],
    )?;
    let exits: Vec<Exit> = rows.into_iter().filter_map(Exit::from_row).collect();
    if exits.is_empty() {
        return Ok(0);
    }
    let mut link = Link::open(bot, config, actor)?;
    // A strategy bot's paper venue sees its closed bars instead (`strategy::observe_paper`).
    let bars = config.source == keel_engine::config::SignalSource::Strategy;
    if link.paper.is_some() && tick_paper && !bars {
        // A paper bot's exits rest on its paper venue: it sees the ticker now (a tick fires
        // what it touches, by the venue's one rule), then is asked exactly as the exchange.
        let symbols: std::collections::BTreeSet<Symbol> =
            exits.iter().map(|e| e.symbol.clone()).collect();
        for s in &symbols {
            if let Err(e) = super::facts::market_facts(bot, &mut link, s).await {
                worker::console_error!(
                    "paper exits: no price for {s}: {}",
                    ApiError::from(e).message
                );
            }
        }
    }
    let mut out = Outcome::default();
    match config.exchange {
        Exchange::Binance if config.market == Market::Spot => {
            for e in &exits {
                spot_leg(&mut link, e, &mut out).await;
            }
        }
        Exchange::Binance => {
            for e in &exits {
                binance_exit(&mut link, e, &mut out).await;
            }
        }
        Exchange::Bybit => {
            let mut by_symbol: BTreeMap<Symbol, Vec<Exit>> = BTreeMap::new();
            for e in exits {
                by_symbol.entry(e.symbol.clone()).or_default().push(e);
            }
            for (symbol, group) in by_symbol {
                bybit_exits(bot, config, &mut link, &symbol, &group, &mut out).await?;
            }
        }
    }
    commit(bot, config, &mut link, out).await
}

/// Binance: ask the Algo Service about the trigger; once fired, read the trades of the order it
/// sent (`actualOrderId`).
async fn binance_exit(link: &mut Link<'_>, e: &Exit, out: &mut Outcome) {
    let Ok(VenueReply::Trigger(t)) = link
        .call(&VenueOp::QueryExitTrigger {
            symbol: e.symbol.clone(),
            client_order_id: e.coid.clone(),
        })
        .await
    else {
        return;
    };
    let status = match t.state {
        TriggerState::Working => return,
        TriggerState::Cancelled => "trigger_cancelled",
        TriggerState::Expired => "trigger_expired",
        TriggerState::Rejected => "trigger_rejected",
        TriggerState::Fired => {
            let Some(actual) = t.actual_order_id else {
                out.rows.push((
                    e.clone(),
                    "trigger_fired".into(),
                    e.with("trigger_fired", None),
                ));
                return;
            };
            let fills = match link
                .call(&VenueOp::ExitFills {
                    symbol: e.symbol.clone(),
                    since_ms: e.since_ms - SINCE_SLACK_MS,
                    order_id: Some(actual.clone()),
                })
                .await
            {
                Ok(VenueReply::ExitFills(f)) => f,
                _ => return,
            };
            let status = if t.finished && !fills.is_empty() {
                "trigger_filled"
            } else {
                "trigger_fired"
            };
            claim(out, e, fills.into_iter().map(|f| f.fill));
            out.rows
                .push((e.clone(), status.into(), e.with(status, Some(&actual))));
            return;
        }
    };
    out.rows
        .push((e.clone(), status.into(), e.with(status, None)));
}

/// Binance spot: an OCO leg is an order of ours by client id; once it (partly) filled, its
/// trades are read by its exchange id. The leg the exchange expired closes as cancelled.
async fn spot_leg(link: &mut Link<'_>, e: &Exit, out: &mut Outcome) {
    let Ok(VenueReply::Order(r)) = link
        .call(&VenueOp::QueryOrder {
            symbol: e.symbol.clone(),
            client_order_id: e.coid.clone(),
        })
        .await
    else {
        return;
    };
    let done = r.status.is_final();
    if r.executed_qty.is_zero() {
        if done {
            out.rows.push((
                e.clone(),
                "trigger_cancelled".into(),
                e.with("trigger_cancelled", None),
            ));
        }
        return;
    }
    let Ok(VenueReply::ExitFills(fills)) = link
        .call(&VenueOp::ExitFills {
            symbol: e.symbol.clone(),
            since_ms: e.since_ms - SINCE_SLACK_MS,
            order_id: Some(r.order_id.clone()),
        })
        .await
    else {
        return;
    };
    let status = if done {
        "trigger_filled"
    } else {
        "trigger_fired"
    };
    claim(out, e, fills.into_iter().map(|f| f.fill));
    out.rows
        .push((e.clone(), status.into(), e.with(status, Some(&r.order_id))));
}

/// Bybit: the symbol's TP/SL-created executions since the oldest live exit; each is claimed by
/// the live exit it answers (same closing side, placed before it, same kind when stated). A
/// fired exit closed the position, so its live siblings placed before it are gone too. Exits
/// whose entry is final while the bot holds nothing in their direction protect nothing now.
async fn bybit_exits(
    bot: &BotDO,
    config: &BotConfig,
    link: &mut Link<'_>,
    symbol: &Symbol,
    group: &[Exit],
    out: &mut Outcome,
) -> Result<(), ApiError> {
    let since = group.iter().map(|e| e.since_ms).min().unwrap_or(0) - SINCE_SLACK_MS;
    let fills = match link
        .call(&VenueOp::ExitFills {
            symbol: symbol.clone(),
            since_ms: since,
            order_id: None,
        })
        .await
    {
        Ok(VenueReply::ExitFills(f)) => f,
        _ => return Ok(()),
    };
    let mut done: Vec<ClientOrderId> = Vec::new();
    for (e, claimed) in assign(group, &fills) {
        if done.contains(&e.coid) {
            continue;
        }
        let last = claimed
            .iter()
            .map(|f| f.time_ms)
            .max()
            .unwrap_or(e.since_ms);
        let actual = claimed.first().map(|f| f.order_id.clone());
        claim(out, &e, claimed.into_iter());
        out.rows.push((
            e.clone(),
            "trigger_filled".into(),
            e.with("trigger_filled", actual.as_deref()),
        ));
        done.push(e.coid.clone());
        // Linear TP/SL close the whole position (their older siblings go with it); on spot only
        // the exits of the same entry do.
        let siblings: Vec<&Exit> = group
            .iter()
            .filter(|s| {
                !done.contains(&s.coid)
                    && s.since_ms <= last
                    && s.close_side == e.close_side
                    && (config.market == Market::Linear
                        || s.body["entry_client_order_id"] == e.body["entry_client_order_id"])
            })
            .collect();
        for s in siblings {
            out.rows.push((
                s.clone(),
                "trigger_cancelled".into(),
                s.with("trigger_cancelled", None),
            ));
            done.push(s.coid.clone());
        }
    }
    let position = ledger::load(bot, config)?
        .position(symbol)
        .map(|p| p.qty)
        .unwrap_or(Decimal::ZERO);
    for e in group.iter().filter(|e| !done.contains(&e.coid)) {
        let protects_nothing = match e.close_side {
            Some(Side::Sell) => position <= Decimal::ZERO,
            Some(Side::Buy) => position >= Decimal::ZERO,
            None => false,
        };
        if protects_nothing && entry_final(bot, &e.body)? {
            out.rows.push((
                e.clone(),
                "trigger_cancelled".into(),
                e.with("trigger_cancelled", None),
            ));
        }
    }
    Ok(())
}

/// Pairs each TP/SL execution with the live exit it answers: by our client id when the order
/// carries one, else the newest placed before it with the same closing side and, when the venue
/// states it, the same kind. Executions of other orders (other bots') are left alone.
fn assign(group: &[Exit], fills: &[ExitFill]) -> Vec<(Exit, Vec<Fill>)> {
    let mut out: Vec<(Exit, Vec<Fill>)> = Vec::new();
    for f in fills {
        // A spot TP/SL order keeps our orderLinkId: that exit's own. Without one (TP/SL on an
        // entry), the newest matching live exit placed before the fill.
        let owner = match &f.fill.client_order_id {
            Some(c) => group.iter().find(|e| &e.coid == c),
            None => group
                .iter()
                .filter(|e| {
                    e.close_side == Some(f.fill.side)
                        && e.since_ms - SINCE_SLACK_MS <= f.fill.time_ms
                        && (f.kind.is_none() || e.kind == f.kind)
                })
                .max_by_key(|e| e.since_ms),
        };
        let Some(owner) = owner else { continue };
        match out.iter_mut().find(|(e, _)| e.coid == owner.coid) {
            Some((_, v)) => v.push(f.fill.clone()),
            None => out.push((owner.clone(), vec![f.fill.clone()])),
        }
    }
    out
}

/// Adds an exit's fills, attributed to the exit (its client id and signal) for the audit trail.
fn claim(out: &mut Outcome, e: &Exit, fills: impl Iterator<Item = Fill>) {
    for mut f in fills {
        f.client_order_id = Some(e.coid.clone());
        out.fills
            .entry(f.symbol.clone())
            .or_default()
            .push((e.signal(), f));
    }
}

/// Whether the entry an exit protects can no longer fill (or is unknown to the bot).
fn entry_final(bot: &BotDO, body: &Value) -> Result<bool, ApiError> {
    #[derive(Deserialize)]
    struct S {
        status: String,
    }
    let Some(entry) = body["entry_client_order_id"].as_str() else {
        return Ok(true);
    };
    let row: Option<S> = bot.db.row(
        "SELECT status FROM orders WHERE client_order_id = ?",
        vec![text(entry)],
    )?;
    Ok(row.is_none_or(|r| {
        matches!(
            r.status.as_str(),
            "filled" | "cancelled" | "rejected" | "expired"
        )
    }))
}

/// Books the claimed fills and stages the row updates and the request trail in one commit.
async fn commit(
    bot: &BotDO,
    config: &BotConfig,
    link: &mut Link<'_>,
    out: Outcome,
) -> Result<usize, ApiError> {
    // Prices and rules need I/O: fetched before the journal opens (a journal never spans an await).
    let mut priced = Vec::new();
    for (symbol, fills) in &out.fills {
        let facts = super::facts::market_facts(bot, link, symbol)
            .await
            .map_err(ApiError::from)?;
        let plain: Vec<Fill> = fills.iter().map(|(_, f)| f.clone()).collect();
        let prices = super::facts::fee_asset_prices(link, &[], &plain, &facts.rules).await;
        priced.push((fills, facts.rules, prices));
    }
    let mut j = bot.journal()?;
    for d in std::mem::take(&mut link.trail) {
        j.audit(d)?;
    }
    let mut ledger_now = if priced.is_empty() {
        None
    } else {
        Some(ledger::load(bot, config)?)
    };
    if let Some(l) = ledger_now.as_mut() {
        for (fills, rules, prices) in &priced {
            for (signal_id, fill) in fills.iter() {
                let booking = keel_engine::bot::book_fills(
                    l,
                    std::slice::from_ref(fill),
                    rules,
                    prices,
                    config.exchange,
                    config.market,
                    &link.actor,
                    signal_id.as_ref(),
                    config.strategy.as_deref(),
                )
                .map_err(|e| ApiError::internal(format!("ledger: {e}")))?;
                for d in booking.drafts {
                    j.audit(d)?;
                }
                ledger::stage(&mut j, &booking.entries)?;
                ledger::stage_fills(&mut j, &booking.booked, signal_id.as_ref())?;
            }
        }
        ledger::stage_equity_point(&mut j, l, now_ms())?;
    }
    let changed = out.rows.len();
    for (e, status, body) in &out.rows {
        stage_row(
            &mut j,
            e.coid.as_str(),
            e.signal_id.as_deref(),
            e.symbol.as_str(),
            status,
            body,
        );
    }
    link.stage(&mut j)?;
    bot.commit(j).await?;
    if let Some(l) = ledger_now {
        *bot.ledger.borrow_mut() = Some(l);
        if let Err(e) = super::limits::check_limits(bot, config).await {
            worker::console_error!("auto-pause check: {}", e.message);
        }
    }
    Ok(changed)
}
