//! Fixed-size rolling windows shared by the indicators: a ring buffer with running sums (O(1)
//! mean and variance) and a monotonic deque (amortised O(1) rolling min/max).

use std::collections::VecDeque;

/// Last `n` values with their running sum and sum of squares.
#[derive(Debug, Clone)]
pub(crate) struct Rolling {
    buf: Vec<f64>,
    head: usize,
    len: usize,
    sum: f64,
    sumsq: f64,
}

impl Rolling {
    /// A window of `n` (at least 1) values.
    pub(crate) fn new(n: usize) -> Self {
        Self {
            buf: vec![0.0; n.max(1)],
            head: 0,
            len: 0,
            sum: 0.0,
            sumsq: 0.0,
        }
    }

    /// Adds a value, dropping the oldest once full; returns the dropped value. Inlined into
    /// each indicator: this is most of a backtest's per-bar work.
    #[inline]
    pub(crate) fn push(&mut self, x: f64) -> Option<f64> {
        let cap = self.buf.len();
        let head = self.head;
        // A compare instead of `%`: an integer division per value is most of an SMA update.
        self.head = if head + 1 == cap { 0 } else { head + 1 };
        let slot = &mut self.buf[head];
        let old = if self.len == cap {
            let o = *slot;
            // Same order of operations as ever (remove, then add): values stay bit-identical.
            self.sum -= o;
            self.sumsq -= o * o;
            Some(o)
        } else {
            self.len += 1;
            None
        };
        *slot = x;
        self.sum += x;
        self.sumsq += x * x;
        old
    }

    /// Whether the window holds `n` values.
    #[inline]
    pub(crate) fn full(&self) -> bool {
        self.len == self.buf.len()
    }

    /// Window length.
    #[inline]
    pub(crate) fn cap(&self) -> usize {
        self.buf.len()
    }

    /// Running sum.
    #[inline]
    pub(crate) fn sum(&self) -> f64 {
        self.sum
    }

    /// Mean of the values held.
    #[inline]
    pub(crate) fn mean(&self) -> f64 {
        self.sum / self.len.max(1) as f64
    }

    /// Variance with `ddof` degrees of freedom removed (0 population, 1 sample), never negative.
    pub(crate) fn var(&self, ddof: usize) -> f64 {
        let n = self.len as f64;
        let d = n - ddof as f64;
        if d <= 0.0 {
            return f64::NAN;
        }
        ((self.sumsq - self.sum * self.sum / n) / d).max(0.0)
    }
}

/// Rolling extreme over the last `n` values (max when `max`, else min).
#[derive(Debug, Clone)]
pub(crate) struct Extreme {
    n: usize,
    max: bool,
    seen: usize,
    deque: VecDeque<(usize, f64)>,
}

impl Extreme {
    /// A rolling max (`max = true`) or min over `n` values.
    pub(crate) fn new(n: usize, max: bool) -> Self {
        Self {
            n: n.max(1),
            max,
            seen: 0,
            deque: VecDeque::with_capacity(n.max(1) + 1),
        }
    }

    /// Adds a value; returns the extreme once `n` values were seen.
    pub(crate) fn push(&mut self, x: f64) -> Option<f64> {
        let i = self.seen;
        self.seen += 1;
        while let Some(&(_, back)) = self.deque.back() {
            let dominated = if self.max { back <= x } else { back >= x };
            if !dominated {
                break;
            }
            self.deque.pop_back();
        }
        self.deque.push_back((i, x));
        while let Some(&(j, _)) = self.deque.front() {
            if j + self.n > i {
                break;
            }
            self.deque.pop_front();
        }
        if self.seen >= self.n {
            self.deque.front().map(|&(_, v)| v)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolling_mean_var_and_extremes() {
        let mut r = Rolling::new(3);
        let mut hi = Extreme::new(3, true);
        let mut lo = Extreme::new(3, false);
        let xs = [1.0, 5.0, 3.0, 2.0, 8.0];
        let expect_hi = [None, None, Some(5.0), Some(5.0), Some(8.0)];
        let expect_lo = [None, None, Some(1.0), Some(2.0), Some(2.0)];
        for (k, x) in xs.iter().enumerate() {
            r.push(*x);
            assert_eq!(hi.push(*x), expect_hi[k], "max at {k}");
            assert_eq!(lo.push(*x), expect_lo[k], "min at {k}");
        }
        assert!(r.full());
        assert!((r.mean() - 13.0 / 3.0).abs() < 1e-12);
        // sample variance of [3, 2, 8] = 10.333...
        assert!((r.var(1) - 31.0 / 3.0).abs() < 1e-9);
    }
}
