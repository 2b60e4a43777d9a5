//! Binance REST paths per market (Spot `/api/v3`, USDⓈ-M `/fapi`), and the request weights
//! Binance documents for them (docs/exchanges.md §1.4, §2).

use crate::model::Market;

/// Paths of one Binance market.
#[derive(Debug)]
pub struct Paths {
    /// Server time.
    pub time: &'static str,
    /// Instrument rules.
    pub exchange_info: &'static str,
    /// Reference price (spot last price; futures premium index with mark price).
    pub ticker: &'static str,
    /// Place / cancel / query one order.
    pub order: &'static str,
    /// Open orders.
    pub open_orders: &'static str,
    /// Cancel all open orders of a symbol.
    pub cancel_all: &'static str,
    /// Balances.
    pub balances: &'static str,
    /// Our trades.
    pub trades: &'static str,
    /// Positions (futures).
    pub positions: &'static str,
    /// Income history (futures funding).
    pub income: &'static str,
}

/// Spot paths.
pub const SPOT: Paths = Paths {
    time: "/api/v3/time",
    exchange_info: "/api/v3/exchangeInfo",
    ticker: "/api/v3/ticker/price",
    order: "/api/v3/order",
    open_orders: "/api/v3/openOrders",
    cancel_all: "/api/v3/openOrders",
    balances: "/api/v3/account",
    trades: "/api/v3/myTrades",
    positions: "",
    income: "",
};

/// USDⓈ-M futures paths.
pub const FUTURES: Paths = Paths {
    time: "/fapi/v1/time",
    exchange_info: "/fapi/v1/exchangeInfo",
    ticker: "/fapi/v1/premiumIndex",
    order: "/fapi/v1/order",
    open_orders: "/fapi/v1/openOrders",
    cancel_all: "/fapi/v1/allOpenOrders",
    balances: "/fapi/v2/balance",
    trades: "/fapi/v1/userTrades",
    positions: "/fapi/v3/positionRisk",
    income: "/fapi/v1/income",
};

/// Paths for a market.
pub fn paths(market: Market) -> &'static Paths {
    match market {
        Market::Spot => &SPOT,
        Market::Linear => &FUTURES,
    }
}

/// Max rows per trades / income page Binance allows.
pub const PAGE_LIMIT: usize = 1000;

/// How far apart `startTime` and `endTime` may be for trade history: 24 h on spot, 7 days on
/// futures.
pub fn trade_window_ms(market: Market) -> i64 {
    match market {
        Market::Spot => 24 * 3_600_000 - 1,
        Market::Linear => 7 * 24 * 3_600_000 - 1,
    }
}
