//! The order lifecycle as ONE exhaustive table of `(status, event) -> status`.
//!
//! Every pair is listed in [`OrderStatus::transition`]; a pair that cannot happen on a real venue
//! is an [`InvalidTransition`] error, never a silent no-op, so a confused venue report or a bug in
//! a driver surfaces instead of corrupting the bot's view of its orders. In-flight states
//! ([`OrderStatus::Sent`], [`OrderStatus::CancelSent`]) are states of their own because the
//! exchange can answer anything while a request is on the wire.

use serde::{Deserialize, Serialize};

/// Where an order stands, as far as the bot can prove.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Decided and stored, not yet handed to the venue.
    Intent,
    /// Request on the wire; no answer yet.
    Sent,
    /// Acknowledged by the exchange and working (Binance `NEW`, Bybit `New`).
    Accepted,
    /// Some quantity traded, the rest is working.
    PartiallyFilled,
    /// Fully traded. Terminal.
    Filled,
    /// A cancel request is on the wire.
    CancelSent,
    /// Cancelled (by us, or by the venue for an IOC remainder or self-trade prevention). Terminal.
    Cancelled,
    /// Refused by the exchange, or proven never to have reached it. Terminal.
    Rejected,
    /// Expired by the venue (time in force, FOK/IOC without liquidity). Terminal.
    Expired,
    /// The outcome is ambiguous (timeout, 5xx): the order may or may not exist. It must be
    /// resolved by querying its client order id, NEVER by sending it again (docs/design.md invariant 3).
    Unknown,
}

impl OrderStatus {
    /// True when no further exchange report can change the status (fills may still be booked late,
    /// see [`OrderStatus::transition`]).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Filled | Self::Cancelled | Self::Rejected | Self::Expired
        )
    }

    /// True when the order may still trade on the exchange, so it must be polled until final.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            Self::Sent | Self::Accepted | Self::PartiallyFilled | Self::CancelSent | Self::Unknown
        )
    }

    /// The one transition table.
    ///
    /// # Errors
    /// [`InvalidTransition`] for a pair that a real venue cannot produce.
    pub fn transition(self, event: OrderEvent) -> Result<OrderStatus, InvalidTransition> {
        use OrderEvent as E;
        use OrderStatus as S;
        let next = match (self, event) {
            // ---- Intent: decided, stored, not sent.
            (S::Intent, E::Submitted) => S::Sent,
            // Never left the bot (halted before sending): cancelling it is purely local.
            (S::Intent, E::CancelRequested) => S::Cancelled,
            (S::Intent, _) => return Err(InvalidTransition { from: self, event }),

            // ---- Sent: anything can come back.
            (S::Sent, E::Accepted) => S::Accepted,
            (S::Sent, E::Rejected) => S::Rejected,
            // Fill before the ack: Binance FULL responses carry the fills, and a user-stream or
            // polled trade can beat the REST answer to us.
            (S::Sent, E::PartiallyFilled) => S::PartiallyFilled,
            (S::Sent, E::Filled) => S::Filled,
            // Cancel by client order id before the ack arrived (both venues accept it).
            (S::Sent, E::CancelRequested) => S::CancelSent,
            // FOK / IOC with no liquidity: the first answer is already EXPIRED (Binance) or
            // Cancelled (Bybit market IOC remainder).
            (S::Sent, E::Cancelled) => S::Cancelled,
            (S::Sent, E::Expired) => S::Expired,
            // Timeout or 5xx: the order may exist. Resolve by query, never resend.
            (S::Sent, E::TimedOut) => S::Unknown,
            (S::Sent, E::Submitted | E::CancelRejected | E::NotFound) => {
                return Err(InvalidTransition { from: self, event })
            }

            // ---- Accepted (working, nothing traded).
            // A duplicate or stale ack (poll and user stream both report NEW).
            (S::Accepted, E::Accepted) => S::Accepted,
            (S::Accepted, E::PartiallyFilled) => S::PartiallyFilled,
            (S::Accepted, E::Filled) => S::Filled,
            (S::Accepted, E::CancelRequested) => S::CancelSent,
            // Unsolicited cancel: self-trade prevention, venue maintenance, manual cancel.
            (S::Accepted, E::Cancelled) => S::Cancelled,
            (S::Accepted, E::Expired) => S::Expired,
            (
                S::Accepted,
                E::Submitted | E::Rejected | E::CancelRejected | E::TimedOut | E::NotFound,
            ) => return Err(InvalidTransition { from: self, event }),

            // ---- PartiallyFilled.
            // The REST ack can arrive after the first fill report: it does not move us back.
            (S::PartiallyFilled, E::Accepted) => S::PartiallyFilled,
            (S::PartiallyFilled, E::PartiallyFilled) => S::PartiallyFilled,
            (S::PartiallyFilled, E::Filled) => S::Filled,
            (S::PartiallyFilled, E::CancelRequested) => S::CancelSent,
            // IOC remainder cancelled / expired after a partial fill (Binance market IOC ends
            // EXPIRED, Bybit spot ends PartiallyFilledCanceled).
            (S::PartiallyFilled, E::Cancelled) => S::Cancelled,
            (S::PartiallyFilled, E::Expired) => S::Expired,
            (
                S::PartiallyFilled,
                E::Submitted | E::Rejected | E::CancelRejected | E::TimedOut | E::NotFound,
            ) => return Err(InvalidTransition { from: self, event }),

            // ---- CancelSent: the order keeps trading until the cancel reaches the engine.
            // Fill after cancel sent: the trade happened first; the cancel will be refused (fully
            // filled) or will cancel only the remainder.
            (S::CancelSent, E::PartiallyFilled) => S::CancelSent,
            (S::CancelSent, E::Filled) => S::Filled,
            // Late ack of the original order after we already asked to cancel it.
            (S::CancelSent, E::Accepted) => S::CancelSent,
            (S::CancelSent, E::Cancelled) => S::Cancelled,
            (S::CancelSent, E::Expired) => S::Expired,
            // Cancel refused (unknown order / already final): back to working; a fill report or
            // a poll will say what really happened. The order record re-derives
            // PartiallyFilled from its filled quantity.
            (S::CancelSent, E::CancelRejected) => S::Accepted,
            // The original order was rejected after we sent the cancel (both were in flight).
            (S::CancelSent, E::Rejected) => S::Rejected,
            // Cancel timed out: we no longer know whether the order works. Query it.
            (S::CancelSent, E::TimedOut) => S::Unknown,
            // A second cancel while one is in flight is idempotent.
            (S::CancelSent, E::CancelRequested) => S::CancelSent,
            (S::CancelSent, E::Submitted | E::NotFound) => {
                return Err(InvalidTransition { from: self, event })
            }

            // ---- Unknown: only a query by client order id (or a late report) resolves it.
            (S::Unknown, E::Accepted) => S::Accepted,
            (S::Unknown, E::PartiallyFilled) => S::PartiallyFilled,
            (S::Unknown, E::Filled) => S::Filled,
            (S::Unknown, E::Cancelled) => S::Cancelled,
            (S::Unknown, E::Expired) => S::Expired,
            (S::Unknown, E::Rejected) => S::Rejected,
            // The exchange has no order with our client order id, past the venue's visibility
            // delay: it never reached the matching engine. Terminal; a new attempt needs a new
            // leg (a new client order id), decided by the bot, never an automatic resend.
            (S::Unknown, E::NotFound) => S::Rejected,
            // Another timeout while querying changes nothing.
            (S::Unknown, E::TimedOut) => S::Unknown,
            (S::Unknown, E::Submitted | E::CancelRequested | E::CancelRejected) => {
                return Err(InvalidTransition { from: self, event })
            }

            // ---- Filled (terminal).
            // Stale reports from a slower channel (ack, partial report, or a refused cancel whose
            // reason is "already filled") arrive after the fill; trades of the order can still be
            // booked late, the status does not move.
            (S::Filled, E::Accepted | E::PartiallyFilled | E::Filled | E::CancelRejected) => {
                S::Filled
            }
            (
                S::Filled,
                E::Submitted
                | E::Rejected
                | E::CancelRequested
                | E::Cancelled
                | E::Expired
                | E::TimedOut
                | E::NotFound,
            ) => return Err(InvalidTransition { from: self, event }),

            // ---- Cancelled / Expired (terminal).
            // Trades that happened before the cancel can be reported after it (the cancel answer
            // carries executedQty; the trades come from the trade list): booked, status stays.
            (S::Cancelled, E::PartiallyFilled | E::Cancelled | E::Accepted | E::CancelRejected) => {
                S::Cancelled
            }
            (S::Expired, E::PartiallyFilled | E::Expired | E::Accepted) => S::Expired,
            (
                S::Cancelled,
                E::Submitted
                | E::Rejected
                | E::Filled
                | E::CancelRequested
                | E::Expired
                | E::TimedOut
                | E::NotFound,
            )
            | (
                S::Expired,
                E::Submitted
                | E::Rejected
                | E::Filled
                | E::CancelRequested
                | E::CancelRejected
                | E::Cancelled
                | E::TimedOut
                | E::NotFound,
            ) => return Err(InvalidTransition { from: self, event }),

            // ---- Rejected (terminal): a rejected order never traded. A duplicate reject is fine.
            (S::Rejected, E::Rejected | E::NotFound) => S::Rejected,
            (
                S::Rejected,
                E::Submitted
                | E::Accepted
                | E::PartiallyFilled
                | E::Filled
                | E::CancelRequested
                | E::CancelRejected
                | E::Cancelled
                | E::Expired
                | E::TimedOut,
            ) => return Err(InvalidTransition { from: self, event }),
        };
        Ok(next)
    }
}

/// What happened to an order: our own actions and the exchange's reports, already translated
/// from the venue's spelling by the adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderEvent {
    /// We handed the request to the venue (the outbound call is leaving).
    Submitted,
    /// The exchange acknowledged the order as working.
    Accepted,
    /// The exchange refused the order.
    Rejected,
    /// A trade that leaves quantity working.
    PartiallyFilled,
    /// A trade (or a status report) that completes the order.
    Filled,
    /// We sent a cancel.
    CancelRequested,
    /// The exchange refused our cancel.
    CancelRejected,
    /// The exchange reports the order cancelled.
    Cancelled,
    /// The exchange reports the order expired.
    Expired,
    /// Our request got no usable answer (timeout, 5xx): the outcome is unknown.
    TimedOut,
    /// A query by client order id found no such order on the exchange.
    NotFound,
}

/// A `(status, event)` pair that a real venue cannot produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("order status {from:?} cannot take event {event:?}")]
pub struct InvalidTransition {
    /// Status before the event.
    pub from: OrderStatus,
    /// The refused event.
    pub event: OrderEvent,
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrderEvent as E;
    use OrderStatus as S;

    const ALL_STATES: [S; 10] = [
        S::Intent,
        S::Sent,
        S::Accepted,
        S::PartiallyFilled,
        S::Filled,
        S::CancelSent,
        S::Cancelled,
        S::Rejected,
        S::Expired,
        S::Unknown,
    ];
    const ALL_EVENTS: [E; 11] = [
        E::Submitted,
        E::Accepted,
        E::Rejected,
        E::PartiallyFilled,
        E::Filled,
        E::CancelRequested,
        E::CancelRejected,
        E::Cancelled,
        E::Expired,
        E::TimedOut,
        E::NotFound,
    ];

    struct Case {
        from: S,
        event: E,
        expected: Option<S>,
    }

    #[test]
    fn table_cases() {
        let cases = [
            Case {
                from: S::Intent,
                event: E::Submitted,
                expected: Some(S::Sent),
            },
            Case {
                from: S::Intent,
                event: E::Filled,
                expected: None,
            },
            Case {
                from: S::Sent,
                event: E::Filled,
                expected: Some(S::Filled),
            },
            Case {
                from: S::Sent,
                event: E::TimedOut,
                expected: Some(S::Unknown),
            },
            Case {
                from: S::Unknown,
                event: E::Submitted,
                expected: None,
            },
            Case {
                from: S::Unknown,
                event: E::NotFound,
                expected: Some(S::Rejected),
            },
            Case {
                from: S::Unknown,
                event: E::PartiallyFilled,
                expected: Some(S::PartiallyFilled),
            },
            Case {
                from: S::CancelSent,
                event: E::Filled,
                expected: Some(S::Filled),
            },
            Case {
                from: S::CancelSent,
                event: E::PartiallyFilled,
                expected: Some(S::CancelSent),
            },
            Case {
                from: S::CancelSent,
                event: E::CancelRejected,
                expected: Some(S::Accepted),
            },
            Case {
                from: S::PartiallyFilled,
                event: E::Accepted,
                expected: Some(S::PartiallyFilled),
            },
            Case {
                from: S::Cancelled,
                event: E::PartiallyFilled,
                expected: Some(S::Cancelled),
            },
            Case {
                from: S::Cancelled,
                event: E::Filled,
                expected: None,
            },
            Case {
                from: S::Rejected,
                event: E::PartiallyFilled,
                expected: None,
            },
            Case {
                from: S::Filled,
                event: E::Cancelled,
                expected: None,
            },
            Case {
                from: S::Expired,
                event: E::PartiallyFilled,
                expected: Some(S::Expired),
            },
        ];
        for c in cases {
            let got = c.from.transition(c.event).ok();
            assert_eq!(got, c.expected, "{:?} + {:?}", c.from, c.event);
        }
    }

    #[test]
    fn terminal_states_never_reopen_and_never_resend() {
        for s in ALL_STATES {
            for e in ALL_EVENTS {
                if let Ok(next) = s.transition(e) {
                    if s.is_terminal() {
                        assert!(next.is_terminal(), "{s:?} + {e:?} reopened to {next:?}");
                    }
                    if e == E::Submitted {
                        assert_eq!(s, S::Intent, "only an intent may be submitted");
                    }
                } else {
                    let err = s.transition(e).err();
                    assert_eq!(err, Some(InvalidTransition { from: s, event: e }));
                }
            }
        }
    }

    #[test]
    fn open_and_terminal_partition_states() {
        for s in ALL_STATES {
            let classes = [s.is_open(), s.is_terminal(), s == S::Intent];
            assert_eq!(classes.iter().filter(|b| **b).count(), 1, "{s:?}");
        }
    }
}
