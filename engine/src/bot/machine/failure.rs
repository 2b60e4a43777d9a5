//! Why an operation of the machine did not succeed ([`Failure`]), how it is classified for the
//! order record and the rejection count, and the [`Rejection`] a refused signal answers with.
//!
//! The statuses in [`Failure::rejection`] are the Durable Object's mapping of its `CallError`
//! today (`exchange.rs`, `From<CallError> for ApiError`), carried unchanged so the answers do
//! not move; they belong in the Worker's one HTTP table once the edge↔DO protocol is typed.

use super::input::CallFailure;
use crate::bot::Rejection;
use crate::ids::ClientOrderId;
use crate::venue::VenueError;

/// Why a venue operation failed, after the machine's own resolution of ambiguity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// The exchange (or the rules) said no, or could not be reached.
    #[error(transparent)]
    Venue(#[from] VenueError),
    /// The circuit is open: entries are refused until `retry_at_ms`.
    #[error("exchange circuit open until {retry_at_ms}")]
    CircuitOpen {
        /// When a probe is allowed.
        retry_at_ms: i64,
    },
    /// An order was sent and its outcome is still unknown after querying.
    #[error("order {client_order_id} outcome unknown: {reason}")]
    Unknown {
        /// The order.
        client_order_id: ClientOrderId,
        /// Why it is unknown.
        reason: String,
    },
    /// The driver or the machine could not go on (bad answer, an impossible record change).
    #[error("internal: {0}")]
    Internal(String),
}

impl Failure {
    /// A call failure that is not an unresolved placement (reads, cancels, exits).
    pub fn of_call(f: CallFailure) -> Self {
        match f {
            CallFailure::Venue(v) => Failure::Venue(v),
            CallFailure::Ambiguous { reason, .. } | CallFailure::Unresolved { reason } => {
                Failure::Venue(VenueError::Unavailable {
                    status: 0,
                    msg: reason,
                })
            }
            CallFailure::CircuitOpen { retry_at_ms } => Failure::CircuitOpen { retry_at_ms },
            CallFailure::Internal(m) => Failure::Internal(m),
        }
    }

    /// Whether the order this failure is about may exist (its record goes to `unknown`).
    pub fn is_unknown(&self) -> bool {
        matches!(
            self,
            Failure::Unknown { .. } | Failure::Venue(VenueError::Unavailable { .. })
        )
    }

    /// Whether the exchange refused the order (counts towards the rejection auto-pause).
    pub fn is_exchange_rejection(&self) -> bool {
        matches!(self, Failure::Venue(_)) && !self.is_unknown()
    }

    /// Whether the exchange refused the credentials (alerted once elsewhere, not per order).
    pub fn is_credentials(&self) -> bool {
        matches!(self, Failure::Venue(VenueError::Auth { .. }))
    }

    /// The refusal a signal answers with for this failure (see the module note on statuses).
    pub fn rejection(&self) -> Rejection {
        let message = self.to_string();
        match self {
            Failure::CircuitOpen { .. } => Rejection::new(503, "circuit_open", message),
            Failure::Venue(
                VenueError::Unavailable { .. }
                | VenueError::Banned { .. }
                | VenueError::RateLimited { .. },
            ) => Rejection::new(503, "exchange_unavailable", message),
            Failure::Venue(v) => Rejection::new(422, "exchange_rejected", v.to_string()),
            Failure::Unknown { .. } => Rejection::new(503, "order_outcome_unknown", message),
            Failure::Internal(m) => Rejection::new(500, "internal", m.clone()),
        }
    }
}
