//! Hostile input, as an attacker would write it (issue 26): every parser reachable from a
//! webhook, the admin API or an exchange answer is fed arbitrary Unicode, enormous numbers, deep
//! nesting, thousands of fields and huge keys, and must answer with a typed error (or a value),
//! never a panic. A panic in a Worker takes the whole WebAssembly instance down, and with it
//! every other bot's request in flight.
//!
//! Randomised parts use proptest with a fixed seed (printed; override with `PROPTEST_RNG_SEED`),
//! so CI runs the same cases every time and a failure reproduces.

use crate::config::BotConfig;
use crate::ids::{ClientOrderId, Symbol};
use crate::model::{Market, OrderQty, OrderRequest, OrderType, Side};
use crate::signal::{parse_signal, SignalError, KNOWN_FIELDS};
use crate::venue::binance::Binance;
use crate::venue::bybit::Bybit;
use crate::venue::testing::{fixture, response};
use crate::venue::{
    ExitKind, ExitRef, ExitTrigger, Protection, TradeCursor, Venue, VenueError, VenueOp,
};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, RngSeed};
use rust_decimal::Decimal;
use serde_json::{json, Value};

/// The seed CI uses; `PROPTEST_RNG_SEED` overrides it to explore or reproduce.
const SEED: u64 = 0x4b65_656c_2026;

fn seeded(cases: u32) -> ProptestConfig {
    let seed = std::env::var("PROPTEST_RNG_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SEED);
    eprintln!("hostile_tests: proptest seed {seed} (set PROPTEST_RNG_SEED to change)");
    ProptestConfig {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Characters that broke or could break byte-index code: accented, currency, emoji (4 bytes),
/// BOM, the replacement character the edge substitutes for invalid UTF-8, the last code point,
/// a lone combining mark, a right-to-left override and NUL.
const NASTY_CHARS: [char; 10] = [
    'é',
    '€',
    '😀',
    '\u{feff}',
    '\u{fffd}',
    '\u{10ffff}',
    '\u{301}',
    '\u{202e}',
    '\0',
    'ß',
];

/// Scalar JSON texts that are hostile as numbers or times.
const NASTY_SCALARS: [&str; 22] = [
    "1e400",
    "-1e400",
    "\"1e400\"",
    "123456789012345678901234567890",
    "-123456789012345678901234567890",
    "\"123456789012345678901234567890\"",
    "79228162514264337593543950336",
    "-0",
    "\"-0\"",
    "-0.0",
    "\"NaN\"",
    "\"Infinity\"",
    "\"-inf\"",
    "1e-400",
    "0.0000000000000000000000000000001",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "\"\\ud83d\\ude00\"",
    "\"\\ud800\"",
    "\"2019-08-27T09:56:00\\u00e9Z\"",
];

fn signal_body(field: &str, value_json: &str) -> String {
    let mut fields = vec![
        ("action", "\"buy\"".to_string()),
        ("symbol", "\"BTCUSDT\"".to_string()),
        ("qty", "\"0.01\"".to_string()),
    ];
    fields.retain(|(k, _)| *k != field);
    fields.push((field, value_json.to_string()));
    let inner: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
    format!("{{{}}}", inner.join(","))
}

/// The panic of issue 26, kept by name: a multi-byte character at byte 17 or 18 of `time`
/// made the ISO-8601 parser slice inside a character, before the secret was checked.
#[test]
fn regression_multi_byte_char_in_time_is_a_typed_error() {
    let base = "2019-08-27T09:56:00Z";
    for c in NASTY_CHARS {
        for at in 0..=base.len() {
            // Inserted at every byte position, and replacing the byte there.
            let mut inserted = base.to_string();
            inserted.insert(at, c);
            let mut replaced = base.to_string();
            if at < base.len() {
                replaced.replace_range(at..at + 1, &c.to_string());
            }
            for time in [inserted, replaced] {
                let body = signal_body("time", &serde_json::to_string(&time).unwrap());
                match parse_signal(body.as_bytes()) {
                    Err(e) => assert_eq!(e.field(), Some("time"), "{time:?}: {e}"),
                    Ok(_) if time == base => {}
                    Ok(p) => panic!("{time:?} accepted as {:?}", p.signal.time_ms),
                }
            }
        }
    }
    // The exact shapes of the report: é at byte 17, € at 18, an escaped surrogate pair, a BOM,
    // and invalid UTF-8 as raw bytes and as the U+FFFD the edge would decode it to.
    let bodies: Vec<Vec<u8>> = vec![
        signal_body("time", "\"2019-08-27T09:56:é0Z\"").into_bytes(),
        signal_body("time", "\"2019-08-27T09:56:0€Z\"").into_bytes(),
        signal_body("time", "\"2019-08-27T09:56:\\ud83d\\ude00Z\"").into_bytes(),
        signal_body("time", "\"2019-08-27T09:56:\u{feff}0Z\"").into_bytes(),
        signal_body("time", "\"2019-08-27T09:56:\u{fffd}0Z\"").into_bytes(),
        signal_body("time", "\"2019-08-27T09:56:\u{fffd}\u{fffd}Z\"").into_bytes(),
        {
            let mut b = signal_body("time", "\"2019-08-27T09:56:XXZ\"").into_bytes();
            let at = b.windows(2).position(|w| w == b"XX").unwrap();
            b[at] = 0xC3;
            b[at + 1] = 0x28;
            b
        },
    ];
    for body in bodies {
        let text = String::from_utf8_lossy(&body).into_owned();
        let err = parse_signal(&body).expect_err(&text);
        assert!(matches!(err.field(), Some("time") | None), "{text}: {err}");
        let lossy = parse_signal(text.as_bytes()).expect_err(&text);
        assert_eq!(lossy.field(), Some("time"), "{text}: {lossy}");
    }
}

/// Every known field of the webhook contract against every hostile scalar and character.
#[test]
fn every_signal_field_refuses_hostile_scalars_with_a_typed_error() {
    let mut refused = 0;
    for field in KNOWN_FIELDS {
        let mut values: Vec<String> = NASTY_SCALARS.iter().map(|s| s.to_string()).collect();
        for c in NASTY_CHARS {
            values.push(serde_json::to_string(&format!("{c}")).unwrap());
            values.push(serde_json::to_string(&format!("BTC{c}USDT")).unwrap());
            values.push(serde_json::to_string(&format!("0.0{c}1")).unwrap());
        }
        values.push(serde_json::to_string(&"x".repeat(20_000)).unwrap());
        for v in values {
            let body = signal_body(field, &v);
            if let Err(e) = parse_signal(body.as_bytes()) {
                // A typed error whose message stays bounded (no 20 KB echo).
                assert!(!e.code().is_empty());
                assert!(e.to_string().len() < 2_000, "{field}={v}: message too long");
                refused += 1;
            }
        }
    }
    assert!(refused > KNOWN_FIELDS.len() * 20, "only {refused} refused");
}

fn deep_json(levels: usize) -> String {
    format!("{}1{}", "[".repeat(levels), "]".repeat(levels))
}

fn deep_object(levels: usize) -> String {
    format!("{}1{}", "{\"a\":".repeat(levels), "}".repeat(levels))
}

fn many_fields(n: usize) -> String {
    let fields: Vec<String> = (0..n).map(|i| format!("\"f{i}\":{i}")).collect();
    format!("{{\"action\":\"buy\",{}}}", fields.join(","))
}

/// Deep nesting, thousands of fields and huge keys: refused, never a stack overflow.
#[test]
fn structural_hostility_is_refused() {
    let huge_key = format!("{{\"{}\":1,\"action\":\"buy\"}}", "k".repeat(100_000));
    let inputs = [
        deep_json(10_000),
        deep_object(10_000),
        signal_body("qty", &deep_json(10_000)),
        signal_body("symbol", &deep_object(10_000)),
        many_fields(5_000),
        huge_key,
        "\u{feff}".repeat(10_000),
        "{\"action\":\"buy\",\"action\":\"sell\",\"symbol\":\"BTCUSDT\"}".to_string(),
    ];
    for input in &inputs {
        let head: String = input.chars().take(40).collect();
        assert!(parse_signal(input.as_bytes()).is_err(), "signal {head}");
        assert!(
            BotConfig::from_json(input.as_bytes()).is_err(),
            "config {head}"
        );
    }
}

/// A bot config as the admin API receives it: the config tests' valid base, sized in % of equity.
fn config_json() -> Value {
    let mut c = crate::config::tests::base();
    c["sizing"] = json!({"mode": "pct_equity", "value": "10"});
    c
}

/// Every leaf of a JSON value, as a JSON pointer.
fn leaf_pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                leaf_pointers(child, format!("{at}/{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                leaf_pointers(child, format!("{at}/{i}"), out);
            }
        }
        _ => out.push(at),
    }
}

fn hostile_values() -> Vec<Value> {
    let mut out: Vec<Value> = NASTY_SCALARS
        .iter()
        .filter_map(|s| serde_json::from_str(s).ok())
        .collect();
    for c in NASTY_CHARS {
        out.push(Value::String(c.to_string()));
        out.push(Value::String(format!("1{c}")));
        out.push(Value::String(format!("BTC{c}USDT")));
    }
    out.push(Value::String("9".repeat(40)));
    out.push(Value::String("x".repeat(20_000)));
    out.push(json!([]));
    out.push(json!({}));
    out.push(Value::Null);
    out
}

/// `validate_sizing` multiplied `max_leverage` by 100 before its bound was checked: a huge
/// leverage overflowed `Decimal` and panicked in the admin API (issue 26, item 9).
#[test]
fn regression_huge_max_leverage_is_a_validation_error() {
    for lev in [
        "79228162514264337593543950335",
        "7922816251426433759354395033",
        "1e27",
        "-79228162514264337593543950335",
    ] {
        let mut c = config_json();
        c["risk"]["max_leverage"] = json!(lev);
        let err = BotConfig::from_json(c.to_string().as_bytes()).expect_err(lev);
        assert!(err.to_string().contains("max_leverage"), "{lev}: {err}");
        let base = BotConfig::from_value(config_json()).unwrap();
        let patched = base.apply_patch(&json!({"risk": {"max_leverage": lev}}));
        assert!(patched.is_err(), "{lev}");
    }
}

/// Every leaf of a valid config replaced by every hostile value, through both admin entry points
/// (create and patch): a typed error or a valid config, never a panic.
#[test]
fn every_config_leaf_takes_every_hostile_value() {
    let base = config_json();
    let valid = BotConfig::from_value(base.clone()).unwrap();
    let mut leaves = Vec::new();
    leaf_pointers(&base, String::new(), &mut leaves);
    let values = hostile_values();
    let mut refused = 0usize;
    for p in &leaves {
        for v in &values {
            let mut c = base.clone();
            if let Some(slot) = c.pointer_mut(p) {
                *slot = v.clone();
            }
            if BotConfig::from_json(c.to_string().as_bytes()).is_err() {
                refused += 1;
            }
            // The same value as a merge patch of that leaf.
            let mut patch = v.clone();
            for key in p.rsplit('/').filter(|k| !k.is_empty()) {
                patch = if let Ok(i) = key.parse::<usize>() {
                    let mut arr = vec![Value::Null; i + 1];
                    arr[i] = patch;
                    Value::Array(arr)
                } else {
                    json!({ key: patch })
                };
            }
            let _ = valid.apply_patch(&patch);
        }
    }
    assert!(refused > leaves.len() * 5, "only {refused} refused");
}

fn coid() -> ClientOrderId {
    ClientOrderId::new("k-hostile-1").unwrap()
}

fn sym() -> Symbol {
    Symbol::new("BTCUSDT").unwrap()
}

fn ops() -> Vec<VenueOp> {
    let req = OrderRequest {
        client_order_id: coid(),
        symbol: sym(),
        side: Side::Buy,
        order_type: OrderType::Limit,
        qty: OrderQty::Base(Decimal::ONE),
        price: Some(Decimal::ONE_HUNDRED),
        time_in_force: None,
        reduce_only: false,
    };
    vec![
        VenueOp::PlaceOrder(req.clone()),
        VenueOp::PlaceProtectedOrder {
            order: req,
            protection: Protection {
                stop_loss: Some(Decimal::ONE),
                take_profit: None,
            },
        },
        VenueOp::PlaceExitTrigger(ExitTrigger {
            client_order_id: coid(),
            symbol: sym(),
            close_side: Side::Sell,
            kind: ExitKind::StopLoss,
            trigger_price: Decimal::ONE,
            qty: None,
        }),
        VenueOp::CancelExit(ExitRef {
            symbol: sym(),
            client_order_id: coid(),
            list_client_order_id: None,
        }),
        VenueOp::QueryExitTrigger {
            symbol: sym(),
            client_order_id: coid(),
        },
        VenueOp::ExitFills {
            symbol: sym(),
            since_ms: 0,
            order_id: Some("1".into()),
        },
        VenueOp::CancelOrder {
            symbol: sym(),
            client_order_id: coid(),
        },
        VenueOp::CancelAll { symbol: sym() },
        VenueOp::QueryOrder {
            symbol: sym(),
            client_order_id: coid(),
        },
        VenueOp::QueryOrderHistory {
            symbol: sym(),
            client_order_id: coid(),
        },
        VenueOp::OpenOrders { symbol: None },
        VenueOp::Balances,
        VenueOp::Positions { symbol: None },
        VenueOp::Trades {
            symbol: sym(),
            cursor: TradeCursor::from_time(0),
        },
        VenueOp::Funding {
            symbol: None,
            cursor: TradeCursor::from_time(0),
        },
        VenueOp::InstrumentRules { symbol: None },
        VenueOp::Ticker { symbol: sym() },
        VenueOp::ServerTime,
        VenueOp::Klines {
            symbol: sym(),
            interval: crate::market::Timeframe::M1,
            start_ms: None,
            end_ms: None,
            limit: 10,
        },
    ]
}

fn venues() -> Vec<Box<dyn Venue>> {
    vec![
        Box::new(Binance::new(Market::Spot, 5_000)),
        Box::new(Binance::new(Market::Linear, 5_000)),
        Box::new(Bybit::new(Market::Spot, 5_000)),
        Box::new(Bybit::new(Market::Linear, 5_000)),
    ]
}

/// Captured exchange answers and the operations each answers (its venue family's spot and
/// linear adapters parse it).
const FIXTURES: [(&str, &[&str]); 24] = [
    ("binance/futures_balance.json", &["Balances"]),
    ("binance/futures_exchange_info.json", &["InstrumentRules"]),
    ("binance/futures_income.json", &["Funding"]),
    (
        "binance/futures_order_result.json",
        &["PlaceOrder", "QueryOrder", "CancelOrder"],
    ),
    ("binance/futures_position_risk.json", &["Positions"]),
    ("binance/futures_user_trades.json", &["Trades"]),
    ("binance/spot_account.json", &["Balances"]),
    ("binance/spot_cancel_all.json", &["CancelAll"]),
    ("binance/spot_cancel_order.json", &["CancelOrder"]),
    ("binance/spot_exchange_info.json", &["InstrumentRules"]),
    ("binance/spot_my_trades.json", &["Trades", "ExitFills"]),
    (
        "binance/spot_order_full.json",
        &["PlaceOrder", "QueryOrder"],
    ),
    ("bybit/cancel_all.json", &["CancelAll"]),
    ("bybit/execution_list.json", &["Trades"]),
    ("bybit/execution_list_tpsl.json", &["ExitFills", "Trades"]),
    ("bybit/instruments_linear.json", &["InstrumentRules"]),
    ("bybit/instruments_spot.json", &["InstrumentRules"]),
    (
        "bybit/order_create.json",
        &["PlaceOrder", "PlaceProtectedOrder", "CancelOrder"],
    ),
    ("bybit/order_empty.json", &["QueryOrder"]),
    (
        "bybit/order_realtime.json",
        &["QueryOrder", "OpenOrders", "QueryOrderHistory"],
    ),
    ("bybit/position_list.json", &["Positions"]),
    ("bybit/tickers_linear.json", &["Ticker"]),
    ("bybit/time.json", &["ServerTime"]),
    ("bybit/wallet_balance.json", &["Balances"]),
];

/// The operation's variant name (`PlaceOrder`), to pick the operations a fixture answers.
fn op_name(op: &VenueOp) -> String {
    let debug = format!("{op:?}");
    debug
        .split(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Parses `body` as the answer to every operation of every venue, with success and error
/// statuses: whatever comes back is a value or a typed [`VenueError`].
fn parse_everywhere(body: &str) {
    let venues = venues();
    let ops = ops();
    for status in [200u16, 418] {
        let resp = response(
            status,
            &[("x-mbx-used-weight-1m", body.get(..20).unwrap_or(body))],
            body,
        );
        for v in &venues {
            for op in &ops {
                let _ = v.observe(op, &resp);
                if let Err(e) = v.parse(op, &resp) {
                    let _: &VenueError = &e;
                    let _ = e.to_string();
                }
            }
        }
    }
}

/// Real exchange answers with one leaf replaced by a hostile value, parsed as the answers they
/// are by the spot and linear adapters of their exchange.
#[test]
fn exchange_answers_with_hostile_leaves_never_panic() {
    // A focused set (each class once) keeps this under ~15 s in a debug build.
    let values: Vec<Value> = [
        "1e400",
        "-123456789012345678901234567890",
        "\"123456789012345678901234567890\"",
        "-0",
        "\"NaN\"",
        "9223372036854775808",
        "\"79228162514264337593543950336\"",
        "\"é\"",
        "\"1€\"",
        "\"😀\"",
        "\"\\ufffd\"",
        "[]",
        "{}",
        "null",
    ]
    .iter()
    .map(|t| serde_json::from_str(t).unwrap())
    .collect();
    let all_venues = venues();
    let all_ops = ops();
    let mut parsed = 0usize;
    for (name, op_names) in FIXTURES {
        let original: Value = serde_json::from_str(&fixture(name)).unwrap();
        let mut leaves = Vec::new();
        leaf_pointers(&original, String::new(), &mut leaves);
        let family = if name.starts_with("binance/") {
            crate::model::Exchange::Binance
        } else {
            crate::model::Exchange::Bybit
        };
        let venues: Vec<&Box<dyn Venue>> = all_venues
            .iter()
            .filter(|v| v.exchange() == family)
            .collect();
        let ops: Vec<&VenueOp> = all_ops
            .iter()
            .filter(|op| op_names.contains(&op_name(op).as_str()))
            .collect();
        assert_eq!(ops.len(), op_names.len(), "{name}: {op_names:?}");
        for p in &leaves {
            for v in &values {
                let mut doc = original.clone();
                if let Some(slot) = doc.pointer_mut(p) {
                    *slot = v.clone();
                }
                let resp = response(200, &[], &doc.to_string());
                for venue in &venues {
                    for op in &ops {
                        let _ = venue.parse(op, &resp);
                        parsed += 1;
                    }
                }
            }
        }
    }
    assert!(parsed > 20_000, "{parsed}");
}

#[test]
fn exchange_answers_of_hostile_shape_never_panic() {
    let mut bodies = vec![
        String::new(),
        "null".into(),
        "[]".into(),
        "{}".into(),
        deep_json(10_000),
        deep_object(10_000),
        many_fields(5_000),
        format!("{{\"{}\":1}}", "k".repeat(100_000)),
        "{\"code\":-1021,\"msg\":\"é€😀\"}".into(),
        "{\"retCode\":10002,\"retMsg\":\"\u{fffd}\",\"result\":{}}".into(),
        "{\"retCode\":0,\"retMsg\":\"OK\",\"result\":{\"list\":[{}]}}".into(),
        "{\"retCode\":0,\"result\":{\"list\":[[\"1e400\",\"-0\",\"NaN\"]]}}".into(),
        "[[1e400,\"1e400\",\"-0\",\"NaN\",\"123456789012345678901234567890\",\"1\",1,\"1\",1,1,1,1]]"
            .into(),
    ];
    for c in NASTY_CHARS {
        bodies.push(format!("{{\"serverTime\":\"{c}\",\"time\":\"1{c}\"}}"));
    }
    for s in NASTY_SCALARS {
        bodies.push(format!("{{\"serverTime\":{s},\"retCode\":0,\"time\":{s},\"result\":{{\"timeSecond\":{s},\"timeNano\":{s}}}}}"));
    }
    for b in &bodies {
        parse_everywhere(b);
    }
}

fn arbitrary_unicode() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "\\PC{0,64}",
        proptest::collection::vec(proptest::sample::select(NASTY_CHARS.to_vec()), 0..40)
            .prop_map(|v| v.into_iter().collect()),
    ]
}

proptest! {
    #![proptest_config(seeded(1500))]

    /// Arbitrary Unicode in every field of the webhook: a typed error or a signal.
    #[test]
    fn signal_fields_take_arbitrary_unicode(
        field in proptest::sample::select(KNOWN_FIELDS.to_vec()),
        text in arbitrary_unicode(),
    ) {
        let body = signal_body(field, &serde_json::to_string(&text).unwrap());
        let _ = parse_signal(body.as_bytes()).map_err(|e: SignalError| e.code());
    }

    /// Arbitrary Unicode spliced into a valid ISO time at any character position.
    #[test]
    fn times_with_arbitrary_unicode_never_panic(text in arbitrary_unicode(), at in 0usize..24) {
        let mut chars: Vec<char> = "2019-08-27T09:56:00.123Z".chars().collect();
        let at = at.min(chars.len());
        chars.splice(at..at, text.chars());
        let time: String = chars.into_iter().collect();
        let _ = crate::calendar::parse_iso8601_utc_ms(&time);
        let body = signal_body("time", &serde_json::to_string(&time).unwrap());
        let _ = parse_signal(body.as_bytes());
    }

    /// Arbitrary Unicode as a whole exchange answer.
    #[test]
    fn exchange_answers_take_arbitrary_unicode(text in arbitrary_unicode()) {
        let venues = venues();
        let resp = response(200, &[("date", &text)], &text);
        for v in &venues {
            for op in ops() {
                let _ = v.observe(&op, &resp);
                let _ = v.parse(&op, &resp);
            }
        }
    }

    /// Arbitrary Unicode as a whole config or patch field value.
    #[test]
    fn config_takes_arbitrary_unicode(
        text in arbitrary_unicode(),
        key in proptest::sample::select(vec![
            "id", "name", "strategy", "exchange", "market", "mode", "base_url",
        ]),
    ) {
        let mut c = config_json();
        c[key] = Value::String(text.clone());
        let _ = BotConfig::from_json(c.to_string().as_bytes());
        let valid = BotConfig::from_value(config_json()).unwrap();
        let _ = valid.apply_patch(&json!({ key: text.clone() }));
        let _ = valid.apply_patch(&json!({ "risk": { text: "1" } }));
    }
}
