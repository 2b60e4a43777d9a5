//! The leaderboard per source, ranked by a **lower confidence bound of mean R** so that one lucky
//! call cannot lead: a source with a single closed call has no bound and ranks below every source
//! with one. Statistics are `f64` (ranking maths, not money); the R values come from the exact
//! scores of [`super::score`].
//!
//! Bound: one-sided 95 % Student-t, `mean − t(0.95, n−1) · s / √n` over closed calls (stopped or
//! done); expired, pending, open and unscorable calls are counted apart.

use super::score::{CallScore, ScoreStatus};
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One source's line of the leaderboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceStats {
    /// Source id.
    pub source: String,
    /// Calls scored or attempted.
    pub calls: u32,
    /// Closed calls (stopped or done): the sample of mean R.
    pub closed: u32,
    /// Calls that expired unfilled.
    pub expired: u32,
    /// Calls not yet filled, still valid.
    pub pending: u32,
    /// Filled calls still open.
    pub open: u32,
    /// Calls lacking what a score needs.
    pub not_scorable: u32,
    /// Mean R of closed calls.
    pub mean_r: Option<f64>,
    /// One-sided 95 % lower bound of mean R (needs two closed calls).
    pub lcb_r: Option<f64>,
    /// Per target index: share of filled calls having that target that hit it.
    pub hit_rate: Vec<f64>,
    /// Mean time from fill to the first target, over calls that hit it, ms.
    pub mean_time_to_t1_ms: Option<f64>,
}

/// One-sided 95 % Student-t quantile for `df` degrees of freedom (table to 30, then the
/// Cornish–Fisher expansion, accurate to 1e-3 there).
pub fn t95(df: u32) -> f64 {
    const TABLE: [f64; 30] = [
        6.314, 2.920, 2.353, 2.132, 2.015, 1.943, 1.895, 1.860, 1.833, 1.812, 1.796, 1.782, 1.771,
        1.761, 1.753, 1.746, 1.740, 1.734, 1.729, 1.725, 1.721, 1.717, 1.714, 1.711, 1.708, 1.706,
        1.703, 1.701, 1.699, 1.697,
    ];
    if df == 0 {
        return f64::INFINITY;
    }
    if let Some(t) = TABLE.get(df as usize - 1) {
        return *t;
    }
    let z = 1.644_853_626_951_472_2_f64;
    let v = f64::from(df);
    z + (z.powi(3) + z) / (4.0 * v)
        + (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / (96.0 * v * v)
}

/// The leaderboard of `(source, score, number of targets)` rows, best first: by lower bound
/// (sources without one last), then more closed calls, then source id.
pub fn leaderboard(rows: &[(String, CallScore, usize)]) -> Vec<SourceStats> {
    #[derive(Default)]
    struct Acc {
        calls: u32,
        expired: u32,
        pending: u32,
        open: u32,
        not_scorable: u32,
        rs: Vec<f64>,
        has_target: Vec<u32>,
        hit_target: Vec<u32>,
        t1: Vec<f64>,
    }
    let mut by: BTreeMap<&str, Acc> = BTreeMap::new();
    for (source, score, n_targets) in rows {
        let a = by.entry(source.as_str()).or_default();
        a.calls += 1;
        match score.status {
            ScoreStatus::Expired => a.expired += 1,
            ScoreStatus::Pending => a.pending += 1,
            ScoreStatus::NotScorable => a.not_scorable += 1,
            ScoreStatus::Open => a.open += 1,
            ScoreStatus::Stopped | ScoreStatus::Done => {
                if let Some(r) = score.r_multiple.and_then(|r| r.to_f64()) {
                    a.rs.push(r);
                }
            }
        }
        if score.fill_time_ms.is_some() {
            if a.has_target.len() < *n_targets {
                a.has_target.resize(*n_targets, 0);
                a.hit_target.resize(*n_targets, 0);
            }
            for k in 0..*n_targets {
                a.has_target[k] += 1;
                if score.time_to_target_ms.get(k).is_some_and(Option::is_some) {
                    a.hit_target[k] += 1;
                }
            }
            if let Some(Some(t)) = score.time_to_target_ms.first() {
                a.t1.push(*t as f64);
            }
        }
    }
    let mut out: Vec<SourceStats> = by
        .into_iter()
        .map(|(source, a)| {
            let n = a.rs.len();
            let mean = (n > 0).then(|| a.rs.iter().sum::<f64>() / n as f64);
            let lcb = match (mean, n) {
                (Some(m), n) if n >= 2 => {
                    let var = a.rs.iter().map(|r| (r - m).powi(2)).sum::<f64>() / (n - 1) as f64;
                    Some(m - t95(n as u32 - 1) * var.sqrt() / (n as f64).sqrt())
                }
                _ => None,
            };
            SourceStats {
                source: source.to_string(),
                calls: a.calls,
                closed: n as u32,
                expired: a.expired,
                pending: a.pending,
                open: a.open,
                not_scorable: a.not_scorable,
                mean_r: mean,
                lcb_r: lcb,
                hit_rate: a
                    .has_target
                    .iter()
                    .zip(&a.hit_target)
                    .map(|(h, k)| f64::from(*k) / f64::from((*h).max(1)))
                    .collect(),
                mean_time_to_t1_ms: (!a.t1.is_empty())
                    .then(|| a.t1.iter().sum::<f64>() / a.t1.len() as f64),
            }
        })
        .collect();
    out.sort_by(|x, y| {
        let key = |s: &SourceStats| s.lcb_r.unwrap_or(f64::NEG_INFINITY);
        key(y)
            .total_cmp(&key(x))
            .then(y.closed.cmp(&x.closed))
            .then(x.source.cmp(&y.source))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    fn closed(r: i64) -> CallScore {
        CallScore {
            status: if r > 0 {
                ScoreStatus::Done
            } else {
                ScoreStatus::Stopped
            },
            reason: None,
            fill_time_ms: Some(0),
            fill_price: Some(Decimal::ONE),
            exit_time_ms: Some(60_000),
            r_multiple: Some(Decimal::from(r)),
            time_to_target_ms: vec![(r > 0).then_some(60_000)],
            mfe_r: None,
            mae_r: None,
        }
    }

    #[test]
    fn one_lucky_call_cannot_lead() {
        let mut rows = vec![("lucky".to_string(), closed(10), 1)];
        // Steady: R = 1, 1, 2, -1, 1, 1 → mean 0.8333, s = 0.9832, n = 6, t(5) = 2.015:
        // lcb = 0.8333 − 2.015 · 0.9832 / 2.4495 = 0.8333 − 0.8088 = 0.0245 > −∞.
        for r in [1, 1, 2, -1, 1, 1] {
            rows.push(("steady".to_string(), closed(r), 1));
        }
        let mut expired = closed(0);
        expired.status = ScoreStatus::Expired;
        expired.fill_time_ms = None;
        rows.push(("steady".to_string(), expired, 1));
        let board = leaderboard(&rows);
        assert_eq!(board[0].source, "steady");
        assert_eq!(board[0].closed, 6);
        assert_eq!(board[0].expired, 1);
        let lcb = board[0].lcb_r.unwrap();
        assert!((lcb - 0.0245).abs() < 1e-3, "{lcb}");
        assert!((board[0].hit_rate[0] - 5.0 / 6.0).abs() < 1e-12);
        assert_eq!(board[1].source, "lucky");
        assert_eq!(board[1].lcb_r, None);
        assert_eq!(board[1].mean_r, Some(10.0));
    }

    #[test]
    fn the_t_quantile_joins_its_expansion() {
        assert!((t95(30) - 1.697).abs() < 1e-3);
        assert!((t95(31) - 1.696).abs() < 1e-3);
        assert!((t95(120) - 1.658).abs() < 1e-3);
        assert!(t95(100_000) > 1.6448 && t95(100_000) < 1.6450);
    }
}
