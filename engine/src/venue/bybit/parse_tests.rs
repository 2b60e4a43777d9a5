//! Bybit parser tests over captured-looking responses under `engine/test_data/bybit/`.

use super::query::ExecToken;
use super::*;
use crate::ids::{ClientOrderId, Symbol};
use crate::model::{OrderQty, OrderRequest, OrderType, Side, TimeInForce};
use crate::venue::op::{OrderStatus, TradeCursor};
use crate::venue::testing::ok_fixture;
use rust_decimal_macros::dec;

fn sym(s: &str) -> Symbol {
    Symbol::new(s).unwrap()
}

fn cid(s: &str) -> ClientOrderId {
    ClientOrderId::new(s).unwrap()
}

fn order(
    qty: OrderQty,
    order_type: OrderType,
    price: Option<rust_decimal::Decimal>,
    tif: Option<TimeInForce>,
    reduce_only: bool,
) -> OrderRequest {
    OrderRequest {
        client_order_id: cid("keel-1"),
        symbol: sym("BTCUSDT"),
        side: Side::Buy,
        order_type,
        qty,
        price,
        time_in_force: tif,
        reduce_only,
    }
}

#[test]
fn order_lookup_falls_back_to_history() {
    let venue = Bybit::new(Market::Linear, 5000);
    let place = VenueOp::PlaceOrder(OrderRequest {
        client_order_id: cid("keel-sol-s4-0"),
        ..order(
            OrderQty::Base(dec!(1)),
            OrderType::Market,
            None,
            None,
            false,
        )
    });
    let Ok(VenueReply::Order(ack)) = venue.parse(&place, &ok_fixture("bybit/order_create.json"))
    else {
        panic!()
    };
    assert_eq!(
        (ack.status, ack.order_id.as_str()),
        (OrderStatus::Acknowledged, "1321003749386327552")
    );
    let q = VenueOp::QueryOrder {
        symbol: sym("ETHUSDT"),
        client_order_id: cid("keel-sol-s4-0"),
    };
    let Ok(VenueReply::Order(o)) = venue.parse(&q, &ok_fixture("bybit/order_realtime.json")) else {
        panic!()
    };
    assert_eq!(
        (o.status, o.executed_qty, o.cum_quote, o.updated_ms),
        (
            OrderStatus::PartiallyFilled,
            dec!(0.05),
            Some(dec!(80)),
            1_684_738_540_561
        )
    );
    let hist = VenueOp::QueryOrderHistory {
        symbol: sym("ETHUSDT"),
        client_order_id: cid("keel-sol-s4-0"),
    };
    assert_eq!(
        venue.parse(&q, &ok_fixture("bybit/order_empty.json")),
        Ok(VenueReply::FollowUp(Box::new(hist.clone())))
    );
    assert!(matches!(
        venue.parse(&hist, &ok_fixture("bybit/order_empty.json")),
        Err(VenueError::UnknownOrder { .. })
    ));
    let all = VenueOp::CancelAll {
        symbol: sym("BTCUSDT"),
    };
    let Ok(VenueReply::Orders(list)) = venue.parse(&all, &ok_fixture("bybit/cancel_all.json"))
    else {
        panic!()
    };
    assert_eq!(list.len(), 2);
    assert_eq!(
        (
            list[0].client_order_id.clone(),
            list[1].client_order_id.clone()
        ),
        (Some(cid("keel-a-1")), None)
    );
}

#[test]
fn executions_split_into_trades_and_funding() {
    let venue = Bybit::new(Market::Linear, 5000);
    let cursor = TradeCursor::from_time(1_672_200_000_000);
    let op = VenueOp::Trades {
        symbol: sym("ETHUSDT"),
        cursor: cursor.clone(),
    };
    let Ok(VenueReply::Trades(page)) = venue.parse(&op, &ok_fixture("bybit/execution_list.json"))
    else {
        panic!()
    };
    assert_eq!(page.fills.len(), 2, "funding rows are not trades");
    let (first, second) = (&page.fills[0], &page.fills[1]);
    assert_eq!(
        (first.side, first.is_maker, first.fee, first.time_ms),
        (Side::Buy, true, dec!(-0.012), 1_672_270_000_000)
    );
    assert_eq!(
        (
            second.side,
            second.price,
            second.qty,
            second.fee_asset.as_str()
        ),
        (Side::Sell, dec!(1190.15), dec!(0.1), "USDT")
    );
    assert_eq!(second.client_order_id, Some(cid("keel-sol-s4-1")));
    assert!(!page.caught_up);
    let token = ExecToken::decode(page.next.token.as_deref().unwrap()).unwrap();
    assert_eq!(
        (token.end_ms, token.max_seen_ms, token.page.as_str()),
        (
            1_672_200_000_000 + 604_799_999,
            1_672_282_722_429,
            "132766%3A2%2C132766%3A2"
        )
    );
    // Last page of a window that reaches the present: resume at the newest time seen.
    let last = VenueOp::Trades {
        symbol: sym("ETHUSDT"),
        cursor: page.next.clone(),
    };
    let mut resp = ok_fixture("bybit/order_empty.json");
    resp.received_ms = 1_672_300_000_000;
    let Ok(VenueReply::Trades(done)) = venue.parse(&last, &resp) else {
        panic!()
    };
    assert_eq!(
        (done.next.clone(), done.caught_up),
        (TradeCursor::from_time(1_672_282_722_429), true)
    );
    let f = VenueOp::Funding {
        symbol: None,
        cursor,
    };
    let Ok(VenueReply::Funding(fp)) = venue.parse(&f, &ok_fixture("bybit/execution_list.json"))
    else {
        panic!()
    };
    assert_eq!(fp.events.len(), 1);
    assert_eq!(
        (fp.events[0].amount, fp.events[0].asset.as_str()),
        (dec!(-0.0127), "USDT")
    );
}

#[test]
fn account_position_rules_ticker() {
    let lin = Bybit::new(Market::Linear, 5000);
    let spot = Bybit::new(Market::Spot, 5000);
    let Ok(VenueReply::Balances(b)) =
        spot.parse(&VenueOp::Balances, &ok_fixture("bybit/wallet_balance.json"))
    else {
        panic!()
    };
    assert_eq!(
        (b[0].asset.as_str(), b[0].free, b[0].locked),
        ("BTC", dec!(0.209765), dec!(0.01))
    );
    assert_eq!((b[1].free, b[1].locked), (dec!(1000), dec!(0)));
    let Ok(VenueReply::Positions(p)) = lin.parse(
        &VenueOp::Positions { symbol: None },
        &ok_fixture("bybit/position_list.json"),
    ) else {
        panic!()
    };
    assert_eq!(p.len(), 1);
    assert_eq!(
        (p[0].qty, p[0].entry_price, p[0].leverage),
        (dec!(-0.010), dec!(65000), Some(dec!(3)))
    );
    let Ok(VenueReply::Rules(r)) = lin.parse(
        &VenueOp::InstrumentRules {
            symbol: Some(sym("BTCUSDT")),
        },
        &ok_fixture("bybit/instruments_linear.json"),
    ) else {
        panic!()
    };
    assert_eq!(
        (r[0].tick_size, r[0].step_size, r[0].min_qty, r[0].max_qty),
        (dec!(0.1), dec!(0.001), dec!(0.001), dec!(1190))
    );
    assert_eq!(
        (r[0].max_market_qty, r[0].min_notional, r[0].max_price),
        (dec!(500), dec!(5), dec!(1999999.8))
    );
    let Ok(VenueReply::Rules(s)) = spot.parse(
        &VenueOp::InstrumentRules { symbol: None },
        &ok_fixture("bybit/instruments_spot.json"),
    ) else {
        panic!()
    };
    assert_eq!(
        (s[0].step_size, s[0].min_qty, s[0].min_notional),
        (dec!(0.000001), dec!(0.000048), dec!(1))
    );
    assert_eq!(
        (s[0].max_qty, s[0].max_market_qty, s[0].tick_size),
        (dec!(71.73956243), dec!(35.86978121), dec!(0.01))
    );
    let Ok(VenueReply::Ticker(t)) = lin.parse(
        &VenueOp::Ticker {
            symbol: sym("BTCUSDT"),
        },
        &ok_fixture("bybit/tickers_linear.json"),
    ) else {
        panic!()
    };
    assert_eq!((t.price, t.mark_price), (dec!(64995), Some(dec!(64995))));
    let Ok(VenueReply::Ticker(ts)) = spot.parse(
        &VenueOp::Ticker {
            symbol: sym("BTCUSDT"),
        },
        &ok_fixture("bybit/tickers_linear.json"),
    ) else {
        panic!()
    };
    assert_eq!(ts.price, dec!(64990.1), "spot uses the last price");
    assert_eq!(
        lin.parse(&VenueOp::ServerTime, &ok_fixture("bybit/time.json")),
        Ok(VenueReply::ServerTime(1_688_639_403_423))
    );
}
