//! `GET /view/market`: recent candles of one of the bot's instruments and its tick and lot step,
//! read from the bot's own exchange (or simulator) through its [`Link`]. Why here: the dashboard's
//! bot page draws the traded instrument's chart and formats every price and quantity to the
//! instrument's precision, and only the bot knows which host, market and rules it trades on.
//! Market data only: nothing is booked, the paper book is not touched, and the public reads a
//! chart makes every 30 s are not written to the audit chain as request/response pairs (they are
//! no decision of the bot's; a circuit change they cause is still audited). The instrument rules
//! come from the same one-hour cache the signal path keeps (`rules:{symbol}`).

use super::config::load_config;
use super::exchange::Link;
use super::BotDO;
use crate::http::{json, ApiError};
use keel_engine::audit::{Actor, AuditEvent};
use keel_engine::config::whitelist::{is_whitelisted, InstrumentPattern};
use keel_engine::ids::Symbol;
use keel_engine::market::Timeframe;
use keel_engine::model::InstrumentRules;
use keel_engine::venue::{VenueOp, VenueReply};
use serde_json::json;
use worker::Response;

/// Candles answered when `limit` is absent.
const DEFAULT_LIMIT: u32 = 200;
/// Most candles one call answers (one exchange page on both venues).
const MAX_LIMIT: u32 = 500;

fn param(query: Option<&str>, name: &str) -> Option<String> {
    query?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::unprocessable("invalid_market_request", message).with_field(field)
}

/// `?symbol=&timeframe=&limit=`: the symbol defaults to the strategy's or the first exact
/// instrument of the whitelist, the timeframe to the strategy's or `1h`.
///
/// # Errors
/// 422 naming the field for an unknown timeframe, a bad limit, or a symbol outside the bot's
/// instruments; 502/503 when the exchange cannot be read.
pub async fn view(bot: &BotDO, query: Option<&str>) -> Result<Response, ApiError> {
    let stored = load_config(bot)?;
    let config = &stored.config;
    let symbol = match param(query, "symbol") {
        Some(s) => {
            let s = Symbol::new(s.to_ascii_uppercase())
                .map_err(|e| invalid("symbol", e.to_string()))?;
            if !is_whitelisted(&config.instruments, &s) {
                return Err(invalid(
                    "symbol",
                    format!("{s} is not one of this bot's instruments"),
                ));
            }
            s
        }
        None => config
            .instruments
            .iter()
            .find_map(|p| match p {
                InstrumentPattern::Exact(s) => Some(s.clone()),
                _ => None,
            })
            .ok_or_else(|| invalid("symbol", "this bot trades a pattern: name the symbol"))?,
    };
    let label = param(query, "timeframe")
        .or_else(|| config.timeframe.clone())
        .unwrap_or_else(|| "1h".to_string());
    let timeframe = Timeframe::parse(&label).map_err(|e| invalid("timeframe", e.to_string()))?;
    let limit = match param(query, "limit") {
        None => DEFAULT_LIMIT,
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| invalid("limit", format!("an integer from 1 to {MAX_LIMIT}")))?,
    };
    let mut link = Link::open(bot, config, Actor::System)?;
    // Market data only: the paper book is the signal path's to touch.
    link.paper = None;
    let op = VenueOp::Klines {
        symbol: symbol.clone(),
        interval: timeframe,
        start_ms: None,
        end_ms: None,
        limit,
    };
    let klines = link.call(&op).await;
    let cached: Option<(i64, InstrumentRules)> =
        super::store::kv_get(&bot.db, &format!("rules:{symbol}"))?;
    let rules = match (cached, &klines) {
        (Some((at, r)), _) if super::now_ms() - at < 3_600_000 => Ok(Some(r)),
        (_, Ok(_)) => link
            .call(&VenueOp::InstrumentRules {
                symbol: Some(symbol.clone()),
            })
            .await
            .map(|reply| match reply {
                VenueReply::Rules(list) => list.into_iter().find(|r| r.symbol == symbol),
                _ => None,
            }),
        (_, Err(_)) => Ok(None),
    };
    link.trail.retain(|d| {
        !matches!(
            d.event,
            AuditEvent::RequestSent { .. } | AuditEvent::ExchangeResponse { .. }
        )
    });
    super::exchange::save_link(bot, &mut link, None).await?;
    let candles = match klines.map_err(ApiError::from)? {
        VenueReply::Klines(k) => k,
        _ => return Err(ApiError::internal("klines: unexpected reply")),
    };
    let rules = rules.map_err(ApiError::from)?;
    let rows: Vec<_> = candles
        .iter()
        .map(|c| json!([c.open_time_ms, c.open, c.high, c.low, c.close, c.volume]))
        .collect();
    Ok(json(
        200,
        &json!({
            "symbol": symbol.as_str(),
            "timeframe": label,
            "tick_size": rules.as_ref().map(|r| r.tick_size),
            "step_size": rules.as_ref().map(|r| r.step_size),
            "base_asset": rules.as_ref().map(|r| r.base_asset.clone()),
            "quote_asset": rules.as_ref().map(|r| r.quote_asset.clone()),
            "candles": rows,
        }),
    )?)
}
