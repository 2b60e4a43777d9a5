//! Live analytics: the attribution adds up to the ledger's net exactly (a hand-checked futures
//! sequence with the exchange's own realized P&L, and 200 seeded random histories), equity is
//! resampled as stated, and the ratios are the backtest report's.

use super::*;
use crate::ledger::scenarios::{booking, config, fill, futures_sequence, H, T0};
use crate::model::{Market, Side};
use rust_decimal_macros::dec;

fn tagged(e: LedgerEntry, tag: &str) -> LedgerEntry {
    match e {
        LedgerEntry::Fill(mut b) => {
            b.strategy = Some(tag.to_string());
            LedgerEntry::Fill(b)
        }
        other => other,
    }
}

#[test]
fn the_futures_sequence_is_attributed_to_its_hours_and_strategies_exactly() {
    // Binance's printed realizedPnl: 0, 0, 4.8, −3.5, 4.5; fees 0.26 + 0.1324 + 0.2112 +
    // 0.31152 + 0.3072 (BNB at 600); funding −0.1962 at 08:00.
    let entries: Vec<LedgerEntry> = futures_sequence()
        .into_iter()
        .enumerate()
        .map(|(i, (e, _))| tagged(e, if i < 4 { "trend@1#a" } else { "trend@2#b" }))
        .collect();
    let a = attribution(config("bot-a", Market::Linear), entries.clone()).unwrap();
    assert_eq!(a.total.realized, dec!(5.8));
    assert_eq!(a.total.fees, dec!(1.22232));
    assert_eq!(a.total.funding, dec!(-0.1962));
    assert_eq!(a.total.net, dec!(4.38148));
    assert_eq!(a.total.fills, 5);
    let ledger = Ledger::replay(config("bot-a", Market::Linear), entries).unwrap();
    let t = &ledger.totals;
    assert_eq!(a.total.net, t.realized - t.fees_quote + t.funding);
    // By hour of the day (UTC): T0 is midnight; the flip at T0+26h is 02:00 the next day.
    let hour = |h: u8| a.by_hour.get(&h).cloned().unwrap_or_default();
    assert_eq!(hour(1).net, dec!(-0.26));
    assert_eq!(hour(2).net, dec!(-0.1324) + dec!(-3.5) - dec!(0.31152));
    assert_eq!(hour(2).fills, 2);
    assert_eq!(hour(3).net, dec!(4.8) - dec!(0.2112));
    assert_eq!(hour(4).net, dec!(4.5) - dec!(0.3072));
    assert_eq!(hour(8).net, dec!(-0.1962));
    // Versions: fills 101–103 were version 1, 104–105 version 2; funding is its own row.
    assert_eq!(
        a.by_strategy["trend@1#a"].net,
        dec!(-0.26) - dec!(0.1324) + dec!(4.8) - dec!(0.2112)
    );
    assert_eq!(
        a.by_strategy["trend@2#b"].net,
        dec!(-3.5) - dec!(0.31152) + dec!(4.5) - dec!(0.3072)
    );
    assert_eq!(a.by_strategy[FUNDING_ROW].net, dec!(-0.1962));
    assert_eq!(a.by_instrument.len(), 1);
    assert_eq!(a.by_instrument["BTCUSDT"], a.total);
}

use crate::test_rng::SplitMix as Rng;

/// A random history: fills on two instruments under three tags at random hours, fees in quote,
/// funding, a duplicate now and then (booked once).
fn random_history(rng: &mut Rng) -> Vec<LedgerEntry> {
    let mut v = Vec::new();
    for i in 0..60 {
        let (sym, base, px) = if rng.below(2) == 0 {
            ("BTCUSDT", "BTC", 60_000)
        } else {
            ("ETHUSDT", "ETH", 3_000)
        };
        let side = if rng.below(2) == 0 {
            Side::Buy
        } else {
            Side::Sell
        };
        let qty = Decimal::new(1 + rng.below(50) as i64, 3);
        let price = Decimal::from(px) + Decimal::new(rng.below(20_000) as i64 - 10_000, 2);
        let fee = (qty * price * dec!(0.0004)).round_dp(8);
        let time = T0 + i * H / 3 + rng.below(3_000_000) as i64;
        let tag = ["a@1#x", "a@2#y", "b@1#z"][rng.below(3) as usize];
        let f = fill(
            &format!("t{i}"),
            &format!("o{i}"),
            sym,
            side,
            qty,
            price,
            fee,
            "USDT",
            time,
        );
        let e = tagged(booking(f, base, None), tag);
        if rng.below(10) == 0 {
            v.push(e.clone());
        }
        v.push(e);
        if rng.below(8) == 0 {
            v.push(LedgerEntry::Funding(crate::ledger::FundingPayment {
                id: format!("f{i}"),
                symbol: crate::ids::Symbol::new(sym).unwrap(),
                asset: "USDT".into(),
                amount: Decimal::new(rng.below(2_000) as i64 - 1_000, 4),
                time_ms: time + 1,
            }));
        }
    }
    v
}

#[test]
fn every_split_sums_to_the_ledgers_net_on_random_histories() {
    // Seed 20261207, 200 histories of 60 fills with duplicates and funding.
    let mut rng = Rng(20_261_207);
    for case in 0..200 {
        let entries = random_history(&mut rng);
        let cfg = config("bot-r", Market::Linear);
        let a = attribution(cfg.clone(), entries.clone())
            .unwrap_or_else(|e| panic!("case {case}: {e}"));
        let t = Ledger::replay(cfg, entries).unwrap().totals;
        assert_eq!(
            a.total.net,
            t.realized - t.fees_quote + t.funding,
            "case {case}"
        );
        assert_eq!(
            a.total.fills, t.fills,
            "case {case}: duplicates are booked once"
        );
        for (name, sum) in [
            (
                "instrument",
                a.by_instrument.values().map(|s| s.net).sum::<Decimal>(),
            ),
            ("strategy", a.by_strategy.values().map(|s| s.net).sum()),
            ("hour", a.by_hour.values().map(|s| s.net).sum()),
        ] {
            assert_eq!(sum, a.total.net, "case {case}: by {name}");
        }
    }
}

#[test]
fn equity_is_resampled_to_the_last_sample_of_each_period_and_carried_over_gaps() {
    let d = 86_400_000;
    let samples = [
        (T0 + 5, dec!(100)),
        (T0 + 2 * H, dec!(101)),
        (T0 + d + H, dec!(99.5)),
        // Day 2 has no sample: carried from day 1.
        (T0 + 3 * d + 20 * H, dec!(103)),
        (T0 + 3 * d + 2 * H, dec!(102)), // out of order: sorted first
    ];
    let tf = Timeframe::parse("1d").unwrap();
    let got = resample(&samples, tf).unwrap();
    assert_eq!(
        got,
        vec![
            (T0, 101.0),
            (T0 + d, 99.5),
            (T0 + 2 * d, 99.5),
            (T0 + 3 * d, 103.0)
        ]
    );
    assert_eq!(resample(&[], tf).unwrap(), vec![]);
    let minute = Timeframe::parse("1m").unwrap();
    let far = [(T0, dec!(1)), (T0 + 400 * d, dec!(1))];
    assert!(matches!(
        resample(&far, minute),
        Err(AnalyticsError::TooManyPeriods { .. })
    ));
}

#[test]
fn live_ratios_are_the_backtest_reports_over_the_resampled_curve() {
    // Three round trips: +4.8, −3.5 and +4.5 realized; the executions' win rate is 2/3.
    let entries: Vec<LedgerEntry> = futures_sequence().into_iter().map(|(e, _)| e).collect();
    let d = 86_400_000;
    let equity: Vec<(i64, Decimal)> = [dec!(1000), dec!(1004.1), dec!(1000.3), dec!(1004.4)]
        .iter()
        .enumerate()
        .map(|(i, e)| (T0 + i as i64 * d + H, *e))
        .collect();
    let live = live(config("bot-l", Market::Linear), entries, &equity, "1d").unwrap();
    assert_eq!(
        (live.points, live.from_ms, live.to_ms),
        (4, Some(T0), Some(T0 + 3 * d))
    );
    let m = &live.metrics;
    assert!((m.win_rate - 2.0 / 3.0).abs() < 1e-12, "{m:?}");
    assert!((m.total_return - 0.0044).abs() < 1e-12, "{m:?}");
    let curve: Vec<(i64, f64)> = equity
        .iter()
        .map(|(t, e)| (t - H, e.to_f64().unwrap()))
        .collect();
    let direct = crate::backtest::metrics::compute(
        &curve,
        Timeframe::parse("1d").unwrap(),
        &[
            dec!(4.8) - dec!(0.2112),
            dec!(-3.5) - dec!(0.31152),
            dec!(4.5) - dec!(0.3072),
        ],
        dec!(2607.8),
        dec!(1.22232),
        0,
    );
    assert_eq!(*m, direct);
    assert!(matches!(
        super::live(config("bot-l", Market::Linear), vec![], &equity, "7x"),
        Err(AnalyticsError::Period(_))
    ));
}

#[test]
fn a_deposit_is_not_a_return() {
    let d = 86_400_000;
    let tf = Timeframe::parse("1d").unwrap();
    // 1,000 → 1,010 (+1 %); then 500 deposited as day 2 opens and the day ends at 1,525.1:
    // +1 % on the 1,510 invested.
    let curve = [(T0, 1000.0), (T0 + d, 1010.0), (T0 + 2 * d, 1525.1)];
    let idx = performance_index(&curve, &[(T0 + 2 * d, dec!(500))], tf);
    assert_eq!(idx[0], (T0, 1000.0));
    assert!((idx[1].1 - 1010.0).abs() < 1e-9);
    assert!((idx[2].1 - 1020.1).abs() < 1e-9, "{idx:?}");
    // The same deposit at noon was invested half the day: Modified Dietz weighs it by ½,
    // (1,525.1 − 1,010 − 500) / (1,010 + 250).
    let idx = performance_index(&curve, &[(T0 + 2 * d + 12 * H, dec!(500))], tf);
    assert!(
        (idx[2].1 / idx[1].1 - (1.0 + 15.1 / 1260.0)).abs() < 1e-12,
        "{idx:?}"
    );
    // A withdrawal at the open is no loss.
    let out = [(T0, 1000.0), (T0 + d, 700.0)];
    let idx = performance_index(&out, &[(T0 + d, dec!(-300))], tf);
    assert!((idx[1].1 - 1000.0).abs() < 1e-9, "{idx:?}");
}

#[test]
fn the_regime_split_takes_the_label_in_force_at_each_fill_and_sums_to_the_net() {
    // Seed 20261208: 200 histories, each with a random regime book (a change every few hours,
    // BTC only: ETH fills stay unlabelled).
    let mut rng = Rng(20_261_208);
    for case in 0..200 {
        let entries = random_history(&mut rng);
        let mut changes = Vec::new();
        let mut t = T0 + rng.below(4) as i64 * H;
        for _ in 0..8 {
            changes.push((
                t,
                ["trend", "range", "volatile"][rng.below(3) as usize].to_string(),
            ));
            t += (1 + rng.below(6) as i64) * H;
        }
        let book: RegimeBook = [("BTCUSDT".to_string(), changes)].into_iter().collect();
        let cfg = config("bot-r", Market::Linear);
        let a = attribution_with_regimes(cfg.clone(), entries.clone(), &book)
            .unwrap_or_else(|e| panic!("case {case}: {e}"));
        let sum: Decimal = a.by_regime.values().map(|s| s.net).sum();
        assert_eq!(sum, a.total.net, "case {case}");
        // ETH is never labelled; every BTC fill before the first change is unlabelled too.
        let eth = a.by_instrument.get("ETHUSDT").cloned().unwrap_or_default();
        let unl = a.by_regime.get(UNLABELLED).cloned().unwrap_or_default();
        assert!(unl.fills >= eth.fills, "case {case}");
        let fills: u64 = a.by_regime.values().map(|s| s.fills).sum();
        assert_eq!(fills, a.total.fills, "case {case}");
    }
    // The lookup: the last change at or before the time.
    let book: RegimeBook = [(
        "BTCUSDT".to_string(),
        vec![(10, "range".to_string()), (20, "trend".to_string())],
    )]
    .into_iter()
    .collect();
    assert_eq!(regime_at(&book, "BTCUSDT", 9), UNLABELLED);
    assert_eq!(regime_at(&book, "BTCUSDT", 10), "range");
    assert_eq!(regime_at(&book, "BTCUSDT", 19), "range");
    assert_eq!(regime_at(&book, "BTCUSDT", 20), "trend");
    assert_eq!(regime_at(&book, "ETHUSDT", 20), UNLABELLED);
}
