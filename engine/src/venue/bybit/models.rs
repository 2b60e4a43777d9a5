//! Bybit V5 wire structs. Every number is a string; absent or `""` values parse as zero.

use serde::Deserialize;

/// The envelope of every V5 response.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ByEnvelope<T> {
    /// 0 = success.
    pub ret_code: i64,
    /// Message.
    #[serde(default)]
    pub ret_msg: String,
    /// Payload (absent or `{}` on errors).
    pub result: Option<T>,
    /// Server time, ms.
    #[serde(default)]
    pub time: Option<i64>,
}

/// Envelope header only, to read the code and time without knowing the payload.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ByHead {
    /// 0 = success.
    pub ret_code: i64,
    /// Message.
    #[serde(default)]
    pub ret_msg: String,
    /// Server time, ms.
    #[serde(default)]
    pub time: Option<i64>,
}

/// `{list, nextPageCursor}` payloads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ByList<T> {
    /// Rows.
    #[serde(default = "Vec::new")]
    pub list: Vec<T>,
    /// Cursor of the next page, `""` at the end.
    #[serde(default)]
    pub next_page_cursor: Option<String>,
}

/// `/v5/market/time`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ByTime {
    /// Seconds.
    #[serde(default)]
    pub time_second: String,
    /// Nanoseconds.
    #[serde(default)]
    pub time_nano: String,
}

/// Create / cancel acknowledgement.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ByOrderAck {
    /// Exchange id.
    pub order_id: String,
    /// Our id.
    #[serde(default)]
    pub order_link_id: String,
}

/// An order from realtime / history.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ByOrder {
    /// Exchange id.
    pub order_id: String,
    /// Our id.
    #[serde(default)]
    pub order_link_id: String,
    /// Symbol.
    pub symbol: String,
    /// Limit price.
    #[serde(default)]
    pub price: String,
    /// Ordered qty.
    #[serde(default)]
    pub qty: String,
    /// Side.
    #[serde(default)]
    pub side: String,
    /// Status.
    pub order_status: String,
    /// Filled qty.
    #[serde(default)]
    pub cum_exec_qty: String,
    /// Filled value.
    #[serde(default)]
    pub cum_exec_value: String,
    /// Last update, ms as string.
    #[serde(default)]
    pub updated_time: String,
}

/// An execution.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ByExecution {
    /// Symbol.
    pub symbol: String,
    /// Exchange order id.
    #[serde(default)]
    pub order_id: String,
    /// Our id.
    #[serde(default)]
    pub order_link_id: String,
    /// Side.
    #[serde(default)]
    pub side: String,
    /// Price.
    #[serde(default)]
    pub exec_price: String,
    /// Qty.
    #[serde(default)]
    pub exec_qty: String,
    /// Fee (funding rows: the funding fee, positive = paid).
    #[serde(default)]
    pub exec_fee: String,
    /// Fee currency.
    #[serde(default)]
    pub fee_currency: String,
    /// Execution id.
    pub exec_id: String,
    /// Type (`Trade`, `Funding`, ...).
    #[serde(default)]
    pub exec_type: String,
    /// Time, ms as string.
    pub exec_time: String,
    /// Maker?
    #[serde(default)]
    pub is_maker: bool,
    /// Who created the order (`CreateByUser`, `CreateByStopLoss`, `CreateByTakeProfit`, ...).
    #[serde(default)]
    pub create_type: String,
    /// Conditional kind of the order (`StopLoss`, `TakeProfit`, `tpslOrder`, ...; empty if none).
    #[serde(default)]
    pub stop_order_type: String,
}

/// Wallet-balance account row.
#[derive(Debug, Deserialize)]
pub struct ByWallet {
    /// Coins.
    #[serde(default)]
    pub coin: Vec<ByCoin>,
}

/// Wallet coin row.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ByCoin {
    /// Coin.
    pub coin: String,
    /// Wallet balance.
    #[serde(default)]
    pub wallet_balance: String,
    /// Locked by orders.
    #[serde(default)]
    pub locked: String,
}

/// Position row.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ByPosition {
    /// Symbol.
    pub symbol: String,
    /// `Buy`, `Sell` or `""`.
    #[serde(default)]
    pub side: String,
    /// Absolute size.
    #[serde(default)]
    pub size: String,
    /// Entry price.
    #[serde(default)]
    pub avg_price: String,
    /// Mark price.
    #[serde(default)]
    pub mark_price: String,
    /// Unrealized P&L.
    #[serde(default)]
    pub unrealised_pnl: String,
    /// Leverage.
    #[serde(default)]
    pub leverage: String,
}

/// Ticker row.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ByTicker {
    /// Symbol.
    pub symbol: String,
    /// Last price.
    #[serde(default)]
    pub last_price: String,
    /// Mark price (derivatives).
    #[serde(default)]
    pub mark_price: Option<String>,
}

/// Instrument row (spot and linear share the outer shape).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ByInstrument {
    /// Symbol.
    pub symbol: String,
    /// Base coin.
    pub base_coin: String,
    /// Quote coin.
    pub quote_coin: String,
    /// Price filter.
    #[serde(default)]
    pub price_filter: ByPriceFilter,
    /// Lot-size filter.
    #[serde(default)]
    pub lot_size_filter: ByLotSizeFilter,
}

/// `priceFilter`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ByPriceFilter {
    /// Tick.
    #[serde(default)]
    pub tick_size: String,
    /// Min price (linear).
    #[serde(default)]
    pub min_price: String,
    /// Max price (linear).
    #[serde(default)]
    pub max_price: String,
}

/// `lotSizeFilter` (union of the spot and linear keys).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ByLotSizeFilter {
    /// Linear qty step.
    #[serde(default)]
    pub qty_step: String,
    /// Spot qty step.
    #[serde(default)]
    pub base_precision: String,
    /// Min qty.
    #[serde(default)]
    pub min_order_qty: String,
    /// Max qty (linear limit orders; deprecated on spot).
    #[serde(default)]
    pub max_order_qty: String,
    /// Spot max limit-order qty.
    #[serde(default)]
    pub max_limit_order_qty: String,
    /// Spot max market-order qty.
    #[serde(default)]
    pub max_market_order_qty: String,
    /// Linear max market-order qty.
    #[serde(default)]
    pub max_mkt_order_qty: String,
    /// Linear min notional.
    #[serde(default)]
    pub min_notional_value: String,
    /// Spot min order value.
    #[serde(default)]
    pub min_order_amt: String,
}
