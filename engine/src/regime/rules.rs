//! The rule classifier: trend / range / volatile from ADX and a volatility percentile.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::factor::{Adx, Factor, RollingVol};
use crate::market::Bar;

/// The kind of market a bar closes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Regime {
    /// A directional market: ADX at or above the trend threshold.
    Trend,
    /// Neither trending nor unusually volatile.
    Range,
    /// Volatility in the top of its own recent distribution, whatever the direction.
    Volatile,
}

/// Thresholds of [`RuleClassifier`]. Each "enter" threshold is stricter than its "exit"
/// threshold (hysteresis): a regime is entered on clear evidence and left only once the evidence
/// has clearly gone.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RuleClassifierParams {
    /// ADX period (Wilder).
    pub adx_n: usize,
    /// Bars of returns in one volatility reading.
    pub vol_n: usize,
    /// Volatility readings the percentile is taken over (the current one included).
    pub pct_window: usize,
    /// ADX at or above which a market starts trending.
    pub trend_enter: f64,
    /// ADX below which a trend has ended.
    pub trend_exit: f64,
    /// Volatility percentile (0..1) at or above which the market turns volatile.
    pub vol_enter: f64,
    /// Volatility percentile below which it is volatile no more.
    pub vol_exit: f64,
    /// Consecutive bars a new label must hold before it replaces the current one (1: at once).
    pub confirm: usize,
}

impl Default for RuleClassifierParams {
    /// ADX 14 with 25 / 20 (Wilder's "trending" level and a 5-point band), 20-bar volatility
    /// ranked among the last 250 readings, volatile from the 90th percentile until below the
    /// 75th, and three bars of confirmation.
    fn default() -> Self {
        Self {
            adx_n: 14,
            vol_n: 20,
            pct_window: 250,
            trend_enter: 25.0,
            trend_exit: 20.0,
            vol_enter: 0.90,
            vol_exit: 0.75,
            confirm: 3,
        }
    }
}

/// Classifies each closed bar as [`Regime::Trend`], [`Regime::Range`] or [`Regime::Volatile`]
/// (volatile first: a violent market is volatile whether or not it trends). `None` until both
/// the ADX and the volatility window are warm. O(`pct_window`) per bar for the percentile.
#[derive(Debug, Clone)]
pub struct RuleClassifier {
    p: RuleClassifierParams,
    adx: Adx,
    vol: RollingVol,
    vols: VecDeque<f64>,
    current: Option<Regime>,
    candidate: Option<(Regime, usize)>,
}

impl RuleClassifier {
    /// A classifier with these thresholds (periods and counts of at least 1).
    #[must_use]
    pub fn new(p: RuleClassifierParams) -> Self {
        let p = RuleClassifierParams {
            adx_n: p.adx_n.max(1),
            vol_n: p.vol_n.max(2),
            pct_window: p.pct_window.max(1),
            confirm: p.confirm.max(1),
            ..p
        };
        Self {
            adx: Adx::new(p.adx_n),
            vol: RollingVol::new(p.vol_n),
            vols: VecDeque::with_capacity(p.pct_window),
            current: None,
            candidate: None,
            p,
        }
    }

    /// Bars of history after which the label no longer depends on where the history began
    /// (the ADX warm and the volatility-percentile window full): what a live bot replaying a
    /// window of bars needs to label the last bar as a backtest over all bars does.
    #[must_use]
    pub fn history_bars(&self) -> usize {
        (2 * self.p.adx_n).max(self.p.vol_n + self.p.pct_window)
    }

    /// The share of the window's readings at or below `v` (0..1].
    fn percentile(&self, v: f64) -> f64 {
        let at_or_below = self.vols.iter().filter(|x| **x <= v).count();
        at_or_below as f64 / self.vols.len().max(1) as f64
    }

    /// The label these readings call for, given the label held now (hysteresis).
    fn raw(&self, adx: f64, pct: f64) -> Regime {
        let held = self.current;
        let volatile = if held == Some(Regime::Volatile) {
            pct >= self.p.vol_exit
        } else {
            pct >= self.p.vol_enter
        };
        if volatile {
            return Regime::Volatile;
        }
        let trending = if held == Some(Regime::Trend) {
            adx >= self.p.trend_exit
        } else {
            adx >= self.p.trend_enter
        };
        if trending {
            Regime::Trend
        } else {
            Regime::Range
        }
    }
}

impl Factor for RuleClassifier {
    type Output = Regime;

    fn update(&mut self, bar: &Bar) -> Option<Regime> {
        let adx = self.adx.update(bar);
        if let Some(v) = self.vol.update(bar).filter(|v| v.is_finite()) {
            if self.vols.len() == self.p.pct_window {
                self.vols.pop_front();
            }
            self.vols.push_back(v);
        }
        let (adx, vol) = (adx?.adx, self.vol.value()?);
        if !adx.is_finite() || !vol.is_finite() {
            return self.current;
        }
        let raw = self.raw(adx, self.percentile(vol));
        match self.current {
            None => {
                self.current = Some(raw);
                self.candidate = None;
            }
            Some(held) if held == raw => self.candidate = None,
            Some(_) => {
                let seen = match self.candidate {
                    Some((c, n)) if c == raw => n + 1,
                    _ => 1,
                };
                if seen >= self.p.confirm {
                    self.current = Some(raw);
                    self.candidate = None;
                } else {
                    self.candidate = Some((raw, seen));
                }
            }
        }
        self.current
    }

    fn value(&self) -> Option<Regime> {
        self.current
    }

    fn warm_up(&self) -> usize {
        // ADX's first value at bar 2n−1; volatility's at bar vol_n.
        (2 * self.p.adx_n).max(self.p.vol_n + 1)
    }
}
