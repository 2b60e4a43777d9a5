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

/// A partially filled entry of `s1` at T0 whose rest (`rest_qty` at `rest_price`) trades on the
/// exchange at `at_ms`; returns its client id.
fn rest_trades_later(
    h: &mut Harness,
    rest_price: rust_decimal::Decimal,
    at_ms: i64,
) -> crate::ids::ClientOrderId {
    h.venue
        .placements
        .push_back(PlaceScript::Partial(dec!(0.001)));
    let out = h.signal("s1", Action::Buy, (None, None));
    let SignalOutcome::Executed { orders, .. } = out else {
        panic!("{out:?}")
    };
    let coid = orders[0].order.request.client_order_id.clone();
    let Some(o) = h.venue.orders.get_mut(&coid) else {
        panic!("no order")
    };
    let mut f = o.fills[0].clone();
    f.trade_id = "t-rest".into();
    f.qty = dec!(0.00053);
    f.price = rest_price;
    f.time_ms = at_ms;
    o.fills.push(f);
    o.report.status = VStatus::Filled;
    o.report.executed_qty = dec!(0.00153);
    coid
}

#[test]
fn a_poll_of_yesterdays_order_is_no_trade_of_today_and_restarts_no_cooldown() {
    const DAY: i64 = 86_400_000;
    let mut h = Harness::new(json!({"risk": {"cooldown_secs": 60}}), dec!(65000));
    let coid = rest_trades_later(&mut h, dec!(65000), T0 + DAY);
    let placed = h
        .machine
        .book()
        .open_orders()
        .find(|o| o.request.client_order_id == coid)
        .map(|o| o.created_ms)
        .unwrap_or_else(|| panic!("not working"));
    assert_eq!(h.machine.book().bot_state(h.clock).trades_today, 1);
    // The next day the poll learns of the rest's fill: the order is updated today.
    h.tick(DAY);
    assert_eq!(status_of(&h, &coid), Some(OrderStatus::Filled));
    let state = h.machine.book().bot_state(h.clock);
    assert_eq!(state.trades_today, 0, "placed yesterday");
    assert_eq!(state.last_trade_ms.get(&btc()), Some(&placed));
    // So a signal now is not held back by a cooldown the poll restarted.
    h.venue.placements.push_back(PlaceScript::Fill);
    let out = h.signal("s2", Action::Buy, (None, None));
    assert!(
        matches!(out, SignalOutcome::Executed { .. }),
        "refused: {out:?}"
    );
}

#[test]
fn fills_the_ledger_refuses_end_the_order_and_need_attention_instead_of_a_query_per_tick() {
    let mut h = Harness::new(json!({}), dec!(65000));
    let coid = rest_trades_later(&mut h, dec!(65000), T0 + 1_000);
    // The symbol's rules (read again past the cache's hour) now name another quote asset: the
    // ledger refuses the fill.
    h.venue.rules.quote_asset = "USDC".into();
    h.tick(2 * 3_600_000);
    assert_eq!(status_of(&h, &coid), Some(OrderStatus::Filled));
    let flags = h.machine.book().flags();
    assert!(flags.needs_attention);
    assert!(flags
        .attention_reason
        .as_deref()
        .is_some_and(|r| r.contains(coid.as_str())));
    assert!(h.alerts().iter().any(|a| matches!(a,
        AlertChange::Raise(a) if a.kind == crate::alert::AlertKind::ReconciliationMismatch)));
    assert_eq!(h.position(), dec!(0.001), "the refused fill is not booked");
    // The order is final: the next ticks query it no more.
    let queries = |h: &Harness| {
        h.sent()
            .iter()
            .filter(|op| matches!(op, VenueOp::QueryOrder { client_order_id, .. } if *client_order_id == coid))
            .count()
    };
    let before = queries(&h);
    h.tick(60_000);
    h.tick(60_000);
    assert_eq!(queries(&h), before);
}
