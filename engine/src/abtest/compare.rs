//! Two bots (or two versions) side by side: their per-period returns paired on the periods both
//! traded, through both tests of this module. Why one function: the API, the CLI and the
//! dashboard must show the same verdict for the same curves.

use super::sharpe::{sharpe_difference, Covariance, SharpeDiff};
use super::{Decision, Msprt, MsprtParams};
use serde::Serialize;
use std::collections::BTreeMap;

/// Returns of one period, both sides.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PairedReturn {
    /// Period start (epoch ms).
    pub time: i64,
    /// A's return over the period.
    pub a: f64,
    /// B's return over the period.
    pub b: f64,
}

/// The fixed-sample Sharpe-difference test, both forms, or why it could not run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SharpeTests {
    /// Ledoit–Wolf with HAC covariance.
    pub hac: Option<SharpeDiff>,
    /// The same under an i.i.d. assumption, for comparison.
    pub iid: Option<SharpeDiff>,
    /// Why there is no result (too few pairs, a flat series…).
    pub error: Option<String>,
}

/// The sequential test read after every paired period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sequential {
    /// Pairs observed.
    pub n: u64,
    /// Mean of a − b per period.
    pub mean_diff: f64,
    /// Always-valid p-value.
    pub p_value: f64,
    /// The verdict (it stays once reached).
    pub decision: Decision,
    /// The period at which it was reached.
    pub decided_at_ms: Option<i64>,
    /// More paired periods expected before a decision at the current effect and noise
    /// (`Msprt::periods_to_decision`, formula in `abtest::eta`): 0 once decided, `None` when no
    /// decision is expected (no effect, or beyond the horizon).
    pub periods_to_decision: Option<u64>,
}

/// A comparison of two return series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// Periods both sides have a return for.
    pub pairs: usize,
    /// First paired period.
    pub from_ms: Option<i64>,
    /// Last paired period.
    pub to_ms: Option<i64>,
    /// See [`SharpeTests`].
    pub sharpe_difference: SharpeTests,
    /// See [`Sequential`].
    pub sequential: Sequential,
    /// The paired returns, oldest first (for charts).
    pub series: Vec<PairedReturn>,
}

/// Per-period returns of a curve of `(period start, value)`: `v_k / v_(k−1) − 1`, keyed by the
/// later period (skipped after a non-positive value).
fn returns(curve: &[(i64, f64)]) -> BTreeMap<i64, f64> {
    curve
        .windows(2)
        .filter(|w| w[0].1 > 0.0 && w[1].1.is_finite())
        .map(|w| (w[1].0, w[1].1 / w[0].1 - 1.0))
        .collect()
}

/// Pairs the two curves' returns on the periods both have, and runs the Sharpe-difference test
/// (HAC and i.i.d.) and the mSPRT over them in time order.
#[must_use]
pub fn compare(a: &[(i64, f64)], b: &[(i64, f64)], params: MsprtParams) -> Comparison {
    let (ra, rb) = (returns(a), returns(b));
    let series: Vec<PairedReturn> = ra
        .iter()
        .filter_map(|(t, x)| {
            rb.get(t).map(|y| PairedReturn {
                time: *t,
                a: *x,
                b: *y,
            })
        })
        .collect();
    let (xa, xb): (Vec<f64>, Vec<f64>) = series.iter().map(|p| (p.a, p.b)).unzip();
    let sharpe_difference = match (
        sharpe_difference(&xa, &xb, Covariance::Hac),
        sharpe_difference(&xa, &xb, Covariance::Iid),
    ) {
        (Ok(h), Ok(i)) => SharpeTests {
            hac: Some(h),
            iid: Some(i),
            error: None,
        },
        (Err(e), _) | (_, Err(e)) => SharpeTests {
            hac: None,
            iid: None,
            error: Some(e.to_string()),
        },
    };
    let mut test = Msprt::new(params);
    let mut decided_at_ms = None;
    for p in &series {
        let r = test.push(p.a, p.b);
        if decided_at_ms.is_none() && r.decision != Decision::Continue {
            decided_at_ms = Some(p.time);
        }
    }
    let r = test.reading();
    Comparison {
        pairs: series.len(),
        from_ms: series.first().map(|p| p.time),
        to_ms: series.last().map(|p| p.time),
        sharpe_difference,
        sequential: Sequential {
            n: r.n,
            mean_diff: r.mean_diff,
            p_value: r.p_value,
            decision: r.decision,
            decided_at_ms,
            periods_to_decision: test.periods_to_decision(),
        },
        series,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_only_common_periods_and_runs_both_tests() {
        let day = 86_400_000;
        // A grows 1 % a day with a wobble; B is flat with the same wobble, and starts later.
        let a: Vec<(i64, f64)> = (0..200)
            .map(|i| {
                (
                    i * day,
                    100.0 * 1.01f64.powi(i as i32) * (1.0 + 0.02 * ((i as f64) * 0.7).sin()),
                )
            })
            .collect();
        let b: Vec<(i64, f64)> = (50..260)
            .map(|i| (i * day, 100.0 * (1.0 + 0.02 * ((i as f64) * 0.7).sin())))
            .collect();
        let c = compare(&a, &b, MsprtParams::default());
        // Returns of A on days 1..199, of B on days 51..259: common 51..199.
        assert_eq!(c.pairs, 149);
        assert_eq!((c.from_ms, c.to_ms), (Some(51 * day), Some(199 * day)));
        let hac = c.sharpe_difference.hac.expect("hac");
        assert!(hac.diff > 0.0 && hac.p_value < 0.01, "{hac:?}");
        assert_eq!(c.sequential.decision, Decision::ABetter);
        let at = c.sequential.decided_at_ms.expect("decided");
        assert!(at > 51 * day && at <= 199 * day);
        assert_eq!(c.series.len(), 149);
    }

    #[test]
    fn too_few_pairs_say_why_and_decide_nothing() {
        let a = [(0, 100.0), (1, 101.0), (2, 100.5)];
        let c = compare(&a, &a, MsprtParams::default());
        assert_eq!(c.pairs, 2);
        assert!(c.sharpe_difference.hac.is_none());
        let why = c.sharpe_difference.error.expect("error");
        assert!(why.contains("2 pairs"), "{why}");
        assert_eq!(c.sequential.decision, Decision::Continue);
        assert_eq!(compare(&[], &a, MsprtParams::default()).pairs, 0);
    }
}
