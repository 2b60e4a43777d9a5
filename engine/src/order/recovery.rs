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

/// What the refresh does with a signal still marked `processing` (its execution claimed the id
/// but never recorded an outcome).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InterruptedSignal {
    /// Leave it: a live execution of this instance owns it, or one of its orders is still open
    /// (the order refresh settles it first, so the outcome states what the exchange did).
    Wait,
    /// The execution died after at least one of its orders filled (fully or in part): the signal
    /// executed, and its outcome lists those orders.
    Executed,
    /// The execution died and none of its orders filled (or it had none): nothing was traded,
    /// and the sender is told so (a resend needs a new signal id).
    NothingFilled,
}

/// Decides the outcome of a signal whose execution is gone. Issue 26: when the instance that
/// executed a signal dies (a crash of the process, a panic that takes the WebAssembly instance
/// down, an eviction), nothing records the signal's outcome: its sender, told `202 accepted`,
/// would read `processing` for ever, and a resend would be refused as "still being executed".
/// `live_here` is true while a live execution of this instance is processing it; `orders` holds
/// each of its orders' status and whether anything of it filled.
pub fn interrupted_signal(live_here: bool, orders: &[(OrderStatus, bool)]) -> InterruptedSignal {
    if live_here || orders.iter().any(|(status, _)| status.is_open()) {
        InterruptedSignal::Wait
    } else if orders.iter().any(|(_, filled)| *filled) {
        InterruptedSignal::Executed
    } else {
        InterruptedSignal::NothingFilled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 26: a signal whose execution died gets an outcome once its orders are settled.
    #[test]
    fn an_interrupted_signal_is_answered_once_its_orders_are_settled() {
        use OrderStatus::*;
        assert_eq!(interrupted_signal(true, &[]), InterruptedSignal::Wait);
        assert_eq!(
            interrupted_signal(true, &[(Filled, true)]),
            InterruptedSignal::Wait
        );
        assert_eq!(
            interrupted_signal(false, &[]),
            InterruptedSignal::NothingFilled
        );
        for open in ALL.into_iter().filter(|s| s.is_open()) {
            assert_eq!(
                interrupted_signal(false, &[(Filled, true), (open, false)]),
                InterruptedSignal::Wait,
                "{open:?}"
            );
        }
        assert_eq!(
            interrupted_signal(false, &[(Filled, true)]),
            InterruptedSignal::Executed
        );
        assert_eq!(
            interrupted_signal(false, &[(Cancelled, true), (Rejected, false)]),
            InterruptedSignal::Executed
        );
        assert_eq!(
            interrupted_signal(false, &[(Rejected, false), (Expired, false)]),
            InterruptedSignal::NothingFilled
        );
    }

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
