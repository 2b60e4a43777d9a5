//! How the one failure type of a venue call ([`CallFailure`], the exchange-call machine's) is
//! classified for the order record and the rejection count, and the [`Rejection`] a refused
//! signal answers with.
//!
//! The statuses in [`CallFailure::rejection`] are the ones the Durable Object has always
//! answered (its `From<CallFailure> for ApiError` uses this mapping), so the answers do not
//! move; they belong in the Worker's one HTTP table once the edge↔DO protocol is typed.

use crate::bot::Rejection;
use crate::venue::{CallFailure, VenueError};

impl CallFailure {
    /// The failure of a call that places nothing (reads, cancels, exits): an unknown outcome
    /// there only means the exchange could not answer.
    pub fn of_call(self) -> Self {
        match self {
            CallFailure::Unknown { reason, .. } => CallFailure::Venue(VenueError::Unavailable {
                status: 0,
                msg: reason,
            }),
            other => other,
        }
    }

    /// Whether the order this failure is about may exist (its record goes to `unknown`).
    pub fn is_unknown(&self) -> bool {
        matches!(
            self,
            CallFailure::Unknown { .. } | CallFailure::Venue(VenueError::Unavailable { .. })
        )
    }

    /// Whether the exchange refused the order (counts towards the rejection auto-pause).
    pub fn is_exchange_rejection(&self) -> bool {
        matches!(self, CallFailure::Venue(_)) && !self.is_unknown()
    }

    /// Whether the exchange refused the credentials (alerted once elsewhere, not per order).
    pub fn is_credentials(&self) -> bool {
        matches!(self, CallFailure::Venue(VenueError::Auth { .. }))
    }

    /// The refusal a signal answers with for this failure (see the module note on statuses).
    pub fn rejection(&self) -> Rejection {
        let message = self.to_string();
        match self {
            CallFailure::CircuitOpen { .. } => Rejection::new(503, "circuit_open", message),
            CallFailure::Venue(
                VenueError::Unavailable { .. }
                | VenueError::Banned { .. }
                | VenueError::RateLimited { .. },
            ) => Rejection::new(503, "exchange_unavailable", message),
            CallFailure::Venue(v) => Rejection::new(422, "exchange_rejected", v.to_string()),
            CallFailure::Unknown { .. } => Rejection::new(503, "order_outcome_unknown", message),
            CallFailure::Internal(m) => Rejection::new(500, "internal", m.clone()),
            CallFailure::UnexpectedReply { .. } => Rejection::new(500, "internal", message),
        }
    }
}
