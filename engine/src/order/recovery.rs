//! What the periodic refresh (cron tick, reconciliation) does with one stored order: the rule
//! that resolves an order whose answer was lost, whatever lost it.
//!
//! An order is committed as `sent` before its request leaves, and the same execution that sent
//! it records the answer. When that execution dies (the WebAssembly instance crashed on another
//! request's panic, the runtime evicted the object, a deploy restarted it), nothing will ever
//! record the answer: the order would stay `sent` for ever, its fills booked by reconciliation at
//! best but the order itself never settled. The Durable Object knows which orders its *live*
//! executions are sending; any `sent` order outside that set lost its answer and is resolved like
//! a timed-out one, by querying its client order id (never by sending it again).

use super::{OrderEvent, OrderStatus};

/// The refresh's decision for one stored order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshAction {
    /// Leave it: final, never sent, or its own live execution will record the answer.
    Skip,
    /// Query it by client order id and apply what the exchange says.
    Query,
    /// Its answer was lost with the execution that sent it: apply [`OrderEvent::TimedOut`]
    /// (`sent` becomes `unknown`), then query it by client order id.
    LostAnswer,
}

/// Decides what the refresh does with an order in `status`. `in_flight_here` is true when a
/// live execution of this object instance is sending (or cancelling) the order right now.
pub fn refresh_action(status: OrderStatus, in_flight_here: bool) -> RefreshAction {
    if in_flight_here {
        return RefreshAction::Skip;
    }
    match status {
        OrderStatus::Sent => RefreshAction::LostAnswer,
        OrderStatus::Accepted
        | OrderStatus::PartiallyFilled
        | OrderStatus::CancelSent
        | OrderStatus::Unknown => RefreshAction::Query,
        OrderStatus::Intent
        | OrderStatus::Filled
        | OrderStatus::Cancelled
        | OrderStatus::Rejected
        | OrderStatus::Expired => RefreshAction::Skip,
    }
}

/// The event that [`RefreshAction::LostAnswer`] applies before the query.
pub const LOST_ANSWER_EVENT: OrderEvent = OrderEvent::TimedOut;

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [OrderStatus; 10] = [
        OrderStatus::Intent,
        OrderStatus::Sent,
        OrderStatus::Accepted,
        OrderStatus::PartiallyFilled,
        OrderStatus::Filled,
        OrderStatus::CancelSent,
        OrderStatus::Cancelled,
        OrderStatus::Rejected,
        OrderStatus::Expired,
        OrderStatus::Unknown,
    ];

    /// Issue 26: an order left `sent` by a dead execution is resolved on the next refresh.
    #[test]
    fn a_sent_order_nobody_is_answering_for_is_resolved() {
        assert_eq!(
            refresh_action(OrderStatus::Sent, false),
            RefreshAction::LostAnswer
        );
        let next = OrderStatus::Sent.transition(LOST_ANSWER_EVENT).unwrap();
        assert_eq!(next, OrderStatus::Unknown);
        // Once unknown, the ordinary query path owns it.
        assert_eq!(refresh_action(next, false), RefreshAction::Query);
    }

    #[test]
    fn a_live_execution_keeps_its_order() {
        for s in ALL {
            assert_eq!(refresh_action(s, true), RefreshAction::Skip, "{s:?}");
        }
    }

    /// Every status the state machine calls open is refreshed; nothing final is queried.
    #[test]
    fn open_means_refreshed() {
        for s in ALL {
            let action = refresh_action(s, false);
            assert_eq!(action != RefreshAction::Skip, s.is_open(), "{s:?}");
        }
    }
}
