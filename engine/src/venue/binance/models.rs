//! Binance wire structs (Spot and USDⓈ-M share most shapes; fields present on only one market
//! are optional). Numbers arrive as strings and are parsed in `parse`.

use serde::Deserialize;

/// `{code, msg}` error body.
#[derive(Debug, Deserialize)]
pub struct BnError {
    /// Negative error code.
    pub code: i64,
    /// Message.
    #[serde(default)]
    pub msg: String,
}

/// `GET /time`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BnTime {
    /// Server time, ms.
    pub server_time: i64,
}

/// An order (new-order RESULT/FULL, query, cancel, open orders).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BnOrder {
    /// Symbol.
    pub symbol: String,
    /// Exchange id.
    pub order_id: i64,
    /// Client id (on spot cancels: the id of the cancel request).
    #[serde(default)]
    pub client_order_id: String,
    /// On spot cancels: the client id of the order cancelled.
    #[serde(default)]
    pub orig_client_order_id: Option<String>,
    /// Limit price.
    #[serde(default)]
    pub price: Option<String>,
    /// Ordered qty.
    #[serde(default)]
    pub orig_qty: Option<String>,
    /// Filled qty.
    #[serde(default)]
    pub executed_qty: Option<String>,
    /// Spot filled quote value (Binance spelling).
    #[serde(default)]
    pub cummulative_quote_qty: Option<String>,
    /// Futures filled quote value.
    #[serde(default)]
    pub cum_quote: Option<String>,
    /// Status.
    #[serde(default)]
    pub status: Option<String>,
    /// Side.
    #[serde(default)]
    pub side: Option<String>,
    /// New-order time (spot).
    #[serde(default)]
    pub transact_time: Option<i64>,
    /// Last update.
    #[serde(default)]
    pub update_time: Option<i64>,
    /// Creation (queries).
    #[serde(default)]
    pub time: Option<i64>,
    /// Fills (spot FULL).
    #[serde(default)]
    pub fills: Vec<BnOrderFill>,
}

/// One fill inside a spot FULL response.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BnOrderFill {
    /// Price.
    pub price: String,
    /// Qty.
    pub qty: String,
    /// Fee.
    pub commission: String,
    /// Fee asset.
    pub commission_asset: String,
    /// Trade id.
    pub trade_id: i64,
}

/// One of our trades (spot myTrades / futures userTrades).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BnTrade {
    /// Symbol.
    pub symbol: String,
    /// Trade id.
    pub id: i64,
    /// Order id.
    pub order_id: i64,
    /// Price.
    pub price: String,
    /// Qty.
    pub qty: String,
    /// Fee.
    pub commission: String,
    /// Fee asset.
    pub commission_asset: String,
    /// Time.
    pub time: i64,
    /// Spot: buyer?
    #[serde(default)]
    pub is_buyer: Option<bool>,
    /// Spot: maker?
    #[serde(default)]
    pub is_maker: Option<bool>,
    /// Futures: buyer?
    #[serde(default)]
    pub buyer: Option<bool>,
    /// Futures: maker?
    #[serde(default)]
    pub maker: Option<bool>,
}

/// Spot `GET /account`.
#[derive(Debug, Deserialize)]
pub struct BnAccount {
    /// Balances.
    pub balances: Vec<BnSpotBalance>,
}

/// Spot balance row.
#[derive(Debug, Deserialize)]
pub struct BnSpotBalance {
    /// Asset.
    pub asset: String,
    /// Free.
    pub free: String,
    /// Locked.
    pub locked: String,
}

/// Futures `GET /fapi/v2/balance` row.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BnFuturesBalance {
    /// Asset.
    pub asset: String,
    /// Wallet balance.
    pub balance: String,
    /// Available for new margin.
    pub available_balance: String,
}

/// Futures `positionRisk` row.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BnPosition {
    /// Symbol.
    pub symbol: String,
    /// Signed size.
    pub position_amt: String,
    /// Entry price.
    pub entry_price: String,
    /// Mark price.
    pub mark_price: String,
    /// Unrealized P&L.
    pub un_realized_profit: String,
    /// Leverage (v2 only).
    #[serde(default)]
    pub leverage: Option<String>,
}

/// Futures `income` row.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BnIncome {
    /// Symbol.
    #[serde(default)]
    pub symbol: String,
    /// Type (`FUNDING_FEE`).
    pub income_type: String,
    /// Signed amount.
    pub income: String,
    /// Asset.
    pub asset: String,
    /// Time.
    pub time: i64,
    /// Transaction id.
    pub tran_id: i64,
}

/// Spot ticker price.
#[derive(Debug, Deserialize)]
pub struct BnTickerPrice {
    /// Symbol.
    pub symbol: String,
    /// Last price.
    pub price: String,
}

/// Futures premium index (mark price).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BnPremiumIndex {
    /// Symbol.
    pub symbol: String,
    /// Mark price.
    pub mark_price: String,
}

/// `exchangeInfo`.
#[derive(Debug, Deserialize)]
pub struct BnExchangeInfo {
    /// Symbols.
    pub symbols: Vec<BnSymbol>,
}

/// One symbol of `exchangeInfo`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BnSymbol {
    /// Symbol.
    pub symbol: String,
    /// Base asset.
    pub base_asset: String,
    /// Quote asset.
    pub quote_asset: String,
    /// Filters, kept as loose JSON because each type has its own keys.
    #[serde(default)]
    pub filters: Vec<serde_json::Map<String, serde_json::Value>>,
}
