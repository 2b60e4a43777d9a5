//! Signature, API key and timestamp rules for both exchanges, including the clock-skew fault.
mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn binance_signature_key_and_params() {
    let a = start().await;
    let ok = binance(a, "GET", "/api/v3/account", "").await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    assert_eq!(ok.body["balances"].as_array().map(Vec::len), Some(5));
    assert_eq!(ok.header("x-mbx-used-weight-1m"), Some("20"));

    let ts = now_ms();
    let bad = raw(
        a,
        "GET",
        &format!(
            "/api/v3/account?timestamp={ts}&signature={}",
            sign("wrong", &format!("timestamp={ts}"))
        ),
        &[("X-MBX-APIKEY", BN_KEY.into())],
        "",
    )
    .await
    .unwrap();
    assert_eq!((bad.status, bad.code()), (400, -1022));
    assert_eq!(bad.body["msg"], "Signature for this request is not valid.");

    let unknown = binance_as(a, "nope", BN_SECRET, "GET", "/api/v3/account", "", now_ms())
        .await
        .unwrap();
    assert_eq!((unknown.status, unknown.code()), (401, -2015));
    let bybit_key_on_binance =
        binance_as(a, BY_KEY, BY_SECRET, "GET", "/api/v3/account", "", now_ms())
            .await
            .unwrap();
    assert_eq!(bybit_key_on_binance.code(), -2015);

    let no_ts = raw(
        a,
        "GET",
        &format!("/api/v3/account?signature={}", sign(BN_SECRET, "")),
        &[("X-MBX-APIKEY", BN_KEY.into())],
        "",
    )
    .await
    .unwrap();
    assert_eq!(no_ts.code(), -1102);
    let no_symbol = binance(a, "GET", "/api/v3/openOrders", "").await;
    assert_eq!(
        no_symbol.status, 200,
        "openOrders without symbol is allowed"
    );
    let missing = binance(a, "GET", "/api/v3/myTrades", "").await;
    assert_eq!(
        (missing.code(), missing.body["msg"].as_str()),
        (
            -1102,
            Some("Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")
        )
    );
}

#[tokio::test]
async fn binance_body_and_mixed_payloads_and_percent_encoding() {
    let a = start().await;
    let ts = now_ms();
    let query = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC";
    let body = format!("quantity=0.001&price=60000&recvWindow=5000&timestamp={ts}");
    let sig = sign(BN_SECRET, &format!("{query}{body}"));
    let headers = [
        ("X-MBX-APIKEY", BN_KEY.to_string()),
        (
            "Content-Type",
            "application/x-www-form-urlencoded".to_string(),
        ),
    ];
    let r = raw(
        a,
        "POST",
        &format!("/api/v3/order?{query}"),
        &headers,
        &format!("{body}&signature={sig}"),
    )
    .await
    .unwrap();
    assert_eq!(
        r.status, 200,
        "mixed query+body signed as concatenation: {:?}",
        r.body
    );

    // A client that signs the decoded payload but sends it percent-encoded is refused (-1022).
    let ts = now_ms();
    let decoded = format!("symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=60000&newClientOrderId=a:b&timestamp={ts}");
    let sent = decoded.replace("a:b", "a%3Ab");
    let r = raw(
        a,
        "POST",
        &format!(
            "/api/v3/order?{sent}&signature={}",
            sign(BN_SECRET, &decoded)
        ),
        &headers,
        "",
    )
    .await
    .unwrap();
    assert_eq!(r.code(), -1022);
    let r = raw(
        a,
        "POST",
        &format!("/api/v3/order?{sent}&signature={}", sign(BN_SECRET, &sent)),
        &headers,
        "",
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["clientOrderId"], "a:b");
}

#[tokio::test]
async fn binance_timestamp_window_and_clock_skew() {
    let a = start().await;
    let cases = [
        (-4_000, 200, 0),
        (-6_000, 400, -1021),
        (900, 200, 0),
        (1_500, 400, -1021),
    ];
    for (offset, status, code) in cases {
        let r = binance_as(
            a,
            BN_KEY,
            BN_SECRET,
            "GET",
            "/api/v3/account",
            "",
            now_ms() + offset,
        )
        .await
        .unwrap();
        assert_eq!(
            (r.status, r.code()),
            (status, code),
            "offset {offset}: {:?}",
            r.body
        );
    }
    let r = binance_as(
        a,
        BN_KEY,
        BN_SECRET,
        "GET",
        "/api/v3/account",
        "recvWindow=20000",
        now_ms() - 15_000,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "recvWindow honoured");
    let r = binance_as(
        a,
        BN_KEY,
        BN_SECRET,
        "GET",
        "/api/v3/account",
        "recvWindow=70000",
        now_ms(),
    )
    .await
    .unwrap();
    assert_eq!(r.code(), -1131);

    admin(a, "POST", "/__admin/clock", json!({"offset_ms": 10_000})).await;
    let skewed = binance(a, "GET", "/api/v3/account", "").await;
    assert_eq!(
        skewed.code(),
        -1021,
        "local clock now 10 s behind the server"
    );
    let server = get(a, "/api/v3/time").await.body["serverTime"]
        .as_i64()
        .unwrap();
    assert!((server - now_ms() - 10_000).abs() < 1_000);
    let resynced = binance_as(a, BN_KEY, BN_SECRET, "GET", "/api/v3/account", "", server)
        .await
        .unwrap();
    assert_eq!(resynced.status, 200, "using the server time recovers");
    let by = bybit(
        a,
        "GET",
        "/v5/account/wallet-balance",
        "accountType=UNIFIED",
    )
    .await;
    assert_eq!(by.ret(), 10002);
}

#[tokio::test]
async fn bybit_signature_key_and_window() {
    let a = start().await;
    let ok = bybit(
        a,
        "GET",
        "/v5/account/wallet-balance",
        "accountType=UNIFIED",
    )
    .await;
    assert_eq!(ok.ret(), 0, "{:?}", ok.body);
    assert!(ok.header("x-bapi-limit-status").is_some() && ok.header("x-bapi-limit").is_some());
    let bad = bybit_as(
        a,
        BY_KEY,
        "wrong",
        "GET",
        "/v5/account/wallet-balance",
        "accountType=UNIFIED",
        now_ms(),
    )
    .await
    .unwrap();
    assert_eq!(bad.ret(), 10004);
    assert!(bad.body["retMsg"]
        .as_str()
        .unwrap()
        .starts_with("error sign! origin_string["));
    let unknown = bybit_as(
        a,
        "nope",
        BY_SECRET,
        "GET",
        "/v5/account/wallet-balance",
        "accountType=UNIFIED",
        now_ms(),
    )
    .await
    .unwrap();
    assert_eq!((unknown.status, unknown.ret()), (401, 10003));
    for (offset, code) in [(-4_000, 0), (-5_500, 10002), (999, 0), (1_200, 10002)] {
        let r = bybit_as(
            a,
            BY_KEY,
            BY_SECRET,
            "GET",
            "/v5/account/wallet-balance",
            "accountType=UNIFIED",
            now_ms() + offset,
        )
        .await
        .unwrap();
        assert_eq!(r.ret(), code, "offset {offset}");
    }
    let body = r#"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"0.001"}"#;
    let post = bybit(a, "POST", "/v5/order/create", body).await;
    assert_eq!(
        post.ret(),
        0,
        "POST signs the raw JSON body: {:?}",
        post.body
    );
    let t = get(a, "/v5/market/time").await;
    assert_eq!(t.body["retCode"], 0);
    assert!(t.body["result"]["timeNano"].as_str().unwrap().len() >= 19);
}
