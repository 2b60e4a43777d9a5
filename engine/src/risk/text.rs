//! The text of a risk check (limit, observed value, sentence), kept as the typed values it is
//! made of and formatted only when read: an audit event, an HTTP answer or a test. A live signal
//! reads every check once; a backtest reads none and decides thousands of orders, so building
//! fifteen sentences per order it then drops would be most of its order path.
//!
//! The formatted text is the contract (it is hashed into the audit chain): each variant prints
//! exactly what the rules used to `format!` eagerly, and serialises as that string.

use crate::ids::Symbol;
use rust_decimal::Decimal;
use serde::{Serialize, Serializer};
use std::fmt;

/// Part of a [`super::RiskCheck`], printed on demand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckText {
    /// Fixed text.
    Static(&'static str),
    /// A decimal as given (`1.50` stays `1.50`: a configured limit is shown as configured).
    Decimal(Decimal),
    /// A decimal without trailing zeros (an observed value).
    Normalized(Decimal),
    /// A symbol.
    Symbol(Symbol),
    /// `position {qty}`.
    Position(Decimal),
    /// `{what} {observed} within|exceeds limit {limit}`: a limit rule's sentence.
    Limit {
        /// What was measured.
        what: &'static str,
        /// Its value (printed normalised).
        observed: Decimal,
        /// Whether it breached the limit.
        refused: bool,
        /// The configured limit.
        limit: Decimal,
    },
    /// Text formatted when the check was made (refusals and other rare paths).
    Owned(String),
}

impl CheckText {
    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        match self {
            CheckText::Static(s) => s.is_empty(),
            CheckText::Owned(s) => s.is_empty(),
            _ => false,
        }
    }
}

impl fmt::Display for CheckText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckText::Static(s) => f.write_str(s),
            CheckText::Decimal(d) => write!(f, "{d}"),
            CheckText::Normalized(d) => write!(f, "{}", d.normalize()),
            CheckText::Symbol(s) => f.write_str(s.as_str()),
            CheckText::Position(q) => write!(f, "position {q}"),
            CheckText::Limit {
                what,
                observed,
                refused,
                limit,
            } => {
                let relation = if *refused { "exceeds" } else { "within" };
                write!(
                    f,
                    "{what} {} {relation} limit {limit}",
                    observed.normalize()
                )
            }
            CheckText::Owned(s) => f.write_str(s),
        }
    }
}

impl Serialize for CheckText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl From<String> for CheckText {
    fn from(s: String) -> Self {
        CheckText::Owned(s)
    }
}

impl From<&'static str> for CheckText {
    fn from(s: &'static str) -> Self {
        CheckText::Static(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn prints_what_the_rules_used_to_format() {
        let cases: Vec<(CheckText, &str)> = vec![
            (CheckText::Static("not halted"), "not halted"),
            (CheckText::Decimal(dec!(1.50)), "1.50"),
            (CheckText::Normalized(dec!(1.50)), "1.5"),
            (
                CheckText::Symbol(Symbol::new("BTCUSDT").unwrap()),
                "BTCUSDT",
            ),
            (CheckText::Position(dec!(-0.020)), "position -0.020"),
            (
                CheckText::Limit {
                    what: "order notional",
                    observed: dec!(500.00),
                    refused: false,
                    limit: dec!(1000.0),
                },
                "order notional 500 within limit 1000.0",
            ),
            (
                CheckText::Limit {
                    what: "trades today",
                    observed: dec!(9),
                    refused: true,
                    limit: dec!(5),
                },
                "trades today 9 exceeds limit 5",
            ),
            (CheckText::Owned("anything".into()), "anything"),
        ];
        for (text, want) in cases {
            assert_eq!(text.to_string(), want);
            assert_eq!(
                serde_json::to_string(&text).unwrap(),
                serde_json::to_string(want).unwrap()
            );
        }
        assert!(CheckText::Static("").is_empty());
        assert!(!CheckText::Decimal(dec!(0)).is_empty());
    }
}
