//! Bybit adapter tests: request shapes and signatures, retCode/HTTP mapping, header usage.
//! Parsers are tested in `parse_tests.rs`.

use super::*;
use crate::ids::{ClientOrderId, Symbol};
use crate::model::{OrderQty, OrderRequest, OrderType, Side, TimeInForce};
use crate::venue::clock::{ServerClock, DEFAULT_LAG_MS};
use crate::venue::http::{HttpRequest, Method};
use crate::venue::op::TradeCursor;
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
