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
