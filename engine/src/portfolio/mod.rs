//! Portfolio risk and capital allocation across bots: what several bots may hold and lose
//! *together*, enforced without a hop on the webhook path, and how capital is split among them.
//!
//! Pure like the rest of the engine (no I/O, no clock); the ControlDO keeps the pools and scope
//! states, the bots keep their leases, the backtester runs the same protections.
//! - [`limits`]: the operator's caps per scope (gross, net, per-asset, correlation-aware risk;
//!   drawdown and daily loss that halt the scope) and the entry check; reduce-only always passes.
//! - [`lease`]: budgets leased by the ControlDO to bots, spent locally, failing closed.
//! - [`covariance`], [`risk`]: Ledoit–Wolf shrunk covariance and the hedge-blind risk figure.
//! - [`protections`]: timed locks after stop-outs, drawdowns, losing symbols.
//! - [`allocation`]: fixed, volatility-target and equal-risk weights with a fractional-Kelly cap,
//!   turned into an exact rebalancing proposal.
//! Breakeven after fees and funding is [`crate::position::breakeven`] (positions own it).
//! - [`scope`]: a scope as the ControlDO stores it: members, limits, pool, reports, halt.

pub mod allocation;
pub mod covariance;
pub mod lease;
pub mod limits;
pub mod protections;
pub mod risk;
pub mod scope;

#[cfg(test)]
mod limits_tests;
