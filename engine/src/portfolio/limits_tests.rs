//! Portfolio limits: each exposure rule refuses with its numbers, reduce-only passes everything,
//! loss breaches halt.

use super::limits::*;
use super::risk::RiskModel;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

fn state(exposures: &[(&str, Decimal)]) -> ScopeState {
    ScopeState {
        exposures: exposures.iter().map(|(a, e)| (a.to_string(), *e)).collect(),
        equity: dec!(10000),
        peak_equity: dec!(10000),
        day_start_equity: dec!(10000),
        halted: false,
    }
}

fn entry(asset: &str, delta: Decimal) -> Entry {
    Entry {
        asset: asset.into(),
        delta,
    }
}

#[test]
fn each_exposure_rule_refuses_with_its_limit_and_the_value_after_the_order() {
    let limits = PortfolioLimits {
        max_gross: Some(dec!(20000)),
        max_net: Some(dec!(12000)),
        max_asset_pct: Some(dec!(100)),
        ..PortfolioLimits::default()
    };
    let s = state(&[("BTC", dec!(9000)), ("ETH", dec!(-4000))]);
    assert_eq!(
        check_entry(&limits, &s, &entry("SOL", dec!(7000)), None),
        Ok(())
    );
    assert_eq!(
        check_entry(&limits, &s, &entry("SOL", dec!(7001)), None),
        Err(PortfolioBreach {
            rule: PortfolioRule::MaxGross,
            limit: dec!(20000),
            observed: dec!(20001)
        })
    );
    // Net: 9000 - 4000 + 6000 = 11000 fine; shorting less ETH raises net.
    assert_eq!(
        check_entry(&limits, &s, &entry("ETH", dec!(4000)), None),
        Ok(()),
        "closing the ETH short is a reduction"
    );
    assert_eq!(
        check_entry(&limits, &s, &entry("BTC", dec!(1000)), None),
        Ok(())
    );
    let s2 = state(&[("BTC", dec!(9000)), ("ETH", dec!(2000))]);
    assert_eq!(
        check_entry(&limits, &s2, &entry("SOL", dec!(1001)), None),
        Err(PortfolioBreach {
            rule: PortfolioRule::MaxNet,
            limit: dec!(12000),
            observed: dec!(12001)
        })
    );
    // One asset above 100 % of equity.
    assert_eq!(
        check_entry(&limits, &s, &entry("BTC", dec!(1500)), None),
        Err(PortfolioBreach {
            rule: PortfolioRule::MaxAssetPct,
            limit: dec!(100),
            observed: dec!(105)
        })
    );
}

#[test]
fn reduce_only_passes_everything_also_when_halted_and_a_flip_is_an_entry() {
    let limits = PortfolioLimits {
        max_gross: Some(dec!(1)),
        ..PortfolioLimits::default()
    };
    let mut s = state(&[("BTC", dec!(9000))]);
    s.halted = true;
    assert_eq!(
        check_entry(&limits, &s, &entry("BTC", dec!(-9000)), None),
        Ok(())
    );
    assert_eq!(
        check_entry(&limits, &s, &entry("BTC", dec!(-100)), None),
        Ok(())
    );
    let flip = check_entry(&limits, &s, &entry("BTC", dec!(-9001)), None);
    assert_eq!(flip.unwrap_err().rule, PortfolioRule::Halted);
    assert!(!reduces(&s, &entry("ETH", dec!(-1))));
}

#[test]
fn the_risk_cap_uses_the_model_and_reports_two_decimals() {
    let limits = PortfolioLimits {
        max_risk: Some(dec!(500)),
        ..PortfolioLimits::default()
    };
    let model = RiskModel::uniform(vec!["BTC".into(), "ETH".into()], &[0.03, 0.04], 0.5);
    let s = state(&[("BTC", dec!(10000))]);
    // 300 alone; with 5000 ETH: sqrt(300² + 200² + 2·0.5·300·200) = 435.89…
    assert_eq!(
        check_entry(&limits, &s, &entry("ETH", dec!(5000)), Some(&model)),
        Ok(())
    );
    let err = check_entry(&limits, &s, &entry("ETH", dec!(7000)), Some(&model)).unwrap_err();
    assert_eq!((err.rule, err.limit), (PortfolioRule::MaxRisk, dec!(500)));
    // sqrt(300² + 280² + 300·280) = 502.39…
    assert_eq!(err.observed, dec!(502.39));
}

#[test]
fn loss_breaches_halt_the_scope() {
    let limits = PortfolioLimits {
        max_drawdown_pct: Some(dec!(10)),
        max_daily_loss: Some(dec!(500)),
        ..PortfolioLimits::default()
    };
    let mut s = state(&[]);
    s.peak_equity = dec!(12000);
    s.equity = dec!(10900);
    assert_eq!(halt_breach(&limits, &s), None);
    s.equity = dec!(10800);
    assert_eq!(
        halt_breach(&limits, &s),
        Some(PortfolioBreach {
            rule: PortfolioRule::MaxDrawdownPct,
            limit: dec!(10),
            observed: dec!(10)
        })
    );
    let mut s = state(&[]);
    s.equity = dec!(9500);
    assert_eq!(
        halt_breach(&limits, &s).map(|b| (b.rule, b.observed)),
        Some((PortfolioRule::MaxDailyLoss, dec!(500)))
    );
}

#[test]
fn limits_are_validated_by_field() {
    let bad = PortfolioLimits {
        max_asset_pct: Some(dec!(150)),
        ..PortfolioLimits::default()
    };
    assert_eq!(
        bad.validate(),
        Err(LimitsError::OverHundred {
            field: "max_asset_pct",
            value: dec!(150)
        })
    );
    let bad = PortfolioLimits {
        max_gross: Some(dec!(0)),
        ..PortfolioLimits::default()
    };
    assert_eq!(
        bad.validate(),
        Err(LimitsError::NotPositive {
            field: "max_gross",
            value: dec!(0)
        })
    );
    assert!(serde_json::from_str::<PortfolioLimits>(r#"{"max_gros": "1"}"#).is_err());
}
