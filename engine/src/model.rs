//! The shared trading vocabulary. Venue adapters translate their wire enums into these by explicit
//! `match`; nothing outside an adapter sees a venue's spelling.

use serde::{Deserialize, Serialize};

/// Which exchange a bot trades on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Exchange {
    /// Binance (Spot `/api/v3`, USDⓈ-M futures `/fapi`).
    Binance,
    /// Bybit V5 (`category=spot|linear`).
    Bybit,
}

/// Which market of the exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Market {
    /// Spot: positions are balances, no leverage, no reduce-only.
    Spot,
    /// Linear (USDT-margined) perpetuals: signed positions, leverage, funding.
    Linear,
}

/// How a bot's orders are executed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BotMode {
    /// Orders are filled in-process by the paper venue at market price; no exchange call.
    Paper,
    /// Orders go to the exchange's testnet (or the configured `base_url`).
    Testnet,
    /// Real money.
    Live,
}

/// Order side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// Buy.
    Buy,
    /// Sell.
    Sell,
}

impl Side {
    /// The opposite side (for closing orders).
    pub fn opposite(self) -> Self {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }

    /// +1 for buy, -1 for sell, as a decimal sign for signed quantities.
    pub fn sign(self) -> rust_decimal::Decimal {
        match self {
            Side::Buy => rust_decimal::Decimal::ONE,
            Side::Sell => rust_decimal::Decimal::NEGATIVE_ONE,
        }
    }
}

/// Order type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderType {
    /// Market order.
    Market,
    /// Limit order.
    Limit,
}

/// Time in force for limit orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeInForce {
    /// Good till cancelled.
    Gtc,
    /// Immediate or cancel.
    Ioc,
    /// Fill or kill.
    Fok,
    /// Post-only (maker only): Binance spot `LIMIT_MAKER`, futures `GTX`, Bybit `PostOnly`.
    PostOnly,
}
