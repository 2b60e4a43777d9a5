//! Fault injection (delay, 5xx, dropped connection, reject code, clock skew elsewhere), rate limits
//! (429 then 418 with Retry-After; order counts; Bybit 10006) and the request log.
mod common;

use std::time::Instant;

use common::*;
use serde_json::json;

#[tokio::test]
async fn binance_weight_429_then_418_ban() {
    let a = start().await;
    admin(a, "POST", "/__admin/ratelimit", json!({"binance_spot_weight_1m": 3, "binance_requests_before_ban": 1, "binance_ban_secs": 120})).await;
    for used in 1..=3 {
        let r = get(a, "/api/v3/ping").await;
        assert_eq!(
            (r.status, r.header("x-mbx-used-weight-1m")),
            (200, Some(&*used.to_string()))
        );
    }
    let r = get(a, "/api/v3/ping").await;
    assert_eq!((r.status, r.code()), (429, -1003));
    let retry: i64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    assert_eq!(
        get(a, "/api/v3/ping").await.status,
        429,
        "one more 429 allowed"
    );
    let ban = get(a, "/api/v3/ping").await;
    assert_eq!(
        (ban.status, ban.code(), ban.header("retry-after")),
        (418, -1003, Some("120"))
    );
    assert!(ban.body["msg"]
        .as_str()
        .unwrap()
        .contains("IP banned until"));
    assert_eq!(
        get(a, "/api/v3/time").await.status,
        418,
        "ban holds for every endpoint"
    );
    assert_eq!(
        get(a, "/fapi/v1/ping").await.status,
        200,
        "futures has its own budget"
    );
}

#[tokio::test]
async fn binance_order_count_headers_and_limit() {
    let a = start().await;
    admin(
        a,
        "POST",
        "/__admin/ratelimit",
        json!({"binance_spot_orders_10s": 2}),
    )
    .await;
    let p = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=60000";
    let one = binance(a, "POST", "/api/v3/order", p).await;
    assert_eq!(
        (
            one.header("x-mbx-order-count-10s"),
            one.header("x-mbx-order-count-1d")
        ),
        (Some("1"), Some("1"))
    );
    binance(a, "POST", "/api/v3/order", p).await;
    let third = binance(a, "POST", "/api/v3/order", p).await;
    if third.status == 200 {
        // crossed a 10-second boundary between requests: the counter restarted
        assert_eq!(third.header("x-mbx-order-count-10s"), Some("1"));
    } else {
        assert_eq!((third.status, third.code()), (429, -1015));
        assert!(third.header("retry-after").is_some());
    }
    let fut = binance(
        a,
        "POST",
        "/fapi/v1/order",
        "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.01",
    )
    .await;
    assert_eq!(
        (
            fut.header("x-mbx-order-count-10s"),
            fut.header("x-mbx-order-count-1m")
        ),
        (Some("1"), Some("1"))
    );
    assert_eq!(
        fut.header("x-mbx-used-weight-1m"),
        Some("0"),
        "futures order weighs 0 on IP"
    );
}

#[tokio::test]
async fn bybit_rate_limit_10006() {
    let a = start().await;
    admin(
        a,
        "POST",
        "/__admin/ratelimit",
        json!({"bybit_other_per_s": 2}),
    )
    .await;
    let mut codes = Vec::new();
    for _ in 0..3 {
        let r = bybit(
            a,
            "GET",
            "/v5/account/wallet-balance",
            "accountType=UNIFIED",
        )
        .await;
        codes.push((
            r.ret(),
            r.header("x-bapi-limit").map(str::to_string),
            r.header("x-bapi-limit-status").map(str::to_string),
        ));
    }
    // All three normally land in the same second; if a second boundary is crossed the count restarts.
    if codes[2].0 == 10006 {
        assert_eq!(codes[0], (0, Some("2".into()), Some("1".into())));
        assert_eq!(codes[1], (0, Some("2".into()), Some("0".into())));
    } else {
        assert!(codes.iter().all(|c| c.0 == 0));
    }
}

#[tokio::test]
async fn delay_and_5xx_faults() {
    let a = start().await;
    admin(
        a,
        "POST",
        "/__admin/faults",
        json!({"kind": "delay", "ms": 300, "path": "/api/v3/time"}),
    )
    .await;
    let t = Instant::now();
    assert_eq!(get(a, "/api/v3/time").await.status, 200);
    assert!(t.elapsed().as_millis() >= 300);
    let t = Instant::now();
    get(a, "/api/v3/time").await;
    assert!(t.elapsed().as_millis() < 300, "delay applied once");

    admin(
        a,
        "POST",
        "/__admin/faults",
        json!({"kind": "error", "status": 503, "count": 2}),
    )
    .await;
    assert_eq!(get(a, "/api/v3/ping").await.status, 503);
    let by = get(a, "/v5/market/time").await;
    assert_eq!((by.status, by.ret()), (503, 10016));
    assert_eq!(get(a, "/api/v3/ping").await.status, 200);

    // 5xx after processing: the order exists although the client saw 503.
    admin(a, "POST", "/__admin/faults", json!({"kind": "error", "status": 502, "process": true, "path": "/api/v3/order", "method": "POST"})).await;
    let r = binance(a, "POST", "/api/v3/order", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=60000&newClientOrderId=amb-1").await;
    assert_eq!(r.status, 502);
    let q = binance(
        a,
        "GET",
        "/api/v3/order",
        "symbol=BTCUSDT&origClientOrderId=amb-1",
    )
    .await;
    assert_eq!(q.body["status"], "NEW");
}

#[tokio::test]
async fn drop_after_accept_and_reject_next_order() {
    let a = start().await;
    admin(
        a,
        "POST",
        "/__admin/faults",
        json!({"kind": "drop", "path": "/fapi/v1/order", "method": "POST"}),
    )
    .await;
    let lost = binance_as(
        a,
        BN_KEY,
        BN_SECRET,
        "POST",
        "/fapi/v1/order",
        "symbol=ETHUSDT&side=BUY&type=MARKET&quantity=1&newClientOrderId=drop-1",
        now_ms(),
    )
    .await;
    assert!(lost.is_none(), "connection closed without a response");
    let q = binance(
        a,
        "GET",
        "/fapi/v1/order",
        "symbol=ETHUSDT&origClientOrderId=drop-1",
    )
    .await;
    assert_eq!(q.body["status"], "FILLED", "the order exists");
    let log = admin(a, "GET", "/__admin/requests", serde_json::Value::Null).await;
    let entry = log["requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["path"] == "/fapi/v1/order" && r["method"] == "POST")
        .cloned()
        .unwrap();
    assert_eq!(entry["status"], 0, "logged as unanswered");

    admin(a, "POST", "/__admin/faults", json!([{"kind": "reject", "code": -2010, "msg": "Market is closed."}, {"kind": "reject", "code": 10016, "path": "/v5/order/create"}])).await;
    let r = binance(
        a,
        "POST",
        "/api/v3/order",
        "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.001",
    )
    .await;
    assert_eq!(
        (r.status, r.code(), r.body["msg"].as_str()),
        (400, -2010, Some("Market is closed."))
    );
    let by = bybit(
        a,
        "POST",
        "/v5/order/create",
        r#"{"category":"spot","symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"10"}"#,
    )
    .await;
    assert_eq!(by.ret(), 10016);
    let ok = binance(
        a,
        "POST",
        "/api/v3/order",
        "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.001",
    )
    .await;
    assert_eq!(ok.status, 200, "faults are one-shot");
    let armed = admin(a, "GET", "/__admin/faults", serde_json::Value::Null).await;
    assert_eq!(armed["armed"].as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn request_log_records_everything_with_timestamps() {
    let a = start().await;
    let before = now_ms() * 1000;
    get(a, "/api/v3/ping").await;
    bybit(a, "POST", "/v5/order/create", r#"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"0.001"}"#).await;
    let log = admin(
        a,
        "GET",
        "/__admin/requests?since=0",
        serde_json::Value::Null,
    )
    .await;
    let l = log["requests"].as_array().unwrap();
    assert_eq!(l.len(), 2, "admin calls are not logged");
    assert_eq!(
        (
            l[0]["method"].as_str(),
            l[0]["path"].as_str(),
            l[0]["status"].as_u64()
        ),
        (Some("GET"), Some("/api/v3/ping"), Some(200))
    );
    assert!(
        l[0]["recv_us"].as_i64().unwrap() >= before
            && l[0]["recv_ms"].as_i64().unwrap() == l[0]["recv_us"].as_i64().unwrap() / 1000
    );
    assert!(l[1]["body"]
        .as_str()
        .unwrap()
        .contains("\"category\":\"linear\""));
    assert!(l[1]["headers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h[0] == "x-bapi-sign"));
    let seq = l[0]["seq"].as_u64().unwrap();
    let since = admin(
        a,
        "GET",
        &format!("/__admin/requests?since={seq}"),
        serde_json::Value::Null,
    )
    .await;
    assert_eq!(since["requests"].as_array().map(Vec::len), Some(1));
    admin(a, "POST", "/__admin/reset", json!({})).await;
    let state = admin(
        a,
        "GET",
        "/__admin/state?account=bybit-main",
        serde_json::Value::Null,
    )
    .await;
    assert_eq!(state["orders"].as_array().map(Vec::len), Some(0));
    assert_eq!(
        state["accounts"][0]["spot"]["assets"]["USDT"]["free"],
        "100000"
    );
}

#[tokio::test]
async fn seeded_walk_is_deterministic() {
    let a = start().await;
    let b = start().await;
    for s in [a, b] {
        admin(s, "POST", "/__admin/walk", json!({"steps": 25})).await;
    }
    let pa = get(a, "/api/v3/ticker/price?symbol=BTCUSDT").await.body;
    let pb = get(b, "/api/v3/ticker/price?symbol=BTCUSDT").await.body;
    assert_eq!(pa, pb);
    assert_ne!(pa["price"], "65000.00000000");
    let fut = get(a, "/fapi/v1/ticker/price?symbol=BTCUSDT").await.body;
    assert!(
        (num(&fut["price"]) - num(&pa["price"])).abs() < 1.0,
        "spot and futures walk together"
    );
}
