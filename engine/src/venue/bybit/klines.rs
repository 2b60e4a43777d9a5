//! Bybit candles: `GET /v5/market/kline?category=…` (≤ 1000 bars). Rows are
//! `["startTime", "open", "high", "low", "close", "volume", "turnover"]`, all strings, **newest
//! first**; the parser turns them oldest first like every other answer. Within `[start, end]`
//! Bybit keeps the newest `limit` bars, so a walk forward in time must bound `end` itself.

use super::parse::payload;
use crate::market::Timeframe;
use crate::venue::error::VenueError;
use crate::venue::http::HttpResponse;
use crate::venue::op::Kline;
use crate::venue::sign::QueryString;
use crate::venue::wire::{dec, int};
use serde::Deserialize;

/// Path.
pub const PATH: &str = "/v5/market/kline";
/// Most bars one request may ask for.
pub const MAX_LIMIT: u32 = 1000;

/// Bybit's interval label (`1`, `60`, `D`).
///
/// # Errors
/// [`VenueError::Unsupported`] for an interval Bybit has no label for.
pub fn interval_label(tf: Timeframe) -> Result<&'static str, VenueError> {
    const LABELS: [(i64, &str); 11] = [
        (1, "1"),
        (3, "3"),
        (5, "5"),
        (15, "15"),
        (30, "30"),
        (60, "60"),
        (120, "120"),
        (240, "240"),
        (360, "360"),
        (720, "720"),
        (1440, "D"),
    ];
    LABELS
        .iter()
        .find(|(m, _)| m * 60_000 == tf.ms())
        .map(|(_, l)| *l)
        .ok_or_else(|| VenueError::Unsupported {
            op: "klines",
            reason: format!("no Bybit interval of {} ms", tf.ms()),
        })
}

/// Query parameters.
///
/// # Errors
/// [`VenueError::Unsupported`] for an unknown interval or a limit outside the page size.
pub fn push_query(
    category: &str,
    symbol: &str,
    tf: Timeframe,
    start_ms: Option<i64>,
    end_ms: Option<i64>,
    limit: u32,
    q: &mut QueryString,
) -> Result<(), VenueError> {
    if limit == 0 || limit > MAX_LIMIT {
        return Err(VenueError::Unsupported {
            op: "klines",
            reason: format!("limit {limit} outside 1..={MAX_LIMIT}"),
        });
    }
    q.push("category", category)
        .push("symbol", symbol)
        .push("interval", interval_label(tf)?)
        .push_opt("start", start_ms.map(|t| t.to_string()).as_deref())
        .push_opt("end", end_ms.map(|t| t.to_string()).as_deref())
        .push("limit", &limit.to_string());
    Ok(())
}

#[derive(Debug, Deserialize)]
struct KlineList {
    list: Vec<Vec<String>>,
}

/// Parses the envelope's rows and returns them oldest first.
///
/// # Errors
/// The envelope's error, or [`VenueError::Parse`] naming the row and column.
pub fn parse(resp: &HttpResponse) -> Result<Vec<Kline>, VenueError> {
    let page: KlineList = payload("kline", resp)?;
    let mut out = page
        .list
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let col = |k: usize, name: &str| {
                row.get(k)
                    .map(String::as_str)
                    .ok_or_else(|| VenueError::parse(format!("kline.list[{i}].{name}"), "missing"))
            };
            Ok(Kline {
                open_time_ms: int("startTime", col(0, "startTime")?)?,
                open: dec("open", col(1, "open")?)?,
                high: dec("high", col(2, "high")?)?,
                low: dec("low", col(3, "low")?)?,
                close: dec("close", col(4, "close")?)?,
                volume: dec("volume", col(5, "volume")?)?,
            })
        })
        .collect::<Result<Vec<_>, VenueError>>()?;
    out.sort_by_key(|k| k.open_time_ms);
    Ok(out)
}
