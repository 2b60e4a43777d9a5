//! # keel-engine
//!
//! Keel's trading domain in plain Rust. It performs **no I/O and reads no clock**: time, market
//! data and exchange responses come in as arguments; requests to send, state to store and audit
//! events to record come out as values. The same code therefore runs inside the bot Durable Object
//! (WASM), in native `cargo test`, and in the backtester.
//!
//! Module map (each module's doc says why it exists):
//! - [`ids`]: validated identifier types (bot, signal, client order id, symbol).
//! - [`model`]: the shared vocabulary (side, order type, time in force, order status, exchange,
//!   market, bot mode).

pub mod ids;
pub mod model;
