//! Property tests of the webhook parser: no input panics it, and valid alerts round-trip.

use super::*;
use proptest::prelude::*;
use rust_decimal::Decimal;

fn decimal_text() -> impl Strategy<Value = (Decimal, String)> {
    (1u64..10_000_000_000u64, 0u32..12).prop_map(|(mantissa, scale)| {
        let d = Decimal::new(i64::try_from(mantissa).unwrap_or(1), scale);
        (d, d.to_string())
    })
}

fn field_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,12}".prop_map(|s| serde_json::to_string(&s).unwrap()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| format!("{f:e}")),
        Just("null".to_string()),
        Just("true".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
    ]
}

proptest! {
    #![proptest_config(crate::prop_seed::config(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse_signal(&bytes);
    }

    #[test]
    fn objects_of_known_fields_never_panic(
        entries in proptest::collection::vec(
            (proptest::sample::select(KNOWN_FIELDS.to_vec()), field_value()), 0..10)
    ) {
        let body = format!(
            "{{{}}}",
            entries.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect::<Vec<_>>().join(",")
        );
        if let Ok(parsed) = parse_signal(body.as_bytes()) {
            // Whatever passes is internally consistent.
            let s = parsed.signal;
            prop_assert!(s.symbol.is_some() || s.action == Action::CancelAll);
            prop_assert!(s.order_type != OrderType::Limit || s.price.is_some());
            prop_assert!(s.action != Action::Target || s.target_position.is_some());
        }
    }

    #[test]
    fn valid_alerts_round_trip(
        action in proptest::sample::select(vec!["buy", "sell"]),
        symbol in "[A-Z]{2,6}(USDT|USDC)",
        prefix in proptest::sample::select(vec!["", "BINANCE:", "BYBIT:"]),
        (qty, qty_text) in decimal_text(),
        qty_as_number in any::<bool>(),
        (price, price_text) in decimal_text(),
        time_secs in 1_500_000_000i64..2_000_000_000i64,
        id in proptest::option::of("[A-Za-z0-9_-]{1,40}"),
    ) {
        let qty_json = if qty_as_number { qty_text.clone() } else { format!("\"{qty_text}\"") };
        let id_json = id.as_ref().map(|i| format!(",\"id\":\"{i}\"")).unwrap_or_default();
        let body = format!(
            "{{\"secret\":\"x\",\"action\":\"{action}\",\"symbol\":\"{prefix}{symbol}\",\
             \"qty\":{qty_json},\"order_type\":\"limit\",\"price\":\"{price_text}\",\
             \"time\":{time_secs}{id_json}}}"
        );
        let parsed = parse_signal(body.as_bytes()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let s = &parsed.signal;
        prop_assert_eq!(s.action.as_str(), action);
        prop_assert_eq!(s.symbol.as_ref().map(|x| x.as_str().to_string()), Some(symbol.clone()));
        prop_assert_eq!(s.sizing, Some(SignalSizing::Qty(qty)));
        prop_assert_eq!(s.price, Some(price));
        prop_assert_eq!(s.time_ms, Some(time_secs * 1000));
        if let Some(i) = &id {
            prop_assert_eq!(parsed.signal_id.as_str(), i.as_str());
        }
        // Re-rendering the parsed signal gives the same signal back.
        let again = format!(
            "{{\"action\":\"{}\",\"symbol\":\"{}\",\"qty\":\"{}\",\"order_type\":\"limit\",\
             \"price\":\"{}\",\"time\":{}{id_json}}}",
            s.action.as_str(), symbol, qty, price, time_secs
        );
        let reparsed = parse_signal(again.as_bytes()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&reparsed.signal, s);
    }
}
