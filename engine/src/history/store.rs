//! Planning for the on-disk store: where each month lives, which months a range needs, how a
//! page of new candles merges into a month, slicing a range back out, and what is missing.
//! The caller does the reading and writing.

use super::codec::MonthFile;
use super::{Candle, Instrument};
use crate::market::{resample, Bar, DataError, Timeframe};
use serde::Serialize;
use std::collections::BTreeMap;

/// File extension of month files.
pub const EXTENSION: &str = "keelbars";

/// Why a range, date or merge was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A date that is neither `YYYY-MM-DD[THH:MM[:SS]Z]` nor epoch milliseconds.
    #[error("{field}: {value:?} is not a date (YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or epoch ms)")]
    Date {
        /// Flag or field name.
        field: &'static str,
        /// Text given.
        value: String,
    },
    /// `to` not after `from`.
    #[error("range: to ({to}) must be after from ({from})")]
    Range {
        /// Start ms.
        from: i64,
        /// End ms.
        to: i64,
    },
    /// A timeframe the store has no label for.
    #[error("timeframe: {0} ms has no kline label")]
    Timeframe(i64),
    /// Merging a file of another instrument or timeframe.
    #[error("merge: file holds {found}, expected {expected}")]
    Mismatch {
        /// What the file holds.
        found: String,
        /// What was being merged.
        expected: String,
    },
    /// Resampling failed.
    #[error(transparent)]
    Data(#[from] DataError),
}

/// The first bar open time of `tf` at or after `ms`: where a range starts on the bar grid (a
/// range starting mid-bar does not include that bar).
pub fn first_open_at_or_after(ms: i64, tf: Timeframe) -> i64 {
    let step = tf.ms();
    let floor = ms.div_euclid(step) * step;
    if floor == ms {
        floor
    } else {
        floor + step
    }
}

/// Kline label of a timeframe (`1m` … `1d`), the inverse of [`Timeframe::parse`].
///
/// # Errors
/// [`StoreError::Timeframe`] for an interval without a label.
pub fn tf_label(tf: Timeframe) -> Result<&'static str, StoreError> {
    const LABELS: [&str; 12] = [
        "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d",
    ];
    LABELS
        .iter()
        .find(|l| Timeframe::parse(l).is_ok_and(|t| t == tf))
        .copied()
        .ok_or(StoreError::Timeframe(tf.ms()))
}

const DAY_MS: i64 = crate::calendar::DAY_MS;

pub use crate::calendar::{month_label, month_start, next_month};

/// Parses a CLI/API date: `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS]Z`, or epoch milliseconds.
///
/// # Errors
/// [`StoreError::Date`] naming `field`.
pub fn parse_date(field: &'static str, text: &str) -> Result<i64, StoreError> {
    let err = || StoreError::Date {
        field,
        value: text.to_string(),
    };
    let t = text.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse::<i64>().map_err(|_| err());
    }
    let (date, time) = match t.split_once('T') {
        Some((d, tm)) => (d, Some(tm.strip_suffix('Z').ok_or_else(err)?)),
        None => (t, None),
    };
    let num = |s: &str, lo: i64, hi: i64| {
        s.parse::<i64>()
            .ok()
            .filter(|v| (lo..=hi).contains(v) && !s.is_empty() && s.len() <= 4)
            .ok_or_else(err)
    };
    let parts: Vec<&str> = date.split('-').collect();
    let [y, mo, d] = parts.as_slice() else {
        return Err(err());
    };
    let (y, mo, d) = (num(y, 1970, 9999)?, num(mo, 1, 12)?, num(d, 1, 31)?);
    // chrono refuses an impossible date (February 30th) instead of rolling it into March.
    let day = u32::try_from(d)
        .ok()
        .zip(u32::try_from(mo).ok())
        .and_then(|(d, mo)| crate::calendar::days_from_civil(y, mo, d))
        .ok_or_else(err)?;
    let mut ms = day * DAY_MS;
    if let Some(tm) = time {
        let hms: Vec<&str> = tm.split(':').collect();
        let limits = [23, 59, 59];
        if !(2..=3).contains(&hms.len()) {
            return Err(err());
        }
        for (k, part) in hms.iter().enumerate() {
            ms += num(part, 0, limits[k])? * [3_600_000, 60_000, 1000][k];
        }
    }
    Ok(ms)
}

/// Folder of an instrument relative to the data folder (`{exchange}/{market}/{SYMBOL}/`, with the
/// trailing slash): one sub-folder per stored timeframe below it. A store that can only list
/// (R2) finds the stored timeframes by listing this prefix with a `/` delimiter.
pub fn instrument_prefix(inst: &Instrument) -> String {
    format!(
        "{}/{}/{}/",
        inst.exchange_name(),
        inst.market_name(),
        inst.symbol.as_str()
    )
}

/// Path of a month file relative to the data folder:
/// `{exchange}/{market}/{SYMBOL}/{tf}/{YYYY-MM}.keelbars`.
///
/// # Errors
/// [`StoreError::Timeframe`].
pub fn month_path(inst: &Instrument, tf: Timeframe, month_ms: i64) -> Result<String, StoreError> {
    Ok(format!(
        "{}{}/{}.{EXTENSION}",
        instrument_prefix(inst),
        tf_label(tf)?,
        month_label(month_ms)
    ))
}

/// The stored timeframes named by the sub-folders of an instrument's folder (names such as
/// `1m`, or listed prefixes such as `binance/spot/BTCUSDT/1m/`), smallest first, without
/// duplicates; names that are no kline label are skipped. One reading for the disk and R2 stores.
pub fn stored_timeframes<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<Timeframe> {
    let mut out: Vec<Timeframe> = names
        .into_iter()
        .filter_map(|n| n.trim_end_matches('/').rsplit('/').next())
        .filter_map(|label| Timeframe::parse(label).ok())
        .filter(|tf| tf_label(*tf).is_ok())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The timeframe to read for a run at `wanted`: the coarsest stored one that divides it (fewest
/// candles to read, resampled up by [`bars`]), or `None` when nothing usable is stored.
pub fn source_timeframe(stored: &[Timeframe], wanted: Timeframe) -> Option<Timeframe> {
    stored
        .iter()
        .filter(|s| wanted.ms() % s.ms() == 0)
        .max_by_key(|s| s.ms())
        .copied()
}

/// Month starts of every month touching `[from_ms, to_ms)`, oldest first.
///
/// # Errors
/// [`StoreError::Range`] when `to_ms <= from_ms`.
pub fn months(from_ms: i64, to_ms: i64) -> Result<Vec<i64>, StoreError> {
    if to_ms <= from_ms {
        return Err(StoreError::Range {
            from: from_ms,
            to: to_ms,
        });
    }
    let mut out = vec![month_start(from_ms)];
    let mut m = next_month(from_ms);
    while m < to_ms {
        out.push(m);
        m = next_month(m);
    }
    Ok(out)
}

/// Groups candles by month start (for writing a page that straddles months).
pub fn by_month(candles: &[Candle]) -> BTreeMap<i64, Vec<Candle>> {
    let mut out: BTreeMap<i64, Vec<Candle>> = BTreeMap::new();
    for c in candles {
        out.entry(month_start(c.open_time_ms)).or_default().push(*c);
    }
    out
}

/// Merges `new` candles into a month (an existing file or a fresh one). A candle at an open time
/// already stored replaces it (the newer download wins: a bar fetched while still forming is
/// corrected by the next import), so re-running an import is idempotent.
///
/// # Errors
/// [`StoreError::Mismatch`] when `existing` holds another instrument/timeframe/month.
pub fn merge(
    existing: Option<MonthFile>,
    inst: &Instrument,
    tf: Timeframe,
    month_ms: i64,
    new: &[Candle],
) -> Result<MonthFile, StoreError> {
    let mut file = existing.unwrap_or_else(|| MonthFile {
        instrument: inst.clone(),
        timeframe_ms: tf.ms(),
        month_start_ms: month_ms,
        candles: Vec::new(),
    });
    if file.instrument != *inst || file.timeframe_ms != tf.ms() || file.month_start_ms != month_ms {
        return Err(StoreError::Mismatch {
            found: format!(
                "{}/{}/{} {} ms @{}",
                file.instrument.exchange_name(),
                file.instrument.market_name(),
                file.instrument.symbol.as_str(),
                file.timeframe_ms,
                file.month_start_ms
            ),
            expected: format!(
                "{}/{}/{} {} ms @{month_ms}",
                inst.exchange_name(),
                inst.market_name(),
                inst.symbol.as_str(),
                tf.ms()
            ),
        });
    }
    let mut map: BTreeMap<i64, Candle> =
        file.candles.iter().map(|c| (c.open_time_ms, *c)).collect();
    let end = next_month(month_ms);
    for c in new
        .iter()
        .filter(|c| (month_ms..end).contains(&c.open_time_ms))
    {
        map.insert(c.open_time_ms, *c);
    }
    file.candles = map.into_values().collect();
    Ok(file)
}

/// The candles of `[from_ms, to_ms)` out of decoded month files (any order), sorted.
pub fn slice(files: &[MonthFile], from_ms: i64, to_ms: i64) -> Vec<Candle> {
    let mut out: Vec<Candle> = files
        .iter()
        .flat_map(|f| f.candles.iter())
        .filter(|c| (from_ms..to_ms).contains(&c.open_time_ms))
        .copied()
        .collect();
    out.sort_by_key(|c| c.open_time_ms);
    out.dedup_by_key(|c| c.open_time_ms);
    out
}

/// Stored candles as bars of `to` (resampled with [`crate::market::resample`] when `to` is
/// higher than the stored `from`).
///
/// # Errors
/// [`StoreError::Data`] when `to` is not a whole multiple of `from`.
pub fn bars(candles: &[Candle], from: Timeframe, to: Timeframe) -> Result<Vec<Bar>, StoreError> {
    let bars: Vec<Bar> = candles.iter().map(Candle::to_bar).collect();
    if from == to {
        return Ok(bars);
    }
    Ok(resample(&bars, from, to)?)
}

/// A missing run: `missing` bars from `from_ms` (inclusive) to `to_ms` (exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Hole {
    /// Open time of the first missing bar.
    pub from_ms: i64,
    /// End of the run (open time of the next present bar, or the range end).
    pub to_ms: i64,
    /// Bars missing.
    pub missing: i64,
}

/// What a range holds and lacks; exchanges have real gaps (maintenance), so they are reported,
/// never papered over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GapReport {
    /// Range start.
    pub from_ms: i64,
    /// Range end (exclusive).
    pub to_ms: i64,
    /// Bars the range would hold without gaps.
    pub expected: i64,
    /// Bars present.
    pub present: i64,
    /// Bars missing.
    pub missing: i64,
    /// Every missing run, oldest first.
    pub gaps: Vec<Hole>,
}

/// Gaps of `candles` (sorted, one timeframe) over the grid of `[from_ms, to_ms)`, including a
/// missing head and tail.
pub fn gap_report(candles: &[Candle], tf: Timeframe, from_ms: i64, to_ms: i64) -> GapReport {
    let step = tf.ms();
    let first = first_open_at_or_after(from_ms, tf);
    let expected = if to_ms > first {
        (to_ms - first + step - 1) / step
    } else {
        0
    };
    let mut gaps = Vec::new();
    let mut cursor = first;
    let mut present = 0;
    for c in candles
        .iter()
        .filter(|c| (from_ms..to_ms).contains(&c.open_time_ms))
    {
        if c.open_time_ms > cursor {
            gaps.push(Hole {
                from_ms: cursor,
                to_ms: c.open_time_ms,
                missing: (c.open_time_ms - cursor) / step,
            });
        }
        present += 1;
        cursor = cursor.max(c.open_time_ms + step);
    }
    if cursor < to_ms {
        gaps.push(Hole {
            from_ms: cursor,
            to_ms,
            missing: (to_ms - cursor + step - 1) / step,
        });
    }
    GapReport {
        from_ms,
        to_ms,
        expected,
        present,
        missing: gaps.iter().map(|g| g.missing).sum(),
        gaps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Symbol;
    use crate::model::{Exchange, Market};
    use rust_decimal_macros::dec;

    #[test]
    fn ranges_start_on_the_bar_grid() {
        let (m, h) = (Timeframe::M1, Timeframe::parse("1h").unwrap());
        assert_eq!(first_open_at_or_after(120_000, m), 120_000);
        assert_eq!(first_open_at_or_after(120_001, m), 180_000);
        assert_eq!(first_open_at_or_after(3_599_999, h), 3_600_000);
        assert_eq!(first_open_at_or_after(0, h), 0);
    }

    fn inst() -> Instrument {
        Instrument {
            exchange: Exchange::Bybit,
            market: Market::Linear,
            symbol: Symbol::new("ETHUSDT").unwrap(),
        }
    }

    fn c(t: i64, close: rust_decimal::Decimal) -> Candle {
        Candle {
            open_time_ms: t,
            open: close,
            high: close,
            low: close,
            close,
            volume: dec!(1),
        }
    }

    #[test]
    fn dates_and_months() {
        struct Case {
            text: &'static str,
            ms: i64,
        }
        let cases = [
            Case {
                text: "2024-01-01",
                ms: 1_704_067_200_000,
            },
            Case {
                text: "2024-02-29T12:30Z",
                ms: 1_709_209_800_000,
            },
            Case {
                text: "2025-12-31T23:59:59Z",
                ms: 1_767_225_599_000,
            },
            Case {
                text: "1700000000000",
                ms: 1_700_000_000_000,
            },
        ];
        for c in cases {
            assert_eq!(parse_date("from", c.text), Ok(c.ms), "{}", c.text);
        }
        for bad in [
            "2024-13-01",
            "2024-01",
            "yesterday",
            "2024-01-01T25:00Z",
            "",
        ] {
            assert!(parse_date("to", bad).is_err(), "{bad}");
        }
        let feb = parse_date("x", "2024-02-10").unwrap();
        assert_eq!(month_label(feb), "2024-02");
        assert_eq!(month_start(feb), parse_date("x", "2024-02-01").unwrap());
        assert_eq!(next_month(feb), parse_date("x", "2024-03-01").unwrap());
        let dec31 = parse_date("x", "2023-12-31").unwrap();
        assert_eq!(next_month(dec31), 1_704_067_200_000);
        let ms = months(dec31, parse_date("x", "2024-03-01").unwrap()).unwrap();
        assert_eq!(
            ms.iter().map(|m| month_label(*m)).collect::<Vec<_>>(),
            ["2023-12", "2024-01", "2024-02"]
        );
        assert!(months(5, 5).is_err());
        assert_eq!(
            month_path(&inst(), Timeframe::H1, feb).unwrap(),
            "bybit/linear/ETHUSDT/1h/2024-02.keelbars"
        );
    }

    #[test]
    fn stored_timeframes_and_source_choice() {
        let tf = |l: &str| Timeframe::parse(l).unwrap();
        assert_eq!(instrument_prefix(&inst()), "bybit/linear/ETHUSDT/");
        let listed = stored_timeframes([
            "bybit/linear/ETHUSDT/1h/",
            "bybit/linear/ETHUSDT/1m/",
            "5m",
            "1m",
            "notes",
            "7m",
        ]);
        assert_eq!(listed, [tf("1m"), tf("5m"), tf("1h")]);
        assert_eq!(source_timeframe(&listed, tf("15m")), Some(tf("5m")));
        assert_eq!(source_timeframe(&listed, tf("4h")), Some(tf("1h")));
        assert_eq!(source_timeframe(&listed, tf("1m")), Some(tf("1m")));
        assert_eq!(source_timeframe(&[tf("1h")], tf("15m")), None);
        assert_eq!(source_timeframe(&[], tf("1m")), None);
    }

    #[test]
    fn merge_replaces_and_stays_in_month() {
        let m = 1_704_067_200_000;
        let first = merge(
            None,
            &inst(),
            Timeframe::M1,
            m,
            &[c(m, dec!(1)), c(m + 60_000, dec!(2))],
        )
        .unwrap();
        let again = merge(
            Some(first),
            &inst(),
            Timeframe::M1,
            m,
            &[
                c(m + 60_000, dec!(3)),
                c(m - 60_000, dec!(9)),
                c(m + 120_000, dec!(4)),
            ],
        )
        .unwrap();
        let closes: Vec<_> = again.candles.iter().map(|x| x.close).collect();
        assert_eq!(closes, [dec!(1), dec!(3), dec!(4)]);
        assert!(matches!(
            merge(Some(again), &inst(), Timeframe::H1, m, &[]),
            Err(StoreError::Mismatch { .. })
        ));
    }

    #[test]
    fn gap_report_counts_head_middle_tail() {
        let s = 60_000;
        let cs = [c(2 * s, dec!(1)), c(3 * s, dec!(1)), c(6 * s, dec!(1))];
        let r = gap_report(&cs, Timeframe::M1, 0, 10 * s);
        assert_eq!((r.expected, r.present, r.missing), (10, 3, 7));
        assert_eq!(
            r.gaps,
            vec![
                Hole {
                    from_ms: 0,
                    to_ms: 2 * s,
                    missing: 2
                },
                Hole {
                    from_ms: 4 * s,
                    to_ms: 6 * s,
                    missing: 2
                },
                Hole {
                    from_ms: 7 * s,
                    to_ms: 10 * s,
                    missing: 3
                },
            ]
        );
        let full: Vec<Candle> = (0..10).map(|i| c(i * s, dec!(1))).collect();
        assert_eq!(gap_report(&full, Timeframe::M1, 0, 10 * s).missing, 0);
        let hourly = bars(&full, Timeframe::M1, Timeframe::parse("5m").unwrap()).unwrap();
        assert_eq!(hourly.len(), 2);
        assert_eq!(hourly[1].volume, 5.0);
    }
}
