//! The outbox shipping policy, as pure functions the Durable Object's alarm calls.
//!
//! Events wait in the DO's SQLite outbox (written with the state change they describe) until the
//! neo4j-proxy confirms them. The alarm picks a batch ([`select_batch`]), posts it, classifies the
//! answer ([`super::wire::classify_ship_response`]) and then either advances the shipped cursor
//! ([`OutboxState::on_success`], only for a confirmed batch) or backs off
//! ([`OutboxState::on_failure`], exponential with full jitter, randomness passed in). A permanent
//! failure never drops events: the outbox parks (alerting) and retries slowly, so a fixed proxy
//! drains it. Nothing is ever skipped, so Neo4j receives every seq in order.

use serde::{Deserialize, Serialize};

/// Limits and timings of shipping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxPolicy {
    /// Most events per batch.
    pub max_events: usize,
    /// Most wire bytes per batch (a single larger event still ships alone).
    pub max_bytes: usize,
    /// Backoff ceiling after the first failure (doubles per failure).
    pub base_delay_ms: u64,
    /// Upper bound of the backoff ceiling.
    pub max_delay_ms: u64,
    /// Floor under the jittered delay, so full jitter never hot-loops.
    pub min_delay_ms: u64,
    /// Retry interval while parked on a permanent failure.
    pub parked_retry_ms: u64,
    /// Depth above which the outbox reports `lagging`.
    pub lag_events: u64,
    /// Age of the oldest unshipped event above which the outbox reports `lagging`.
    pub lag_ms: i64,
}

impl Default for OutboxPolicy {
    fn default() -> Self {
        Self {
            max_events: 500,
            max_bytes: 1_000_000,
            base_delay_ms: 1_000,
            max_delay_ms: 300_000,
            min_delay_ms: 250,
            parked_retry_ms: 900_000,
            lag_events: 1_000,
            lag_ms: 300_000,
        }
    }
}

/// Why the outbox cannot proceed (these are bugs or corruption, never Neo4j outages).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboxError {
    /// Pending rows do not start right after the cursor or skip a seq.
    #[error("outbox rows are not contiguous: expected seq {expected}, found {found}")]
    NotContiguous {
        /// Seq expected.
        expected: u64,
        /// Seq found.
        found: u64,
    },
    /// The proxy confirmed a range other than the batch sent.
    #[error("proxy confirmed up to seq {confirmed} but the batch ended at {batch_last}")]
    ConfirmMismatch {
        /// Last seq of the batch.
        batch_last: u64,
        /// Last seq the proxy confirmed.
        confirmed: u64,
    },
}

/// The batch chosen for one shipping attempt: seqs `first_seq..=last_seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchPlan {
    /// First seq (cursor + 1).
    pub first_seq: u64,
    /// Last seq.
    pub last_seq: u64,
    /// Number of events.
    pub count: usize,
    /// Wire bytes.
    pub bytes: usize,
}

/// Picks the next batch from pending `(seq, wire_bytes)` rows in seq order (read with
/// `seq > shipped_seq ORDER BY seq LIMIT max_events`). `None` when nothing is pending.
///
/// # Errors
/// [`OutboxError::NotContiguous`] when the rows skip a seq or do not start at `shipped_seq + 1`.
pub fn select_batch(
    shipped_seq: u64,
    pending: &[(u64, usize)],
    policy: &OutboxPolicy,
) -> Result<Option<BatchPlan>, OutboxError> {
    let mut plan: Option<BatchPlan> = None;
    for &(seq, bytes) in pending {
        let expected = plan.map_or(shipped_seq.saturating_add(1), |p| {
            p.last_seq.saturating_add(1)
        });
        if seq != expected {
            return Err(OutboxError::NotContiguous {
                expected,
                found: seq,
            });
        }
        match plan.as_mut() {
            None => {
                plan = Some(BatchPlan {
                    first_seq: seq,
                    last_seq: seq,
                    count: 1,
                    bytes,
                })
            }
            Some(p) => {
                if p.count >= policy.max_events || p.bytes + bytes > policy.max_bytes {
                    break;
                }
                p.last_seq = seq;
                p.count += 1;
                p.bytes += bytes;
            }
        }
    }
    Ok(plan)
}

/// Failure classes of a shipping attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// Network, 5xx, Neo4j transient error, timeout: retry with backoff.
    Transient,
    /// The proxy or Neo4j refused the batch as invalid (ClientError, conflict): park and alert.
    Permanent,
}

/// The DO's persisted shipping state.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OutboxState {
    /// Highest seq confirmed by the proxy (0 = none).
    pub shipped_seq: u64,
    /// Consecutive failed attempts.
    pub failures: u32,
    /// Earliest time of the next attempt (ms, UTC); 0 = now.
    pub next_attempt_ms: i64,
    /// Stopped on a permanent failure (retries every `parked_retry_ms`, alerting).
    pub parked: bool,
    /// Last failure message, for `/health`.
    pub last_error: Option<String>,
}

impl OutboxState {
    /// Whether an attempt may run at `now_ms`.
    pub fn due(&self, now_ms: i64) -> bool {
        now_ms >= self.next_attempt_ms
    }

    /// Records a confirmed batch: the only way the cursor moves.
    ///
    /// # Errors
    /// [`OutboxError::ConfirmMismatch`] when the confirmation does not cover exactly the batch;
    /// [`OutboxError::NotContiguous`] when the batch does not follow the cursor.
    pub fn on_success(
        &mut self,
        batch: &BatchPlan,
        confirmed_last_seq: u64,
    ) -> Result<(), OutboxError> {
        if batch.first_seq != self.shipped_seq.saturating_add(1) {
            return Err(OutboxError::NotContiguous {
                expected: self.shipped_seq.saturating_add(1),
                found: batch.first_seq,
            });
        }
        if confirmed_last_seq != batch.last_seq {
            return Err(OutboxError::ConfirmMismatch {
                batch_last: batch.last_seq,
                confirmed: confirmed_last_seq,
            });
        }
        self.shipped_seq = batch.last_seq;
        self.failures = 0;
        self.next_attempt_ms = 0;
        self.parked = false;
        self.last_error = None;
        Ok(())
    }

    /// Records a failed attempt and returns when to try again (ms, UTC). `random` is any
    /// uniformly random `u64` (the DO draws it; tests pass fixed values).
    pub fn on_failure(
        &mut self,
        kind: FailureKind,
        message: &str,
        now_ms: i64,
        random: u64,
        policy: &OutboxPolicy,
    ) -> i64 {
        self.failures = self.failures.saturating_add(1);
        self.last_error = Some(message.chars().take(300).collect());
        let delay = match kind {
            FailureKind::Transient => backoff_delay_ms(self.failures, random, policy),
            FailureKind::Permanent => {
                self.parked = true;
                policy.parked_retry_ms
            }
        };
        self.next_attempt_ms = now_ms.saturating_add(i64::try_from(delay).unwrap_or(i64::MAX));
        self.next_attempt_ms
    }
}

/// Full-jitter exponential backoff: uniform in `[min_delay, min(max_delay, base · 2^(failures-1))]`.
pub fn backoff_delay_ms(failures: u32, random: u64, policy: &OutboxPolicy) -> u64 {
    let exp = failures.saturating_sub(1).min(32);
    let ceiling = policy
        .base_delay_ms
        .saturating_mul(1u64 << exp)
        .min(policy.max_delay_ms);
    let jittered = if ceiling == u64::MAX {
        random
    } else {
        random % (ceiling + 1)
    };
    jittered.max(policy.min_delay_ms.min(ceiling))
}

/// Events written but not yet confirmed.
pub fn outbox_depth(last_seq: u64, shipped_seq: u64) -> u64 {
    last_seq.saturating_sub(shipped_seq)
}

/// Health summary for `/health` and alerts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxHealth {
    /// Unshipped events.
    pub depth: u64,
    /// Age of the oldest unshipped event (ms), 0 when empty.
    pub oldest_age_ms: i64,
    /// Consecutive failures.
    pub failures: u32,
    /// `ok`, `lagging` (depth or age above the policy), `parked` (permanent failure).
    pub status: OutboxStatus,
    /// Last failure message.
    pub last_error: Option<String>,
}

/// Coarse outbox status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxStatus {
    /// Draining normally.
    Ok,
    /// Behind (Neo4j slow or down): alert when it persists.
    Lagging,
    /// Stopped on a permanent failure: alert now.
    Parked,
}

/// Summarises the outbox given the last written seq and the oldest unshipped event's time.
pub fn outbox_health(
    state: &OutboxState,
    last_seq: u64,
    oldest_unshipped_ms: Option<i64>,
    now_ms: i64,
    policy: &OutboxPolicy,
) -> OutboxHealth {
    let depth = outbox_depth(last_seq, state.shipped_seq);
    let oldest_age_ms = if depth == 0 {
        0
    } else {
        oldest_unshipped_ms.map_or(0, |t| now_ms.saturating_sub(t).max(0))
    };
    let status = if state.parked {
        OutboxStatus::Parked
    } else if depth > policy.lag_events || oldest_age_ms > policy.lag_ms {
        OutboxStatus::Lagging
    } else {
        OutboxStatus::Ok
    };
    OutboxHealth {
        depth,
        oldest_age_ms,
        failures: state.failures,
        status,
        last_error: state.last_error.clone(),
    }
}

/// Whether a stored event may be pruned: shipped, and older than the retention age (the caller
/// exports it first). `retention_ms` defaults to 90 days in the bot config.
pub fn prunable(
    seq: u64,
    time_ms: i64,
    state: &OutboxState,
    now_ms: i64,
    retention_ms: i64,
) -> bool {
    seq <= state.shipped_seq && time_ms < now_ms.saturating_sub(retention_ms)
}

/// Default retention of events in DO storage: 90 days.
pub const DEFAULT_RETENTION_MS: i64 = 90 * 24 * 3_600_000;
