//! Kline requests and answers of the public market-data endpoints, sans-IO:
//!
//! | venue | path | page | order | weight |
//! |---|---|---|---|---|
//! | Binance spot | `GET /api/v3/klines?symbol&interval&startTime&endTime&limit` | ≤ 1000 | oldest first | 2 |
//! | Binance USDⓈ-M | `GET /fapi/v1/klines` (same params) | ≤ 1500 (1000 used: weight 5, not 10) | oldest first | 5 |
//! | Bybit V5 | `GET /v5/market/kline?category&symbol&interval&start&end&limit` | ≤ 1000 | **newest first** | 1 |
//!
//! Binance answers `[[openTime, "o", "h", "l", "c", "v", closeTime, …], …]`; Bybit
//! `{"retCode":0,"result":{"list":[["startTime","o","h","l","c","v","turnover"], …]}}` with every
//! field a string. Query building and parsing are the venue adapters' own
//! (`venue::binance::klines`, `venue::bybit::klines`, also used by live strategy bots); this
//! module adds paging windows and exact, checked candles. Every request asks for a window of at most one page (`start`..`end` both
//! inclusive), so which end of an over-full range an exchange returns never matters.

use super::{Candle, CandleError, Instrument};
use crate::market::Timeframe;
use crate::model::{Exchange, Market};
use crate::venue::error::VenueError;
use crate::venue::http::{HttpRequest, HttpResponse, Method};
use crate::venue::op::Kline;
use crate::venue::sign::QueryString;
use crate::venue::{binance, bybit};
use serde_json::Value;

/// Why an answer could not be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KlineError {
    /// The venue adapter refused the request or the answer (bad interval, venue error code,
    /// rate limit, malformed body): the live bots' own kline code decides, not a second parser.
    #[error(transparent)]
    Venue(#[from] VenueError),
    /// Inline rows not in the documented shape.
    #[error("kline answer: {0}")]
    Shape(String),
    /// A candle that does not parse or is inconsistent.
    #[error("kline row {row}: {source}")]
    Candle {
        /// Row index in the answer.
        row: usize,
        /// What is wrong.
        source: CandleError,
    },
}

/// Candles per request used for this venue (see the table above).
pub fn page_limit(inst: &Instrument) -> i64 {
    match inst.exchange {
        Exchange::Binance | Exchange::Bybit => 1000,
    }
}

/// Request weight of one page, for the caller's rate-limit budget.
pub fn page_weight(inst: &Instrument) -> u32 {
    match inst.exchange {
        Exchange::Binance => binance::klines::weight(inst.market, page_limit(inst) as u32),
        Exchange::Bybit => 1,
    }
}

/// The request for candles opening in `[start_ms, end_ms]` (inclusive; at most one page),
/// built by the venue adapters' kline query builders.
///
/// # Errors
/// [`KlineError::Venue`] when the venue has no such interval.
pub fn request(
    inst: &Instrument,
    tf: Timeframe,
    start_ms: i64,
    end_ms: i64,
    base_url: &str,
) -> Result<HttpRequest, KlineError> {
    let sym = inst.symbol.as_str();
    let limit = page_limit(inst) as u32;
    let mut q = QueryString::new();
    let path = match (inst.exchange, inst.market) {
        (Exchange::Binance, m) => {
            binance::klines::push_query(m, sym, tf, Some(start_ms), Some(end_ms), limit, &mut q)?;
            match m {
                Market::Spot => binance::klines::SPOT_PATH,
                Market::Linear => binance::klines::FUTURES_PATH,
            }
        }
        (Exchange::Bybit, m) => {
            let category = match m {
                Market::Spot => "spot",
                Market::Linear => "linear",
            };
            bybit::klines::push_query(
                category,
                sym,
                tf,
                Some(start_ms),
                Some(end_ms),
                limit,
                &mut q,
            )?;
            "/v5/market/kline"
        }
    };
    Ok(HttpRequest {
        method: Method::Get,
        base_url: base_url.trim_end_matches('/').to_string(),
        path_and_query: q.append_to(path),
        headers: Vec::new(),
        body: String::new(),
        signed: None,
    })
}

fn candle(i: usize, k: &Kline) -> Result<Candle, KlineError> {
    let c = Candle {
        open_time_ms: k.open_time_ms,
        open: k.open.normalize(),
        high: k.high.normalize(),
        low: k.low.normalize(),
        close: k.close.normalize(),
        volume: k.volume.normalize(),
    };
    c.check()
        .map_err(|source| KlineError::Candle { row: i, source })?;
    Ok(c)
}

/// Parses a 2xx answer with the venue adapter's kline parser into checked candles, **oldest
/// first** whatever the venue's order.
///
/// # Errors
/// [`KlineError::Venue`] for a venue error body (Bybit `retCode ≠ 0`, e.g. 10006 →
/// `RateLimited`) or a malformed one; [`KlineError::Candle`] for an inconsistent candle.
pub fn parse(inst: &Instrument, resp: &HttpResponse) -> Result<Vec<Candle>, KlineError> {
    let klines = match inst.exchange {
        Exchange::Binance => binance::klines::parse(&resp.body)?,
        Exchange::Bybit => bybit::klines::parse(resp)?,
    };
    let mut out = klines
        .iter()
        .enumerate()
        .map(|(i, k)| candle(i, k))
        .collect::<Result<Vec<_>, _>>()?;
    out.sort_by_key(|c| c.open_time_ms);
    out.dedup_by_key(|c| c.open_time_ms);
    Ok(out)
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn row(i: usize, cells: &[Value]) -> Result<Candle, KlineError> {
    if cells.len() < 6 {
        return Err(KlineError::Shape(format!(
            "row {i} has {} fields, expected ≥ 6",
            cells.len()
        )));
    }
    let t = text(&cells[0])
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| KlineError::Shape(format!("row {i}: open time {:?}", cells[0])))?;
    let mut f: [String; 5] = Default::default();
    for (k, slot) in f.iter_mut().enumerate() {
        *slot = text(&cells[k + 1]).ok_or_else(|| {
            KlineError::Shape(format!("row {i}: field {} {:?}", k + 1, cells[k + 1]))
        })?;
    }
    Candle::parse(t, [&f[0], &f[1], &f[2], &f[3], &f[4]])
        .map_err(|source| KlineError::Candle { row: i, source })
}

/// Rows in Binance's kline layout (`[openTime, "o", "h", "l", "c", "v", …]`, numbers or strings)
/// into candles, oldest first, one per open time. Also the admin API's inline `bars`.
///
/// # Errors
/// [`KlineError::Shape`]/[`KlineError::Candle`] naming the row.
pub fn parse_rows(rows: &[Value]) -> Result<Vec<Candle>, KlineError> {
    let mut out = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            r.as_array()
                .ok_or_else(|| KlineError::Shape(format!("row {i} is not an array")))
                .and_then(|cells| row(i, cells))
        })
        .collect::<Result<Vec<_>, _>>()?;
    out.sort_by_key(|c| c.open_time_ms);
    out.dedup_by_key(|c| c.open_time_ms);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Symbol;
    use rust_decimal_macros::dec;

    fn inst(exchange: Exchange, market: Market) -> Instrument {
        Instrument {
            exchange,
            market,
            symbol: Symbol::new("BTCUSDT").unwrap(),
        }
    }

    fn ok(body: &str) -> HttpResponse {
        HttpResponse {
            status: 200,
            headers: vec![],
            body: body.into(),
            received_ms: 0,
        }
    }

    #[test]
    fn requests_per_venue() {
        struct Case {
            inst: Instrument,
            tf: &'static str,
            want: &'static str,
        }
        let cases = [
            Case {
                inst: inst(Exchange::Binance, Market::Spot),
                tf: "1m",
                want: "/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=0&endTime=59999&limit=1000",
            },
            Case {
                inst: inst(Exchange::Binance, Market::Linear),
                tf: "4h",
                want: "/fapi/v1/klines?symbol=BTCUSDT&interval=4h&startTime=0&endTime=59999&limit=1000",
            },
            Case {
                inst: inst(Exchange::Bybit, Market::Linear),
                tf: "1h",
                want: "/v5/market/kline?category=linear&symbol=BTCUSDT&interval=60&start=0&end=59999&limit=1000",
            },
            Case {
                inst: inst(Exchange::Bybit, Market::Spot),
                tf: "1d",
                want: "/v5/market/kline?category=spot&symbol=BTCUSDT&interval=D&start=0&end=59999&limit=1000",
            },
        ];
        for c in cases {
            let r = request(
                &c.inst,
                Timeframe::parse(c.tf).unwrap(),
                0,
                59_999,
                "http://x/",
            )
            .unwrap();
            assert_eq!(r.path_and_query, c.want);
            assert_eq!(r.url(), format!("http://x{}", c.want));
        }
        assert!(request(
            &inst(Exchange::Bybit, Market::Spot),
            Timeframe::parse("8h").unwrap(),
            0,
            1,
            ""
        )
        .is_err());
    }

    #[test]
    fn parses_both_layouts_oldest_first() {
        let binance = r#"[[1704067200000,"42283.58000000","42298.62000000","42283.57000000","42298.61000000","35.92724000",1704067259999,"1519603.70347470",1327,"23.24932000","983376.56090460","0"]]"#;
        let b = parse(&inst(Exchange::Binance, Market::Spot), &ok(binance)).unwrap();
        assert_eq!(
            (b[0].open_time_ms, b[0].close),
            (1_704_067_200_000, dec!(42298.61))
        );
        let bybit = r#"{"retCode":0,"retMsg":"OK","result":{"category":"linear","symbol":"BTCUSDT","list":[["1704067260000","2","3","1","2.5","10","25"],["1704067200000","1","2","1","2","5","10"]]},"time":1}"#;
        let y = parse(&inst(Exchange::Bybit, Market::Linear), &ok(bybit)).unwrap();
        assert_eq!(
            y.iter().map(|c| c.open_time_ms).collect::<Vec<_>>(),
            [1_704_067_200_000, 1_704_067_260_000]
        );
        let errs = [
            (
                Exchange::Binance,
                r#"{"code":-1121,"msg":"Invalid symbol."}"#,
                false,
            ),
            (
                Exchange::Bybit,
                r#"{"retCode":10001,"retMsg":"params error","result":{}}"#,
                false,
            ),
            (Exchange::Binance, r#"[[1,"1","0.5","1","1","1"]]"#, true),
            (Exchange::Binance, r#"[[1,"1"]]"#, false),
        ];
        for (ex, body, inconsistent) in errs {
            match parse(&inst(ex, Market::Spot), &ok(body)) {
                Err(KlineError::Candle { row: 0, .. }) => assert!(inconsistent, "{body}"),
                Err(KlineError::Venue(_)) => assert!(!inconsistent, "{body}"),
                other => panic!("{body}: {other:?}"),
            }
        }
        let limited = r#"{"retCode":10006,"retMsg":"Too many visits!","result":{}}"#;
        assert!(matches!(
            parse(&inst(Exchange::Bybit, Market::Spot), &ok(limited)),
            Err(KlineError::Venue(VenueError::RateLimited { .. }))
        ));
    }
}
