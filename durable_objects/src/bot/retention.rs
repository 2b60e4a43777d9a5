//! Audit retention, run from the alarm after shipping: rows already confirmed by Neo4j and older
//! than `KEEL_AUDIT_RETENTION_DAYS` (default 90) are written as NDJSON to the `AUDIT_ARCHIVE` R2
//! bucket and only then deleted from the object's storage. Without that binding nothing is pruned:
//! data never leaves the DO unexported. The newest row always stays (the chain resumes from it).

use super::{now_ms, outbox, BotDO};
use crate::db::{int, text, WriteBatch};
use crate::http::ApiError;
use keel_engine::audit::{prune_range, retention_ms, to_ndjson, SealedEvent};
use serde::Deserialize;

/// R2 binding receiving the exports.
const ARCHIVE: &str = "AUDIT_ARCHIVE";
/// Retention age setting, in days.
const RETENTION_VAR: &str = "KEEL_AUDIT_RETENTION_DAYS";
/// Rows exported and pruned per alarm at most (one R2 object each run).
const MAX_ROWS: i64 = 1_000;

#[derive(Debug, Deserialize)]
struct Age {
    seq: i64,
    time_ms: i64,
}

/// Exports then prunes one run of old, shipped rows. Returns the pruned `(first, last)` seqs.
///
/// # Errors
/// Storage or R2 failures; nothing is deleted unless the export was stored whole.
pub async fn prune(bot: &BotDO) -> Result<Option<(u64, u64)>, ApiError> {
    let Ok(bucket) = bot.env.bucket(ARCHIVE) else {
        return Ok(None);
    };
    let Ok(bot_id) = bot.bot_id() else {
        return Ok(None);
    };
    let days = bot.env.var(RETENTION_VAR).ok().map(|v| v.to_string());
    let retention = retention_ms(days.as_deref());
    let rows: Vec<Age> = bot.db.rows(
        "SELECT seq, time_ms FROM audit ORDER BY seq LIMIT ?",
        vec![int(MAX_ROWS)],
    )?;
    let ages: Vec<(u64, i64)> = rows
        .iter()
        .map(|r| (u64::try_from(r.seq).unwrap_or(0), r.time_ms))
        .collect();
    let st = outbox::state(bot)?;
    let Some((first, last)) =
        prune_range(&ages, outbox::last_seq(bot), &st, now_ms(), retention, true)
    else {
        return Ok(None);
    };
    let events: Vec<SealedEvent> = bot.db.rows(
        "SELECT ? AS bot_id, seq, time_ms, kind, prev_hash, hash, body FROM audit WHERE seq >= ? AND seq <= ? ORDER BY seq",
        vec![text(bot_id.as_str()), int(first as i64), int(last as i64)],
    )?;
    let ndjson = to_ndjson(&events);
    let expected = last - first + 1;
    if events.len() as u64 != expected || ndjson.lines().count() as u64 != expected {
        return Err(ApiError::internal(format!(
            "retention: export of {bot_id} seqs {first}..={last} is incomplete; nothing pruned"
        )));
    }
    let key = format!("audit/{bot_id}/{first:012}-{last:012}.ndjson");
    bucket.put(key, ndjson).execute().await?;
    let mut batch = WriteBatch::new();
    batch.push(
        "DELETE FROM audit WHERE seq >= ? AND seq <= ?",
        vec![int(first as i64), int(last as i64)],
    );
    bot.db.commit(batch)?;
    Ok(Some((first, last)))
}

/// Retention of the `signals` table (dedupe memory and outcomes), in days.
const SIGNAL_RETENTION_VAR: &str = "KEEL_SIGNAL_RETENTION_DAYS";
/// Default retention of `signals` rows.
const DEFAULT_SIGNAL_DAYS: i64 = 30;
/// Shortest retention accepted: dedupe must remember ids for its whole 24 h window.
const MIN_SIGNAL_DAYS: i64 = 2;
/// Retention of the rows of refused unauthenticated webhooks (`rejected-…` / `edge-…`).
const REFUSAL_DAYS: i64 = 7;
/// Rows deleted per alarm at most (keeps one alarm's write small).
const MAX_SIGNAL_ROWS: i64 = 1_000;
const DAY_MS: i64 = 86_400_000;

/// The two cutoffs of [`prune_signals`]: `(every finished row, refused unauthenticated rows)`;
/// rows received before them are deleted. `days` is the retention setting (unparsable or absent:
/// the default; never below the dedupe window).
pub fn signal_cutoffs(now_ms: i64, days: Option<&str>) -> (i64, i64) {
    let days = days
        .and_then(|d| d.trim().parse::<i64>().ok())
        .unwrap_or(DEFAULT_SIGNAL_DAYS)
        .clamp(MIN_SIGNAL_DAYS, 36_500);
    let refusals = REFUSAL_DAYS.min(days);
    (
        now_ms.saturating_sub(days * DAY_MS),
        now_ms.saturating_sub(refusals * DAY_MS),
    )
}

/// Deletes `signals` rows past their retention (unlike the audit, which is the record, these rows
/// are dedupe memory and a convenience view of outcomes: the audit keeps every signal's story).
/// Rows still being executed (`status` 0) are kept whatever their age. Returns the rows deleted.
///
/// # Errors
/// Storage failures.
pub fn prune_signals(bot: &BotDO) -> Result<i64, ApiError> {
    #[derive(Deserialize)]
    struct N {
        n: i64,
    }
    let days = bot
        .env
        .var(SIGNAL_RETENTION_VAR)
        .ok()
        .map(|v| v.to_string());
    let (all, refused) = signal_cutoffs(now_ms(), days.as_deref());
    let where_ = "status != 0 AND (received_ms < ? OR ((id LIKE 'rejected-%' OR id LIKE 'edge-%') AND received_ms < ?))";
    let n: Option<N> = bot.db.row(
        &format!("SELECT COUNT(*) AS n FROM (SELECT id FROM signals WHERE {where_} LIMIT ?)"),
        vec![int(all), int(refused), int(MAX_SIGNAL_ROWS)],
    )?;
    let n = n.map(|n| n.n).unwrap_or(0);
    if n == 0 {
        return Ok(0);
    }
    let mut batch = WriteBatch::new();
    batch.push(
        format!("DELETE FROM signals WHERE id IN (SELECT id FROM signals WHERE {where_} LIMIT ?)"),
        vec![int(all), int(refused), int(MAX_SIGNAL_ROWS)],
    );
    bot.db.commit(batch)?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_retention_never_shortens_dedupe() {
        let now = 100 * DAY_MS;
        assert_eq!(signal_cutoffs(now, None), (70 * DAY_MS, 93 * DAY_MS));
        assert_eq!(signal_cutoffs(now, Some("10")), (90 * DAY_MS, 93 * DAY_MS));
        assert_eq!(signal_cutoffs(now, Some("0")), (98 * DAY_MS, 98 * DAY_MS));
        assert_eq!(signal_cutoffs(now, Some("x")), (70 * DAY_MS, 93 * DAY_MS));
        assert_eq!(signal_cutoffs(0, Some("99999999999")).0, -36_500 * DAY_MS);
    }
}
