//! Bybit V5 REST paths (docs/exchanges.md §3.5). One set serves spot and linear; the `category`
//! parameter selects the market.

/// Server time.
pub const TIME: &str = "/v5/market/time";
/// Instrument rules.
pub const INSTRUMENTS: &str = "/v5/market/instruments-info";
/// Tickers (last / mark price).
pub const TICKERS: &str = "/v5/market/tickers";
/// Place order.
pub const ORDER_CREATE: &str = "/v5/order/create";
/// Cancel one order.
pub const ORDER_CANCEL: &str = "/v5/order/cancel";
/// Cancel all orders of a symbol.
pub const ORDER_CANCEL_ALL: &str = "/v5/order/cancel-all";
/// Open and recently closed orders.
pub const ORDER_REALTIME: &str = "/v5/order/realtime";
/// Order history (finished orders; the only source after a Bybit server restart).
pub const ORDER_HISTORY: &str = "/v5/order/history";
/// Unified wallet balance.
pub const WALLET_BALANCE: &str = "/v5/account/wallet-balance";
/// Positions.
pub const POSITION_LIST: &str = "/v5/position/list";
/// Executions (trades, and funding as `execType=Funding`).
pub const EXECUTION_LIST: &str = "/v5/execution/list";

/// Max rows per execution page.
pub const EXEC_PAGE_LIMIT: usize = 100;

/// startTime..endTime may span at most 7 days.
pub const EXEC_WINDOW_MS: i64 = 7 * 24 * 3_600_000 - 1;
