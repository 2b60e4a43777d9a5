//! Binance wire enums and their explicit translation to and from Keel's vocabulary.

use crate::model::{OrderType, Side, TimeInForce};
use crate::venue::error::VenueError;
use crate::venue::op::OrderStatus;

/// `side` as Binance spells it.
pub fn binance_side(side: Side) -> &'static str {
    match side {
        Side::Buy => "BUY",
        Side::Sell => "SELL",
    }
}

/// Parses Binance `side`.
///
/// # Errors
/// [`VenueError::Parse`] for an unknown value.
pub fn parse_binance_side(value: &str) -> Result<Side, VenueError> {
    match value {
        "BUY" => Ok(Side::Buy),
        "SELL" => Ok(Side::Sell),
        other => Err(VenueError::parse("side", other)),
    }
}

/// Spot `type` + `timeInForce` for an order: post-only is the distinct type `LIMIT_MAKER`
/// (which takes no timeInForce).
pub fn binance_spot_type(
    order_type: OrderType,
    tif: Option<TimeInForce>,
) -> (&'static str, Option<&'static str>) {
    match (order_type, tif) {
        (OrderType::Market, _) => ("MARKET", None),
        (OrderType::Limit, Some(TimeInForce::PostOnly)) => ("LIMIT_MAKER", None),
        (OrderType::Limit, Some(TimeInForce::Ioc)) => ("LIMIT", Some("IOC")),
        (OrderType::Limit, Some(TimeInForce::Fok)) => ("LIMIT", Some("FOK")),
        (OrderType::Limit, Some(TimeInForce::Gtc) | None) => ("LIMIT", Some("GTC")),
    }
}

/// Futures `type` + `timeInForce`: post-only is `LIMIT` with `GTX`.
pub fn binance_futures_type(
    order_type: OrderType,
    tif: Option<TimeInForce>,
) -> (&'static str, Option<&'static str>) {
    match (order_type, tif) {
        (OrderType::Market, _) => ("MARKET", None),
        (OrderType::Limit, Some(TimeInForce::PostOnly)) => ("LIMIT", Some("GTX")),
        (OrderType::Limit, Some(TimeInForce::Ioc)) => ("LIMIT", Some("IOC")),
        (OrderType::Limit, Some(TimeInForce::Fok)) => ("LIMIT", Some("FOK")),
        (OrderType::Limit, Some(TimeInForce::Gtc) | None) => ("LIMIT", Some("GTC")),
    }
}

/// Parses Binance order `status` (spot and futures).
///
/// # Errors
/// [`VenueError::Parse`] for an unknown value.
pub fn parse_binance_status(value: &str) -> Result<OrderStatus, VenueError> {
    match value {
        "NEW" | "PENDING_NEW" => Ok(OrderStatus::New),
        "PARTIALLY_FILLED" => Ok(OrderStatus::PartiallyFilled),
        "FILLED" => Ok(OrderStatus::Filled),
        // PENDING_CANCEL is documented as unused; treat it as cancelled-in-progress.
        "CANCELED" | "PENDING_CANCEL" => Ok(OrderStatus::Cancelled),
        "REJECTED" => Ok(OrderStatus::Rejected),
        // EXPIRED_IN_MATCH: expired by self-trade prevention.
        "EXPIRED" | "EXPIRED_IN_MATCH" => Ok(OrderStatus::Expired),
        other => Err(VenueError::parse("status", other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_tables() {
        assert_eq!(
            binance_spot_type(OrderType::Limit, Some(TimeInForce::PostOnly)),
            ("LIMIT_MAKER", None)
        );
        assert_eq!(
            binance_futures_type(OrderType::Limit, Some(TimeInForce::PostOnly)),
            ("LIMIT", Some("GTX"))
        );
        assert_eq!(
            binance_spot_type(OrderType::Market, Some(TimeInForce::Ioc)),
            ("MARKET", None)
        );
        assert_eq!(
            parse_binance_status("EXPIRED_IN_MATCH").ok(),
            Some(OrderStatus::Expired)
        );
        assert!(parse_binance_status("WEIRD").is_err());
        assert_eq!(parse_binance_side("SELL").ok(), Some(Side::Sell));
    }
}
