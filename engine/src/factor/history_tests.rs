//! `Factor::history`: replaying only the last `history()` bars gives the value that streaming
//! every bar since the start gives (what a live bot's window needs to match a backtest), for
//! every smoothing factor, while replaying only the warm-up does not.

use super::*;
use crate::test_rng::SplitMix;

/// A random walk of OHLCV bars, seed fixed and printed by the assertion messages.
fn bars(n: usize, seed: u64) -> Vec<Bar> {
    let mut rng = SplitMix(seed);
    let mut p = 100.0f64;
    (0..n)
        .map(|i| {
            let open = p;
            p = (p * (1.0 + 0.01 * rng.normal())).max(1.0);
            let (hi, lo) = (open.max(p) * 1.002, open.min(p) * 0.998);
            Bar {
                open_time_ms: i as i64 * 60_000,
                open,
                high: hi,
                low: lo,
                close: p,
                volume: 10.0,
            }
        })
        .collect()
}

/// The last value of a fresh factor fed `bars`.
fn last<F: Factor>(mut f: F, bars: &[Bar]) -> Option<F::Output> {
    bars.iter().map(|b| f.update(b)).last().flatten()
}

/// `|a − b| ≤ 1e-9 × max(|b|, 1)`.
fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

#[test]
fn smoothing_factors_replayed_over_their_history_hold_the_streamed_value() {
    const SEED: u64 = 20_261_207;
    let all = bars(4_000, SEED);
    let window = |n: usize| &all[all.len() - n..];
    // (name, value over all bars, value over the history window, value over the warm-up window)
    let mut cases: Vec<(&str, usize, usize, [Option<f64>; 3])> = Vec::new();
    macro_rules! case {
        ($name:expr, $make:expr, $pick:expr) => {{
            let f = $make;
            let (h, w) = (f.history(), f.warm_up());
            let pick = $pick;
            cases.push((
                $name,
                h,
                w,
                [
                    last($make, &all).and_then(pick),
                    last($make, window(h)).and_then(pick),
                    last($make, window(w.max(1))).and_then(pick),
                ],
            ));
        }};
    }
    case!("ema20", Ema::new(20), Some);
    case!("ema50", Ema::new(50), Some);
    case!("rsi14", Rsi::new(14), Some);
    case!("macd", Macd::new(12, 26, 9), |m: MacdValue| m.signal);
    case!("atr14", Atr::new(14), Some);
    case!("keltner", Keltner::new(20, 10, 2.0), |b: Band| Some(
        b.lower
    ));
    case!("adx14", Adx::new(14), |a: AdxValue| Some(a.adx));
    for (name, h, w, [streamed, replayed, warm_only]) in cases {
        let (Some(s), Some(r)) = (streamed, replayed) else {
            panic!("{name}: no value (seed {SEED})");
        };
        assert!(
            h > w,
            "{name}: a smoothing remembers past its warm-up ({h} vs {w})"
        );
        assert!(
            close(r, s),
            "{name}: over its history of {h} bars {r} vs streamed {s} (seed {SEED})"
        );
        // The warm-up alone is not enough: the test would pass with any history otherwise.
        let wo = warm_only.unwrap_or(f64::NAN);
        assert!(
            !close(wo, s),
            "{name}: the warm-up of {w} bars already gave {wo} = {s} (seed {SEED})"
        );
    }
}

#[test]
fn memory_bars_is_the_first_k_with_decay_to_the_k_below_1e_12() {
    assert_eq!(memory_bars(0.0), 0);
    assert_eq!(memory_bars(1.0), 0);
    assert_eq!(memory_bars(f64::NAN), 0);
    assert_eq!(memory_bars(-0.5), 0);
    // EMA(20): alpha 2/21; Wilder 14: 13/14.
    for decay in [19.0 / 21.0, 13.0 / 14.0, 0.5] {
        let k = memory_bars(decay) as i32;
        assert!(decay.powi(k) < FORGOTTEN, "{decay}^{k}");
        assert!(decay.powi(k - 1) >= FORGOTTEN, "{decay}^{}", k - 1);
    }
    assert_eq!(memory_bars(19.0 / 21.0), 277);
    assert_eq!(memory_bars(13.0 / 14.0), 373);
}
