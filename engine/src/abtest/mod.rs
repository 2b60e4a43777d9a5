//! A/B tests of strategy versions that may be looked at after every bar without inflating
//! false positives: the mixture sequential probability ratio test (mSPRT) of Johari, Pekelis and
//! Walsh ("Always Valid Inference", 2017) on paired per-bar returns.
//!
//! Two versions trade the same bars (one may be a paper shadow), so each bar gives a pair of
//! returns and their difference `d = a − b`. Under "no difference" the `d` have mean 0. With a
//! normal mixing distribution N(0, τ²) over the alternative mean, the likelihood ratio after n
//! pairs with mean d̄ and variance σ² is
//!
//! ```text
//! Λn = sqrt(σ² / (σ² + nτ²)) · exp( n² τ² d̄² / (2 σ² (σ² + nτ²)) )
//! ```
//!
//! and `p = min over time of 1 / Λ` is an always-valid p-value: the chance that it ever falls
//! below α when the versions are equal is at most α, however often it is read. σ² is the
//! running sample variance of the differences (after a burn-in, so an early, noisy estimate
//! cannot decide); τ² defaults to σ² of the burn-in (an effect of the size of one bar's noise).
//! Maths is `f64` (statistics, never money).

use serde::{Deserialize, Serialize};

pub mod compare;
pub mod eta;
pub mod sharpe;
pub use compare::{compare, Comparison};
pub use sharpe::{sharpe_difference, Covariance, SharpeDiff, SharpeDiffError};

#[cfg(test)]
mod tests;

/// Settings of [`Msprt`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MsprtParams {
    /// Significance level: a difference is declared when the p-value falls to or below it.
    pub alpha: f64,
    /// Pairs observed before any decision (the variance estimate's burn-in).
    pub burn_in: u64,
    /// Variance of the mixing distribution; `None` = the variance of the differences at the end
    /// of the burn-in.
    pub tau2: Option<f64>,
}

impl Default for MsprtParams {
    /// 5 %, 30 pairs of burn-in, τ² from the burn-in.
    fn default() -> Self {
        Self {
            alpha: 0.05,
            burn_in: 30,
            tau2: None,
        }
    }
}

/// The test's verdict so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Not enough evidence yet (or still in the burn-in).
    Continue,
    /// A beats B (mean difference above 0), at the test's level.
    ABetter,
    /// B beats A.
    BBetter,
}

/// One reading of the test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MsprtReading {
    /// Pairs observed.
    pub n: u64,
    /// Mean of the differences (a − b) per bar.
    pub mean_diff: f64,
    /// Always-valid p-value (1 during the burn-in).
    pub p_value: f64,
    /// The verdict; once reached it stays (the p-value never rises).
    pub decision: Decision,
}

/// The sequential test over paired returns, one pair per bar.
#[derive(Debug, Clone)]
pub struct Msprt {
    p: MsprtParams,
    n: u64,
    mean: f64,
    m2: f64,
    tau2: Option<f64>,
    p_value: f64,
    decision: Decision,
}

impl Msprt {
    /// A test with these settings (α in (0, 1); burn-in at least 2 pairs).
    #[must_use]
    pub fn new(p: MsprtParams) -> Self {
        let p = MsprtParams {
            alpha: p.alpha.clamp(f64::MIN_POSITIVE, 0.5),
            burn_in: p.burn_in.max(2),
            tau2: p.tau2.filter(|t| t.is_finite() && *t > 0.0),
        };
        Self {
            tau2: p.tau2,
            p,
            n: 0,
            mean: 0.0,
            m2: 0.0,
            p_value: 1.0,
            decision: Decision::Continue,
        }
    }

    /// Adds one bar's pair of returns (A's, B's); non-finite pairs are skipped.
    pub fn push(&mut self, a: f64, b: f64) -> MsprtReading {
        let d = a - b;
        if d.is_finite() {
            self.n += 1;
            let delta = d - self.mean;
            self.mean += delta / self.n as f64;
            self.m2 += delta * (d - self.mean);
            self.update_p();
        }
        self.reading()
    }

    fn update_p(&mut self) {
        if self.n < self.p.burn_in {
            return;
        }
        let var = self.m2 / (self.n - 1) as f64;
        if !(var.is_finite() && var > 0.0) {
            return;
        }
        let tau2 = *self.tau2.get_or_insert(var);
        let n = self.n as f64;
        let denom = var + n * tau2;
        let log_lambda =
            0.5 * (var / denom).ln() + n * n * tau2 * self.mean * self.mean / (2.0 * var * denom);
        let p = (-log_lambda).exp().min(1.0);
        if p < self.p_value {
            self.p_value = p;
        }
        if self.decision == Decision::Continue && self.p_value <= self.p.alpha {
            self.decision = if self.mean > 0.0 {
                Decision::ABetter
            } else {
                Decision::BBetter
            };
        }
    }

    /// The test as it stands.
    #[must_use]
    pub fn reading(&self) -> MsprtReading {
        MsprtReading {
            n: self.n,
            mean_diff: self.mean,
            p_value: self.p_value,
            decision: self.decision,
        }
    }
}
