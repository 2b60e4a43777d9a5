//! Appending to a bot's hash chain, and verifying one.
//!
//! The Durable Object keeps one [`AuditChain`] per bot (rebuilt from its last stored `(seq, hash)`
//! on start). For invariant 1 the chain separates sealing from advancing: [`AuditChain::seal`]
//! builds the event without changing the chain, the DO writes it in the same storage transaction as
//! the state change, and only after that transaction commits does it call [`AuditChain::advance`].

use super::canonical::{to_canonical_string, CanonicalError};
use super::record::{
    chain_hash, is_hash, AuditDraft, AuditRecord, SealedEvent, GENESIS_HASH, RECORD_VERSION,
};
use super::redact::Redactor;
use crate::ids::BotId;
use serde::Serialize;

/// Why an event could not be sealed or the chain moved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// `last_hash` given to [`AuditChain::resume`] is not 64 lowercase hex characters.
    #[error("last_hash {0:?} is not a 64-character lowercase hex sha256")]
    BadHash(String),
    /// `last_seq` is 0 but `last_hash` is not the genesis hash (or the reverse).
    #[error("last_seq {seq} does not match last_hash (genesis hash only at seq 0)")]
    GenesisMismatch {
        /// The seq given.
        seq: u64,
    },
    /// The event does not serialize canonically (a float somewhere).
    #[error("event is not canonical JSON: {0}")]
    Canonical(#[from] CanonicalError),
    /// serde failed on the record.
    #[error("event does not serialize: {0}")]
    Serialize(String),
    /// `advance` was given an event that is not the next link of this chain.
    #[error("event seq {got} / prev_hash does not follow the chain at seq {expected_prev}")]
    NotNext {
        /// The chain's current last seq.
        expected_prev: u64,
        /// The seq of the event offered.
        got: u64,
    },
    /// `seq` would overflow `u64`.
    #[error("seq overflow")]
    SeqOverflow,
}

/// A bot's chain head: the last committed `(seq, hash)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditChain {
    bot_id: BotId,
    last_seq: u64,
    last_hash: String,
}

impl AuditChain {
    /// A new bot's empty chain (next event gets seq 1 and prev_hash [`GENESIS_HASH`]).
    pub fn genesis(bot_id: BotId) -> Self {
        Self {
            bot_id,
            last_seq: 0,
            last_hash: GENESIS_HASH.to_string(),
        }
    }

    /// Resumes after the last stored event.
    ///
    /// # Errors
    /// [`ChainError::BadHash`] or [`ChainError::GenesisMismatch`] when the pair is inconsistent.
    pub fn resume(bot_id: BotId, last_seq: u64, last_hash: &str) -> Result<Self, ChainError> {
        if !is_hash(last_hash) {
            return Err(ChainError::BadHash(last_hash.to_string()));
        }
        if (last_seq == 0) != (last_hash == GENESIS_HASH) {
            return Err(ChainError::GenesisMismatch { seq: last_seq });
        }
        Ok(Self {
            bot_id,
            last_seq,
            last_hash: last_hash.to_string(),
        })
    }

    /// Bot of this chain.
    pub fn bot_id(&self) -> &BotId {
        &self.bot_id
    }

    /// Seq of the last committed event (0 when none).
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// Hash of the last committed event ([`GENESIS_HASH`] when none).
    pub fn last_hash(&self) -> &str {
        &self.last_hash
    }

    /// Builds the next event (redacted, canonical, hashed) without moving the chain.
    ///
    /// # Errors
    /// [`ChainError::Canonical`] / [`ChainError::Serialize`] when the event does not serialize,
    /// [`ChainError::SeqOverflow`] after `u64::MAX` events.
    pub fn seal(&self, draft: AuditDraft, redactor: &Redactor) -> Result<SealedEvent, ChainError> {
        let seq = self
            .last_seq
            .checked_add(1)
            .ok_or(ChainError::SeqOverflow)?;
        let kind = draft.event.kind().to_string();
        let record = AuditRecord {
            v: RECORD_VERSION,
            bot_id: self.bot_id.clone(),
            seq,
            time_ms: draft.time_ms,
            actor: draft.actor,
            signal_id: draft.signal_id,
            client_order_id: draft.client_order_id,
            mode: draft.mode,
            event: draft.event,
        };
        let mut value = to_value(&record)?;
        redactor.apply(&mut value);
        let body = to_canonical_string(&value)?;
        let hash = chain_hash(&self.last_hash, &body);
        Ok(SealedEvent {
            bot_id: self.bot_id.clone(),
            seq,
            time_ms: record.time_ms,
            kind,
            prev_hash: self.last_hash.clone(),
            hash,
            body,
        })
    }

    /// Moves the head to `event` once it is durably stored.
    ///
    /// # Errors
    /// [`ChainError::NotNext`] when `event` is not the successor of the current head.
    pub fn advance(&mut self, event: &SealedEvent) -> Result<(), ChainError> {
        if event.bot_id != self.bot_id
            || Some(event.seq) != self.last_seq.checked_add(1)
            || event.prev_hash != self.last_hash
        {
            return Err(ChainError::NotNext {
                expected_prev: self.last_seq,
                got: event.seq,
            });
        }
        self.last_seq = event.seq;
        self.last_hash = event.hash.clone();
        Ok(())
    }

    /// [`seal`](Self::seal) then [`advance`](Self::advance), for callers whose storage write cannot
    /// fail afterwards (tests, backtests).
    ///
    /// # Errors
    /// As [`seal`](Self::seal).
    pub fn append(
        &mut self,
        draft: AuditDraft,
        redactor: &Redactor,
    ) -> Result<SealedEvent, ChainError> {
        let ev = self.seal(draft, redactor)?;
        self.advance(&ev)?;
        Ok(ev)
    }
}

fn to_value<T: Serialize>(v: &T) -> Result<serde_json::Value, ChainError> {
    serde_json::to_value(v).map_err(|e| ChainError::Serialize(e.to_string()))
}
