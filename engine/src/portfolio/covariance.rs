//! The covariance of assets' (or bots') returns, shrunk toward a scaled identity by the
//! Ledoit–Wolf (2004) rule: with a few weeks of daily returns and a dozen assets, the sample
//! covariance is too noisy to divide by or to trust for "these two hedge each other"; the shrunk
//! one is well conditioned and its shrinkage intensity is estimated from the data, not tuned.
//!
//! Statistics, not money: f64 throughout.

use thiserror::Error;

/// Why a covariance cannot be estimated.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CovarianceError {
    /// Fewer than two observations.
    #[error("need at least 2 observations of returns, got {0}")]
    TooFewObservations(usize),
    /// No series.
    #[error("need at least one series of returns")]
    NoSeries,
    /// Rows of different lengths.
    #[error("observation {row} has {got} values, expected {expected}")]
    Ragged {
        /// The row.
        row: usize,
        /// Its length.
        got: usize,
        /// The first row's length.
        expected: usize,
    },
    /// A NaN or infinite return.
    #[error("observation {row}, series {col} is not a finite number")]
    NotFinite {
        /// The row.
        row: usize,
        /// The column.
        col: usize,
    },
}

/// A shrunk covariance matrix and the intensity used.
#[derive(Debug, Clone, PartialEq)]
pub struct Shrunk {
    /// `p × p`, symmetric, positive definite when any series varies.
    pub cov: Vec<Vec<f64>>,
    /// Weight of the scaled identity target, in `[0, 1]`.
    pub shrinkage: f64,
}

/// Ledoit–Wolf shrinkage of the (mean-centred, divided by `n`) sample covariance of `returns`
/// (`n` observations × `p` series) toward `mu·I`, `mu` the average variance.
///
/// # Errors
/// Too few observations, ragged rows or non-finite values.
pub fn ledoit_wolf(returns: &[Vec<f64>]) -> Result<Shrunk, CovarianceError> {
    let n = returns.len();
    if n < 2 {
        return Err(CovarianceError::TooFewObservations(n));
    }
    let p = returns[0].len();
    if p == 0 {
        return Err(CovarianceError::NoSeries);
    }
    for (row, r) in returns.iter().enumerate() {
        if r.len() != p {
            return Err(CovarianceError::Ragged {
                row,
                got: r.len(),
                expected: p,
            });
        }
        if let Some(col) = r.iter().position(|x| !x.is_finite()) {
            return Err(CovarianceError::NotFinite { row, col });
        }
    }
    let nf = n as f64;
    let pf = p as f64;
    let means: Vec<f64> = (0..p)
        .map(|j| returns.iter().map(|r| r[j]).sum::<f64>() / nf)
        .collect();
    let x: Vec<Vec<f64>> = returns
        .iter()
        .map(|r| r.iter().zip(&means).map(|(v, m)| v - m).collect())
        .collect();
    let mut s = vec![vec![0.0; p]; p];
    for r in &x {
        for i in 0..p {
            for j in 0..p {
                s[i][j] += r[i] * r[j];
            }
        }
    }
    for row in &mut s {
        for v in row.iter_mut() {
            *v /= nf;
        }
    }
    let mu = (0..p).map(|i| s[i][i]).sum::<f64>() / pf;
    // delta: squared distance of S from the target, per series.
    let mut delta = 0.0;
    for (i, row) in s.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            let d = if i == j { v - mu } else { *v };
            delta += d * d;
        }
    }
    delta /= pf;
    // beta: how much of that distance is estimation noise (average squared deviation of the
    // observations' outer products from S), capped by delta.
    let mut beta = 0.0;
    for r in &x {
        for i in 0..p {
            for j in 0..p {
                let d = r[i] * r[j] - s[i][j];
                beta += d * d;
            }
        }
    }
    beta /= nf * nf * pf;
    let beta = beta.min(delta);
    let shrinkage = if delta > 0.0 { beta / delta } else { 0.0 };
    let cov = s
        .iter()
        .enumerate()
        .map(|(i, row)| {
            row.iter()
                .enumerate()
                .map(|(j, v)| {
                    let target = if i == j { mu } else { 0.0 };
                    (1.0 - shrinkage) * v + shrinkage * target
                })
                .collect()
        })
        .collect();
    Ok(Shrunk { cov, shrinkage })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Golden values computed with scikit-learn 1.5 `sklearn.covariance.ledoit_wolf` (the
    /// reference implementation of the 2004 paper) on this matrix.
    #[test]
    fn matches_the_reference_implementation() {
        let returns = vec![
            vec![0.010, -0.020, 0.005],
            vec![-0.004, 0.012, 0.001],
            vec![0.021, -0.011, 0.009],
            vec![-0.015, 0.007, -0.012],
            vec![0.003, 0.001, 0.002],
            vec![0.008, -0.014, 0.004],
        ];
        let got = ledoit_wolf(&returns).unwrap();
        let (want_cov, want_shrinkage) = super::golden::expected();
        assert!(
            (got.shrinkage - want_shrinkage).abs() < 1e-12,
            "{}",
            got.shrinkage
        );
        for (i, (row, want_row)) in got.cov.iter().zip(&want_cov).enumerate() {
            for (j, (v, want)) in row.iter().zip(want_row).enumerate() {
                assert!((v - want).abs() < 1e-15, "cov[{i}][{j}] = {v} want {want}");
            }
        }
    }

    #[test]
    fn bad_input_is_named() {
        assert_eq!(
            ledoit_wolf(&[vec![1.0]]),
            Err(CovarianceError::TooFewObservations(1))
        );
        assert_eq!(
            ledoit_wolf(&[vec![1.0, 2.0], vec![1.0]]),
            Err(CovarianceError::Ragged {
                row: 1,
                got: 1,
                expected: 2
            })
        );
        assert_eq!(
            ledoit_wolf(&[vec![1.0], vec![f64::NAN]]),
            Err(CovarianceError::NotFinite { row: 1, col: 0 })
        );
        // Constant series: zero covariance, no shrinkage, no division by zero.
        let flat = ledoit_wolf(&[vec![1.0, 2.0], vec![1.0, 2.0]]).unwrap();
        assert_eq!(flat.shrinkage, 0.0);
        assert_eq!(flat.cov, vec![vec![0.0, 0.0], vec![0.0, 0.0]]);
    }
}

#[cfg(test)]
#[path = "covariance_golden.rs"]
mod golden;
