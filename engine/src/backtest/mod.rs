//! Backtesting over historical bars **with the live code path**: every target a strategy emits
//! becomes a `target` [`Signal`](crate::signal::Signal) that goes through [`bot::decide`]
//! (sizing with exchange filters, the risk engine), each approved order is placed on the
//! [`PaperVenue`](crate::venue::paper::PaperVenue) exactly as the bot Durable Object does
//! (`venue.build(VenueOp::PlaceOrder)`), and its fills are booked by [`bot::book_fill`] (the
//! ledger half of [`bot::book_fills`], without audit drafts) into a
//! [`Ledger`](crate::ledger::Ledger) whose `pnl_report` is the backtest's P&L. Nothing here
//! re-implements sizing, fees, risk or P&L.
//!
//! Fill model (stated in every report): an intent decided on bar `t`'s close fills at bar
//! `t+1`'s open ([`FillAt::NextOpen`], the default: no look-ahead) or at bar `t`'s close
//! ([`FillAt::Close`]), at that price moved against the order by `slippage_bps` and rounded to
//! the tick; market orders pay the paper venue's taker fee.
//!
//! Exits: with `exits` in the bot config (stop-loss / take-profit distances), each entry gets the
//! exits the live bot would place on its exchange and market, on the same paper venue, and every
//! bar is observed by the one rule of [`crate::venue::paper::exits`] (the open first, then the
//! extreme that hurts the position, the other extreme, the close; a gap fills at the open; both
//! touched: the stop). Exit fills are listed in [`BacktestReport::exits`] with their reason.
//!
//! The engine is deterministic: a virtual clock (bar times), no randomness, ordered maps.
//!
//! [`bot::decide`]: crate::bot::decide
//! [`bot::book_fills`]: crate::bot::book_fills
//! [`bot::book_fill`]: crate::bot::book_fill

mod driven;
mod engine;
pub(crate) mod metrics;
#[cfg(test)]
mod metrics_golden_tests;
pub mod optimize;
pub mod report;
pub mod request;

#[cfg(test)]
mod exit_tests;
#[cfg(test)]
pub(crate) mod golden_tests;
#[cfg(test)]
mod machine_tests;
#[cfg(test)]
mod peer_tests;
#[cfg(test)]
mod retry_tests;

pub use engine::{
    run, run_multi, BacktestConfig, BacktestError, BacktestReport, ExitRecord, FillAt, Rejected,
};
pub use metrics::Metrics;
pub use optimize::{grid, walk_forward, GridPoint, OptimizeError, WalkForward};
