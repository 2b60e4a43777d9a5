//! Performance ratios of a backtest. `f64` is fine here: these are ratios of an equity curve,
//! not money (the exact P&L is the ledger's report beside them).

use crate::market::Timeframe;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::Serialize;

/// Ratios over the equity curve (per-bar returns, annualised with the bar timeframe, risk-free
/// rate 0).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Metrics {
    /// Final / initial equity − 1.
    pub total_return: f64,
    /// Compounded per 365-day year.
    pub annual_return: f64,
    /// Annualised standard deviation of bar returns.
    pub volatility: f64,
    /// Annualised mean / std of bar returns.
    pub sharpe: f64,
    /// Annualised mean / downside deviation.
    pub sortino: f64,
    /// Annual return / max drawdown.
    pub calmar: f64,
    /// Largest peak-to-trough fall, as a fraction of the peak.
    pub max_drawdown: f64,
    /// Longest time under a previous peak, in bars.
    pub max_drawdown_bars: usize,
    /// Executions that realized P&L net of fees > 0, over those that realized any.
    pub win_rate: f64,
    /// Gross realized gains / gross realized losses (net of fees).
    pub profit_factor: f64,
    /// Fraction of bars holding a position.
    pub exposure: f64,
    /// Traded notional / average equity.
    pub turnover: f64,
    /// Executions (signals that traded).
    pub executions: usize,
    /// Fees paid, quote (exact, from the ledger).
    pub fees: Decimal,
}

/// The single-pass part of the ratios, fed one equity point at a time by the bar loop while
/// the value is still in a register (a second walk over a 1M-point curve costs more than the
/// arithmetic). Every sum runs in curve order starting from `-0.0` (`Iterator::sum`'s neutral
/// element for floats), so the figures are bit-identical to summing a collected returns series.
#[derive(Debug, Clone)]
pub(crate) struct CurveStats {
    points: usize,
    first: f64,
    prev: f64,
    ret_sum: f64,
    down_sq: f64,
    eq_sum: f64,
    peak: f64,
    trough: f64,
    mdd: f64,
    since: usize,
    longest: usize,
}

impl Default for CurveStats {
    fn default() -> Self {
        Self {
            points: 0,
            first: 0.0,
            prev: 0.0,
            ret_sum: -0.0,
            down_sq: -0.0,
            eq_sum: -0.0,
            peak: f64::MIN,
            trough: f64::MIN,
            mdd: 0.0,
            since: 0,
            longest: 0,
        }
    }
}

impl CurveStats {
    /// Bars of the longest drawdown so far, the one still running included.
    pub(crate) fn longest_drawdown(&self) -> usize {
        self.longest.max(self.since)
    }
}

/// Bar return between two equity points (0 after a zero equity, never NaN).
#[inline]
fn bar_return(a: f64, b: f64) -> f64 {
    if a != 0.0 {
        b / a - 1.0
    } else {
        0.0
    }
}

#[inline]
fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        0.0
    }
}

impl CurveStats {
    /// Adds the next equity point.
    #[inline]
    pub(crate) fn push(&mut self, e: f64) {
        if self.points == 0 {
            self.first = e;
        } else {
            let r = bar_return(self.prev, e);
            self.ret_sum += r;
            self.down_sq += r.min(0.0).powi(2);
        }
        self.points += 1;
        self.prev = e;
        self.eq_sum += e;
        if e >= self.peak {
            // The drawdown that just ended is measured once, when it ends (and by
            // `longest_drawdown` for one still running), not on every bar below the peak.
            self.longest = self.longest.max(self.since);
            self.peak = e;
            self.trough = e;
            self.since = 0;
        } else {
            self.since += 1;
            // `(peak - e) / peak` only grows as `e` falls under this peak's trough, so the
            // division (the costliest step here) runs only then; same result bit for bit.
            if e < self.trough {
                self.trough = e;
                self.mdd = self.mdd.max(ratio(self.peak - e, self.peak));
            }
        }
    }
}

/// Computes [`Metrics`]; empty or flat curves give zeros, never NaN from a division by zero.
/// Also what a live bot's analytics use (`crate::analytics`), so the ratios mean the same there.
pub(crate) fn compute(
    curve: &[(i64, f64)],
    tf: Timeframe,
    trades: &[Decimal],
    volume: Decimal,
    fees: Decimal,
    exposed_bars: usize,
) -> Metrics {
    let mut stats = CurveStats::default();
    for &(_, e) in curve {
        stats.push(e);
    }
    compute_with(&stats, curve, tf, trades, volume, fees, exposed_bars)
}

/// [`compute`] from the loop's [`CurveStats`] of `curve`: only the variance walks the curve
/// again (it needs the mean first, and a one-pass formula would change its last bits).
pub(crate) fn compute_with(
    stats: &CurveStats,
    curve: &[(i64, f64)],
    tf: Timeframe,
    trades: &[Decimal],
    volume: Decimal,
    fees: Decimal,
    exposed_bars: usize,
) -> Metrics {
    if stats.points == 0 {
        return Metrics::default();
    }
    let (first, last) = (stats.first, stats.prev);
    let per_year = tf.per_year();
    let count = stats.points - 1;
    let n = count.max(1) as f64;
    let mean = stats.ret_sum / n;
    let var = if count > 1 {
        curve
            .windows(2)
            .map(|w| (bar_return(w[0].1, w[1].1) - mean).powi(2))
            .sum::<f64>()
            / (n - 1.0)
    } else {
        0.0
    };
    let down = (stats.down_sq / n).sqrt();
    let total_return = ratio(last, first) - 1.0;
    let annual_return = if last > 0.0 && first > 0.0 {
        (last / first).powf(per_year / n) - 1.0
    } else {
        -1.0
    };
    let (mdd, longest, eq_sum) = (stats.mdd, stats.longest_drawdown(), stats.eq_sum);
    let realized: Vec<f64> = trades
        .iter()
        .filter(|t| !t.is_zero())
        .map(|t| t.to_f64().unwrap_or(0.0))
        .collect();
    let gains: f64 = realized.iter().filter(|x| **x > 0.0).sum();
    let losses: f64 = -realized.iter().filter(|x| **x < 0.0).sum::<f64>();
    let avg_equity = eq_sum / stats.points as f64;
    Metrics {
        total_return,
        annual_return,
        volatility: var.sqrt() * per_year.sqrt(),
        sharpe: ratio(mean, var.sqrt()) * per_year.sqrt(),
        sortino: ratio(mean, down) * per_year.sqrt(),
        calmar: ratio(annual_return, mdd),
        max_drawdown: mdd,
        max_drawdown_bars: longest,
        win_rate: ratio(
            realized.iter().filter(|x| **x > 0.0).count() as f64,
            realized.len() as f64,
        ),
        profit_factor: ratio(gains, losses),
        exposure: exposed_bars as f64 / stats.points as f64,
        turnover: ratio(volume.to_f64().unwrap_or(0.0), avg_equity),
        executions: trades.len(),
        fees,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn drawdown_and_ratios_table() {
        struct Case {
            eq: Vec<f64>,
            mdd: f64,
            bars: usize,
            total: f64,
        }
        let cases = [
            Case {
                eq: vec![100.0, 110.0, 99.0, 120.0],
                mdd: 0.1,
                bars: 1,
                total: 0.2,
            },
            Case {
                eq: vec![100.0, 90.0, 80.0, 85.0],
                mdd: 0.2,
                bars: 3,
                total: -0.15,
            },
            Case {
                eq: vec![100.0, 100.0],
                mdd: 0.0,
                bars: 0,
                total: 0.0,
            },
        ];
        for c in cases {
            let curve: Vec<(i64, f64)> =
                c.eq.iter()
                    .enumerate()
                    .map(|(i, e)| (i as i64, *e))
                    .collect();
            let m = compute(
                &curve,
                Timeframe::M1,
                &[dec!(5), dec!(-2), dec!(0)],
                dec!(1000),
                dec!(1),
                2,
            );
            assert!(
                (m.max_drawdown - c.mdd).abs() < 1e-12,
                "{:?}: {}",
                c.eq,
                m.max_drawdown
            );
            assert_eq!(m.max_drawdown_bars, c.bars);
            assert!((m.total_return - c.total).abs() < 1e-12);
            assert!((m.win_rate - 0.5).abs() < 1e-12 && (m.profit_factor - 2.5).abs() < 1e-12);
            assert!(m.sharpe.is_finite() && m.sortino.is_finite());
        }
    }
}
