//! Regime detectors against series whose truth is known: prefix invariance on random series,
//! detection delay and F1 on synthetic breaks, labels on synthetic trend / range / volatile
//! stretches. Every series comes from a fixed seed (the same draws on every run).

use super::*;
use crate::factor::Factor;
use crate::market::Bar;

/// SplitMix64: a small, fixed, dependency-free generator for test series.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in (0, 1).
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    /// Standard normal (Box–Muller).
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as usize
    }
}

/// Bars from log returns: the close compounds them; high/low straddle open and close by a
/// fraction of the bar's own move.
fn bars(returns: &[f64], rng: &mut Rng) -> Vec<Bar> {
    let mut close = 100.0_f64;
    returns
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let open = close;
            close = open * r.exp();
            let wick = (close - open).abs() * 0.5 + open * 0.0005 * rng.uniform();
            Bar {
                open_time_ms: i as i64 * 60_000,
                open,
                high: open.max(close) + wick,
                low: open.min(close) - wick,
                close,
                volume: 1.0,
            }
        })
        .collect()
}

#[test]
fn labels_never_change_when_later_bars_arrive() {
    let mut rng = Rng(20_261_207);
    for series in 0..1_000 {
        let n = rng.range(60, 300);
        let vol = 0.002 + 0.02 * rng.uniform();
        let returns: Vec<f64> = (0..n).map(|_| vol * rng.normal()).collect();
        let bars = bars(&returns, &mut rng);
        let mut full_rules = RuleClassifier::new(RuleClassifierParams {
            pct_window: 60,
            ..RuleClassifierParams::default()
        });
        // Runs tracked up to 100 bars: invariance does not depend on the truncation, and the
        // debug-build test stays quick.
        let cp_params = ChangepointParams {
            max_run: 100,
            ..ChangepointParams::default()
        };
        let mut full_cp = Changepoint::new(cp_params);
        let full: Vec<_> = bars
            .iter()
            .map(|b| (full_rules.update(b), full_cp.update(b)))
            .collect();
        // Every prefix, replayed from scratch, labels its bars as the full run did.
        let cut = rng.range(1, n);
        let mut rules = RuleClassifier::new(RuleClassifierParams {
            pct_window: 60,
            ..RuleClassifierParams::default()
        });
        let mut cp = Changepoint::new(cp_params);
        for (i, b) in bars[..cut].iter().enumerate() {
            let got = (rules.update(b), cp.update(b));
            assert_eq!(
                got, full[i],
                "series {series}, bar {i} of a {cut}-bar prefix"
            );
        }
    }
}

/// A series of returns with breaks at known bars: each new segment changes the volatility by a
/// factor of 3 to 5 (up or down) or shifts the mean by 1.5 to 2.5 of its standard deviation.
fn with_breaks(rng: &mut Rng) -> (Vec<f64>, Vec<usize>) {
    let mut returns = Vec::new();
    let mut breaks = Vec::new();
    let (mut mean, mut vol) = (0.0, 0.005);
    for segment in 0..5 {
        if segment > 0 {
            breaks.push(returns.len());
            if rng.uniform() < 0.5 {
                let f = 3.0 + 2.0 * rng.uniform();
                vol = if vol > 0.004 { vol / f } else { vol * f };
                mean = 0.0;
            } else {
                let shift = (1.5 + rng.uniform()) * vol;
                mean = if mean > 0.0 {
                    mean - shift
                } else {
                    mean + shift
                };
            }
        }
        let len = rng.range(120, 220);
        for _ in 0..len {
            returns.push(mean + vol * rng.normal());
        }
    }
    (returns, breaks)
}

#[test]
fn changepoints_are_found_within_ten_bars_with_f1_above_0_8() {
    let mut rng = Rng(717_218_390);
    let margin = 20;
    let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
    let mut delays = Vec::new();
    for _ in 0..100 {
        let (returns, breaks) = with_breaks(&mut rng);
        let mut cp = Changepoint::new(ChangepointParams::default());
        let mut flagged = Vec::new();
        for (i, r) in returns.iter().enumerate() {
            if cp.push(*r).is_some_and(|v| v.changed) {
                flagged.push(i);
            }
        }
        // Each break is matched by the first flag within [break, break + margin].
        let mut used = vec![false; flagged.len()];
        for b in &breaks {
            let hit = flagged
                .iter()
                .enumerate()
                .find(|(k, t)| !used[*k] && **t >= *b && **t <= b + margin);
            match hit {
                Some((k, t)) => {
                    used[k] = true;
                    tp += 1;
                    delays.push(t - b);
                }
                None => fn_ += 1,
            }
        }
        fp += used.iter().filter(|u| !**u).count();
    }
    delays.sort_unstable();
    let median = delays[delays.len() / 2];
    let precision = tp as f64 / (tp + fp) as f64;
    let recall = tp as f64 / (tp + fn_) as f64;
    let f1 = 2.0 * precision * recall / (precision + recall);
    println!("changepoints: tp {tp} fp {fp} fn {fn_}; precision {precision:.3} recall {recall:.3} F1 {f1:.3}; median delay {median}");
    assert!(median <= 10, "median delay {median}");
    assert!(f1 >= 0.8, "F1 {f1:.3} (tp {tp}, fp {fp}, fn {fn_})");
}

#[test]
fn rule_classifier_labels_trend_range_and_volatile_stretches() {
    let mut rng = Rng(42);
    // 300 quiet ranging bars (mean-reverting), 200 trending, 200 ranging, 70 volatile.
    let mut returns = Vec::new();
    let ranging = |rng: &mut Rng, n: usize, out: &mut Vec<f64>| {
        let mut level = 0.0_f64;
        for _ in 0..n {
            let r = -0.3 * level + 0.004 * rng.normal();
            level += r;
            out.push(r);
        }
    };
    ranging(&mut rng, 300, &mut returns);
    let trend_start = returns.len();
    for _ in 0..200 {
        returns.push(0.004 + 0.004 * rng.normal());
    }
    let range_start = returns.len();
    ranging(&mut rng, 200, &mut returns);
    let volatile_start = returns.len();
    // A burst is volatile while it is unusual for the window; a burst that lasts becomes the
    // window's normal (the percentile is relative by design), so it is kept short here.
    for _ in 0..70 {
        returns.push(0.03 * rng.normal());
    }
    let bars = bars(&returns, &mut rng);
    let mut c = RuleClassifier::new(RuleClassifierParams::default());
    let labels: Vec<Option<Regime>> = bars.iter().map(|b| c.update(b)).collect();
    let share = |from: usize, to: usize, want: Regime| {
        let n = labels[from..to]
            .iter()
            .filter(|l| **l == Some(want))
            .count();
        let s = n as f64 / (to - from) as f64;
        let counts = |r: Regime| labels[from..to].iter().filter(|l| **l == Some(r)).count();
        println!(
            "{want:?} share in {from}..{to}: {s:.2} (trend {}, range {}, volatile {})",
            counts(Regime::Trend),
            counts(Regime::Range),
            counts(Regime::Volatile)
        );
        s
    };
    // Judged after 40 bars of each stretch (the indicators' own lag). A percentile is
    // relative: in a stationary stretch the top decile of volatility still reads "volatile"
    // now and then, so a quiet stretch is mostly, not only, "range".
    let shares = [
        share(100, trend_start, Regime::Range),
        share(trend_start + 40, range_start, Regime::Trend),
        share(range_start + 40, volatile_start, Regime::Range),
        share(volatile_start + 22, labels.len(), Regime::Volatile),
    ];
    // Each stretch is mostly its own label (with hysteresis a stationary stretch spends about
    // a fifth of its bars in its own top-decile "volatile" spells).
    for (k, (got, name)) in shares
        .iter()
        .zip(["quiet range", "trend", "range after the trend", "volatile"])
        .enumerate()
    {
        let floor = if k == 3 { 0.9 } else { 0.7 };
        assert!(
            *got > floor,
            "{name}: {got:.2} of its bars, wanted > {floor} ({shares:?})"
        );
    }
    // Hysteresis: the same bars through a classifier without it (enter = exit, no
    // confirmation) change label at least twice as often.
    let switches = |labels: &[Option<Regime>]| {
        labels
            .windows(2)
            .filter(|w| w[0].is_some() && w[0] != w[1])
            .count()
    };
    let mut bare = RuleClassifier::new(RuleClassifierParams {
        trend_exit: 25.0,
        vol_exit: 0.90,
        confirm: 1,
        ..RuleClassifierParams::default()
    });
    let bare_labels: Vec<Option<Regime>> = bars.iter().map(|b| bare.update(b)).collect();
    let (with, without) = (switches(&labels), switches(&bare_labels));
    println!("label changes: {with} with hysteresis, {without} without");
    assert!(
        with * 2 <= without,
        "{with} label changes with hysteresis, {without} without"
    );
}

#[test]
fn a_classifier_without_enough_bars_says_nothing() {
    let mut rng = Rng(7);
    let returns: Vec<f64> = (0..20).map(|_| 0.01 * rng.normal()).collect();
    let mut c = RuleClassifier::new(RuleClassifierParams::default());
    assert!(bars(&returns, &mut rng)
        .iter()
        .all(|b| c.update(b).is_none()));
    assert_eq!(c.warm_up(), 28);
    let mut cp = Changepoint::new(ChangepointParams::default());
    assert!(returns.iter().all(|r| cp.push(*r).is_none()));
    // Non-finite input is ignored, never propagated.
    assert_eq!(cp.push(f64::NAN), None);
}
