//! Binance stream frames (shapes of the exchange's documented examples) into events, and the
//! plans that open the streams.

use super::*;
use crate::venue::op::{OrderStatus, TriggerState};
use crate::venue::stream::Channel;
use rust_decimal_macros::dec;

fn user() -> Channel {
    Channel::User { listen_key: None }
}

#[test]
fn a_spot_execution_report_is_an_order_update_and_a_fill_with_the_rest_trade_id() {
    let frame = r#"{"subscriptionId":0,"event":{"e":"executionReport","E":1499405658658,"s":"ETHBTC","c":"k1a2b3c4d5e6f708192a3b4c5d6e7f80","S":"BUY","o":"LIMIT","f":"GTC","q":"1.00000000","p":"0.10264410","P":"0.00000000","F":"0.00000000","g":-1,"C":"","x":"TRADE","X":"PARTIALLY_FILLED","r":"NONE","i":4293153,"l":"0.40000000","z":"0.40000000","L":"0.10264410","n":"0.00004000","N":"ETH","T":1499405658657,"t":7155,"I":8641984,"w":false,"m":true,"M":false,"O":1499405658657,"Z":"0.04105764","Y":"0.04105764","Q":"0.00000000","W":1499405658657,"V":"NONE"}}"#;
    let s = BinanceStream {
        market: Market::Spot,
    };
    let ev = s.parse_frame(&user(), frame).unwrap();
    assert_eq!(ev.len(), 2);
    let StreamEvent::Order(o) = &ev[0] else {
        panic!("{ev:?}")
    };
    assert_eq!(
        (o.order_id.as_str(), o.status, o.executed_qty),
        ("4293153", OrderStatus::PartiallyFilled, dec!(0.4))
    );
    assert_eq!(o.cum_quote, Some(dec!(0.04105764)));
    let StreamEvent::Fill(f) = &ev[1] else {
        panic!("{ev:?}")
    };
    assert_eq!(
        (
            f.trade_id.as_str(),
            f.price,
            f.qty,
            f.fee,
            f.fee_asset.as_str()
        ),
        ("7155", dec!(0.10264410), dec!(0.4), dec!(0.00004), "ETH")
    );
    assert!(f.is_maker);
    assert_eq!(
        f.client_order_id.as_ref().map(|c| c.as_str()),
        Some("k1a2b3c4d5e6f708192a3b4c5d6e7f80")
    );
}

#[test]
fn a_cancel_report_names_the_original_client_id_and_carries_no_fill() {
    let frame = r#"{"subscriptionId":0,"event":{"e":"executionReport","E":1,"s":"BTCUSDT","c":"cancelreq1","C":"korig0001","S":"SELL","o":"LIMIT","q":"0.01","p":"70000","x":"CANCELED","X":"CANCELED","i":99,"l":"0","z":"0","L":"0","n":"0","N":null,"T":5,"t":-1,"m":false,"Z":"0"}}"#;
    let ev = BinanceStream {
        market: Market::Spot,
    }
    .parse_frame(&user(), frame)
    .unwrap();
    assert_eq!(ev.len(), 1);
    let StreamEvent::Order(o) = &ev[0] else {
        panic!()
    };
    assert_eq!(
        o.client_order_id.as_ref().map(|c| c.as_str()),
        Some("korig0001")
    );
    assert_eq!(o.status, OrderStatus::Cancelled);
}

#[test]
fn usdm_order_trade_update_algo_update_funding_and_key_expiry() {
    let s = BinanceStream {
        market: Market::Linear,
    };
    let trade = r#"{"e":"ORDER_TRADE_UPDATE","E":1568879465651,"T":1568879465650,"o":{"s":"BTCUSDT","c":"kstop0000001","S":"SELL","o":"MARKET","f":"GTC","q":"0.002","p":"0","ap":"64000.5","sp":"0","x":"TRADE","X":"FILLED","i":8886774,"l":"0.002","z":"0.002","L":"64000.5","N":"USDT","n":"0.0512004","T":1568879465650,"t":123456,"b":"0","a":"0","m":false,"R":true,"wt":"CONTRACT_PRICE","ot":"MARKET","ps":"BOTH","cp":false,"rp":"-3.1","pP":false,"si":0,"ss":0,"V":"NONE","pm":"NONE","gtd":0}}"#;
    let ev = s.parse_frame(&user(), trade).unwrap();
    let StreamEvent::Order(o) = &ev[0] else {
        panic!()
    };
    assert_eq!(
        (o.status, o.cum_quote),
        (OrderStatus::Filled, Some(dec!(128.0010)))
    );
    let StreamEvent::Fill(f) = &ev[1] else {
        panic!()
    };
    assert_eq!((f.trade_id.as_str(), f.fee), ("123456", dec!(0.0512004)));
    let algo = r#"{"e":"ALGO_UPDATE","T":1750515742297,"E":1750515742303,"o":{"caid":"keel-1-sl","aid":2148719,"at":"CONDITIONAL","o":"STOP_MARKET","s":"BTCUSDT","S":"SELL","ps":"BOTH","f":"GTC","q":"0","X":"FINISHED","ai":"8886774","ap":"64000.5","aq":"0.002","act":"0","tp":"64000","p":"0","V":"EXPIRE_MAKER","wt":"CONTRACT_PRICE","pm":"NONE","cp":true,"pP":false,"R":false,"tt":0,"gtd":0}}"#;
    let ev = s.parse_frame(&user(), algo).unwrap();
    let StreamEvent::Trigger(t) = &ev[0] else {
        panic!()
    };
    assert_eq!(
        (
            t.trigger_id.as_str(),
            t.state,
            t.finished,
            t.actual_order_id.as_deref()
        ),
        ("2148719", TriggerState::Fired, true, Some("8886774"))
    );
    let funding = r#"{"e":"ACCOUNT_UPDATE","E":1564745798939,"T":1564745798938,"a":{"m":"FUNDING_FEE","B":[{"a":"USDT","wb":"122624.12345678","cw":"100.12345678","bc":"-0.0123"}]}}"#;
    assert_eq!(
        s.parse_frame(&user(), funding).unwrap(),
        vec![StreamEvent::FundingHint {
            asset: "USDT".into(),
            amount: dec!(-0.0123),
            time_ms: 1564745798938
        }]
    );
    let order_update = r#"{"e":"ACCOUNT_UPDATE","E":1,"T":1,"a":{"m":"ORDER","B":[],"P":[]}}"#;
    assert_eq!(
        s.parse_frame(&user(), order_update).unwrap(),
        vec![StreamEvent::Ignored {
            kind: "ACCOUNT_UPDATE/ORDER".into()
        }]
    );
    let expired = r#"{"e":"listenKeyExpired","E":1576653824250,"listenKey":"WsCMN0a4KHUPTQuX6IUnqEZfB1inxmv1qR4kbf1LuEjur5VdbzqvyxqG9TSjVVxv"}"#;
    assert_eq!(
        s.parse_frame(&user(), expired).unwrap(),
        vec![StreamEvent::Session(SessionSignal::ListenKeyExpired)]
    );
}

#[test]
fn market_frames_prices_and_klines_and_subscribe_answers() {
    let market = Channel::Market {
        symbols: vec![Symbol::new("BTCUSDT").unwrap()],
        kline_interval: Some("1m".into()),
    };
    let s = BinanceStream {
        market: Market::Spot,
    };
    let book = r#"{"stream":"btcusdt@bookTicker","data":{"u":400900217,"s":"BTCUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}}"#;
    let StreamEvent::Price(p) = &s.parse_frame(&market, book).unwrap()[0] else {
        panic!()
    };
    assert_eq!(
        (p.bid, p.ask, p.time_ms),
        (Some(dec!(25.3519)), Some(dec!(25.3652)), 0)
    );
    let kline = r#"{"stream":"btcusdt@kline_1m","data":{"e":"kline","E":1672515782136,"s":"BTCUSDT","k":{"t":1672515780000,"T":1672515839999,"s":"BTCUSDT","i":"1m","f":100,"L":200,"o":"0.0010","c":"0.0020","h":"0.0025","l":"0.0015","v":"1000","n":100,"x":true,"q":"1.0000","V":"500","Q":"0.500","B":"123456"}}}"#;
    let ev = s.parse_frame(&market, kline).unwrap();
    let StreamEvent::Kline {
        interval,
        kline,
        closed,
        ..
    } = &ev[0]
    else {
        panic!()
    };
    assert_eq!(
        (interval.as_str(), kline.close, *closed),
        ("1m", dec!(0.0020), true)
    );
    let fut = BinanceStream {
        market: Market::Linear,
    };
    let mark = r#"{"stream":"btcusdt@markPrice@1s","data":{"e":"markPriceUpdate","E":1562305380000,"s":"BTCUSDT","p":"11794.15000000","ap":"11794.1","P":"11784.62659091","i":"11784.25641265","r":"0.00038167","T":1562306400000}}"#;
    let StreamEvent::Price(p) = &fut.parse_frame(&market, mark).unwrap()[0] else {
        panic!()
    };
    assert_eq!((p.mark, p.time_ms), (Some(dec!(11794.15)), 1562305380000));
    assert_eq!(
        s.parse_frame(&market, r#"{"result":null,"id":1}"#).unwrap(),
        vec![StreamEvent::Session(SessionSignal::Subscribed)]
    );
    let refused = r#"{"id":"keel-uds-1","status":400,"error":{"code":-1022,"msg":"Signature for this request is not valid."}}"#;
    let ev = s.parse_frame(&user(), refused).unwrap();
    assert!(
        matches!(&ev[0], StreamEvent::Session(SessionSignal::Refused { reason }) if reason.contains("-1022"))
    );
}

#[test]
fn plans_sign_the_spot_subscription_and_wait_for_a_listen_key_on_usdm() {
    let creds = Credentials::new(
        "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A",
        "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j",
    );
    let spot = BinanceStream {
        market: Market::Spot,
    }
    .stream_plan(
        &user(),
        "wss://ws-api.binance.com:443/",
        Some(&creds),
        1_747_385_641_636,
    )
    .unwrap();
    assert_eq!(spot.url, "wss://ws-api.binance.com:443/ws-api/v3");
    let frame: Value = serde_json::from_str(&spot.open_frames[0]).unwrap();
    assert_eq!(frame["method"], "userDataStream.subscribe.signature");
    let payload = format!("apiKey={}&timestamp=1747385641636", creds.api_key);
    assert_eq!(
        frame["params"]["signature"],
        hmac_sha256_hex(&creds.api_secret, &payload)
    );
    assert!(BinanceStream {
        market: Market::Spot
    }
    .stream_plan(&user(), "wss://x", None, 1)
    .is_err());
    let fut = BinanceStream {
        market: Market::Linear,
    };
    assert!(
        fut.stream_plan(&user(), "wss://fstream.binance.com", Some(&creds), 1)
            .unwrap()
            .needs_listen_key
    );
    let keyed = fut
        .stream_plan(
            &Channel::User {
                listen_key: Some("abc".into()),
            },
            "ws://127.0.0.1:9000",
            Some(&creds),
            1,
        )
        .unwrap();
    assert_eq!(keyed.url, "ws://127.0.0.1:9000/private/ws?listenKey=abc&events=ORDER_TRADE_UPDATE/ACCOUNT_UPDATE/ALGO_UPDATE");
    assert_eq!(keyed.keepalive_every_ms, 30 * 60_000);
    let market = Channel::Market {
        symbols: vec![Symbol::new("ETHUSDT").unwrap()],
        kline_interval: None,
    };
    let plan = fut
        .stream_plan(&market, "wss://fstream.binance.com", None, 1)
        .unwrap();
    assert_eq!(plan.url, "wss://fstream.binance.com/market/stream");
    assert!(plan.open_frames[0].contains("ethusdt@markPrice@1s"));
}

#[test]
fn garbage_is_a_parse_error_never_a_panic() {
    let s = BinanceStream {
        market: Market::Spot,
    };
    for text in [
        "",
        "{",
        "[]",
        "null",
        r#"{"e":"executionReport"}"#,
        r#"{"event":{"e":"executionReport","s":"BTCUSDT","S":"BUY","i":1,"X":"NEW","x":"TRADE"}}"#,
        "\u{1F600}",
    ] {
        let _ = s.parse_frame(&user(), text);
    }
    assert!(s
        .parse_frame(
            &user(),
            r#"{"e":"executionReport","s":"BTCUSDT","S":"BUY","i":1,"X":"NEW","x":"TRADE"}"#
        )
        .is_err());
}
