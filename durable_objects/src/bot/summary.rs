//! The daily P&L summary: on the first cron tick of a UTC day the bot reports the previous day
//! (realized, fees, funding, net, fills, open positions) as an `info` alert. The day reported is
//! written in the same commit as the staged message ([`keel_engine::schedule::summary_due`]
//! decides), and ticks run one at a time under the bot's execution lock, so one day never gets
//! two summaries, however often the cron fires.

use super::alerts::Signal;
use super::store::{kv_get, Journal};
use super::{ledger, BotDO};
use crate::http::ApiError;
use keel_engine::alert::{Alert, AlertKind};
use keel_engine::config::BotConfig;
use keel_engine::schedule::{date_of_day, summary_due, summary_text, DayFigures};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

const DAY_MS: i64 = 86_400_000;

/// Stored under `daily_summary`: the last UTC day reported.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct LastSummary {
    day: i64,
}

/// When the previous UTC day's summary is due at `now_ms` (the cron's scheduled time): records
/// the day in `j` and returns the alert to stage with the rest of the tick's alerts (in the same
/// journal: [`alerts::stage`] runs once per journal).
///
/// # Errors
/// Storage and ledger failures.
pub fn due(
    bot: &BotDO,
    j: &mut Journal,
    config: &BotConfig,
    registered_ms: i64,
    now_ms: i64,
) -> Result<Option<Signal>, ApiError> {
    let last = kv_get::<LastSummary>(&bot.db, "daily_summary")?.map(|l| l.day);
    let Some(day) = summary_due(last, registered_ms, now_ms) else {
        return Ok(None);
    };
    let date = date_of_day(day);
    let report = ledger::load(bot, config)?
        .pnl_report(now_ms)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let (realized, fees, funding) = report
        .by_day
        .iter()
        .find(|d| d.date == date)
        .map(|d| (d.realized, d.fees_quote, d.funding))
        .unwrap_or((Decimal::ZERO, Decimal::ZERO, Decimal::ZERO));
    #[derive(Deserialize)]
    struct N {
        n: i64,
    }
    let fills = bot
        .db
        .row::<N>(
            "SELECT COUNT(*) AS n FROM fills WHERE time_ms >= ? AND time_ms < ?",
            vec![
                crate::db::int(day * DAY_MS),
                crate::db::int((day + 1) * DAY_MS),
            ],
        )?
        .map(|n| u64::try_from(n.n).unwrap_or(0))
        .unwrap_or(0);
    let open_positions = report
        .by_instrument
        .values()
        .filter(|i| !i.position_qty.is_zero() && !i.dust)
        .count();
    let text = summary_text(
        &date,
        &report.quote_asset,
        &DayFigures {
            realized,
            fees,
            funding,
            fills,
            open_positions,
        },
    );
    j.put("daily_summary", &LastSummary { day })?;
    Ok(Some(Signal::Raise(Alert::new(
        config.id.as_str(),
        AlertKind::DailySummary,
        date,
        text,
    ))))
}
