//! The search on the golden fixture: seeded and resumable through the ledger, infeasible trials
//! recorded but never best, the ledger's round trip, and the walk-forward golden test (stitched
//! out-of-sample net = Σ of the windows', each window's = a plain backtest of its choice).

use super::ledger::TrialLedger;
use super::search::{search, Constraints, Objective, Problem, SearchSpec, WalkSpec};
use super::space::{Range, SamplerKind};
use crate::backtest::golden_tests::config;
use crate::backtest::{run, BacktestConfig};
use crate::market::{load_csv, Bar};
use crate::strategy::Registry;
use rust_decimal::Decimal;
use serde_json::json;
use std::collections::BTreeMap;

const OHLCV: &str = include_str!("../../../test_data/factors/ohlcv.csv");

fn bars() -> Vec<Bar> {
    load_csv(OHLCV.as_bytes()).unwrap()
}

fn cfg() -> BacktestConfig {
    config("linear", json!({}))
}

fn spec(sampler: SamplerKind, trials: usize) -> SearchSpec {
    SearchSpec {
        sampler,
        trials,
        seed: 42,
        batch: 4,
        space: BTreeMap::from([
            (
                "fast".to_string(),
                Range {
                    min: 2.0,
                    max: 12.0,
                    step: None,
                    integer: true,
                    log: false,
                },
            ),
            (
                "slow".to_string(),
                Range {
                    min: 10.0,
                    max: 40.0,
                    step: Some(5.0),
                    integer: true,
                    log: false,
                },
            ),
        ]),
        cscv_blocks: 4,
        ..SearchSpec::default()
    }
}

fn go(
    spec: &SearchSpec,
    data: &[Bar],
    ledger: &mut TrialLedger,
    resume: bool,
) -> Result<super::search::SearchReport, super::OptimizeError> {
    let (c, reg) = (cfg(), Registry::builtin());
    let p = Problem {
        config: &c,
        registry: &reg,
        strategy: "ma_crossover",
        bars: data,
    };
    search(&p, spec, ledger, resume, &mut |_, _| {})
}

#[test]
fn a_seed_gives_the_same_trials_and_a_resumed_run_continues_them() {
    let data = bars();
    for sampler in [SamplerKind::Random, SamplerKind::Tpe, SamplerKind::Grid] {
        let whole_spec = spec(sampler, 22);
        let mut whole = TrialLedger::default();
        let a = go(&whole_spec, &data, &mut whole, false).unwrap();
        let mut again = TrialLedger::default();
        go(&whole_spec, &data, &mut again, false).unwrap();
        assert_eq!(whole, again, "{sampler:?}");
        assert_eq!(whole.trials.len(), 22);
        // Stop after 9 (mid-batch), save, load, resume to 22: the same ledger.
        let mut part = TrialLedger::default();
        go(&spec(sampler, 9), &data, &mut part, false).unwrap();
        let text = serde_json::to_string(&part).unwrap();
        let mut loaded: TrialLedger = serde_json::from_str(&text).unwrap();
        assert_eq!(loaded, part, "ledger round trip");
        assert!(matches!(
            go(&whole_spec, &data, &mut loaded, false),
            Err(super::OptimizeError::AlreadyRun { trials: 9, .. })
        ));
        let b = go(&whole_spec, &data, &mut loaded, true).unwrap();
        assert_eq!(loaded, whole, "{sampler:?} resumed");
        assert_eq!(b.result.new_trials, 13);
        assert_eq!(a.result.best, b.result.best);
        if sampler != SamplerKind::Grid {
            let mut other = TrialLedger::default();
            let mut s = whole_spec.clone();
            s.seed = 43;
            go(&s, &data, &mut other, false).unwrap();
            assert_ne!(
                other.trials.iter().map(|t| &t.params).collect::<Vec<_>>(),
                whole.trials.iter().map(|t| &t.params).collect::<Vec<_>>()
            );
        }
    }
}

#[test]
fn each_trial_is_the_plain_backtest_and_infeasible_ones_are_never_best() {
    let data = bars();
    let mut s = spec(SamplerKind::Grid, 1000);
    s.objective = Objective::Net;
    let mut ledger = TrialLedger::default();
    let free = go(&s, &data, &mut ledger, false).unwrap();
    // fast 2..=12 × slow 10, 15, …, 40 × short {0, 1}.
    assert_eq!(free.result.grid_points, Some(11 * 7 * 2));
    assert_eq!(ledger.trials.len(), 154);
    // fast ≥ slow is refused by the strategy: recorded with the reason, no metrics.
    let refused = ledger.trials.iter().filter(|t| t.error.is_some()).count();
    assert!(refused > 0);
    assert!(ledger
        .trials
        .iter()
        .filter(|t| t.error.is_some())
        .all(|t| !t.feasible && t.metrics.is_none() && t.params["fast"] >= t.params["slow"]));
    // The best by net is the plain backtest of its parameters, to the last decimal.
    let best = &free.result.best[0];
    let mut strat = Registry::builtin()
        .build("ma_crossover", &best.params)
        .unwrap();
    let rep = run(&cfg(), strat.as_mut(), &data).unwrap();
    assert_eq!(best.metrics.as_ref().unwrap().net, rep.pnl.net);
    assert!(free
        .result
        .best
        .windows(2)
        .all(|w| w[0].objective >= w[1].objective));
    // Ask for more trades than the best had: it becomes infeasible and is never listed.
    let need = best.metrics.as_ref().unwrap().executions + 1;
    s.constraints = Constraints {
        min_trades: Some(need),
        max_drawdown: None,
    };
    let mut l2 = TrialLedger::default();
    let bound = go(&s, &data, &mut l2, false).unwrap();
    assert_eq!(l2.trials.len(), 154, "infeasible trials are still recorded");
    assert!(bound.result.best.iter().all(|t| t.feasible
        && t.metrics.as_ref().unwrap().executions >= need
        && t.params != best.params));
    let same = l2.trials.iter().find(|t| t.params == best.params).unwrap();
    assert!(!same.feasible && same.violations[0].starts_with("min_trades"));
    // Overfitting statistics come with the report: N is the ledger's count of trials run.
    let d = free.result.deflated.as_ref().unwrap();
    assert_eq!(d.trials, 154 - refused);
    assert!(d.dsr >= 0.0 && d.dsr <= 1.0);
    let pbo = free.result.pbo.as_ref().unwrap();
    assert_eq!((pbo.blocks, pbo.combinations), (4, 6));
}

#[test]
fn weighted_objective_and_bad_settings() {
    let data = bars();
    let mut s = spec(SamplerKind::Random, 8);
    s.objective = Objective::Weighted(BTreeMap::from([
        ("sharpe".to_string(), 1.0),
        ("max_drawdown".to_string(), -2.0),
    ]));
    let mut l = TrialLedger::default();
    go(&s, &data, &mut l, false).unwrap();
    for t in l.trials.iter().filter(|t| t.metrics.is_some()) {
        let m = t.metrics.as_ref().unwrap();
        assert_eq!(t.objective, Some(m.sharpe - 2.0 * m.max_drawdown));
    }
    let fields = |mutate: &dyn Fn(&mut SearchSpec)| {
        let mut s = spec(SamplerKind::Random, 8);
        mutate(&mut s);
        match go(&s, &data, &mut TrialLedger::default(), false) {
            Err(super::OptimizeError::Field { field, .. }) => field.to_string(),
            Err(e) => e.to_string(),
            Ok(_) => "ok".into(),
        }
    };
    assert_eq!(fields(&|s| s.trials = 0), "trials");
    assert_eq!(fields(&|s| s.cscv_blocks = 5), "cscv_blocks");
    assert_eq!(
        fields(&|s| s.objective = Objective::Weighted(BTreeMap::from([("x".into(), 1.0)]))),
        "objective"
    );
    assert!(fields(&|s| {
        s.space.insert(
            "nope".into(),
            Range {
                min: 1.0,
                max: 2.0,
                step: None,
                integer: false,
                log: false,
            },
        );
    })
    .starts_with("space.nope"));
    let mut other = TrialLedger::new("rsi_reversion");
    assert!(matches!(
        go(&spec(SamplerKind::Random, 2), &data, &mut other, false),
        Err(super::OptimizeError::Field {
            field: "ledger",
            ..
        })
    ));
}

/// Golden: the stitched out-of-sample net is the exact sum of the windows', and each window's
/// is a plain backtest of the configuration chosen in sample on that window's bars.
#[test]
fn walk_forward_stitches_the_windows_exactly() {
    let data = bars();
    for anchored in [false, true] {
        let mut s = spec(SamplerKind::Tpe, 12);
        s.walk_forward = Some(WalkSpec {
            windows: 3,
            in_sample: 0.4,
            anchored,
        });
        let mut l = TrialLedger::default();
        let rep = go(&s, &data, &mut l, false).unwrap();
        let wf = rep.walk_forward.as_ref().unwrap();
        assert_eq!(wf.windows.len(), 3);
        assert_eq!(l.trials.len(), 36);
        let cuts = super::search::windows(data.len(), s.walk_forward.as_ref().unwrap()).unwrap();
        let mut sum = Decimal::ZERO;
        for (w, (is, oos)) in wf.windows.iter().zip(&cuts) {
            assert_eq!(w.search.span.bars, is.len());
            assert_eq!(is.start == 0, anchored || w.index == 0);
            assert_eq!(
                is.end, oos.start,
                "in-sample ends where out-of-sample starts"
            );
            let chosen = w.chosen.as_ref().expect("a feasible configuration");
            let mut strat = Registry::builtin().build("ma_crossover", chosen).unwrap();
            let direct = run(&cfg(), strat.as_mut(), &data[oos.clone()]).unwrap();
            let oos_m = w.oos.as_ref().unwrap();
            assert_eq!(oos_m.net, direct.pnl.net);
            sum += oos_m.net;
        }
        assert_eq!(cuts.last().unwrap().1.end, data.len());
        assert_eq!(wf.stitched.net, sum);
        let last = wf.stitched.equity_curve.last().unwrap().1;
        let want = 10_000.0 + rust_decimal::prelude::ToPrimitive::to_f64(&sum).unwrap();
        assert!((last - want).abs() < 1e-6 * want, "{last} vs {want}");
        assert_eq!(rep.result, wf.windows[2].search);
    }
}

#[test]
fn every_trial_of_a_search_is_the_plain_backtest_of_its_configuration() {
    // The search evaluates ma_crossover through its fast path (shared moving averages replayed
    // through `run`); each trial must hold what the plain backtest of the real strategy gives.
    let data = bars();
    let mut s = spec(SamplerKind::Grid, 1000);
    s.cscv_blocks = 6;
    let mut ledger = TrialLedger::default();
    go(&s, &data, &mut ledger, false).unwrap();
    let reg = Registry::builtin();
    let mut checked = 0;
    for t in &ledger.trials {
        let Ok(mut real) = reg.build("ma_crossover", &t.params) else {
            assert!(t.error.is_some() && t.metrics.is_none(), "{:?}", t.params);
            continue;
        };
        let rep = run(&cfg(), real.as_mut(), &data).unwrap();
        let m = t.metrics.as_ref().unwrap();
        assert_eq!(m.net, rep.pnl.net, "{:?}", t.params);
        assert_eq!(m.fees, rep.metrics.fees);
        assert_eq!(m.executions, rep.metrics.executions);
        for (a, b) in [
            (m.sharpe, rep.metrics.sharpe),
            (m.sortino, rep.metrics.sortino),
            (m.calmar, rep.metrics.calmar),
            (m.max_drawdown, rep.metrics.max_drawdown),
            (m.total_return, rep.metrics.total_return),
            (m.win_rate, rep.metrics.win_rate),
            (m.exposure, rep.metrics.exposure),
        ] {
            assert_eq!(a.to_bits(), b.to_bits(), "{:?}", t.params);
        }
        let rets: Vec<f64> = rep
            .equity_curve
            .windows(2)
            .map(|w| {
                if w[0].1 != 0.0 {
                    w[1].1 / w[0].1 - 1.0
                } else {
                    0.0
                }
            })
            .collect();
        let want = super::stats::ReturnStats::of(&rets, 6);
        assert_eq!(format!("{:?}", t.returns), format!("{:?}", Some(want)));
        assert_eq!(t.strategy_version.as_deref(), Some(rep.strategy.as_str()));
        checked += 1;
    }
    assert!(checked > 100, "{checked}");
}
