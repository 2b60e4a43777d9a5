//! Trend strength: Wilder's ADX with the directional indicators +DI and −DI.
//!
//! Not compared with `ta`: `ta` 0.11.0's `ADXIndicator` leaves its last value at zero and
//! mis-indexes its running sums, so this follows Wilder's definition (New Concepts in Technical
//! Trading Systems, 1978) and is tested on a hand-computed case instead.

use super::volatility::true_range;
use super::Factor;
use crate::market::Bar;

/// +DI, −DI and ADX, each 0..100.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdxValue {
    /// Positive directional indicator.
    pub plus_di: f64,
    /// Negative directional indicator.
    pub minus_di: f64,
    /// Average directional index.
    pub adx: f64,
}

/// Wilder's ADX/DMI over `n` bars: smoothed sums seeded with the first `n` sums (bars 1..n),
/// ADX seeded with the mean of the first `n` DX values; first value at bar `2n−1`.
#[derive(Debug, Clone)]
pub struct Adx {
    n: usize,
    prev: Option<Bar>,
    moves: usize,
    tr: f64,
    plus: f64,
    minus: f64,
    dx_count: usize,
    dx_sum: f64,
    adx: Option<f64>,
    last: Option<AdxValue>,
}

impl Adx {
    /// ADX over `n` (at least 1) bars.
    pub fn new(n: usize) -> Self {
        Self {
            n: n.max(1),
            prev: None,
            moves: 0,
            tr: 0.0,
            plus: 0.0,
            minus: 0.0,
            dx_count: 0,
            dx_sum: 0.0,
            adx: None,
            last: None,
        }
    }
}

impl Factor for Adx {
    type Output = AdxValue;
    fn update(&mut self, bar: &Bar) -> Option<AdxValue> {
        let prev = self.prev.replace(*bar)?;
        let up = bar.high - prev.high;
        let down = prev.low - bar.low;
        let pdm = if up > down && up > 0.0 { up } else { 0.0 };
        let mdm = if down > up && down > 0.0 { down } else { 0.0 };
        let tr = true_range(bar, Some(prev.close));
        let n = self.n as f64;
        self.moves += 1;
        if self.moves <= self.n {
            self.tr += tr;
            self.plus += pdm;
            self.minus += mdm;
            if self.moves < self.n {
                return None;
            }
        } else {
            self.tr += tr - self.tr / n;
            self.plus += pdm - self.plus / n;
            self.minus += mdm - self.minus / n;
        }
        let (pdi, mdi) = if self.tr == 0.0 {
            (0.0, 0.0)
        } else {
            (100.0 * self.plus / self.tr, 100.0 * self.minus / self.tr)
        };
        let dx = if pdi + mdi == 0.0 {
            0.0
        } else {
            100.0 * (pdi - mdi).abs() / (pdi + mdi)
        };
        self.adx = match self.adx {
            Some(a) => Some((a * (n - 1.0) + dx) / n),
            None => {
                self.dx_count += 1;
                self.dx_sum += dx;
                (self.dx_count == self.n).then(|| self.dx_sum / n)
            }
        };
        self.last = self.adx.map(|adx| AdxValue {
            plus_di: pdi,
            minus_di: mdi,
            adx,
        });
        self.last
    }
    fn value(&self) -> Option<AdxValue> {
        self.last
    }
    fn warm_up(&self) -> usize {
        2 * self.n
    }
    fn history(&self) -> usize {
        // Two Wilder smoothings in a row (the directional sums, then the ADX): the second one's
        // input forgets at the same rate, so twice the memory bounds the pair.
        let memory = super::memory_bars(1.0 - 1.0 / self.n as f64);
        self.n
            .saturating_mul(2)
            .saturating_add(memory.saturating_mul(2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(h: f64, l: f64, c: f64) -> Bar {
        Bar {
            open_time_ms: 0,
            open: c,
            high: h,
            low: l,
            close: c,
            volume: 1.0,
        }
    }

    #[test]
    fn steady_uptrend_is_all_plus_di() {
        let mut adx = Adx::new(2);
        let bars = [
            bar(10.0, 9.0, 9.5),
            bar(11.0, 10.0, 10.5),
            bar(12.0, 11.0, 11.5),
            bar(13.0, 12.0, 12.5),
        ];
        let out: Vec<_> = bars.iter().map(|b| adx.update(b)).collect();
        assert_eq!(out[..3], [None, None, None]);
        // Each move: +DM 1, −DM 0, TR 1.5 → +DI 66.67, −DI 0, DX 100, ADX 100.
        let v = out[3].unwrap();
        assert!(
            (v.plus_di - 200.0 / 3.0).abs() < 1e-9
                && v.minus_di == 0.0
                && (v.adx - 100.0).abs() < 1e-9,
            "{v:?}"
        );
        assert_eq!(adx.warm_up(), 4);
    }
}
