//! Drift of a live strategy bot from the backtest of the same version over the same bars
//! (docs/analytics.md#drift). The backtester trades a target change at the close of the bar that
//! decided it; the live bot decides on the same closed bars (the same version gives the same
//! targets) and trades just after. What can differ is execution: the price the order met, and
//! whether it was placed at all. Per strategy signal the bot records
//!
//! - **shortfall** in basis points: how much worse than the deciding bar's close its orders
//!   filled, `(avg − close) / close × 10⁴` for a buy, `(close − avg) / close × 10⁴` for a sell,
//!   averaged over the signal's orders weighted by filled quantity (negative = better);
//! - a **missed target**: the signal was refused or failed, so the live position is not the one
//!   the backtest holds.
//!
//! The bound ([`DriftBound`], stated defaults): the mean shortfall over the last 20 executed
//! signals above 50 bps (with at least 5 of them), or 3 missed targets in a row. Crossing it
//! raises a `drift` alert; coming back within it resolves the alert. A paper bot's fills carry its
//! 5 bps slippage model, inside the bound by design. Statistics are `f64`: no money is computed.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// When live execution has drifted too far from the backtest's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DriftBound {
    /// Executed signals the mean shortfall is taken over.
    pub window: usize,
    /// Executed signals needed before the mean can breach.
    pub min_samples: usize,
    /// Mean shortfall (bps, adverse) above which execution has drifted.
    pub max_mean_bps: f64,
    /// Missed targets in a row that are a drift.
    pub max_missed_in_row: u32,
}

impl Default for DriftBound {
    /// 20 signals, at least 5, 50 bps, 3 missed in a row.
    fn default() -> Self {
        Self {
            window: 20,
            min_samples: 5,
            max_mean_bps: 50.0,
            max_missed_in_row: 3,
        }
    }
}

/// What a new observation did to the drift episode.
#[derive(Debug, Clone, PartialEq)]
pub enum DriftVerdict {
    /// The bound was crossed now (the message says how).
    Breached(String),
    /// Back within the bound after a breach.
    Cleared(String),
}

/// Running drift of one bot.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DriftState {
    /// Shortfall of the last executed signals (bps), oldest first.
    pub shortfalls_bps: VecDeque<f64>,
    /// Refused or failed strategy signals in a row.
    pub missed_in_row: u32,
    /// Signals observed in all.
    pub signals: u64,
    /// Missed targets in all.
    pub missed: u64,
    /// Whether the bound is crossed now.
    pub breached: bool,
}

impl DriftState {
    /// Mean shortfall over the window (`None` before any executed signal).
    #[must_use]
    pub fn mean_bps(&self) -> Option<f64> {
        (!self.shortfalls_bps.is_empty())
            .then(|| self.shortfalls_bps.iter().sum::<f64>() / self.shortfalls_bps.len() as f64)
    }

    /// Records an executed signal's shortfall (non-finite values are ignored).
    pub fn executed(&mut self, shortfall_bps: f64, b: &DriftBound) -> Option<DriftVerdict> {
        self.signals += 1;
        self.missed_in_row = 0;
        if shortfall_bps.is_finite() {
            self.shortfalls_bps.push_back(shortfall_bps);
            while self.shortfalls_bps.len() > b.window.max(1) {
                self.shortfalls_bps.pop_front();
            }
        }
        self.settle(b)
    }

    /// Records a refused or failed strategy signal.
    pub fn missed(&mut self, b: &DriftBound) -> Option<DriftVerdict> {
        self.signals += 1;
        self.missed += 1;
        self.missed_in_row = self.missed_in_row.saturating_add(1);
        self.settle(b)
    }

    /// Why the bound is crossed now, if it is.
    #[must_use]
    pub fn breach(&self, b: &DriftBound) -> Option<String> {
        if self.missed_in_row >= b.max_missed_in_row {
            return Some(format!(
                "{} strategy signals in a row were not executed: the live position is not the backtest's",
                self.missed_in_row
            ));
        }
        match self.mean_bps() {
            Some(m) if self.shortfalls_bps.len() >= b.min_samples && m > b.max_mean_bps => {
                Some(format!(
                    "fills average {m:.1} bps worse than the backtest's bar closes over the last {} signals (bound {} bps)",
                    self.shortfalls_bps.len(),
                    b.max_mean_bps
                ))
            }
            _ => None,
        }
    }

    fn settle(&mut self, b: &DriftBound) -> Option<DriftVerdict> {
        match (self.breach(b), self.breached) {
            (Some(why), false) => {
                self.breached = true;
                Some(DriftVerdict::Breached(why))
            }
            (None, true) => {
                self.breached = false;
                Some(DriftVerdict::Cleared(format!(
                    "execution back within the bound (mean {:.1} bps)",
                    self.mean_bps().unwrap_or(0.0)
                )))
            }
            _ => None,
        }
    }
}

/// Quantity-weighted shortfall (bps) of fills `(is_buy, avg_price, qty)` against `close`;
/// `None` without a positive close or any filled quantity.
#[must_use]
pub fn shortfall_bps(close: f64, fills: &[(bool, f64, f64)]) -> Option<f64> {
    if !(close.is_finite() && close > 0.0) {
        return None;
    }
    let (mut w, mut q) = (0.0, 0.0);
    for &(buy, avg, qty) in fills {
        if !(avg.is_finite() && qty.is_finite() && qty > 0.0) {
            continue;
        }
        let s = if buy { avg - close } else { close - avg } / close * 10_000.0;
        w += s * qty;
        q += qty;
    }
    (q > 0.0).then(|| w / q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortfall_is_adverse_positive_and_quantity_weighted() {
        assert_eq!(shortfall_bps(100.0, &[(true, 100.5, 1.0)]), Some(50.0));
        assert_eq!(shortfall_bps(100.0, &[(false, 100.5, 1.0)]), Some(-50.0));
        let s = shortfall_bps(100.0, &[(true, 101.0, 1.0), (true, 100.0, 3.0)]).unwrap_or(f64::NAN);
        assert!((s - 25.0).abs() < 1e-9, "{s}");
        assert_eq!(shortfall_bps(0.0, &[(true, 1.0, 1.0)]), None);
        assert_eq!(shortfall_bps(100.0, &[]), None);
    }

    #[test]
    fn the_bound_is_crossed_and_cleared_as_stated() {
        let b = DriftBound::default();
        let mut s = DriftState::default();
        // Four bad fills: not enough samples yet.
        for _ in 0..4 {
            assert_eq!(s.executed(80.0, &b), None);
        }
        // The fifth crosses 50 bps on average.
        assert!(
            matches!(s.executed(80.0, &b), Some(DriftVerdict::Breached(m)) if m.contains("80.0 bps"))
        );
        assert_eq!(s.executed(80.0, &b), None, "one alert per episode");
        // Good fills bring the mean of the last 20 under 50: cleared once.
        let mut cleared = 0;
        for _ in 0..20 {
            if let Some(DriftVerdict::Cleared(_)) = s.executed(5.0, &b) {
                cleared += 1;
            }
        }
        assert_eq!(cleared, 1);
        assert!(!s.breached);
        // Three missed targets in a row breach; an executed one clears.
        assert_eq!(s.missed(&b), None);
        assert_eq!(s.missed(&b), None);
        assert!(
            matches!(s.missed(&b), Some(DriftVerdict::Breached(m)) if m.starts_with("3 strategy signals"))
        );
        assert!(matches!(
            s.executed(5.0, &b),
            Some(DriftVerdict::Cleared(_))
        ));
        assert_eq!(s.missed, 3);
        // The paper slippage model (5 bps) never breaches.
        let mut p = DriftState::default();
        for _ in 0..100 {
            assert_eq!(p.executed(5.0, &b), None);
        }
    }
}
