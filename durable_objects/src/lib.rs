//! Keel's Durable Objects: thin adapters that hold state in SQLite storage, perform I/O, and let
//! `keel-engine` decide everything else.
//!
//! - [`control::ControlDO`]: singleton registry of bots, admin tokens and the global halt.
//! - `BotDO`: one per bot; config, risk state, orders, positions, ledger, audit outbox.

pub mod account;
pub mod account_stream;
pub mod bot;
pub mod control;
pub mod db;
pub mod http;
