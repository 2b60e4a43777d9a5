//! # keel-engine
//!
//! Keel's trading domain in plain Rust. It performs **no I/O and reads no clock**: time, market
//! data and exchange responses come in as arguments; requests to send, state to store and audit
//! events to record come out as values. The same code therefore runs inside the bot Durable Object
//! (WASM), in native `cargo test`, and in the backtester.
//!
//! Module map (each module's doc says why it exists):
//! - [`ids`]: validated identifier types (bot, signal, client order id, symbol).
//! - [`model`]: the shared vocabulary (side, order type, order request, fill, instrument rules).
//! - [`venue`]: the one `Venue` trait and its Binance, Bybit and paper implementations (sans-IO).
//! - [`signal`], [`config`], [`risk`], [`sizing`], [`order`], [`position`], [`ledger`]: from an
//!   alert to an exact P&L.
//! - [`bot`]: the synchronous decision core composing all of the above (live and backtest).
//! - [`audit`]: hash-chained audit events; [`vault`]: credentials sealed at rest.
//! - [`schedule`]: trading hours (cron keep-alive) and the daily summary's day.
//! - [`insights`]: execution-quality anomaly detection (robust z-scores, CUSUM).
//! - [`calls`]: the influencer/channel call logger: a grammar for pasted signal messages, versioned
//!   calls hashed into a chain, scoring against exact candles and a leaderboard per source.
//! - [`calendar`]: UTC calendar maths and the strict ISO-8601 parser (chrono), written once.
//! - [`market`]: historical bars (OHLCV of one timeframe) and their timeframes, shared by the
//!   venues' kline reads, the factors, the strategies, the history store and the backtester.
//! - [`factor`], [`strategy`], [`backtest`]: custom strategies and the backtester that runs the
//!   live code.
//! - [`regime`]: market regimes and changepoints as streaming factors; [`abtest`]: sequential
//!   A/B tests of strategy versions that may be read after every bar, and the Sharpe-difference
//!   test; [`analytics`]: a live bot's ratios and its exact P&L attribution.
//! - [`portfolio`]: what several bots may hold and lose together (limits, leases, protections),
//!   and capital allocation across them.

pub mod abtest;
pub mod alert;
pub mod analytics;
/// Version of the domain crate, reported by `/health` beside the Worker's own.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub mod audit;
pub mod backtest;
pub mod bot;
pub mod calendar;
pub mod calls;
pub mod chat;
pub mod config;
pub mod factor;
/// Numbers for humans: one display rule for dashboard, CLI and report.
pub mod format;
/// Exact historical candles: month-file codec, store planning, CSV and kline imports (sans-IO).
pub mod history;
#[cfg(test)]
mod hostile_tests;
pub mod ids;
pub mod insights;
pub mod ledger;
pub mod market;
pub mod model;
pub mod order;
/// Portfolio limits, budget leases, protections and capital allocation across bots.
pub mod portfolio;
pub mod position;
#[cfg(test)]
mod prop_seed;
pub mod regime;
pub mod risk;
pub mod schedule;
pub mod signal;
pub mod sizing;
pub mod strategy;
#[cfg(test)]
mod test_rng;
pub mod vault;
pub mod venue;
