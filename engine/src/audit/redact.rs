//! Keeping secrets out of the audit trail. The audit is exported, replicated to Neo4j and read by
//! viewers, so it must never hold an API key, an API secret, a request signature, a webhook secret
//! or an admin token. Two nets catch them:
//! 1. by name: any JSON member, query parameter or form field whose name looks secret
//!    ([`is_sensitive_name`]) has its value replaced by [`REDACTED`];
//! 2. by value: a [`Redactor`] knows the bot's actual secret strings and replaces any occurrence of
//!    them in any string of the event, whatever the field is called.
//!
//! The chain applies both to every event before hashing, so a caller that forgets cannot leak.

use serde_json::Value;

/// The text that replaces a secret.
pub const REDACTED: &str = "[redacted]";

/// Secrets shorter than this are not searched for by value (they would redact ordinary words);
/// name-based redaction still applies to them.
pub const MIN_SECRET_LEN: usize = 6;

/// Whether a field / parameter / header name designates a secret (case-insensitive).
pub fn is_sensitive_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase().replace(['-', '_'], "");
    const EXACT: [&str; 5] = ["sign", "xbapisign", "authorization", "password", "cookie"];
    const PART: [&str; 5] = ["secret", "token", "signature", "apikey", "passphrase"];
    EXACT.contains(&n.as_str()) || PART.iter().any(|p| n.contains(p))
}

/// Redacts sensitive parameters of a URL query string (`a=1&signature=…`), keeping order.
pub fn redact_query(query: &str) -> String {
    if query.is_empty() {
        return String::new();
    }
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if is_sensitive_name(k) => format!("{k}={REDACTED}"),
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Redacts a request body: JSON bodies member-wise, form bodies like a query.
pub fn redact_body(body: &str) -> String {
    match serde_json::from_str::<Value>(body) {
        Ok(mut v @ (Value::Object(_) | Value::Array(_))) => {
            redact_names(&mut v);
            serde_json::to_string(&v).unwrap_or_else(|_| REDACTED.to_string())
        }
        _ => redact_query(body),
    }
}

/// Replaces the value of every sensitive-named member, at any depth.
pub fn redact_names(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if is_sensitive_name(k) && !v.is_null() {
                    *v = Value::String(REDACTED.to_string());
                } else {
                    redact_names(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_names),
        _ => {}
    }
}

/// Knows a bot's secret values and removes them from any string of an event.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    /// A redactor that only applies name-based redaction.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a secret value to search for (ignored when shorter than [`MIN_SECRET_LEN`]).
    pub fn with_secret(mut self, secret: impl Into<String>) -> Self {
        let s = secret.into();
        if s.chars().count() >= MIN_SECRET_LEN && !self.secrets.contains(&s) {
            self.secrets.push(s);
        }
        self
    }

    /// Applies both nets to `value` in place.
    pub fn apply(&self, value: &mut Value) {
        redact_names(value);
        self.redact_values(value);
    }

    fn redact_values(&self, value: &mut Value) {
        match value {
            Value::String(s) => {
                for secret in &self.secrets {
                    if s.contains(secret.as_str()) {
                        *s = s.replace(secret.as_str(), REDACTED);
                    }
                }
            }
            Value::Object(map) => map.values_mut().for_each(|v| self.redact_values(v)),
            Value::Array(items) => items.iter_mut().for_each(|v| self.redact_values(v)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sensitive_names() {
        for (name, expected) in [
            ("signature", true),
            ("X-MBX-APIKEY", true),
            ("X-BAPI-SIGN", true),
            ("X-BAPI-API-KEY", true),
            ("X-BAPI-TIMESTAMP", false),
            ("secret", true),
            ("webhook_secret", true),
            ("apiKey", true),
            ("admin_token", true),
            ("symbol", false),
            ("timestamp", false),
            ("recvWindow", false),
        ] {
            assert_eq!(is_sensitive_name(name), expected, "{name}");
        }
    }

    #[test]
    fn query_and_body_redaction() {
        assert_eq!(
            redact_query("symbol=BTCUSDT&timestamp=1&signature=abc123"),
            "symbol=BTCUSDT&timestamp=1&signature=[redacted]"
        );
        assert_eq!(
            redact_body(r#"{"a":1,"apiKey":"k","n":{"sign":"s"}}"#),
            r#"{"a":1,"apiKey":"[redacted]","n":{"sign":"[redacted]"}}"#
        );
        assert_eq!(
            redact_body("qty=1&signature=zz"),
            "qty=1&signature=[redacted]"
        );
    }

    #[test]
    fn redactor_removes_known_values_anywhere() {
        let r = Redactor::new()
            .with_secret("SuperSecretKey99")
            .with_secret("abc");
        let mut v = json!({"note": "key SuperSecretKey99 leaked", "list": ["SuperSecretKey99"], "secret": "x", "abc": "abc"});
        r.apply(&mut v);
        assert_eq!(
            v,
            json!({"note": "key [redacted] leaked", "list": ["[redacted]"], "secret": "[redacted]", "abc": "abc"})
        );
    }
}
