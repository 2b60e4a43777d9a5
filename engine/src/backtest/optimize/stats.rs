//! Overfitting statistics of a search: the deflated Sharpe ratio (Bailey & López de Prado, "The
//! Deflated Sharpe Ratio", 2014) and the probability of backtest overfitting by combinatorially
//! symmetric cross-validation (Bailey, Borwein, López de Prado & Zhu, "The Probability of
//! Backtest Overfitting", 2017). Statistics, so `f64`; every Sharpe ratio here is per bar (not
//! annualised), as the papers' formulas want.

use serde::{Deserialize, Serialize};

/// Euler–Mascheroni constant.
const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

/// Standard normal CDF.
pub fn norm_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// Standard normal quantile (Acklam's rational approximation, then one Halley step on the
/// erfc-based CDF: ~1e-15 relative).
pub fn norm_ppf(p: f64) -> f64 {
    if !(p > 0.0 && p < 1.0) {
        return if p <= 0.0 {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
    }
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    let x = if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    };
    let e = norm_cdf(x) - p;
    let u = e * (2.0 * std::f64::consts::PI).sqrt() * (x * x / 2.0).exp();
    x - u / (1.0 + x * u / 2.0)
}

/// Moments of a return series that the deflated Sharpe ratio needs, and the series' blocks
/// for CSCV: accumulated once per trial, stored in the ledger (a few numbers, not the series).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ReturnStats {
    /// Observations (bar returns).
    pub n: usize,
    /// Per-bar Sharpe ratio (mean / sample standard deviation; 0 for a flat series).
    pub sharpe: f64,
    /// Skewness (third standardised moment).
    pub skew: f64,
    /// Kurtosis (fourth standardised moment; 3 for a normal).
    pub kurtosis: f64,
    /// Per CSCV block: `[count, Σr, Σr²]` of its returns.
    pub blocks: Vec<[f64; 3]>,
}

impl ReturnStats {
    /// [`ReturnStats::of`] the bar returns of an equity curve (`b / a - 1`, 0 after a zero
    /// equity), bit for bit, without collecting them: the same sums in the same order, over
    /// two walks of the curve instead of an allocated series and four walks of it.
    pub fn of_curve(curve: &[(i64, f64)], blocks: usize) -> Self {
        let ret = |w: &[(i64, f64)]| {
            if w[0].1 != 0.0 {
                w[1].1 / w[0].1 - 1.0
            } else {
                0.0
            }
        };
        let n = curve.len().saturating_sub(1);
        if n == 0 {
            return Self::default();
        }
        let mean = curve.windows(2).map(ret).sum::<f64>() / n as f64;
        let per = n.checked_div(blocks).unwrap_or(0);
        // `Iterator::sum`'s own neutral element, so an all-zero block keeps its sign of zero.
        let zero = std::iter::empty::<f64>().sum::<f64>();
        let mut sums = vec![[0.0, zero, zero]; if per == 0 { 0 } else { blocks }];
        let (mut m2, mut m3, mut m4) = (0.0, 0.0, 0.0);
        let (mut b, mut left) = (0usize, per);
        for w in curve.windows(2) {
            let r = ret(w);
            let d = r - mean;
            m2 += d * d;
            m3 += d * d * d;
            m4 += d * d * d * d;
            if let Some(s) = sums.get_mut(b) {
                s[0] += 1.0;
                s[1] += r;
                s[2] += r * r;
                // The last block takes the remainder: only the others count down.
                if b + 1 < blocks {
                    left -= 1;
                    if left == 0 {
                        b += 1;
                        left = per;
                    }
                }
            }
        }
        Self::finish(n, mean, m2, m3, m4, sums)
    }

    /// Statistics of `returns`, split into `blocks` contiguous blocks (the remainder goes to
    /// the last one; no blocks when there are fewer returns than blocks).
    pub fn of(returns: &[f64], blocks: usize) -> Self {
        let n = returns.len();
        if n == 0 {
            return Self::default();
        }
        let mean = returns.iter().sum::<f64>() / n as f64;
        let (mut m2, mut m3, mut m4) = (0.0, 0.0, 0.0);
        for r in returns {
            let d = r - mean;
            m2 += d * d;
            m3 += d * d * d;
            m4 += d * d * d * d;
        }
        let per = n.checked_div(blocks).unwrap_or(0);
        let sums = if per == 0 {
            Vec::new()
        } else {
            (0..blocks)
                .map(|b| {
                    let end = if b + 1 == blocks { n } else { (b + 1) * per };
                    let part = &returns[b * per..end];
                    [
                        part.len() as f64,
                        part.iter().sum(),
                        part.iter().map(|x| x * x).sum(),
                    ]
                })
                .collect()
        };
        Self::finish(n, mean, m2, m3, m4, sums)
    }

    /// The moments' ratios from the central sums (shared by both constructors).
    fn finish(n: usize, mean: f64, m2: f64, m3: f64, m4: f64, blocks: Vec<[f64; 3]>) -> Self {
        let (m2p, m3p, m4p) = (m2 / n as f64, m3 / n as f64, m4 / n as f64);
        let sd = if n > 1 {
            (m2 / (n as f64 - 1.0)).sqrt()
        } else {
            0.0
        };
        let flat = m2p <= 0.0;
        Self {
            n,
            sharpe: if sd > 0.0 { mean / sd } else { 0.0 },
            skew: if flat { 0.0 } else { m3p / m2p.powf(1.5) },
            kurtosis: if flat { 3.0 } else { m4p / (m2p * m2p) },
            blocks,
        }
    }
}

/// The deflated Sharpe ratio of the best of `trials` trials and what it was computed from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deflated {
    /// The selected trial's per-bar Sharpe ratio.
    pub sharpe: f64,
    /// Bar returns it was measured on (T).
    pub observations: usize,
    /// Trials the selection was made from (N: every trial in the ledger).
    pub trials: usize,
    /// Variance of the trials' per-bar Sharpe ratios.
    pub sharpe_variance: f64,
    /// Skewness of the selected trial's returns.
    pub skew: f64,
    /// Kurtosis of the selected trial's returns.
    pub kurtosis: f64,
    /// Expected maximum per-bar Sharpe ratio of N unskilled trials (SR₀).
    pub expected_max_sharpe: f64,
    /// DSR: probability that the true Sharpe ratio exceeds SR₀.
    pub dsr: f64,
}

/// Expected maximum Sharpe ratio of `n` independent trials whose Sharpe ratios have variance
/// `var` and true mean 0 (the paper's eq. for SR₀):
/// `√V · ((1 − γ) Φ⁻¹(1 − 1/N) + γ Φ⁻¹(1 − 1/(N e)))`.
pub fn expected_max_sharpe(n: usize, var: f64) -> f64 {
    if n < 2 || var <= 0.0 {
        return 0.0;
    }
    let n = n as f64;
    var.sqrt()
        * ((1.0 - EULER_GAMMA) * norm_ppf(1.0 - 1.0 / n)
            + EULER_GAMMA * norm_ppf(1.0 - 1.0 / (n * std::f64::consts::E)))
}

/// Probabilistic Sharpe ratio of an observed per-bar `sharpe` over `t` returns against the
/// benchmark `sr0`: `Φ((SR − SR₀) √(T − 1) / √(1 − γ₃ SR + (γ₄ − 1)/4 · SR²))`.
pub fn probabilistic_sharpe(sharpe: f64, sr0: f64, t: usize, skew: f64, kurtosis: f64) -> f64 {
    if t < 2 {
        return 0.0;
    }
    let den = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe * sharpe;
    if den <= 0.0 || !den.is_finite() {
        return 0.0;
    }
    norm_cdf((sharpe - sr0) * ((t - 1) as f64).sqrt() / den.sqrt())
}

/// The deflated Sharpe ratio: the PSR of `sharpe` against the expected maximum of `trials`
/// unskilled trials with Sharpe variance `var`.
pub fn deflated_sharpe(
    sharpe: f64,
    t: usize,
    trials: usize,
    var: f64,
    skew: f64,
    kurtosis: f64,
) -> Deflated {
    let sr0 = expected_max_sharpe(trials, var);
    Deflated {
        sharpe,
        observations: t,
        trials,
        sharpe_variance: var,
        skew,
        kurtosis,
        expected_max_sharpe: sr0,
        dsr: probabilistic_sharpe(sharpe, sr0, t, skew, kurtosis),
    }
}

/// Sample variance (n − 1), 0 under two values.
pub fn variance(xs: &[f64]) -> f64 {
    if xs.len() < 2 {
        return 0.0;
    }
    let m = xs.iter().sum::<f64>() / xs.len() as f64;
    xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() as f64 - 1.0)
}

/// Probability of backtest overfitting and its distribution summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pbo {
    /// Fraction of the CSCV splits where the in-sample best ranks below the out-of-sample
    /// median (logit ≤ 0).
    pub pbo: f64,
    /// Blocks the returns were split into (S).
    pub blocks: usize,
    /// Splits evaluated (S choose S/2).
    pub combinations: usize,
    /// Trials compared (N).
    pub trials: usize,
    /// Median logit of the in-sample best's out-of-sample relative rank.
    pub median_logit: f64,
}

/// Sharpe ratio of the union of the blocks in `mask` (sufficient statistics summed).
fn sharpe_of(blocks: &[[f64; 3]], mask: u32) -> f64 {
    let (mut n, mut s, mut q) = (0.0, 0.0, 0.0);
    for (i, b) in blocks.iter().enumerate() {
        if mask & (1 << i) != 0 {
            n += b[0];
            s += b[1];
            q += b[2];
        }
    }
    if n < 2.0 {
        return 0.0;
    }
    let mean = s / n;
    let var = (q - n * mean * mean) / (n - 1.0);
    if var > 0.0 {
        mean / var.sqrt()
    } else {
        0.0
    }
}

/// PBO by CSCV from each trial's block statistics (`trials[j]` = trial j's blocks, all with
/// the same even count S ≤ 20): for every half of the blocks as in-sample, the trial with the
/// best in-sample Sharpe ratio is ranked out of sample (rank 1 = worst … N = best, ω = rank /
/// (N + 1)), logit λ = ln(ω / (1 − ω)); PBO = share of splits with λ ≤ 0. `None` with fewer than
/// two trials or unequal/odd block counts.
pub fn pbo(trials: &[&[[f64; 3]]]) -> Option<Pbo> {
    let s = trials.first()?.len();
    if trials.len() < 2
        || s < 2
        || !s.is_multiple_of(2)
        || s > 20
        || trials.iter().any(|t| t.len() != s)
    {
        return None;
    }
    let full = (1u32 << s) - 1;
    let n = trials.len();
    let mut logits = Vec::new();
    for mask in 0..=full {
        if mask.count_ones() as usize != s / 2 {
            continue;
        }
        let is: Vec<f64> = trials.iter().map(|b| sharpe_of(b, mask)).collect();
        let best = (0..n)
            .max_by(|&a, &b| is[a].total_cmp(&is[b]).then(b.cmp(&a)))
            .unwrap_or(0);
        let oos: Vec<f64> = trials.iter().map(|b| sharpe_of(b, full & !mask)).collect();
        let rank = 1 + oos.iter().filter(|&&x| x < oos[best]).count();
        let w = rank as f64 / (n as f64 + 1.0);
        logits.push((w / (1.0 - w)).ln());
    }
    let count = logits.len();
    let over = logits.iter().filter(|&&l| l <= 0.0).count();
    logits.sort_by(f64::total_cmp);
    let median = if count % 2 == 1 {
        logits[count / 2]
    } else {
        (logits[count / 2 - 1] + logits[count / 2]) / 2.0
    };
    Some(Pbo {
        pbo: over as f64 / count as f64,
        blocks: s,
        combinations: count,
        trials: n,
        median_logit: median,
    })
}

/// PBO of a returns matrix (`columns[j]` = trial j's per-bar returns, equal lengths) split
/// into `blocks` blocks.
pub fn pbo_of_returns(columns: &[Vec<f64>], blocks: usize) -> Option<Pbo> {
    let stats: Vec<ReturnStats> = columns.iter().map(|c| ReturnStats::of(c, blocks)).collect();
    let refs: Vec<&[[f64; 3]]> = stats.iter().map(|s| s.blocks.as_slice()).collect();
    pbo(&refs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::SplitMix;

    #[test]
    fn quantile_inverts_the_cdf() {
        for p in [1e-10, 0.001, 0.02, 0.3, 0.5, 0.8, 0.99, 0.999_999] {
            let x = norm_ppf(p);
            assert!((norm_cdf(x) - p).abs() < 1e-13 * p.max(1e-3), "{p}");
        }
        assert!((norm_ppf(0.99) - 2.326_347_874_040_841).abs() < 1e-12);
    }

    /// The paper's worked example (Bailey & López de Prado 2014, section 6): an annualised SR
    /// of 2.5 over 5 years of daily returns (T = 1,250), N = 100 trials whose annualised Sharpe
    /// ratios have variance 0.5, returns with skew −3 and kurtosis 10 → DSR ≈ 0.9004.
    #[test]
    fn deflated_sharpe_matches_the_papers_example() {
        let per_year = 250.0_f64;
        let sr = 2.5 / per_year.sqrt();
        let var = 0.5 / per_year;
        let d = deflated_sharpe(sr, 1250, 100, var, -3.0, 10.0);
        // SR₀ in annual units ≈ 1.7894 (0.1132 per day), as in the paper.
        assert!(
            (d.expected_max_sharpe * per_year.sqrt() - 1.7894).abs() < 1e-3,
            "{d:?}"
        );
        assert!((d.expected_max_sharpe - 0.1132).abs() < 1e-4, "{d:?}");
        assert!((d.dsr - 0.9004).abs() < 5e-4, "{d:?}");
        // More trials deflate more; one trial is the plain PSR against 0.
        assert!(deflated_sharpe(sr, 1250, 1000, var, -3.0, 10.0).dsr < d.dsr);
        let one = deflated_sharpe(sr, 1250, 1, var, -3.0, 10.0);
        assert_eq!(one.expected_max_sharpe, 0.0);
        assert_eq!(one.dsr, probabilistic_sharpe(sr, 0.0, 1250, -3.0, 10.0));
    }

    #[test]
    fn return_stats_of_a_known_series() {
        let r = [0.01, -0.02, 0.03, 0.0, 0.01, -0.01];
        let s = ReturnStats::of(&r, 2);
        assert_eq!(s.n, 6);
        let mean = 0.02 / 6.0;
        let sd = (r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 5.0).sqrt();
        assert!((s.sharpe - mean / sd).abs() < 1e-12);
        assert_eq!(s.blocks.len(), 2);
        assert_eq!(s.blocks[0][0], 3.0);
        assert!((s.blocks[1][1] - 0.0).abs() < 1e-15);
        let flat = ReturnStats::of(&[0.0; 4], 2);
        assert_eq!((flat.sharpe, flat.skew, flat.kurtosis), (0.0, 0.0, 3.0));
        assert!(ReturnStats::of(&[0.1], 4).blocks.is_empty());
    }

    /// CSCV written out directly from the paper on the raw matrix (concatenated rows, two-pass
    /// sample variance, explicit combination list), independent of the block-statistics code.
    fn pbo_reference(m: &[Vec<f64>], s: usize) -> (f64, usize) {
        let t = m[0].len();
        let n = m.len();
        let per = t / s;
        let rows = |b: usize| {
            let end = if b + 1 == s { t } else { (b + 1) * per };
            b * per..end
        };
        let sharpe = |col: &Vec<f64>, blocks: &[usize]| {
            let xs: Vec<f64> = blocks.iter().flat_map(|&b| col[rows(b)].to_vec()).collect();
            let mean = xs.iter().sum::<f64>() / xs.len() as f64;
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (xs.len() as f64 - 1.0);
            mean / var.sqrt()
        };
        // Combinations of s/2 blocks, by recursion.
        fn combos(
            start: usize,
            s: usize,
            k: usize,
            cur: &mut Vec<usize>,
            out: &mut Vec<Vec<usize>>,
        ) {
            if cur.len() == k {
                out.push(cur.clone());
                return;
            }
            for b in start..s {
                cur.push(b);
                combos(b + 1, s, k, cur, out);
                cur.pop();
            }
        }
        let mut all = Vec::new();
        combos(0, s, s / 2, &mut Vec::new(), &mut all);
        let mut below = 0;
        for c in &all {
            let rest: Vec<usize> = (0..s).filter(|b| !c.contains(b)).collect();
            let is: Vec<f64> = m.iter().map(|col| sharpe(col, c)).collect();
            let mut best = 0;
            for j in 1..n {
                if is[j] > is[best] {
                    best = j;
                }
            }
            let oos: Vec<f64> = m.iter().map(|col| sharpe(col, &rest)).collect();
            let worse = oos.iter().filter(|&&x| x < oos[best]).count();
            let w = (worse + 1) as f64 / (n + 1) as f64;
            if (w / (1.0 - w)).ln() <= 0.0 {
                below += 1;
            }
        }
        (below as f64 / all.len() as f64, all.len())
    }

    #[test]
    fn pbo_equals_a_direct_implementation_on_a_seeded_matrix() {
        let seed = 0x5eed_0021;
        eprintln!("pbo matrix seed {seed:#x}");
        let mut r = SplitMix(seed);
        // 12 trials × 803 returns: noise with small, different drifts (some skill, mostly not).
        let m: Vec<Vec<f64>> = (0..12)
            .map(|j| {
                (0..803)
                    .map(|_| 0.0002 * (j as f64 - 6.0) / 6.0 + 0.01 * r.normal())
                    .collect()
            })
            .collect();
        for s in [4, 8, 10] {
            let got = pbo_of_returns(&m, s).unwrap();
            let (want, count) = pbo_reference(&m, s);
            assert_eq!(got.combinations, count);
            assert_eq!(got.pbo, want, "S = {s}");
            assert_eq!(got.trials, 12);
        }
        // Pure noise overfits in some splits (about half on average); a dominant trial never.
        let mut noise: Vec<Vec<f64>> = (0..10)
            .map(|_| (0..800).map(|_| r.normal()).collect())
            .collect();
        let p = pbo_of_returns(&noise, 8).unwrap().pbo;
        assert!(p > 0.0 && p < 1.0, "{p}");
        noise[3] = noise[3].iter().map(|x| x + 1.0).collect();
        assert_eq!(pbo_of_returns(&noise, 8).unwrap().pbo, 0.0);
        assert!(pbo_of_returns(&noise[..1], 8).is_none());
        assert!(pbo_of_returns(&noise, 7).is_none());
    }

    #[test]
    fn return_stats_of_a_curve_are_those_of_its_collected_returns_bit_for_bit() {
        let seed = 0x5eed_0c01;
        eprintln!("curve seed {seed:#x}");
        let mut r = SplitMix(seed);
        for len in [0usize, 1, 2, 3, 7, 16, 17, 100, 1001] {
            // A walk with flat stretches and zero equity (a return of 0 after it).
            let curve: Vec<(i64, f64)> = (0..len)
                .map(|i| {
                    let e = match i % 13 {
                        5 => 0.0,
                        6 | 7 => 100.0,
                        _ => 100.0 + 10.0 * r.normal(),
                    };
                    (i as i64, e)
                })
                .collect();
            let rets: Vec<f64> = curve
                .windows(2)
                .map(|w| {
                    if w[0].1 != 0.0 {
                        w[1].1 / w[0].1 - 1.0
                    } else {
                        0.0
                    }
                })
                .collect();
            for blocks in [0, 2, 4, 16, 2000] {
                let (a, b) = (
                    ReturnStats::of(&rets, blocks),
                    ReturnStats::of_curve(&curve, blocks),
                );
                let bits = |s: &ReturnStats| {
                    let mut v = vec![
                        s.n as u64,
                        s.sharpe.to_bits(),
                        s.skew.to_bits(),
                        s.kurtosis.to_bits(),
                    ];
                    v.extend(s.blocks.iter().flatten().map(|x| x.to_bits()));
                    v
                };
                assert_eq!(bits(&a), bits(&b), "len {len}, blocks {blocks}");
            }
        }
    }
}
