//! Volatility factors: ATR, Bollinger/Donchian/Keltner bands, rolling volatility of returns and
//! the rolling z-score.

use super::average::Ema;
use super::oscillator::Returns;
use super::window::{Extreme, Rolling};
use super::Factor;
use crate::market::Bar;

/// A channel: lower, middle and upper lines.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Band {
    /// Lower line.
    pub lower: f64,
    /// Middle line.
    pub middle: f64,
    /// Upper line.
    pub upper: f64,
}

/// Average True Range, Wilder-smoothed, seeded with the mean of the first `n` true ranges (the
/// first bar's true range is its high − low).
#[derive(Debug, Clone)]
pub struct Atr {
    n: usize,
    seen: usize,
    seed_sum: f64,
    prev_close: Option<f64>,
    last: Option<f64>,
}

impl Atr {
    /// ATR over `n` (at least 1) bars.
    pub fn new(n: usize) -> Self {
        Self {
            n: n.max(1),
            seen: 0,
            seed_sum: 0.0,
            prev_close: None,
            last: None,
        }
    }
}

/// True range of a bar given the previous close.
pub(crate) fn true_range(bar: &Bar, prev_close: Option<f64>) -> f64 {
    let hl = bar.high - bar.low;
    match prev_close {
        Some(c) => hl.max((bar.high - c).abs()).max((bar.low - c).abs()),
        None => hl,
    }
}

impl Factor for Atr {
    type Output = f64;
    fn update(&mut self, bar: &Bar) -> Option<f64> {
        let tr = true_range(bar, self.prev_close);
        self.prev_close = Some(bar.close);
        self.seen += 1;
        let n = self.n as f64;
        self.last = match self.last {
            Some(a) => Some((a * (n - 1.0) + tr) / n),
            None => {
                self.seed_sum += tr;
                (self.seen == self.n).then(|| self.seed_sum / n)
            }
        };
        self.last
    }
    fn value(&self) -> Option<f64> {
        self.last
    }
    fn warm_up(&self) -> usize {
        self.n
    }
    fn history(&self) -> usize {
        // Wilder's smoothing keeps 1 − 1/n of its state per bar.
        self.n
            .saturating_add(super::memory_bars(1.0 - 1.0 / self.n as f64))
    }
}

/// Bollinger Bands: SMA ± `k` population standard deviations of the close.
#[derive(Debug, Clone)]
pub struct Bollinger {
    win: Rolling,
    k: f64,
    last: Option<Band>,
}

impl Bollinger {
    /// Bands over `n` bars at `k` deviations (`ta` defaults 20, 2).
    pub fn new(n: usize, k: f64) -> Self {
        Self {
            win: Rolling::new(n),
            k,
            last: None,
        }
    }
}

impl Factor for Bollinger {
    type Output = Band;
    fn update(&mut self, bar: &Bar) -> Option<Band> {
        self.win.push(bar.close);
        self.last = self.win.full().then(|| {
            let m = self.win.mean();
            let sd = self.win.var(0).sqrt();
            Band {
                lower: m - self.k * sd,
                middle: m,
                upper: m + self.k * sd,
            }
        });
        self.last
    }
    fn value(&self) -> Option<Band> {
        self.last
    }
    fn warm_up(&self) -> usize {
        self.win.cap()
    }
}

/// Donchian channel: highest high and lowest low of `n` bars, middle halfway.
#[derive(Debug, Clone)]
pub struct Donchian {
    hi: Extreme,
    lo: Extreme,
    n: usize,
    last: Option<Band>,
}

impl Donchian {
    /// Channel over `n` bars.
    pub fn new(n: usize) -> Self {
        Self {
            hi: Extreme::new(n, true),
            lo: Extreme::new(n, false),
            n: n.max(1),
            last: None,
        }
    }
}

impl Factor for Donchian {
    type Output = Band;
    fn update(&mut self, bar: &Bar) -> Option<Band> {
        let h = self.hi.push(bar.high);
        let l = self.lo.push(bar.low);
        self.last = h.zip(l).map(|(h, l)| Band {
            lower: l,
            middle: (h - l) / 2.0 + l,
            upper: h,
        });
        self.last
    }
    fn value(&self) -> Option<Band> {
        self.last
    }
    fn warm_up(&self) -> usize {
        self.n
    }
}

/// Keltner channel: EMA(close, n) ± `mult` × ATR(n_atr) (`ta` with `original_version=False`).
#[derive(Debug, Clone)]
pub struct Keltner {
    ema: Ema,
    atr: Atr,
    mult: f64,
    last: Option<Band>,
}

impl Keltner {
    /// Channel with EMA span `n`, ATR window `n_atr`, multiplier `mult` (`ta`: 20, 10, 2).
    pub fn new(n: usize, n_atr: usize, mult: f64) -> Self {
        Self {
            ema: Ema::new(n),
            atr: Atr::new(n_atr),
            mult,
            last: None,
        }
    }
}

impl Factor for Keltner {
    type Output = Band;
    fn update(&mut self, bar: &Bar) -> Option<Band> {
        let m = self.ema.push(bar.close);
        let a = self.atr.update(bar);
        self.last = m.zip(a).map(|(m, a)| Band {
            lower: m - self.mult * a,
            middle: m,
            upper: m + self.mult * a,
        });
        self.last
    }
    fn value(&self) -> Option<Band> {
        self.last
    }
    fn warm_up(&self) -> usize {
        self.ema.warm_up().max(self.atr.warm_up())
    }
    fn history(&self) -> usize {
        self.ema.history().max(self.atr.history())
    }
}

/// Sample standard deviation (ddof 1) of the last `n` simple returns, per bar (not annualised).
#[derive(Debug, Clone)]
pub struct RollingVol {
    ret: Returns,
    win: Rolling,
    last: Option<f64>,
}

impl RollingVol {
    /// Volatility over `n` (at least 2) returns.
    pub fn new(n: usize) -> Self {
        Self {
            ret: Returns::new(),
            win: Rolling::new(n.max(2)),
            last: None,
        }
    }

    /// Feeds a close.
    pub fn push(&mut self, x: f64) -> Option<f64> {
        if let Some(r) = self.ret.push(x) {
            self.win.push(r);
        }
        self.last = self.win.full().then(|| self.win.var(1).sqrt());
        self.last
    }
}

impl Factor for RollingVol {
    type Output = f64;
    fn update(&mut self, bar: &Bar) -> Option<f64> {
        self.push(bar.close)
    }
    fn value(&self) -> Option<f64> {
        self.last
    }
    fn warm_up(&self) -> usize {
        self.win.cap() + 1
    }
}

/// Rolling z-score of the close: `(x − mean) / population std` over `n` bars (NaN when flat).
#[derive(Debug, Clone)]
pub struct ZScore {
    win: Rolling,
    last: Option<f64>,
}

impl ZScore {
    /// Z-score over `n` bars.
    pub fn new(n: usize) -> Self {
        Self {
            win: Rolling::new(n),
            last: None,
        }
    }
}

impl Factor for ZScore {
    type Output = f64;
    fn update(&mut self, bar: &Bar) -> Option<f64> {
        self.win.push(bar.close);
        self.last = self
            .win
            .full()
            .then(|| (bar.close - self.win.mean()) / self.win.var(0).sqrt());
        self.last
    }
    fn value(&self) -> Option<f64> {
        self.last
    }
    fn warm_up(&self) -> usize {
        self.win.cap()
    }
}
