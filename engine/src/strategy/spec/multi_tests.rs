//! Multi-series specs: several instruments and timeframes, higher timeframes resampled from the
//! base bars without look-ahead, one target per instrument, and the backtester's fills.

use super::*;
use crate::backtest::{run, run_multi, BacktestConfig, FillAt};
use crate::ids::Symbol;
use crate::market::{resample, Bar, Timeframe};
use crate::model::Fill;
use crate::strategy::live;
use rust_decimal_macros::dec;
use serde_json::json;

/// 5-minute aligned start, so the first 5m bucket is whole.
const T0: i64 = 1_700_000_100_000;
const M: i64 = 60_000;

/// A seeded random walk of `n` one-minute bars (seed printed by the callers' names).
fn walk(n: usize, seed: u64, start: f64) -> Vec<Bar> {
    let mut rng = crate::test_rng::SplitMix(seed);
    let mut p = start;
    (0..n)
        .map(|i| {
            let open = p;
            let r = (rng.uniform() - 0.5) * 0.03 + ((i as f64) / 40.0).sin() * 0.004;
            p = (p * (1.0 + r)).max(1.0);
            let round = |x: f64| (x * 100.0).round() / 100.0;
            Bar {
                open_time_ms: T0 + i as i64 * M,
                open: round(open),
                high: round(open.max(p) * 1.002),
                low: round(open.min(p) * 0.998),
                close: round(p),
                volume: 1.0,
            }
        })
        .collect()
}

fn doc(v: serde_json::Value) -> StrategySpec {
    StrategySpec::parse(&v).unwrap_or_else(|e| panic!("{e:?}"))
}

fn paths(v: serde_json::Value) -> Vec<String> {
    validate(&v).into_iter().map(|i| i.path).collect()
}

/// Two instruments, two timeframes: BTC follows its 5m averages long/short, ETH its 1m ones
/// long/flat. Both warm on the 20th minute (4 five-minute bars, 20 one-minute bars).
fn pair() -> serde_json::Value {
    json!({"name": "pair_trend", "version": 1, "timeframe": "1m",
        "series": {"btc5": {"symbol": "BTCUSDT", "timeframe": "5m"},
                   "eth": {"symbol": "ETHUSDT", "timeframe": "1m"}},
        "factors": {"bf": {"kind": "sma", "series": "btc5", "args": {"n": 2}},
                    "bs": {"kind": "sma", "series": "btc5", "args": {"n": 4}},
                    "ef": {"kind": "sma", "series": "eth", "args": {"n": 5}},
                    "es": {"kind": "sma", "series": "eth", "args": {"n": 20}}},
        "targets": {"btc5": {"expr": {"if": [{"gt": ["bf", "bs"]}, 1, -1]}},
                    "eth": {"expr": {"if": [{"gt": ["ef", "es"]}, 1, 0]}, "min": 0, "max": 1}}})
}

#[test]
fn multi_series_refusals_name_the_path() {
    let base = pair();
    let cases: Vec<(serde_json::Value, &str)> = vec![
        (
            json!({"factors": {"bf": {"kind": "sma", "series": "nope", "args": {"n": 2}}}}),
            "factors.bf.series",
        ),
        (
            json!({"factors": {"bf": {"kind": "sma", "args": {"n": 2}}}}),
            "factors.bf.series",
        ),
        (
            json!({"series": {"btc5": {"symbol": "BTCUSDT", "timeframe": "1m"}, "eth": {"symbol": "ETHUSDT", "timeframe": "1m"}}, "timeframe": "5m"}),
            "series.btc5.timeframe",
        ),
        (
            json!({"series": {"btc5": {"symbol": "BTCUSDT", "timeframe": "5m"}, "eth": {"symbol": "ETHUSDT", "timeframe": "1m"}}, "timeframe": "3m"}),
            "series.btc5.timeframe",
        ),
        (
            json!({"targets": {"btc5": {"expr": {"gt": ["btc5.close[-1]", 1]}}}}),
            "targets.btc5.expr.gt[0]",
        ),
        (
            json!({"targets": {"btc5": {"expr": {"if": [{"gt": ["close", 1]}, 1, 0]}}}}),
            "targets.btc5.expr.if[0].gt[0]",
        ),
        (json!({"targets": {"sol": {"expr": 1}}}), "targets.sol"),
        (
            json!({"targets": {"eth": {"expr": "btc5.close"}, "btc5": {"expr": "nope.close"}}}),
            "targets.btc5.expr",
        ),
        (json!({"timeframe": null}), "timeframe"),
        (json!({"target": {"expr": 1}}), "."),
    ];
    for (patch, want) in cases {
        let mut d = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                d.as_object_mut().unwrap().remove(k);
            } else {
                d[k] = v.clone();
            }
        }
        let got = paths(d.clone());
        assert!(
            got.iter().any(|p| p == want),
            "{patch}: want {want}, got {got:?}"
        );
    }
    // A single-series spec cannot use targets, series bars or a factor series.
    assert_eq!(
        paths(json!({"name": "x", "targets": {"a": {"expr": 1}}})),
        vec!["targets"]
    );
    assert!(paths(
        json!({"name": "x", "factors": {"f": {"kind": "sma", "series": "a", "args": {"n": 2}}}, "target": {"expr": "f"}})
    )
    .contains(&"factors.f.series".to_string()));
    assert!(validate(&base).is_empty(), "{:?}", validate(&base));
}

#[test]
fn higher_timeframes_are_read_only_once_closed_and_cuts_never_change_the_past() {
    // Seed 22 (printed by the test name): a 5m close read by a spec equals the offline resample
    // of the whole buckets that had closed by then, and re-running with the future removed
    // never changes a decision already taken.
    let btc = walk(400, 22, 100.0);
    let mut eth = walk(400, 23, 50.0);
    // A missing ETH minute: that step is not a step, and its 5m bucket is dropped.
    eth.remove(137);
    let spec = doc(json!({"name": "htf_probe", "timeframe": "1m",
        "series": {"h": {"symbol": "BTCUSDT", "timeframe": "5m"}, "e": {"symbol": "ETHUSDT", "timeframe": "15m"}},
        "targets": {"h": {"expr": {"div": ["h.close", 1000]}, "min": -100, "max": 100},
                    "e": {"expr": {"div": ["e.close[1]", 1000]}, "min": -100, "max": 100}}}));
    let make = || spec.strategy(&BTreeMap::new()).unwrap();
    let history = |feeds: &[Vec<Bar>]| {
        let mut s = make();
        let slices: Vec<&[Bar]> = feeds.iter().map(Vec::as_slice).collect();
        let steps = live::align(&slices);
        steps
            .chunks(2)
            .map(|idx| {
                let latest: Vec<Bar> = idx.iter().enumerate().map(|(k, i)| feeds[k][*i]).collect();
                (latest[0].open_time_ms, s.on_step(&latest).to_vec())
            })
            .collect::<Vec<_>>()
    };
    let full = history(&[btc.clone(), eth.clone()]);
    assert_eq!(full.len(), 399, "the minute ETH lacks is no step");
    // The offline answer: BTC's minutes that are steps (both feeds have them), resampled, and
    // only the whole buckets (five minutes seen) that had closed by this minute's close.
    let stepped: Vec<Bar> = btc
        .iter()
        .copied()
        .filter(|b| full.iter().any(|(t, _)| *t == b.open_time_ms))
        .collect();
    let five = resample(&stepped, Timeframe::M1, Timeframe::parse("5m").unwrap()).unwrap();
    let whole = |b: &Bar| {
        stepped
            .iter()
            .filter(|x| x.open_time_ms.div_euclid(300_000) * 300_000 == b.open_time_ms)
            .count()
            == 5
    };
    let mut decided = 0;
    for (t, held) in &full {
        let want = five
            .iter()
            .rev()
            .filter(|b| whole(b))
            .find(|b| b.open_time_ms + 300_000 <= t + M)
            .map(|b| b.close / 1000.0);
        if held[1].is_some() {
            decided += 1;
            assert_eq!(held[0], want, "BTC 5m close at {t}");
        }
    }
    assert!(decided > 300);
    // The 15m ETH bucket holding the missing minute is never emitted.
    let gap_bucket = (T0 + 137 * M).div_euclid(900_000) * 900_000;
    let fifteen = resample(&eth, Timeframe::M1, Timeframe::parse("15m").unwrap()).unwrap();
    let cut = fifteen
        .iter()
        .find(|b| b.open_time_ms == gap_bucket)
        .unwrap();
    assert!(full
        .iter()
        .all(|(_, h)| h[1] != Some(cut.close / 1000.0 + 0.0)
            || fifteen
                .iter()
                .any(|b| b.open_time_ms != gap_bucket && b.close == cut.close)));
    // The look-ahead guard (`lookahead::check_multi`): any cut, same past; a cut inside a 5m or
    // 15m bucket included.
    let cuts: Vec<i64> = [1usize, 57, 138, 139, 200, 333, 398]
        .iter()
        .map(|i| btc[*i].open_time_ms)
        .collect();
    let make = |_: &[Vec<Bar>]| make();
    let found = crate::strategy::lookahead::check_multi(&make, &[btc.clone(), eth.clone()], &cuts);
    assert_eq!(found, vec![]);
    // And the guard catches a peek: a series whose bar is shown while it is still forming
    // (emulated by feeding the strategy the whole future's 5m closes) diverges at the cuts.
    let peeker = |given: &[Vec<Bar>]| -> Box<dyn crate::strategy::Strategy> {
        Box::new(Peek {
            feeds: vec![
                Symbol::new("BTCUSDT").unwrap(),
                Symbol::new("ETHUSDT").unwrap(),
            ],
            last: given
                .first()
                .and_then(|f| f.last())
                .map_or(0.0, |b| b.close),
            held: vec![None; 2],
            version: crate::strategy::StrategyVersion::new(
                "peek",
                1,
                crate::strategy::Params::default(),
            ),
        })
    };
    let caught =
        crate::strategy::lookahead::check_multi(&peeker, &[btc.clone(), eth.clone()], &cuts);
    assert!(!caught.is_empty());
}

/// Cheats: holds a target from the last close of the series it was built over (the future).
#[derive(Debug)]
struct Peek {
    feeds: Vec<Symbol>,
    last: f64,
    held: Vec<Option<f64>>,
    version: crate::strategy::StrategyVersion,
}

impl crate::strategy::Strategy for Peek {
    fn version(&self) -> &crate::strategy::StrategyVersion {
        &self.version
    }
    fn warm_up(&self) -> usize {
        1
    }
    fn on_bar(&mut self, _: &crate::strategy::Context<'_>) -> Vec<crate::strategy::Intent> {
        Vec::new()
    }
    fn feeds(&self) -> &[Symbol] {
        &self.feeds
    }
    fn on_step(&mut self, latest: &[Bar]) -> &[Option<f64>] {
        let up = latest.first().is_some_and(|b| self.last > b.close);
        self.held
            .iter_mut()
            .for_each(|h| *h = Some(if up { 1.0 } else { 0.0 }));
        &self.held
    }
}

fn rules(symbol: &str) -> crate::model::InstrumentRules {
    let mut r = crate::backtest::golden_tests::config("linear", json!({})).rules;
    r.symbol = Symbol::new(symbol).unwrap();
    r.base_asset = symbol.trim_end_matches("USDT").into();
    r
}

fn fixed_qty_config(tf: Timeframe) -> BacktestConfig {
    let mut c = crate::backtest::golden_tests::config("linear", json!({}));
    c.bot.sizing.mode = crate::config::SizingMode::FixedQty;
    c.bot.sizing.value = dec!(1);
    c.fill_at = FillAt::Close;
    c.timeframe = tf;
    c.bot.instruments = ["BTCUSDT", "ETHUSDT"]
        .iter()
        .map(|s| crate::config::InstrumentPattern::Exact(Symbol::new(*s).unwrap()))
        .collect();
    c
}

fn view(f: &Fill) -> (String, String, String, String, String, i64) {
    (
        f.symbol.to_string(),
        format!("{:?}", f.side),
        f.qty.normalize().to_string(),
        f.price.normalize().to_string(),
        f.fee.normalize().to_string(),
        f.time_ms,
    )
}

#[test]
fn a_two_symbol_two_timeframe_spec_fills_like_each_instrument_on_its_own() {
    // Seeds 7 and 8. BTC's target reads only its 5m series and ETH's only its 1m series, sizing
    // is a fixed quantity and there are no risk limits: the one-ledger multi-series backtest must
    // give each instrument exactly the fills of a single-series spec run on that instrument
    // alone (BTC on the resampled 5m bars), at the same times and prices.
    let btc = walk(600, 7, 100.0);
    let eth = walk(600, 8, 50.0);
    let spec = doc(pair());
    let mut multi = spec.strategy(&BTreeMap::new()).unwrap();
    assert_eq!(
        multi.feeds(),
        &[
            Symbol::new("BTCUSDT").unwrap(),
            Symbol::new("ETHUSDT").unwrap()
        ]
    );
    let cfg = fixed_qty_config(Timeframe::M1);
    let report = run_multi(
        &cfg,
        &[rules("BTCUSDT"), rules("ETHUSDT")],
        multi.as_mut(),
        &[btc.clone(), eth.clone()],
    )
    .unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    let single = |d: serde_json::Value, bars: &[Bar], sym: &str, tf: Timeframe| {
        let mut st = super::build(&d, &BTreeMap::new()).unwrap();
        let mut c = fixed_qty_config(tf);
        c.rules = rules(sym);
        let r = run(&c, st.as_mut(), bars).unwrap();
        assert!(r.rejected.is_empty(), "{:?}", r.rejected);
        r.fills
    };
    let five = Timeframe::parse("5m").unwrap();
    let btc_alone = single(
        json!({"name": "btc_alone", "factors": {"bf": {"kind": "sma", "args": {"n": 2}}, "bs": {"kind": "sma", "args": {"n": 4}}},
               "target": {"expr": {"if": [{"gt": ["bf", "bs"]}, 1, -1]}}}),
        &resample(&btc, Timeframe::M1, five).unwrap(),
        "BTCUSDT",
        five,
    );
    let eth_alone = single(
        json!({"name": "eth_alone", "factors": {"ef": {"kind": "sma", "args": {"n": 5}}, "es": {"kind": "sma", "args": {"n": 20}}},
               "target": {"expr": {"if": [{"gt": ["ef", "es"]}, 1, 0]}, "min": 0, "max": 1}}),
        &eth,
        "ETHUSDT",
        Timeframe::M1,
    );
    let of = |s: &str| -> Vec<_> {
        report
            .fills
            .iter()
            .filter(|f| f.symbol.as_str() == s)
            .map(view)
            .collect()
    };
    assert!(
        btc_alone.len() >= 4 && eth_alone.len() >= 4,
        "{} {}",
        btc_alone.len(),
        eth_alone.len()
    );
    assert_eq!(
        of("BTCUSDT"),
        btc_alone.iter().map(view).collect::<Vec<_>>()
    );
    assert_eq!(
        of("ETHUSDT"),
        eth_alone.iter().map(view).collect::<Vec<_>>()
    );
    assert_eq!(report.bars, 600);
    assert_eq!(report.equity_curve.len(), 600);
    // One ledger holds both instruments.
    assert_eq!(report.pnl.by_instrument.len(), 2);
    // The live replay of the same bars holds the backtester's last targets.
    let mut fresh = spec.strategy(&BTreeMap::new()).unwrap();
    let eval = live::evaluate_multi(fresh.as_mut(), &[btc.clone(), eth.clone()]).unwrap();
    assert_eq!(eval.steps, 600);
    assert_eq!(eval.bar_open_ms, btc[599].open_time_ms);
    assert!(eval.targets.iter().all(|(_, _, t)| t.is_some()));
}

#[test]
fn the_multi_series_plan_warms_in_base_bars() {
    let s = doc(pair());
    let st = s.build(&BTreeMap::new()).unwrap();
    // SMA 4 of 5m bars: (4 + one possibly cut bucket) × 5 base bars.
    assert_eq!(crate::strategy::Strategy::warm_up(&st), 25);
    assert!(st.feeds().len() == 2);
}
