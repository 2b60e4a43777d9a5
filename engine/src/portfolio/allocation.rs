//! Capital allocation rules: target capital per bot, proposed to the operator and never moved
//! silently (an accepted proposal becomes the capital transfers the ledger already records).
//!
//! The rules compute *weights* (statistics, f64) from the bots' return history; only the
//! proposal turns them into money, exactly: targets are whole multiples of a step (a cent, say)
//! that add up to the capital allocated, by the largest-remainder rule.
//! - [`Rule::Fixed`]: the operator's weights, normalised.
//! - [`Rule::VolTarget`]: each bot gets `target / σ` of the capital (so each contributes about
//!   the target volatility), scaled down together if that asks for more than everything.
//! - [`Rule::EqualRisk`]: equal risk contribution over the covariance (each bot's `w_i (Σw)_i`
//!   equal), solved by cyclical coordinate descent; with equal correlations it is inverse
//!   volatility.
//! - A fractional-Kelly cap ([`Request::kelly_fraction`]) bounds any rule's weight by
//!   `k · μ / σ²`; a bot with no positive mean return gets nothing.

use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use thiserror::Error;

/// One bot's statistics over the history the rule looks at (per-period returns of its capital).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BotStats {
    /// Mean per-period return.
    pub mean: f64,
    /// Per-period volatility.
    pub vol: f64,
}

/// An allocation rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Rule {
    /// The operator's weights (any positive scale; normalised).
    Fixed {
        /// Weight per bot.
        weights: BTreeMap<String, f64>,
    },
    /// Per-bot volatility target (per period, as a fraction of capital).
    VolTarget {
        /// Target volatility.
        target: f64,
    },
    /// Equal risk contribution over the covariance of the bots' returns.
    EqualRisk,
}

/// What to allocate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// The rule.
    pub rule: Rule,
    /// Bots, in the covariance's order.
    pub bots: Vec<String>,
    /// Their statistics (same order).
    pub stats: Vec<BotStats>,
    /// Covariance of their returns (same order); required by [`Rule::EqualRisk`].
    #[serde(default)]
    pub cov: Option<Vec<Vec<f64>>>,
    /// Fractional-Kelly cap `k` (e.g. 0.5 for half Kelly); none = no cap.
    #[serde(default)]
    pub kelly_fraction: Option<f64>,
}

/// Why no allocation can be computed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AllocationError {
    /// Lists of different lengths.
    #[error("{what} has {got} entries for {bots} bots")]
    Mismatch {
        /// Which list.
        what: &'static str,
        /// Its length.
        got: usize,
        /// Number of bots.
        bots: usize,
    },
    /// A volatility, weight or target that must be positive and finite is not.
    #[error("{what} of {bot} must be a positive finite number")]
    NotPositive {
        /// Which number.
        what: &'static str,
        /// The bot (or the rule's field).
        bot: String,
    },
    /// Equal risk needs a covariance.
    #[error("equal_risk needs the covariance of the bots' returns")]
    NoCovariance,
    /// The solver did not converge (a covariance that is not positive definite).
    #[error("equal-risk weights did not converge (is the covariance positive definite?)")]
    NoConvergence,
    /// No bots.
    #[error("no bots to allocate to")]
    Empty,
    /// Not enough common history (or a non-positive performance index).
    #[error("the bots share {0} usable points of performance history; 3 or more are needed")]
    History(usize),
    /// The capital or step is not positive.
    #[error("{0} must be positive")]
    Money(&'static str),
}

/// Each bot's statistics and the shrunk covariance of their returns, from their performance
/// index curves (`[(time, index)]`, transfers already taken out, as the analytics view gives
/// them). Returns are taken between consecutive times present in *every* curve, so bots are
/// compared over the same periods.
///
/// # Errors
/// Fewer than 3 common times (2 returns), a non-positive index, or no curves.
pub fn stats_from_curves(
    curves: &[Vec<(i64, f64)>],
) -> Result<(Vec<BotStats>, Vec<Vec<f64>>), AllocationError> {
    let first = curves.first().ok_or(AllocationError::Empty)?;
    let common: Vec<i64> = first
        .iter()
        .map(|(t, _)| *t)
        .filter(|t| curves[1..].iter().all(|c| c.iter().any(|(u, _)| u == t)))
        .collect();
    if common.len() < 3 {
        return Err(AllocationError::History(common.len()));
    }
    let mut returns: Vec<Vec<f64>> = vec![Vec::with_capacity(curves.len()); common.len() - 1];
    for curve in curves {
        let values: BTreeMap<i64, f64> = curve.iter().copied().collect();
        for (k, pair) in common.windows(2).enumerate() {
            let (Some(&a), Some(&b)) = (values.get(&pair[0]), values.get(&pair[1])) else {
                return Err(AllocationError::History(0));
            };
            if !(a.is_finite() && b.is_finite() && a > 0.0 && b > 0.0) {
                return Err(AllocationError::History(0));
            }
            returns[k].push(b / a - 1.0);
        }
    }
    let n = returns.len() as f64;
    let stats = (0..curves.len())
        .map(|i| {
            let mean = returns.iter().map(|r| r[i]).sum::<f64>() / n;
            let var = returns.iter().map(|r| (r[i] - mean).powi(2)).sum::<f64>() / n;
            BotStats {
                mean,
                vol: var.sqrt(),
            }
        })
        .collect();
    let cov = crate::portfolio::covariance::ledoit_wolf(&returns)
        .map_err(|_| AllocationError::History(0))?
        .cov;
    Ok((stats, cov))
}

/// Weights per bot (fractions of the capital; they add up to at most 1).
pub fn weights(req: &Request) -> Result<Vec<f64>, AllocationError> {
    let n = req.bots.len();
    if n == 0 {
        return Err(AllocationError::Empty);
    }
    if req.stats.len() != n {
        return Err(AllocationError::Mismatch {
            what: "stats",
            got: req.stats.len(),
            bots: n,
        });
    }
    let positive = |what: &'static str, bot: &str, x: f64| {
        if x.is_finite() && x > 0.0 {
            Ok(x)
        } else {
            Err(AllocationError::NotPositive {
                what,
                bot: bot.to_string(),
            })
        }
    };
    let mut w = match &req.rule {
        Rule::Fixed { weights } => {
            let raw = req
                .bots
                .iter()
                .map(|b| positive("weight", b, weights.get(b).copied().unwrap_or(f64::NAN)))
                .collect::<Result<Vec<_>, _>>()?;
            normalised(raw)
        }
        Rule::VolTarget { target } => {
            positive("target", "vol_target", *target)?;
            let raw = req
                .bots
                .iter()
                .zip(&req.stats)
                .map(|(b, s)| positive("vol", b, s.vol).map(|v| target / v))
                .collect::<Result<Vec<_>, _>>()?;
            let total: f64 = raw.iter().sum();
            if total > 1.0 {
                normalised(raw)
            } else {
                raw
            }
        }
        Rule::EqualRisk => {
            let cov = req.cov.as_ref().ok_or(AllocationError::NoCovariance)?;
            if cov.len() != n || cov.iter().any(|r| r.len() != n) {
                return Err(AllocationError::Mismatch {
                    what: "cov",
                    got: cov.len(),
                    bots: n,
                });
            }
            for (i, b) in req.bots.iter().enumerate() {
                positive("variance", b, cov[i][i])?;
            }
            equal_risk(cov)?
        }
    };
    if let Some(k) = req.kelly_fraction {
        positive("kelly_fraction", "kelly_fraction", k)?;
        for ((wi, s), b) in w.iter_mut().zip(&req.stats).zip(&req.bots) {
            let vol = positive("vol", b, s.vol)?;
            let kelly = (k * s.mean / (vol * vol)).max(0.0);
            *wi = wi.min(kelly);
        }
    }
    Ok(w)
}

fn normalised(raw: Vec<f64>) -> Vec<f64> {
    let total: f64 = raw.iter().sum();
    raw.into_iter().map(|x| x / total).collect()
}

/// Equal risk contribution weights (normalised to 1) by cyclical coordinate descent: each
/// coordinate solves `Σ_ii x_i² + (Σ_{j≠i} Σ_ij x_j) x_i = 1/n` exactly.
fn equal_risk(cov: &[Vec<f64>]) -> Result<Vec<f64>, AllocationError> {
    let n = cov.len();
    let b = 1.0 / n as f64;
    let mut x: Vec<f64> = (0..n).map(|i| 1.0 / cov[i][i].sqrt()).collect();
    for _ in 0..10_000 {
        let mut moved = 0.0_f64;
        for i in 0..n {
            let c: f64 = (0..n).filter(|j| *j != i).map(|j| cov[i][j] * x[j]).sum();
            let a = cov[i][i];
            let next = (-c + (c * c + 4.0 * a * b).sqrt()) / (2.0 * a);
            if !next.is_finite() || next <= 0.0 {
                return Err(AllocationError::NoConvergence);
            }
            moved = moved.max((next - x[i]).abs() / next);
            x[i] = next;
        }
        if moved < 1e-14 {
            return Ok(normalised(x));
        }
    }
    Err(AllocationError::NoConvergence)
}

/// Whole units in `x` units, forgiving float noise: a weight of 0.1 computed as 0.0999… still
/// gives a tenth (the noise is far below a unit; weights are statistics).
fn whole_units(x: f64) -> u64 {
    (x + x.abs() * 1e-12 + 1e-9).floor().max(0.0) as u64
}

/// A rebalancing proposal: target capital per bot and the transfers that reach it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Proposal {
    /// Target capital per bot (multiples of the step).
    pub targets: BTreeMap<String, Decimal>,
    /// Target minus current, per bot (positive: capital in).
    pub transfers: BTreeMap<String, Decimal>,
    /// Capital left unallocated (weights adding up to less than 1, and the step's remainder).
    pub unallocated: Decimal,
}

/// Turns weights into money: `capital` split by `weights` in multiples of `step`, the rounding
/// remainder going to the largest fractional parts (ties to the earlier bot), against the bots'
/// `current` capital.
///
/// # Errors
/// A non-positive capital or step, or lists of different lengths.
pub fn propose(
    capital: Decimal,
    step: Decimal,
    bots: &[String],
    weights: &[f64],
    current: &BTreeMap<String, Decimal>,
) -> Result<Proposal, AllocationError> {
    if capital <= Decimal::ZERO {
        return Err(AllocationError::Money("capital"));
    }
    if step <= Decimal::ZERO {
        return Err(AllocationError::Money("step"));
    }
    if weights.len() != bots.len() {
        return Err(AllocationError::Mismatch {
            what: "weights",
            got: weights.len(),
            bots: bots.len(),
        });
    }
    let units = capital
        .checked_div(step)
        .map(|u| u.floor())
        .and_then(|u| u.to_u64())
        .ok_or(AllocationError::Money("capital / step"))?;
    let total_w: f64 = weights.iter().map(|w| w.max(0.0)).sum();
    // Weights adding up to 1 within float noise allocate everything.
    let to_give = if (total_w - 1.0).abs() < 1e-9 {
        units
    } else {
        whole_units(total_w.min(1.0) * units as f64).min(units)
    };
    let exact: Vec<f64> = weights.iter().map(|w| w.max(0.0) * units as f64).collect();
    let mut given: Vec<u64> = exact.iter().map(|e| whole_units(*e)).collect();
    // The float nudge may give one unit too many in all: take it back where it was least due.
    while given.iter().sum::<u64>() > to_give {
        let Some(i) = (0..given.len()).filter(|i| given[*i] > 0).min_by(|a, b| {
            (exact[*a] - given[*a] as f64).total_cmp(&(exact[*b] - given[*b] as f64))
        }) else {
            break;
        };
        given[i] -= 1;
    }
    let mut left = to_give.saturating_sub(given.iter().sum());
    let mut order: Vec<usize> = (0..bots.len()).collect();
    order.sort_by(|a, b| {
        let fa = exact[*a] - given[*a] as f64;
        let fb = exact[*b] - given[*b] as f64;
        fb.total_cmp(&fa).then(a.cmp(b))
    });
    for i in order.iter().cycle().take(order.len()) {
        if left == 0 {
            break;
        }
        given[*i] += 1;
        left -= 1;
    }
    let mut targets = BTreeMap::new();
    let mut transfers = BTreeMap::new();
    let mut allocated = Decimal::ZERO;
    for (bot, u) in bots.iter().zip(&given) {
        let target = Decimal::from_u64(*u)
            .and_then(|u| u.checked_mul(step))
            .ok_or(AllocationError::Money("capital / step"))?;
        allocated = allocated.saturating_add(target);
        let now = current.get(bot).copied().unwrap_or_default();
        transfers.insert(bot.clone(), target.saturating_sub(now));
        targets.insert(bot.clone(), target);
    }
    Ok(Proposal {
        targets,
        transfers,
        unallocated: capital.saturating_sub(allocated),
    })
}

#[cfg(test)]
#[path = "allocation_tests.rs"]
mod tests;
