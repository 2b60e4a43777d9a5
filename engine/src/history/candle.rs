//! The exact candle and the instrument it belongs to.

use crate::ids::Symbol;
use crate::market::Bar;
use crate::model::{Exchange, Market};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// One OHLCV candle exactly as the exchange published it. `open_time_ms` is the interval start
/// (Binance's `open_time`, Bybit's `startTime`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candle {
    /// Interval start, epoch ms UTC.
    pub open_time_ms: i64,
    /// First trade price.
    pub open: Decimal,
    /// Highest price.
    pub high: Decimal,
    /// Lowest price.
    pub low: Decimal,
    /// Last trade price.
    pub close: Decimal,
    /// Base-asset volume.
    pub volume: Decimal,
}

/// Why a candle is unusable; names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CandleError {
    /// A price or volume that does not parse as a decimal.
    #[error("{field}: {value:?} is not a decimal number")]
    Number {
        /// Field name.
        field: &'static str,
        /// Text given.
        value: String,
    },
    /// Negative prices/volume or high/low not bracketing open and close.
    #[error("candle at {time_ms}: {reason}")]
    Inconsistent {
        /// Its open time.
        time_ms: i64,
        /// What is wrong.
        reason: &'static str,
    },
}

impl Candle {
    /// Parses the five decimal fields from exchange text (`"42000.01000000"`), normalising
    /// trailing zeros so the stored scale is the smallest exact one.
    ///
    /// # Errors
    /// [`CandleError::Number`] naming the field; [`CandleError::Inconsistent`] via [`Self::check`].
    pub fn parse(open_time_ms: i64, fields: [&str; 5]) -> Result<Self, CandleError> {
        const NAMES: [&str; 5] = ["open", "high", "low", "close", "volume"];
        let mut v = [Decimal::ZERO; 5];
        for (k, text) in fields.iter().enumerate() {
            v[k] = text
                .trim()
                .parse::<Decimal>()
                .map_err(|_| CandleError::Number {
                    field: NAMES[k],
                    value: (*text).to_string(),
                })?
                .normalize();
        }
        let c = Candle {
            open_time_ms,
            open: v[0],
            high: v[1],
            low: v[2],
            close: v[3],
            volume: v[4],
        };
        c.check()?;
        Ok(c)
    }

    /// Refuses candles no exchange would publish (they would poison every backtest silently).
    ///
    /// # Errors
    /// [`CandleError::Inconsistent`].
    pub fn check(&self) -> Result<(), CandleError> {
        let bad = |reason| {
            Err(CandleError::Inconsistent {
                time_ms: self.open_time_ms,
                reason,
            })
        };
        if self.low.is_sign_negative() || self.volume.is_sign_negative() {
            return bad("negative low or volume");
        }
        if self.high < self.low {
            return bad("high below low");
        }
        if self.open > self.high || self.close > self.high {
            return bad("open or close above high");
        }
        if self.open < self.low || self.close < self.low {
            return bad("open or close below low");
        }
        Ok(())
    }

    /// The `f64` bar for indicator maths and the backtester (which rounds fill prices back to
    /// the tick with `Decimal`, so nothing money-related inherits the binary rounding).
    pub fn to_bar(&self) -> Bar {
        let f = |d: Decimal| d.to_f64().unwrap_or(f64::NAN);
        Bar {
            open_time_ms: self.open_time_ms,
            open: f(self.open),
            high: f(self.high),
            low: f(self.low),
            close: f(self.close),
            volume: f(self.volume),
        }
    }
}

/// Which market's candles: the same symbol on spot and on perpetuals are different series.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Instrument {
    /// Exchange.
    pub exchange: Exchange,
    /// Spot or linear perpetual.
    pub market: Market,
    /// Exchange symbol (`BTCUSDT`).
    pub symbol: Symbol,
}

impl Instrument {
    /// Lower-case exchange name used in paths and file headers.
    pub fn exchange_name(&self) -> &'static str {
        match self.exchange {
            Exchange::Binance => "binance",
            Exchange::Bybit => "bybit",
        }
    }

    /// Lower-case market name used in paths and file headers.
    pub fn market_name(&self) -> &'static str {
        match self.market {
            Market::Spot => "spot",
            Market::Linear => "linear",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn parse_normalises_and_checks() {
        let c = Candle::parse(
            0,
            ["42000.01000000", "42010.5", "41990", "42001.00", "1.23400"],
        )
        .unwrap();
        assert_eq!(c.open, dec!(42000.01));
        assert_eq!(c.open.scale(), 2);
        assert_eq!(c.volume.scale(), 3);
        struct Case {
            f: [&'static str; 5],
            want: &'static str,
        }
        let cases = [
            Case {
                f: ["1", "x", "1", "1", "1"],
                want: "high",
            },
            Case {
                f: ["1", "0.5", "1", "1", "1"],
                want: "high below low",
            },
            Case {
                f: ["3", "2", "1", "1", "1"],
                want: "open or close above high",
            },
            Case {
                f: ["1", "2", "1", "1", "-1"],
                want: "negative low or volume",
            },
        ];
        for c in cases {
            let e = Candle::parse(0, c.f).unwrap_err().to_string();
            assert!(e.contains(c.want), "{e}");
        }
        let bar = Candle::parse(60_000, ["1.5", "2", "1", "1.25", "10"])
            .unwrap()
            .to_bar();
        assert_eq!((bar.open_time_ms, bar.open, bar.close), (60_000, 1.5, 1.25));
    }
}
