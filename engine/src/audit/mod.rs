//! The audit trail: every action of every bot as a hash-chained event (docs/design.md invariants 1–2).
//!
//! - [`event`]: the event kinds ([`AuditEvent`]) with their full context.
//! - [`record`]: the record, the sealed form stored and shipped ([`SealedEvent`]), the exact byte
//!   format of `hash = sha256(prev_hash ‖ canonical JSON)`.
//! - [`canonical`]: canonical JSON (sorted keys, no whitespace, integers only).
//! - [`redact`]: keeping secrets out ([`Redactor`]).
//! - [`chain`]: appending ([`AuditChain`]); [`verify`]: checking a stored chain, first break.
//! - [`outbox`]: batching, cursor, backoff with full jitter, depth; [`wire`]: the DO ↔ neo4j-proxy
//!   JSON contract.
//!
//! The Durable Object calls, per state change: `chain.seal(draft, &redactor)` → store the
//! [`SealedEvent`] in the same transaction → `chain.advance(&sealed)`. Its alarm calls
//! [`select_batch`], posts a [`ShipRequest`], then [`classify_ship_response`] and
//! [`OutboxState::on_success`] or [`OutboxState::on_failure`].

pub mod canonical;
pub mod chain;
pub mod event;
pub mod outbox;
pub mod outbox_totals;
pub mod record;
pub mod redact;
pub mod retention;
pub mod verify;
pub mod wire;

#[cfg(test)]
mod tests;

pub use chain::{AuditChain, ChainError};
pub use event::{
    config_diff, AuditEvent, CircuitState, ConfigDiffEntry, ControlAction, CredentialAction,
    DecisionOutcome, Mismatch,
};
pub use outbox::{
    backoff_delay_ms, outbox_depth, outbox_health, prunable, select_batch, BatchPlan, FailureKind,
    OutboxError, OutboxHealth, OutboxPolicy, OutboxState, OutboxStatus, DEFAULT_RETENTION_MS,
};
pub use outbox_totals::OutboxTotals;
pub use record::{
    chain_hash, to_ndjson, Actor, AuditDraft, AuditRecord, SealedEvent, GENESIS_HASH,
};
pub use redact::Redactor;
pub use retention::{prune_range, retention_ms, DEFAULT_RETENTION_DAYS};
pub use verify::{
    first_divergence, verify_links, ChainBreak, StoredLink, VerifyAnchor, VerifyReport,
};
pub use wire::{classify_ship_response, ShipAck, ShipError, ShipOutcome, ShipRequest};
