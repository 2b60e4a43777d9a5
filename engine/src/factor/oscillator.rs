//! Momentum oscillators: RSI (Wilder smoothing), MACD, Stochastic, and simple returns.

use super::average::{Ema, Sma};
use super::window::Extreme;
use super::Factor;
use crate::market::Bar;

/// Relative Strength Index with Wilder's smoothing (`alpha = 1/n`). As in `ta`, the first bar
/// contributes a zero change, so the first value comes at bar `n−1`; no losses gives 100.
#[derive(Debug, Clone)]
pub struct Rsi {
    up: Ema,
    down: Ema,
    prev: Option<f64>,
    last: Option<f64>,
}

impl Rsi {
    /// RSI over `n` (at least 1) bars.
    pub fn new(n: usize) -> Self {
        let n = n.max(1);
        let alpha = 1.0 / n as f64;
        Self {
            up: Ema::with_alpha(n, alpha),
            down: Ema::with_alpha(n, alpha),
            prev: None,
            last: None,
        }
    }

    /// Feeds a close.
    pub fn push(&mut self, x: f64) -> Option<f64> {
        let d = self.prev.map_or(0.0, |p| x - p);
        self.prev = Some(x);
        let up = self.up.push(d.max(0.0));
        let down = self.down.push((-d).max(0.0));
        self.last = match (up, down) {
            (Some(_), Some(0.0)) => Some(100.0),
            (Some(u), Some(dn)) => Some(100.0 - 100.0 / (1.0 + u / dn)),
            _ => None,
        };
        self.last
    }
}

impl Factor for Rsi {
    type Output = f64;
    fn update(&mut self, bar: &Bar) -> Option<f64> {
        self.push(bar.close)
    }
    fn value(&self) -> Option<f64> {
        self.last
    }
    fn warm_up(&self) -> usize {
        self.up.warm_up()
    }
    fn history(&self) -> usize {
        // One bar more: the first change needs a previous close.
        self.up.history().saturating_add(1)
    }
}

/// MACD line, its signal line (`None` until the signal EMA is warm) and their difference.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MacdValue {
    /// Fast EMA − slow EMA.
    pub macd: f64,
    /// EMA of the MACD line.
    pub signal: Option<f64>,
    /// `macd − signal`.
    pub histogram: Option<f64>,
}

/// Moving Average Convergence Divergence (`ta` defaults 12, 26, 9).
#[derive(Debug, Clone)]
pub struct Macd {
    fast: Ema,
    slow: Ema,
    signal: Ema,
    last: Option<MacdValue>,
}

impl Macd {
    /// MACD with fast, slow and signal spans.
    pub fn new(fast: usize, slow: usize, signal: usize) -> Self {
        Self {
            fast: Ema::new(fast),
            slow: Ema::new(slow),
            signal: Ema::new(signal),
            last: None,
        }
    }

    /// Feeds a close.
    pub fn push(&mut self, x: f64) -> Option<MacdValue> {
        let f = self.fast.push(x);
        let s = self.slow.push(x);
        self.last = match (f, s) {
            (Some(f), Some(s)) => {
                let macd = f - s;
                let signal = self.signal.push(macd);
                Some(MacdValue {
                    macd,
                    signal,
                    histogram: signal.map(|g| macd - g),
                })
            }
            _ => None,
        };
        self.last
    }
}

impl Factor for Macd {
    type Output = MacdValue;
    fn update(&mut self, bar: &Bar) -> Option<MacdValue> {
        self.push(bar.close)
    }
    fn value(&self) -> Option<MacdValue> {
        self.last
    }
    fn warm_up(&self) -> usize {
        self.slow.warm_up().max(self.fast.warm_up())
    }
    fn history(&self) -> usize {
        // The signal line smooths the MACD line, which itself forgets after its slower EMA.
        self.slow
            .history()
            .max(self.fast.history())
            .saturating_add(self.signal.history())
    }
}

/// Stochastic %K and its `d`-bar SMA %D.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StochValue {
    /// %K, 0..100 (NaN when the range is flat, as in `ta`).
    pub k: f64,
    /// %D (`None` until warm).
    pub d: Option<f64>,
}

/// Stochastic oscillator over `n` bars, %D smoothed over `d`.
#[derive(Debug, Clone)]
pub struct Stochastic {
    hi: Extreme,
    lo: Extreme,
    d: Sma,
    n: usize,
    last: Option<StochValue>,
}

impl Stochastic {
    /// Stochastic with window `n` and %D window `d` (`ta` defaults 14, 3).
    pub fn new(n: usize, d: usize) -> Self {
        Self {
            hi: Extreme::new(n, true),
            lo: Extreme::new(n, false),
            d: Sma::new(d),
            n: n.max(1),
            last: None,
        }
    }
}

impl Factor for Stochastic {
    type Output = StochValue;
    fn update(&mut self, bar: &Bar) -> Option<StochValue> {
        let h = self.hi.push(bar.high);
        let l = self.lo.push(bar.low);
        self.last = match (h, l) {
            (Some(h), Some(l)) => {
                let k = 100.0 * (bar.close - l) / (h - l);
                Some(StochValue {
                    k,
                    d: self.d.push(k),
                })
            }
            _ => None,
        };
        self.last
    }
    fn value(&self) -> Option<StochValue> {
        self.last
    }
    fn warm_up(&self) -> usize {
        self.n
    }
}

/// Simple return `close / previous close − 1` (a fraction, not percent).
#[derive(Debug, Clone, Default)]
pub struct Returns {
    prev: Option<f64>,
    last: Option<f64>,
}

impl Returns {
    /// A returns stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds a close.
    pub fn push(&mut self, x: f64) -> Option<f64> {
        self.last = self.prev.map(|p| x / p - 1.0);
        self.prev = Some(x);
        self.last
    }
}

impl Factor for Returns {
    type Output = f64;
    fn update(&mut self, bar: &Bar) -> Option<f64> {
        self.push(bar.close)
    }
    fn value(&self) -> Option<f64> {
        self.last
    }
    fn warm_up(&self) -> usize {
        2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsi_extremes_and_returns() {
        struct Case {
            closes: Vec<f64>,
            want: Option<f64>,
        }
        let cases = [
            Case {
                closes: vec![1.0, 2.0, 3.0],
                want: Some(100.0),
            },
            Case {
                closes: vec![3.0, 2.0, 1.0],
                want: Some(0.0),
            },
            Case {
                closes: vec![1.0, 2.0],
                want: None,
            },
        ];
        for c in cases {
            let mut r = Rsi::new(3);
            let out = c.closes.iter().map(|x| r.push(*x)).last().flatten();
            assert_eq!(out, c.want, "{:?}", c.closes);
        }
        let mut ret = Returns::new();
        assert_eq!(ret.push(100.0), None);
        assert_eq!(ret.push(110.0), Some(110.0 / 100.0 - 1.0));
    }
}
