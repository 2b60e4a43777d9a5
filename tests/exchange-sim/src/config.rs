//! Simulator configuration: instruments with real-looking filters, accounts with API keys and
//! balances, fee rates and rate limits. Loaded from JSON (`--config`) or built in, so every test
//! and local run starts from a known, documented state.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// One of the four markets the simulator speaks; decides URL prefix, wire format and wallet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Venue {
    /// Binance Spot, `/api/v3`.
    BinanceSpot,
    /// Binance USDⓈ-M futures, `/fapi`.
    BinanceFutures,
    /// Bybit V5 `category=spot`.
    BybitSpot,
    /// Bybit V5 `category=linear`.
    BybitLinear,
}

impl Venue {
    /// True for the derivatives markets, which keep positions instead of moving base assets.
    pub fn is_futures(self) -> bool {
        matches!(self, Venue::BinanceFutures | Venue::BybitLinear)
    }

    /// The exchange that owns this market; API keys belong to an exchange.
    pub fn exchange(self) -> Exchange {
        match self {
            Venue::BinanceSpot | Venue::BinanceFutures => Exchange::Binance,
            Venue::BybitSpot | Venue::BybitLinear => Exchange::Bybit,
        }
    }
}

/// An exchange: accounts (API keys) are per exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Exchange {
    /// Binance (spot and USDⓈ-M share a key, not a wallet).
    Binance,
    /// Bybit unified trading account (spot and linear share one wallet).
    Bybit,
}

/// Trading rules and starting price of one symbol on one venue.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InstrumentConfig {
    /// Market the symbol trades on.
    pub venue: Venue,
    /// Exchange symbol, e.g. `BTCUSDT`.
    pub symbol: String,
    /// Base asset, e.g. `BTC`.
    pub base: String,
    /// Quote (and margin) asset, e.g. `USDT`.
    pub quote: String,
    /// Price increment.
    pub tick_size: Decimal,
    /// Smallest accepted price.
    pub min_price: Decimal,
    /// Largest accepted price.
    pub max_price: Decimal,
    /// Quantity increment.
    pub step_size: Decimal,
    /// Smallest accepted quantity.
    pub min_qty: Decimal,
    /// Largest accepted limit-order quantity.
    pub max_qty: Decimal,
    /// Largest accepted market-order quantity.
    pub max_market_qty: Decimal,
    /// Smallest order value in quote asset.
    pub min_notional: Decimal,
    /// Starting price.
    pub price: Decimal,
}

/// Maker and taker fee rates of one venue.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct FeeRates {
    /// Rate paid by a resting order that gets filled.
    pub maker: Decimal,
    /// Rate paid by an order that takes liquidity.
    pub taker: Decimal,
}

/// An exchange account: one API key/secret pair and its wallets.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AccountConfig {
    /// Name used by the admin API.
    pub name: String,
    /// Exchange the key belongs to.
    pub exchange: Exchange,
    /// API key sent in `X-MBX-APIKEY` / `X-BAPI-API-KEY`.
    pub api_key: String,
    /// HMAC secret.
    pub api_secret: String,
    /// Binance: pay spot fees in BNB at a 25 % discount when enough BNB is free.
    #[serde(default)]
    pub bnb_fee_discount: bool,
    /// Spot wallet (Binance) or unified wallet (Bybit, also margin for linear).
    pub spot: BTreeMap<String, Decimal>,
    /// Binance USDⓈ-M futures wallet (unused for Bybit).
    #[serde(default)]
    pub futures: BTreeMap<String, Decimal>,
}

/// Rate-limit parameters; tests lower them to reach 429/418 quickly.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RateLimitConfig {
    /// Binance spot request weight per minute (`X-MBX-USED-WEIGHT-1M`).
    pub binance_spot_weight_1m: u64,
    /// Binance futures request weight per minute.
    pub binance_futures_weight_1m: u64,
    /// Binance spot orders per 10 s per account.
    pub binance_spot_orders_10s: u64,
    /// Binance spot orders per day per account.
    pub binance_spot_orders_1d: u64,
    /// Binance futures orders per 10 s per account.
    pub binance_futures_orders_10s: u64,
    /// Binance futures orders per minute per account.
    pub binance_futures_orders_1m: u64,
    /// Requests still answered 429 after the first 429 before the IP is banned (418).
    pub binance_requests_before_ban: u64,
    /// Length of the first 418 ban in seconds.
    pub binance_ban_secs: u64,
    /// Bybit order create/cancel per second per account, spot.
    pub bybit_spot_orders_per_s: u64,
    /// Bybit order create/cancel per second per account, linear.
    pub bybit_linear_orders_per_s: u64,
    /// Bybit other private endpoints per second per account.
    pub bybit_other_per_s: u64,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            binance_spot_weight_1m: 6000,
            binance_futures_weight_1m: 2400,
            binance_spot_orders_10s: 100,
            binance_spot_orders_1d: 200_000,
            binance_futures_orders_10s: 300,
            binance_futures_orders_1m: 1200,
            binance_requests_before_ban: 5,
            binance_ban_secs: 120,
            bybit_spot_orders_per_s: 20,
            bybit_linear_orders_per_s: 10,
            bybit_other_per_s: 50,
        }
    }
}

/// Whole simulator configuration.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SimConfig {
    /// Tradable instruments.
    pub instruments: Vec<InstrumentConfig>,
    /// Accounts and their keys.
    pub accounts: Vec<AccountConfig>,
    /// Fee rates per venue.
    pub fees: BTreeMap<Venue, FeeRates>,
    /// Rate limits.
    #[serde(default)]
    pub rate_limits: RateLimitConfig,
    /// Half-spread as a fraction of price applied to market fills (buy above, sell below).
    #[serde(default)]
    pub spread: Decimal,
    /// Milliseconds between random-walk steps when `--price-walk` is on.
    #[serde(default = "default_walk_ms")]
    pub walk_interval_ms: u64,
    /// Largest random-walk step, in basis points of price.
    #[serde(default = "default_walk_bps")]
    pub walk_step_bps: u32,
}

fn default_walk_ms() -> u64 {
    1000
}

fn default_walk_bps() -> u32 {
    5
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap_or_default()
}

/// Compact row for the built-in instrument table:
/// symbol, base, tick, step, minQty, maxQty, maxMarketQty, minNotional, price.
type Row = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

const BINANCE_SPOT: [Row; 4] = [
    (
        "BTCUSDT", "BTC", "0.01", "0.00001", "0.00001", "9000", "120", "5", "65000.00",
    ),
    (
        "ETHUSDT", "ETH", "0.01", "0.0001", "0.0001", "9000", "2000", "5", "3200.00",
    ),
    (
        "SOLUSDT", "SOL", "0.01", "0.001", "0.001", "90000", "30000", "5", "150.00",
    ),
    (
        "BNBUSDT", "BNB", "0.01", "0.001", "0.001", "9000", "3000", "5", "600.00",
    ),
];
const BINANCE_FUTURES: [Row; 4] = [
    (
        "BTCUSDT", "BTC", "0.10", "0.001", "0.001", "1000", "120", "100", "65000.00",
    ),
    (
        "ETHUSDT", "ETH", "0.01", "0.001", "0.001", "10000", "2000", "20", "3200.00",
    ),
    (
        "SOLUSDT", "SOL", "0.0100", "1", "1", "1000000", "5000", "5", "150.00",
    ),
    (
        "BNBUSDT", "BNB", "0.010", "0.01", "0.01", "100000", "2000", "5", "600.00",
    ),
];
const BYBIT_SPOT: [Row; 4] = [
    (
        "BTCUSDT",
        "BTC",
        "0.01",
        "0.000001",
        "0.000048",
        "71.73956243",
        "71.73956243",
        "5",
        "65000.00",
    ),
    (
        "ETHUSDT",
        "ETH",
        "0.01",
        "0.00001",
        "0.00062",
        "1229.2336343",
        "1229.2336343",
        "5",
        "3200.00",
    ),
    (
        "SOLUSDT", "SOL", "0.01", "0.001", "0.023", "30000", "30000", "5", "150.00",
    ),
    (
        "BNBUSDT", "BNB", "0.1", "0.001", "0.004", "5000", "5000", "5", "600.0",
    ),
];
const BYBIT_LINEAR: [Row; 4] = [
    (
        "BTCUSDT", "BTC", "0.10", "0.001", "0.001", "1190", "119", "5", "65000.00",
    ),
    (
        "ETHUSDT", "ETH", "0.01", "0.01", "0.01", "7240", "724", "5", "3200.00",
    ),
    (
        "SOLUSDT", "SOL", "0.010", "0.1", "0.1", "79770", "7977", "5", "150.00",
    ),
    (
        "BNBUSDT", "BNB", "0.05", "0.01", "0.01", "1800", "180", "5", "600.00",
    ),
];

fn instruments(venue: Venue, rows: &[Row]) -> Vec<InstrumentConfig> {
    rows.iter()
        .map(|r| InstrumentConfig {
            venue,
            symbol: r.0.to_string(),
            base: r.1.to_string(),
            quote: "USDT".to_string(),
            tick_size: d(r.2),
            min_price: d(r.2),
            max_price: d("1000000"),
            step_size: d(r.3),
            min_qty: d(r.4),
            max_qty: d(r.5),
            max_market_qty: d(r.6),
            min_notional: d(r.7),
            price: d(r.8),
        })
        .collect()
}

fn wallet(pairs: &[(&str, &str)]) -> BTreeMap<String, Decimal> {
    pairs.iter().map(|(a, v)| (a.to_string(), d(v))).collect()
}

impl Default for SimConfig {
    /// The built-in configuration documented in the README (keys, balances, filters).
    fn default() -> Self {
        let mut all = instruments(Venue::BinanceSpot, &BINANCE_SPOT);
        all.extend(instruments(Venue::BinanceFutures, &BINANCE_FUTURES));
        all.extend(instruments(Venue::BybitSpot, &BYBIT_SPOT));
        all.extend(instruments(Venue::BybitLinear, &BYBIT_LINEAR));
        let spot = wallet(&[
            ("USDT", "100000"),
            ("BTC", "1"),
            ("ETH", "10"),
            ("SOL", "100"),
            ("BNB", "10"),
        ]);
        let futures = wallet(&[("USDT", "100000")]);
        let account = |name: &str, exchange, key: &str, secret: &str, bnb| AccountConfig {
            name: name.to_string(),
            exchange,
            api_key: key.to_string(),
            api_secret: secret.to_string(),
            bnb_fee_discount: bnb,
            spot: spot.clone(),
            futures: if exchange == Exchange::Binance {
                futures.clone()
            } else {
                BTreeMap::new()
            },
        };
        let accounts = vec![
            account(
                "binance-main",
                Exchange::Binance,
                "simBinanceKeyMain0001",
                "simBinanceSecretMain0001",
                false,
            ),
            account(
                "binance-bnb",
                Exchange::Binance,
                "simBinanceKeyBnb0002",
                "simBinanceSecretBnb0002",
                true,
            ),
            // A third Binance account, so a test that exhausts one account's rate-limit budget
            // (Keel shares that budget per key on purpose) cannot starve another test.
            account(
                "binance-third",
                Exchange::Binance,
                "simBinanceKeyThird0003",
                "simBinanceSecretThird0003",
                false,
            ),
            account(
                "bybit-main",
                Exchange::Bybit,
                "simBybitKeyMain0001",
                "simBybitSecretMain0001",
                false,
            ),
            account(
                "bybit-second",
                Exchange::Bybit,
                "simBybitKeySecond0002",
                "simBybitSecretSecond0002",
                false,
            ),
            // Accounts only the P&L history spec trades on: funding is paid on an account's whole
            // position, so exact funding checks need an account no other test leaves a position on.
            account(
                "binance-pnl",
                Exchange::Binance,
                "simBinanceKeyPnl0004",
                "simBinanceSecretPnl0004",
                false,
            ),
            account(
                "binance-pnl-bnb",
                Exchange::Binance,
                "simBinanceKeyPnlBnb0005",
                "simBinanceSecretPnlBnb0005",
                true,
            ),
            account(
                "bybit-pnl",
                Exchange::Bybit,
                "simBybitKeyPnl0003",
                "simBybitSecretPnl0003",
                false,
            ),
            account(
                "binance-money",
                Exchange::Binance,
                "simBinanceKeyMoney0006",
                "simBinanceSecretMoney0006",
                false,
            ),
            account(
                "binance-money-bnb",
                Exchange::Binance,
                "simBinanceKeyMoneyBnb0007",
                "simBinanceSecretMoneyBnb0007",
                true,
            ),
            account(
                "bybit-money",
                Exchange::Bybit,
                "simBybitKeyMoney0004",
                "simBybitSecretMoney0004",
                false,
            ),
        ];
        let fees = [
            (Venue::BinanceSpot, "0.001", "0.001"),
            (Venue::BinanceFutures, "0.0002", "0.0005"),
            (Venue::BybitSpot, "0.001", "0.001"),
            (Venue::BybitLinear, "0.0002", "0.00055"),
        ]
        .into_iter()
        .map(|(v, m, t)| {
            (
                v,
                FeeRates {
                    maker: d(m),
                    taker: d(t),
                },
            )
        })
        .collect();
        SimConfig {
            instruments: all,
            accounts,
            fees,
            rate_limits: RateLimitConfig::default(),
            spread: Decimal::ZERO,
            walk_interval_ms: default_walk_ms(),
            walk_step_bps: default_walk_bps(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_is_complete_and_round_trips() {
        let cfg = SimConfig::default();
        assert_eq!(cfg.instruments.len(), 16);
        assert_eq!(cfg.fees.len(), 4);
        for i in &cfg.instruments {
            assert!(
                i.tick_size > Decimal::ZERO && i.step_size > Decimal::ZERO,
                "{}",
                i.symbol
            );
            assert_eq!(
                i.price % i.tick_size,
                Decimal::ZERO,
                "{} {:?}",
                i.symbol,
                i.venue
            );
        }
        let json = serde_json::to_string(&cfg).unwrap_or_default();
        let back: SimConfig = serde_json::from_str(&json).unwrap_or_else(|_| SimConfig {
            instruments: vec![],
            ..SimConfig::default()
        });
        assert_eq!(back.instruments.len(), 16);
    }
}
