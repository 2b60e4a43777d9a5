//! TradingView ticker → exchange symbol. `{{ticker}}` arrives in several spellings
//! (`BINANCE:BTCUSDT`, `BYBIT:BTCUSDT.P` for perpetuals, `BTC/USDT`); the bot trades `BTCUSDT`.
//! Normalising here means every later stage (whitelist, risk, sizing) compares one spelling.

use crate::ids::Symbol;

/// Why a ticker could not become a symbol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a tradable symbol: {reason}")]
pub struct SymbolError {
    /// The text received.
    pub input: String,
    /// Why it was refused.
    pub reason: String,
}

/// Normalises a TradingView ticker: drops an `EXCHANGE:` prefix and a `.P` perpetual suffix,
/// removes `/` and `-` separators, uppercases. `PERP` suffixes are kept on purpose: Bybit has real
/// symbols ending in `PERP` (USDC perpetuals), so stripping them would trade another market.
///
/// # Errors
/// [`SymbolError`] when the result is empty, too long, or holds characters other than `A-Z 0-9`.
pub fn normalize_symbol(input: &str) -> Result<Symbol, SymbolError> {
    let err = |reason: &str| SymbolError {
        input: input.to_string(),
        reason: reason.to_string(),
    };
    let trimmed = input.trim();
    if trimmed.contains("{{") {
        return Err(err("a TradingView placeholder was not substituted"));
    }
    let without_prefix = match trimmed.rsplit_once(':') {
        Some((prefix, rest)) if !prefix.is_empty() => rest,
        Some(_) => return Err(err("empty exchange prefix before ':'")),
        None => trimmed,
    };
    let upper = without_prefix.to_ascii_uppercase();
    let base = upper.strip_suffix(".P").unwrap_or(&upper);
    let joined: String = base.chars().filter(|c| *c != '/' && *c != '-').collect();
    Symbol::new(joined).map_err(|e| err(&e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickers_normalise() {
        let cases: &[(&str, Option<&str>)] = &[
            ("BTCUSDT", Some("BTCUSDT")),
            ("BINANCE:BTCUSDT", Some("BTCUSDT")),
            ("BYBIT:BTCUSDT.P", Some("BTCUSDT")),
            ("BTCUSDT.P", Some("BTCUSDT")),
            ("BTC/USDT", Some("BTCUSDT")),
            ("btc-usdt", Some("BTCUSDT")),
            ("BYBIT:BTCPERP", Some("BTCPERP")),
            ("1000PEPEUSDT", Some("1000PEPEUSDT")),
            ("", None),
            (":BTCUSDT", None),
            ("BTC USDT", None),
            ("BTCUSDT_240329", None),
            ("{{ticker}}", None),
            ("BTCUSDT.X", None),
        ];
        for (input, expected) in cases {
            let got = normalize_symbol(input).ok();
            assert_eq!(got.as_ref().map(Symbol::as_str), *expected, "{input}");
        }
    }
}
