//! Exchange-side stop-loss / take-profit: Bybit TP/SL on create are validated, stored as
//! untriggered exits, and fire (closing the position) when the price crosses them.
mod common;

use common::*;
use serde_json::{json, Value};

async fn conditionals(a: std::net::SocketAddr) -> Vec<Value> {
    admin(a, "GET", "/__admin/state", Value::Null).await["conditionals"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn bybit_linear_tpsl_rejects_bad_triggers() {
    let a = start().await;
    let cases = [
        // Stop above the base price of a long.
        r#"{"category":"linear","symbol":"ETHUSDT","side":"Buy","orderType":"Market","qty":"1","stopLoss":"3300","tpslMode":"Full"}"#,
        // Target below the base price of a long.
        r#"{"category":"linear","symbol":"ETHUSDT","side":"Buy","orderType":"Market","qty":"1","takeProfit":"3100"}"#,
        // Off the 0.01 tick.
        r#"{"category":"linear","symbol":"ETHUSDT","side":"Buy","orderType":"Market","qty":"1","stopLoss":"3000.005"}"#,
        // Partial mode is not modelled.
        r#"{"category":"linear","symbol":"ETHUSDT","side":"Buy","orderType":"Market","qty":"1","stopLoss":"3000","tpslMode":"Partial"}"#,
    ];
    for body in cases {
        let r = bybit(a, "POST", "/v5/order/create", body).await;
        assert_eq!(r.ret(), 10001, "{body}: {:?}", r.body);
    }
    let spot = bybit(a, "POST", "/v5/order/create", r#"{"category":"spot","symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"100","stopLoss":"1"}"#).await;
    assert_eq!(spot.ret(), 170130, "{:?}", spot.body);
    assert!(conditionals(a).await.is_empty());
    assert!(
        admin(a, "GET", "/__admin/state", Value::Null).await["orders"]
            .as_array()
            .is_none_or(Vec::is_empty)
    );
}

#[tokio::test]
async fn bybit_linear_stop_loss_closes_the_position_when_crossed() {
    let a = start().await;
    let r = bybit(a, "POST", "/v5/order/create", r#"{"category":"linear","symbol":"ETHUSDT","side":"Buy","orderType":"Market","qty":"1","orderLinkId":"e1","stopLoss":"3000","takeProfit":"3500","tpslMode":"Full","slTriggerBy":"MarkPrice","tpTriggerBy":"MarkPrice"}"#).await;
    assert_eq!(r.ret(), 0, "{:?}", r.body);
    let c = conditionals(a).await;
    let kinds: Vec<(&str, &str, &str)> = c
        .iter()
        .map(|x| {
            (
                x["kind"].as_str().unwrap(),
                x["trigger"].as_str().unwrap(),
                x["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("TakeProfit", "3500", "Untriggered"),
            ("StopLoss", "3000", "Untriggered")
        ]
    );
    // Above the stop: nothing fires.
    admin(
        a,
        "POST",
        "/__admin/price",
        json!({"symbol": "ETHUSDT", "price": "3050", "venue": "bybit_linear"}),
    )
    .await;
    assert!(conditionals(a)
        .await
        .iter()
        .all(|x| x["status"] == "Untriggered"));
    admin(
        a,
        "POST",
        "/__admin/price",
        json!({"symbol": "ETHUSDT", "price": "2990", "venue": "bybit_linear"}),
    )
    .await;
    let status: Vec<String> = conditionals(a)
        .await
        .iter()
        .map(|x| x["status"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(status, vec!["Deactivated", "Triggered"]);
    let pos = bybit(
        a,
        "GET",
        "/v5/position/list",
        "category=linear&symbol=ETHUSDT",
    )
    .await;
    let size = pos.body["result"]["list"][0]["size"]
        .as_str()
        .unwrap_or("0");
    assert_eq!(size, "0", "{:?}", pos.body);
    let execs = bybit(
        a,
        "GET",
        "/v5/execution/list",
        "category=linear&symbol=ETHUSDT",
    )
    .await;
    let sides: Vec<&str> = execs.body["result"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["side"].as_str().unwrap())
        .collect();
    assert_eq!(sides.len(), 2, "{:?}", execs.body);
    assert!(sides.contains(&"Sell") && sides.contains(&"Buy"));
    // Back above the target: the deactivated take-profit stays quiet.
    admin(
        a,
        "POST",
        "/__admin/price",
        json!({"symbol": "ETHUSDT", "price": "3600", "venue": "bybit_linear"}),
    )
    .await;
    let pos = bybit(
        a,
        "GET",
        "/v5/position/list",
        "category=linear&symbol=ETHUSDT",
    )
    .await;
    assert_eq!(
        pos.body["result"]["list"][0]["size"]
            .as_str()
            .unwrap_or("0"),
        "0"
    );
}

#[tokio::test]
async fn binance_futures_algo_close_position_triggers() {
    let a = start().await;
    let buy = binance(
        a,
        "POST",
        "/fapi/v1/order",
        "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.01&newClientOrderId=e1",
    )
    .await;
    assert_eq!(buy.status, 200, "{:?}", buy.body);
    let algo = |ty: &str, trig: &str, id: &str| {
        format!("algoType=CONDITIONAL&symbol=BTCUSDT&side=SELL&type={ty}&triggerPrice={trig}&workingType=MARK_PRICE&closePosition=true&clientAlgoId={id}")
    };
    let sl = binance(
        a,
        "POST",
        "/fapi/v1/algoOrder",
        &algo("STOP_MARKET", "64000", "k-sl"),
    )
    .await;
    assert_eq!(sl.status, 200, "{:?}", sl.body);
    assert_eq!(
        (
            sl.body["algoStatus"].as_str(),
            sl.body["clientAlgoId"].as_str()
        ),
        (Some("NEW"), Some("k-sl"))
    );
    let tp = binance(
        a,
        "POST",
        "/fapi/v1/algoOrder",
        &algo("TAKE_PROFIT_MARKET", "67000", "k-tp"),
    )
    .await;
    assert_eq!(tp.status, 200, "{:?}", tp.body);
    let refused = [
        (algo("STOP_MARKET", "64000", "k-sl"), -4116),
        (algo("STOP_MARKET", "66000", "k-x"), -2021),
        (algo("STOP_MARKET", "64000.05", "k-y"), -4014),
        (
            algo("STOP_MARKET", "64000", "k-z").replace("&closePosition=true", ""),
            -1102,
        ),
    ];
    for (params, code) in refused {
        let r = binance(a, "POST", "/fapi/v1/algoOrder", &params).await;
        assert_eq!(r.code(), code, "{params}: {:?}", r.body);
    }
    admin(
        a,
        "POST",
        "/__admin/price",
        json!({"symbol": "BTCUSDT", "price": "63900", "venue": "binance_futures"}),
    )
    .await;
    let status: Vec<String> = conditionals(a)
        .await
        .iter()
        .map(|x| x["status"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(status, vec!["Triggered", "Deactivated"]);
    let pos = binance(a, "GET", "/fapi/v2/positionRisk", "symbol=BTCUSDT").await;
    assert_eq!(
        pos.body[0]["positionAmt"]
            .as_str()
            .map(|s| s.parse::<f64>().unwrap()),
        Some(0.0),
        "{:?}",
        pos.body
    );
}

async fn bybit_btc(a: std::net::SocketAddr) -> (f64, f64) {
    let st = admin(a, "GET", "/__admin/state?account=bybit-main", Value::Null).await;
    let btc = &st["accounts"][0]["spot"]["assets"]["BTC"];
    let n = |v: &Value| v.as_str().and_then(|s| s.parse().ok()).unwrap_or(f64::NAN);
    (n(&btc["free"]), n(&btc["locked"]))
}

#[tokio::test]
async fn bybit_spot_tpsl_order_locks_its_quantity_and_sells_when_touched() {
    let a = start().await;
    admin(
        a,
        "POST",
        "/__admin/price",
        json!({"symbol": "BTCUSDT", "price": "65000", "venue": "bybit_spot"}),
    )
    .await;
    let refused = [
        (
            r#"{"category":"spot","symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"0.5","triggerPrice":"60000","orderFilter":"tpslOrder"}"#,
            10001,
        ),
        (
            r#"{"category":"spot","symbol":"BTCUSDT","side":"Sell","orderType":"Market","qty":"0.5","triggerPrice":"60000.005","orderFilter":"tpslOrder"}"#,
            170134,
        ),
        (
            r#"{"category":"spot","symbol":"BTCUSDT","side":"Sell","orderType":"Market","qty":"50","triggerPrice":"60000","orderFilter":"tpslOrder"}"#,
            170131,
        ),
        (
            r#"{"category":"linear","symbol":"BTCUSDT","side":"Sell","orderType":"Market","qty":"0.5","triggerPrice":"60000","orderFilter":"tpslOrder"}"#,
            10001,
        ),
    ];
    let before = bybit_btc(a).await;
    for (body, code) in refused {
        let r = bybit(a, "POST", "/v5/order/create", body).await;
        assert_eq!(r.ret(), code, "{body}: {:?}", r.body);
    }
    assert_eq!(bybit_btc(a).await, before, "a refusal locks nothing");
    let r = bybit(a, "POST", "/v5/order/create", r#"{"category":"spot","symbol":"BTCUSDT","side":"Sell","orderType":"Market","qty":"0.5","marketUnit":"baseCoin","triggerPrice":"60000","orderFilter":"tpslOrder","orderLinkId":"s1"}"#).await;
    assert_eq!(r.ret(), 0, "{:?}", r.body);
    assert_eq!(bybit_btc(a).await, (before.0 - 0.5, before.1 + 0.5));
    let c = conditionals(a).await;
    assert_eq!(
        (c[0]["kind"].as_str(), c[0]["status"].as_str()),
        (Some("StopLoss"), Some("Untriggered"))
    );
    admin(
        a,
        "POST",
        "/__admin/price",
        json!({"symbol": "BTCUSDT", "price": "59990", "venue": "bybit_spot"}),
    )
    .await;
    let c = conditionals(a).await;
    assert_eq!(c[0]["status"], "Triggered");
    // The lock is released and the holding sold at market: 0.5 BTC fewer, nothing locked.
    let after = bybit_btc(a).await;
    assert!(
        (after.0 - (before.0 - 0.5)).abs() < 1e-12 && after.1 == before.1,
        "{after:?}"
    );
    let ex = bybit(
        a,
        "GET",
        "/v5/execution/list",
        "category=spot&symbol=BTCUSDT",
    )
    .await;
    let list = ex.body["result"]["list"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(list.len(), 1, "{:?}", ex.body);
    assert_eq!(
        (
            list[0]["orderLinkId"].as_str(),
            list[0]["createType"].as_str(),
            list[0]["stopOrderType"].as_str(),
            list[0]["execQty"].as_str()
        ),
        (
            Some("s1"),
            Some("CreateByStopLoss"),
            Some("StopLoss"),
            Some("0.5")
        )
    );
}
