//! The correlation-aware risk figure of a scope: the volatility (one period of the model's
//! returns, in quote currency) of what it holds, from a shrunk covariance of the assets' returns.
//!
//! It is deliberately **conservative about hedges**: exposures enter by magnitude, so the figure
//! is `sqrt(|e|ᵀ Σ |e|)` — at correlation 1 the sum `Σ |e_i| σ_i`, at correlation 0 the root of
//! `Σ (e_i σ_i)²` — and a long/short pair is never credited with cancelling out. Correlations
//! measured in calm markets break in stress, which is exactly when a cap has to hold; the net
//! exposure cap (`max_net` of the portfolio limits) covers direction.
//!
//! Assets the model does not know are charged the model's highest volatility with correlation 1
//! to everything: an unknown asset can only make the figure larger.

use super::covariance::{ledoit_wolf, CovarianceError};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// A risk model: assets and the covariance of their per-period returns.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskModel {
    /// Asset names, in the covariance's order.
    pub assets: Vec<String>,
    /// `assets.len()²` covariance of returns.
    pub cov: Vec<Vec<f64>>,
}

impl RiskModel {
    /// Builds the model from per-period returns (`returns[k][i]`: period `k`, asset `i`) with
    /// Ledoit–Wolf shrinkage.
    ///
    /// # Errors
    /// As [`ledoit_wolf`].
    pub fn from_returns(
        assets: Vec<String>,
        returns: &[Vec<f64>],
    ) -> Result<Self, CovarianceError> {
        let shrunk = ledoit_wolf(returns)?;
        Ok(Self {
            assets,
            cov: shrunk.cov,
        })
    }

    /// A model from volatilities and one correlation for every pair (tests, and operators who
    /// state a stress correlation instead of estimating one).
    pub fn uniform(assets: Vec<String>, vols: &[f64], correlation: f64) -> Self {
        let cov = vols
            .iter()
            .enumerate()
            .map(|(i, si)| {
                vols.iter()
                    .enumerate()
                    .map(|(j, sj)| {
                        if i == j {
                            si * si
                        } else {
                            correlation * si * sj
                        }
                    })
                    .collect()
            })
            .collect();
        Self { assets, cov }
    }

    fn vol(&self, i: usize) -> f64 {
        self.cov[i][i].max(0.0).sqrt()
    }
}

/// Exposure as statistics input (f64): the risk figure is not money.
pub(crate) fn as_f64(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

/// `sqrt(|e|ᵀ Σ |e|)` over the exposures (quote currency), see the module doc.
pub fn portfolio_risk(model: &RiskModel, exposures: &BTreeMap<String, Decimal>) -> f64 {
    let index: BTreeMap<&str, usize> = model
        .assets
        .iter()
        .enumerate()
        .map(|(i, a)| (a.as_str(), i))
        .collect();
    let worst = (0..model.assets.len())
        .map(|i| model.vol(i))
        .fold(0.0_f64, f64::max);
    // (magnitude, model index or None for an unknown asset)
    let held: Vec<(f64, Option<usize>)> = exposures
        .iter()
        .filter(|(_, e)| !e.is_zero())
        .map(|(a, e)| (as_f64(e.abs()), index.get(a.as_str()).copied()))
        .collect();
    let sigma = |x: &Option<usize>| x.map_or(worst, |i| model.vol(i));
    let mut var = 0.0;
    for (ei, xi) in &held {
        for (ej, xj) in &held {
            let c = match (xi, xj) {
                (Some(i), Some(j)) => model.cov[*i][*j],
                // Unknown asset: correlation 1 at the worst volatility.
                _ => sigma(xi) * sigma(xj),
            };
            var += ei * ej * c;
        }
    }
    var.max(0.0).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal::prelude::FromPrimitive;

    fn exposures(values: &[f64]) -> BTreeMap<String, Decimal> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("A{i}"), Decimal::from_f64(*v).unwrap().round_dp(2)))
            .collect()
    }

    fn model(vols: &[f64], corr: f64) -> RiskModel {
        RiskModel::uniform(
            (0..vols.len()).map(|i| format!("A{i}")).collect(),
            vols,
            corr,
        )
    }

    proptest! {
        #![proptest_config(crate::prop_seed::config(300))]

        /// At correlation 1 the figure is Σ|wσ|; at correlation 0 it is √Σ(wσ)².
        #[test]
        fn the_cap_is_the_sum_at_correlation_one_and_the_root_sum_of_squares_at_zero(
            raw in proptest::collection::vec((-1.0e6_f64..1.0e6, 0.001_f64..0.2), 1..8),
        ) {
            let (values, vols): (Vec<f64>, Vec<f64>) = raw.into_iter().unzip();
            let e = exposures(&values);
            let w: Vec<f64> = e.values().map(|d| as_f64(*d)).collect();
            let sum_abs: f64 = w.iter().zip(&vols).map(|(w, s)| (w * s).abs()).sum();
            let rss: f64 = w.iter().zip(&vols).map(|(w, s)| (w * s).powi(2)).sum::<f64>().sqrt();
            let one = portfolio_risk(&model(&vols, 1.0), &e);
            let zero = portfolio_risk(&model(&vols, 0.0), &e);
            prop_assert!((one - sum_abs).abs() <= 1e-9 * sum_abs.max(1.0), "{one} vs {sum_abs}");
            prop_assert!((zero - rss).abs() <= 1e-9 * rss.max(1.0), "{zero} vs {rss}");
            // In between, in between.
            let half = portfolio_risk(&model(&vols, 0.5), &e);
            prop_assert!(half >= zero - 1e-9 * rss.max(1.0) && half <= one + 1e-9 * sum_abs.max(1.0));
        }
    }

    #[test]
    fn an_unknown_asset_is_charged_the_worst_volatility_fully_correlated() {
        let m = model(&[0.01, 0.05], 0.0);
        let mut e = exposures(&[1000.0, 0.0]);
        e.insert("NEW".into(), Decimal::from(2000));
        // |1000·0.01| and |2000·0.05| fully correlated with each other.
        let got = portfolio_risk(&m, &e);
        assert!((got - (10.0 + 100.0)).abs() < 1e-9, "{got}");
    }
}
