//! Orders, filters, balances, fills, fees, positions, funding and trade history on all four venues.
mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn binance_spot_filters_and_param_errors() {
    let a = start().await;
    let cases: [(&str, i64, &str); 9] = [
        (
            "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.000001&price=60000",
            -1013,
            "Filter failure: LOT_SIZE",
        ),
        (
            "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=60000.005",
            -1013,
            "Filter failure: PRICE_FILTER",
        ),
        (
            "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.00005&price=60000",
            -1013,
            "Filter failure: NOTIONAL",
        ),
        (
            "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=121",
            -1013,
            "Filter failure: MARKET_LOT_SIZE",
        ),
        (
            "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=0.001&price=60000",
            -1102,
            "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed.",
        ),
        (
            "symbol=XXXUSDT&side=BUY&type=MARKET&quantity=1",
            -1121,
            "Invalid symbol.",
        ),
        (
            "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.001&timeInForce=GTC",
            -1106,
            "Parameter 'timeInForce' sent when not required.",
        ),
        (
            "symbol=BTCUSDT&side=BUY&type=STOP&quantity=0.001",
            -1116,
            "Invalid orderType.",
        ),
        (
            "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=6e4",
            -1100,
            "",
        ),
    ];
    for (params, code, msg) in cases {
        let r = binance(a, "POST", "/api/v3/order", params).await;
        assert_eq!((r.status, r.code()), (400, code), "{params}: {:?}", r.body);
        if !msg.is_empty() {
            assert_eq!(r.body["msg"], msg);
        }
    }
    let test = binance(
        a,
        "POST",
        "/api/v3/order/test",
        "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.001",
    )
    .await;
    assert_eq!((test.status, test.body.clone()), (200, json!({})));
    assert_eq!(
        admin(a, "GET", "/__admin/state", serde_json::Value::Null).await["orders"]
            .as_array()
            .map(Vec::len),
        Some(0)
    );
}

#[tokio::test]
async fn binance_spot_fill_fees_balances_and_history() {
    let a = start().await;
    let r = binance(
        a,
        "POST",
        "/api/v3/order",
        "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.01&newClientOrderId=m1",
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let f = &r.body["fills"][0];
    assert_eq!(
        (
            f["price"].as_str(),
            f["qty"].as_str(),
            f["commission"].as_str(),
            f["commissionAsset"].as_str()
        ),
        (
            Some("65000.00000000"),
            Some("0.01000000"),
            Some("0.00001000"),
            Some("BTC")
        )
    );
    assert_eq!(r.body["status"], "FILLED");
    assert_eq!(r.body["cummulativeQuoteQty"], "650.00000000");
    let acct = binance(a, "GET", "/api/v3/account", "omitZeroBalances=true").await;
    let bal = |asset: &str| {
        acct.body["balances"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["asset"] == asset)
            .cloned()
            .unwrap()
    };
    assert_eq!(bal("BTC")["free"], "1.00999000");
    assert_eq!(bal("USDT")["free"], "99350.00000000");

    // quoteOrderQty sell: sells floor(100 / 65000, step) BTC, fee in USDT
    let q = binance(
        a,
        "POST",
        "/api/v3/order",
        "symbol=BTCUSDT&side=SELL&type=MARKET&quoteOrderQty=100&newOrderRespType=RESULT",
    )
    .await;
    assert_eq!(
        (
            q.body["executedQty"].as_str(),
            q.body["origQuoteOrderQty"].as_str()
        ),
        (Some("0.00153000"), Some("100.00000000"))
    );
    assert!(q.body.get("fills").is_none(), "RESULT has no fills");
    let ack = binance(a, "POST", "/api/v3/order", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=60000&newOrderRespType=ACK").await;
    assert!(ack.body.get("status").is_none() && ack.body["orderListId"] == -1);
    let locked = binance(a, "GET", "/api/v3/account", "").await;
    let usdt = locked.body["balances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["asset"] == "USDT")
        .cloned()
        .unwrap();
    assert_eq!(
        usdt["locked"], "600.00000000",
        "limit buy locks price x qty"
    );

    let trades = binance(a, "GET", "/api/v3/myTrades", "symbol=BTCUSDT").await;
    let list = trades.body.as_array().unwrap();
    assert_eq!(list.len(), 2);
    let (t0, t1) = (
        list[0]["id"].as_u64().unwrap(),
        list[1]["id"].as_u64().unwrap(),
    );
    assert_eq!(t1, t0 + 1, "trade ids increase per symbol");
    assert_eq!(
        (
            list[0]["isBuyer"].as_bool(),
            list[1]["commissionAsset"].as_str()
        ),
        (Some(true), Some("USDT"))
    );
    let from = binance(
        a,
        "GET",
        "/api/v3/myTrades",
        &format!("symbol=BTCUSDT&fromId={t1}"),
    )
    .await;
    assert_eq!(from.body.as_array().map(Vec::len), Some(1));
    let by_order = binance(
        a,
        "GET",
        "/api/v3/myTrades",
        &format!("symbol=BTCUSDT&orderId={}", r.body["orderId"]),
    )
    .await;
    assert_eq!(by_order.body.as_array().map(Vec::len), Some(1));
    // weights: order 1 + account 20 + order 1 + order 1 + account 20 + myTrades 20 + 20 + 5 (with orderId)
    assert_eq!(by_order.header("x-mbx-used-weight-1m"), Some("88"));
}

#[tokio::test]
async fn binance_bnb_fee_discount_and_insufficient_balance() {
    let a = start().await;
    let r = binance_as(
        a,
        BN_BNB_KEY,
        BN_BNB_SECRET,
        "POST",
        "/api/v3/order",
        "symbol=ETHUSDT&side=BUY&type=MARKET&quantity=1",
        now_ms(),
    )
    .await
    .unwrap();
    let f = &r.body["fills"][0];
    // 3200 x 0.1 % x 75 % / 600 = 0.004 BNB
    assert_eq!(
        (f["commission"].as_str(), f["commissionAsset"].as_str()),
        (Some("0.00400000"), Some("BNB"))
    );
    let poor = binance(
        a,
        "POST",
        "/api/v3/order",
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=2&price=60000",
    )
    .await;
    assert_eq!(
        (poor.status, poor.code(), poor.body["msg"].as_str()),
        (
            400,
            -2010,
            Some("Account has insufficient balance for requested action.")
        )
    );
    let sell = binance(
        a,
        "POST",
        "/api/v3/order",
        "symbol=SOLUSDT&side=SELL&type=MARKET&quantity=101",
    )
    .await;
    assert_eq!(sell.code(), -2010);
    let maker = binance(
        a,
        "POST",
        "/api/v3/order",
        "symbol=BTCUSDT&side=BUY&type=LIMIT_MAKER&quantity=0.001&price=66000",
    )
    .await;
    assert_eq!(
        (maker.code(), maker.body["msg"].as_str()),
        (-2010, Some("Order would immediately match and take."))
    );
}

#[tokio::test]
async fn binance_resting_orders_partial_fills_cancel_and_duplicates() {
    let a = start().await;
    admin(
        a,
        "POST",
        "/__admin/price",
        json!({"symbol": "ETHUSDT", "liquidity": "0.4", "venue": "binance_spot"}),
    )
    .await;
    let o = binance(a, "POST", "/api/v3/order", "symbol=ETHUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=3100&newClientOrderId=rest-1").await;
    assert_eq!(o.body["status"], "NEW");
    let dup = binance(a, "POST", "/api/v3/order", "symbol=ETHUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=3000&newClientOrderId=rest-1").await;
    assert_eq!(
        (dup.code(), dup.body["msg"].as_str()),
        (-2010, Some("Duplicate order sent."))
    );
    admin(
        a,
        "POST",
        "/__admin/price",
        json!({"symbol": "ETHUSDT", "price": "3090"}),
    )
    .await;
    let q = binance(
        a,
        "GET",
        "/api/v3/order",
        "symbol=ETHUSDT&origClientOrderId=rest-1",
    )
    .await;
    assert_eq!(
        (q.body["status"].as_str(), q.body["executedQty"].as_str()),
        (Some("PARTIALLY_FILLED"), Some("0.40000000"))
    );
    admin(
        a,
        "POST",
        "/__admin/price",
        json!({"symbol": "ETHUSDT", "price": "3080"}),
    )
    .await;
    let trades = binance(a, "GET", "/api/v3/myTrades", "symbol=ETHUSDT").await;
    let t = trades.body.as_array().unwrap();
    assert_eq!(t.len(), 2);
    assert_eq!(
        (t[0]["price"].as_str(), t[0]["isMaker"].as_bool()),
        (Some("3100.00000000"), Some(true))
    );
    let c = binance(
        a,
        "DELETE",
        "/api/v3/order",
        &format!("symbol=ETHUSDT&orderId={}", o.body["orderId"]),
    )
    .await;
    assert_eq!(
        (
            c.body["status"].as_str(),
            c.body["origClientOrderId"].as_str(),
            c.body["executedQty"].as_str()
        ),
        (Some("CANCELED"), Some("rest-1"), Some("0.80000000"))
    );
    let again = binance(
        a,
        "DELETE",
        "/api/v3/order",
        &format!("symbol=ETHUSDT&orderId={}", o.body["orderId"]),
    )
    .await;
    assert_eq!(
        (again.code(), again.body["msg"].as_str()),
        (-2011, Some("Unknown order sent."))
    );
    let missing = binance(a, "GET", "/api/v3/order", "symbol=ETHUSDT&orderId=999").await;
    assert_eq!((missing.status, missing.code()), (400, -2013));
    let reuse = binance(a, "POST", "/api/v3/order", "symbol=ETHUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.1&price=3000&newClientOrderId=rest-1").await;
    assert_eq!(
        reuse.status, 200,
        "id reusable once the old order is closed"
    );
    binance(
        a,
        "POST",
        "/api/v3/order",
        "symbol=ETHUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=0.1&price=3500",
    )
    .await;
    let open = binance(a, "GET", "/api/v3/openOrders", "symbol=ETHUSDT").await;
    assert_eq!(open.body.as_array().map(Vec::len), Some(2));
    let all = binance(a, "DELETE", "/api/v3/openOrders", "symbol=ETHUSDT").await;
    assert_eq!(all.body.as_array().map(Vec::len), Some(2));
    let none = binance(a, "DELETE", "/api/v3/openOrders", "symbol=ETHUSDT").await;
    assert_eq!(none.code(), -2011);
}

#[tokio::test]
async fn binance_futures_positions_pnl_income_and_funding() {
    let a = start().await;
    let f = |p: &str| p.to_string();
    let bad = binance(
        a,
        "POST",
        "/fapi/v1/order",
        "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.0015",
    )
    .await;
    assert_eq!(bad.code(), -1111);
    let small = binance(
        a,
        "POST",
        "/fapi/v1/order",
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=60000",
    )
    .await;
    assert_eq!(small.code(), -4164, "min notional 100 on BTCUSDT futures");
    let ro = binance(
        a,
        "POST",
        "/fapi/v1/order",
        "symbol=BTCUSDT&side=SELL&type=MARKET&quantity=0.01&reduceOnly=true",
    )
    .await;
    assert_eq!(ro.code(), -2022);
    let open = binance(
        a,
        "POST",
        "/fapi/v1/order",
        &f("symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.1&newClientOrderId=f1"),
    )
    .await;
    assert_eq!(
        (
            open.body["status"].as_str(),
            open.body["executedQty"].as_str()
        ),
        (Some("NEW"), Some("0.000")),
        "ACK is asynchronous"
    );
    let q = binance(
        a,
        "GET",
        "/fapi/v1/order",
        "symbol=BTCUSDT&origClientOrderId=f1",
    )
    .await;
    assert_eq!(
        (q.body["status"].as_str(), q.body["avgPrice"].as_str()),
        (Some("FILLED"), Some("65000.00000"))
    );
    let dup = binance(a, "POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.1&price=60000&newClientOrderId=x").await;
    assert_eq!(dup.status, 200);
    let dup = binance(a, "POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.1&price=60000&newClientOrderId=x").await;
    assert_eq!(dup.code(), -4116);
    admin(
        a,
        "POST",
        "/__admin/price",
        json!({"symbol": "BTCUSDT", "price": "66000", "venue": "binance_futures"}),
    )
    .await;
    let close = binance(
        a,
        "POST",
        "/fapi/v1/order",
        "symbol=BTCUSDT&side=SELL&type=MARKET&quantity=0.2&reduceOnly=true&newOrderRespType=RESULT",
    )
    .await;
    assert_eq!(
        close.body["executedQty"], "0.100",
        "reduce-only clamps to the position"
    );
    let trades = binance(a, "GET", "/fapi/v1/userTrades", "symbol=BTCUSDT").await;
    let t = trades.body.as_array().unwrap();
    assert_eq!(
        (
            t[1]["realizedPnl"].as_str(),
            t[1]["commission"].as_str(),
            t[1]["commissionAsset"].as_str()
        ),
        (Some("100.00000000"), Some("3.30000000"), Some("USDT"))
    );
    assert_eq!(
        (t[0]["buyer"].as_bool(), t[0]["maker"].as_bool()),
        (Some(true), Some(false))
    );
    binance(
        a,
        "POST",
        "/fapi/v1/order",
        "symbol=ETHUSDT&side=SELL&type=MARKET&quantity=1",
    )
    .await;
    let paid = admin(
        a,
        "POST",
        "/__admin/funding",
        json!({"symbol": "ETHUSDT", "rate": "0.0001"}),
    )
    .await;
    assert_eq!(paid["positions_paid"], 1);
    let inc = binance(a, "GET", "/fapi/v1/income", "").await;
    let kinds: Vec<(&str, &str)> = inc
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["incomeType"].as_str().unwrap(),
                i["income"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("COMMISSION", "-3.25000000"),
            ("REALIZED_PNL", "100.00000000"),
            ("COMMISSION", "-3.30000000"),
            ("COMMISSION", "-1.60000000"),
            ("FUNDING_FEE", "0.32000000")
        ]
    );
    let pos = binance(a, "GET", "/fapi/v3/positionRisk", "").await;
    let p = pos.body.as_array().unwrap();
    assert_eq!(p.len(), 2, "v3: BTC (open order) and ETH (position)");
    let eth = p.iter().find(|x| x["symbol"] == "ETHUSDT").unwrap();
    assert_eq!(
        (eth["positionAmt"].as_str(), eth["entryPrice"].as_str()),
        (Some("-1.000"), Some("3200"))
    );
    let v2 = binance(a, "GET", "/fapi/v2/positionRisk", "").await;
    assert_eq!(v2.body.as_array().map(Vec::len), Some(4));
    let bal = binance(a, "GET", "/fapi/v2/balance", "").await;
    // 100000 - 3.25 + 100 - 3.30 - 1.60 + 0.32
    assert_eq!(bal.body[0]["balance"], "100092.17000000");
    let lev = binance(a, "POST", "/fapi/v1/leverage", "symbol=BTCUSDT&leverage=5").await;
    assert_eq!(lev.body["leverage"], 5);
    let margin = binance(
        a,
        "POST",
        "/fapi/v1/order",
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=10&price=65000",
    )
    .await;
    assert_eq!(
        (margin.code(), margin.body["msg"].as_str()),
        (-2019, Some("Margin is insufficient."))
    );
    let all = binance(a, "DELETE", "/fapi/v1/allOpenOrders", "symbol=BTCUSDT").await;
    assert_eq!(all.body["code"], 200);
    let mark = get(a, "/fapi/v1/premiumIndex?symbol=BTCUSDT").await;
    assert_eq!(mark.body["markPrice"], "66000.00000000");
}

#[tokio::test]
async fn bybit_spot_and_linear_orders_fees_and_errors() {
    let a = start().await;
    let create = |body: &str| body.to_string();
    let cases: [(&str, i64); 7] = [
        (
            r#"{"category":"spot","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.00001","price":"60000"}"#,
            170136,
        ),
        (
            r#"{"category":"spot","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.0000001","price":"60000"}"#,
            170137,
        ),
        (
            r#"{"category":"spot","symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"1"}"#,
            170140,
        ),
        (
            r#"{"category":"spot","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"2","price":"60000"}"#,
            170131,
        ),
        (
            r#"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.001","price":"1000"}"#,
            110094,
        ),
        (
            r#"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"100","price":"65000"}"#,
            110007,
        ),
        (
            r#"{"category":"spot","symbol":"NOPE","side":"Buy","orderType":"Market","qty":"10"}"#,
            170121,
        ),
    ];
    for (body, code) in cases {
        let r = bybit(a, "POST", "/v5/order/create", &create(body)).await;
        assert_eq!((r.status, r.ret()), (200, code), "{body}: {:?}", r.body);
    }
    let missing = bybit(
        a,
        "POST",
        "/v5/order/create",
        r#"{"category":"spot","symbol":"BTCUSDT","side":"Buy","orderType":"Market"}"#,
    )
    .await;
    assert_eq!(missing.ret(), 10001);
    // Spot market buy: qty in quote coin; fee in base coin. Sell: fee in quote coin.
    let buy = bybit(a, "POST", "/v5/order/create", r#"{"category":"spot","symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"650","orderLinkId":"s1"}"#).await;
    assert_eq!(buy.body["result"]["orderLinkId"], "s1");
    let dup = bybit(a, "POST", "/v5/order/create", r#"{"category":"spot","symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"650","orderLinkId":"s1"}"#).await;
    assert_eq!(dup.ret(), 170141);
    bybit(a, "POST", "/v5/order/create", r#"{"category":"spot","symbol":"BTCUSDT","side":"Sell","orderType":"Market","qty":"0.005"}"#).await;
    let ex = bybit(
        a,
        "GET",
        "/v5/execution/list",
        "category=spot&symbol=BTCUSDT",
    )
    .await;
    let l = ex.body["result"]["list"].as_array().unwrap();
    assert_eq!(l.len(), 2);
    assert_eq!(
        (
            l[1]["execQty"].as_str(),
            l[1]["feeCurrency"].as_str(),
            l[1]["execFee"].as_str()
        ),
        (Some("0.01"), Some("BTC"), Some("0.00001"))
    );
    assert_eq!(
        (l[0]["feeCurrency"].as_str(), l[0]["execFee"].as_str()),
        (Some("USDT"), Some("0.325"))
    );
    let page = bybit(
        a,
        "GET",
        "/v5/execution/list",
        "category=spot&symbol=BTCUSDT&limit=1",
    )
    .await;
    let cursor = page.body["result"]["nextPageCursor"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!cursor.is_empty());
    let next = bybit(
        a,
        "GET",
        "/v5/execution/list",
        &format!("category=spot&symbol=BTCUSDT&limit=1&cursor={cursor}"),
    )
    .await;
    assert_eq!(next.body["result"]["list"][0]["execId"], l[1]["execId"]);

    // Linear: resting limit, query, cancel, unknown order, duplicate, position, leverage.
    let lim = bybit(a, "POST", "/v5/order/create", r#"{"category":"linear","symbol":"ETHUSDT","side":"Buy","orderType":"Limit","qty":"1","price":"3000","orderLinkId":"l1"}"#).await;
    let oid = lim.body["result"]["orderId"].as_str().unwrap().to_string();
    let dup = bybit(a, "POST", "/v5/order/create", r#"{"category":"linear","symbol":"ETHUSDT","side":"Buy","orderType":"Limit","qty":"1","price":"3000","orderLinkId":"l1"}"#).await;
    assert_eq!(dup.ret(), 110072);
    let rt = bybit(
        a,
        "GET",
        "/v5/order/realtime",
        "category=linear&symbol=ETHUSDT&orderLinkId=l1",
    )
    .await;
    assert_eq!(
        (
            rt.body["result"]["list"][0]["orderStatus"].as_str(),
            rt.body["result"]["list"][0]["orderId"].as_str()
        ),
        (Some("New"), Some(oid.as_str()))
    );
    let c = bybit(
        a,
        "POST",
        "/v5/order/cancel",
        &format!(r#"{{"category":"linear","symbol":"ETHUSDT","orderId":"{oid}"}}"#),
    )
    .await;
    assert_eq!(c.ret(), 0);
    let c2 = bybit(
        a,
        "POST",
        "/v5/order/cancel",
        &format!(r#"{{"category":"linear","symbol":"ETHUSDT","orderId":"{oid}"}}"#),
    )
    .await;
    assert_eq!(c2.ret(), 110001);
    let c3 = bybit(
        a,
        "POST",
        "/v5/order/cancel",
        r#"{"category":"spot","symbol":"BTCUSDT","orderLinkId":"none"}"#,
    )
    .await;
    assert_eq!(c3.ret(), 170213);
    let post_only = bybit(a, "POST", "/v5/order/create", r#"{"category":"linear","symbol":"ETHUSDT","side":"Buy","orderType":"Limit","qty":"1","price":"3300","timeInForce":"PostOnly","orderLinkId":"po"}"#).await;
    assert_eq!(
        post_only.ret(),
        0,
        "accepted, then cancelled asynchronously"
    );
    let po = bybit(
        a,
        "GET",
        "/v5/order/realtime",
        "category=linear&symbol=ETHUSDT&orderLinkId=po",
    )
    .await;
    assert_eq!(po.body["result"]["list"][0]["orderStatus"], "Cancelled");
    bybit(
        a,
        "POST",
        "/v5/order/create",
        r#"{"category":"linear","symbol":"ETHUSDT","side":"Buy","orderType":"Market","qty":"2"}"#,
    )
    .await;
    admin(
        a,
        "POST",
        "/__admin/price",
        json!({"symbol": "ETHUSDT", "price": "3300", "venue": "bybit_linear"}),
    )
    .await;
    bybit(a, "POST", "/v5/order/create", r#"{"category":"linear","symbol":"ETHUSDT","side":"Sell","orderType":"Market","qty":"1","reduceOnly":true}"#).await;
    let pos = bybit(
        a,
        "GET",
        "/v5/position/list",
        "category=linear&symbol=ETHUSDT",
    )
    .await;
    let p = &pos.body["result"]["list"][0];
    assert_eq!(
        (
            p["side"].as_str(),
            p["size"].as_str(),
            p["avgPrice"].as_str(),
            p["cumRealisedPnl"].as_str()
        ),
        (Some("Buy"), Some("1"), Some("3200"), Some("100"))
    );
    let pnl = bybit(
        a,
        "GET",
        "/v5/position/closed-pnl",
        "category=linear&symbol=ETHUSDT",
    )
    .await;
    assert_eq!(
        pnl.body["result"]["list"][0]["closedPnl"], "98.185",
        "100 - 3300 x 0.055 %"
    );
    let lev = bybit(
        a,
        "POST",
        "/v5/position/set-leverage",
        r#"{"category":"linear","symbol":"ETHUSDT","buyLeverage":"20","sellLeverage":"20"}"#,
    )
    .await;
    assert_eq!(lev.ret(), 110043);
    let w = bybit(
        a,
        "GET",
        "/v5/account/wallet-balance",
        "accountType=UNIFIED&coin=USDT",
    )
    .await;
    assert_eq!(w.body["result"]["list"][0]["coin"][0]["coin"], "USDT");
    let info = get(
        a,
        "/v5/market/instruments-info?category=linear&symbol=BTCUSDT",
    )
    .await;
    assert_eq!(
        info.body["result"]["list"][0]["lotSizeFilter"]["qtyStep"],
        "0.001"
    );
    let tick = get(a, "/v5/market/tickers?category=spot&symbol=ETHUSDT").await;
    assert_eq!(tick.body["result"]["list"][0]["lastPrice"], "3200");
}

#[tokio::test]
async fn bybit_transaction_log_trades_and_funding() {
    let a = start().await;
    bybit(a, "POST", "/v5/order/create", r#"{"category":"linear","symbol":"ETHUSDT","side":"Buy","orderType":"Market","qty":"1","orderLinkId":"t1"}"#).await;
    let paid = admin(
        a,
        "POST",
        "/__admin/funding",
        json!({"symbol": "ETHUSDT", "rate": "0.0001", "venue": "bybit_linear"}),
    )
    .await;
    assert_eq!(paid["positions_paid"], 1);
    admin(
        a,
        "POST",
        "/__admin/price",
        json!({"symbol": "ETHUSDT", "price": "3300", "venue": "bybit_linear"}),
    )
    .await;
    bybit(a, "POST", "/v5/order/create", r#"{"category":"linear","symbol":"ETHUSDT","side":"Sell","orderType":"Market","qty":"1","reduceOnly":true}"#).await;
    let log = bybit(
        a,
        "GET",
        "/v5/account/transaction-log",
        "accountType=UNIFIED&category=linear&currency=USDT",
    )
    .await;
    assert_eq!(log.ret(), 0, "{:?}", log.body);
    let rows = log.body["result"]["list"].as_array().unwrap();
    let got: Vec<[&str; 6]> = rows
        .iter()
        .map(|r| {
            ["type", "change", "cashFlow", "fee", "size", "cashBalance"]
                .map(|k| r[k].as_str().unwrap())
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ["TRADE", "98.185", "100", "1.815", "0", "100096.105"],
            ["SETTLEMENT", "-0.32", "0", "0", "1", "99997.92"],
            ["TRADE", "-1.76", "0", "1.76", "1", "99998.24"],
        ]
    );
    assert_eq!(
        (rows[1]["funding"].as_str(), rows[1]["side"].as_str()),
        (Some("-0.32"), Some("Buy"))
    );
    assert_eq!(rows[2]["orderLinkId"], "t1");
    let only = bybit(
        a,
        "GET",
        "/v5/account/transaction-log",
        "category=linear&type=SETTLEMENT",
    )
    .await;
    assert_eq!(
        only.body["result"]["list"].as_array().map(Vec::len),
        Some(1)
    );
}
