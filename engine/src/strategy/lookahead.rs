//! The look-ahead guard: re-runs a strategy on the series with the future removed and reports
//! every decision that changes (the class of bug Freqtrade's lookahead-analysis exists for).
//! A strategy sees only `bars[..=i]` through its [`Context`], but one can still cheat through
//! state built elsewhere (a series precomputed over the whole history, a factor fed ahead); the
//! guard catches that by behaviour, not by reading the code.

use super::{Context, Intent, Strategy, Target};
use crate::ids::Symbol;
use crate::market::Bar;
use rust_decimal::Decimal;

/// A bar whose decision differs between the full run and a run cut after it.
#[derive(Debug, Clone, PartialEq)]
pub struct Divergence {
    /// Index of the bar (0-based) in the series.
    pub bar: usize,
    /// Open time of that bar.
    pub open_time_ms: i64,
    /// Bars given to the truncated run (the cut).
    pub cut: usize,
    /// Target held after the bar in the full run.
    pub full: Option<Target>,
    /// Target held after the bar when no later bar existed.
    pub truncated: Option<Target>,
}

/// The target held after each bar of `bars` by a fresh strategy from `make` (given the series
/// it will run on, as a vectorised precomputation would be).
fn held(
    make: &dyn Fn(&[Bar]) -> Box<dyn Strategy>,
    symbol: &Symbol,
    bars: &[Bar],
) -> Vec<Option<Target>> {
    let mut s = make(bars);
    let mut target = None;
    let mut out = Vec::with_capacity(bars.len());
    for i in 0..bars.len() {
        let ctx = Context {
            symbol,
            bars: &bars[..=i],
            position: Decimal::ZERO,
            equity: Decimal::ONE_HUNDRED,
        };
        for intent in s.on_bar(&ctx) {
            if let Intent::Target { target: t, .. } = intent {
                target = Some(t);
            }
        }
        out.push(target);
    }
    out
}

/// Runs a strategy from `make` over all of `bars`, then one made for `bars[..cut]` over those
/// for each cut, and lists every bar before a cut whose held target differs. Empty = no
/// look-ahead detected at these cuts.
pub fn check(
    make: &dyn Fn(&[Bar]) -> Box<dyn Strategy>,
    symbol: &Symbol,
    bars: &[Bar],
    cuts: &[usize],
) -> Vec<Divergence> {
    let full = held(make, symbol, bars);
    let mut out = Vec::new();
    for &cut in cuts {
        let cut = cut.min(bars.len());
        let part = held(make, symbol, &bars[..cut]);
        for (i, (a, b)) in full.iter().zip(&part).enumerate() {
            if a != b {
                out.push(Divergence {
                    bar: i,
                    open_time_ms: bars.get(i).map_or(0, |b| b.open_time_ms),
                    cut,
                    full: *a,
                    truncated: *b,
                });
            }
        }
    }
    out
}

/// A step of a multi-series strategy whose held targets differ between the full run and a run
/// with every feed cut at the same time.
#[derive(Debug, Clone, PartialEq)]
pub struct MultiDivergence {
    /// Index of the aligned step.
    pub step: usize,
    /// Its open time (the base bar's).
    pub open_time_ms: i64,
    /// The cut: bars opening at or after this time were removed from every feed.
    pub cut_ms: i64,
    /// Targets held per feed after the step in the full run.
    pub full: Vec<Option<f64>>,
    /// The same with the future removed.
    pub truncated: Vec<Option<f64>>,
}

/// Builds a fresh multi-series strategy given the feeds it will run on (as a vectorised
/// precomputation would be given them).
pub type MakeMulti<'a> = &'a dyn Fn(&[Vec<Bar>]) -> Box<dyn Strategy>;

/// Per aligned step: its open time and the targets a fresh multi-series strategy holds after it.
fn held_multi(make: MakeMulti<'_>, feeds: &[Vec<Bar>]) -> Vec<(i64, Vec<Option<f64>>)> {
    let mut s = make(feeds);
    let n = feeds.len().max(1);
    let slices: Vec<&[Bar]> = feeds.iter().map(Vec::as_slice).collect();
    let steps = super::live::align(&slices);
    let mut latest = Vec::with_capacity(n);
    let mut out = Vec::with_capacity(steps.len() / n);
    for idx in steps.chunks(n) {
        latest.clear();
        latest.extend(
            idx.iter()
                .enumerate()
                .filter_map(|(k, i)| feeds.get(k).and_then(|f| f.get(*i)).copied()),
        );
        let t = latest.first().map_or(0, |b| b.open_time_ms);
        out.push((t, s.on_step(&latest).to_vec()));
    }
    out
}

/// [`check`] for a multi-series strategy (several instruments and timeframes): runs one from
/// `make` over all of `feeds` (one bar series per feed, oldest first), then for each cut time a
/// fresh one over the feeds with every bar opening at or after the cut removed, and lists every
/// step before the cut whose held targets differ. A higher-timeframe bar shown before it closed,
/// or any state fed from later bars, shows up here. Empty = no look-ahead at these cuts.
pub fn check_multi(
    make: MakeMulti<'_>,
    feeds: &[Vec<Bar>],
    cuts_ms: &[i64],
) -> Vec<MultiDivergence> {
    let full = held_multi(make, feeds);
    let mut out = Vec::new();
    for &cut_ms in cuts_ms {
        let cut: Vec<Vec<Bar>> = feeds
            .iter()
            .map(|f| {
                f.iter()
                    .copied()
                    .filter(|b| b.open_time_ms < cut_ms)
                    .collect()
            })
            .collect();
        let part = held_multi(make, &cut);
        for (step, (a, b)) in full.iter().zip(&part).enumerate() {
            if a != b {
                out.push(MultiDivergence {
                    step,
                    open_time_ms: a.0,
                    cut_ms,
                    full: a.1.clone(),
                    truncated: b.1.clone(),
                });
            }
        }
    }
    out
}

/// Evenly spread cuts (`n` of them) over a series of `len` bars, for [`check`].
pub fn cuts(len: usize, n: usize) -> Vec<usize> {
    (1..=n)
        .map(|k| len * k / (n + 1))
        .filter(|c| *c > 0)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::{Params, Registry, StrategyVersion};
    use std::collections::BTreeMap;

    fn bars(n: usize) -> Vec<Bar> {
        (0..n)
            .map(|i| {
                let p = 100.0 + 8.0 * ((i as f64) / 11.0).sin() + 3.0 * ((i as f64) / 3.1).cos();
                Bar {
                    open_time_ms: i as i64 * 60_000,
                    open: p,
                    high: p + 1.0,
                    low: p - 1.0,
                    close: p,
                    volume: 1.0,
                }
            })
            .collect()
    }

    /// Cheats: knows the whole series up front and goes long when the next close is higher.
    #[derive(Debug)]
    struct Peeker {
        version: StrategyVersion,
        future: Vec<f64>,
    }

    impl Strategy for Peeker {
        fn version(&self) -> &StrategyVersion {
            &self.version
        }
        fn warm_up(&self) -> usize {
            1
        }
        fn on_bar(&mut self, ctx: &Context<'_>) -> Vec<Intent> {
            let i = ctx.bars.len() - 1;
            let now = ctx.bars[i].close;
            let up = self.future.get(i + 1).is_some_and(|n| *n > now);
            vec![Intent::Target {
                symbol: ctx.symbol.clone(),
                target: Target::Exposure(if up { 1.0 } else { 0.0 }),
            }]
        }
    }

    #[test]
    fn honest_strategies_pass_and_a_peeking_one_is_caught() {
        let data = bars(900);
        let sym = Symbol::new("BTCUSDT").unwrap();
        let reg = Registry::builtin();
        let cut = cuts(data.len(), 7);
        for name in reg.names() {
            let make = |_: &[Bar]| {
                reg.build(name, &BTreeMap::from([("short".to_string(), 1.0)]))
                    .unwrap()
            };
            assert_eq!(check(&make, &sym, &data, &cut), vec![], "{name}");
        }
        for (_, text) in crate::strategy::spec::TEMPLATES {
            let doc: serde_json::Value = serde_json::from_str(text).unwrap();
            let make = |_: &[Bar]| {
                crate::strategy::spec::build(&doc, &BTreeMap::from([("short".to_string(), 1.0)]))
                    .unwrap()
            };
            assert_eq!(check(&make, &sym, &data, &cut), vec![]);
        }
        let make = |given: &[Bar]| {
            Box::new(Peeker {
                version: StrategyVersion::new("peek", 1, Params::default()),
                future: given.iter().map(|b| b.close).collect(),
            }) as Box<dyn Strategy>
        };
        // Cut after bar k: the full run knew bar k+1, the truncated one could not.
        let found = check(&make, &sym, &data, &cut);
        assert!(!found.is_empty());
        for d in &found {
            assert_eq!(
                d.bar + 1,
                d.cut,
                "only the last bar before each cut can differ: {d:?}"
            );
        }
    }
}
