//! The BotDO's tables and the [`Journal`]: the one way the bot writes. A journal collects state
//! writes and audit events, seals each event onto the hash chain, and commits everything in one
//! `transactionSync`; the in-memory chain advances only after the commit succeeded.

use crate::db::{int, text, Db, DbError, WriteBatch};
use keel_engine::audit::{AuditChain, AuditDraft, ChainError, Redactor, SealedEvent};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Schema, created idempotently when the object starts.
pub const SCHEMA: [&str; 6] = [
    "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, kind TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL, body TEXT NOT NULL, signal_id TEXT, client_order_id TEXT)",
    "CREATE TABLE IF NOT EXISTS signals (id TEXT PRIMARY KEY, received_ms INTEGER NOT NULL, status INTEGER NOT NULL, outcome TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS orders (client_order_id TEXT PRIMARY KEY, signal_id TEXT, symbol TEXT NOT NULL, status TEXT NOT NULL, updated_ms INTEGER NOT NULL, body TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS fills (trade_id TEXT PRIMARY KEY, client_order_id TEXT, symbol TEXT NOT NULL, time_ms INTEGER NOT NULL, body TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS equity (time_ms INTEGER PRIMARY KEY, equity TEXT NOT NULL, drawdown TEXT NOT NULL)",
];

#[derive(Debug, Deserialize)]
struct KvRow {
    value: String,
}

#[derive(Debug, Deserialize)]
struct LastLink {
    seq: i64,
    hash: String,
}

/// Why a journal could not be written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Storage refused.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The audit chain refused the event.
    #[error("audit chain: {0}")]
    Chain(#[from] ChainError),
    /// A value did not (de)serialise.
    #[error("encoding: {0}")]
    Encoding(String),
}

impl From<StoreError> for crate::http::ApiError {
    fn from(e: StoreError) -> Self {
        crate::http::ApiError::unavailable("storage_unavailable", e.to_string())
    }
}

/// Reads a JSON value stored under `key`.
///
/// # Errors
/// [`StoreError`] when storage fails or the value does not decode.
pub fn kv_get<T: DeserializeOwned>(db: &Db, key: &str) -> Result<Option<T>, StoreError> {
    let row: Option<KvRow> = db.row("SELECT value FROM kv WHERE key = ?", vec![text(key)])?;
    row.map(|r| {
        serde_json::from_str(&r.value).map_err(|e| StoreError::Encoding(format!("{key}: {e}")))
    })
    .transpose()
}

/// Restores the audit chain from the last stored event.
///
/// # Errors
/// [`StoreError`] when storage fails or the stored link is malformed.
pub fn load_chain(db: &Db, bot_id: keel_engine::ids::BotId) -> Result<AuditChain, StoreError> {
    let last: Option<LastLink> = db.row(
        "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
        vec![],
    )?;
    Ok(match last {
        Some(l) => AuditChain::resume(bot_id, u64::try_from(l.seq).unwrap_or(0), &l.hash)?,
        None => AuditChain::genesis(bot_id),
    })
}

/// Writes and audit events that must commit together.
#[derive(Debug)]
pub struct Journal {
    batch: WriteBatch,
    chain: AuditChain,
    redactor: Redactor,
    sealed: Vec<SealedEvent>,
    /// The bot's mode, stamped on every event that does not name one (design: mode on every
    /// audit event). Follows a `config` written in this journal.
    mode: Option<keel_engine::model::BotMode>,
}

impl Journal {
    /// Starts a journal on a copy of the current chain.
    pub fn new(chain: &AuditChain, redactor: Redactor) -> Self {
        Self {
            batch: WriteBatch::new(),
            chain: chain.clone(),
            redactor,
            sealed: Vec::new(),
            mode: None,
        }
    }

    /// Stores a JSON value under `key`.
    ///
    /// # Errors
    /// [`StoreError::Encoding`] when the value does not serialise.
    pub fn put<T: Serialize>(&mut self, key: &str, value: &T) -> Result<&mut Self, StoreError> {
        let json = serde_json::to_string(value).map_err(|e| StoreError::Encoding(e.to_string()))?;
        if key == "config" {
            self.mode = mode_of(&json).or(self.mode);
        }
        self.batch.push(
            "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            vec![text(key), text(json)],
        );
        Ok(self)
    }

    /// Adds a raw statement.
    pub fn exec(&mut self, sql: &str, bindings: Vec<worker::SqlStorageValue>) -> &mut Self {
        self.batch.push(sql, bindings);
        self
    }

    /// Seals an audit event onto the chain and stages its row.
    ///
    /// # Errors
    /// [`StoreError::Chain`] when the chain refuses the event.
    pub fn audit(&mut self, mut draft: AuditDraft) -> Result<&mut Self, StoreError> {
        draft.mode = draft.mode.or(self.mode);
        let sealed = self.chain.seal(draft, &self.redactor)?;
        self.chain.advance(&sealed)?;
        let record = sealed
            .record()
            .map_err(|e| StoreError::Encoding(e.to_string()))?;
        self.batch.push(
            "INSERT INTO audit (seq, time_ms, kind, prev_hash, hash, body, signal_id, client_order_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            vec![
                int(i64::try_from(sealed.seq).unwrap_or(i64::MAX)),
                int(sealed.time_ms),
                text(sealed.kind.clone()),
                text(sealed.prev_hash.clone()),
                text(sealed.hash.clone()),
                text(sealed.body.clone()),
                record.signal_id.map(|s| s.to_string()).into(),
                record.client_order_id.map(|s| s.to_string()).into(),
            ],
        );
        self.sealed.push(sealed);
        Ok(self)
    }

    /// Stamps `mode` on the events that follow (the bot's stored config's mode).
    pub fn with_mode(mut self, mode: Option<keel_engine::model::BotMode>) -> Self {
        self.mode = mode;
        self
    }

    /// Commits atomically and returns the advanced chain.
    ///
    /// # Errors
    /// [`StoreError::Db`]: nothing was written and the caller's chain is unchanged.
    pub fn commit(self, db: &Db) -> Result<AuditChain, StoreError> {
        db.commit(self.batch)?;
        Ok(self.chain)
    }
}

/// The `mode` of a stored bot config (`{"config":{"mode":…}}`), when it has one.
pub fn mode_of(stored_config_json: &str) -> Option<keel_engine::model::BotMode> {
    let v: serde_json::Value = serde_json::from_str(stored_config_json).ok()?;
    serde_json::from_value(v["config"]["mode"].clone()).ok()
}
