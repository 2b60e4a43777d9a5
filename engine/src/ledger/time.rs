//! UTC calendar arithmetic on epoch milliseconds: the ledger buckets P&L by UTC day and prints
//! ISO dates, and time only ever comes in as an argument. The maths is [`crate::calendar`]'s
//! (chrono), shared with the signal parser, the history store and the schedule.

pub(crate) use crate::calendar::{date_string, day_index, rfc3339};

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
