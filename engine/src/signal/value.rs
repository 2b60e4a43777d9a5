//! Exact scalar parsing shared by the webhook parser and the bot config: decimals from JSON text
//! (string or number, never through `f64`), timestamps (ISO-8601 UTC or Unix seconds /
//! milliseconds), and a JSON object reader that notices duplicate keys (serde_json silently keeps
//! the last one, which would let `"qty"` appear twice with two meanings).

use rust_decimal::Decimal;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;
use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::fmt;

/// Why a scalar could not be read. The caller adds the field name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScalarError {
    /// The JSON type was wrong (an object where a decimal was expected, ...).
    #[error("expected {expected}, got {got}")]
    WrongType {
        /// What was expected.
        expected: &'static str,
        /// The JSON type found.
        got: &'static str,
    },
    /// The text did not have the required shape.
    #[error("{0}")]
    Format(String),
}

/// The JSON type name of a value, for error messages.
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// True when `s` is a TradingView placeholder that was not substituted (`{{close}}`): the alert
/// was misconfigured, and saying so beats "invalid decimal".
pub fn is_placeholder(s: &str) -> bool {
    s.contains("{{") && s.contains("}}")
}

/// Parses a decimal from a JSON string or number, exactly: the number's own text (serde_json's
/// `arbitrary_precision` keeps it) is parsed by `rust_decimal`, so `0.1` is exactly 1/10.
/// Accepts `-?digits(.digits)?([eE][+-]?digits)?`; no spaces, no `NaN`, no hex.
///
/// # Errors
/// [`ScalarError`] for another JSON type, a malformed text, or a value beyond 28 digits of scale.
pub fn decimal(value: &Value) -> Result<Decimal, ScalarError> {
    match value {
        Value::String(s) => decimal_text(s),
        Value::Number(n) => decimal_text(&n.to_string()),
        other => Err(ScalarError::WrongType {
            expected: "a decimal (string or number)",
            got: json_type(other),
        }),
    }
}

/// Parses decimal text with the grammar of [`decimal`].
///
/// # Errors
/// [`ScalarError::Format`] when the text is not a plain decimal or does not fit a `Decimal`.
pub fn decimal_text(s: &str) -> Result<Decimal, ScalarError> {
    if is_placeholder(s) {
        return Err(ScalarError::Format(format!(
            "{s:?} is a TradingView placeholder that was not substituted"
        )));
    }
    let bad = || ScalarError::Format(format!("{s:?} is not a decimal number"));
    let bytes = s.as_bytes();
    let mut i = usize::from(bytes.first() == Some(&b'-'));
    let int_start = i;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
    }
    if i == int_start {
        return Err(bad());
    }
    if i < bytes.len() && bytes[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == frac_start {
            return Err(bad());
        }
    }
    let mantissa_end = i;
    if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
        i += 1;
        if i < bytes.len() && (bytes[i] == b'+' || bytes[i] == b'-') {
            i += 1;
        }
        let exp_start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == exp_start || i - exp_start > 3 {
            return Err(bad());
        }
    }
    if i != bytes.len() {
        return Err(bad());
    }
    let out_of_range = || ScalarError::Format(format!("{s:?} does not fit an exact decimal"));
    if mantissa_end == bytes.len() {
        return Decimal::from_str_exact(s).map_err(|_| out_of_range());
    }
    let mantissa = Decimal::from_str_exact(&s[..mantissa_end]).map_err(|_| out_of_range())?;
    let exp: i64 = s[mantissa_end + 1..].parse().map_err(|_| bad())?;
    scale_by_power_of_ten(mantissa, exp).ok_or_else(out_of_range)
}

fn scale_by_power_of_ten(mut d: Decimal, exp: i64) -> Option<Decimal> {
    let ten = Decimal::TEN;
    if exp >= 0 {
        for _ in 0..exp {
            d = d.checked_mul(ten)?;
        }
        Some(d.normalize())
    } else {
        let shift = u32::try_from(-exp).ok()?;
        let scale = d.scale().checked_add(shift)?;
        if scale > 28 {
            // Exact division is impossible once the scale exceeds 28 unless trailing zeros go.
            let n = d.normalize();
            let scale = n.scale().checked_add(shift)?;
            if scale > 28 {
                return None;
            }
            let mut m = n;
            m.set_scale(scale).ok()?;
            return Some(m);
        }
        let mut m = d;
        m.set_scale(scale).ok()?;
        Some(m)
    }
}

/// Parses a time as milliseconds since the Unix epoch (UTC). Accepts ISO-8601 UTC text
/// (`2019-08-27T09:56:00Z`, TradingView's `{{time}}`/`{{timenow}}`, optional fraction, `Z` or
/// `+00:00`) or Unix time as a number or digit string: seconds below 10^11, milliseconds from
/// there (10^11 s is the year 5138, so the two ranges cannot be confused).
///
/// # Errors
/// [`ScalarError`] for another type, another offset than UTC, or an impossible date.
pub fn timestamp_ms(value: &Value) -> Result<i64, ScalarError> {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => {
            return Err(ScalarError::WrongType {
                expected: "an ISO-8601 UTC time or Unix seconds/milliseconds",
                got: json_type(other),
            })
        }
    };
    if is_placeholder(&text) {
        return Err(ScalarError::Format(format!(
            "{text:?} is a TradingView placeholder that was not substituted"
        )));
    }
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let n: i64 = text
            .parse()
            .map_err(|_| ScalarError::Format(format!("{text:?} is too large for a time")))?;
        return if n < 100_000_000_000 {
            n.checked_mul(1000)
                .ok_or_else(|| ScalarError::Format(format!("{text:?} is out of range")))
        } else if n < 100_000_000_000_000 {
            Ok(n)
        } else {
            Err(ScalarError::Format(format!(
                "{text:?} is out of range for Unix seconds or milliseconds"
            )))
        };
    }
    iso8601_utc_ms(&text)
}

fn iso8601_utc_ms(s: &str) -> Result<i64, ScalarError> {
    crate::calendar::parse_iso8601_utc_ms(s).map_err(|e| match e {
        crate::calendar::IsoError::NotUtc => {
            ScalarError::Format(format!("{s:?} must be in UTC (end with Z or +00:00)"))
        }
        crate::calendar::IsoError::Shape => ScalarError::Format(format!(
            "{s:?} is not an ISO-8601 UTC time like 2019-08-27T09:56:00Z"
        )),
    })
}

/// A JSON object read key by key, remembering the first key that appeared twice.
#[derive(Debug, Default)]
pub struct StrictObject {
    /// Fields by name (the first occurrence of a duplicated name).
    pub fields: BTreeMap<String, Value>,
    /// The first key seen twice, if any.
    pub duplicate: Option<String>,
}

impl<'de> Deserialize<'de> for StrictObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(StrictObjectVisitor)
    }
}

struct StrictObjectVisitor;

impl<'de> Visitor<'de> for StrictObjectVisitor {
    type Value = StrictObject;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StrictObject, A::Error> {
        let mut out = StrictObject::default();
        while let Some(key) = map.next_key::<String>()? {
            let value: Value = map.next_value()?;
            match out.fields.entry(key) {
                Entry::Occupied(seen) => {
                    out.duplicate.get_or_insert_with(|| seen.key().clone());
                }
                Entry::Vacant(slot) => {
                    slot.insert(value);
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn decimals_are_exact() {
        let cases: &[(&str, Option<Decimal>)] = &[
            ("\"0.1\"", Some(dec!(0.1))),
            ("0.1", Some(dec!(0.1))),
            (
                "65000.123456789012345678",
                Some(dec!(65000.123456789012345678)),
            ),
            ("\"-2.5\"", Some(dec!(-2.5))),
            ("1e3", Some(dec!(1000))),
            ("\"1.5E-7\"", Some(dec!(0.00000015))),
            ("100", Some(dec!(100))),
            ("\"\"", None),
            ("\"1.\"", None),
            ("\".5\"", None),
            ("\" 1\"", None),
            ("\"NaN\"", None),
            ("\"0x10\"", None),
            ("\"{{close}}\"", None),
            ("true", None),
            ("1e999", None),
            ("\"1e-40\"", None),
            ("123456789012345678901234567890123", None),
        ];
        for (text, expected) in cases {
            let v: Value = serde_json::from_str(text).unwrap();
            assert_eq!(decimal(&v).ok(), *expected, "{text}");
        }
    }

    #[test]
    fn timestamps() {
        let cases: &[(&str, Option<i64>)] = &[
            ("\"2019-08-27T09:56:00Z\"", Some(1_566_899_760_000)),
            ("\"2019-08-27T09:56:00.250Z\"", Some(1_566_899_760_250)),
            ("\"2019-08-27T09:56:00+00:00\"", Some(1_566_899_760_000)),
            ("\"1970-01-01T00:00:00Z\"", Some(0)),
            ("\"2024-02-29T00:00:00Z\"", Some(1_709_164_800_000)),
            ("1566899760", Some(1_566_899_760_000)),
            ("\"1566899760\"", Some(1_566_899_760_000)),
            ("1566899760123", Some(1_566_899_760_123)),
            ("\"2019-08-27T09:56:00+02:00\"", None),
            ("\"2023-02-29T00:00:00Z\"", None),
            ("\"2019-08-27 09:56:00\"", None),
            ("\"{{timenow}}\"", None),
            ("-5", None),
            ("1.5", None),
            ("null", None),
            ("\"2019-13-01T00:00:00Z\"", None),
        ];
        for (text, expected) in cases {
            let v: Value = serde_json::from_str(text).unwrap();
            assert_eq!(timestamp_ms(&v).ok(), *expected, "{text}");
        }
    }

    #[test]
    fn strict_object_notes_duplicates() {
        let o: StrictObject = serde_json::from_str(r#"{"a":1,"b":2,"a":3}"#).unwrap();
        assert_eq!(o.duplicate.as_deref(), Some("a"));
        assert_eq!(o.fields["a"], serde_json::json!(1));
        assert!(serde_json::from_str::<StrictObject>("[1]").is_err());
    }
}
