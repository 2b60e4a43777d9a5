//! Binance adapter tests: request shapes and signatures, error mapping, header usage, and parsing
//! of captured-looking responses under `engine/test_data/binance/`.

use super::*;
use crate::ids::{ClientOrderId, Symbol};
use crate::model::{OrderQty, OrderRequest, OrderType, Side, TimeInForce};
use crate::venue::clock::{ServerClock, DEFAULT_LAG_MS};
use crate::venue::http::{HttpRequest, Method};
use crate::venue::limiter::Budget;
use crate::venue::op::{OrderStatus, TradeCursor};
use crate::venue::sign::{hmac_sha256_hex, Credentials};
use crate::venue::testing::{ok_fixture, response};
use rust_decimal_macros::dec;

const KEY: &str = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A";
const SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
const TS: i64 = 1_499_827_319_559;

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
        symbol: sym("LTCBTC"),
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
        base_url: "https://api.binance.com/",
    };
    match Binance::new(market, 5000).build(op, &ctx)? {
        Planned::Http(req) => Ok(req),
        Planned::Immediate(r) => panic!("unexpected immediate {r:?}"),
    }
}

#[test]
fn spot_limit_order_is_signed_over_the_exact_query() {
    let op = VenueOp::PlaceOrder(order(
        OrderQty::Base(dec!(1)),
        OrderType::Limit,
        Some(dec!(0.1)),
        Some(TimeInForce::Gtc),
        false,
    ));
    let req = build(Market::Spot, &op).unwrap();
    let unsigned = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&newClientOrderId=keel-1&newOrderRespType=FULL&recvWindow=5000&timestamp=1499827319559";
    let sig = hmac_sha256_hex(SECRET, unsigned);
    assert_eq!(req.method, Method::Post);
    assert_eq!(
        req.url(),
        format!("https://api.binance.com/api/v3/order?{unsigned}&signature={sig}")
    );
    assert_eq!(req.header("X-MBX-APIKEY"), Some(KEY));
    assert_eq!(req.body, "");
    assert_eq!(req.signed.map(|s| s.expires_at_ms()), Some(TS + 5000));
}

struct ShapeCase {
    market: Market,
    op: VenueOp,
    method: Method,
    starts_with: &'static str,
}

#[test]
fn request_shapes() {
    let cases = vec![
        ShapeCase { market: Market::Spot, op: VenueOp::ServerTime, method: Method::Get, starts_with: "/api/v3/time" },
        ShapeCase { market: Market::Linear, op: VenueOp::ServerTime, method: Method::Get, starts_with: "/fapi/v1/time" },
        ShapeCase {
            market: Market::Spot,
            op: VenueOp::PlaceOrder(order(OrderQty::Quote(dec!(100)), OrderType::Market, None, None, false)),
            method: Method::Post,
            starts_with: "/api/v3/order?symbol=LTCBTC&side=BUY&type=MARKET&quoteOrderQty=100&newClientOrderId=keel-1",
        },
        ShapeCase {
            market: Market::Spot,
            op: VenueOp::PlaceOrder(order(OrderQty::Base(dec!(2)), OrderType::Limit, Some(dec!(0.5)), Some(TimeInForce::PostOnly), false)),
            method: Method::Post,
            starts_with: "/api/v3/order?symbol=LTCBTC&side=BUY&type=LIMIT_MAKER&quantity=2&price=0.5&",
        },
        ShapeCase {
            market: Market::Linear,
            op: VenueOp::PlaceOrder(order(OrderQty::Base(dec!(0.010)), OrderType::Market, None, None, true)),
            method: Method::Post,
            starts_with: "/fapi/v1/order?symbol=LTCBTC&side=BUY&type=MARKET&quantity=0.01&reduceOnly=true&newClientOrderId=keel-1&newOrderRespType=RESULT",
        },
        ShapeCase {
            market: Market::Linear,
            op: VenueOp::PlaceOrder(order(OrderQty::Base(dec!(1)), OrderType::Limit, Some(dec!(3)), Some(TimeInForce::Fok), false)),
            method: Method::Post,
            starts_with: "/fapi/v1/order?symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=FOK&quantity=1&price=3&",
        },
        ShapeCase {
            market: Market::Spot,
            op: VenueOp::CancelOrder { symbol: sym("BTCUSDT"), client_order_id: cid("abc") },
            method: Method::Delete,
            starts_with: "/api/v3/order?symbol=BTCUSDT&origClientOrderId=abc&recvWindow=5000&timestamp=",
        },
        ShapeCase { market: Market::Spot, op: VenueOp::CancelAll { symbol: sym("BTCUSDT") }, method: Method::Delete, starts_with: "/api/v3/openOrders?symbol=BTCUSDT&" },
        ShapeCase { market: Market::Linear, op: VenueOp::CancelAll { symbol: sym("BTCUSDT") }, method: Method::Delete, starts_with: "/fapi/v1/allOpenOrders?symbol=BTCUSDT&" },
        ShapeCase {
            market: Market::Linear,
            op: VenueOp::QueryOrder { symbol: sym("BTCUSDT"), client_order_id: cid("abc") },
            method: Method::Get,
            starts_with: "/fapi/v1/order?symbol=BTCUSDT&origClientOrderId=abc&",
        },
        ShapeCase { market: Market::Spot, op: VenueOp::Balances, method: Method::Get, starts_with: "/api/v3/account?omitZeroBalances=true&recvWindow=" },
        ShapeCase { market: Market::Linear, op: VenueOp::Balances, method: Method::Get, starts_with: "/fapi/v2/balance?recvWindow=" },
        ShapeCase { market: Market::Linear, op: VenueOp::Positions { symbol: None }, method: Method::Get, starts_with: "/fapi/v3/positionRisk?recvWindow=" },
        ShapeCase {
            market: Market::Spot,
            op: VenueOp::Trades { symbol: sym("BTCUSDT"), cursor: TradeCursor::from_time(1_000) },
            method: Method::Get,
            starts_with: "/api/v3/myTrades?symbol=BTCUSDT&startTime=1000&endTime=86400999&limit=1000&",
        },
        ShapeCase {
            market: Market::Linear,
            op: VenueOp::Trades { symbol: sym("BTCUSDT"), cursor: TradeCursor { start_ms: 5, token: Some("58".into()) } },
            method: Method::Get,
            starts_with: "/fapi/v1/userTrades?symbol=BTCUSDT&fromId=58&limit=1000&",
        },
        ShapeCase {
            market: Market::Linear,
            op: VenueOp::Funding { symbol: None, cursor: TradeCursor::from_time(7) },
            method: Method::Get,
            starts_with: "/fapi/v1/income?incomeType=FUNDING_FEE&startTime=7&limit=1000&",
        },
        ShapeCase { market: Market::Spot, op: VenueOp::InstrumentRules { symbol: Some(sym("BTCUSDT")) }, method: Method::Get, starts_with: "/api/v3/exchangeInfo?symbol=BTCUSDT" },
        ShapeCase { market: Market::Linear, op: VenueOp::Ticker { symbol: sym("BTCUSDT") }, method: Method::Get, starts_with: "/fapi/v1/premiumIndex?symbol=BTCUSDT" },
    ];
    for c in cases {
        let req = build(c.market, &c.op).unwrap();
        assert_eq!(req.method, c.method, "{:?}", c.op);
        assert!(
            req.path_and_query.starts_with(c.starts_with),
            "{} does not start with {}",
            req.path_and_query,
            c.starts_with
        );
        assert_eq!(req.signed.is_some(), c.op.is_signed(), "{:?}", c.op);
        assert_eq!(req.path_and_query.contains("&signature="), c.op.is_signed());
    }
}

#[test]
fn impossible_orders_are_refused_before_sending() {
    let quote_on_futures = VenueOp::PlaceOrder(order(
        OrderQty::Quote(dec!(10)),
        OrderType::Market,
        None,
        None,
        false,
    ));
    assert!(matches!(
        build(Market::Linear, &quote_on_futures),
        Err(VenueError::Unsupported { .. })
    ));
    let reduce_on_spot = VenueOp::PlaceOrder(order(
        OrderQty::Base(dec!(1)),
        OrderType::Market,
        None,
        None,
        true,
    ));
    assert!(matches!(
        build(Market::Spot, &reduce_on_spot),
        Err(VenueError::Unsupported { .. })
    ));
    assert!(matches!(
        build(Market::Spot, &VenueOp::Positions { symbol: None }),
        Err(VenueError::Unsupported { .. })
    ));
    let clock = ServerClock::new();
    let ctx = BuildCtx {
        creds: None,
        clock: &clock,
        now_ms: 0,
        base_url: "https://api.binance.com",
    };
    assert!(matches!(
        Binance::new(Market::Spot, 5000).build(&VenueOp::Balances, &ctx),
        Err(VenueError::MissingCredentials { .. })
    ));
    assert!(Binance::new(Market::Spot, 5000)
        .build(&VenueOp::ServerTime, &ctx)
        .is_ok());
}

struct ErrCase {
    status: u16,
    headers: Vec<(&'static str, &'static str)>,
    body: &'static str,
    expected: VenueError,
}

#[test]
fn error_mapping() {
    let t0 = 1_700_000_000_000;
    let cases = vec![
        ErrCase { status: 400, headers: vec![], body: r#"{"code":-1021,"msg":"Timestamp for this request is outside of the recvWindow."}"#, expected: VenueError::Timestamp { code: -1021 } },
        ErrCase { status: 400, headers: vec![], body: r#"{"code":-1022,"msg":"Signature for this request is not valid."}"#, expected: VenueError::Auth { code: -1022, msg: "Signature for this request is not valid.".into() } },
        ErrCase { status: 401, headers: vec![], body: r#"{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}"#, expected: VenueError::Auth { code: -2015, msg: "Invalid API-key, IP, or permissions for action.".into() } },
        ErrCase { status: 400, headers: vec![], body: r#"{"code":-1013,"msg":"Filter failure: NOTIONAL"}"#, expected: VenueError::Filter { which: "NOTIONAL".into(), msg: "Filter failure: NOTIONAL".into() } },
        ErrCase { status: 400, headers: vec![], body: r#"{"code":-4164,"msg":"Order's notional must be no smaller than 100 (unless you choose reduce only)."}"#, expected: VenueError::Filter { which: "MIN_NOTIONAL".into(), msg: "Order's notional must be no smaller than 100 (unless you choose reduce only).".into() } },
        ErrCase { status: 400, headers: vec![], body: r#"{"code":-2010,"msg":"Account has insufficient balance for requested action."}"#, expected: VenueError::InsufficientBalance { msg: "Account has insufficient balance for requested action.".into() } },
        ErrCase { status: 400, headers: vec![], body: r#"{"code":-2010,"msg":"Duplicate order sent."}"#, expected: VenueError::DuplicateClientOrderId { msg: "Duplicate order sent.".into() } },
        ErrCase { status: 400, headers: vec![], body: r#"{"code":-2010,"msg":"Market is closed."}"#, expected: VenueError::Rejected { code: -2010, msg: "Market is closed.".into() } },
        ErrCase { status: 400, headers: vec![], body: r#"{"code":-2019,"msg":"Margin is insufficient."}"#, expected: VenueError::InsufficientBalance { msg: "Margin is insufficient.".into() } },
        ErrCase { status: 400, headers: vec![], body: r#"{"code":-2013,"msg":"Order does not exist."}"#, expected: VenueError::UnknownOrder { msg: "Order does not exist.".into() } },
        ErrCase { status: 400, headers: vec![], body: r#"{"code":-2011,"msg":"Unknown order sent."}"#, expected: VenueError::UnknownOrder { msg: "Unknown order sent.".into() } },
        ErrCase { status: 400, headers: vec![], body: r#"{"code":-1121,"msg":"Invalid symbol."}"#, expected: VenueError::Rejected { code: -1121, msg: "Invalid symbol.".into() } },
        ErrCase { status: 408, headers: vec![], body: r#"{"code":-1007,"msg":"Timeout waiting for response from backend server. Send status unknown; execution status unknown."}"#, expected: VenueError::Unavailable { status: 408, msg: "Timeout waiting for response from backend server. Send status unknown; execution status unknown.".into() } },
        ErrCase { status: 429, headers: vec![("Retry-After", "7")], body: r#"{"code":-1003,"msg":"Too much request weight used."}"#, expected: VenueError::RateLimited { retry_after_ms: 7_000 } },
        ErrCase { status: 418, headers: vec![("retry-after", "120")], body: r#"{"code":-1003,"msg":"Way too much request weight used; IP banned until 1700000120000."}"#, expected: VenueError::Banned { until_ms: t0 + 120_000 } },
        ErrCase { status: 403, headers: vec![], body: "<html>WAF</html>", expected: VenueError::Blocked { status: 403, msg: "<html>WAF</html>".into() } },
        ErrCase { status: 502, headers: vec![], body: "Bad Gateway", expected: VenueError::Unavailable { status: 502, msg: "Bad Gateway".into() } },
    ];
    let venue = Binance::new(Market::Spot, 5000);
    let op = VenueOp::ServerTime;
    for c in cases {
        let resp = response(c.status, &c.headers, c.body);
        assert_eq!(venue.parse(&op, &resp), Err(c.expected), "{}", c.body);
    }
}

#[test]
fn usage_headers_and_bans() {
    let venue = Binance::new(Market::Linear, 5000);
    let resp = response(
        200,
        &[
            ("x-mbx-used-weight-1m", "1187"),
            ("X-MBX-ORDER-COUNT-10S", "3"),
            ("X-MBX-ORDER-COUNT-1M", "12"),
        ],
        r#"{"serverTime":1700000000050}"#,
    );
    let obs = venue.observe(&VenueOp::ServerTime, &resp);
    assert_eq!(obs.server_time_ms, Some(1_700_000_000_050));
    assert_eq!(
        obs.usage.used,
        vec![
            (Budget::Weight, 60_000, 1187),
            (Budget::Orders, 10_000, 3),
            (Budget::Orders, 60_000, 12)
        ]
    );
    let banned = response(
        418,
        &[("Retry-After", "300")],
        r#"{"code":-1003,"msg":"banned"}"#,
    );
    assert_eq!(
        venue
            .observe(&VenueOp::Balances, &banned)
            .usage
            .banned_until_ms,
        Some(1_700_000_300_000)
    );
    let limited = response(
        429,
        &[("Retry-After", "2")],
        r#"{"code":-1003,"msg":"slow down"}"#,
    );
    assert_eq!(
        venue
            .observe(&VenueOp::Balances, &limited)
            .usage
            .retry_at_ms,
        Some(1_700_000_002_000)
    );
}

#[test]
fn parses_spot_full_order_with_fills() {
    let venue = Binance::new(Market::Spot, 5000);
    let op = VenueOp::PlaceOrder(order(
        OrderQty::Base(dec!(0.002)),
        OrderType::Market,
        None,
        None,
        false,
    ));
    let Ok(VenueReply::Order(o)) = venue.parse(&op, &ok_fixture("binance/spot_order_full.json"))
    else {
        panic!("order")
    };
    assert_eq!(o.status, OrderStatus::Filled);
    assert_eq!(o.client_order_id, Some(cid("keel-btc-trend-s1-0")));
    assert_eq!(
        (o.executed_qty, o.cum_quote),
        (dec!(0.002), Some(dec!(130.01)))
    );
    assert_eq!(o.fills.len(), 2);
    assert_eq!(
        (
            o.fills[1].trade_id.as_str(),
            o.fills[1].price,
            o.fills[1].fee,
            o.fills[1].fee_asset.as_str()
        ),
        ("57", dec!(65010), dec!(0.000001), "BTC")
    );
    assert_eq!(o.fills[0].time_ms, 1_700_000_000_123);
}

#[test]
fn parses_futures_order_and_spot_cancels() {
    let fut = Binance::new(Market::Linear, 5000);
    let op = VenueOp::QueryOrder {
        symbol: sym("BTCUSDT"),
        client_order_id: cid("keel-eth-s9-1"),
    };
    let Ok(VenueReply::Order(o)) = fut.parse(&op, &ok_fixture("binance/futures_order_result.json"))
    else {
        panic!("order")
    };
    assert_eq!(
        (o.status, o.side, o.price, o.orig_qty),
        (OrderStatus::New, Some(Side::Sell), dec!(64000), dec!(0.01))
    );
    let spot = Binance::new(Market::Spot, 5000);
    let cancel = VenueOp::CancelOrder {
        symbol: sym("BTCUSDT"),
        client_order_id: cid("keel-btc-trend-s2-0"),
    };
    let Ok(VenueReply::Order(c)) =
        spot.parse(&cancel, &ok_fixture("binance/spot_cancel_order.json"))
    else {
        panic!("cancel")
    };
    assert_eq!(
        c.client_order_id,
        Some(cid("keel-btc-trend-s2-0")),
        "the cancelled order's id, not the cancel's"
    );
    assert_eq!(
        (c.status, c.executed_qty),
        (OrderStatus::Cancelled, dec!(0.0005))
    );
    let all = VenueOp::CancelAll {
        symbol: sym("BTCUSDT"),
    };
    let Ok(VenueReply::Orders(list)) =
        spot.parse(&all, &ok_fixture("binance/spot_cancel_all.json"))
    else {
        panic!("all")
    };
    assert_eq!(list.len(), 1, "order-list entries are skipped");
    let none = response(400, &[], r#"{"code":-2011,"msg":"Unknown order sent."}"#);
    assert_eq!(spot.parse(&all, &none), Ok(VenueReply::Orders(vec![])));
    assert_eq!(
        fut.parse(
            &all,
            &response(
                200,
                &[],
                r#"{"code":200,"msg":"The operation of cancel all open order is done."}"#
            )
        ),
        Ok(VenueReply::Orders(vec![]))
    );
}

#[test]
fn parses_trades_with_cursor() {
    let spot = Binance::new(Market::Spot, 5000);
    let op = VenueOp::Trades {
        symbol: sym("BTCUSDT"),
        cursor: TradeCursor::from_time(1_699_999_000_000),
    };
    let Ok(VenueReply::Trades(page)) = spot.parse(&op, &ok_fixture("binance/spot_my_trades.json"))
    else {
        panic!("trades")
    };
    let ids: Vec<&str> = page.fills.iter().map(|f| f.trade_id.as_str()).collect();
    assert_eq!(ids, ["56", "57", "60"]);
    assert_eq!(
        (
            page.fills[2].side,
            page.fills[2].is_maker,
            page.fills[2].fee_asset.as_str()
        ),
        (Side::Sell, true, "BNB")
    );
    assert_eq!(
        page.next,
        TradeCursor {
            start_ms: 1_700_000_100_000,
            token: Some("61".into())
        }
    );
    assert!(page.caught_up);
    let fut = Binance::new(Market::Linear, 5000);
    let Ok(VenueReply::Trades(fp)) =
        fut.parse(&op, &ok_fixture("binance/futures_user_trades.json"))
    else {
        panic!("futures trades")
    };
    assert_eq!(
        (fp.fills[0].side, fp.fills[0].fee, fp.fills[0].qty),
        (Side::Sell, dec!(-0.07819010), dec!(0.002))
    );
    // An empty window in the past moves the cursor past it.
    let old = VenueOp::Trades {
        symbol: sym("BTCUSDT"),
        cursor: TradeCursor::from_time(0),
    };
    let Ok(VenueReply::Trades(empty)) = spot.parse(&old, &response(200, &[], "[]")) else {
        panic!("empty")
    };
    assert_eq!((empty.next.start_ms, empty.caught_up), (86_400_000, false));
}

#[test]
fn parses_account_positions_funding_ticker() {
    let spot = Binance::new(Market::Spot, 5000);
    let fut = Binance::new(Market::Linear, 5000);
    let Ok(VenueReply::Balances(b)) =
        spot.parse(&VenueOp::Balances, &ok_fixture("binance/spot_account.json"))
    else {
        panic!()
    };
    assert_eq!(
        (b[1].asset.as_str(), b[1].free, b[1].locked),
        ("USDT", dec!(870), dec!(130))
    );
    let Ok(VenueReply::Balances(fb)) = fut.parse(
        &VenueOp::Balances,
        &ok_fixture("binance/futures_balance.json"),
    ) else {
        panic!()
    };
    assert_eq!(
        (fb[0].free, fb[0].locked),
        (dec!(23.72469206), dec!(122583.62668697))
    );
    let Ok(VenueReply::Positions(p)) = fut.parse(
        &VenueOp::Positions { symbol: None },
        &ok_fixture("binance/futures_position_risk.json"),
    ) else {
        panic!()
    };
    assert_eq!(p.len(), 2, "flat ETHUSDT dropped");
    assert_eq!(
        (p[1].qty, p[1].entry_price, p[1].unrealized_pnl),
        (dec!(-0.010), dec!(65000.0), dec!(10))
    );
    let op = VenueOp::Funding {
        symbol: None,
        cursor: TradeCursor::from_time(0),
    };
    let Ok(VenueReply::Funding(f)) = fut.parse(&op, &ok_fixture("binance/futures_income.json"))
    else {
        panic!()
    };
    assert_eq!(
        (f.events[0].amount, f.events[1].amount),
        (dec!(0.0025), dec!(-0.01))
    );
    assert_eq!(f.next, TradeCursor::from_time(1_570_636_800_000));
    let tick = VenueOp::Ticker {
        symbol: sym("BTCUSDT"),
    };
    let Ok(VenueReply::Ticker(t)) = fut.parse(&tick, &response(200, &[], r#"{"symbol":"BTCUSDT","markPrice":"11793.63104562","indexPrice":"11781.80495970","estimatedSettlePrice":"11781.16138815","lastFundingRate":"0.00038246","interestRate":"0.00010000","nextFundingTime":1597392000000,"time":1597370495002}"#)) else { panic!() };
    assert_eq!(
        (t.price, t.mark_price),
        (dec!(11793.63104562), Some(dec!(11793.63104562)))
    );
    let Ok(VenueReply::Ticker(s)) = spot.parse(
        &tick,
        &response(200, &[], r#"{"symbol":"BTCUSDT","price":"65000.01"}"#),
    ) else {
        panic!()
    };
    assert_eq!((s.price, s.mark_price), (dec!(65000.01), None));
}

#[test]
fn parses_exchange_info_filters() {
    let spot = Binance::new(Market::Spot, 5000);
    let Ok(VenueReply::Rules(r)) = spot.parse(
        &VenueOp::InstrumentRules { symbol: None },
        &ok_fixture("binance/spot_exchange_info.json"),
    ) else {
        panic!()
    };
    let btc = &r[0];
    assert_eq!(
        (btc.tick_size, btc.step_size, btc.min_qty, btc.max_qty),
        (dec!(0.01), dec!(0.00001), dec!(0.00001), dec!(9000))
    );
    assert_eq!(
        (
            btc.max_market_qty,
            btc.min_notional,
            btc.min_price,
            btc.max_price
        ),
        (dec!(123.456789), dec!(5), dec!(0.01), dec!(1000000))
    );
    let fut = Binance::new(Market::Linear, 5000);
    let op = VenueOp::InstrumentRules {
        symbol: Some(sym("BTCUSDT")),
    };
    let Ok(VenueReply::Rules(f)) =
        fut.parse(&op, &ok_fixture("binance/futures_exchange_info.json"))
    else {
        panic!()
    };
    assert_eq!(f.len(), 1, "filtered to the asked symbol");
    assert_eq!(
        (
            f[0].tick_size,
            f[0].step_size,
            f[0].min_notional,
            f[0].max_market_qty
        ),
        (dec!(0.1), dec!(0.001), dec!(100), dec!(120))
    );
}

#[test]
fn costs_follow_the_documented_weights() {
    let spot = Binance::new(Market::Spot, 5000);
    let fut = Binance::new(Market::Linear, 5000);
    let place = VenueOp::PlaceOrder(order(
        OrderQty::Base(dec!(1)),
        OrderType::Market,
        None,
        None,
        false,
    ));
    assert_eq!(
        (
            spot.cost(&place).weight,
            spot.cost(&place).orders,
            spot.cost(&place).exit
        ),
        (1, 1, false)
    );
    assert_eq!((fut.cost(&place).weight, fut.cost(&place).orders), (0, 1));
    assert_eq!(spot.cost(&VenueOp::OpenOrders { symbol: None }).weight, 80);
    assert!(
        spot.cost(&VenueOp::CancelAll {
            symbol: sym("BTCUSDT")
        })
        .exit
    );
}
