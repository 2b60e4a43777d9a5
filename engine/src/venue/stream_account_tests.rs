//! The account's stream decisions: when it is open, where it connects, who owns an event.

use super::*;
use crate::ids::{ClientOrderId, Symbol};
use crate::model::{OrderQty, OrderRequest, OrderType, Side, TimeInForce};
use crate::venue::binance::stream::BinanceStream;
use crate::venue::stream::{Channel, StreamVenue};
use rust_decimal::Decimal;

fn spec(exchange: Exchange, market: Market) -> VenueSpec {
    VenueSpec {
        exchange,
        market,
        recv_window_ms: 5_000,
    }
}

fn usdm_frames(client: &str, trade: i64) -> Vec<StreamEvent> {
    let text = format!(
        r#"{{"e":"ORDER_TRADE_UPDATE","E":5,"T":5,"o":{{"s":"BTCUSDT","c":"{client}","S":"BUY","o":"LIMIT","q":"0.01","p":"64000","ap":"64000","x":"TRADE","X":"FILLED","i":77,"l":"0.01","z":"0.01","L":"64000","N":"USDT","n":"0.128","T":5,"t":{trade},"m":true}}}}"#
    );
    BinanceStream {
        market: Market::Linear,
    }
    .parse_frame(&Channel::User { listen_key: None }, &text)
    .expect("a documented frame parses")
}

#[test]
fn the_stream_is_wanted_while_a_bot_used_the_account_in_the_last_ten_minutes() {
    assert!(!wanted(None, 1_000));
    assert!(wanted(Some(1_000), 1_000));
    assert!(wanted(Some(1_000), 1_000 + IDLE_AFTER_MS - 1));
    assert!(!wanted(Some(1_000), 1_000 + IDLE_AFTER_MS));
    // A clock that went backwards keeps it open rather than flapping.
    assert!(wanted(Some(5_000), 1_000));
}

#[test]
fn only_binance_usdm_opens_its_user_stream_with_the_key_alone() {
    assert!(opens_with_key_only(&spec(
        Exchange::Binance,
        Market::Linear
    )));
    assert!(!opens_with_key_only(&spec(Exchange::Binance, Market::Spot)));
    assert!(!opens_with_key_only(&spec(Exchange::Bybit, Market::Linear)));
    assert!(!opens_with_key_only(&spec(Exchange::Bybit, Market::Spot)));
}

#[test]
fn the_api_key_is_read_from_the_venues_header_in_any_case_and_never_from_another() {
    let mut req = listen_key_request("https://fapi.binance.com", "K1");
    assert_eq!(api_key_of(Exchange::Binance, &req), Some("K1".into()));
    assert_eq!(api_key_of(Exchange::Bybit, &req), None);
    req.headers = vec![("x-bapi-api-key".into(), "K2".into())];
    assert_eq!(api_key_of(Exchange::Bybit, &req), Some("K2".into()));
    req.headers = vec![("X-BAPI-API-KEY".into(), String::new())];
    assert_eq!(api_key_of(Exchange::Bybit, &req), None);
}

#[test]
fn a_known_exchange_host_streams_from_the_exchanges_stream_host_and_any_other_from_itself() {
    let usdm = spec(Exchange::Binance, Market::Linear);
    assert_eq!(
        stream_base(&usdm, "https://fapi.binance.com", true),
        "wss://fstream.binance.com"
    );
    assert_eq!(
        stream_base(&usdm, "https://testnet.binancefuture.com/", true),
        "wss://fstream.binancefuture.com"
    );
    let spot = spec(Exchange::Binance, Market::Spot);
    assert_eq!(
        stream_base(&spot, "https://api2.binance.com", true),
        "wss://ws-api.binance.com:443"
    );
    assert_eq!(
        stream_base(&spot, "https://api.binance.com", false),
        "wss://stream.binance.com:443"
    );
    let bybit = spec(Exchange::Bybit, Market::Linear);
    assert_eq!(
        stream_base(&bybit, "https://api-testnet.bybit.com", true),
        "wss://stream-testnet.bybit.com"
    );
    // The simulator (or any custom base URL) serves its streams on its own port.
    assert_eq!(
        stream_base(&usdm, "http://127.0.0.1:8788", true),
        "ws://127.0.0.1:8788"
    );
    assert_eq!(
        stream_base(&usdm, "https://sim.example/", true),
        "wss://sim.example"
    );
}

#[test]
fn every_client_order_id_of_a_relayed_call_is_learnt() {
    let place = VenueOp::PlaceOrder(OrderRequest {
        client_order_id: ClientOrderId::new("k-bot1-s1-0").expect("id"),
        symbol: Symbol::new("BTCUSDT").expect("symbol"),
        side: Side::Buy,
        order_type: OrderType::Limit,
        qty: OrderQty::Base(Decimal::ONE),
        price: Some(Decimal::ONE),
        time_in_force: Some(TimeInForce::Gtc),
        reduce_only: false,
    });
    assert_eq!(client_ids(&place), vec!["k-bot1-s1-0".to_string()]);
    let cancel = VenueOp::CancelOrder {
        symbol: Symbol::new("BTCUSDT").expect("symbol"),
        client_order_id: ClientOrderId::new("k-bot1-s2-0").expect("id"),
    };
    assert_eq!(client_ids(&cancel), vec!["k-bot1-s2-0".to_string()]);
    assert!(client_ids(&VenueOp::ServerTime).is_empty());
}

#[test]
fn an_owned_fill_wakes_its_bot_only_and_an_unclaimed_one_wakes_everyone() {
    let owner = |c: &str| (c == "k-mine").then(|| "bot-a".to_string());
    let mine = route(&usdm_frames("k-mine", 9), owner);
    assert_eq!(mine.bots, BTreeSet::from(["bot-a".to_string()]));
    assert!(!mine.everyone);
    // The order update and its trade: two events, one bot.
    assert_eq!(mine.events, 2);
    // A close order sent by a fired exchange-side exit (no id of ours): every bot looks.
    let theirs = route(&usdm_frames("autoclose-123", 10), owner);
    assert!(theirs.bots.is_empty());
    assert!(theirs.everyone);
    // Funding is the account's: everyone runs its walk.
    let funding = BinanceStream {
        market: Market::Linear,
    }
    .parse_frame(
        &Channel::User { listen_key: None },
        r#"{"e":"ACCOUNT_UPDATE","T":1,"a":{"m":"FUNDING_FEE","B":[{"a":"USDT","bc":"-1.5"}]}}"#,
    )
    .expect("parses");
    assert!(route(&funding, owner).everyone);
    // Session signals, prices and ignored frames wake nobody.
    let quiet = BinanceStream {
        market: Market::Linear,
    }
    .parse_frame(
        &Channel::User { listen_key: None },
        r#"{"e":"ACCOUNT_UPDATE","T":1,"a":{"m":"ORDER","B":[]}}"#,
    )
    .expect("parses");
    assert_eq!(route(&quiet, owner), Routing::default());
}

#[test]
fn the_listen_key_request_carries_the_key_header_only_and_its_answer_is_read_strictly() {
    let req = listen_key_request("http://127.0.0.1:9/", "KEY");
    assert_eq!(req.method, Method::Post);
    assert_eq!(req.url(), "http://127.0.0.1:9/fapi/v1/listenKey");
    assert_eq!(req.headers, vec![("X-MBX-APIKEY".into(), "KEY".into())]);
    assert!(req.signed.is_none());
    assert_eq!(
        parse_listen_key(200, r#"{"listenKey":"abc"}"#).ok(),
        Some("abc".into())
    );
    assert!(parse_listen_key(200, r#"{"listenKey":""}"#).is_err());
    assert!(parse_listen_key(400, r#"{"code":-2015,"msg":"Invalid API-key"}"#).is_err());
    assert!(parse_listen_key(200, "<html>").is_err());
    // A huge error body is cut on a character boundary, never mid-character.
    let long = format!("{{\"msg\":\"{}\"}}", "é".repeat(500));
    assert!(parse_listen_key(500, &long).is_err());
}
