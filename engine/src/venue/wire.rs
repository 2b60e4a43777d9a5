//! Small helpers shared by the adapters' `parse` modules: decimals from wire strings, JSON
//! decoding with the document named in the error, and decimal formatting for requests.

use crate::ids::{ClientOrderId, Symbol};
use crate::venue::error::VenueError;
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use std::str::FromStr;

/// Parses a decimal string field; an empty string is zero (Bybit sends `""` for unset numbers).
///
/// # Errors
/// [`VenueError::Parse`] naming `field`.
pub fn dec(field: &str, value: &str) -> Result<Decimal, VenueError> {
    if value.is_empty() {
        return Ok(Decimal::ZERO);
    }
    Decimal::from_str(value)
        .or_else(|_| Decimal::from_scientific(value))
        .map_err(|e| VenueError::parse(field, format!("{value:?}: {e}")))
}

/// Parses an integer carried as a string (Bybit times).
///
/// # Errors
/// [`VenueError::Parse`] naming `field`.
pub fn int(field: &str, value: &str) -> Result<i64, VenueError> {
    value
        .parse::<i64>()
        .map_err(|e| VenueError::parse(field, format!("{value:?}: {e}")))
}

/// Decodes a JSON document.
///
/// # Errors
/// [`VenueError::Parse`] naming `what`.
pub fn json<T: DeserializeOwned>(what: &str, body: &str) -> Result<T, VenueError> {
    serde_json::from_str(body).map_err(|e| VenueError::parse(what, e))
}

/// Validates a symbol from a response.
///
/// # Errors
/// [`VenueError::Parse`] when the exchange sent something that is not a symbol.
pub fn symbol(value: &str) -> Result<Symbol, VenueError> {
    Symbol::new(value).map_err(|e| VenueError::parse("symbol", e))
}

/// A client order id from a response; ids not made by Keel (manual orders, auto-generated) are
/// reported as `None` rather than failing the whole reply.
pub fn client_id(value: &str) -> Option<ClientOrderId> {
    ClientOrderId::new(value).ok()
}

/// Canonical decimal text for requests: no exponent, no trailing zeros.
pub fn fmt_dec(value: Decimal) -> String {
    value.normalize().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec as d;

    #[test]
    fn decimals_round_trip() {
        assert_eq!(dec("qty", "0.00100000").ok(), Some(d!(0.001)));
        assert_eq!(dec("fee", "").ok(), Some(Decimal::ZERO));
        assert!(
            matches!(dec("price", "abc"), Err(VenueError::Parse { what, .. }) if what == "price")
        );
        assert_eq!(fmt_dec(d!(0.00100000)), "0.001");
        assert_eq!(fmt_dec(d!(100)), "100");
        assert!(client_id("web_abc123").is_some());
        assert!(client_id("x/y").is_none());
    }
}
