//! Scopes: reports aggregate, a loss breach halts once and turns leases reduce-only, a resume
//! restarts the peak, and bad specs are refused by field.

use super::*;
use crate::portfolio::lease::LeaseRefusal;
use crate::portfolio::limits::PortfolioRule;
use rust_decimal_macros::dec;

const T0: i64 = 1_796_000_000_000;

fn spec(limits: PortfolioLimits) -> ScopeSpec {
    ScopeSpec {
        members: Members::Group {
            bots: vec!["a".into(), "b".into()],
        },
        limits,
        lease_ttl_secs: 10,
    }
}

fn report(btc: Decimal, equity: Decimal) -> BotReport {
    BotReport {
        account: "binance-spot-x".into(),
        exposures: [("BTC".to_string(), btc)].into(),
        equity,
    }
}

#[test]
fn reports_aggregate_and_the_gross_cap_is_leased_out() {
    let limits = PortfolioLimits {
        max_gross: Some(dec!(10000)),
        ..PortfolioLimits::default()
    };
    let mut s = Scope::set("group-a", spec(limits), None).unwrap();
    let a = s
        .report("a", report(dec!(3000), dec!(5000)), dec!(5000), T0)
        .unwrap();
    assert_eq!(a.lease.ceiling, dec!(8000));
    let b = s
        .report("b", report(dec!(-1000), dec!(5000)), dec!(5000), T0)
        .unwrap();
    // 10000 - a's 8000 reserved - b's 1000 held = 1000 more for b.
    assert_eq!(b.lease.ceiling, dec!(2000));
    let v = s.view(T0);
    assert_eq!(
        (v.gross, v.net, v.state.equity),
        (dec!(2000), dec!(2000), dec!(10000))
    );
    assert_eq!(v.state.exposures["BTC"], dec!(2000));
    assert_eq!(v.bots, vec!["a".to_string(), "b".to_string()]);
    assert!(Members::Account {
        account: "binance-spot-x".into()
    }
    .covers("z", "binance-spot-x"));
    assert!(!s.spec.members.covers("z", "binance-spot-x"));
}

#[test]
fn a_daily_loss_breach_halts_once_and_leases_become_reduce_only() {
    let limits = PortfolioLimits {
        max_daily_loss: Some(dec!(500)),
        ..PortfolioLimits::default()
    };
    let mut s = Scope::set("g", spec(limits), None).unwrap();
    s.report("a", report(dec!(1000), dec!(5000)), dec!(100), T0)
        .unwrap();
    s.report("b", report(dec!(0), dec!(5000)), dec!(100), T0)
        .unwrap();
    let r = s
        .report("a", report(dec!(1000), dec!(4600)), dec!(100), T0 + 1)
        .unwrap();
    assert_eq!(r.newly_halted, None);
    let r = s
        .report("b", report(dec!(0), dec!(4900)), dec!(100), T0 + 2)
        .unwrap();
    let breach = r.newly_halted.expect("500 lost today halts");
    assert_eq!(
        (breach.rule, breach.observed),
        (PortfolioRule::MaxDailyLoss, dec!(500))
    );
    assert!(r.lease.halted);
    assert_eq!(
        Lease::admit(Some(&r.lease), dec!(0), dec!(1), T0 + 3),
        Err(LeaseRefusal::Halted)
    );
    // Reported once.
    let again = s
        .report("a", report(dec!(1000), dec!(4500)), dec!(100), T0 + 4)
        .unwrap();
    assert_eq!(again.newly_halted, None);
    assert!(again.lease.halted);
    // A new day starts from the equity then: resumed, nothing lost today.
    s.resume();
    let next_day = T0 + 86_400_000;
    let r = s
        .report("a", report(dec!(1000), dec!(4500)), dec!(100), next_day)
        .unwrap();
    assert_eq!((r.newly_halted, r.lease.halted), (None, false));
    assert_eq!(s.view(next_day).daily_loss, dec!(0));
}

#[test]
fn a_drawdown_breach_halts_and_a_resume_restarts_the_peak() {
    let limits = PortfolioLimits {
        max_drawdown_pct: Some(dec!(20)),
        ..PortfolioLimits::default()
    };
    let mut s = Scope::set("g", spec(limits), None).unwrap();
    s.report("a", report(dec!(0), dec!(10000)), dec!(0), T0)
        .unwrap();
    let r = s
        .report("a", report(dec!(0), dec!(8000)), dec!(0), T0 + 1)
        .unwrap();
    assert_eq!(r.newly_halted.map(|b| b.observed), Some(dec!(20)));
    assert_eq!(s.view(T0 + 1).drawdown_pct, dec!(20));
    s.resume();
    let r = s
        .report("a", report(dec!(0), dec!(7900)), dec!(0), T0 + 2)
        .unwrap();
    assert_eq!(r.newly_halted, None);
    assert_eq!(s.view(T0 + 2).drawdown_pct, dec!(1.25));
}

#[test]
fn bad_specs_are_refused_by_field_and_a_new_spec_keeps_the_reports() {
    let ok = spec(PortfolioLimits::default());
    assert_eq!(
        Scope::set("", ok.clone(), None).unwrap_err(),
        ScopeError::Name
    );
    assert_eq!(
        Scope::set("a b", ok.clone(), None).unwrap_err(),
        ScopeError::Name
    );
    let mut ttl = ok.clone();
    ttl.lease_ttl_secs = 1;
    assert_eq!(Scope::set("g", ttl, None).unwrap_err(), ScopeError::Ttl(1));
    let empty = ScopeSpec {
        members: Members::Group { bots: vec![] },
        ..ok.clone()
    };
    assert_eq!(
        Scope::set("g", empty, None).unwrap_err(),
        ScopeError::EmptyGroup
    );
    let mut s = Scope::set("g", ok.clone(), None).unwrap();
    s.report("a", report(dec!(10), dec!(1)), dec!(0), T0)
        .unwrap();
    let capped = spec(PortfolioLimits {
        max_gross: Some(dec!(100)),
        ..PortfolioLimits::default()
    });
    let s = Scope::set("g", capped, Some(s)).unwrap();
    assert_eq!(s.view(T0).pool.cap, Some(dec!(100)));
    assert_eq!(s.view(T0).gross, dec!(10));
    let json = r#"{"members":{"kind":"platform"},"limits":{"max_gross":"5000"}}"#;
    let parsed: ScopeSpec = serde_json::from_str(json).unwrap();
    assert_eq!(
        (parsed.members, parsed.lease_ttl_secs),
        (Members::Platform, 30)
    );
}

#[test]
fn a_bot_leaving_is_neither_a_drawdown_nor_a_daily_loss() {
    let limits = PortfolioLimits {
        max_drawdown_pct: Some(dec!(10)),
        max_daily_loss: Some(dec!(100)),
        ..PortfolioLimits::default()
    };
    let mut s = Scope::set("g", spec(limits), None).unwrap();
    s.report("a", report(dec!(0), dec!(5000)), dec!(0), T0)
        .unwrap();
    s.report("b", report(dec!(0), dec!(5000)), dec!(0), T0)
        .unwrap();
    s.forget("b");
    let r = s
        .report("a", report(dec!(0), dec!(4990)), dec!(0), T0 + 1)
        .unwrap();
    assert_eq!(r.newly_halted, None);
    let v = s.view(T0 + 1);
    assert_eq!((v.drawdown_pct, v.daily_loss), (dec!(0.2), dec!(10)));
}
