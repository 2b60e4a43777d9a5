//! Numbers for humans: one rule for every screen (dashboard, CLI, backtest report), so the same
//! amount reads the same everywhere. Prices show the instrument's tick, quantities its lot step,
//! money its currency with a sensible precision; an unset limit reads "—", never "0" (which
//! looks breached). Display only: the exact value stays in the JSON (`--json`, hover titles).
//!
//! The dashboard mirrors this in `ui/src/format.ts`; both are checked against the shared vectors
//! in `engine/test_data/format/vectors.json`, so they cannot drift apart.

use rust_decimal::{Decimal, RoundingStrategy};

/// What an unset limit (or a missing value) reads as.
pub const UNSET: &str = "—";

/// Currencies shown with 2 decimals (cents): fiat and USD stablecoins.
const CENT_CURRENCIES: &[&str] = &[
    "USD", "USDT", "USDC", "BUSD", "FDUSD", "TUSD", "DAI", "USDE", "EUR", "GBP",
];
/// Most decimals shown for any amount.
const MAX_DP: u32 = 8;
/// Significant digits kept for cent-currency amounts below one cent.
const SMALL_SIGNIFICANT: u32 = 4;

/// Decimal places of a tick or step (`0.010` → 2, `1` → 0); at most [`MAX_DP`].
pub fn places_of(increment: Decimal) -> u32 {
    increment.normalize().scale().min(MAX_DP)
}

/// `value` rounded half away from zero to `dp` places, with exactly `dp` decimals, thousands
/// grouped with `,` and a leading `-` for negatives (never `-0`).
pub fn fixed(value: Decimal, dp: u32) -> String {
    let mut rounded = value.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero);
    if rounded.is_zero() {
        rounded = Decimal::ZERO;
    }
    rounded.rescale(dp);
    group(&rounded.to_string())
}

fn group(plain: &str) -> String {
    let (sign, digits) = match plain.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", plain),
    };
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let mut out = String::with_capacity(plain.len() + int.len() / 3);
    out.push_str(sign);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

/// A price at the instrument's tick precision (`65975.0672…`, tick `0.01` → `65,975.07`).
pub fn price(value: Decimal, tick: Decimal) -> String {
    fixed(value, places_of(tick))
}

/// A quantity at the instrument's lot-step precision.
pub fn qty(value: Decimal, step: Decimal) -> String {
    fixed(value, places_of(step))
}

/// Decimal places for an amount of `currency`, and whether trailing zeros are dropped (down to
/// 2): fiat and USD stablecoins show cents, or 4 significant digits below one cent (a fee of
/// 0.006501 USDT is not 0.01); other assets show up to 8 decimals.
fn money_places(value: Decimal, currency: &str) -> (u32, bool) {
    let cents = CENT_CURRENCIES.contains(&currency.to_ascii_uppercase().as_str());
    if !cents {
        return (MAX_DP, true);
    }
    let abs = value.abs();
    if abs.is_zero() || abs >= Decimal::new(1, 2) {
        return (2, false);
    }
    // Zeros right after the point: 0.0065 → 2.
    let mut zeros = 0u32;
    let mut x = abs;
    while x < Decimal::new(1, 1) && zeros < MAX_DP {
        x *= Decimal::TEN;
        zeros += 1;
    }
    ((zeros + SMALL_SIGNIFICANT).min(MAX_DP), true)
}

/// An amount of money with its currency: `-0.40 USDT`, `65,975.07 USDT`, `0.0000123 BTC`.
pub fn money(value: Decimal, currency: &str) -> String {
    let (dp, trim) = money_places(value, currency);
    let mut text = fixed(value, dp);
    if trim && text.contains('.') {
        // Keep at least 2 decimals.
        while text.ends_with('0') && text.rsplit_once('.').is_some_and(|(_, f)| f.len() > 2) {
            text.pop();
        }
    }
    if text == "-0.00" {
        text = "0.00".into();
    }
    format!("{text} {currency}")
}

/// A limit (risk limit, cap): the value as given, or [`UNSET`] when there is none.
pub fn limit(value: Option<Decimal>) -> String {
    value.map_or_else(|| UNSET.to_string(), |v| group(&v.normalize().to_string()))
}

/// Usage against a limit: `2 of 3`, or `2 (no limit)` when unset (never `2 of 0`).
pub fn usage(used: Decimal, limit: Option<Decimal>) -> String {
    let used = group(&used.normalize().to_string());
    match limit {
        Some(l) => format!("{used} of {}", group(&l.normalize().to_string())),
        None => format!("{used} (no limit)"),
    }
}

/// [`money`] of a decimal given as text (an API answer); text that is not a decimal is returned
/// as is, so a display never hides what the server sent.
pub fn money_text(value: &str, currency: &str) -> String {
    value
        .trim()
        .parse::<Decimal>()
        .map_or_else(|_| value.to_string(), |v| money(v, currency))
}

/// A decimal given as text, exact (trailing zeros dropped) and grouped: for quantities and
/// prices when the instrument's step or tick is not at hand.
pub fn exact_text(value: &str) -> String {
    value
        .trim()
        .parse::<Decimal>()
        .map_or_else(|_| value.to_string(), |v| group(&v.normalize().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const VECTORS: &str = include_str!("../test_data/format/vectors.json");

    fn d(v: &Value) -> Option<Decimal> {
        v.as_str().map(|s| s.parse::<Decimal>().unwrap())
    }

    /// Every shared vector: the dashboard's `ui/src/format.test.ts` checks the same file.
    #[test]
    fn shared_vectors() {
        let vectors: Vec<Value> = serde_json::from_str(VECTORS).unwrap();
        assert!(vectors.len() >= 20);
        for v in &vectors {
            let args = v["args"].as_array().unwrap();
            let got = match v["fn"].as_str().unwrap() {
                "price" => price(d(&args[0]).unwrap(), d(&args[1]).unwrap()),
                "qty" => qty(d(&args[0]).unwrap(), d(&args[1]).unwrap()),
                "money" => money(d(&args[0]).unwrap(), args[1].as_str().unwrap()),
                "limit" => limit(d(&args[0])),
                "usage" => usage(d(&args[0]).unwrap(), d(&args[1])),
                other => panic!("unknown fn {other}"),
            };
            assert_eq!(got, v["want"].as_str().unwrap(), "{v}");
        }
    }
}
