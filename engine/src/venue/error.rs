//! Typed venue errors, their classification, and the retry policy every caller follows.
//!
//! Each adapter maps its exchange's codes into [`VenueError`] in its own `error` module; from
//! here on nothing depends on an exchange's numbers. The classes decide what may happen next:
//!
//! | class | meaning | caller does |
//! |---|---|---|
//! | `Retryable` | nothing happened; trying later can work | wait, then retry (or resync the clock once) |
//! | `Rejected` | the exchange or a rule said no | record, don't retry |
//! | `Fatal` | configuration is wrong (keys, IP, region) | stop the bot, alert the operator |
//! | `Ambiguous` | an order may or may not exist | query the client order id; never resend blindly |

use crate::ids::{ClientOrderId, Symbol};
use crate::venue::http::SignedWindow;
use crate::venue::op::{OrderReport, VenueOp};
use crate::venue::rules::RulesError;
use serde::{Deserialize, Serialize};

/// Why a venue operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum VenueError {
    /// Key invalid, signature refused, permission or IP allow-list failure.
    #[error("authentication refused (code {code}): {msg}")]
    Auth {
        /// Exchange code.
        code: i64,
        /// Exchange message.
        msg: String,
    },
    /// Timestamp outside recvWindow: resync the clock, then retry once.
    #[error("timestamp outside the receive window (code {code})")]
    Timestamp {
        /// Exchange code.
        code: i64,
    },
    /// An exchange filter refused the order (`which`: PRICE_FILTER, LOT_SIZE, MIN_NOTIONAL, ...).
    #[error("filter {which} refused the order: {msg}")]
    Filter {
        /// Filter name.
        which: String,
        /// Exchange message.
        msg: String,
    },
    /// Not enough balance or margin.
    #[error("insufficient balance: {msg}")]
    InsufficientBalance {
        /// Exchange message.
        msg: String,
    },
    /// Rate limit hit; try again after `retry_after_ms`.
    #[error("rate limited; retry after {retry_after_ms} ms")]
    RateLimited {
        /// Wait before retrying, ms.
        retry_after_ms: i64,
    },
    /// IP or account banned (Binance 418, Bybit 403 "access too frequent") until `until_ms` local time.
    #[error("banned until {until_ms}")]
    Banned {
        /// Local time the ban ends, ms.
        until_ms: i64,
    },
    /// The order is not known to the exchange.
    #[error("unknown order: {msg}")]
    UnknownOrder {
        /// Exchange message.
        msg: String,
    },
    /// 5xx, timeout, or "status unknown": for a mutation the outcome is AMBIGUOUS.
    #[error("exchange unavailable (HTTP {status}): {msg}")]
    Unavailable {
        /// HTTP status (0 when the connection failed).
        status: u16,
        /// Detail.
        msg: String,
    },
    /// The client order id is already used: an earlier attempt probably succeeded.
    #[error("duplicate client order id: {msg}")]
    DuplicateClientOrderId {
        /// Exchange message.
        msg: String,
    },
    /// Forbidden by a firewall or region block (Binance WAF 403, Bybit US IP 403).
    #[error("request blocked (HTTP {status}): {msg}")]
    Blocked {
        /// HTTP status.
        status: u16,
        /// Body excerpt.
        msg: String,
    },
    /// Any other refusal, with the exchange's own code and message.
    #[error("rejected by exchange (code {code}): {msg}")]
    Rejected {
        /// Exchange code.
        code: i64,
        /// Exchange message.
        msg: String,
    },
    /// The request was refused before sending: it breaks the instrument rules.
    #[error("order refused before sending: {0}")]
    Rules(#[from] RulesError),
    /// The request cannot be expressed on this venue (quote-qty on futures, reduce-only on spot).
    #[error("{op} not possible on this venue: {reason}")]
    Unsupported {
        /// Operation name.
        op: &'static str,
        /// Why.
        reason: String,
    },
    /// Credentials were needed and not given.
    #[error("credentials missing for signed operation {op}")]
    MissingCredentials {
        /// Operation name.
        op: &'static str,
    },
    /// The response could not be understood.
    #[error("cannot parse {what}: {detail}")]
    Parse {
        /// What was being parsed (field or document).
        what: String,
        /// Detail.
        detail: String,
    },
}

/// The four outcomes that decide what a caller may do next (module table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// Nothing happened; retry later can work.
    Retryable,
    /// Refused; don't retry.
    Rejected,
    /// Configuration problem; stop and alert.
    Fatal,
    /// An order may exist; resolve by query.
    Ambiguous,
}

impl VenueError {
    /// Shorthand for a parse error naming the field.
    pub fn parse(what: impl Into<String>, detail: impl ToString) -> Self {
        VenueError::Parse {
            what: what.into(),
            detail: detail.to_string(),
        }
    }

    /// Classifies the error for the operation it came from. Unavailability and unparseable
    /// success bodies are ambiguous for mutations and merely retryable for reads.
    pub fn class_for(&self, op: &VenueOp) -> ErrorClass {
        match self {
            VenueError::Timestamp { .. }
            | VenueError::RateLimited { .. }
            | VenueError::Banned { .. } => ErrorClass::Retryable,
            VenueError::Unavailable { .. } | VenueError::Parse { .. } if op.is_mutation() => {
                ErrorClass::Ambiguous
            }
            VenueError::Unavailable { .. } => ErrorClass::Retryable,
            VenueError::DuplicateClientOrderId { .. } => ErrorClass::Ambiguous,
            VenueError::Auth { .. }
            | VenueError::Blocked { .. }
            | VenueError::MissingCredentials { .. }
            | VenueError::Parse { .. } => ErrorClass::Fatal,
            VenueError::Filter { .. }
            | VenueError::InsufficientBalance { .. }
            | VenueError::UnknownOrder { .. }
            | VenueError::Rejected { .. }
            | VenueError::Rules(_)
            | VenueError::Unsupported { .. } => ErrorClass::Rejected,
        }
    }

    /// Whether this failure says something about the exchange's health (feeds the circuit
    /// breaker): unavailability and timeouts do, refusals do not.
    pub fn is_venue_failure(&self) -> bool {
        matches!(self, VenueError::Unavailable { .. })
    }
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "decision")]
pub enum RetryDecision {
    /// Sync the server clock (`VenueOp::ServerTime`), then rebuild and send the same op once.
    ResyncClockThenRetry,
    /// Rebuild and send again after `ms`.
    RetryAfter {
        /// Delay, ms.
        ms: i64,
    },
    /// Do not send anything to this account before `until_ms` (local time).
    WaitUntil {
        /// End of the ban, ms.
        until_ms: i64,
    },
    /// The order may exist: run `VenueOp::QueryOrder` for it (see [`AmbiguousOrder`]).
    ResolveByQuery {
        /// Symbol.
        symbol: Symbol,
        /// The id to look up.
        client_order_id: ClientOrderId,
    },
    /// Stop; report the error.
    GiveUp,
}

/// Attempts allowed for reads that failed on availability before giving up.
pub const MAX_READ_RETRIES: u32 = 2;

/// The retry policy, in one place. `retries_done` counts retries already made for this op.
/// A timestamp error is retried once after a resync; rate limits wait; bans wait out the ban;
/// ambiguous mutations are resolved by query; reads retry twice with backoff; all else gives up.
pub fn retry_decision(op: &VenueOp, err: &VenueError, retries_done: u32) -> RetryDecision {
    match err.class_for(op) {
        ErrorClass::Ambiguous => ambiguous_target(op).map_or(RetryDecision::GiveUp, |(s, c)| {
            RetryDecision::ResolveByQuery {
                symbol: s,
                client_order_id: c,
            }
        }),
        ErrorClass::Retryable => match err {
            VenueError::Timestamp { .. } if retries_done == 0 => {
                RetryDecision::ResyncClockThenRetry
            }
            VenueError::RateLimited { retry_after_ms } if retries_done == 0 => {
                RetryDecision::RetryAfter {
                    ms: *retry_after_ms,
                }
            }
            VenueError::Banned { until_ms } => RetryDecision::WaitUntil {
                until_ms: *until_ms,
            },
            VenueError::Unavailable { .. } if retries_done < MAX_READ_RETRIES => {
                RetryDecision::RetryAfter {
                    ms: 250_i64 << retries_done,
                }
            }
            _ => RetryDecision::GiveUp,
        },
        ErrorClass::Rejected | ErrorClass::Fatal => RetryDecision::GiveUp,
    }
}

fn ambiguous_target(op: &VenueOp) -> Option<(Symbol, ClientOrderId)> {
    match op {
        VenueOp::PlaceOrder(req) | VenueOp::PlaceProtectedOrder { order: req, .. } => {
            Some((req.symbol.clone(), req.client_order_id.clone()))
        }
        VenueOp::CancelOrder {
            symbol,
            client_order_id,
        } => Some((symbol.clone(), client_order_id.clone())),
        _ => None,
    }
}

/// An order whose placement was not confirmed (timeout, 5xx, dropped connection). It is
/// resolved by querying its client order id; an "unknown order" answer is only trusted once the
/// original request's recvWindow has passed in server time, because until then the exchange may
/// still accept the request that is in flight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmbiguousOrder {
    /// Symbol.
    pub symbol: Symbol,
    /// Client order id sent.
    pub client_order_id: ClientOrderId,
    /// Server time after which the original request can no longer be accepted or still be
    /// invisible ([`SignedWindow::expires_at_ms`] plus [`SETTLE_MARGIN_MS`]).
    pub settles_at_server_ms: i64,
}

/// Outcome of one resolution query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "resolution")]
pub enum Resolution {
    /// The order exists: adopt this report.
    Placed(OrderReport),
    /// Settled as never placed: the same client order id may be sent again.
    NotPlaced,
    /// Not found yet and not settled: query again at this server time.
    QueryAgainAt {
        /// Server time, ms.
        server_ms: i64,
    },
}

/// Extra time after a signed request's receive window before "unknown order" is believed:
/// Bybit acknowledges asynchronously, so an accepted order can take a moment to become visible.
pub const SETTLE_MARGIN_MS: i64 = 3_000;

impl AmbiguousOrder {
    /// The ambiguity left by a request sent with `window` (from [`crate::venue::HttpRequest::signed`]).
    pub fn new(symbol: Symbol, client_order_id: ClientOrderId, window: SignedWindow) -> Self {
        Self {
            symbol,
            client_order_id,
            settles_at_server_ms: window.expires_at_ms().saturating_add(SETTLE_MARGIN_MS),
        }
    }

    /// Judges a query result (`Ok(report)` or `Err(UnknownOrder)`) at server time `server_now_ms`.
    ///
    /// # Errors
    /// Any other error is returned unchanged: the ambiguity stays open.
    pub fn resolve(
        &self,
        query: Result<OrderReport, VenueError>,
        server_now_ms: i64,
    ) -> Result<Resolution, VenueError> {
        match query {
            Ok(report) => Ok(Resolution::Placed(report)),
            Err(VenueError::UnknownOrder { .. }) if server_now_ms > self.settles_at_server_ms => {
                Ok(Resolution::NotPlaced)
            }
            Err(VenueError::UnknownOrder { .. }) => Ok(Resolution::QueryAgainAt {
                server_ms: self.settles_at_server_ms.saturating_add(1),
            }),
            Err(other) => Err(other),
        }
    }
}

#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;
