//! The bot's ledger: stored as its entries (table `ledger`), rebuilt by deterministic replay when
//! the object starts, and kept in memory between requests.

use super::BotDO;
use crate::db::{int, text};
use crate::http::ApiError;
use keel_engine::audit::Actor;
use keel_engine::bot::book_fills;
use keel_engine::config::BotConfig;
use keel_engine::ids::SignalId;
use keel_engine::ledger::{Ledger, LedgerConfig, LedgerEntry, LedgerError, PnlMethod};
use keel_engine::model::InstrumentRules;
use serde::Deserialize;

/// Table of ledger entries.
pub const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS ledger (id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT UNIQUE, time_ms INTEGER NOT NULL, body TEXT NOT NULL)";

#[derive(Debug, Deserialize)]
struct Row {
    body: String,
}

/// The quote asset the bot's P&L is kept in, from its instruments (`*USDT` → `USDT`).
pub fn quote_asset(config: &BotConfig) -> String {
    const QUOTES: [&str; 6] = ["USDT", "USDC", "FDUSD", "BUSD", "BTC", "ETH"];
    let first = config
        .instruments
        .first()
        .map(|p| p.to_string())
        .unwrap_or_default();
    QUOTES
        .iter()
        .find(|q| first.ends_with(*q))
        .map(|q| q.to_string())
        .unwrap_or_else(|| "USDT".to_string())
}

/// The ledger's fixed facts for this bot's config.
pub fn ledger_config(config: &BotConfig) -> LedgerConfig {
    LedgerConfig {
        bot_id: config.id.clone(),
        quote_asset: quote_asset(config),
        market: config.market,
        method: PnlMethod::AverageCost,
    }
}

/// Every stored ledger entry, in storage order (replay sorts them canonically).
///
/// # Errors
/// Storage failures or a row that no longer parses (reported, never skipped).
pub fn entries(bot: &BotDO) -> Result<Vec<LedgerEntry>, ApiError> {
    let rows: Vec<Row> = bot.db.rows("SELECT body FROM ledger ORDER BY id", vec![])?;
    let mut entries = Vec::with_capacity(rows.len());
    for r in rows {
        let e: LedgerEntry = serde_json::from_str(&r.body)
            .map_err(|e| ApiError::internal(format!("ledger row: {e}")))?;
        entries.push(e);
    }
    Ok(entries)
}

/// Loads (or returns the cached) ledger.
///
/// # Errors
/// Storage failures or a stored entry that no longer replays (reported, never ignored).
pub fn load(bot: &BotDO, config: &BotConfig) -> Result<Ledger, ApiError> {
    if let Some(l) = bot.ledger.borrow().as_ref() {
        // A fill booked out of trade order (learnt late) is rebuilt in trade order below.
        if !l.needs_replay {
            return Ok(l.clone());
        }
    }
    let ledger = Ledger::replay(ledger_config(config), entries(bot)?)
        .map_err(|e| ApiError::internal(format!("ledger replay: {e:?}")))?;
    *bot.ledger.borrow_mut() = Some(ledger.clone());
    Ok(ledger)
}

/// Stages entries in a journal (same transaction as their audit events).
pub fn stage(journal: &mut super::store::Journal, entries: &[LedgerEntry]) -> Result<(), ApiError> {
    for e in entries {
        let body = serde_json::to_string(e).map_err(|err| ApiError::internal(err.to_string()))?;
        journal.exec(
            "INSERT OR IGNORE INTO ledger (key, time_ms, body) VALUES (?, ?, ?)",
            vec![e.key().into(), int(e.time_ms()), text(body)],
        );
    }
    Ok(())
}

/// Stages booked fills in the `fills` table (the fills view and reconciliation read them).
pub fn stage_fills(
    journal: &mut super::store::Journal,
    fills: &[keel_engine::ledger::BookedFill],
    signal_id: Option<&keel_engine::ids::SignalId>,
) -> Result<(), ApiError> {
    for b in fills {
        let mut body = serde_json::to_value(b).map_err(|e| ApiError::internal(e.to_string()))?;
        body["signal_id"] = serde_json::json!(signal_id.map(|s| s.as_str()));
        journal.exec(
            "INSERT OR IGNORE INTO fills (trade_id, client_order_id, symbol, time_ms, body) VALUES (?, ?, ?, ?, ?)",
            vec![
                text(format!("{}:{}", b.fill.symbol, b.fill.trade_id)),
                b.fill.client_order_id.as_ref().map(|c| c.to_string()).into(),
                text(b.fill.symbol.as_str()),
                int(b.fill.time_ms),
                text(body.to_string()),
            ],
        );
    }
    Ok(())
}

/// Stages one point of the equity curve (equity and drawdown from the peak) for the dashboard.
pub fn stage_equity_point(
    journal: &mut super::store::Journal,
    ledger: &Ledger,
    time_ms: i64,
) -> Result<(), ApiError> {
    let snap = ledger
        .risk_snapshot(time_ms)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    journal.exec(
        "INSERT OR REPLACE INTO equity (time_ms, equity, drawdown) VALUES (?, ?, ?)",
        vec![
            int(time_ms),
            text(snap.equity.to_string()),
            text(snap.drawdown.to_string()),
        ],
    );
    Ok(())
}

/// Books fills into a copy of the stored ledger (used by orders). The outer error is storage's;
/// the inner one is the ledger refusing a fill, which the caller records instead of failing.
#[allow(clippy::too_many_arguments)]
pub fn booking(
    bot: &BotDO,
    config: &keel_engine::config::BotConfig,
    fills: &[keel_engine::model::Fill],
    rules: &InstrumentRules,
    actor: &Actor,
    signal_id: Option<&SignalId>,
    fee_prices: &keel_engine::ledger::FeePrices,
) -> Result<Result<(Ledger, keel_engine::bot::Booking), LedgerError>, ApiError> {
    let mut ledger = load(bot, config)?;
    Ok(book_fills(
        &mut ledger,
        fills,
        rules,
        fee_prices,
        config.exchange,
        config.market,
        actor,
        signal_id,
        keel_engine::strategy::live::attribution(config).as_deref(),
    )
    .map(|booking| (ledger, booking)))
}
