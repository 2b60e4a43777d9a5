//! Bybit TP/SL on create: the exact JSON body of a protected entry, and the cases refused before
//! sending (spot market orders, reduce-only orders, empty protection).

use super::*;
use crate::ids::{ClientOrderId, Symbol};
use crate::model::{OrderQty, OrderRequest, OrderType, Side};
use crate::venue::clock::{ServerClock, DEFAULT_LAG_MS};
use crate::venue::http::HttpRequest;
use crate::venue::op::Protection;
use crate::venue::sign::{hmac_sha256_hex, Credentials};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::json;

const TS: i64 = 1_658_384_314_791;

fn entry(order_type: OrderType, price: Option<Decimal>, reduce_only: bool) -> OrderRequest {
    OrderRequest {
        client_order_id: ClientOrderId::new("keel-1").unwrap(),
        symbol: Symbol::new("BTCUSDT").unwrap(),
        side: Side::Buy,
        order_type,
        qty: OrderQty::Base(dec!(0.010)),
        price,
        time_in_force: None,
        reduce_only,
    }
}

fn protected(order: OrderRequest, sl: Option<Decimal>, tp: Option<Decimal>) -> VenueOp {
    VenueOp::PlaceProtectedOrder {
        order,
        protection: Protection {
            stop_loss: sl,
            take_profit: tp,
        },
    }
}

fn build(market: Market, op: &VenueOp) -> Result<HttpRequest, VenueError> {
    let creds = Credentials::new("KEY", "SECRET");
    let clock = ServerClock::new();
    let ctx = BuildCtx {
        creds: Some(&creds),
        clock: &clock,
        now_ms: TS + DEFAULT_LAG_MS,
        base_url: "https://api.bybit.com",
    };
    match Bybit::new(market, 5000).build(op, &ctx)? {
        Planned::Http(req) => Ok(req),
        Planned::Immediate(r) => panic!("unexpected immediate {r:?}"),
    }
}

#[test]
fn protected_entry_bodies_carry_tp_sl_as_strings() {
    let cases = vec![
        (
            Market::Linear,
            protected(
                entry(OrderType::Market, None, false),
                Some(dec!(60000.50)),
                Some(dec!(70000)),
            ),
            json!({"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"0.01",
                   "orderLinkId":"keel-1","takeProfit":"70000","stopLoss":"60000.5","tpslMode":"Full",
                   "tpTriggerBy":"MarkPrice","slTriggerBy":"MarkPrice"}),
        ),
        (
            Market::Linear,
            protected(
                entry(OrderType::Market, None, false),
                Some(dec!(60000)),
                None,
            ),
            json!({"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"0.01",
                   "orderLinkId":"keel-1","stopLoss":"60000","tpslMode":"Full","slTriggerBy":"MarkPrice"}),
        ),
        (
            Market::Spot,
            protected(
                entry(OrderType::Limit, Some(dec!(65000)), false),
                Some(dec!(60000)),
                Some(dec!(70000)),
            ),
            json!({"category":"spot","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.01",
                   "price":"65000","timeInForce":"GTC","orderLinkId":"keel-1","takeProfit":"70000",
                   "stopLoss":"60000"}),
        ),
    ];
    for (market, op, expected) in cases {
        let req = build(market, &op).unwrap();
        assert_eq!(req.url(), "https://api.bybit.com/v5/order/create");
        let body: serde_json::Value = serde_json::from_str(&req.body).unwrap();
        assert_eq!(body, expected, "{market:?}");
        let sign = hmac_sha256_hex("SECRET", &format!("{TS}KEY5000{}", req.body));
        assert_eq!(req.header("X-BAPI-SIGN"), Some(sign.as_str()));
    }
}

#[test]
fn protection_that_cannot_be_sent_is_refused_before_sending() {
    let cases = vec![
        (
            Market::Spot,
            protected(entry(OrderType::Market, None, false), Some(dec!(1)), None),
        ),
        (
            Market::Linear,
            protected(entry(OrderType::Market, None, true), Some(dec!(1)), None),
        ),
        (
            Market::Linear,
            protected(entry(OrderType::Market, None, false), None, None),
        ),
    ];
    for (market, op) in cases {
        let err = build(market, &op).unwrap_err();
        assert!(
            matches!(
                err,
                VenueError::Unsupported {
                    op: "place_protected_order",
                    ..
                }
            ),
            "{err:?}"
        );
    }
}

#[test]
fn protected_entry_is_an_entry_mutation_costing_one_order() {
    let op = protected(entry(OrderType::Market, None, false), Some(dec!(1)), None);
    assert!(op.is_mutation() && op.is_entry());
    assert_eq!(op.name(), "place_protected_order");
    let cost = Bybit::new(Market::Linear, 5000).cost(&op);
    assert_eq!((cost.orders, cost.exit), (1, false));
}

#[test]
fn triggers_round_to_tick_without_loosening() {
    let p = Protection {
        stop_loss: Some(dec!(60000.07)),
        take_profit: Some(dec!(70000.07)),
    };
    let cases = [
        (Side::Buy, dec!(60000.1), dec!(70000.0)),
        (Side::Sell, dec!(60000.0), dec!(70000.1)),
    ];
    for (side, sl, tp) in cases {
        let r = p.on_tick(dec!(0.1), side);
        assert_eq!(
            (r.stop_loss, r.take_profit),
            (Some(sl), Some(tp)),
            "{side:?}"
        );
    }
}
