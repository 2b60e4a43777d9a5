//! The settlement of a fill-less placement answer, step by step.

use super::*;
use crate::ids::{ClientOrderId, Symbol};
use crate::model::{Fill, OrderQty, OrderType, Side};
use crate::venue::op::{OrderStatus, TradePage};
use rust_decimal_macros::dec;

const PLACED: i64 = 1_700_000_000_000;

fn request() -> OrderRequest {
    OrderRequest {
        client_order_id: ClientOrderId::new("keel-x-1").unwrap(),
        symbol: Symbol::new("BTCUSDT").unwrap(),
        side: Side::Buy,
        order_type: OrderType::Market,
        qty: OrderQty::Base(dec!(2)),
        price: None,
        time_in_force: None,
        reduce_only: false,
    }
}

fn report(status: OrderStatus, executed: Decimal) -> OrderReport {
    OrderReport {
        order_id: "77".into(),
        client_order_id: Some(request().client_order_id),
        symbol: request().symbol,
        side: Some(Side::Buy),
        status,
        orig_qty: dec!(2),
        executed_qty: executed,
        cum_quote: None,
        price: Decimal::ZERO,
        fills: Vec::new(),
        updated_ms: 0,
    }
}

fn fill(trade: &str, order: &str, qty: Decimal) -> Fill {
    Fill {
        trade_id: trade.into(),
        order_id: order.into(),
        client_order_id: None,
        symbol: request().symbol,
        side: Side::Buy,
        price: dec!(65000),
        qty,
        fee: Decimal::ZERO,
        fee_asset: "USDT".into(),
        time_ms: PLACED,
        is_maker: false,
    }
}

fn trades(fills: Vec<Fill>) -> Option<VenueReply> {
    Some(VenueReply::Trades(TradePage {
        fills,
        next: TradeCursor::from_time(PLACED),
        caught_up: true,
    }))
}

#[test]
fn an_answer_with_fills_is_final_as_it_is() {
    let mut r = report(OrderStatus::Filled, dec!(2));
    r.fills.push(fill("1", "77", dec!(2)));
    let mut s = Settlement::new(request(), r.clone(), PLACED);
    assert_eq!(s.poll(), SettleStep::Done(r));
}

#[test]
fn an_acknowledgement_is_queried_until_final_then_this_orders_trades_are_kept() {
    let mut s = Settlement::new(
        request(),
        report(OrderStatus::Acknowledged, Decimal::ZERO),
        PLACED,
    );
    let query = VenueOp::QueryOrder {
        symbol: request().symbol,
        client_order_id: request().client_order_id,
    };
    assert_eq!(s.poll(), SettleStep::Call(query.clone()));
    s.on_result(Some(VenueReply::Order(report(
        OrderStatus::New,
        Decimal::ZERO,
    ))));
    assert_eq!(
        s.poll(),
        SettleStep::Pause {
            ms: SETTLE_PAUSE_MS
        }
    );
    assert_eq!(s.poll(), SettleStep::Call(query));
    s.on_result(Some(VenueReply::Order(report(
        OrderStatus::Filled,
        dec!(2),
    ))));
    assert_eq!(
        s.poll(),
        SettleStep::Call(VenueOp::Trades {
            symbol: request().symbol,
            cursor: TradeCursor::from_time(PLACED - SETTLE_LOOKBACK_MS),
        })
    );
    s.on_result(trades(vec![
        fill("1", "77", dec!(1.5)),
        fill("2", "other", dec!(9)),
    ]));
    assert_eq!(
        s.poll(),
        SettleStep::Pause {
            ms: SETTLE_PAUSE_MS
        }
    );
    assert!(matches!(s.poll(), SettleStep::Call(VenueOp::Trades { .. })));
    s.on_result(trades(vec![
        fill("1", "77", dec!(1.5)),
        fill("2", "other", dec!(9)),
        fill("3", "77", dec!(0.5)),
    ]));
    let SettleStep::Done(done) = s.poll() else {
        panic!("settled")
    };
    assert_eq!(done.status, OrderStatus::Filled);
    assert_eq!(
        done.fills
            .iter()
            .map(|f| f.trade_id.as_str())
            .collect::<Vec<_>>(),
        ["1", "3"]
    );
}

#[test]
fn a_failed_query_settles_with_what_is_known() {
    let ack = report(OrderStatus::Acknowledged, Decimal::ZERO);
    let mut s = Settlement::new(request(), ack.clone(), PLACED);
    assert!(matches!(s.poll(), SettleStep::Call(_)));
    s.on_result(None);
    assert_eq!(
        s.poll(),
        SettleStep::Done(ack),
        "nothing executed: no trade read"
    );
}

#[test]
fn trades_that_never_add_up_are_read_a_bounded_number_of_times() {
    let mut s = Settlement::new(request(), report(OrderStatus::Filled, dec!(2)), PLACED);
    let mut reads = 0;
    loop {
        match s.poll() {
            SettleStep::Call(VenueOp::Trades { .. }) => {
                reads += 1;
                s.on_result(trades(vec![fill("1", "77", dec!(1))]));
            }
            SettleStep::Pause { .. } => {}
            SettleStep::Done(r) => {
                assert!(
                    r.fills.is_empty(),
                    "a partial read is not booked as the whole"
                );
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(reads, SETTLE_QUERIES);
}

#[test]
fn a_poll_without_the_awaited_result_ends_the_stage() {
    let mut s = Settlement::new(request(), report(OrderStatus::New, dec!(1)), PLACED);
    assert!(matches!(
        s.poll(),
        SettleStep::Call(VenueOp::QueryOrder { .. })
    ));
    assert!(matches!(s.poll(), SettleStep::Call(VenueOp::Trades { .. })));
    assert!(matches!(s.poll(), SettleStep::Done(_)));
}
