//! Deterministic client order ids (docs/design.md invariant 3): the id of an order is a function of
//! `(bot_id, signal_id, leg)`, so a retry after a timeout resends the same id, which the exchange
//! refuses as a duplicate instead of placing a second order, and an ambiguous outcome is resolved
//! by querying that id.

use super::Leg;
use crate::ids::{BotId, ClientOrderId, IdError, SignalId, Symbol};
use crate::model::{OrderQty, OrderRequest, OrderType, TimeInForce};
use sha2::{Digest, Sha256};

/// `k` + the first 35 hex digits (140 bits) of `sha256(bot_id \0 signal_id \0 leg)`: 36
/// characters of `[a-z0-9]`, valid for Binance (`^[.A-Z:/a-z0-9_-]{1,36}$`) and Bybit
/// (`orderLinkId`, ≤ 36, letters, digits, `-`, `_`). The NUL separators keep
/// `("a", "bc")` and `("ab", "c")` apart.
///
/// # Errors
/// Never in practice (the shape is fixed); the `Result` keeps a future id rule from panicking.
pub fn client_order_id(
    bot_id: &BotId,
    signal_id: &SignalId,
    leg: &str,
) -> Result<ClientOrderId, IdError> {
    let mut h = Sha256::new();
    h.update(bot_id.as_str().as_bytes());
    h.update([0u8]);
    h.update(signal_id.as_str().as_bytes());
    h.update([0u8]);
    h.update(leg.as_bytes());
    let digest = h.finalize();
    // `k` + 35 hex digits written straight into one string (a backtest makes one per order).
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut id = String::with_capacity(36);
    id.push('k');
    for nibble in digest.iter().flat_map(|b| [b >> 4, b & 0x0f]).take(35) {
        id.push(char::from(HEX[usize::from(nibble)]));
    }
    ClientOrderId::new(id)
}

/// Whether a client order id has the shape [`client_order_id`] gives (`k` + 35 lowercase hex
/// digits): on an exchange account shared by several bots, an open order with such an id that a
/// bot does not know belongs to a sibling bot (every bot records its own orders before sending
/// them), not to a manual trader, so reconciliation reports it without alarm.
pub fn is_keel_client_order_id(id: &str) -> bool {
    id.len() == 36
        && id.starts_with('k')
        && id[1..]
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

/// Builds the exchange request for a planned leg, with its deterministic client order id
/// (limit orders are good-till-cancelled).
///
/// # Errors
/// [`IdError`] from [`client_order_id`] (not expected).
pub fn order_request(
    leg: &Leg,
    symbol: &Symbol,
    bot_id: &BotId,
    signal_id: &SignalId,
) -> Result<OrderRequest, IdError> {
    let order_type = if leg.price.is_some() {
        OrderType::Limit
    } else {
        OrderType::Market
    };
    Ok(OrderRequest {
        client_order_id: client_order_id(bot_id, signal_id, leg.kind.as_str())?,
        symbol: symbol.clone(),
        side: leg.side,
        order_type,
        qty: OrderQty::Base(leg.qty),
        price: leg.price,
        time_in_force: leg.price.map(|_| TimeInForce::Gtc),
        reduce_only: leg.reduce_only,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keel_ids_are_recognised() {
        let bot = BotId::new("shared-a").unwrap();
        let sig = SignalId::new("sig-1").unwrap();
        let ours = client_order_id(&bot, &sig, "entry").unwrap();
        let cases = [
            (ours.as_str().to_string(), true),
            ("web_2f9c1a".to_string(), false),
            (format!("K{}", &ours.as_str()[1..]), false),
            (ours.as_str()[..35].to_string(), false),
            (format!("k{}", "g".repeat(35)), false),
            (format!("k{}", "0".repeat(35)), true),
        ];
        for (id, want) in cases {
            assert_eq!(is_keel_client_order_id(&id), want, "{id}");
        }
    }
}
