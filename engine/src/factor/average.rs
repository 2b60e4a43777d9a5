//! Moving averages: simple, exponential (seeded with the first value, as `ta`/pandas
//! `adjust=False`) and linearly weighted.

use super::window::Rolling;
use super::Factor;
use crate::market::Bar;

/// Simple moving average of the last `n` values.
///
/// Its own ring of values and running sum (no sum of squares, no length count): the SMA is the
/// factor most strategies and every crossover backtest update on each bar. The sum is kept in
/// the same order of operations as the shared rolling window (drop the oldest, then add), so the
/// values are bit-identical to it.
#[derive(Debug, Clone)]
pub struct Sma {
    buf: Vec<f64>,
    head: usize,
    filled: bool,
    sum: f64,
    n: f64,
    last: Option<f64>,
}

impl Sma {
    /// SMA over `n` (at least 1) values.
    pub fn new(n: usize) -> Self {
        let n = n.max(1);
        Self {
            buf: vec![0.0; n],
            head: 0,
            filled: false,
            sum: 0.0,
            n: n as f64,
            last: None,
        }
    }

    /// Feeds a value.
    #[inline]
    pub fn push(&mut self, x: f64) -> Option<f64> {
        let head = self.head;
        let next = head + 1;
        if let Some(slot) = self.buf.get_mut(head) {
            if self.filled {
                self.sum -= *slot;
            }
            *slot = x;
        }
        self.sum += x;
        if next == self.buf.len() {
            self.head = 0;
            self.filled = true;
        } else {
            self.head = next;
        }
        self.last = if self.filled {
            Some(self.sum / self.n)
        } else {
            None
        };
        self.last
    }
}

impl Factor for Sma {
    type Output = f64;
    #[inline]
    fn update(&mut self, bar: &Bar) -> Option<f64> {
        self.push(bar.close)
    }
    fn value(&self) -> Option<f64> {
        self.last
    }
    fn warm_up(&self) -> usize {
        self.buf.len()
    }
}

/// Exponential moving average, `alpha = 2/(n+1)`, seeded with the first value and reported
/// from the `n`-th value on (pandas `ewm(span=n, adjust=False, min_periods=n)`).
#[derive(Debug, Clone)]
pub struct Ema {
    n: usize,
    alpha: f64,
    seen: usize,
    state: f64,
    last: Option<f64>,
}

impl Ema {
    /// EMA with span `n` (at least 1).
    pub fn new(n: usize) -> Self {
        let n = n.max(1);
        Self::with_alpha(n, 2.0 / (n as f64 + 1.0))
    }

    /// Smoothing with an explicit `alpha`, reported after `n` values (Wilder: `alpha = 1/n`).
    pub fn with_alpha(n: usize, alpha: f64) -> Self {
        Self {
            n: n.max(1),
            alpha,
            seen: 0,
            state: 0.0,
            last: None,
        }
    }

    /// Feeds a value.
    pub fn push(&mut self, x: f64) -> Option<f64> {
        self.state = if self.seen == 0 {
            x
        } else {
            self.state + self.alpha * (x - self.state)
        };
        self.seen += 1;
        self.last = (self.seen >= self.n).then_some(self.state);
        self.last
    }
}

impl Factor for Ema {
    type Output = f64;
    fn update(&mut self, bar: &Bar) -> Option<f64> {
        self.push(bar.close)
    }
    fn value(&self) -> Option<f64> {
        self.last
    }
    fn warm_up(&self) -> usize {
        self.n
    }
    fn history(&self) -> usize {
        self.n.saturating_add(super::memory_bars(1.0 - self.alpha))
    }
}

/// Linearly weighted moving average (weights 1..n, newest heaviest), O(1) per value.
#[derive(Debug, Clone)]
pub struct Wma {
    win: Rolling,
    count: usize,
    weighted: f64,
    last: Option<f64>,
}

impl Wma {
    /// WMA over `n` (at least 1) values.
    pub fn new(n: usize) -> Self {
        Self {
            win: Rolling::new(n),
            count: 0,
            weighted: 0.0,
            last: None,
        }
    }

    /// Feeds a value.
    pub fn push(&mut self, x: f64) -> Option<f64> {
        let n = self.win.cap() as f64;
        if self.win.full() {
            // Every held weight drops by one (the oldest to zero): subtract the old sum.
            self.weighted += n * x - self.win.sum();
        } else {
            self.count += 1;
            self.weighted += self.count as f64 * x;
        }
        self.win.push(x);
        self.last = self
            .win
            .full()
            .then(|| self.weighted / (n * (n + 1.0) / 2.0));
        self.last
    }
}

impl Factor for Wma {
    type Output = f64;
    fn update(&mut self, bar: &Bar) -> Option<f64> {
        self.push(bar.close)
    }
    fn value(&self) -> Option<f64> {
        self.last
    }
    fn warm_up(&self) -> usize {
        self.win.cap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sma_is_bit_identical_to_the_shared_rolling_mean() {
        let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut price = 30_000.0f64;
        let series: Vec<f64> = (0..20_000)
            .map(|_| {
                price *= 1.0 + (next() - 0.5) * 0.004;
                (price * 100.0).round() / 100.0
            })
            .collect();
        for n in [1usize, 2, 3, 20, 50, 200, 999] {
            let (mut sma, mut win) = (Sma::new(n), Rolling::new(n));
            for (i, &x) in series.iter().enumerate() {
                win.push(x);
                let want = win.full().then(|| win.mean());
                let got = sma.push(x);
                assert_eq!(got.map(f64::to_bits), want.map(f64::to_bits), "n={n} i={i}");
            }
        }
    }

    #[test]
    fn warm_up_and_values() {
        struct Case {
            name: &'static str,
            out: Vec<Option<f64>>,
        }
        let xs = [1.0, 2.0, 3.0, 4.0];
        let run =
            |f: &mut dyn FnMut(f64) -> Option<f64>| xs.iter().map(|x| f(*x)).collect::<Vec<_>>();
        let (mut s, mut e, mut w) = (Sma::new(3), Ema::new(3), Wma::new(3));
        let cases = [
            Case {
                name: "sma",
                out: run(&mut |x| s.push(x)),
            },
            // alpha 0.5 seeded with 1: 1, 1.5, 2.25, 3.125
            Case {
                name: "ema",
                out: run(&mut |x| e.push(x)),
            },
            Case {
                name: "wma",
                out: run(&mut |x| w.push(x)),
            },
        ];
        let want = [
            vec![None, None, Some(2.0), Some(3.0)],
            vec![None, None, Some(2.25), Some(3.125)],
            vec![None, None, Some(14.0 / 6.0), Some(20.0 / 6.0)],
        ];
        for (c, w) in cases.iter().zip(want) {
            for (a, b) in c.out.iter().zip(w) {
                match (a, b) {
                    (Some(a), Some(b)) => assert!((a - b).abs() < 1e-12, "{}: {a} vs {b}", c.name),
                    (a, b) => assert_eq!(*a, b, "{}", c.name),
                }
            }
        }
    }
}
