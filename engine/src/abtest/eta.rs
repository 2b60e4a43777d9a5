//! The expected time to a decision of the mSPRT ([`super::Msprt`]): how many more paired periods
//! the test needs before its always-valid p-value falls to α, **if** the effect and the noise
//! observed so far are the true ones.
//!
//! With `n` pairs observed, mean difference `d̄`, sample variance `σ²` of the differences and the
//! test's mixing variance `τ²`, the test's log likelihood ratio after `m` pairs that keep the
//! same mean and variance is
//!
//! ```text
//! L(m) = ½ ln(σ² / (σ² + mτ²)) + m² τ² d̄² / (2 σ² (σ² + mτ²))
//! ```
//!
//! and the test decides once `L(m) ≥ ln(1/α)`. `L` falls then rises without bound in `m`
//! (for `d̄ ≠ 0`; the second term grows like `m d̄² / 2σ²`, the first shrinks like `−½ ln m`), so
//! the first `m* ≥ max(n, burn-in)` where it crosses is found by doubling then bisection. The
//! estimate is `m* − n` periods. Honest limits: it is a plug-in estimate (the observed `d̄` is
//! noisy, and an overestimated effect makes the wait look shorter); with `d̄ = 0` there is no
//! finite answer (`None`: at the current effect the test never decides), nor beyond
//! [`HORIZON`] periods. During the burn-in, `σ²` and `τ²` are the variance of the pairs so far.

use super::{Decision, Msprt};

/// Beyond this many periods the estimate says "none" rather than a number of years.
pub const HORIZON: u64 = 10_000_000;

/// `L(m)` of the module doc.
fn log_lambda(m: f64, mean: f64, var: f64, tau2: f64) -> f64 {
    let denom = var + m * tau2;
    0.5 * (var / denom).ln() + m * m * tau2 * mean * mean / (2.0 * var * denom)
}

impl Msprt {
    /// More paired periods needed before a decision at the current effect and noise (module
    /// doc); `Some(0)` once decided, `None` when no decision is expected within [`HORIZON`] (no
    /// effect, no variance, or too few pairs to estimate either).
    #[must_use]
    pub fn periods_to_decision(&self) -> Option<u64> {
        if self.decision != Decision::Continue {
            return Some(0);
        }
        if self.n < 2 {
            return None;
        }
        let var = self.m2 / (self.n - 1) as f64;
        let tau2 = self.tau2.unwrap_or(var);
        let mean = self.mean;
        if !(var.is_finite() && var > 0.0 && tau2 > 0.0 && mean.is_finite() && mean != 0.0) {
            return None;
        }
        let threshold = (1.0 / self.p.alpha).ln();
        let start = self.n.max(self.p.burn_in);
        let reached = |m: u64| log_lambda(m as f64, mean, var, tau2) >= threshold;
        if reached(start) {
            return Some(start - self.n);
        }
        let (mut lo, mut hi) = (start, start.saturating_mul(2).max(start + 1));
        while !reached(hi) {
            if hi >= HORIZON {
                return None;
            }
            lo = hi;
            hi = hi.saturating_mul(2).min(HORIZON);
        }
        // L(lo) < threshold ≤ L(hi), with a single crossing past the minimum: bisect.
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if reached(mid) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        Some(hi - self.n)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Decision, Msprt, MsprtParams};

    /// Deterministic pairs with mean difference `mean` and a ±`wobble` alternation.
    fn fed(n: usize, mean: f64, wobble: f64) -> Msprt {
        let mut t = Msprt::new(MsprtParams {
            alpha: 0.05,
            burn_in: 10,
            tau2: None,
        });
        for i in 0..n {
            let w = if i % 2 == 0 { wobble } else { -wobble };
            t.push(0.001 + mean + w, 0.001);
        }
        t
    }

    #[test]
    fn the_estimate_is_the_bar_at_which_the_test_then_decides() {
        // Feed the same kind of pairs for as long as the estimate said: the test decides there
        // (not before), because the estimate solves the test's own formula.
        let t = fed(100, 0.0004, 0.004);
        assert_eq!(t.reading().decision, Decision::Continue);
        let eta = t.periods_to_decision().expect("a finite estimate");
        assert!(eta > 0, "not decided yet");
        let mut later = fed(100 + eta as usize + 40, 0.0004, 0.004);
        // Same stream, replayed pair by pair: find where it decides.
        let mut replay = fed(0, 0.0, 0.0);
        let mut decided_at = None;
        for i in 0..(100 + eta as usize + 40) {
            let w = if i % 2 == 0 { 0.004 } else { -0.004 };
            let r = replay.push(0.001 + 0.0004 + w, 0.001);
            if decided_at.is_none() && r.decision != Decision::Continue {
                decided_at = Some(i as u64 + 1);
            }
        }
        assert_eq!(later.reading().decision, Decision::ABetter);
        let at = decided_at.expect("decides");
        // The plug-in variance after 100 pairs is ~1 % above its limit (n/(n−1)), so the
        // estimate lands within 3 % of the real decision (after 12 pairs it was about 10 % too long: a
        // documented limit of a plug-in estimate).
        let predicted = 100 + eta;
        assert!(
            (at.abs_diff(predicted) as f64) <= 0.03 * at as f64,
            "predicted {predicted}, decided at {at}"
        );
        later.push(0.0, 0.0);
        assert_eq!(later.periods_to_decision(), Some(0), "once decided: 0");
    }

    #[test]
    fn no_effect_no_estimate_and_bigger_effects_decide_sooner() {
        assert_eq!(fed(20, 0.0, 0.004).periods_to_decision(), None);
        assert_eq!(fed(1, 0.001, 0.004).periods_to_decision(), None);
        let small = fed(12, 0.0002, 0.004)
            .periods_to_decision()
            .expect("finite");
        let big = fed(12, 0.0008, 0.004)
            .periods_to_decision()
            .expect("finite");
        assert!(big < small, "big {big} vs small {small}");
        // A tiny effect in large noise is beyond the horizon.
        assert_eq!(fed(12, 1e-9, 0.05).periods_to_decision(), None);
    }
}
