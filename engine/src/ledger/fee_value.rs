//! Valuing a fee paid in a third asset (e.g. BNB on Binance) at the trade's own time.
//!
//! The rule, one for every path that books a fill:
//! - a fee in the quote asset is exact (price 1); in the base asset it is valued at the fill's own
//!   price (both need nothing else);
//! - a fee in a third asset learnt **in the answer to the order itself** is valued at the fee
//!   asset's ticker read in that same exchange round trip, provided the ticker was observed no
//!   earlier than the trade and at most [`TICKER_AT_FILL_MS`] after it;
//! - every other third-asset fee (a resting order's fill found by a poll, reconciliation, a fired
//!   stop-out or exit) is valued at the **open of the fee asset's 1-minute candle covering the
//!   trade time** (`open_time ≤ trade time < open_time + 60 s`). The open is fixed from the moment
//!   the candle opens, is never later than the trade, and is the same whenever it is asked for,
//!   so a late booking, a reconciliation and a replay a year later all agree. The booking-time
//!   ticker is never used for a late fill.
//!
//! With no candle covering the trade the fee is not valued and the fill is not booked (the next
//! poll or reconciliation tries again): never a guess.
//!
//! The decision is here, pure; the Durable Object only fetches the ticker or the candles
//! ([`kline_windows`] says which) and stores the [`FeeValuation`] with the fill.

use crate::venue::Kline;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Width of the candle a late fee is valued by.
pub const FEE_KLINE_MS: i64 = 60_000;
/// Longest a ticker read after the trade still counts as the price at the trade (the order's own
/// request, its settle queries included, answers within this).
pub const TICKER_AT_FILL_MS: i64 = 15_000;
/// Most 1-minute candles one request asks for (Binance spot's page limit is 1000).
pub const KLINE_PAGE: i64 = 1_000;

/// Where a fee asset's quote price came from, stored with the fill and shown in its P&L detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "source")]
pub enum FeeSource {
    /// The fee asset's ticker read in the round trip that carried the fill.
    Ticker {
        /// The priced symbol (`BNBUSDT`).
        symbol: String,
        /// When the ticker was read (exchange time, ms).
        observed_ms: i64,
    },
    /// The open of the fee asset's 1-minute candle covering the trade.
    Kline {
        /// The priced symbol (`BNBUSDT`).
        symbol: String,
        /// Open time of the candle (ms).
        open_time_ms: i64,
        /// Candle width (ms): always [`FEE_KLINE_MS`].
        interval_ms: i64,
    },
}

/// A fee asset's quote price at a trade's time, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeValuation {
    /// Quote price of one unit of the fee asset.
    pub price: Decimal,
    /// Its source.
    #[serde(flatten)]
    pub source: FeeSource,
}

/// Why a third-asset fee could not be valued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeeValueError {
    /// No candle of the fee asset covers the trade (not served yet, or a gap).
    #[error("no 1-minute {symbol} candle covers the trade at {time_ms}")]
    NoCandle {
        /// The priced symbol.
        symbol: String,
        /// The trade time.
        time_ms: i64,
    },
    /// The covering candle's open is not a positive price.
    #[error("{symbol} candle at {open_time_ms} opens at {open}, not a price")]
    BadCandle {
        /// The priced symbol.
        symbol: String,
        /// Its open time.
        open_time_ms: i64,
        /// Its open.
        open: Decimal,
    },
}

/// A ticker reading of the fee asset (price and exchange time of the reading).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TickerReading {
    /// Price.
    pub price: Decimal,
    /// When it was read (exchange time, ms).
    pub observed_ms: i64,
}

/// Values a third-asset fee of a trade at `trade_ms` (see the module rule). `in_answer` is the
/// ticker read in the round trip that carried the fill, `None` for a fill learnt later;
/// `candles` are 1-minute candles of `symbol` (any order, any range).
///
/// # Errors
/// [`FeeValueError`] when neither source applies.
pub fn value_fee_asset(
    symbol: &str,
    trade_ms: i64,
    in_answer: Option<TickerReading>,
    candles: &[Kline],
) -> Result<FeeValuation, FeeValueError> {
    if let Some(t) = in_answer {
        let age = t.observed_ms.saturating_sub(trade_ms);
        if (0..=TICKER_AT_FILL_MS).contains(&age) && t.price > Decimal::ZERO {
            return Ok(FeeValuation {
                price: t.price,
                source: FeeSource::Ticker {
                    symbol: symbol.to_string(),
                    observed_ms: t.observed_ms,
                },
            });
        }
    }
    let open_time_ms = trade_ms.div_euclid(FEE_KLINE_MS) * FEE_KLINE_MS;
    let candle = candles
        .iter()
        .find(|k| k.open_time_ms == open_time_ms)
        .ok_or_else(|| FeeValueError::NoCandle {
            symbol: symbol.to_string(),
            time_ms: trade_ms,
        })?;
    if candle.open <= Decimal::ZERO {
        return Err(FeeValueError::BadCandle {
            symbol: symbol.to_string(),
            open_time_ms,
            open: candle.open,
        });
    }
    Ok(FeeValuation {
        price: candle.open,
        source: FeeSource::Kline {
            symbol: symbol.to_string(),
            open_time_ms,
            interval_ms: FEE_KLINE_MS,
        },
    })
}

/// The candle requests that cover every trade time given: `(first open ms, last open ms,
/// limit)`, each at most [`KLINE_PAGE`] candles, minutes with no trade between windows skipped.
pub fn kline_windows(trade_times_ms: &[i64]) -> Vec<(i64, i64, u32)> {
    let mut minutes: Vec<i64> = trade_times_ms
        .iter()
        .map(|t| t.div_euclid(FEE_KLINE_MS) * FEE_KLINE_MS)
        .collect();
    minutes.sort_unstable();
    minutes.dedup();
    let mut out: Vec<(i64, i64, u32)> = Vec::new();
    for m in minutes {
        match out.last_mut() {
            Some((start, end, limit)) if (m - *start) / FEE_KLINE_MS < KLINE_PAGE => {
                *end = m;
                *limit = ((m - *start) / FEE_KLINE_MS + 1) as u32;
            }
            _ => out.push((m, m, 1)),
        }
    }
    out
}

/// Third-asset fee valuations of a batch of fills, by trade (`symbol:trade_id`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeePrices {
    by_trade: BTreeMap<String, FeeValuation>,
}

impl FeePrices {
    /// No third-asset prices (a batch without such fees, or the backtester).
    pub fn none() -> Self {
        Self::default()
    }

    /// Records the valuation of one fill's fee.
    pub fn insert(&mut self, fill: &crate::model::Fill, valuation: FeeValuation) {
        self.by_trade.insert(
            super::entry::fill_key(&fill.symbol, &fill.trade_id),
            valuation,
        );
    }

    /// The valuation of one fill's fee, if known.
    pub fn get(&self, fill: &crate::model::Fill) -> Option<&FeeValuation> {
        self.by_trade
            .get(&super::entry::fill_key(&fill.symbol, &fill.trade_id))
    }

    /// Whether no fill has a valuation.
    pub fn is_empty(&self) -> bool {
        self.by_trade.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn candle(open_time_ms: i64, open: Decimal, close: Decimal) -> Kline {
        Kline {
            open_time_ms,
            open,
            high: open.max(close),
            low: open.min(close),
            close,
            volume: dec!(1),
        }
    }

    const M: i64 = 1_795_478_400_000; // a minute boundary

    #[test]
    fn late_fees_take_the_open_of_the_covering_minute_never_the_ticker_now() {
        // BNB 600.00 through the trade's minute, 612.50 when the fill is learnt.
        let candles = [
            candle(M - FEE_KLINE_MS, dec!(599), dec!(600)),
            candle(M, dec!(600.00), dec!(612.50)),
            candle(M + FEE_KLINE_MS, dec!(612.50), dec!(612.50)),
        ];
        struct Case {
            trade_ms: i64,
            ticker: Option<TickerReading>,
            want: Result<(Decimal, i64), ()>,
        }
        let now = TickerReading {
            price: dec!(612.50),
            observed_ms: M + 5 * FEE_KLINE_MS,
        };
        let cases = [
            // A poll minutes later: the candle, not the ticker it could have read.
            Case {
                trade_ms: M + 30_000,
                ticker: None,
                want: Ok((dec!(600.00), M)),
            },
            // A stale ticker is refused even if offered.
            Case {
                trade_ms: M + 30_000,
                ticker: Some(now),
                want: Ok((dec!(600.00), M)),
            },
            // The first and last millisecond of the minute.
            Case {
                trade_ms: M,
                ticker: None,
                want: Ok((dec!(600.00), M)),
            },
            Case {
                trade_ms: M + FEE_KLINE_MS - 1,
                ticker: None,
                want: Ok((dec!(600.00), M)),
            },
            Case {
                trade_ms: M + FEE_KLINE_MS,
                ticker: None,
                want: Ok((dec!(612.50), M + FEE_KLINE_MS)),
            },
            // No candle covers it: not valued.
            Case {
                trade_ms: M + 3 * FEE_KLINE_MS,
                ticker: None,
                want: Err(()),
            },
        ];
        for c in cases {
            let got = value_fee_asset("BNBUSDT", c.trade_ms, c.ticker, &candles);
            match (got, c.want) {
                (Ok(v), Ok((price, open))) => {
                    assert_eq!(v.price, price, "{}", c.trade_ms);
                    assert_eq!(
                        v.source,
                        FeeSource::Kline {
                            symbol: "BNBUSDT".into(),
                            open_time_ms: open,
                            interval_ms: FEE_KLINE_MS
                        }
                    );
                }
                (Err(FeeValueError::NoCandle { .. }), Err(())) => {}
                (got, want) => panic!("{}: got {got:?}, want {want:?}", c.trade_ms),
            }
        }
    }

    #[test]
    fn a_ticker_read_with_the_order_answer_prices_a_fill_of_that_answer() {
        let reading = TickerReading {
            price: dec!(601.25),
            observed_ms: M + 1_200,
        };
        let v = value_fee_asset("BNBUSDT", M + 1_000, Some(reading), &[]).unwrap();
        assert_eq!(v.price, dec!(601.25));
        assert_eq!(
            v.source,
            FeeSource::Ticker {
                symbol: "BNBUSDT".into(),
                observed_ms: M + 1_200
            }
        );
        // Read before the trade (clock skew) or too long after it: the candle rule applies.
        for observed in [M + 999, M + 1_000 + TICKER_AT_FILL_MS + 1] {
            let r = TickerReading {
                observed_ms: observed,
                ..reading
            };
            assert!(value_fee_asset("BNBUSDT", M + 1_000, Some(r), &[]).is_err());
        }
        let zero = candle(M, dec!(0), dec!(1));
        assert!(matches!(
            value_fee_asset("BNBUSDT", M, None, &[zero]),
            Err(FeeValueError::BadCandle { .. })
        ));
    }

    #[test]
    fn windows_cover_every_trade_minute_in_pages() {
        assert_eq!(kline_windows(&[]), vec![]);
        assert_eq!(
            kline_windows(&[M + 5, M + 59_999, M + 60_000]),
            vec![(M, M + FEE_KLINE_MS, 2)]
        );
        let far = M + KLINE_PAGE * FEE_KLINE_MS;
        assert_eq!(kline_windows(&[far, M]), vec![(M, M, 1), (far, far, 1)]);
        let last = M + (KLINE_PAGE - 1) * FEE_KLINE_MS;
        assert_eq!(
            kline_windows(&[M, last]),
            vec![(M, last, KLINE_PAGE as u32)]
        );
    }
}
