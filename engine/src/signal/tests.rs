use super::*;
use rust_decimal_macros::dec;

fn parse(json: &str) -> Result<ParsedSignal, SignalError> {
    parse_signal(json.as_bytes())
}

#[test]
fn full_alert_parses_exactly() {
    let body = r#"{"secret":"s3cr3t","id":"Long-2019-08-27T09:56:00Z","action":"buy",
        "symbol":"BINANCE:BTCUSDT","qty":"0.010","order_type":"limit","price":65000.12345678901234,
        "stop_loss":"61000","take_profit":69000,"time":"2019-08-27T09:56:00Z",
        "target_position":"0.01"}"#;
    let p = parse(body).unwrap();
    let s = &p.signal;
    assert_eq!(s.action, Action::Buy);
    assert_eq!(s.symbol.as_ref().map(|x| x.as_str()), Some("BTCUSDT"));
    assert_eq!(s.sizing, Some(SignalSizing::Qty(dec!(0.010))));
    assert_eq!(s.order_type, OrderType::Limit);
    assert_eq!(s.price, Some(dec!(65000.12345678901234)));
    assert_eq!(s.stop_loss, Some(dec!(61000)));
    assert_eq!(s.take_profit, Some(dec!(69000)));
    assert_eq!(s.time_ms, Some(1_566_899_760_000));
    assert_eq!(s.target_position, Some(dec!(0.01)));
    assert_eq!(p.signal_id.as_str(), "Long-2019-08-27T09:56:00Z");
    assert_eq!(p.secret, Some(WebhookSecret::new("s3cr3t")));
    assert!(
        !format!("{p:?}").contains("s3cr3t"),
        "Debug never shows the secret"
    );
    let json = serde_json::to_string(&p.signal).unwrap();
    assert!(!json.contains("s3cr3t"));
}

#[test]
fn minimal_and_plain_text() {
    let p =
        parse_signal(b"\xEF\xBB\xBF  {\"action\":\"SELL\",\"symbol\":\"ETHUSDT.P\"}\n").unwrap();
    assert_eq!(p.signal.action, Action::Sell);
    assert_eq!(p.signal.sizing, None, "no sizing field = the bot's default");
    assert_eq!(p.signal.order_type, OrderType::Market);
    assert!(p.signal_id.as_str().starts_with("body-"));
    let t = parse(r#"{"action":"target","symbol":"BTCUSDT","target_position":"-0.5"}"#).unwrap();
    assert_eq!(t.signal.target_position, Some(dec!(-0.5)));
    let c = parse(r#"{"action":"cancel_all"}"#).unwrap();
    assert_eq!(c.signal.symbol, None);
    let n = parse(r#"{"action":"buy","symbol":"BTCUSDT","stop_loss":null}"#).unwrap();
    assert_eq!(n.signal.stop_loss, None, "null = absent");
}

#[test]
fn rejections_name_the_field() {
    struct Case {
        body: &'static str,
        code: &'static str,
        field: Option<&'static str>,
        kind: SignalErrorKind,
    }
    use SignalErrorKind::{Invalid, Malformed};
    let c = |body, code, field, kind| Case {
        body,
        code,
        field,
        kind,
    };
    let cases = [
        c("", "malformed_json", None, Malformed),
        c("[1,2]", "malformed_json", None, Malformed),
        c("buy BTCUSDT", "malformed_json", None, Malformed),
        c(r#"{"action":"buy"} x"#, "malformed_json", None, Malformed),
        c(
            r#"{"action":"buy","symbol":"BTCUSDT","qyt":"1"}"#,
            "unknown_field",
            Some("qyt"),
            Malformed,
        ),
        c(
            r#"{"action":"buy","symbol":"X","action":"sell"}"#,
            "duplicate_field",
            Some("action"),
            Malformed,
        ),
        c(
            r#"{"symbol":"BTCUSDT"}"#,
            "missing_field",
            Some("action"),
            Malformed,
        ),
        c(
            r#"{"action":"hodl","symbol":"BTCUSDT"}"#,
            "malformed_field",
            Some("action"),
            Malformed,
        ),
        c(
            r#"{"action":"buy"}"#,
            "missing_field",
            Some("symbol"),
            Malformed,
        ),
        c(
            r#"{"action":"buy","symbol":"{{ticker}}"}"#,
            "malformed_field",
            Some("symbol"),
            Malformed,
        ),
        c(
            r#"{"action":"buy","symbol":"BTCUSDT","qty":"abc"}"#,
            "malformed_field",
            Some("qty"),
            Malformed,
        ),
        c(
            r#"{"action":"buy","symbol":"BTCUSDT","qty":"{{strategy.order.contracts}}"}"#,
            "malformed_field",
            Some("qty"),
            Malformed,
        ),
        c(
            r#"{"action":"buy","symbol":"BTCUSDT","qty":[1]}"#,
            "malformed_field",
            Some("qty"),
            Malformed,
        ),
        c(
            r#"{"action":"buy","symbol":"BTCUSDT","qty":"0"}"#,
            "invalid_field",
            Some("qty"),
            Invalid,
        ),
        c(
            r#"{"action":"buy","symbol":"BTCUSDT","qty":"-1"}"#,
            "invalid_field",
            Some("qty"),
            Invalid,
        ),
        c(
            r#"{"action":"buy","symbol":"BTCUSDT","qty":"1","quote_qty":"5"}"#,
            "invalid_field",
            Some("qty"),
            Invalid,
        ),
        c(
            r#"{"action":"buy","symbol":"BTCUSDT","size_pct":"101"}"#,
            "invalid_field",
            Some("size_pct"),
            Invalid,
        ),
        c(
            r#"{"action":"target","symbol":"BTCUSDT"}"#,
            "missing_field",
            Some("target_position"),
            Malformed,
        ),
        c(
            r#"{"action":"target","symbol":"BTCUSDT","target_position":"1","qty":"1"}"#,
            "invalid_field",
            Some("qty"),
            Invalid,
        ),
        c(
            r#"{"action":"close","symbol":"BTCUSDT","qty":"1"}"#,
            "invalid_field",
            Some("qty"),
            Invalid,
        ),
        c(
            r#"{"action":"cancel_all","price":"1"}"#,
            "invalid_field",
            Some("price"),
            Invalid,
        ),
        c(
            r#"{"action":"buy","symbol":"BTCUSDT","order_type":"limit"}"#,
            "missing_field",
            Some("price"),
            Malformed,
        ),
        c(
            r#"{"action":"buy","symbol":"BTCUSDT","order_type":"stop"}"#,
            "malformed_field",
            Some("order_type"),
            Malformed,
        ),
        c(
            r#"{"action":"buy","symbol":"BTCUSDT","price":"100","stop_loss":"101"}"#,
            "invalid_field",
            Some("stop_loss"),
            Invalid,
        ),
        c(
            r#"{"action":"sell","symbol":"BTCUSDT","price":"100","take_profit":"101"}"#,
            "invalid_field",
            Some("take_profit"),
            Invalid,
        ),
        c(
            r#"{"action":"buy","symbol":"BTCUSDT","time":"yesterday"}"#,
            "malformed_field",
            Some("time"),
            Malformed,
        ),
        c(
            r#"{"action":"buy","symbol":"BTCUSDT","id":""}"#,
            "malformed_field",
            Some("id"),
            Malformed,
        ),
        c(
            r#"{"action":"buy","symbol":"BTCUSDT","secret":7}"#,
            "malformed_field",
            Some("secret"),
            Malformed,
        ),
    ];
    for case in cases {
        let err = parse(case.body).unwrap_err();
        assert_eq!(err.code(), case.code, "{} -> {err}", case.body);
        assert_eq!(err.field(), case.field, "{}", case.body);
        assert_eq!(err.kind(), case.kind, "{}", case.body);
    }
}

#[test]
fn size_cap() {
    let mut body = br#"{"action":"buy","symbol":"BTCUSDT","id":""#.to_vec();
    body.resize(MAX_BODY_BYTES + 1, b'a');
    let err = parse_signal(&body).unwrap_err();
    assert_eq!(err.kind(), SignalErrorKind::TooLarge);
    assert_eq!(err.code(), "body_too_large");
}

#[test]
fn dedupe_key_ignores_secret_and_whitespace_but_not_time() {
    let a = parse(r#"{"secret":"a","action":"buy","symbol":"BTCUSDT","time":1700000000}"#).unwrap();
    let b = parse(r#"{ "action":"buy", "symbol":"BTCUSDT", "time":1700000000, "secret":"b" }"#)
        .unwrap();
    let c = parse(r#"{"secret":"a","action":"buy","symbol":"BTCUSDT","time":1700000060}"#).unwrap();
    assert_eq!(a.signal_id, b.signal_id);
    assert_ne!(
        a.signal_id, c.signal_id,
        "a second scale-in a minute later is a new signal"
    );
}
