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

use crate::ids::{ClientOrderId, Symbol};
use rust_decimal::Decimal;

/// How much an order is for. Exactly one unit is chosen before the order reaches a venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "unit", content = "value")]
pub enum OrderQty {
    /// Quantity in the base asset (or contracts for linear).
    Base(Decimal),
    /// Amount of quote asset to spend (market buys on spot only: Binance `quoteOrderQty`,
    /// Bybit `marketUnit=quoteCoin`).
    Quote(Decimal),
}

/// A fully decided order, ready for a venue adapter to turn into a request. Built only from an
/// approved risk verdict; adapters never change its meaning, only its spelling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRequest {
    /// Deterministic id derived from `(bot_id, signal_id, leg)`.
    pub client_order_id: ClientOrderId,
    /// Exchange symbol.
    pub symbol: Symbol,
    /// Buy or sell.
    pub side: Side,
    /// Market or limit.
    pub order_type: OrderType,
    /// Size, already rounded to the instrument's step.
    pub qty: OrderQty,
    /// Limit price, already rounded to tick; `None` for market orders.
    pub price: Option<Decimal>,
    /// Time in force for limit orders; `None` for market orders.
    pub time_in_force: Option<TimeInForce>,
    /// Only reduce an existing position (linear only; spot adapters refuse `true`).
    pub reduce_only: bool,
}

/// One execution (trade) of an order, as the exchange reports it. The ledger books these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fill {
    /// Exchange trade / execution id (unique per symbol on Binance, globally on Bybit).
    pub trade_id: String,
    /// Exchange order id.
    pub order_id: String,
    /// Our client order id, when the venue reports it.
    pub client_order_id: Option<ClientOrderId>,
    /// Symbol.
    pub symbol: Symbol,
    /// Side of our order.
    pub side: Side,
    /// Execution price.
    pub price: Decimal,
    /// Executed quantity (base asset / contracts), positive.
    pub qty: Decimal,
    /// Fee charged, positive = paid, negative = rebate.
    pub fee: Decimal,
    /// Asset the fee was charged in (quote, base, BNB, ...).
    pub fee_asset: String,
    /// Execution time, milliseconds since the Unix epoch (UTC).
    pub time_ms: i64,
    /// Whether we were the maker.
    pub is_maker: bool,
}

/// Trading rules of one instrument, from `exchangeInfo` / `instruments-info`. A zero value means
/// the exchange does not enforce that rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstrumentRules {
    /// Symbol.
    pub symbol: Symbol,
    /// Base asset (`BTC`).
    pub base_asset: String,
    /// Quote / settle asset (`USDT`).
    pub quote_asset: String,
    /// Price increment.
    pub tick_size: Decimal,
    /// Quantity increment.
    pub step_size: Decimal,
    /// Minimum order quantity.
    pub min_qty: Decimal,
    /// Maximum order quantity (limit orders).
    pub max_qty: Decimal,
    /// Maximum market-order quantity (zero = same as `max_qty`).
    pub max_market_qty: Decimal,
    /// Minimum order notional (price × qty) in quote.
    pub min_notional: Decimal,
    /// Minimum price (zero = none).
    pub min_price: Decimal,
    /// Maximum price (zero = none).
    pub max_price: Decimal,
}
