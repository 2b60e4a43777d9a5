//! Bayesian online changepoint detection (Adams & MacKay, "Bayesian Online Changepoint
//! Detection", 2007) on a bar's log return.
//!
//! Each possible run length r (bars since the last change) carries a Normal–Gamma posterior of
//! the returns' mean and precision; its predictive is a Student-t. With a constant hazard H, one
//! bar moves every run's probability to r+1 (times 1−H, times how well that run predicted the
//! return) or to 0 (times H). Probabilities are kept in log space and the distribution is cut
//! at `max_run` (the longest runs, whose mass is negligible once a run is that long, are
//! dropped and the rest renormalised), so one bar costs O(`max_run`).
//!
//! The prior a new run starts from is centred on an exponentially weighted mean and variance of
//! the returns seen before the bar (causal: no later bar is used), so the detector needs no
//! scale from its user. A bar is flagged [`ChangepointValue::changed`] when the most probable
//! run length collapses by at least `min_drop` bars: the returns since some recent bar are
//! better explained as a new regime than as a continuation of the old one.

use serde::{Deserialize, Serialize};

use crate::factor::Factor;
use crate::market::Bar;

/// Settings of [`Changepoint`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ChangepointParams {
    /// Expected bars between changes (the hazard is its inverse).
    pub expected_run: f64,
    /// Longest run length tracked (the truncation).
    pub max_run: usize,
    /// Bars of returns before the first value (the prior's first estimate).
    pub warm_up: usize,
    /// Span, in bars, of the exponentially weighted mean and variance the prior is centred on.
    pub prior_span: f64,
    /// A change is flagged when the most probable run length falls by at least this much.
    pub min_drop: usize,
}

impl Default for ChangepointParams {
    /// A change expected every 250 bars, runs tracked up to 500 bars, 30 bars of warm-up, a
    /// 250-bar prior and a flag on a fall of 10 bars or more.
    fn default() -> Self {
        Self {
            expected_run: 250.0,
            max_run: 500,
            warm_up: 30,
            prior_span: 250.0,
            min_drop: 10,
        }
    }
}

/// One bar's reading.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ChangepointValue {
    /// Most probable number of bars since the last change.
    pub run_length: usize,
    /// Probability of that run length.
    pub confidence: f64,
    /// This bar revealed a change: the most probable run length fell by `min_drop` or more.
    /// The change itself happened `run_length` bars ago.
    pub changed: bool,
}

/// Normal–Gamma posterior of one run.
#[derive(Debug, Clone, Copy)]
struct Posterior {
    mu: f64,
    kappa: f64,
    alpha: f64,
    beta: f64,
    /// ln Γ(α + ½) − ln Γ(α), the predictive's normalising term. α grows by ½ per bar, so
    /// the next value follows from this one exactly (Γ(x+1) = xΓ(x)), without a new ln Γ.
    ln_gamma_ratio: f64,
}

impl Posterior {
    /// Log density of the Student-t predictive at `x`.
    fn log_predictive(&self, x: f64) -> f64 {
        let nu = 2.0 * self.alpha;
        let scale2 = self.beta * (self.kappa + 1.0) / (self.alpha * self.kappa);
        let z = (x - self.mu) * (x - self.mu) / (nu * scale2);
        self.ln_gamma_ratio
            - 0.5 * (nu * std::f64::consts::PI * scale2).ln()
            - (self.alpha + 0.5) * z.ln_1p()
    }

    /// The posterior after one more observation `x`.
    fn observe(&self, x: f64) -> Self {
        let k1 = self.kappa + 1.0;
        let d = x - self.mu;
        Self {
            mu: (self.kappa * self.mu + x) / k1,
            kappa: k1,
            alpha: self.alpha + 0.5,
            beta: self.beta + self.kappa * d * d / (2.0 * k1),
            // ln Γ(α+1) − ln Γ(α+½) = ln α − (ln Γ(α+½) − ln Γ(α)).
            ln_gamma_ratio: self.alpha.ln() - self.ln_gamma_ratio,
        }
    }
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, nine coefficients: about 15 significant digits, far
/// beyond what a likelihood ratio needs).
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1−x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// ln(Σ exp(v)) without overflow; −∞ for an empty or all −∞ slice.
fn log_sum_exp(v: impl Iterator<Item = f64> + Clone) -> f64 {
    let m = v.clone().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + v.map(|x| (x - m).exp()).sum::<f64>().ln()
}

/// The streaming detector over bars (log returns of the close). `None` during warm-up.
#[derive(Debug, Clone)]
pub struct Changepoint {
    p: ChangepointParams,
    log_h: f64,
    log_1mh: f64,
    prev_close: Option<f64>,
    seen: usize,
    mean: f64,
    var: f64,
    /// Log probability of each run length (index = run length).
    log_r: Vec<f64>,
    runs: Vec<Posterior>,
    scratch_r: Vec<f64>,
    scratch_runs: Vec<Posterior>,
    last: Option<ChangepointValue>,
}

impl Changepoint {
    /// A detector with these settings (`expected_run` at least 1, `max_run` at least 2).
    #[must_use]
    pub fn new(p: ChangepointParams) -> Self {
        let p = ChangepointParams {
            expected_run: p.expected_run.max(1.0),
            max_run: p.max_run.max(2),
            warm_up: p.warm_up.max(2),
            prior_span: p.prior_span.max(1.0),
            ..p
        };
        let h = 1.0 / p.expected_run;
        Self {
            log_h: h.ln(),
            log_1mh: (-h).ln_1p(),
            prev_close: None,
            seen: 0,
            mean: 0.0,
            var: 0.0,
            // One more than kept: a bar grows every run before the longest is cut, so a warm
            // detector never reallocates.
            log_r: Vec::with_capacity(p.max_run + 2),
            runs: Vec::with_capacity(p.max_run + 2),
            scratch_r: Vec::with_capacity(p.max_run + 2),
            scratch_runs: Vec::with_capacity(p.max_run + 2),
            last: None,
            p,
        }
    }

    /// Bars of history a fresh detector must see to read what one fed since the first bar
    /// reads. A run of length r began from the prior of r bars ago, which is an exponentially
    /// weighted mean and variance: that one forgets a bar's weight below 1e-12 after `memory`
    /// bars. So: the warm-up, then `memory` bars for the prior to converge, then `max_run`
    /// bars so every tracked run began from a converged prior. Why: a live bot replays its
    /// last bars through a fresh strategy at each close and must hold the backtest's target.
    #[must_use]
    pub fn history_bars(&self) -> usize {
        let l = 2.0 / (self.p.prior_span + 1.0);
        // (1 − l)^k < 1e-12; l = 1 (a one-bar span) keeps no memory at all.
        let memory = if l < 1.0 {
            ((1e-12f64).ln() / (1.0 - l).ln()).ceil() as usize
        } else {
            0
        };
        self.warm_up() + memory + self.p.max_run
    }

    /// The prior a run starting now begins from: centred on the weighted mean, with the
    /// weighted variance as its expected variance (α = 1, κ = 1: weak, so a run's own returns
    /// take over within a few bars).
    fn prior(&self) -> Posterior {
        let var = if self.var > 0.0 { self.var } else { 1e-12 };
        Posterior {
            mu: self.mean,
            kappa: 1.0,
            alpha: 1.0,
            beta: var,
            ln_gamma_ratio: ln_gamma(1.5),
        }
    }

    /// Moves the weighted mean and variance by `x` (Welford during warm-up, then exponential).
    fn learn(&mut self, x: f64) {
        self.seen += 1;
        let d = x - self.mean;
        if self.seen <= self.p.warm_up {
            let n = self.seen as f64;
            self.mean += d / n;
            // Running population variance.
            self.var += (d * (x - self.mean) - self.var) / n;
        } else {
            let l = 2.0 / (self.p.prior_span + 1.0);
            self.mean += l * d;
            self.var = (1.0 - l) * (self.var + l * d * d);
        }
    }

    /// Feeds one return; the reading once warm.
    pub fn push(&mut self, x: f64) -> Option<ChangepointValue> {
        if !x.is_finite() {
            return self.last;
        }
        if self.seen < self.p.warm_up {
            self.learn(x);
            if self.seen == self.p.warm_up {
                self.log_r.clear();
                self.log_r.push(0.0);
                self.runs.clear();
                self.runs.push(self.prior());
            }
            return None;
        }
        // Growth and changepoint masses.
        self.scratch_r.clear();
        self.scratch_runs.clear();
        self.scratch_r.push(f64::NEG_INFINITY);
        self.scratch_runs.push(self.prior());
        let mut cp_terms_max = f64::NEG_INFINITY;
        for (lr, run) in self.log_r.iter().zip(&self.runs) {
            let joint = lr + run.log_predictive(x);
            cp_terms_max = cp_terms_max.max(joint);
            self.scratch_r.push(joint + self.log_1mh);
            self.scratch_runs.push(run.observe(x));
        }
        // Σ joint, with the growth terms (joint + ln(1−H)) as the stored values.
        let cp_sum = if cp_terms_max == f64::NEG_INFINITY {
            f64::NEG_INFINITY
        } else {
            let s: f64 = self.scratch_r[1..]
                .iter()
                .map(|g| (g - self.log_1mh - cp_terms_max).exp())
                .sum();
            cp_terms_max + s.ln()
        };
        self.scratch_r[0] = cp_sum + self.log_h;
        // Truncate: the longest runs go first.
        let keep = self.p.max_run + 1;
        self.scratch_r.truncate(keep);
        self.scratch_runs.truncate(keep);
        let z = log_sum_exp(self.scratch_r.iter().copied());
        if z.is_finite() {
            for v in &mut self.scratch_r {
                *v -= z;
            }
        } else {
            // Nothing predicted this return at all (an extreme outlier): start over.
            self.scratch_r.clear();
            self.scratch_r.push(0.0);
            self.scratch_runs.truncate(1);
        }
        std::mem::swap(&mut self.log_r, &mut self.scratch_r);
        std::mem::swap(&mut self.runs, &mut self.scratch_runs);
        self.learn(x);

        let (run_length, lp) =
            self.log_r
                .iter()
                .copied()
                .enumerate()
                .fold((0, f64::NEG_INFINITY), |best, (i, v)| {
                    if v > best.1 {
                        (i, v)
                    } else {
                        best
                    }
                });
        let changed = self
            .last
            .is_some_and(|prev| prev.run_length >= run_length + self.p.min_drop);
        self.last = Some(ChangepointValue {
            run_length,
            confidence: lp.exp(),
            changed,
        });
        self.last
    }
}

impl Factor for Changepoint {
    type Output = ChangepointValue;

    fn update(&mut self, bar: &Bar) -> Option<ChangepointValue> {
        let prev = self.prev_close.replace(bar.close);
        match prev {
            Some(p) if p > 0.0 && bar.close > 0.0 => self.push((bar.close / p).ln()),
            _ => self.last,
        }
    }

    fn value(&self) -> Option<ChangepointValue> {
        self.last
    }

    fn warm_up(&self) -> usize {
        // One bar for the first return, `warm_up` returns for the prior, one more to read.
        self.p.warm_up + 2
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn ln_gamma_matches_known_values() {
        // Γ(1) = Γ(2) = 1, Γ(0.5) = √π, Γ(5) = 24, Γ(10.5) = 1133278.3889487855.
        for (x, want) in [
            (1.0, 0.0),
            (2.0, 0.0),
            (0.5, std::f64::consts::PI.sqrt().ln()),
            (5.0, 24f64.ln()),
            (10.5, 1_133_278.388_948_785_5f64.ln()),
        ] {
            assert!(
                (ln_gamma(x) - want).abs() < 1e-10,
                "lnΓ({x}) = {}",
                ln_gamma(x)
            );
        }
    }

    #[test]
    fn the_carried_gamma_ratio_equals_a_fresh_one() {
        let mut p = Posterior {
            mu: 0.0,
            kappa: 1.0,
            alpha: 1.0,
            beta: 1.0,
            ln_gamma_ratio: ln_gamma(1.5),
        };
        for i in 0..1_000 {
            p = p.observe(f64::from(i % 7) - 3.0);
            let fresh = ln_gamma(p.alpha + 0.5) - ln_gamma(p.alpha);
            assert!(
                (p.ln_gamma_ratio - fresh).abs() < 1e-9,
                "after {i}: {} vs {fresh}",
                p.ln_gamma_ratio
            );
        }
    }

    #[test]
    fn predictive_is_a_density() {
        let p = Posterior {
            mu: 0.3,
            kappa: 2.0,
            alpha: 3.5,
            beta: 1.7,
            ln_gamma_ratio: ln_gamma(4.0) - ln_gamma(3.5),
        };
        // Trapezoid over ±60: the Student-t's mass there is 1 to well under 1e-6.
        let (lo, hi, n) = (-60.0, 60.0, 200_000);
        let h = (hi - lo) / n as f64;
        let mass: f64 = (0..=n)
            .map(|i| {
                let w = if i == 0 || i == n { 0.5 } else { 1.0 };
                w * p.log_predictive(lo + i as f64 * h).exp()
            })
            .sum::<f64>()
            * h;
        assert!((mass - 1.0).abs() < 1e-6, "mass {mass}");
    }
}
