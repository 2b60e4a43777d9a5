//! The JSON contract between the bot Durable Object and the neo4j-proxy Worker (service binding),
//! shared by both so they cannot drift.
//!
//! `POST /events` with [`ShipRequest`] → `200` [`ShipAck`] when every event is in Neo4j (new or
//! already there with the same hash); otherwise a [`ShipError`] with `retryable` telling the outbox
//! whether to back off (`503`) or park (`4xx`, `409` for a hash conflict).

use super::outbox::FailureKind;
use super::record::SealedEvent;
use serde::{Deserialize, Serialize};

/// Body of `POST /events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipRequest {
    /// Sealed events, in seq order per bot.
    pub events: Vec<SealedEvent>,
}

/// Success answer of `POST /events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipAck {
    /// Always true.
    pub ok: bool,
    /// Events now present in Neo4j (= events sent).
    pub events: u64,
    /// Highest seq written per bot in this batch, as `[[bot_id, seq], …]`.
    pub last_seq: Vec<(String, u64)>,
    /// Nodes created by this write (0 for a replayed batch).
    pub nodes_created: u64,
    /// Relationships created by this write (0 for a replayed batch).
    pub relationships_created: u64,
}

/// Failure answer of any proxy route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipError {
    /// Always false.
    pub ok: bool,
    /// Whether the caller should retry (transient) or stop (permanent).
    pub retryable: bool,
    /// `neo4j` (Neo4j answered an error), `network` (Neo4j unreachable), `proxy` (bad request,
    /// not configured, conflict).
    pub source: String,
    /// Neo4j status code (`Neo.TransientError.…`) or a proxy code (`hash_conflict`, `bad_event`).
    pub code: String,
    /// Human message.
    pub message: String,
    /// Seqs whose stored hash differs from the one sent (code `hash_conflict`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<u64>,
}

/// What the outbox should do with a proxy answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShipOutcome {
    /// Confirmed up to this seq for the bot: advance the cursor.
    Confirmed {
        /// Last seq confirmed.
        last_seq: u64,
    },
    /// Not confirmed.
    Failed {
        /// Retry class.
        kind: FailureKind,
        /// Message for `/health` and the alert.
        message: String,
    },
}

/// Classifies the proxy's answer to a batch of `bot_id`'s events ending at `batch_last_seq`.
/// A network error (no answer at all) is `FailureKind::Transient` and never reaches here.
pub fn classify_ship_response(
    status: u16,
    body: &str,
    bot_id: &str,
    batch_last_seq: u64,
) -> ShipOutcome {
    if (200..300).contains(&status) {
        return match serde_json::from_str::<ShipAck>(body) {
            Ok(ack) if ack.ok => match ack.last_seq.iter().find(|(b, _)| b == bot_id) {
                Some((_, seq)) if *seq == batch_last_seq => {
                    ShipOutcome::Confirmed { last_seq: *seq }
                }
                other => ShipOutcome::Failed {
                    kind: FailureKind::Transient,
                    message: format!("proxy confirmed {other:?}, batch ends at {batch_last_seq}"),
                },
            },
            _ => ShipOutcome::Failed {
                kind: FailureKind::Transient,
                message: format!("unreadable proxy answer ({status}): {}", excerpt(body)),
            },
        };
    }
    let kind_by_status = if status >= 500 || status == 429 || status == 408 {
        FailureKind::Transient
    } else {
        FailureKind::Permanent
    };
    match serde_json::from_str::<ShipError>(body) {
        Ok(err) => ShipOutcome::Failed {
            kind: if err.retryable {
                FailureKind::Transient
            } else {
                FailureKind::Permanent
            },
            message: format!("{} {}: {}", err.source, err.code, err.message),
        },
        Err(_) => ShipOutcome::Failed {
            kind: kind_by_status,
            message: format!("proxy answered {status}: {}", excerpt(body)),
        },
    }
}

fn excerpt(body: &str) -> String {
    body.chars().take(200).collect()
}
