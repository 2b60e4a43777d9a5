//! Validated identifiers. A string that reaches the domain as an id has passed its constructor, so
//! no handler needs to re-check it, and ids of different kinds cannot be swapped by mistake.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The value was empty.
    #[error("{kind} must not be empty")]
    Empty {
        /// Which id kind.
        kind: &'static str,
    },
    /// The value was longer than allowed.
    #[error("{kind} is longer than {max} characters")]
    TooLong {
        /// Which id kind.
        kind: &'static str,
        /// Maximum length.
        max: usize,
    },
    /// The value held a character outside the allowed set.
    #[error("{kind} contains the character {ch:?}; allowed: {allowed}")]
    BadChar {
        /// Which id kind.
        kind: &'static str,
        /// Offending character.
        ch: char,
        /// Human description of the allowed set.
        allowed: &'static str,
    },
}

/// How an id keeps its text. Long ids (bot, signal) own a `String`; short ASCII ids that every
/// order, fill and mark carries (symbol, client order id) are kept inline, so copying one costs
/// no allocation on the order path (a backtest copies them tens of thousands of times).
trait IdRepr: Sized {
    /// Wraps text that passed the id's checks (so it fits, for inline text).
    fn from_checked(value: String) -> Self;
    /// The text.
    fn text(&self) -> &str;
    /// The text as an owned `String`.
    fn into_string(self) -> String;
}

impl IdRepr for String {
    fn from_checked(value: String) -> Self {
        value
    }
    fn text(&self) -> &str {
        self
    }
    fn into_string(self) -> String {
        self
    }
}

/// At most `N` bytes of ASCII stored in place, zero-padded. Ids kept this way allow no NUL, so
/// comparing the padded arrays orders them exactly as their text (`"AB" < "ABC"`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Inline<const N: usize> {
    bytes: [u8; N],
    len: u8,
}

impl<const N: usize> IdRepr for Inline<N> {
    fn from_checked(value: String) -> Self {
        let mut bytes = [0u8; N];
        let len = value.len().min(N);
        bytes[..len].copy_from_slice(&value.as_bytes()[..len]);
        Self {
            bytes,
            len: u8::try_from(len).unwrap_or(u8::MAX),
        }
    }
    fn text(&self) -> &str {
        // Checked ASCII on the way in, so this never falls back.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
    fn into_string(self) -> String {
        self.text().to_string()
    }
}

impl<const N: usize> fmt::Debug for Inline<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.text(), f)
    }
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $max:expr, $allowed_desc:literal, $allowed:expr, $repr:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name($repr);

        impl $name {
            /// Validates and wraps the value.
            ///
            /// # Errors
            /// [`IdError`] when empty, too long, or holding a disallowed character.
            pub fn new(value: impl Into<String>) -> Result<Self, IdError> {
                let value = value.into();
                if value.is_empty() {
                    return Err(IdError::Empty { kind: $kind });
                }
                if value.chars().count() > $max {
                    return Err(IdError::TooLong { kind: $kind, max: $max });
                }
                let allowed: fn(char) -> bool = $allowed;
                if let Some(ch) = value.chars().find(|c| !allowed(*c)) {
                    return Err(IdError::BadChar { kind: $kind, ch, allowed: $allowed_desc });
                }
                Ok(Self(<$repr as IdRepr>::from_checked(value)))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                self.0.text()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0.into_string()
            }
        }
    };
}

fn slug_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_'
}

fn signal_char(c: char) -> bool {
    c.is_ascii_graphic()
}

fn client_order_char(c: char) -> bool {
    // Intersection of Binance (`^[.A-Z:/a-z0-9_-]{1,36}$`) and Bybit (letters, digits, `-`, `_`).
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

fn symbol_char(c: char) -> bool {
    c.is_ascii_uppercase() || c.is_ascii_digit()
}

string_id!(
    /// A bot's id: lowercase slug, used in URLs (`/webhook/{bot_id}`) and as the Durable Object name.
    BotId, "bot_id", 64, "a-z 0-9 - _", slug_char, String
);
string_id!(
    /// A signal's id as sent by the alert (`id`), or derived from the canonical body hash.
    SignalId, "signal_id", 128, "printable ASCII without spaces", signal_char, String
);
string_id!(
    /// The client order id sent to the exchange; derived from `(bot_id, signal_id, leg)` so a retry
    /// can never place a second order. Fits both Binance and Bybit rules (≤ 36 chars).
    ClientOrderId, "client_order_id", 36, "A-Z a-z 0-9 - _", client_order_char, Inline<36>
);
string_id!(
    /// An exchange symbol as the venue spells it (`BTCUSDT`).
    Symbol, "symbol", 32, "A-Z 0-9", symbol_char, Inline<32>
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_validate() {
        assert!(BotId::new("btc-trend").is_ok());
        assert_eq!(BotId::new(""), Err(IdError::Empty { kind: "bot_id" }));
        assert!(matches!(
            BotId::new("BTC"),
            Err(IdError::BadChar { ch: 'B', .. })
        ));
        assert!(ClientOrderId::new("a".repeat(37)).is_err());
        assert!(Symbol::new("BTCUSDT").is_ok());
        assert!(Symbol::new("btcusdt").is_err());
        let parsed: Result<BotId, _> = serde_json::from_str("\"Bad Id\"");
        assert!(parsed.is_err());
    }

    #[test]
    fn inline_ids_keep_text_order_and_debug() {
        let sym = |s: &str| Symbol::new(s).unwrap();
        let longest = "A".repeat(32);
        assert_eq!(sym(&longest).as_str(), longest);
        assert!(Symbol::new("A".repeat(33)).is_err());
        // Ordered as their text, whatever their lengths.
        let mut ids = [
            sym("BTCUSDT"),
            sym("AB"),
            sym("ABC"),
            sym("A"),
            sym("ETHBTC"),
        ];
        ids.sort();
        let texts: Vec<&str> = ids.iter().map(Symbol::as_str).collect();
        assert_eq!(texts, ["A", "AB", "ABC", "BTCUSDT", "ETHBTC"]);
        assert_eq!(format!("{:?}", sym("BTCUSDT")), "Symbol(\"BTCUSDT\")");
        assert_eq!(
            serde_json::to_string(&sym("BTCUSDT")).unwrap(),
            "\"BTCUSDT\""
        );
        let id = ClientOrderId::new(format!("k{}", "0".repeat(35))).unwrap();
        assert_eq!(String::from(id.clone()).len(), 36);
        assert_eq!(
            serde_json::from_str::<ClientOrderId>(&serde_json::to_string(&id).unwrap()).unwrap(),
            id
        );
    }
}
