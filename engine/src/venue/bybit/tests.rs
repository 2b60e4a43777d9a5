//! Bybit adapter tests: request shapes and signatures, retCode/HTTP mapping, header usage, and
//! parsing of captured-looking responses under `engine/test_data/bybit/`.

use super::query::ExecToken;
use super::*;
use crate::ids::{ClientOrderId, Symbol};
use crate::model::{OrderQty, OrderRequest, OrderType, Side, TimeInForce};
use crate::venue::clock::{ServerClock, DEFAULT_LAG_MS};
use crate::venue::http::{HttpRequest, Method};
use crate::venue::op::{OrderStatus, TradeCursor};
use crate::venue::sign::{hmac_sha256_hex, Credentials};
use crate::venue::testing::{ok_fixture, response};
use rust_decimal_macros::dec;
use serde_json::json;

const KEY: &str = "XXXXXXXXXX";
const SECRET: &str = "test-secret";
const TS: i64 = 1_658_384_314_791;

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

fn build(market: Market, op: &VenueOp) -> Result<HttpRequest, VenueError> {
    let creds = Credentials::new(KEY, SECRET);
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
fn get_is_signed_over_timestamp_key_window_query() {
    let op = VenueOp::QueryOrder {
        symbol: sym("BTCUSDT"),
        client_order_id: cid("abc"),
    };
    let req = build(Market::Linear, &op).unwrap();
    let query = "category=linear&symbol=BTCUSDT&orderLinkId=abc";
    assert_eq!(
        req.url(),
        format!("https://api.bybit.com/v5/order/realtime?{query}")
    );
    assert_eq!(req.header("X-BAPI-API-KEY"), Some(KEY));
    assert_eq!(req.header("X-BAPI-TIMESTAMP"), Some("1658384314791"));
    assert_eq!(req.header("X-BAPI-RECV-WINDOW"), Some("5000"));
    let expected = hmac_sha256_hex(SECRET, &format!("1658384314791XXXXXXXXXX5000{query}"));
    assert_eq!(req.header("X-BAPI-SIGN"), Some(expected.as_str()));
    assert_eq!(req.header("Content-Type"), None);
}

#[test]
fn post_is_signed_over_the_exact_json_body() {
    let op = VenueOp::PlaceOrder(order(
        OrderQty::Base(dec!(0.010)),
        OrderType::Limit,
        Some(dec!(65000.10)),
        Some(TimeInForce::PostOnly),
        true,
    ));
    let req = build(Market::Linear, &op).unwrap();
    assert_eq!(
        (req.method, req.url().as_str()),
        (Method::Post, "https://api.bybit.com/v5/order/create")
    );
    let body: serde_json::Value = serde_json::from_str(&req.body).unwrap();
    assert_eq!(
        body,
        json!({"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.01","price":"65000.1",
               "timeInForce":"PostOnly","reduceOnly":true,"orderLinkId":"keel-1"})
    );
    let expected = hmac_sha256_hex(SECRET, &format!("1658384314791XXXXXXXXXX5000{}", req.body));
    assert_eq!(req.header("X-BAPI-SIGN"), Some(expected.as_str()));
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_eq!(req.signed.map(|s| s.expires_at_ms()), Some(TS + 5000));
}

struct BodyCase {
    market: Market,
    req: OrderRequest,
    expected: serde_json::Value,
}

#[test]
fn spot_market_units_are_explicit() {
    let cases = vec![
        BodyCase {
            market: Market::Spot,
            req: order(
                OrderQty::Quote(dec!(100)),
                OrderType::Market,
                None,
                None,
                false,
            ),
            expected: json!({"category":"spot","symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"100","marketUnit":"quoteCoin","orderLinkId":"keel-1"}),
        },
        BodyCase {
            market: Market::Spot,
            req: order(
                OrderQty::Base(dec!(0.002)),
                OrderType::Market,
                None,
                None,
                false,
            ),
            expected: json!({"category":"spot","symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"0.002","marketUnit":"baseCoin","orderLinkId":"keel-1"}),
        },
        BodyCase {
            market: Market::Spot,
            req: order(
                OrderQty::Base(dec!(1)),
                OrderType::Limit,
                Some(dec!(10)),
                Some(TimeInForce::Ioc),
                false,
            ),
            expected: json!({"category":"spot","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"1","price":"10","timeInForce":"IOC","orderLinkId":"keel-1"}),
        },
        BodyCase {
            market: Market::Linear,
            req: order(
                OrderQty::Base(dec!(1)),
                OrderType::Limit,
                Some(dec!(10)),
                None,
                false,
            ),
            expected: json!({"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"1","price":"10","timeInForce":"GTC","orderLinkId":"keel-1"}),
        },
    ];
    for c in cases {
        let req = build(c.market, &VenueOp::PlaceOrder(c.req)).unwrap();
        let body: serde_json::Value = serde_json::from_str(&req.body).unwrap();
        assert_eq!(body, c.expected);
    }
    let quote_linear = VenueOp::PlaceOrder(order(
        OrderQty::Quote(dec!(1)),
        OrderType::Market,
        None,
        None,
        false,
    ));
    assert!(matches!(
        build(Market::Linear, &quote_linear),
        Err(VenueError::Unsupported { .. })
    ));
    let reduce_spot = VenueOp::PlaceOrder(order(
        OrderQty::Base(dec!(1)),
        OrderType::Market,
        None,
        None,
        true,
    ));
    assert!(matches!(
        build(Market::Spot, &reduce_spot),
        Err(VenueError::Unsupported { .. })
    ));
    assert!(matches!(
        build(
            Market::Spot,
            &VenueOp::Funding {
                symbol: None,
                cursor: TradeCursor::from_time(0)
            }
        ),
        Err(VenueError::Unsupported { .. })
    ));
}

#[test]
fn request_shapes() {
    let cases = vec![
        (Market::Linear, VenueOp::ServerTime, Method::Get, "/v5/market/time"),
        (Market::Spot, VenueOp::InstrumentRules { symbol: None }, Method::Get, "/v5/market/instruments-info?category=spot&limit=1000"),
        (Market::Linear, VenueOp::Ticker { symbol: sym("BTCUSDT") }, Method::Get, "/v5/market/tickers?category=linear&symbol=BTCUSDT"),
        (Market::Linear, VenueOp::CancelOrder { symbol: sym("BTCUSDT"), client_order_id: cid("a") }, Method::Post, "/v5/order/cancel"),
        (Market::Spot, VenueOp::CancelAll { symbol: sym("BTCUSDT") }, Method::Post, "/v5/order/cancel-all"),
        (Market::Linear, VenueOp::OpenOrders { symbol: None }, Method::Get, "/v5/order/realtime?category=linear&settleCoin=USDT&openOnly=0&limit=50"),
        (Market::Spot, VenueOp::Balances, Method::Get, "/v5/account/wallet-balance?accountType=UNIFIED"),
        (Market::Linear, VenueOp::Positions { symbol: Some(sym("BTCUSDT")) }, Method::Get, "/v5/position/list?category=linear&symbol=BTCUSDT&limit=200"),
        (
            Market::Linear,
            VenueOp::Trades { symbol: sym("BTCUSDT"), cursor: TradeCursor::from_time(1_000) },
            Method::Get,
            "/v5/execution/list?category=linear&symbol=BTCUSDT&startTime=1000&endTime=604800999&limit=100",
        ),
        (
            Market::Linear,
            VenueOp::Trades { symbol: sym("BTCUSDT"), cursor: TradeCursor { start_ms: 1_000, token: Some("5000:0:abc%3D".into()) } },
            Method::Get,
            "/v5/execution/list?category=linear&symbol=BTCUSDT&startTime=1000&endTime=5000&limit=100&cursor=abc%3D",
        ),
    ];
    for (market, op, method, path) in cases {
        let req = build(market, &op).unwrap();
        assert_eq!(
            (req.method, req.path_and_query.as_str()),
            (method, path),
            "{op:?}"
        );
        assert_eq!(
            req.header("X-BAPI-SIGN").is_some(),
            op.is_signed(),
            "{op:?}"
        );
    }
}

#[test]
fn error_mapping() {
    let t0 = 1_700_000_000_000;
    let env = |code: i64, msg: &str| {
        format!(
            r#"{{"retCode":{code},"retMsg":"{msg}","result":{{}},"retExtInfo":{{}},"time":1700000000000}}"#
        )
    };
    type Case = (u16, Vec<(&'static str, &'static str)>, String, VenueError);
    let cases: Vec<Case> = vec![
        (
            200,
            vec![],
            env(
                10002,
                "invalid request, please check your server timestamp or recv_window param",
            ),
            VenueError::Timestamp { code: 10002 },
        ),
        (
            200,
            vec![],
            env(10004, "error sign!"),
            VenueError::Auth {
                code: 10004,
                msg: "error sign!".into(),
            },
        ),
        (
            200,
            vec![],
            env(10003, "API key is invalid."),
            VenueError::Auth {
                code: 10003,
                msg: "API key is invalid.".into(),
            },
        ),
        (
            200,
            vec![("X-Bapi-Limit-Reset-Timestamp", "1700000000700")],
            env(10006, "Too many visits!"),
            VenueError::RateLimited {
                retry_after_ms: 700,
            },
        ),
        (
            200,
            vec![],
            env(110001, "order not exists or too late to cancel"),
            VenueError::UnknownOrder {
                msg: "order not exists or too late to cancel".into(),
            },
        ),
        (
            200,
            vec![],
            env(170213, "Order does not exist."),
            VenueError::UnknownOrder {
                msg: "Order does not exist.".into(),
            },
        ),
        (
            200,
            vec![],
            env(110007, "ab not enough for new order"),
            VenueError::InsufficientBalance {
                msg: "ab not enough for new order".into(),
            },
        ),
        (
            200,
            vec![],
            env(170131, "Insufficient balance."),
            VenueError::InsufficientBalance {
                msg: "Insufficient balance.".into(),
            },
        ),
        (
            200,
            vec![],
            env(110072, "OrderLinkedID is duplicate"),
            VenueError::DuplicateClientOrderId {
                msg: "OrderLinkedID is duplicate".into(),
            },
        ),
        (
            200,
            vec![],
            env(170140, "Order value exceeded lower limit."),
            VenueError::Filter {
                which: "MIN_NOTIONAL".into(),
                msg: "Order value exceeded lower limit.".into(),
            },
        ),
        (
            200,
            vec![],
            env(170137, "Order quantity has too many decimals."),
            VenueError::Filter {
                which: "LOT_SIZE".into(),
                msg: "Order quantity has too many decimals.".into(),
            },
        ),
        (
            200,
            vec![],
            env(10016, "Internal server error."),
            VenueError::Unavailable {
                status: 200,
                msg: "Internal server error.".into(),
            },
        ),
        (
            200,
            vec![],
            env(10001, "params error"),
            VenueError::Rejected {
                code: 10001,
                msg: "params error".into(),
            },
        ),
        (
            403,
            vec![],
            "access too frequent".into(),
            VenueError::Banned {
                until_ms: t0 + 600_000,
            },
        ),
        (
            401,
            vec![],
            "".into(),
            VenueError::Auth {
                code: 401,
                msg: String::new(),
            },
        ),
        (
            429,
            vec![],
            "".into(),
            VenueError::RateLimited {
                retry_after_ms: 1_000,
            },
        ),
        (
            503,
            vec![],
            "upstream".into(),
            VenueError::Unavailable {
                status: 503,
                msg: "upstream".into(),
            },
        ),
    ];
    let venue = Bybit::new(Market::Linear, 5000);
    for (status, headers, body, expected) in cases {
        let resp = response(status, &headers, &body);
        assert_eq!(
            venue.parse(&VenueOp::Balances, &resp),
            Err(expected),
            "{body}"
        );
    }
}

#[test]
fn observe_reads_envelope_time_and_limit_headers() {
    let venue = Bybit::new(Market::Linear, 5000);
    let op = VenueOp::PlaceOrder(order(
        OrderQty::Base(dec!(1)),
        OrderType::Market,
        None,
        None,
        false,
    ));
    let resp = response(
        200,
        &[
            ("X-Bapi-Limit-Status", "9"),
            ("X-Bapi-Limit", "10"),
            ("X-Bapi-Limit-Reset-Timestamp", "1700000000900"),
        ],
        &crate::venue::testing::fixture("bybit/order_create.json"),
    );
    let obs = venue.observe(&op, &resp);
    assert_eq!(obs.server_time_ms, Some(1_700_000_000_123));
    let (key, ep) = obs.usage.endpoint.unwrap();
    assert_eq!(
        (key.as_str(), ep.remaining, ep.limit, ep.reset_ms),
        ("/v5/order/create", 9, 10, 1_700_000_000_900)
    );
    let time = venue.observe(&VenueOp::ServerTime, &ok_fixture("bybit/time.json"));
    assert_eq!(time.server_time_ms, Some(1_688_639_403_423));
    assert_eq!(
        venue
            .observe(&op, &response(403, &[], ""))
            .usage
            .banned_until_ms,
        Some(1_700_000_600_000)
    );
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
