//! `GET …/analytics?period=1d`: the bot's live ratios and its net P&L attributed by instrument,
//! strategy version and hour (`keel_engine::analytics`, docs/admin-api.md). The engine decides;
//! this reads the ledger entries and equity samples and maps its errors to answers.

use super::{ledger, BotDO};
use crate::http::ApiError;
use keel_engine::analytics::{self, AnalyticsError};
use keel_engine::config::BotConfig;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::str::FromStr;

/// The resampling period when the query names none.
pub const DEFAULT_PERIOD: &str = "1d";

/// Renders the analytics view.
///
/// # Errors
/// 422 `invalid_period` for an unknown or too fine period; storage or replay failures.
pub fn view(bot: &BotDO, config: &BotConfig, query: Option<&str>) -> Result<Value, ApiError> {
    let period = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|kv| kv.strip_prefix("period="))
        .unwrap_or(DEFAULT_PERIOD);
    #[derive(serde::Deserialize)]
    struct Row {
        time_ms: i64,
        equity: String,
    }
    let rows: Vec<Row> = bot.db.rows(
        "SELECT time_ms, equity FROM equity ORDER BY time_ms",
        vec![],
    )?;
    let mut equity = Vec::with_capacity(rows.len());
    for r in rows {
        let e = Decimal::from_str(&r.equity)
            .map_err(|e| ApiError::internal(format!("equity row at {}: {e}", r.time_ms)))?;
        equity.push((r.time_ms, e));
    }
    let cfg = ledger::ledger_config(config);
    let quote = cfg.quote_asset.clone();
    let live = analytics::live_with_regimes(
        cfg,
        ledger::entries(bot)?,
        &equity,
        period,
        &super::regime::book(bot)?,
    )
    .map_err(|e| match e {
        AnalyticsError::Period(_) | AnalyticsError::TooManyPeriods { .. } => {
            ApiError::unprocessable("invalid_period", e.to_string()).with_field("period")
        }
        other => ApiError::internal(other.to_string()),
    })?;
    let mut v = serde_json::to_value(live).map_err(|e| ApiError::internal(e.to_string()))?;
    v["bot_id"] = json!(config.id.as_str());
    v["quote_asset"] = json!(quote);
    Ok(v)
}
