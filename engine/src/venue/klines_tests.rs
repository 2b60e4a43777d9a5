//! Candles through both adapters: request shapes (paths, labels, paging parameters, weights) and
//! parsing of the documented response rows, oldest first whatever the exchange's order.

use crate::ids::Symbol;
use crate::market::Timeframe;
use crate::model::Market;
use crate::venue::binance::Binance;
use crate::venue::bybit::Bybit;
use crate::venue::clock::ServerClock;
use crate::venue::testing::response;
use crate::venue::{BuildCtx, Planned, Venue, VenueError, VenueOp, VenueReply};
use rust_decimal_macros::dec;

fn op(tf: &str, start: Option<i64>, end: Option<i64>, limit: u32) -> VenueOp {
    VenueOp::Klines {
        symbol: Symbol::new("BTCUSDT").unwrap(),
        interval: Timeframe::parse(tf).unwrap(),
        start_ms: start,
        end_ms: end,
        limit,
    }
}

fn url(v: &mut dyn Venue, op: &VenueOp) -> Result<String, VenueError> {
    let clock = ServerClock::new();
    let ctx = BuildCtx {
        creds: None,
        clock: &clock,
        now_ms: 1_700_000_000_000,
        base_url: "http://sim",
    };
    match v.build(op, &ctx)? {
        Planned::Http(r) => {
            assert!(
                r.signed.is_none() && r.headers.is_empty(),
                "public: unsigned"
            );
            Ok(r.path_and_query)
        }
        Planned::Immediate(_) => panic!("klines need HTTP"),
    }
}

#[test]
fn request_shapes_table() {
    struct Case {
        venue: Box<dyn Venue>,
        op: VenueOp,
        want: &'static str,
        weight: u32,
    }
    let cases = vec![
        Case {
            venue: Box::new(Binance::new(Market::Spot, 5000)),
            op: op("1m", None, None, 100),
            want: "/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=100",
            weight: 2,
        },
        Case {
            venue: Box::new(Binance::new(Market::Linear, 5000)),
            op: op("4h", Some(10), Some(20), 1500),
            want: "/fapi/v1/klines?symbol=BTCUSDT&interval=4h&startTime=10&endTime=20&limit=1500",
            weight: 10,
        },
        Case {
            venue: Box::new(Binance::new(Market::Linear, 5000)),
            op: op("1m", None, None, 99),
            want: "/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=99",
            weight: 1,
        },
        Case {
            venue: Box::new(Bybit::new(Market::Spot, 5000)),
            op: op("1h", Some(5), None, 200),
            want: "/v5/market/kline?category=spot&symbol=BTCUSDT&interval=60&start=5&limit=200",
            weight: 1,
        },
        Case {
            venue: Box::new(Bybit::new(Market::Linear, 5000)),
            op: op("1d", None, Some(9), 1000),
            want: "/v5/market/kline?category=linear&symbol=BTCUSDT&interval=D&end=9&limit=1000",
            weight: 1,
        },
    ];
    for mut c in cases {
        assert_eq!(url(c.venue.as_mut(), &c.op).unwrap(), c.want);
        assert_eq!(c.venue.cost(&c.op).weight, c.weight, "{}", c.want);
        assert!(!c.venue.needs_clock(&c.op));
    }
    let mut spot = Binance::new(Market::Spot, 5000);
    assert!(matches!(
        url(&mut spot, &op("1m", None, None, 1001)),
        Err(VenueError::Unsupported { .. })
    ));
    let mut by = Bybit::new(Market::Spot, 5000);
    assert!(matches!(
        url(&mut by, &op("8h", None, None, 10)),
        Err(VenueError::Unsupported { .. })
    ));
}

#[test]
fn parses_binance_rows_and_bybit_newest_first() {
    let bn = Binance::new(Market::Spot, 5000);
    let body = r#"[[1499040000000,"0.01634790","0.80000000","0.01575800","0.01577100","148976.11427815",1499644799999,"2434.19055334",308,"1756.87402397","28.46694368","0"],
        [1499040060000,"0.01577100","0.01600000","0.01500000","0.01590000","10.5",1499040119999,"1",3,"1","1","0"]]"#;
    let Ok(VenueReply::Klines(k)) = bn.parse(&op("1m", None, None, 2), &response(200, &[], body))
    else {
        panic!("binance klines")
    };
    assert_eq!(k.len(), 2);
    assert_eq!(
        (k[0].open_time_ms, k[0].close, k[0].volume),
        (1_499_040_000_000, dec!(0.01577100), dec!(148976.11427815))
    );
    assert_eq!(k[1].to_bar().close, 0.0159);
    let by = Bybit::new(Market::Linear, 5000);
    let body = r#"{"retCode":0,"retMsg":"OK","result":{"symbol":"BTCUSDT","category":"linear","list":[
        ["1670608800000","17071","17073","17027","17055.5","268611","15.74462667"],
        ["1670605200000","17071.5","17071.5","17061","17071","4177","0.24469757"]]},"retExtInfo":{},"time":1672025956592}"#;
    let Ok(VenueReply::Klines(k)) = by.parse(&op("1h", None, None, 2), &response(200, &[], body))
    else {
        panic!("bybit klines")
    };
    assert_eq!(
        k.iter().map(|b| b.open_time_ms).collect::<Vec<_>>(),
        vec![1_670_605_200_000, 1_670_608_800_000]
    );
    assert_eq!(k[1].close, dec!(17055.5));
    let bad = r#"{"retCode":10001,"retMsg":"params error: interval invalid","result":{},"retExtInfo":{},"time":1}"#;
    assert!(by
        .parse(&op("1h", None, None, 2), &response(200, &[], bad))
        .is_err());
    assert!(matches!(
        bn.parse(
            &op("1m", None, None, 2),
            &response(200, &[], r#"[[1,"x"]]"#)
        ),
        Err(VenueError::Parse { .. })
    ));
}
