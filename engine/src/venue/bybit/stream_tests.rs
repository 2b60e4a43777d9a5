//! Bybit stream frames (shapes of the exchange's documented examples) into events, and plans.

use super::*;
use crate::ids::Symbol;
use crate::venue::op::OrderStatus;
use rust_decimal_macros::dec;

fn user() -> Channel {
    Channel::User { listen_key: None }
}

#[test]
fn order_and_execution_topics_read_like_the_rest_rows() {
    let s = BybitStream {
        market: Market::Linear,
    };
    let order = r#"{"id":"5923240c6880ab-c59f-420b-9adb-3639adc9dd90","topic":"order","creationTime":1672364262474,"data":[{"symbol":"ETHUSDT","orderId":"5cf98598-39a7-459e-97bf-76ca765ee020","side":"Sell","orderType":"Market","cancelType":"UNKNOWN","price":"72.5","qty":"1","orderIv":"","timeInForce":"IOC","orderStatus":"Filled","orderLinkId":"kabc0001","lastPriceOnCreated":"","reduceOnly":false,"leavesQty":"","leavesValue":"","cumExecQty":"1","cumExecValue":"75","avgPrice":"75","blockTradeId":"","positionIdx":0,"cumExecFee":"0.045","createdTime":"1672364262444","updatedTime":"1672364262457","rejectReason":"EC_NoError","stopOrderType":"","tpslMode":"","triggerPrice":"","takeProfit":"","stopLoss":"","tpTriggerBy":"","slTriggerBy":"","tpLimitPrice":"","slLimitPrice":"","triggerDirection":0,"triggerBy":"","closeOnTrigger":false,"category":"linear","placeType":"","smpType":"None","smpGroup":0,"smpOrderId":"","feeCurrency":""}]}"#;
    let ev = s.parse_frame(&user(), order).unwrap();
    let StreamEvent::Order(o) = &ev[0] else {
        panic!("{ev:?}")
    };
    assert_eq!(
        (o.status, o.executed_qty, o.cum_quote, o.updated_ms),
        (OrderStatus::Filled, dec!(1), Some(dec!(75)), 1672364262457)
    );
    let exec = r#"{"id":"592324803b2785-26fa-4214-9963-bdd4727f07be","topic":"execution","creationTime":1672364174455,"data":[{"category":"linear","symbol":"XRPUSDT","execFee":"0.005061","execId":"7e2ae69c-4edf-5800-a352-893d52b446aa","execPrice":"0.3374","execQty":"25","execType":"Trade","execValue":"8.435","isMaker":false,"feeRate":"0.0006","tradeIv":"","markIv":"","blockTradeId":"","markPrice":"0.3391","indexPrice":"","underlyingPrice":"","leavesQty":"0","orderId":"f6e324ff-99c2-4e89-9739-3086e47f9381","orderLinkId":"kxrp0001","orderPrice":"0.3207","orderQty":"25","orderType":"Market","stopOrderType":"UNKNOWN","side":"Sell","execTime":"1672364174443","isLeverage":"0","closedSize":"","seq":4688002127,"feeCurrency":"USDT"},{"category":"linear","symbol":"XRPUSDT","execFee":"0.0012","execId":"fund-1","execPrice":"0.3391","execQty":"25","execType":"Funding","side":"Sell","orderId":"","orderLinkId":"","execTime":"1672364174500","feeCurrency":"USDT","isMaker":false}]}"#;
    let ev = s.parse_frame(&user(), exec).unwrap();
    let StreamEvent::Fill(f) = &ev[0] else {
        panic!("{ev:?}")
    };
    assert_eq!(
        (
            f.trade_id.as_str(),
            f.price,
            f.qty,
            f.fee,
            f.fee_asset.as_str(),
            f.time_ms
        ),
        (
            "7e2ae69c-4edf-5800-a352-893d52b446aa",
            dec!(0.3374),
            dec!(25),
            dec!(0.005061),
            "USDT",
            1672364174443
        )
    );
    assert_eq!(
        ev[1],
        StreamEvent::FundingHint {
            asset: "USDT".into(),
            amount: dec!(-0.0012),
            time_ms: 1672364174500
        }
    );
    let fast = r#"{"topic":"execution.fast","creationTime":1,"data":[{"category":"linear","symbol":"XRPUSDT","execId":"x","execPrice":"1","execQty":"1","orderId":"o","isMaker":false,"orderLinkId":"","side":"Buy","execTime":"1","seq":1}]}"#;
    assert_eq!(
        s.parse_frame(&user(), fast).unwrap(),
        vec![StreamEvent::Ignored {
            kind: "execution.fast".into()
        }]
    );
}

#[test]
fn session_answers_auth_subscribe_pong_and_refusals() {
    let s = BybitStream {
        market: Market::Spot,
    };
    let cases = [
        (
            r#"{"success":true,"ret_msg":"","op":"auth","conn_id":"cejreaspqfh3sjdnldmg-p"}"#,
            SessionSignal::Authenticated,
        ),
        (
            r#"{"success":true,"ret_msg":"","op":"subscribe","conn_id":"cejreassvfrsfvb9v1a0-2m"}"#,
            SessionSignal::Subscribed,
        ),
        (
            r#"{"req_id":"test","op":"pong","args":["1675418560633"],"conn_id":"cfcb820co8k6sgld6mf0-c6"}"#,
            SessionSignal::Pong,
        ),
        (
            r#"{"success":true,"ret_msg":"pong","conn_id":"0970e817-426e-429a-a679-ff7f55e0b16a","op":"ping"}"#,
            SessionSignal::Pong,
        ),
        (
            r#"{"success":false,"ret_msg":"Params Error","op":"auth","conn_id":"x"}"#,
            SessionSignal::Refused {
                reason: "auth: Params Error".into(),
            },
        ),
    ];
    for (frame, want) in cases {
        assert_eq!(
            s.parse_frame(&user(), frame).unwrap(),
            vec![StreamEvent::Session(want)],
            "{frame}"
        );
    }
}

#[test]
fn public_books_tickers_and_klines() {
    let market = Channel::Market {
        symbols: vec![Symbol::new("BTCUSDT").unwrap()],
        kline_interval: Some("1".into()),
    };
    let spot = BybitStream {
        market: Market::Spot,
    };
    let book = r#"{"topic":"orderbook.1.BTCUSDT","type":"snapshot","ts":1672304484978,"data":{"s":"BTCUSDT","b":[["16493.50","0.006"]],"a":[["16611.00","0.029"]],"u":18521288,"seq":7961638724},"cts":1672304484976}"#;
    let StreamEvent::Price(p) = &spot.parse_frame(&market, book).unwrap()[0] else {
        panic!()
    };
    assert_eq!(
        (p.bid, p.ask, p.time_ms),
        (Some(dec!(16493.50)), Some(dec!(16611.00)), 1672304484978)
    );
    let lin = BybitStream {
        market: Market::Linear,
    };
    // A delta without bid/ask: those stay unknown (unchanged), not zero.
    let ticker = r#"{"topic":"tickers.BTCUSDT","type":"delta","data":{"symbol":"BTCUSDT","markPrice":"17217.33","indexPrice":"17227.36"},"cs":24987956059,"ts":1673272861686}"#;
    let StreamEvent::Price(p) = &lin.parse_frame(&market, ticker).unwrap()[0] else {
        panic!()
    };
    assert_eq!((p.bid, p.mark), (None, Some(dec!(17217.33))));
    let kline = r#"{"topic":"kline.1.BTCUSDT","data":[{"start":1672324800000,"end":1672325099999,"interval":"1","open":"16649.5","close":"16677","high":"16677","low":"16608","volume":"2.081","turnover":"34666.4005","confirm":false,"timestamp":1672324988882}],"ts":1672324988882,"type":"snapshot"}"#;
    let ev = lin.parse_frame(&market, kline).unwrap();
    let StreamEvent::Kline {
        symbol,
        interval,
        kline,
        closed,
    } = &ev[0]
    else {
        panic!()
    };
    assert_eq!(
        (symbol.as_str(), interval.as_str(), kline.close, *closed),
        ("BTCUSDT", "1", dec!(16677), false)
    );
}

#[test]
fn plans_sign_auth_and_subscribe_per_category() {
    let creds = Credentials::new("XXXXXXXXXX", "secret");
    let p = BybitStream {
        market: Market::Linear,
    }
    .stream_plan(
        &user(),
        "wss://stream.bybit.com",
        Some(&creds),
        1_662_350_390_000,
    )
    .unwrap();
    assert_eq!(p.url, "wss://stream.bybit.com/v5/private");
    let auth: Value = serde_json::from_str(&p.open_frames[0]).unwrap();
    assert_eq!(auth["args"][1], 1_662_350_400_000_i64);
    assert_eq!(
        auth["args"][2],
        hmac_sha256_hex("secret", "GET/realtime1662350400000")
    );
    assert_eq!(p.ping_every_ms, 20_000);
    let market = Channel::Market {
        symbols: vec![Symbol::new("ETHUSDT").unwrap()],
        kline_interval: None,
    };
    let spot = BybitStream {
        market: Market::Spot,
    }
    .stream_plan(&market, "ws://127.0.0.1:7000/", None, 1)
    .unwrap();
    assert_eq!(spot.url, "ws://127.0.0.1:7000/v5/public/spot");
    assert!(spot.open_frames[0].contains("orderbook.1.ETHUSDT"));
    assert!(BybitStream {
        market: Market::Spot
    }
    .ping_frame(5)
    .unwrap()
    .contains("\"op\":\"ping\""));
}

#[test]
fn garbage_is_a_parse_error_never_a_panic() {
    let s = BybitStream {
        market: Market::Linear,
    };
    for text in [
        "",
        "{",
        "[1]",
        r#"{"topic":"order","data":[{}]}"#,
        r#"{"topic":"kline","data":[{"open":"x"}]}"#,
        r#"{"topic":"tickers.","data":{}}"#,
        "\u{0}\u{FFFF}",
    ] {
        let _ = s.parse_frame(&user(), text);
    }
    assert!(s
        .parse_frame(&user(), r#"{"topic":"order","data":[{}]}"#)
        .is_err());
}
