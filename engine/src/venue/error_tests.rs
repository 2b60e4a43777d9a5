//! Classification and retry-policy tables.

use super::*;
use crate::model::{OrderQty, OrderRequest, OrderType, Side};
use crate::venue::op::OrderStatus;
use rust_decimal::Decimal;

fn place(reduce_only: bool) -> VenueOp {
    VenueOp::PlaceOrder(OrderRequest {
        client_order_id: ClientOrderId::new("c1").unwrap(),
        symbol: Symbol::new("BTCUSDT").unwrap(),
        side: Side::Buy,
        order_type: OrderType::Market,
        qty: OrderQty::Base(Decimal::ONE),
        price: None,
        time_in_force: None,
        reduce_only,
    })
}

struct Case {
    op: VenueOp,
    err: VenueError,
    retries_done: u32,
    class: ErrorClass,
    decision: RetryDecision,
}

#[test]
fn classes_and_decisions() {
    let resolve = RetryDecision::ResolveByQuery {
        symbol: Symbol::new("BTCUSDT").unwrap(),
        client_order_id: ClientOrderId::new("c1").unwrap(),
    };
    let unavailable = VenueError::Unavailable {
        status: 502,
        msg: String::new(),
    };
    let cases = vec![
        Case {
            op: place(false),
            err: unavailable.clone(),
            retries_done: 0,
            class: ErrorClass::Ambiguous,
            decision: resolve.clone(),
        },
        Case {
            op: place(false),
            err: VenueError::parse("order", "eof"),
            retries_done: 0,
            class: ErrorClass::Ambiguous,
            decision: resolve.clone(),
        },
        Case {
            op: place(false),
            err: VenueError::DuplicateClientOrderId { msg: String::new() },
            retries_done: 0,
            class: ErrorClass::Ambiguous,
            decision: resolve,
        },
        Case {
            op: VenueOp::Balances,
            err: unavailable.clone(),
            retries_done: 0,
            class: ErrorClass::Retryable,
            decision: RetryDecision::RetryAfter { ms: 250 },
        },
        Case {
            op: VenueOp::Balances,
            err: unavailable.clone(),
            retries_done: 1,
            class: ErrorClass::Retryable,
            decision: RetryDecision::RetryAfter { ms: 500 },
        },
        Case {
            op: VenueOp::Balances,
            err: unavailable,
            retries_done: 2,
            class: ErrorClass::Retryable,
            decision: RetryDecision::GiveUp,
        },
        Case {
            op: place(false),
            err: VenueError::Timestamp { code: -1021 },
            retries_done: 0,
            class: ErrorClass::Retryable,
            decision: RetryDecision::ResyncClockThenRetry,
        },
        Case {
            op: place(false),
            err: VenueError::Timestamp { code: 10002 },
            retries_done: 1,
            class: ErrorClass::Retryable,
            decision: RetryDecision::GiveUp,
        },
        Case {
            op: place(true),
            err: VenueError::RateLimited {
                retry_after_ms: 3_000,
            },
            retries_done: 0,
            class: ErrorClass::Retryable,
            decision: RetryDecision::RetryAfter { ms: 3_000 },
        },
        Case {
            op: place(true),
            err: VenueError::Banned { until_ms: 99 },
            retries_done: 0,
            class: ErrorClass::Retryable,
            decision: RetryDecision::WaitUntil { until_ms: 99 },
        },
        Case {
            op: place(false),
            err: VenueError::Auth {
                code: -2015,
                msg: String::new(),
            },
            retries_done: 0,
            class: ErrorClass::Fatal,
            decision: RetryDecision::GiveUp,
        },
        Case {
            op: VenueOp::Balances,
            err: VenueError::parse("account", "eof"),
            retries_done: 0,
            class: ErrorClass::Fatal,
            decision: RetryDecision::GiveUp,
        },
        Case {
            op: place(false),
            err: VenueError::Filter {
                which: "LOT_SIZE".into(),
                msg: String::new(),
            },
            retries_done: 0,
            class: ErrorClass::Rejected,
            decision: RetryDecision::GiveUp,
        },
        Case {
            op: place(false),
            err: VenueError::InsufficientBalance { msg: String::new() },
            retries_done: 0,
            class: ErrorClass::Rejected,
            decision: RetryDecision::GiveUp,
        },
    ];
    for c in cases {
        assert_eq!(c.err.class_for(&c.op), c.class, "{:?}", c.err);
        assert_eq!(
            retry_decision(&c.op, &c.err, c.retries_done),
            c.decision,
            "{:?} after {}",
            c.err,
            c.retries_done
        );
    }
}

#[test]
fn ambiguity_settles_only_after_the_receive_window() {
    let amb = AmbiguousOrder {
        symbol: Symbol::new("BTCUSDT").unwrap(),
        client_order_id: ClientOrderId::new("c1").unwrap(),
        settles_at_server_ms: 10_000,
    };
    let unknown = || {
        Err(VenueError::UnknownOrder {
            msg: "Order does not exist.".into(),
        })
    };
    assert_eq!(
        amb.resolve(unknown(), 9_000),
        Ok(Resolution::QueryAgainAt { server_ms: 10_001 })
    );
    assert_eq!(amb.resolve(unknown(), 10_001), Ok(Resolution::NotPlaced));
    let report = OrderReport {
        order_id: "1".into(),
        client_order_id: Some(ClientOrderId::new("c1").unwrap()),
        symbol: Symbol::new("BTCUSDT").unwrap(),
        side: Some(Side::Buy),
        status: OrderStatus::Filled,
        orig_qty: Decimal::ONE,
        executed_qty: Decimal::ONE,
        cum_quote: None,
        price: Decimal::ZERO,
        fills: vec![],
        updated_ms: 0,
    };
    assert_eq!(
        amb.resolve(Ok(report.clone()), 0),
        Ok(Resolution::Placed(report))
    );
    let still = amb.resolve(
        Err(VenueError::Unavailable {
            status: 503,
            msg: String::new(),
        }),
        20_000,
    );
    assert!(matches!(still, Err(VenueError::Unavailable { .. })));
}
