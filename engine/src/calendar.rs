//! UTC calendar maths on epoch milliseconds and the strict ISO-8601 UTC parser, written once on
//! top of `chrono` (no clock feature: the engine never reads time, it is always an argument).
//!
//! Why one module: the civil-date conversion used to be hand-written in five places (signal
//! times, history months, ledger days, schedule days, backtest reports), and the hand-written
//! ISO-8601 parser sliced user text by byte index and panicked on a multi-byte character — before
//! the webhook secret was even checked. Everything here is total: no input panics, and instants
//! beyond `chrono`'s range (±262,000 years) are clamped to it for display only.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Timelike, Utc};

/// Milliseconds in a UTC day (no leap seconds in Unix time).
pub const DAY_MS: i64 = 86_400_000;

/// Why a text is not an accepted ISO-8601 UTC instant. The caller words the message (the
/// webhook's texts are pinned by tests and documented).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IsoError {
    /// Not `YYYY-MM-DDTHH:MM:SS[.fraction]` followed by an offset, or an impossible date/time,
    /// or a year outside 1970..=9999.
    #[error("not an ISO-8601 UTC time")]
    Shape,
    /// Well-formed, but the offset is not UTC (`Z`, `+00:00`, `-00:00`, `+0000`).
    #[error("not in UTC")]
    NotUtc,
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|z|+00:00|-00:00|+0000)` (`T` or `t`; second 60 is
/// a leap second and reads as the next minute) into milliseconds since the Unix epoch; a
/// fraction beyond milliseconds is truncated. Years 1970..=9999 only.
///
/// Every accepted text is ASCII, so any other text is refused before a byte position is used:
/// a multi-byte character anywhere is a typed [`IsoError::Shape`], never a panic.
///
/// # Errors
/// [`IsoError::Shape`] for anything else, [`IsoError::NotUtc`] for a well-formed non-UTC offset.
pub fn parse_iso8601_utc_ms(s: &str) -> Result<i64, IsoError> {
    if !s.is_ascii() {
        return Err(IsoError::Shape);
    }
    let b = s.as_bytes();
    // The fixed-width head: positions of separators, digits everywhere else.
    const HEAD: &[u8; 19] = b"dddd-dd-ddTdd:dd:dd";
    if b.len() < 20 {
        return Err(IsoError::Shape);
    }
    for (&c, &want) in b.iter().zip(HEAD.iter()) {
        let ok = match want {
            b'd' => c.is_ascii_digit(),
            b'T' => c == b'T' || c == b't',
            sep => c == sep,
        };
        if !ok {
            return Err(IsoError::Shape);
        }
    }
    let num = |from: usize, to: usize| -> u32 {
        b[from..to]
            .iter()
            .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'))
    };
    let (year, month, day) = (num(0, 4), num(5, 7), num(8, 10));
    let (hour, minute, second) = (num(11, 13), num(14, 16), num(17, 19));
    let mut i = 19;
    let mut millis = 0u32;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let digits = &b[start..i];
        if digits.is_empty() || digits.len() > 9 {
            return Err(IsoError::Shape);
        }
        millis = (0..3).fold(0u32, |acc, k| {
            acc * 10 + digits.get(k).map_or(0, |d| u32::from(d - b'0'))
        });
    }
    match &b[i..] {
        b"Z" | b"z" | b"+00:00" | b"-00:00" | b"+0000" => {}
        _ => return Err(IsoError::NotUtc),
    }
    if !(1970..=9999).contains(&year) {
        return Err(IsoError::Shape);
    }
    // `year` is at most 9999, so the cast is exact.
    let date = NaiveDate::from_ymd_opt(year as i32, month, day).ok_or(IsoError::Shape)?;
    // chrono writes a leap second as second 59 with 1,000+ ms: the instant is the next minute.
    let (second, millis) = if second == 60 {
        (59, millis + 1000)
    } else {
        (second, millis)
    };
    let time =
        NaiveTime::from_hms_milli_opt(hour, minute, second, millis).ok_or(IsoError::Shape)?;
    Ok(date.and_time(time).and_utc().timestamp_millis())
}

/// Days since 1970-01-01 (UTC) of an epoch-ms instant; negative before the epoch.
pub fn day_index(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS)
}

/// Milliseconds at 00:00 UTC of a day index (saturating at the ends of `i64`).
pub fn day_start_ms(day: i64) -> i64 {
    day.saturating_mul(DAY_MS)
}

/// Days since 1970-01-01 of a proleptic Gregorian date, or `None` for an impossible date
/// (February 30th) or one beyond `chrono`'s range.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> Option<i64> {
    let year = i32::try_from(year).ok()?;
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    Some(date.signed_duration_since(epoch_date()).num_days())
}

fn epoch_date() -> NaiveDate {
    DateTime::<Utc>::UNIX_EPOCH.date_naive()
}

/// The date of a day index, clamped to `chrono`'s range (a display concern only: no trading
/// time comes near ±262,000 years).
fn date_of(day: i64) -> NaiveDate {
    let min = NaiveDate::MIN
        .signed_duration_since(epoch_date())
        .num_days();
    let max = NaiveDate::MAX
        .signed_duration_since(epoch_date())
        .num_days();
    let day = day.clamp(min, max);
    chrono::TimeDelta::try_days(day)
        .and_then(|delta| epoch_date().checked_add_signed(delta))
        .unwrap_or(if day < 0 {
            NaiveDate::MIN
        } else {
            NaiveDate::MAX
        })
}

/// `(year, month, day)` of a day index (see [`date_of`] for the clamp).
pub fn civil_from_days(day: i64) -> (i64, u32, u32) {
    let d = date_of(day);
    (i64::from(d.year()), d.month(), d.day())
}

/// `YYYY-MM-DD` of a day index.
pub fn date_string(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `(hour, minute, second)` of an epoch-ms instant, UTC.
pub fn clock_of(ms: i64) -> (u32, u32, u32) {
    let secs = ms.rem_euclid(DAY_MS) / 1000;
    // `secs` < 86,400, so each part fits a `u32`.
    let t = NaiveTime::from_num_seconds_from_midnight_opt(secs as u32, 0).unwrap_or(NaiveTime::MIN);
    (t.hour(), t.minute(), t.second())
}

/// `YYYY-MM-DDTHH:MM:SSZ` of an epoch-ms instant (sub-second part dropped).
pub fn rfc3339(ms: i64) -> String {
    let (h, m, s) = clock_of(ms);
    format!("{}T{h:02}:{m:02}:{s:02}Z", date_string(day_index(ms)))
}

/// `(year, month)` of the month containing `ms`.
pub fn year_month(ms: i64) -> (i64, u32) {
    let (y, m, _) = civil_from_days(day_index(ms));
    (y, m)
}

fn first_of_month_ms(year: i64, month: u32) -> i64 {
    // The first of a month in chrono's range always exists; out of range saturates.
    days_from_civil(year, month, 1).map_or(if year < 0 { i64::MIN } else { i64::MAX }, day_start_ms)
}

/// First ms (UTC) of the month containing `ms`.
pub fn month_start(ms: i64) -> i64 {
    let (y, m) = year_month(ms);
    first_of_month_ms(y, m)
}

/// First ms of the month after the one containing `ms`.
pub fn next_month(ms: i64) -> i64 {
    let (y, m) = year_month(ms);
    let (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    first_of_month_ms(y, m)
}

/// `YYYY-MM` of the month containing `ms`.
pub fn month_label(ms: i64) -> String {
    let (y, m) = year_month(ms);
    format!("{y:04}-{m:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-written conversions this module replaced (Howard Hinnant's algorithms), kept
    /// here as the oracle: chrono must agree with them on every day they were used for.
    fn hinnant_civil(day: i64) -> (i64, u32, u32) {
        let z = day + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        (yoe + era * 400 + i64::from(m <= 2), m, d)
    }

    #[test]
    fn chrono_agrees_with_the_replaced_conversion() {
        // 1900-01-01 .. 2200-01-01, every day, both directions.
        for day in -25_567..84_006 {
            let (y, m, d) = hinnant_civil(day);
            assert_eq!(civil_from_days(day), (y, m, d), "{day}");
            assert_eq!(days_from_civil(y, m, d), Some(day), "{y}-{m}-{d}");
        }
    }

    #[test]
    fn parses_and_refuses() {
        assert_eq!(
            parse_iso8601_utc_ms("2019-08-27T09:56:00Z"),
            Ok(1_566_899_760_000)
        );
        assert_eq!(
            parse_iso8601_utc_ms("2019-08-27t09:56:00.1234z"),
            Ok(1_566_899_760_123)
        );
        assert_eq!(
            parse_iso8601_utc_ms("2016-12-31T23:59:60Z"),
            Ok(1_483_228_800_000)
        );
        assert_eq!(
            parse_iso8601_utc_ms("2019-08-27T09:56:00+01:00"),
            Err(IsoError::NotUtc)
        );
        for bad in [
            "2019-08-27T09:56:00",
            "2019-08-27 09:56:00Z",
            "2019-02-30T00:00:00Z",
            "1969-12-31T23:59:59Z",
            "2019-08-27T24:00:00Z",
            "2019-08-27T09:56:61Z",
            "2019-08-27T09:56:00.Z",
            "2019-08-27T09:56:00.1234567890Z",
            "+019-08-27T09:56:00Z",
        ] {
            assert_eq!(parse_iso8601_utc_ms(bad), Err(IsoError::Shape), "{bad}");
        }
    }

    /// The panic of issue 26: a multi-byte character where the old parser sliced by byte.
    #[test]
    fn multi_byte_characters_are_refused_not_panicked_on() {
        for c in ['é', '€', '😀', '\u{feff}', '\u{fffd}', '\u{10ffff}'] {
            for at in 0..24 {
                let mut s: Vec<char> = "2019-08-27T09:56:00.000Z".chars().collect();
                s.insert(at.min(s.len()), c);
                let text: String = s.into_iter().collect();
                assert_eq!(parse_iso8601_utc_ms(&text), Err(IsoError::Shape), "{text}");
            }
        }
    }

    #[test]
    fn display_helpers() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339(951_825_600_000), "2000-02-29T12:00:00Z");
        assert_eq!(month_label(951_825_600_000), "2000-02");
        assert_eq!(month_start(951_825_600_000), 949_363_200_000);
        assert_eq!(next_month(951_825_600_000), 951_868_800_000);
        assert_eq!(next_month(946_684_799_999), 946_684_800_000);
        // Beyond chrono's range: clamped, never a panic.
        for ms in [i64::MIN, i64::MAX, i64::MIN + 1] {
            let _ = rfc3339(ms);
            let _ = month_start(ms);
            let _ = next_month(ms);
            let _ = month_label(ms);
        }
    }
}
