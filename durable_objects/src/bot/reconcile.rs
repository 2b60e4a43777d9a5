//! Reconciliation against the exchange's own trade history (issue: exact P&L). For every symbol
//! the bot traded, fetch the exchange's trades (and funding on linear) since the bot's cursor,
//! match them with our booked fills by trade id and order id (`keel_engine::ledger::reconcile`),
//! book what we missed (a lost ack), and mark the bot `needs_attention` on any other difference.
//! Open orders on the exchange that the bot does not know are reported, never adopted.

use super::config::load_config;
use super::exchange::Link;
use super::{ledger, now_ms, BotDO};
use crate::db::text;
use crate::http::{json, read_json, ApiError};
use keel_engine::audit::{Actor, AuditDraft, AuditEvent, Mismatch};
use keel_engine::bot::book_fills;
use keel_engine::ids::{ClientOrderId, Symbol};
use keel_engine::ledger::{
    held_funding, reconcile, BookedFill, ExchangeTrade, FundingPayment, LedgerEntry, OwnedOrders,
    ReconcileInput, Verdict,
};
use keel_engine::model::{Fill, Market};
use keel_engine::venue::CallFailure;
use keel_engine::venue::{TradeCursor, VenueOp, VenueReply};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use worker::{Request, Response};

/// Overlap kept behind the cursor so late-arriving trades are not skipped (dedupe by trade id).
const CURSOR_OVERLAP_MS: i64 = 60_000;
/// Pages fetched per symbol per run.
const MAX_PAGES: usize = 20;
/// How often the cron tick reconciles a bot with history.
pub const EVERY_MS: i64 = 5 * 60_000;
/// A bot whose last reconciliation is older than this reconciles before trading again.
pub const STALE_AFTER_MS: i64 = 15 * 60_000;

#[derive(Debug, Deserialize)]
struct ActorBody {
    actor: String,
}

#[derive(Debug, Deserialize)]
struct OrderRow {
    client_order_id: String,
    symbol: String,
    body: String,
    status: String,
}

#[derive(Debug, Deserialize)]
struct FillRow {
    body: String,
}

/// `POST /control/reconcile`.
///
/// # Errors
/// 404 unknown bot; 503 when the exchange cannot be read.
pub async fn handle(bot: &BotDO, req: &mut Request) -> Result<Response, ApiError> {
    let body: ActorBody = read_json(req).await?;
    let actor = super::config::actor(&body.actor)?;
    let _turn = bot.exec.lock().await;
    Ok(json(200, &run(bot, actor).await?)?)
}

/// When the last run happened (ms), if ever.
pub fn last_run_ms(bot: &BotDO) -> Result<Option<i64>, ApiError> {
    let v: Option<Value> = super::store::kv_get(&bot.db, "reconciliation")?;
    Ok(v.and_then(|v| v["last_run_ms"].as_i64()))
}

/// Runs one reconciliation and commits its outcome.
///
/// # Errors
/// Storage or exchange failures (nothing is committed then).
pub async fn run(bot: &BotDO, actor: Actor) -> Result<Value, ApiError> {
    let stored = load_config(bot)?;
    let config = &stored.config;
    // Orders left `sent` by an execution that is gone become `unknown` first, so their
    // exchange order id is looked up below and their trades are recognised (and booked) as ours.
    if let Err(e) = super::orders::mark_lost_answers(bot).await {
        worker::console_error!("reconcile: marking lost answers: {e}");
    }
    // Fired exchange-side exits first: their fills are the bot's own, booked before comparing.
    if let Err(e) = super::protection::refresh(bot, config, actor.clone()).await {
        worker::console_error!("reconcile: refreshing exchange-side exits: {e}");
    }
    let mut link = Link::open(bot, config, actor.clone())?;
    let rows: Vec<OrderRow> = bot.db.rows(
        "SELECT client_order_id, symbol, body, status FROM orders",
        vec![],
    )?;
    let mut owned = OwnedOrders::default();
    let mut symbols = BTreeSet::new();
    for r in &rows {
        symbols.insert(r.symbol.clone());
        if let Ok(c) = ClientOrderId::new(r.client_order_id.clone()) {
            owned.client_order_ids.insert(c);
        }
        let body = serde_json::from_str::<Value>(&r.body).unwrap_or(Value::Null);
        // `actual_order_id`: the order a fired exchange-side exit sent (its fills are ours).
        for key in ["order_id", "actual_order_id"] {
            if let Some(id) = body[key].as_str() {
                owned.order_ids.insert(id.to_string());
            }
        }
        if body["order_id"].as_str().is_none()
            && matches!(r.status.as_str(), "unknown" | "sent" | "intent")
        {
            resolve_order_id(&mut link, r, &mut owned).await;
        }
    }
    let mut cursors: BTreeMap<String, i64> =
        super::store::kv_get(&bot.db, "recon_cursor")?.unwrap_or_default();
    let created = stored.updated_ms.min(now_ms());
    let now = now_ms();
    let mut reports = Vec::new();
    let mut mismatches = Vec::new();
    let mut needs_attention = false;
    let mut missing_fills: Vec<(Symbol, Vec<Fill>)> = Vec::new();
    let mut checked = 0u64;
    let mut missing_funding: Vec<LedgerEntry> = Vec::new();
    for s in &symbols {
        let Ok(symbol) = Symbol::new(s.clone()) else {
            continue;
        };
        let start = cursors
            .get(s)
            .copied()
            .unwrap_or(created - CURSOR_OVERLAP_MS);
        let theirs = fetch_trades(&mut link, &symbol, start)
            .await
            .map_err(ApiError::from)?;
        let ours: Vec<BookedFill> = bot
            .db
            .rows::<FillRow>(
                "SELECT body FROM fills WHERE symbol = ? AND time_ms >= ?",
                vec![text(s.as_str()), crate::db::int(start)],
            )?
            .into_iter()
            .filter_map(|r| serde_json::from_str(&r.body).ok())
            .collect();
        let theirs: Vec<ExchangeTrade> = theirs
            .into_iter()
            .map(|fill| ExchangeTrade {
                fill,
                realized_pnl: None,
            })
            .collect();
        let (our_funding, their_funding) = if config.market == Market::Linear {
            let account_funding = fetch_funding(&mut link, &symbol, start)
                .await
                .map_err(ApiError::from)?;
            // The account's charges split between the bots sharing it: this bot's shares only.
            let fills = own_fills(bot, s, &theirs, &owned)?;
            let held = held_funding(account_funding, &fills);
            let (shares, unsplittable) =
                super::funding::shares(&link, bot, config, held, &fills).await?;
            for f in unsplittable {
                needs_attention = true;
                mismatches.push(Mismatch {
                    subject: "funding_unsplittable".into(),
                    trade_id: Some(f.id),
                    ours: "absent".into(),
                    theirs: f.amount.to_string(),
                });
            }
            (stored_funding(bot, &symbol, start)?, shares)
        } else {
            (Vec::new(), Vec::new())
        };
        let report = reconcile(&ReconcileInput {
            start_ms: start,
            end_ms: now,
            owned: &owned,
            ours: &ours,
            theirs: &theirs,
            our_funding: &our_funding,
            their_funding: &their_funding,
        });
        missing_funding.extend(
            report
                .funding_missing
                .iter()
                .cloned()
                .map(LedgerEntry::Funding),
        );
        for f in &report.funding_extra {
            mismatches.push(Mismatch {
                subject: "extra_funding".into(),
                trade_id: Some(f.id.clone()),
                ours: f.amount.to_string(),
                theirs: "absent".into(),
            });
        }
        for f in &report.funding_differences {
            mismatches.push(Mismatch {
                subject: "funding".into(),
                trade_id: Some(f.id.clone()),
                ours: f.ours.to_string(),
                theirs: f.theirs.to_string(),
            });
        }
        checked += (report.matched + report.missing.len() + report.extra.len()) as u64;
        if report.verdict == Verdict::Mismatch {
            needs_attention = true;
        }
        for e in &report.extra {
            mismatches.push(Mismatch {
                subject: "extra_trade".into(),
                trade_id: Some(e.fill.trade_id.clone()),
                ours: e.fill.qty.to_string(),
                theirs: "absent".into(),
            });
        }
        for d in &report.differences {
            for f in &d.fields {
                mismatches.push(Mismatch {
                    subject: f.field.clone(),
                    trade_id: Some(d.trade_id.clone()),
                    ours: f.ours.clone(),
                    theirs: f.theirs.clone(),
                });
            }
        }
        for m in &report.missing {
            mismatches.push(Mismatch {
                subject: "missing_trade_booked".into(),
                trade_id: Some(m.fill.trade_id.clone()),
                ours: "absent".into(),
                theirs: m.fill.qty.to_string(),
            });
        }
        if !report.missing.is_empty() {
            missing_fills.push((
                symbol.clone(),
                report.missing.iter().map(|m| m.fill.clone()).collect(),
            ));
        }
        cursors.insert(s.clone(), (now - CURSOR_OVERLAP_MS).max(start));
        reports.push(serde_json::to_value(&report).unwrap_or(Value::Null));
    }
    let (unknown_open, sibling_open) = unknown_open_orders(&mut link, &owned).await;
    if !unknown_open.is_empty() {
        needs_attention = true;
        for o in &unknown_open {
            mismatches.push(Mismatch {
                subject: "unknown_open_order".into(),
                trade_id: None,
                ours: "absent".into(),
                theirs: o.clone(),
            });
        }
    }
    // Book what we missed (fills whose ack was lost), valued like any other fill.
    let mut priced = Vec::with_capacity(missing_fills.len());
    for (symbol, fills) in &missing_fills {
        let facts = super::facts::market_facts(bot, &mut link, symbol)
            .await
            .map_err(ApiError::from)?;
        let fee_prices = super::facts::fee_asset_prices(&mut link, &[], fills, &facts.rules).await;
        priced.push((fills, facts, fee_prices));
    }
    // No await from here to the commit: the journal must not interleave with another request.
    let mut ledger_now = ledger::load(bot, config)?;
    let mut j = bot.journal()?;
    for (fills, facts, fee_prices) in &priced {
        let booking = book_fills(
            &mut ledger_now,
            fills,
            &facts.rules,
            fee_prices,
            config.exchange,
            config.market,
            &actor,
            None,
            config.strategy.as_deref(),
        )
        .map_err(|e| ApiError::internal(format!("ledger: {e}")))?;
        for d in booking.drafts {
            j.audit(d)?;
        }
        ledger::stage(&mut j, &booking.entries)?;
        ledger::stage_fills(&mut j, &booking.booked, None)?;
    }
    for entry in &missing_funding {
        if let (LedgerEntry::Funding(f), Ok(keel_engine::ledger::Booked::Applied(effect))) =
            (entry, ledger_now.book(entry))
        {
            j.audit(AuditDraft::new(
                f.time_ms,
                actor.clone(),
                AuditEvent::PnlBooked {
                    symbol: f.symbol.clone(),
                    trade_id: None,
                    realized: rust_decimal::Decimal::ZERO,
                    fees_quote: rust_decimal::Decimal::ZERO,
                    funding: effect.funding,
                    quote_asset: f.asset.clone(),
                },
            ))?;
            ledger::stage(&mut j, std::slice::from_ref(entry))?;
        }
    }
    for d in std::mem::take(&mut link.trail) {
        j.audit(d)?;
    }
    let verdict = if needs_attention {
        "mismatch"
    } else if missing_fills.is_empty() && missing_funding.is_empty() {
        "clean"
    } else {
        "booked_missing"
    };
    j.audit(AuditDraft::new(
        now_ms(),
        actor,
        AuditEvent::Reconciliation {
            checked,
            mismatches: mismatches.clone(),
        },
    ))?;
    let summary = json!({
        "last_run_ms": now, "status": verdict, "needs_attention": needs_attention,
        "checked": checked, "mismatches": mismatches, "unknown_open_orders": unknown_open,
        "other_bots_open_orders": sibling_open,
        "funding_checked": config.market == Market::Linear, "reports": reports,
    });
    j.put("reconciliation", &summary)?
        .put("recon_cursor", &cursors)?;
    link.stage(&mut j)?;
    bot.commit(j).await?;
    *bot.ledger.borrow_mut() = Some(ledger_now);
    // Then the orders themselves are settled by client id (their fills booked above are
    // duplicates and skipped): no order stays `sent` or `unknown` once the exchange answers.
    if let Err(e) = super::orders::refresh_open(bot, config).await {
        worker::console_error!("reconcile: refreshing open orders: {e}");
    }
    if let Err(e) = super::interrupted::resolve_interrupted(bot).await {
        worker::console_error!("reconcile: answering interrupted signals: {e}");
    }
    if needs_attention {
        // Marks the bot `needs_attention` and alerts; only an operator's resume clears it.
        let why = format!("reconciliation found {} difference(s)", mismatches.len());
        super::alerts::reconciliation_result(bot, Some(why)).await?;
    }
    Ok(summary)
}

/// An order the bot never heard back about (its ack was lost) has no exchange order id in our
/// records, and Binance's trade lists carry no client id: ask the exchange for it by client id
/// so the order's trades are recognised as ours (and booked) instead of passing as another's.
/// An order the exchange does not know stays unresolved (it never reached the book).
async fn resolve_order_id(link: &mut Link<'_>, row: &OrderRow, owned: &mut OwnedOrders) {
    let (Ok(symbol), Ok(client_order_id)) = (
        Symbol::new(row.symbol.clone()),
        ClientOrderId::new(row.client_order_id.clone()),
    ) else {
        return;
    };
    let query = VenueOp::QueryOrder {
        symbol,
        client_order_id,
    };
    if let Ok(VenueReply::Order(report)) = link.call(&query).await {
        owned.order_ids.insert(report.order_id);
    }
}

async fn fetch_trades(
    link: &mut Link<'_>,
    symbol: &Symbol,
    start: i64,
) -> Result<Vec<Fill>, CallFailure> {
    let mut cursor = TradeCursor::from_time(start);
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for _ in 0..MAX_PAGES {
        let VenueReply::Trades(page) = link
            .call(&VenueOp::Trades {
                symbol: symbol.clone(),
                cursor: cursor.clone(),
            })
            .await?
        else {
            return Err(CallFailure::Internal("trades: unexpected reply".into()));
        };
        for f in page.fills {
            if seen.insert(f.trade_id.clone()) {
                out.push(f);
            }
        }
        if page.caught_up || page.next == cursor {
            break;
        }
        cursor = page.next;
    }
    Ok(out)
}

/// Open orders on the account that are not this bot's: (unknown ones, reported as mismatches;
/// other Keel bots' on a shared account, recognised by their client id shape, listed only).
async fn unknown_open_orders(
    link: &mut Link<'_>,
    owned: &OwnedOrders,
) -> (Vec<String>, Vec<String>) {
    let Ok(VenueReply::Orders(orders)) = link.call(&VenueOp::OpenOrders { symbol: None }).await
    else {
        return (Vec::new(), Vec::new());
    };
    let (mut unknown, mut siblings) = (Vec::new(), Vec::new());
    for o in orders.into_iter().filter(|o| {
        !owned.order_ids.contains(&o.order_id)
            && !o
                .client_order_id
                .as_ref()
                .is_some_and(|c| owned.client_order_ids.contains(c))
    }) {
        let sibling = o
            .client_order_id
            .as_ref()
            .is_some_and(|c| keel_engine::sizing::is_keel_client_order_id(c.as_str()));
        let line = format!(
            "{} {} ({})",
            o.symbol,
            o.order_id,
            o.client_order_id.map(|c| c.to_string()).unwrap_or_default()
        );
        if sibling {
            siblings.push(line);
        } else {
            unknown.push(line);
        }
    }
    (unknown, siblings)
}

async fn fetch_funding(
    link: &mut Link<'_>,
    symbol: &Symbol,
    start: i64,
) -> Result<Vec<FundingPayment>, CallFailure> {
    let mut cursor = TradeCursor::from_time(start);
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for _ in 0..MAX_PAGES {
        let VenueReply::Funding(page) = link
            .call(&VenueOp::Funding {
                symbol: Some(symbol.clone()),
                cursor: cursor.clone(),
            })
            .await?
        else {
            return Err(CallFailure::Internal("funding: unexpected reply".into()));
        };
        for e in page.events {
            if seen.insert(e.id.clone()) {
                out.push(FundingPayment {
                    id: e.id,
                    symbol: e.symbol,
                    asset: e.asset,
                    amount: e.amount,
                    time_ms: e.time_ms,
                });
            }
        }
        if page.caught_up || page.next == cursor {
            break;
        }
        cursor = page.next;
    }
    Ok(out)
}

/// Every fill of the bot in `symbol`: booked ones, and the exchange's trades of its orders not
/// booked yet (this run books them), so funding is attributed by the position really held.
fn own_fills(
    bot: &BotDO,
    symbol: &str,
    theirs: &[ExchangeTrade],
    owned: &OwnedOrders,
) -> Result<Vec<Fill>, ApiError> {
    let mut fills: Vec<Fill> = bot
        .db
        .rows::<FillRow>(
            "SELECT body FROM fills WHERE symbol = ?",
            vec![text(symbol)],
        )?
        .into_iter()
        .filter_map(|r| serde_json::from_str::<BookedFill>(&r.body).ok())
        .map(|b| b.fill)
        .collect();
    let booked: BTreeSet<String> = fills.iter().map(|f| f.trade_id.clone()).collect();
    fills.extend(
        theirs
            .iter()
            .map(|t| &t.fill)
            .filter(|f| !booked.contains(&f.trade_id))
            .filter(|f| {
                owned.order_ids.contains(&f.order_id)
                    || f.client_order_id
                        .as_ref()
                        .is_some_and(|c| owned.client_order_ids.contains(c))
            })
            .cloned(),
    );
    Ok(fills)
}

fn stored_funding(
    bot: &BotDO,
    symbol: &Symbol,
    start: i64,
) -> Result<Vec<FundingPayment>, ApiError> {
    #[derive(Deserialize)]
    struct Row {
        body: String,
    }
    let rows: Vec<Row> = bot.db.rows(
        "SELECT body FROM ledger WHERE key LIKE 'u:%' AND time_ms >= ?",
        vec![crate::db::int(start)],
    )?;
    Ok(rows
        .into_iter()
        .filter_map(|r| match serde_json::from_str::<LedgerEntry>(&r.body) {
            Ok(LedgerEntry::Funding(f)) if &f.symbol == symbol => Some(f),
            _ => None,
        })
        .collect())
}
