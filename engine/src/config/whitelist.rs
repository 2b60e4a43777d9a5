//! The per-bot instrument whitelist: exact symbols and simple wildcard patterns (`*USDT` = every
//! symbol ending in USDT, `BTC*` = every symbol starting with BTC). Matching is done on normalised
//! symbols, so `BINANCE:BTCUSDT.P` from TradingView matches `BTCUSDT`.

use crate::ids::Symbol;
use serde::{Deserialize, Serialize};
use std::fmt;

/// One `instruments` entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum InstrumentPattern {
    /// One symbol.
    Exact(Symbol),
    /// `*SUFFIX`: any symbol ending with the suffix (and longer than it).
    Suffix(String),
    /// `PREFIX*`: any symbol starting with the prefix (and longer than it).
    Prefix(String),
}

/// Why an `instruments` entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{entry:?} is not a symbol (A-Z 0-9) or a pattern like *USDT or BTC*")]
pub struct PatternError {
    /// The entry.
    pub entry: String,
}

fn is_symbol_text(s: &str) -> bool {
    !s.is_empty()
        && s.len() < 32
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

impl InstrumentPattern {
    /// Parses an entry. A lone `*` is refused: "trade anything" must be spelled out as patterns.
    ///
    /// # Errors
    /// [`PatternError`] for anything else than a symbol, `*SUFFIX` or `PREFIX*`.
    pub fn parse(entry: &str) -> Result<Self, PatternError> {
        let err = || PatternError {
            entry: entry.to_string(),
        };
        if let Some(rest) = entry.strip_prefix('*') {
            return is_symbol_text(rest)
                .then(|| Self::Suffix(rest.to_string()))
                .ok_or_else(err);
        }
        if let Some(rest) = entry.strip_suffix('*') {
            return is_symbol_text(rest)
                .then(|| Self::Prefix(rest.to_string()))
                .ok_or_else(err);
        }
        Symbol::new(entry).map(Self::Exact).map_err(|_| err())
    }

    /// Whether `symbol` is covered by this entry.
    pub fn matches(&self, symbol: &Symbol) -> bool {
        let s = symbol.as_str();
        match self {
            Self::Exact(x) => x == symbol,
            Self::Suffix(suffix) => s.len() > suffix.len() && s.ends_with(suffix.as_str()),
            Self::Prefix(prefix) => s.len() > prefix.len() && s.starts_with(prefix.as_str()),
        }
    }
}

impl fmt::Display for InstrumentPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(s) => write!(f, "{s}"),
            Self::Suffix(s) => write!(f, "*{s}"),
            Self::Prefix(s) => write!(f, "{s}*"),
        }
    }
}

impl TryFrom<String> for InstrumentPattern {
    type Error = PatternError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<InstrumentPattern> for String {
    fn from(p: InstrumentPattern) -> String {
        p.to_string()
    }
}

/// Whether any entry of `patterns` covers `symbol` (exact entries and wildcards alike).
pub fn is_whitelisted(patterns: &[InstrumentPattern], symbol: &Symbol) -> bool {
    patterns.iter().any(|p| p.matches(symbol))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let list: Vec<InstrumentPattern> = ["BTCUSDT", "*USDC", "ETH*"]
            .iter()
            .map(|s| InstrumentPattern::parse(s).unwrap())
            .collect();
        let cases = [
            ("BTCUSDT", true),
            ("BTCUSDC", true),
            ("USDC", false),
            ("ETHUSDT", true),
            ("ETH", false),
            ("ETHBTC", true),
            ("SOLUSDT", false),
            ("BTCUSDTX", false),
        ];
        for (symbol, expected) in cases {
            let s = Symbol::new(symbol).unwrap();
            assert_eq!(is_whitelisted(&list, &s), expected, "{symbol}");
        }
        for bad in ["*", "", "btcusdt", "*US*", "B*T", "**USDT", "BTC USDT"] {
            assert!(InstrumentPattern::parse(bad).is_err(), "{bad}");
        }
        let json = serde_json::to_string(&list).unwrap();
        assert_eq!(json, r#"["BTCUSDT","*USDC","ETH*"]"#);
    }
}
