//! Historical bars: OHLCV candles of one timeframe, gap detection, exact resampling to a higher
//! timeframe and a pure CSV loader (Binance public-dump layout). Prices are `f64` here because
//! they feed indicator maths; the backtester turns the one price a fill needs into an exact
//! `Decimal` rounded to the instrument's tick, so money never inherits binary rounding.

use serde::{Deserialize, Serialize};

/// A candle. `open_time_ms` is the start of its interval (Binance's `open_time`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bar {
    /// Interval start, epoch ms UTC.
    pub open_time_ms: i64,
    /// First trade price.
    pub open: f64,
    /// Highest price.
    pub high: f64,
    /// Lowest price.
    pub low: f64,
    /// Last trade price.
    pub close: f64,
    /// Base volume.
    pub volume: f64,
}

/// A bar interval, in milliseconds (1m and up).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timeframe(i64);

/// Why data could not be loaded or transformed; each variant names the field or line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataError {
    /// An unknown timeframe label.
    #[error("timeframe {0:?} is not one of 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d")]
    Timeframe(String),
    /// A CSV line without the six leading columns or with a bad number.
    #[error("csv line {line}: field {field} {reason}")]
    Csv {
        /// 1-based line number.
        line: usize,
        /// Column name.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Bars not strictly increasing in time or not on the timeframe's grid.
    #[error("bar {index}: open_time_ms {time_ms} is {reason}")]
    Order {
        /// Bar index.
        index: usize,
        /// Its open time.
        time_ms: i64,
        /// What is wrong.
        reason: &'static str,
    },
    /// Resampling to a timeframe that is not a multiple of the source.
    #[error("cannot resample {from} ms bars to {to} ms: not a whole multiple")]
    Resample {
        /// Source interval ms.
        from: i64,
        /// Target interval ms.
        to: i64,
    },
}

impl Timeframe {
    /// One minute.
    pub const M1: Timeframe = Timeframe(60_000);
    /// One hour.
    pub const H1: Timeframe = Timeframe(3_600_000);

    /// Parses `1m`, `5m`, `1h`, `4h`, `1d` … (Binance kline interval labels).
    ///
    /// # Errors
    /// [`DataError::Timeframe`] for any other label.
    pub fn parse(label: &str) -> Result<Self, DataError> {
        let ms = match label {
            "1m" => 60_000,
            "3m" => 180_000,
            "5m" => 300_000,
            "15m" => 900_000,
            "30m" => 1_800_000,
            "1h" => 3_600_000,
            "2h" => 7_200_000,
            "4h" => 14_400_000,
            "6h" => 21_600_000,
            "8h" => 28_800_000,
            "12h" => 43_200_000,
            "1d" => 86_400_000,
            _ => return Err(DataError::Timeframe(label.to_string())),
        };
        Ok(Self(ms))
    }

    /// Interval length in ms.
    pub fn ms(self) -> i64 {
        self.0
    }

    /// Bars of this timeframe per 365-day year (for annualising ratios).
    pub fn per_year(self) -> f64 {
        365.0 * 86_400_000.0 / self.0 as f64
    }
}

/// A run of missing bars: `missing` intervals starting at `from_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    /// Open time of the first missing bar.
    pub from_ms: i64,
    /// How many bars are missing.
    pub missing: i64,
}

/// Checks bars are strictly increasing and on the grid, and reports every gap.
///
/// # Errors
/// [`DataError::Order`] for a bar out of order, duplicated or off the grid.
pub fn gaps(bars: &[Bar], tf: Timeframe) -> Result<Vec<Gap>, DataError> {
    let mut out = Vec::new();
    for (index, pair) in bars.windows(2).enumerate() {
        let (a, b) = (pair[0].open_time_ms, pair[1].open_time_ms);
        let step = b - a;
        if step <= 0 {
            return Err(DataError::Order {
                index: index + 1,
                time_ms: b,
                reason: "not after the previous bar",
            });
        }
        if step % tf.ms() != 0 {
            return Err(DataError::Order {
                index: index + 1,
                time_ms: b,
                reason: "off the timeframe grid",
            });
        }
        if step > tf.ms() {
            out.push(Gap {
                from_ms: a + tf.ms(),
                missing: step / tf.ms() - 1,
            });
        }
    }
    Ok(out)
}

/// Resamples to a higher timeframe: buckets aligned to multiples of `to` since the epoch; open
/// of the first bar, max high, min low, close of the last, summed volume. A bucket with missing
/// source bars is still emitted from the bars present (gaps are reported by [`gaps`]).
///
/// # Errors
/// [`DataError::Resample`] when `to` is not a multiple of `from`.
pub fn resample(bars: &[Bar], from: Timeframe, to: Timeframe) -> Result<Vec<Bar>, DataError> {
    if to.ms() < from.ms() || to.ms() % from.ms() != 0 {
        return Err(DataError::Resample {
            from: from.ms(),
            to: to.ms(),
        });
    }
    let mut out: Vec<Bar> = Vec::with_capacity(bars.len() / (to.ms() / from.ms()) as usize + 1);
    for bar in bars {
        let bucket = bar.open_time_ms.div_euclid(to.ms()) * to.ms();
        match out.last_mut() {
            Some(last) if last.open_time_ms == bucket => {
                last.high = last.high.max(bar.high);
                last.low = last.low.min(bar.low);
                last.close = bar.close;
                last.volume += bar.volume;
            }
            _ => out.push(Bar {
                open_time_ms: bucket,
                ..*bar
            }),
        }
    }
    Ok(out)
}

impl From<crate::history::csv::CsvError> for DataError {
    fn from(e: crate::history::csv::CsvError) -> Self {
        DataError::Csv {
            line: e.line,
            field: e.field,
            reason: e.reason,
        }
    }
}

const COLUMNS: [&str; 6] = ["open_time", "open", "high", "low", "close", "volume"];

/// Loads bars from CSV bytes in Binance's public-dump layout (`open_time,open,high,low,close,
/// volume,…`; extra columns ignored; an optional header line is skipped). Open times in
/// microseconds (Binance spot dumps since 2025) are converted to ms.
///
/// # Errors
/// [`DataError::Csv`] naming the line and column.
pub fn load_csv(bytes: &[u8]) -> Result<Vec<Bar>, DataError> {
    let mut out = Vec::new();
    crate::history::csv::for_each_row(bytes, |line, record| {
        let mut vals = [0.0f64; 6];
        let mut time = 0i64;
        for (k, name) in COLUMNS.iter().enumerate() {
            let raw = record.get(k).ok_or_else(|| DataError::Csv {
                line,
                field: name,
                reason: "is missing".into(),
            })?;
            let cell = String::from_utf8_lossy(raw);
            let bad = |e: String| DataError::Csv {
                line,
                field: name,
                reason: e,
            };
            if k == 0 {
                time = cell
                    .parse::<i64>()
                    .map_err(|e| bad(format!("{cell:?}: {e}")))?;
            } else {
                vals[k] = cell
                    .parse::<f64>()
                    .map_err(|e| bad(format!("{cell:?}: {e}")))?;
                if !vals[k].is_finite() {
                    return Err(bad(format!("{cell:?} is not finite")));
                }
            }
        }
        out.push(Bar {
            open_time_ms: crate::history::csv::open_time_ms(time),
            open: vals[1],
            high: vals[2],
            low: vals[3],
            close: vals[4],
            volume: vals[5],
        });
        Ok(())
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(t: i64, o: f64, h: f64, l: f64, c: f64, v: f64) -> Bar {
        Bar {
            open_time_ms: t,
            open: o,
            high: h,
            low: l,
            close: c,
            volume: v,
        }
    }

    #[test]
    fn csv_loads_binance_layout_and_names_bad_fields() {
        let csv = b"open_time,open,high,low,close,volume,close_time\n\
            1700000000000,1,2,0.5,1.5,10,1700000059999\n1700000060000000,1.5,3,1,2,5,x\n";
        let bars = load_csv(csv).unwrap();
        assert_eq!(
            bars,
            vec![
                bar(1_700_000_000_000, 1.0, 2.0, 0.5, 1.5, 10.0),
                bar(1_700_000_060_000, 1.5, 3.0, 1.0, 2.0, 5.0)
            ]
        );
        struct Case {
            csv: &'static [u8],
            line: usize,
            field: &'static str,
        }
        let cases = [
            Case {
                csv: b"1,2,3,4,5\n",
                line: 1,
                field: "volume",
            },
            Case {
                csv: b"1,2,3,4,5,6\n2,x,3,4,5,6\n",
                line: 2,
                field: "open",
            },
            Case {
                csv: b"1,2,3,4,inf,6\n",
                line: 1,
                field: "close",
            },
        ];
        for c in cases {
            match load_csv(c.csv) {
                Err(DataError::Csv { line, field, .. }) => {
                    assert_eq!((line, field), (c.line, c.field))
                }
                other => panic!("expected csv error, got {other:?}"),
            }
        }
    }

    #[test]
    fn gaps_and_order_errors() {
        let m = 60_000;
        let bars = [
            bar(0, 1.0, 1.0, 1.0, 1.0, 1.0),
            bar(m, 1.0, 1.0, 1.0, 1.0, 1.0),
            bar(4 * m, 1.0, 1.0, 1.0, 1.0, 1.0),
        ];
        assert_eq!(
            gaps(&bars, Timeframe::M1).unwrap(),
            vec![Gap {
                from_ms: 2 * m,
                missing: 2
            }]
        );
        let dup = [bars[1], bars[1]];
        assert!(matches!(
            gaps(&dup, Timeframe::M1),
            Err(DataError::Order { index: 1, .. })
        ));
        let off = [bars[0], bar(m + 5, 1.0, 1.0, 1.0, 1.0, 1.0)];
        assert!(matches!(
            gaps(&off, Timeframe::M1),
            Err(DataError::Order {
                reason: "off the timeframe grid",
                ..
            })
        ));
    }

    #[test]
    fn resample_minutes_to_hours_exactly() {
        let m = 60_000;
        let bars: Vec<Bar> = (0..120)
            .map(|i| {
                let p = i as f64;
                bar(i * m, p, p + 2.0, p - 1.0, p + 1.0, 1.0)
            })
            .collect();
        let h = resample(&bars, Timeframe::M1, Timeframe::parse("1h").unwrap()).unwrap();
        assert_eq!(
            h,
            vec![
                bar(0, 0.0, 61.0, -1.0, 60.0, 60.0),
                bar(3_600_000, 60.0, 121.0, 59.0, 120.0, 60.0)
            ]
        );
        assert!(resample(&bars, Timeframe::H1, Timeframe::M1).is_err());
        assert!(matches!(
            Timeframe::parse("7m"),
            Err(DataError::Timeframe(_))
        ));
    }
}
