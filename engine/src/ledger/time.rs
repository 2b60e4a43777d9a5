//! UTC calendar arithmetic on epoch milliseconds, without a clock or a date crate: the ledger
//! buckets P&L by UTC day and prints ISO dates, and time only ever comes in as an argument.

const MS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 (UTC) of an epoch-ms instant; negative before the epoch.
pub(crate) fn day_index(ms: i64) -> i64 {
    ms.div_euclid(MS_PER_DAY)
}

/// Milliseconds at 00:00 UTC of a day index.
pub(crate) fn day_start_ms(day: i64) -> i64 {
    day.saturating_mul(MS_PER_DAY)
}

/// `(year, month, day)` of a day index (Howard Hinnant's `civil_from_days`).
fn civil(day: i64) -> (i64, u32, u32) {
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `YYYY-MM-DD` of a day index.
pub(crate) fn date_string(day: i64) -> String {
    let (y, m, d) = civil(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DDTHH:MM:SSZ` of an epoch-ms instant (sub-second part dropped).
pub(crate) fn rfc3339(ms: i64) -> String {
    let day = day_index(ms);
    let secs = (ms - day_start_ms(day)) / 1000;
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        date_string(day),
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        let cases = [
            (0_i64, "1970-01-01T00:00:00Z"),
            (-1, "1969-12-31T23:59:59Z"),
            (951_825_600_000, "2000-02-29T12:00:00Z"),
            (1_795_953_600_000, "2026-11-29T12:00:00Z"),
            (1_795_996_799_999, "2026-11-29T23:59:59Z"),
        ];
        for (ms, want) in cases {
            assert_eq!(rfc3339(ms), want, "{ms}");
        }
        assert_eq!(
            day_index(1_795_996_799_999) + 1,
            day_index(1_795_996_800_000)
        );
        assert_eq!(date_string(day_index(1_795_996_800_000)), "2026-11-30");
    }
}
