//! The tick's order poll: unknown orders settled by their client id, lost answers of a crashed
//! instance recovered, resting orders' later fills booked.

use super::super::harness::*;
use super::super::*;
use crate::order::{Order, OrderEvent, OrderStatus};
use crate::signal::Action;
use crate::venue::{OrderStatus as VStatus, VenueError, VenueOp};
use rust_decimal_macros::dec;
use serde_json::json;

fn fail_queries(h: &mut Harness, n: usize) {
    for _ in 0..n {
        h.venue.fail_next(
            "query_order",
            CallFailure::Venue(VenueError::Unavailable {
                status: 503,
                msg: "down".into(),
            }),
        );
    }
}

fn status_of(h: &Harness, coid: &crate::ids::ClientOrderId) -> Option<OrderStatus> {
    h.records().into_iter().rev().find_map(|r| match r {
        Record::Order { order, .. } if &order.request.client_order_id == coid => Some(order.status),
        _ => None,
    })
}

fn unknown_coid(h: &Harness) -> crate::ids::ClientOrderId {
    h.machine
        .book()
        .open_orders()
        .find(|o| o.status == OrderStatus::Unknown)
        .map(|o| o.request.client_order_id.clone())
        .unwrap_or_else(|| panic!("no unknown order"))
}

#[test]
fn an_unknown_order_that_exists_is_settled_by_the_tick() {
    let mut h = Harness::new(json!({}), dec!(65000));
    h.venue.placements.push_back(PlaceScript::LostAck);
    fail_queries(&mut h, 1);
    h.signal("s1", Action::Buy, (None, None));
    let coid = unknown_coid(&h);
    assert_eq!(h.position(), dec!(0));
    h.tick(60_000);
    assert_eq!(status_of(&h, &coid), Some(OrderStatus::Filled));
    assert_eq!(h.position(), dec!(0.00153));
    let places = h
        .sent()
        .iter()
        .filter(|op| op.name() == "place_order")
        .count();
    assert_eq!(places, 1, "never sent again");
}

#[test]
fn an_unknown_order_the_exchange_never_saw_is_rejected_only_past_every_window() {
    let mut h = Harness::new(json!({}), dec!(65000));
    h.venue.placements.push_back(PlaceScript::LostNeverPlaced);
    fail_queries(&mut h, 1);
    h.signal("s1", Action::Buy, (None, None));
    let coid = unknown_coid(&h);
    h.tick(60_000);
    assert_eq!(
        status_of(&h, &coid),
        Some(OrderStatus::Unknown),
        "too young to believe"
    );
    h.tick(120_000);
    assert_eq!(status_of(&h, &coid), Some(OrderStatus::Rejected));
    assert_eq!(h.machine.book().open_orders().count(), 0);
}

#[test]
fn a_sent_order_whose_sender_died_is_resolved_from_its_sent_time() {
    let mut h = Harness::new(json!({}), dec!(65000));
    // The order reached the book; the instance that sent it died before the answer.
    let req = crate::model::OrderRequest {
        client_order_id: crate::ids::ClientOrderId::new("k-crashed")
            .unwrap_or_else(|e| panic!("{e}")),
        symbol: btc(),
        side: crate::model::Side::Buy,
        order_type: crate::model::OrderType::Market,
        qty: crate::model::OrderQty::Base(dec!(0.001)),
        price: None,
        time_in_force: None,
        reduce_only: false,
    };
    let _ = h
        .venue
        .answer(&VenueOp::PlaceOrder(req.clone()), T0 - 30_000);
    let mut order = Order::new(req.clone(), T0 - 30_000);
    order
        .apply_event(OrderEvent::Submitted, T0 - 30_000)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut ledger = h.machine.book().ledger().clone();
    ledger.needs_replay = false;
    h.machine = Machine::new(
        config(json!({})),
        Snapshot {
            ledger,
            flags: Flags::default(),
            open_orders: vec![(order, None)],
            live_exits: Vec::new(),
            traded_symbols: [btc()].into_iter().collect(),
            last_trade_ms: Default::default(),
            trades_today: 1,
            last_reconcile_ms: Some(T0),
        },
        T0,
    );
    h.tick(60_000);
    let statuses: Vec<OrderStatus> = h
        .records()
        .into_iter()
        .filter_map(|r| match r {
            Record::Order { order, .. } => Some(order.status),
            _ => None,
        })
        .collect();
    assert_eq!(statuses, [OrderStatus::Unknown, OrderStatus::Filled]);
    // Marked unknown as of its sent time (the not-found window counts from then).
    let first = h.records().into_iter().find_map(|r| match r {
        Record::Order { order, .. } => Some(order.updated_ms),
        _ => None,
    });
    assert_eq!(first, Some(T0 - 30_000));
    assert_eq!(h.position(), dec!(0.001));
}

#[test]
fn a_resting_order_filled_later_is_booked_by_the_tick() {
    let mut h = Harness::new(json!({}), dec!(65000));
    h.venue
        .placements
        .push_back(PlaceScript::Partial(dec!(0.001)));
    let out = h.signal("s1", Action::Buy, (None, None));
    let SignalOutcome::Executed { orders, .. } = out else {
        panic!("{out:?}")
    };
    let coid = orders[0].order.request.client_order_id.clone();
    assert_eq!(h.position(), dec!(0.001));
    // The rest trades on the exchange.
    let clock = h.clock;
    let rest = {
        let o = h
            .venue
            .orders
            .get(&coid)
            .unwrap_or_else(|| panic!("no order"))
            .clone();
        let mut f = o.fills[0].clone();
        f.trade_id = "t-rest".into();
        f.qty = dec!(0.00053);
        f.time_ms = clock + 1_000;
        f
    };
    if let Some(o) = h.venue.orders.get_mut(&coid) {
        o.fills.push(rest);
        o.report.status = VStatus::Filled;
        o.report.executed_qty = dec!(0.00153);
    }
    h.tick(60_000);
    assert_eq!(status_of(&h, &coid), Some(OrderStatus::Filled));
    assert_eq!(h.position(), dec!(0.00153));
}
