//! Bybit wire enums and their explicit translation to and from Keel's vocabulary.

use crate::model::{Market, OrderType, Side, TimeInForce};
use crate::venue::error::VenueError;
use crate::venue::op::OrderStatus;

/// `category` for a market.
pub fn bybit_category(market: Market) -> &'static str {
    match market {
        Market::Spot => "spot",
        Market::Linear => "linear",
    }
}

/// `side` as Bybit spells it.
pub fn bybit_side(side: Side) -> &'static str {
    match side {
        Side::Buy => "Buy",
        Side::Sell => "Sell",
    }
}

/// Parses Bybit `side` (`""` = flat position, returned as `None`).
///
/// # Errors
/// [`VenueError::Parse`] for an unknown value.
pub fn parse_bybit_side(value: &str) -> Result<Option<Side>, VenueError> {
    match value {
        "Buy" => Ok(Some(Side::Buy)),
        "Sell" => Ok(Some(Side::Sell)),
        "" | "None" => Ok(None),
        other => Err(VenueError::parse("side", other)),
    }
}

/// `orderType` for an order type.
pub fn bybit_order_type(order_type: OrderType) -> &'static str {
    match order_type {
        OrderType::Market => "Market",
        OrderType::Limit => "Limit",
    }
}

/// `timeInForce` (limit orders only; Bybit market orders are always IOC).
pub fn bybit_tif(tif: TimeInForce) -> &'static str {
    match tif {
        TimeInForce::Gtc => "GTC",
        TimeInForce::Ioc => "IOC",
        TimeInForce::Fok => "FOK",
        TimeInForce::PostOnly => "PostOnly",
    }
}

/// Parses `orderStatus` (`docs/v5/enum.mdx`).
///
/// # Errors
/// [`VenueError::Parse`] for an unknown value.
pub fn parse_bybit_status(value: &str) -> Result<OrderStatus, VenueError> {
    match value {
        // Conditional orders waiting or just triggered are working orders; "Created" (accepted,
        // not yet in the book) and "Active" appear in Bybit's own SDK types.
        "Created" | "New" | "Active" | "Untriggered" | "Triggered" => Ok(OrderStatus::New),
        "PartiallyFilled" => Ok(OrderStatus::PartiallyFilled),
        "Filled" => Ok(OrderStatus::Filled),
        // Spot "PartiallyFilledCanceled" is a cancel after partial fills.
        "Cancelled" | "PartiallyFilledCanceled" | "Deactivated" => Ok(OrderStatus::Cancelled),
        "Rejected" => Ok(OrderStatus::Rejected),
        other => Err(VenueError::parse("orderStatus", other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_tables() {
        assert_eq!(bybit_tif(TimeInForce::PostOnly), "PostOnly");
        assert_eq!(
            parse_bybit_status("PartiallyFilledCanceled").ok(),
            Some(OrderStatus::Cancelled)
        );
        assert!(parse_bybit_status("Zzz").is_err());
        assert_eq!(parse_bybit_side("").ok(), Some(None));
        assert_eq!(bybit_category(Market::Linear), "linear");
    }
}
