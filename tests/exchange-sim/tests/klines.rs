//! Kline endpoints: real response shapes, paging per exchange, weights, and the link between the
//! last bar's close and the price orders fill at.

mod common;

use common::*;
use serde_json::json;

const M: i64 = 60_000;

async fn loaded() -> (std::net::SocketAddr, i64) {
    let addr = start().await;
    let t0 = (now_ms() / (5 * M) - 100) * 5 * M;
    let r = admin(
        addr,
        "POST",
        "/__admin/klines",
        json!({"symbol": "BTCUSDT", "interval": "1m", "generate": {"count": 20, "start_ms": t0, "start_price": "30000", "seed": 3}}),
    )
    .await;
    assert_eq!(r["bars"], 20, "{r}");
    (addr, t0)
}

#[tokio::test]
async fn binance_spot_and_futures_shapes_and_paging() {
    let (addr, t0) = loaded().await;
    let all = get(addr, "/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1000").await;
    assert_eq!(all.status, 200);
    let rows = all.body.as_array().unwrap();
    assert_eq!(rows.len(), 20);
    let first = rows[0].as_array().unwrap();
    assert_eq!(first.len(), 12);
    assert_eq!(first[0], json!(t0));
    assert_eq!(first[6], json!(t0 + M - 1));
    assert!(first[1].is_string() && first[4].is_string());
    assert_eq!(all.header("x-mbx-used-weight-1m"), Some("2"));
    // startTime: the first `limit` from it; endTime alone: the last `limit` up to it.
    let page = get(
        addr,
        &format!(
            "/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime={}&limit=3",
            t0 + 5 * M
        ),
    )
    .await;
    let opens: Vec<i64> = page
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[0].as_i64().unwrap())
        .collect();
    assert_eq!(opens, vec![t0 + 5 * M, t0 + 6 * M, t0 + 7 * M]);
    let tail = get(
        addr,
        &format!(
            "/api/v3/klines?symbol=BTCUSDT&interval=1m&endTime={}&limit=2",
            t0 + 5 * M
        ),
    )
    .await;
    assert_eq!(tail.body[1][0], json!(t0 + 5 * M));
    // 5-minute bars aggregate the 1-minute history.
    let agg = get(addr, "/api/v3/klines?symbol=BTCUSDT&interval=5m").await;
    assert_eq!(agg.body.as_array().unwrap().len(), 4);
    assert_eq!(
        agg.body[0][4], rows[4][4],
        "close of a 5m bar = close of its last minute"
    );
    // Futures: same bars on the futures tick, weight by limit.
    let fut = get(addr, "/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=100").await;
    assert_eq!(fut.body.as_array().unwrap().len(), 20);
    assert_eq!(fut.header("x-mbx-used-weight-1m"), Some("2"));
    let bad = get(addr, "/api/v3/klines?symbol=BTCUSDT&interval=7m").await;
    assert_eq!((bad.status, bad.code()), (400, -1120));
    // The last close is the price market orders fill at.
    let last_close: f64 = rows[19][4].as_str().unwrap().parse().unwrap();
    let price = get(addr, "/api/v3/ticker/price?symbol=BTCUSDT").await;
    assert_eq!(num(&price.body["price"]), last_close);
    let buy = binance(
        addr,
        "POST",
        "/api/v3/order",
        "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.001&newOrderRespType=FULL",
    )
    .await;
    assert_eq!(
        num(&buy.body["fills"][0]["price"]),
        last_close,
        "{:?}",
        buy.body
    );
}

#[tokio::test]
async fn bybit_newest_first_and_append_moves_price() {
    let (addr, t0) = loaded().await;
    let r = get(
        addr,
        &format!(
            "/v5/market/kline?category=spot&symbol=BTCUSDT&interval=1&start={}&end={}&limit=3",
            t0,
            t0 + 10 * M
        ),
    )
    .await;
    assert_eq!(r.ret(), 0, "{:?}", r.body);
    let list = r.body["result"]["list"].as_array().unwrap();
    let starts: Vec<String> = list
        .iter()
        .map(|x| x[0].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        starts,
        vec![
            (t0 + 10 * M).to_string(),
            (t0 + 9 * M).to_string(),
            (t0 + 8 * M).to_string()
        ]
    );
    assert_eq!(list[0].as_array().unwrap().len(), 7);
    let next = t0 + 20 * M;
    let a = admin(
        addr,
        "POST",
        "/__admin/klines",
        json!({"symbol": "BTCUSDT", "interval": "1m", "append": true,
        "bars": [[next, "31000", "31010", "30990", "31000.5", "2"]]}),
    )
    .await;
    assert_eq!(a["bars"], 21, "{a}");
    let lin = get(
        addr,
        "/v5/market/kline?category=linear&symbol=BTCUSDT&interval=1&limit=1",
    )
    .await;
    assert_eq!(lin.body["result"]["list"][0][4], json!("31000.5"));
    let t = get(addr, "/v5/market/tickers?category=spot&symbol=BTCUSDT").await;
    assert_eq!(t.body["result"]["list"][0]["lastPrice"], json!("31000.5"));
    let gap = admin(
        addr,
        "POST",
        "/__admin/klines",
        json!({"symbol": "BTCUSDT", "interval": "1m", "append": true,
        "bars": [[next + 2 * M, "1", "1", "1", "1", "1"]]}),
    )
    .await;
    assert!(
        gap["error"].as_str().unwrap().contains("does not follow"),
        "{gap}"
    );
}
