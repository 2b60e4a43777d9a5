//! Market regimes as streaming factors: what kind of market a bar closes in, decided from that
//! bar and the ones before it only. Two detectors, usable alone or together:
//!
//! - [`RuleClassifier`]: trend / range / volatile from Wilder's ADX and the percentile of recent
//!   volatility within a trailing window, with hysteresis (separate enter and exit thresholds)
//!   and a confirmation count, so a label does not flap around a threshold.
//! - [`Changepoint`]: Bayesian online changepoint detection (Adams & MacKay, 2007) on log
//!   returns with a Normal–Gamma model and a constant hazard, its run-length distribution
//!   truncated to a fixed length; it reports the most probable run length and flags a bar
//!   where that run length collapses (a break in the returns' mean or volatility).
//!
//! Labels never change when later bars arrive (a streaming factor has no access to them; the
//! tests feed every prefix of 1,000 random series and compare): the "smoothed state" look-ahead
//! of offline regime models cannot happen here. Maths is `f64` (statistics, never money).

mod changepoint;
mod rules;

#[cfg(test)]
mod tests;

pub use changepoint::{Changepoint, ChangepointParams, ChangepointValue};
pub use rules::{Regime, RuleClassifier, RuleClassifierParams};
