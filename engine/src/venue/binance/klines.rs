//! Binance candles: `GET /api/v3/klines` (spot, weight 2, ≤ 1000 bars) and `/fapi/v1/klines`
//! (USDⓈ-M, ≤ 1500 bars, weight by `limit`). Rows are arrays
//! `[openTime, "open", "high", "low", "close", "volume", closeTime, …]`, oldest first.

use crate::market::Timeframe;
use crate::model::Market;
use crate::venue::error::VenueError;
use crate::venue::op::Kline;
use crate::venue::sign::QueryString;
use crate::venue::wire::{dec, json};
use serde_json::Value;

/// Spot path.
pub const SPOT_PATH: &str = "/api/v3/klines";
/// USDⓈ-M path.
pub const FUTURES_PATH: &str = "/fapi/v1/klines";

/// Most bars one request may ask for.
pub fn max_limit(market: Market) -> u32 {
    match market {
        Market::Spot => 1000,
        Market::Linear => 1500,
    }
}

/// Request weight: spot 2; futures 1 / 2 / 5 / 10 for limits below 100 / 500 / ≤ 1000 / above.
pub fn weight(market: Market, limit: u32) -> u32 {
    match (market, limit) {
        (Market::Spot, _) => 2,
        (Market::Linear, 0..100) => 1,
        (Market::Linear, 100..500) => 2,
        (Market::Linear, 500..=1000) => 5,
        (Market::Linear, _) => 10,
    }
}

/// Binance's interval label for a timeframe.
///
/// # Errors
/// [`VenueError::Unsupported`] for an interval Binance has no label for.
pub fn interval_label(tf: Timeframe) -> Result<&'static str, VenueError> {
    const LABELS: [(i64, &str); 12] = [
        (1, "1m"),
        (3, "3m"),
        (5, "5m"),
        (15, "15m"),
        (30, "30m"),
        (60, "1h"),
        (120, "2h"),
        (240, "4h"),
        (360, "6h"),
        (480, "8h"),
        (720, "12h"),
        (1440, "1d"),
    ];
    LABELS
        .iter()
        .find(|(m, _)| m * 60_000 == tf.ms())
        .map(|(_, l)| *l)
        .ok_or_else(|| VenueError::Unsupported {
            op: "klines",
            reason: format!("no Binance interval of {} ms", tf.ms()),
        })
}

/// Query parameters, in Binance's documented order.
///
/// # Errors
/// [`VenueError::Unsupported`] for an unknown interval or a limit outside the page size.
pub fn push_query(
    market: Market,
    symbol: &str,
    tf: Timeframe,
    start_ms: Option<i64>,
    end_ms: Option<i64>,
    limit: u32,
    q: &mut QueryString,
) -> Result<(), VenueError> {
    if limit == 0 || limit > max_limit(market) {
        return Err(VenueError::Unsupported {
            op: "klines",
            reason: format!("limit {limit} outside 1..={}", max_limit(market)),
        });
    }
    q.push("symbol", symbol)
        .push("interval", interval_label(tf)?)
        .push_opt("startTime", start_ms.map(|t| t.to_string()).as_deref())
        .push_opt("endTime", end_ms.map(|t| t.to_string()).as_deref())
        .push("limit", &limit.to_string());
    Ok(())
}

/// Parses the rows, oldest first.
///
/// # Errors
/// [`VenueError::Parse`] naming the row and column.
pub fn parse(body: &str) -> Result<Vec<Kline>, VenueError> {
    let rows: Vec<Vec<Value>> = json("klines", body)?;
    rows.iter()
        .enumerate()
        .map(|(i, row)| {
            let text = |k: usize, name: &str| -> Result<String, VenueError> {
                match row.get(k) {
                    Some(Value::String(s)) => Ok(s.clone()),
                    Some(Value::Number(n)) => Ok(n.to_string()),
                    _ => Err(VenueError::parse(format!("klines[{i}].{name}"), "missing")),
                }
            };
            let open_time_ms = row.first().and_then(Value::as_i64).ok_or_else(|| {
                VenueError::parse(format!("klines[{i}].openTime"), "not an integer")
            })?;
            Ok(Kline {
                open_time_ms,
                open: dec("open", &text(1, "open")?)?,
                high: dec("high", &text(2, "high")?)?,
                low: dec("low", &text(3, "low")?)?,
                close: dec("close", &text(4, "close")?)?,
                volume: dec("volume", &text(5, "volume")?)?,
            })
        })
        .collect()
}
