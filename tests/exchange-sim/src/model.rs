//! Venue-neutral records the matching engine keeps: orders, trades and income (ledger) rows.
//! The protocol modules render them in each exchange's wire format.

use rust_decimal::Decimal;
use serde::Serialize;

use crate::config::Venue;

/// First order id handed out; ids are global and increasing.
pub const FIRST_ORDER_ID: u64 = 4_000_000;

/// Order side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Side {
    /// Buy / long.
    Buy,
    /// Sell / short.
    Sell,
}

/// Order type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum OrdType {
    /// Fills now at the market price.
    Market,
    /// Rests at a limit price.
    Limit,
}

/// Time in force (`PostOnly` covers Binance `LIMIT_MAKER` and futures `GTX`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Tif {
    /// Good till cancelled.
    Gtc,
    /// Immediate or cancel.
    Ioc,
    /// Fill or kill.
    Fok,
    /// Maker only: never takes liquidity.
    PostOnly,
}

/// Order status (venue-neutral; rendered per exchange).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Status {
    /// Resting, nothing filled.
    New,
    /// Resting, partly filled.
    PartiallyFilled,
    /// Completely filled.
    Filled,
    /// Cancelled by the client (or by post-only on Bybit).
    Canceled,
    /// Ended by the engine (IOC/FOK remainder, market without liquidity).
    Expired,
}

impl Status {
    /// True while the order can still fill or be cancelled.
    pub fn is_open(self) -> bool {
        matches!(self, Status::New | Status::PartiallyFilled)
    }
}

/// One order.
#[derive(Clone, Debug, Serialize)]
pub struct Order {
    /// Exchange order id.
    pub id: u64,
    /// Market.
    pub venue: Venue,
    /// Index of the owning account.
    pub account: usize,
    /// Symbol.
    pub symbol: String,
    /// Client order id (`newClientOrderId` / `orderLinkId`).
    pub client_id: String,
    /// Side.
    pub side: Side,
    /// Type.
    pub kind: OrdType,
    /// Time in force.
    pub tif: Tif,
    /// True for Binance `LIMIT_MAKER` (rendered as its own type).
    pub limit_maker: bool,
    /// Limit price (zero for market orders).
    pub price: Decimal,
    /// Base quantity ordered (for quote-quantity orders: the quantity computed at placement).
    pub orig_qty: Decimal,
    /// Quote amount ordered (`quoteOrderQty`, Bybit spot market buy); zero otherwise.
    pub quote_qty: Decimal,
    /// Base quantity filled.
    pub executed_qty: Decimal,
    /// Quote value filled.
    pub cum_quote: Decimal,
    /// Fees charged so far.
    pub cum_fee: Decimal,
    /// Asset of the last fee.
    pub fee_asset: String,
    /// Status.
    pub status: Status,
    /// Futures reduce-only flag.
    pub reduce_only: bool,
    /// Bybit reject reason (post-only that would take).
    pub reject_reason: String,
    /// Creation time, ms.
    pub time: i64,
    /// Last change, ms.
    pub update_time: i64,
    /// Amount still held for this order (spot), in `lock_asset`.
    pub locked: Decimal,
    /// Asset held (quote for buys, base for sells).
    pub lock_asset: String,
}

impl Order {
    /// Quantity still to fill.
    pub fn remaining(&self) -> Decimal {
        (self.orig_qty - self.executed_qty).max(Decimal::ZERO)
    }

    /// Average fill price, zero before any fill.
    pub fn avg_price(&self) -> Decimal {
        if self.executed_qty.is_zero() {
            Decimal::ZERO
        } else {
            (self.cum_quote / self.executed_qty).round_dp(8).normalize()
        }
    }
}

/// One execution.
#[derive(Clone, Debug, Serialize)]
pub struct Trade {
    /// Trade id, increasing per venue and symbol.
    pub id: u64,
    /// Market.
    pub venue: Venue,
    /// Owning account.
    pub account: usize,
    /// Symbol.
    pub symbol: String,
    /// Order filled.
    pub order_id: u64,
    /// Side of the order.
    pub side: Side,
    /// Fill price.
    pub price: Decimal,
    /// Base quantity.
    pub qty: Decimal,
    /// Quote value.
    pub quote_qty: Decimal,
    /// Fee charged.
    pub commission: Decimal,
    /// Fee asset.
    pub commission_asset: String,
    /// Fee rate applied.
    pub fee_rate: Decimal,
    /// Futures realised P&L of this fill.
    pub realized_pnl: Decimal,
    /// Size closed by this fill (futures).
    pub closed_size: Decimal,
    /// Signed position size after this fill (futures; zero for spot).
    pub position_after: Decimal,
    /// Time, ms.
    pub time: i64,
    /// True if the order was resting.
    pub is_maker: bool,
}

/// One futures ledger row (Binance `/fapi/v1/income`, Bybit transaction log).
#[derive(Clone, Debug, Serialize)]
pub struct Income {
    /// Transaction id.
    pub tran_id: u64,
    /// Market.
    pub venue: Venue,
    /// Owning account.
    pub account: usize,
    /// Symbol.
    pub symbol: String,
    /// Binance `REALIZED_PNL` / `FUNDING_FEE` / `COMMISSION`; Bybit `TRADE` / `SETTLEMENT`.
    pub kind: &'static str,
    /// Signed amount credited.
    pub income: Decimal,
    /// Asset.
    pub asset: String,
    /// Time, ms.
    pub time: i64,
    /// Trade that caused it, if any.
    pub trade_id: Option<u64>,
    /// Wallet balance of `asset` (free + locked) right after this row (Bybit `cashBalance`).
    pub balance_after: Decimal,
    /// Funding rows: signed position size, mark price and rate at settlement.
    pub funding_basis: Option<(Decimal, Decimal, Decimal)>,
}

/// One change of an order, as the user-data streams push it: the order right after the change
/// and, for an execution, the trade booked (the same record the REST trade lists serve).
#[derive(Clone, Debug)]
pub struct OrderChange {
    /// The order after the change.
    pub order: Order,
    /// The fill, when the change is one.
    pub trade: Option<Trade>,
}

/// Bybit-style UUID rendering of a numeric id (orderId, execId).
pub fn uuid_of(prefix: &str, id: u64) -> String {
    format!("{prefix}-0000-4000-8000-{id:012}")
}

/// Inverse of [`uuid_of`]; `None` if the string is not one of ours.
pub fn id_of_uuid(s: &str) -> Option<u64> {
    s.rsplit('-')
        .next()
        .and_then(|t| t.parse().ok())
        .filter(|_| s.len() == 36)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_round_trip() {
        let u = uuid_of("5f3c1a2b", 4_000_123);
        assert_eq!(u.len(), 36);
        assert_eq!(id_of_uuid(&u), Some(4_000_123));
        assert_eq!(id_of_uuid("abc"), None);
    }
}
