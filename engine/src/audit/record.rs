//! The audit record and its sealed (hashed) form.
//!
//! ## Exact byte format of the chain
//! - `body` = canonical JSON ([`super::canonical`]) of the record object
//!   `{"v":1,"bot_id":…,"seq":…,"time_ms":…,"actor":…,"mode":…,"signal_id":…,"client_order_id":…,"event":{"kind":…,…}}`
//!   (absent correlation ids and an absent `mode` are omitted, so events sealed before `mode`
//!   existed keep their bytes and hashes; after redaction; keys sorted, so `actor` comes first).
//! - `hash` = lowercase hex of `SHA-256(prev_hash ‖ body)`, where `prev_hash` is the previous
//!   event's `hash` as its 64 ASCII hex characters and `body` its UTF-8 bytes.
//! - The first event of a bot (`seq` 1) has `prev_hash` = [`GENESIS_HASH`] (64 × `0`).
//!
//! A verifier therefore needs only the stored `(seq, prev_hash, hash, body)` rows, never the Rust
//! types: old events stay verifiable after the event model grows.

use super::event::AuditEvent;
use crate::ids::{BotId, ClientOrderId, SignalId};
use crate::model::BotMode;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// `prev_hash` of a bot's first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Version of the record layout inside `body` (`"v"`).
pub const RECORD_VERSION: u32 = 1;

/// Who caused an event: the admin token that called the API, the webhook, or the bot itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Actor {
    /// The bot or the platform acting on its own (alarms, reconciliation, cron).
    System,
    /// An inbound webhook (TradingView or a signing source).
    Webhook,
    /// An admin API call authenticated by the token with this id (never the token itself).
    Token(String),
}

/// Why an actor string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("actor must be `system`, `webhook` or `token:<id>` with a non-empty id, got {0:?}")]
pub struct ActorError(pub String);

impl TryFrom<String> for Actor {
    type Error = ActorError;
    fn try_from(s: String) -> Result<Self, ActorError> {
        match s.as_str() {
            "system" => Ok(Actor::System),
            "webhook" => Ok(Actor::Webhook),
            _ => match s.strip_prefix("token:") {
                Some(id) if !id.is_empty() => Ok(Actor::Token(id.to_string())),
                _ => Err(ActorError(s)),
            },
        }
    }
}

impl From<Actor> for String {
    fn from(a: Actor) -> String {
        a.to_string()
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::System => f.write_str("system"),
            Actor::Webhook => f.write_str("webhook"),
            Actor::Token(id) => write!(f, "token:{id}"),
        }
    }
}

/// What the caller supplies for a new event; the chain adds `seq` and the hashes.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditDraft {
    /// When it happened (ms since the Unix epoch, UTC), from the caller's clock.
    pub time_ms: i64,
    /// Who caused it.
    pub actor: Actor,
    /// Signal it belongs to, when any.
    pub signal_id: Option<SignalId>,
    /// Order it belongs to, when any.
    pub client_order_id: Option<ClientOrderId>,
    /// The bot's mode (paper / testnet / live) when the event happened: every audit event says
    /// whether real money was involved. Filled in by the bot's journal when the caller leaves it.
    pub mode: Option<BotMode>,
    /// The fact.
    pub event: AuditEvent,
}

impl AuditDraft {
    /// A draft with no correlation ids.
    pub fn new(time_ms: i64, actor: Actor, event: AuditEvent) -> Self {
        Self {
            time_ms,
            actor,
            signal_id: None,
            client_order_id: None,
            mode: None,
            event,
        }
    }

    /// Sets the bot's mode.
    pub fn mode(mut self, mode: BotMode) -> Self {
        self.mode = Some(mode);
        self
    }

    /// Sets the signal correlation id.
    pub fn signal(mut self, id: SignalId) -> Self {
        self.signal_id = Some(id);
        self
    }

    /// Sets the client order correlation id.
    pub fn order(mut self, id: ClientOrderId) -> Self {
        self.client_order_id = Some(id);
        self
    }
}

/// A record as it appears in `body`: the draft plus its place in the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Layout version ([`RECORD_VERSION`]).
    pub v: u32,
    /// Bot the event belongs to.
    pub bot_id: BotId,
    /// Position in the bot's chain, from 1, gap-free.
    pub seq: u64,
    /// When (ms since the Unix epoch, UTC).
    pub time_ms: i64,
    /// Who.
    pub actor: Actor,
    /// Correlation: signal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal_id: Option<SignalId>,
    /// Correlation: order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_order_id: Option<ClientOrderId>,
    /// The bot's mode when the event happened (absent in events sealed before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<BotMode>,
    /// The fact.
    pub event: AuditEvent,
}

/// An event sealed into the chain: what the Durable Object stores in its outbox (same transaction
/// as the state change) and ships to the neo4j-proxy. `time_ms` and `kind` repeat `body` for
/// indexing; `body` is authoritative.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedEvent {
    /// Bot.
    pub bot_id: BotId,
    /// Position in the chain.
    pub seq: u64,
    /// Event time (ms, UTC).
    pub time_ms: i64,
    /// Event kind tag.
    pub kind: String,
    /// Previous event's hash (hex), [`GENESIS_HASH`] for seq 1.
    pub prev_hash: String,
    /// `hex(sha256(prev_hash ‖ body))`.
    pub hash: String,
    /// Canonical JSON of the [`AuditRecord`].
    pub body: String,
}

impl SealedEvent {
    /// Parses `body` back into the typed record.
    ///
    /// # Errors
    /// The serde error when the body is not a record this version understands.
    pub fn record(&self) -> Result<AuditRecord, serde_json::Error> {
        serde_json::from_str(&self.body)
    }

    /// Size this event takes on the wire to the proxy (its JSON), for batch limits.
    pub fn wire_len(&self) -> usize {
        // Exact: the serialized form is what the batch carries. Serializing these plain strings
        // and integers cannot fail; the fallback only keeps the function total.
        serde_json::to_vec(self).map_or(2 * self.body.len() + 512, |v| v.len())
    }
}

/// Events as NDJSON (one sealed event per line, `\n`-terminated): the retention export written
/// (to R2 when bound) before events are pruned from DO storage; re-importable and verifiable.
pub fn to_ndjson(events: &[SealedEvent]) -> String {
    let mut out = String::new();
    for ev in events {
        if let Ok(line) = serde_json::to_string(ev) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

/// `hex(SHA-256(prev_hash ‖ body))`, the chain's link function.
pub fn chain_hash(prev_hash: &str, body: &str) -> String {
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(body.as_bytes());
    hex::encode(h.finalize())
}

/// Whether `s` is 64 lowercase hex characters (the only accepted hash spelling).
pub fn is_hash(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}
