//! Historical candles: an exact, compact store and the sans-IO importers that fill it.
//!
//! Everything here is pure (no file or network I/O, no clock): the CLI (`keel data …`) and the
//! Worker do the reading, writing and fetching, and call these functions to decide what to
//! fetch, how to parse it, how to encode it and what is missing.
//!
//! - [`Candle`]: one OHLCV bar with **exact** `Decimal` prices and volume, as the exchange sent
//!   them; [`Candle::to_bar`] gives the `f64` [`Bar`](crate::market::Bar) the backtester and
//!   the factors use.
//! - [`codec`]: the month-file format (`KEELBARS` v1): versioned header, one delta + varint
//!   column block per field, prices as scaled integers at the file's decimal scale (so the
//!   exchange's tick grid survives bit for bit), CRC-32 trailer.
//! - [`store`]: where a month lives (`{exchange}/{market}/{SYMBOL}/{tf}/{YYYY-MM}.keelbars`),
//!   which months a range touches, merging a page of new candles into a month, slicing a range
//!   out of decoded months, resampling, and the gap report.
//! - [`csv`]: the Binance public-dump kline CSV (with or without header; microsecond open times
//!   of the 2025+ spot dumps), parsed exactly.
//! - [`kline`]: request building and response parsing for Binance (spot `/api/v3/klines`,
//!   futures `/fapi/v1/klines`) and Bybit (`/v5/market/kline`, newest first).
//! - [`import`]: the paged, rate-limit-aware, resumable import as a state machine: it hands out
//!   the next request, digests each answer into candles, waits or errors.

mod candle;
pub mod codec;
pub mod csv;
pub mod import;
pub mod kline;
pub mod store;

pub use candle::{Candle, CandleError, Instrument};
