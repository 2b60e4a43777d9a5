//! Historical candles in R2 (binding `HISTORY`): the Worker's counterpart of the CLI's data
//! folder (`cli/src/local/fsstore.rs`). Same keys (`store::month_path`), same `KEELBARS` month
//! objects, same read → `store::merge` → `codec::encode` → write; all planning stays in
//! `keel_engine::history`, this module only moves bytes.
//!
//! An R2 put replaces an object atomically, so no reader ever sees half a month. Two imports of
//! the same month at once must not lose each other's candles: a month is written only if it is
//! still as read (R2 conditional put: the etag read, or `*` not matching for a month that did not
//! exist), otherwise it is read and merged again.

use crate::env;
use keel_durable_objects::http::ApiError;
use keel_engine::history::codec::{self, CodecError, MonthFile};
use keel_engine::history::store::{self, StoreError};
use keel_engine::history::{Candle, Instrument};
use keel_engine::market::Timeframe;
use std::time::Duration;
use worker::{Bucket, Conditional, Env};

/// Read-merge-write rounds of one month before giving up on a contended object. Every round of
/// the writers that read the same version lets exactly one of them write, so N concurrent
/// imports of a month all finish within N rounds.
const MAX_ROUNDS: u64 = 12;
/// Pause before round `n + 1`, times `n`: spreads out writers that lost a round together.
const ROUND_PAUSE_MS: u64 = 10;

/// Why the store could not be read or written; mapped to HTTP once, in
/// `From<HistoryError> for ApiError`.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// No `HISTORY` bucket bound to this Worker (503: deploy with the binding).
    #[error("R2 bucket binding {0} is not configured")]
    Unbound(&'static str),
    /// R2 failed a read, write or list (503: retry).
    #[error("R2 {key}: {reason}")]
    Bucket {
        /// Object key or listed prefix.
        key: String,
        /// R2's message.
        reason: String,
    },
    /// Another writer kept replacing the month between our read and write (503: retry).
    #[error("R2 {0}: changed by another import {MAX_ROUNDS} times in a row")]
    Contended(String),
    /// A stored object is not a readable month file (500: damaged or foreign object).
    #[error("R2 {key}: {source}")]
    Corrupt {
        /// Object key.
        key: String,
        /// What the decoder refused.
        source: CodecError,
    },
    /// Merged candles that do not encode (500: a defect, the object is left as it was).
    #[error("R2 {key}: encoding the merged month: {source}")]
    Encode {
        /// Object key.
        key: String,
        /// What the encoder refused.
        source: CodecError,
    },
    /// The engine refused the range, timeframe or merge.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<HistoryError> for ApiError {
    fn from(e: HistoryError) -> Self {
        let msg = e.to_string();
        match e {
            HistoryError::Unbound(_) | HistoryError::Bucket { .. } | HistoryError::Contended(_) => {
                ApiError::unavailable("history_unavailable", msg)
            }
            HistoryError::Corrupt { .. } => ApiError::new(500, "history_corrupt", msg),
            HistoryError::Store(StoreError::Timeframe(_)) => {
                ApiError::unprocessable("invalid_data_request", msg).with_field("timeframe")
            }
            HistoryError::Store(StoreError::Range { .. } | StoreError::Date { .. }) => {
                ApiError::unprocessable("invalid_data_request", msg).with_field("to")
            }
            HistoryError::Encode { .. } | HistoryError::Store(_) => ApiError::internal(msg),
        }
    }
}

fn r2(key: &str) -> impl Fn(worker::Error) -> HistoryError + '_ {
    move |e| HistoryError::Bucket {
        key: key.to_string(),
        reason: e.to_string(),
    }
}

/// The `HISTORY` bucket.
///
/// # Errors
/// [`HistoryError::Unbound`] when the binding is missing.
pub fn bucket(env: &Env) -> Result<Bucket, HistoryError> {
    env.bucket(env::HISTORY)
        .map_err(|_| HistoryError::Unbound(env::HISTORY))
}

/// A month object decoded, with its etag; `None` when absent.
async fn read(bucket: &Bucket, key: &str) -> Result<Option<(MonthFile, String)>, HistoryError> {
    let Some(obj) = bucket.get(key).execute().await.map_err(r2(key))? else {
        return Ok(None);
    };
    let etag = obj.etag();
    let Some(body) = obj.body() else {
        return Ok(None);
    };
    let bytes = body.bytes().await.map_err(r2(key))?;
    let file = codec::decode(&bytes).map_err(|source| HistoryError::Corrupt {
        key: key.to_string(),
        source,
    })?;
    Ok(Some((file, etag)))
}

/// Merges candles into their month objects. Returns the months as written (merged), so a caller
/// that reads the range next need not fetch them from R2 again.
///
/// # Errors
/// [`HistoryError`]: R2 failures, a damaged object, a contended month.
pub async fn store(
    bucket: &Bucket,
    inst: &Instrument,
    tf: Timeframe,
    candles: &[Candle],
) -> Result<Vec<MonthFile>, HistoryError> {
    let groups = store::by_month(candles);
    let mut written_months = Vec::with_capacity(groups.len());
    for (month, group) in &groups {
        let key = store::month_path(inst, tf, *month)?;
        let mut written = None;
        for round in 0..MAX_ROUNDS {
            if round > 0 {
                worker::Delay::from(Duration::from_millis(ROUND_PAUSE_MS * round)).await;
            }
            let existing = read(bucket, &key).await?;
            let etag = existing.as_ref().map(|(_, e)| e.clone());
            let merged = store::merge(existing.map(|(f, _)| f), inst, tf, *month, group)?;
            let bytes = codec::encode(&merged).map_err(|source| HistoryError::Encode {
                key: key.clone(),
                source,
            })?;
            // Replace only what was read: the same etag, or still no object at all.
            let only_if = match etag {
                Some(etag) => Conditional {
                    etag_matches: Some(etag),
                    ..Conditional::default()
                },
                None => Conditional {
                    etag_does_not_match: Some("*".to_string()),
                    ..Conditional::default()
                },
            };
            let put = bucket.put(&key, bytes).only_if(only_if);
            if put.execute().await.map_err(r2(&key))?.is_some() {
                written = Some(merged);
                break;
            }
        }
        match written {
            Some(file) => written_months.push(file),
            None => return Err(HistoryError::Contended(key)),
        }
    }
    Ok(written_months)
}

/// Candles of `[from, to)` at the stored timeframe `tf`, oldest first.
///
/// # Errors
/// [`HistoryError`]: an empty range, R2 failures, a damaged object.
pub async fn load(
    bucket: &Bucket,
    inst: &Instrument,
    tf: Timeframe,
    from: i64,
    to: i64,
) -> Result<Vec<Candle>, HistoryError> {
    load_known(bucket, inst, tf, from, to, Vec::new()).await
}

/// [`load`] given months already in hand (as [`store`] just wrote them): only the others are
/// read from R2.
///
/// # Errors
/// As [`load`].
pub async fn load_known(
    bucket: &Bucket,
    inst: &Instrument,
    tf: Timeframe,
    from: i64,
    to: i64,
    known: Vec<MonthFile>,
) -> Result<Vec<Candle>, HistoryError> {
    let mut files = known;
    for month in store::months(from, to)? {
        if files.iter().any(|f| f.month_start_ms == month) {
            continue;
        }
        let key = store::month_path(inst, tf, month)?;
        if let Some((f, _)) = read(bucket, &key).await? {
            files.push(f);
        }
    }
    Ok(store::slice(&files, from, to))
}

/// Stored timeframes of an instrument (sub-prefixes present), smallest first.
///
/// # Errors
/// [`HistoryError::Bucket`] when R2 cannot list.
pub async fn stored_timeframes(
    bucket: &Bucket,
    inst: &Instrument,
) -> Result<Vec<Timeframe>, HistoryError> {
    let prefix = store::instrument_prefix(inst);
    let listed = bucket
        .list()
        .prefix(prefix.clone())
        .delimiter("/")
        .execute()
        .await
        .map_err(r2(&prefix))?;
    let names = listed.delimited_prefixes();
    Ok(store::stored_timeframes(names.iter().map(String::as_str)))
}
