//! Volume factors: rolling VWAP over typical price and On-Balance Volume.

use super::window::Rolling;
use super::Factor;
use crate::market::Bar;

/// Rolling volume-weighted average of the typical price `(h+l+c)/3` over `n` bars (`ta`).
#[derive(Debug, Clone)]
pub struct Vwap {
    pv: Rolling,
    vol: Rolling,
    last: Option<f64>,
}

impl Vwap {
    /// VWAP over `n` bars.
    pub fn new(n: usize) -> Self {
        Self {
            pv: Rolling::new(n),
            vol: Rolling::new(n),
            last: None,
        }
    }
}

impl Factor for Vwap {
    type Output = f64;
    fn update(&mut self, bar: &Bar) -> Option<f64> {
        let tp = (bar.high + bar.low + bar.close) / 3.0;
        self.pv.push(tp * bar.volume);
        self.vol.push(bar.volume);
        self.last = self.pv.full().then(|| self.pv.sum() / self.vol.sum());
        self.last
    }
    fn value(&self) -> Option<f64> {
        self.last
    }
    fn warm_up(&self) -> usize {
        self.pv.cap()
    }
}

/// On-Balance Volume: cumulative volume, subtracted on bars closing below the previous close
/// (the first bar adds its volume, as in `ta`).
#[derive(Debug, Clone, Default)]
pub struct Obv {
    prev: Option<f64>,
    total: f64,
    last: Option<f64>,
}

impl Obv {
    /// An OBV stream.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Factor for Obv {
    type Output = f64;
    fn update(&mut self, bar: &Bar) -> Option<f64> {
        let down = self.prev.is_some_and(|p| bar.close < p);
        self.total += if down { -bar.volume } else { bar.volume };
        self.prev = Some(bar.close);
        self.last = Some(self.total);
        self.last
    }
    fn value(&self) -> Option<f64> {
        self.last
    }
    fn warm_up(&self) -> usize {
        1
    }
}
