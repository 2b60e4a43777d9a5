//! Which audit rows a Durable Object may prune from its storage (issue 6, retention): only rows
//! already shipped to Neo4j, older than the retention age, and only once an export of them has been
//! written (an archive bucket bound); without an archive nothing is ever pruned. Pruning removes a
//! prefix of the chain (oldest seqs first, no holes), so the retained rows still form one
//! contiguous chain that verifies from its first row's stored `prev_hash`.

use super::outbox::{prunable, OutboxState};

/// Retention setting: days, from `KEEL_AUDIT_RETENTION_DAYS` (default 90).
pub const DEFAULT_RETENTION_DAYS: i64 = 90;

/// Milliseconds per day.
const DAY_MS: i64 = 24 * 3_600_000;

/// The retention age in ms from the env setting: a positive whole number of days, else the
/// default (a typo must never shorten retention to zero).
pub fn retention_ms(days_setting: Option<&str>) -> i64 {
    let days = days_setting
        .and_then(|s| s.trim().parse::<i64>().ok())
        .filter(|d| *d > 0)
        .unwrap_or(DEFAULT_RETENTION_DAYS);
    days.saturating_mul(DAY_MS)
}

/// The seq range `(first, last)` of the rows to export then prune: the longest prefix of `rows`
/// (`(seq, time_ms)`, oldest first) whose rows are all [`prunable`], never including the chain's
/// last event `chain_last_seq` (the object resumes its chain from the newest stored row, so that
/// row must always stay). `None` when nothing qualifies or when no archive is bound
/// (`archive_bound == false`: unexported data is kept).
pub fn prune_range(
    rows: &[(u64, i64)],
    chain_last_seq: u64,
    state: &OutboxState,
    now_ms: i64,
    retention_ms: i64,
    archive_bound: bool,
) -> Option<(u64, u64)> {
    if !archive_bound {
        return None;
    }
    let first = rows.first()?.0;
    let mut last = None;
    let mut expected = first;
    for &(seq, time_ms) in rows {
        if seq != expected
            || seq >= chain_last_seq
            || !prunable(seq, time_ms, state, now_ms, retention_ms)
        {
            break;
        }
        last = Some(seq);
        expected = seq.saturating_add(1);
    }
    last.map(|l| (first, l))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_000 * DAY_MS;

    fn shipped(seq: u64) -> OutboxState {
        OutboxState {
            shipped_seq: seq,
            ..OutboxState::default()
        }
    }

    #[test]
    fn retention_days_parse_with_safe_default() {
        for (setting, days) in [
            (None, 90),
            (Some("30"), 30),
            (Some(" 7 "), 7),
            (Some("0"), 90),
            (Some("-5"), 90),
            (Some("abc"), 90),
            (Some(""), 90),
        ] {
            assert_eq!(retention_ms(setting), days * DAY_MS, "{setting:?}");
        }
    }

    #[test]
    fn prune_range_table() {
        let old = NOW - 100 * DAY_MS;
        let young = NOW - DAY_MS;
        let ret = 90 * DAY_MS;
        let rows = [(1, old), (2, old), (3, old), (4, young), (5, old)];
        type Case<'a> = (&'a str, &'a [(u64, i64)], u64, bool, Option<(u64, u64)>);
        let cases: [Case; 7] = [
            ("all old, all shipped", &rows[..3], 3, true, Some((1, 3))),
            ("stops at a young row", &rows, 5, true, Some((1, 3))),
            ("stops at the shipped cursor", &rows, 2, true, Some((1, 2))),
            ("nothing shipped", &rows, 0, true, None),
            ("no archive keeps everything", &rows, 5, false, None),
            ("empty", &[], 5, true, None),
            ("young first row", &rows[3..], 5, true, None),
        ];
        for (name, rows, cursor, bound, want) in cases {
            assert_eq!(
                prune_range(rows, 100, &shipped(cursor), NOW, ret, bound),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn prune_range_always_keeps_the_chain_head() {
        let old = NOW - 100 * DAY_MS;
        let rows = [(1, old), (2, old), (3, old)];
        assert_eq!(
            prune_range(&rows, 3, &shipped(3), NOW, 90 * DAY_MS, true),
            Some((1, 2))
        );
        assert_eq!(
            prune_range(&rows[..1], 1, &shipped(1), NOW, 90 * DAY_MS, true),
            None
        );
    }

    #[test]
    fn prune_range_stops_at_a_hole() {
        let old = NOW - 100 * DAY_MS;
        let rows = [(10, old), (11, old), (13, old)];
        assert_eq!(
            prune_range(&rows, 100, &shipped(20), NOW, 90 * DAY_MS, true),
            Some((10, 11))
        );
    }
}
