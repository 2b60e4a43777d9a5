//! The search's fast path: the same backtest, bit for bit, with the work that repeats across
//! trials done once.
//!
//! Many trials of a search share parameter values (a 10 × 10 grid of `fast` × `slow` has only
//! 20 distinct moving averages in its 100 points), and a trial's strategy spends most of its
//! per-bar time updating those indicators. For the strategies listed here the search computes
//! each distinct indicator series once per span of bars (with the strategy's own streaming
//! factor, so every value is the one the strategy would compute), derives each trial's target
//! changes from the shared series, and runs the **plain backtest** ([`crate::backtest::run`])
//! with a [`Replay`] strategy that emits exactly those targets on exactly those bars. Sizing,
//! risk, the paper venue, the ledger, the equity curve and the metrics are the live path's,
//! untouched; only where the targets come from differs, and a test checks that every trial's
//! report equals the plain backtest's of the real strategy.
//!
//! A strategy not listed here (or a listed one at another code version) takes the plain path.

use crate::factor::{Factor, Sma};
use crate::market::Bar;
use crate::strategy::{Context, Intent, MaCrossover, Strategy, StrategyVersion, Target};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// Most `f64` values the shared series of one span may hold together (512 MB); a series past
/// the budget is computed for its trial alone, as without sharing.
const CACHE_VALUES: usize = 64 << 20;

/// One strategy's targets, replayed: `events[k] = (bar index, exposure)`, in bar order, each a
/// change from the one before (what the strategy's emitter would send on that bar).
#[derive(Debug, Clone)]
pub(crate) struct Replay {
    version: StrategyVersion,
    warm_up: usize,
    history: usize,
    events: Vec<(usize, f64)>,
    next: usize,
}

impl Strategy for Replay {
    fn version(&self) -> &StrategyVersion {
        &self.version
    }
    fn warm_up(&self) -> usize {
        self.warm_up
    }
    fn history(&self) -> usize {
        self.history
    }
    fn on_bar(&mut self, ctx: &Context<'_>) -> Vec<Intent> {
        let Some(i) = ctx.bars.len().checked_sub(1) else {
            return Vec::new();
        };
        while self.events.get(self.next).is_some_and(|e| e.0 < i) {
            self.next += 1;
        }
        match self.events.get(self.next) {
            Some(&(at, exposure)) if at == i => {
                self.next += 1;
                vec![Intent::Target {
                    symbol: ctx.symbol.clone(),
                    target: Target::Exposure(exposure),
                }]
            }
            _ => Vec::new(),
        }
    }
}

/// A shared series: filled once by the first trial that needs it.
type Cell = Arc<OnceLock<Arc<[f64]>>>;

/// The shared indicator series of one span of bars, for the trials of one search run.
#[derive(Debug)]
pub(crate) struct Shared<'a> {
    bars: &'a [Bar],
    sma: Mutex<(HashMap<usize, Cell>, usize)>,
}

impl<'a> Shared<'a> {
    /// An empty cache over `bars`.
    pub(crate) fn new(bars: &'a [Bar]) -> Self {
        Self {
            bars,
            sma: Mutex::new((HashMap::new(), 0)),
        }
    }

    /// `SMA(n)` of the closes at every bar, as [`Sma`] computes it streaming (values before
    /// bar `n - 1` are not read: the factor is not warm there).
    fn sma(&self, n: usize) -> Arc<[f64]> {
        let cell = {
            let mut guard = self.sma.lock().unwrap_or_else(|p| p.into_inner());
            let (map, used) = &mut *guard;
            match map.get(&n) {
                Some(c) => Some(c.clone()),
                None if *used + self.bars.len() <= CACHE_VALUES => {
                    *used += self.bars.len();
                    let c: Cell = Arc::default();
                    map.insert(n, c.clone());
                    Some(c)
                }
                None => None,
            }
        };
        match cell {
            Some(c) => c.get_or_init(|| sma_series(self.bars, n)).clone(),
            None => sma_series(self.bars, n),
        }
    }

    /// The replayed strategy of `real` (just built from the trial's parameters) when its
    /// targets can be derived from shared series; `None`: run the real one.
    pub(crate) fn replay(&self, real: &dyn Strategy) -> Option<Replay> {
        let v = real.version();
        if v.name != MaCrossover::NAME || v.version != MaCrossover::VERSION {
            return None;
        }
        // `MaCrossover::new`'s reading of its parameters.
        let (nf, ns) = (
            v.params.window("fast").max(1),
            v.params.window("slow").max(1),
        );
        let short = if v.params.get("short") >= 1.0 {
            -1.0
        } else {
            0.0
        };
        let (fast, slow) = (self.sma(nf), self.sma(ns));
        // Both averages are warm from bar `max(nf, ns) - 1` on; from there the strategy's
        // emitter sends `1` or `short` whenever it differs from what it sent last.
        let from = nf.max(ns) - 1;
        let mut events = Vec::new();
        let mut last: Option<f64> = None;
        for (i, (f, s)) in fast.iter().zip(slow.iter()).enumerate().skip(from) {
            let x = if f > s { 1.0 } else { short };
            if last != Some(x) {
                last = Some(x);
                events.push((i, x));
            }
        }
        Some(Replay {
            version: v.clone(),
            warm_up: real.warm_up(),
            history: real.history(),
            events,
            next: 0,
        })
    }
}

/// The streaming [`Sma`]'s value after each bar (0 where it is not warm yet).
fn sma_series(bars: &[Bar], n: usize) -> Arc<[f64]> {
    let mut sma = Sma::new(n);
    bars.iter().map(|b| sma.update(b).unwrap_or(0.0)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::golden_tests::config;
    use crate::backtest::run;
    use crate::market::load_csv;
    use crate::strategy::Registry;
    use serde_json::json;
    use std::collections::BTreeMap;

    /// A seeded random walk with many crossings (xorshift, as the benches' bars).
    fn walk(n: usize, seed: u64) -> Vec<Bar> {
        let mut s = seed;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let mut p = 30_000.0f64;
        (0..n)
            .map(|i| {
                let o = p;
                p *= 1.0 + next() * 0.004;
                let r = |x: f64| (x * 100.0).round() / 100.0;
                Bar {
                    open_time_ms: 1_700_000_000_000 + i as i64 * 60_000,
                    open: r(o),
                    high: r(o.max(p) * 1.0005),
                    low: r(o.min(p) * 0.9995),
                    close: r(p),
                    volume: 1.0,
                }
            })
            .collect()
    }

    #[test]
    fn a_replayed_crossover_is_the_plain_backtest_of_the_real_one() {
        let seed = 0x5eed_fa57;
        eprintln!("walk seed {seed:#x}");
        let fixture = load_csv(include_str!("../../../test_data/factors/ohlcv.csv").as_bytes())
            .expect("fixture");
        let reg = Registry::builtin();
        for (market, data) in [("linear", fixture), ("spot", walk(3000, seed))] {
            let cfg = config(market, json!({}));
            let shared = Shared::new(&data);
            let mut compared = 0;
            for fast in [1.0, 2.0, 3.0, 5.0, 8.0, 13.0] {
                for slow in [2.0, 5.0, 9.0, 20.0, 40.0, 5000.0] {
                    for short in [0.0, 1.0] {
                        let params = BTreeMap::from([
                            ("fast".to_string(), fast),
                            ("slow".to_string(), slow),
                            ("short".to_string(), short),
                        ]);
                        let Ok(mut real) = reg.build("ma_crossover", &params) else {
                            assert!(fast >= slow, "{params:?} refused");
                            continue;
                        };
                        let mut replay = shared.replay(real.as_ref()).expect("replayable");
                        let a = run(&cfg, &mut replay, &data);
                        let b = run(&cfg, real.as_mut(), &data);
                        // Debug prints every f64 exactly: fills, curve, P&L and metrics.
                        assert_eq!(format!("{a:?}"), format!("{b:?}"), "{market} {params:?}");
                        compared += 1;
                    }
                }
            }
            assert!(compared > 40, "{compared}");
        }
        // Another strategy (or another code version) is not replayed.
        let rsi = reg.build("rsi_reversion", &BTreeMap::new()).expect("rsi");
        let data = walk(10, seed);
        assert!(Shared::new(&data).replay(rsi.as_ref()).is_none());
    }

    #[test]
    fn past_its_budget_the_cache_computes_series_without_keeping_them() {
        let data = walk(50, 1);
        let shared = Shared::new(&data);
        let a = shared.sma(5);
        assert!(Arc::ptr_eq(&a, &shared.sma(5)), "a kept series is shared");
        shared.sma.lock().expect("lock").1 = CACHE_VALUES;
        let (b, c) = (shared.sma(7), shared.sma(7));
        assert!(!Arc::ptr_eq(&b, &c) && b == c);
        assert_eq!(b[6], data[..7].iter().map(|x| x.close).sum::<f64>() / 7.0);
    }
}
