//! Allocation rules: equal risk is inverse volatility under equal correlations, every risk
//! contribution is equal in general, Kelly caps, and proposals add up to the capital exactly.

use super::*;
use proptest::prelude::*;
use rust_decimal_macros::dec;

fn bots(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("bot-{i}")).collect()
}

fn uniform_cov(vols: &[f64], rho: f64) -> Vec<Vec<f64>> {
    vols.iter()
        .enumerate()
        .map(|(i, a)| {
            vols.iter()
                .enumerate()
                .map(|(j, b)| if i == j { a * a } else { rho * a * b })
                .collect()
        })
        .collect()
}

fn request(rule: Rule, vols: &[f64], cov: Option<Vec<Vec<f64>>>) -> Request {
    Request {
        rule,
        bots: bots(vols.len()),
        stats: vols
            .iter()
            .map(|v| BotStats {
                mean: 0.001,
                vol: *v,
            })
            .collect(),
        cov,
        kelly_fraction: None,
    }
}

proptest! {
    #![proptest_config(crate::prop_seed::config(300))]

    /// With every pair equally correlated, equal risk contribution is inverse volatility.
    #[test]
    fn equal_risk_is_inverse_volatility_when_correlations_are_equal(
        vols in proptest::collection::vec(0.002_f64..0.2, 2..8),
        rho in -0.1_f64..0.95,
    ) {
        let w = weights(&request(Rule::EqualRisk, &vols, Some(uniform_cov(&vols, rho)))).unwrap();
        let inv: Vec<f64> = vols.iter().map(|v| 1.0 / v).collect();
        let total: f64 = inv.iter().sum();
        for (wi, ii) in w.iter().zip(&inv) {
            prop_assert!((wi - ii / total).abs() < 1e-9, "{w:?} vs inverse vol");
        }
    }

    /// In general (a random positive definite covariance) every bot's risk contribution
    /// `w_i (Σw)_i` is the same.
    #[test]
    fn equal_risk_contributions_are_equal(
        factors in proptest::collection::vec(proptest::collection::vec(-0.05_f64..0.05, 4), 2..6),
        idio in proptest::collection::vec(0.001_f64..0.05, 6),
    ) {
        let n = factors.len();
        // Σ = F Fᵀ + diag(idio²): positive definite.
        let cov: Vec<Vec<f64>> = (0..n)
            .map(|i| {
                (0..n)
                    .map(|j| {
                        let f: f64 = factors[i].iter().zip(&factors[j]).map(|(a, b)| a * b).sum();
                        if i == j { f + idio[i] * idio[i] } else { f }
                    })
                    .collect()
            })
            .collect();
        let vols: Vec<f64> = (0..n).map(|i| cov[i][i].sqrt()).collect();
        let w = weights(&request(Rule::EqualRisk, &vols, Some(cov.clone()))).unwrap();
        let rc: Vec<f64> = (0..n)
            .map(|i| w[i] * (0..n).map(|j| cov[i][j] * w[j]).sum::<f64>())
            .collect();
        let mean = rc.iter().sum::<f64>() / n as f64;
        for r in &rc {
            prop_assert!((r - mean).abs() <= 1e-9 * mean, "{rc:?}");
        }
        prop_assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    /// A proposal's targets are multiples of the step and add up to the capital exactly.
    #[test]
    fn proposals_add_up_to_the_capital_exactly(
        raw in proptest::collection::vec(0.01_f64..10.0, 1..9),
        cents in 1_u64..100_000_000,
    ) {
        let capital = Decimal::new(i64::try_from(cents).unwrap(), 2);
        let w = normalised(raw);
        let names = bots(w.len());
        let p = propose(capital, dec!(0.01), &names, &w, &BTreeMap::new()).unwrap();
        let sum: Decimal = p.targets.values().copied().sum();
        prop_assert_eq!(sum, capital);
        prop_assert_eq!(p.unallocated, Decimal::ZERO);
        for t in p.targets.values() {
            prop_assert_eq!(t.round_dp(2), *t);
        }
    }
}

#[test]
fn vol_target_scales_down_only_when_it_asks_for_more_than_everything() {
    let w = weights(&request(
        Rule::VolTarget { target: 0.01 },
        &[0.02, 0.05],
        None,
    ))
    .unwrap();
    assert!(
        (w[0] - 0.5).abs() < 1e-12 && (w[1] - 0.2).abs() < 1e-12,
        "{w:?}"
    );
    let w = weights(&request(
        Rule::VolTarget { target: 0.02 },
        &[0.02, 0.02],
        None,
    ))
    .unwrap();
    assert!(
        (w[0] - 0.5).abs() < 1e-12 && (w[1] - 0.5).abs() < 1e-12,
        "{w:?}"
    );
}

#[test]
fn kelly_caps_and_zeroes_bots_without_an_edge() {
    let mut req = request(
        Rule::Fixed {
            weights: [("bot-0".to_string(), 1.0), ("bot-1".to_string(), 1.0)].into(),
        },
        &[0.1, 0.1],
        None,
    );
    req.stats[0].mean = 0.002; // half Kelly: 0.5 · 0.002 / 0.01 = 0.1
    req.stats[1].mean = -0.001;
    req.kelly_fraction = Some(0.5);
    let w = weights(&req).unwrap();
    assert!((w[0] - 0.1).abs() < 1e-12 && w[1] == 0.0, "{w:?}");
    // The unallocated rest is reported, not spread.
    let current: BTreeMap<String, Decimal> = [("bot-0".to_string(), dec!(300))].into();
    let p = propose(dec!(1000), dec!(0.01), &req.bots, &w, &current).unwrap();
    assert_eq!(p.targets["bot-0"], dec!(100));
    assert_eq!(p.targets["bot-1"], dec!(0));
    assert_eq!(p.transfers["bot-0"], dec!(-200));
    assert_eq!(p.unallocated, dec!(900));
}

#[test]
fn bad_requests_name_what_is_wrong() {
    let fixed = Rule::Fixed {
        weights: [("bot-0".to_string(), 1.0)].into(),
    };
    assert_eq!(
        weights(&request(fixed, &[0.1, 0.1], None)),
        Err(AllocationError::NotPositive {
            what: "weight",
            bot: "bot-1".into()
        })
    );
    assert_eq!(
        weights(&request(Rule::EqualRisk, &[0.1], None)),
        Err(AllocationError::NoCovariance)
    );
    assert_eq!(
        weights(&request(Rule::VolTarget { target: 0.1 }, &[0.0], None)),
        Err(AllocationError::NotPositive {
            what: "vol",
            bot: "bot-0".into()
        })
    );
    assert_eq!(
        propose(dec!(0), dec!(0.01), &bots(1), &[1.0], &BTreeMap::new()),
        Err(AllocationError::Money("capital"))
    );
}

#[test]
fn statistics_come_from_the_periods_every_curve_has() {
    let a = vec![(1, 100.0), (2, 110.0), (3, 99.0), (4, 108.9)];
    // b misses time 2: returns over 1→3 and 3→4 only.
    let b = vec![(1, 50.0), (3, 55.0), (4, 55.0)];
    let (stats, cov) = stats_from_curves(&[a, b]).unwrap();
    // a: 99/100 - 1 = -0.01, 108.9/99 - 1 = 0.1; b: 0.1, 0.
    assert!((stats[0].mean - 0.045).abs() < 1e-12, "{stats:?}");
    assert!((stats[1].mean - 0.05).abs() < 1e-12);
    assert!((stats[0].vol - 0.055).abs() < 1e-12);
    assert_eq!(cov.len(), 2);
    assert_eq!(
        stats_from_curves(&[vec![(1, 1.0), (2, 1.0)]]),
        Err(AllocationError::History(2))
    );
    assert_eq!(
        stats_from_curves(&[vec![(1, 1.0), (2, 0.0), (3, 1.0)]]),
        Err(AllocationError::History(0))
    );
}
