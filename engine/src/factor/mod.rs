//! Streaming indicators ("factors") for strategies: each takes one bar at a time in O(1)
//! (amortised for rolling extremes) and returns `None` until it has exactly the bars it needs,
//! so a strategy can never act on a half-warmed value. Maths is `f64` (never money).
//!
//! Warm-up and smoothing follow the Python `ta` library 0.11.0, the reference the tests compare
//! against (`engine/test_data/factors/`): EMAs are seeded with the first value and reported from
//! the `n`-th bar; RSI smooths gains and losses with Wilder's `1/n`; ATR is seeded with the mean
//! of the first `n` true ranges; standard deviations of bands are population (ddof 0).
//!
//! | factor | output | first value at bar (0-based) |
//! |---|---|---|
//! | [`Sma`], [`Ema`], [`Wma`] (n) | f64 | n−1 |
//! | [`Rsi`] (n) | 0..100 | n−1 |
//! | [`Macd`] (f, s, sig) | [`MacdValue`] | s−1 (signal s+sig−2) |
//! | [`Atr`] (n) | f64 | n−1 |
//! | [`Bollinger`], [`Donchian`] (n) | [`Band`] | n−1 |
//! | [`Keltner`] (n, n_atr) | [`Band`] | max(n, n_atr)−1 |
//! | [`Stochastic`] (n, d) | [`StochValue`] | n−1 (d: n+d−2) |
//! | [`Adx`] (n) | [`AdxValue`] | 2n−1 |
//! | [`Vwap`] (n) | f64 | n−1 |
//! | [`Obv`] | f64 | 0 |
//! | [`ZScore`], [`RollingVol`] (n) | f64 | n−1, n |
//! | [`Returns`] | f64 | 1 |

mod average;
mod oscillator;
mod trend;
mod volatility;
mod volume;
mod window;

#[cfg(test)]
mod history_tests;
#[cfg(test)]
mod reference_tests;

pub use average::{Ema, Sma, Wma};
pub use oscillator::{Macd, MacdValue, Returns, Rsi, StochValue, Stochastic};
pub use trend::{Adx, AdxValue};
pub use volatility::{Atr, Band, Bollinger, Donchian, Keltner, RollingVol, ZScore};
pub use volume::{Obv, Vwap};

use crate::market::Bar;

/// A streaming indicator. Users implement it for their own factors; the built-ins implement it
/// over the bar's close (or high/low/volume where the indicator needs them).
pub trait Factor {
    /// What one update yields (a number, a band, a tuple).
    type Output: Copy;

    /// Feeds the next bar; returns the value once warm, `None` before.
    fn update(&mut self, bar: &Bar) -> Option<Self::Output>;

    /// The latest value (`None` until warm).
    fn value(&self) -> Option<Self::Output>;

    /// How many bars are needed before the first value.
    fn warm_up(&self) -> usize;

    /// Bars after which the value no longer depends on where the series began: every older
    /// bar's weight is below [`FORGOTTEN`]. A live bot replays a window of closed bars through a
    /// fresh strategy at each close, while a backtest has streamed every bar since its start;
    /// with this many bars in the window both hold the same value. A factor over a finite window
    /// has forgotten everything once warm, so it is the warm-up; an exponential smoothing (EMA,
    /// Wilder's RSI, ATR, ADX) remembers its seed geometrically and needs more. A cumulative
    /// factor (OBV) never forgets: its level depends on the start, only its changes do not.
    fn history(&self) -> usize {
        self.warm_up()
    }
}

/// The weight below which an old bar counts as forgotten (see [`Factor::history`]).
pub const FORGOTTEN: f64 = 1e-12;

/// Bars after which a smoothing that keeps `decay` of its state per bar (`1 − alpha`) gives its
/// state before them a weight below [`FORGOTTEN`]: `decay^k < 1e-12`. Zero without memory.
#[must_use]
pub fn memory_bars(decay: f64) -> usize {
    if !(decay > 0.0 && decay < 1.0) {
        return 0;
    }
    let k = (FORGOTTEN.ln() / decay.ln()).ceil();
    if k.is_finite() && k > 0.0 {
        // At most a few hundred thousand for any smoothing a spec accepts; saturate otherwise.
        k.min(usize::MAX as f64) as usize
    } else {
        0
    }
}
