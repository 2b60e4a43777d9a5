//! The key under which a bot remembers an alert (docs/trading.md, issue: "a key built from the alert
//! contents alone would block a legitimate second scale-in"). The alert's own `id` is used when
//! present; otherwise the SHA-256 of the canonical body, which includes `time`, so two identical
//! alerts fired at different times are two signals, while TradingView's resend of one alert (same
//! bytes, same `time`) is the same signal.

use crate::ids::{IdError, SignalId};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The canonical text of a webhook object: keys sorted (recursively), `secret` removed, no
/// whitespace, numbers as their original text, strings JSON-escaped.
pub fn canonical_body(fields: &BTreeMap<String, Value>) -> String {
    let mut out = String::with_capacity(256);
    out.push('{');
    let mut first = true;
    let mut keys: Vec<&String> = fields.keys().filter(|k| k.as_str() != "secret").collect();
    keys.sort();
    for key in keys {
        if let Some(value) = fields.get(key) {
            if !first {
                out.push(',');
            }
            first = false;
            write_string(&mut out, key);
            out.push(':');
            write_value(&mut out, value);
        }
    }
    out.push('}');
    out
}

fn write_string(out: &mut String, s: &str) {
    // Serialising a &str cannot fail; fall back to a lossless debug form if it ever did.
    match serde_json::to_string(s) {
        Ok(text) => out.push_str(&text),
        Err(_) => out.push_str(&format!("{s:?}")),
    }
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, k);
                out.push(':');
                write_value(out, v);
            }
            out.push('}');
        }
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The dedupe key: the alert's `id` verbatim when it is a valid [`SignalId`] (printable ASCII, no
/// spaces, ≤ 128 chars); `id-<sha256(id)>` when it is not (TradingView order ids may hold spaces);
/// `body-<sha256(canonical body)>` without an `id`.
///
/// # Errors
/// Never in practice: both derived forms are a short prefix plus 64 hex digits. The `Result`
/// keeps a future change of the id rules from turning into a panic.
pub fn dedupe_key(id: Option<&str>, fields: &BTreeMap<String, Value>) -> Result<SignalId, IdError> {
    match id {
        Some(raw) => match SignalId::new(raw) {
            Ok(valid) => Ok(valid),
            Err(_) => SignalId::new(format!("id-{}", sha256_hex(raw.as_bytes()))),
        },
        None => SignalId::new(format!(
            "body-{}",
            sha256_hex(canonical_body(fields).as_bytes())
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(json: &str) -> BTreeMap<String, Value> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn canonical_sorts_and_drops_secret() {
        let a = fields(r#"{"symbol":"BTCUSDT","secret":"s1","action":"buy","qty":0.10}"#);
        let b = fields(r#"{ "action" : "buy", "qty":0.10, "symbol":"BTCUSDT", "secret":"s2"}"#);
        assert_eq!(
            canonical_body(&a),
            r#"{"action":"buy","qty":0.10,"symbol":"BTCUSDT"}"#
        );
        assert_eq!(dedupe_key(None, &a).unwrap(), dedupe_key(None, &b).unwrap());
    }

    #[test]
    fn keys() {
        let f1 = fields(r#"{"action":"buy","time":"2019-08-27T09:56:00Z"}"#);
        let f2 = fields(r#"{"action":"buy","time":"2019-08-27T09:57:00Z"}"#);
        assert_ne!(
            dedupe_key(None, &f1).unwrap(),
            dedupe_key(None, &f2).unwrap(),
            "time is part of the key"
        );
        assert!(dedupe_key(None, &f1).unwrap().as_str().starts_with("body-"));
        assert_eq!(dedupe_key(Some("L-1"), &f1).unwrap().as_str(), "L-1");
        assert_eq!(
            dedupe_key(Some("L-1"), &f1).unwrap(),
            dedupe_key(Some("L-1"), &f2).unwrap()
        );
        let spaced = dedupe_key(Some("Long Entry-1"), &f1).unwrap();
        assert!(spaced.as_str().starts_with("id-"));
        assert_eq!(spaced, dedupe_key(Some("Long Entry-1"), &f2).unwrap());
        assert_ne!(spaced, dedupe_key(Some("Long Entry-2"), &f1).unwrap());
    }
}
