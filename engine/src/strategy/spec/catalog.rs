//! The factors a spec may name: each library factor with its arguments (name, whole or real,
//! range) and its output fields, and the per-bar state that updates it. Why a closed table:
//! a spec is data from a user, so only factors whose maths is tested against the reference
//! library (`factor::reference_tests`) can be named, with bounded windows.

use super::MAX_WINDOW;
use crate::factor::{
    Adx, Atr, Bollinger, Donchian, Ema, Factor, Keltner, Macd, Obv, Returns, RollingVol, Rsi, Sma,
    Stochastic, Vwap, Wma, ZScore,
};
use crate::market::Bar;
use crate::regime::{Changepoint, ChangepointParams, Regime, RuleClassifier, RuleClassifierParams};

/// One argument of a factor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Arg {
    /// Name in `args`.
    pub name: &'static str,
    /// Must be a whole number (a window).
    pub integer: bool,
    /// Smallest allowed.
    pub min: f64,
    /// Largest allowed.
    pub max: f64,
}

const fn win(name: &'static str) -> Arg {
    Arg {
        name,
        integer: true,
        min: 1.0,
        max: MAX_WINDOW,
    }
}

/// A whole-number argument in `[min, max]` (counts, and windows whose per-bar cost grows with
/// them, so a spec cannot make a bot's bar take seconds).
const fn whole(name: &'static str, min: f64, max: f64) -> Arg {
    Arg {
        name,
        integer: true,
        min,
        max,
    }
}

const fn real(name: &'static str, min: f64, max: f64) -> Arg {
    Arg {
        name,
        integer: false,
        min,
        max,
    }
}

/// A factor of the library a spec can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactorKind {
    /// Simple moving average of closes.
    Sma,
    /// Exponential moving average of closes.
    Ema,
    /// Linearly weighted moving average of closes.
    Wma,
    /// Wilder RSI of closes.
    Rsi,
    /// MACD line, signal and histogram.
    Macd,
    /// Average true range.
    Atr,
    /// Bollinger bands.
    Bollinger,
    /// Donchian channel.
    Donchian,
    /// Keltner channel.
    Keltner,
    /// Stochastic %K / %D.
    Stochastic,
    /// ADX with ±DI.
    Adx,
    /// Rolling volume-weighted average price.
    Vwap,
    /// On-balance volume.
    Obv,
    /// Z-score of the close.
    Zscore,
    /// Rolling standard deviation of returns.
    RollingVol,
    /// Bar-to-bar return of the close.
    Returns,
    /// Market regime (trend / range / volatile) from ADX and a volatility percentile, with
    /// hysteresis: `regime::RuleClassifier`.
    Regime,
    /// Bayesian online changepoint detection on log returns (Adams & MacKay 2007, truncated
    /// run length): `regime::Changepoint`.
    Changepoint,
}

/// Catalogue row: spec name, kind, arguments, output fields (the first is the default).
pub type Row = (
    &'static str,
    FactorKind,
    &'static [Arg],
    &'static [&'static str],
);

/// Every factor a spec may name.
pub const FACTORS: &[Row] = &[
    ("sma", FactorKind::Sma, &[win("n")], &["value"]),
    ("ema", FactorKind::Ema, &[win("n")], &["value"]),
    ("wma", FactorKind::Wma, &[win("n")], &["value"]),
    ("rsi", FactorKind::Rsi, &[win("n")], &["value"]),
    (
        "macd",
        FactorKind::Macd,
        &[win("fast"), win("slow"), win("signal")],
        &["macd", "signal", "histogram"],
    ),
    ("atr", FactorKind::Atr, &[win("n")], &["value"]),
    (
        "bollinger",
        FactorKind::Bollinger,
        &[win("n"), real("k", 0.0, 100.0)],
        &["middle", "upper", "lower"],
    ),
    (
        "donchian",
        FactorKind::Donchian,
        &[win("n")],
        &["middle", "upper", "lower"],
    ),
    (
        "keltner",
        FactorKind::Keltner,
        &[win("n"), win("n_atr"), real("mult", 0.0, 100.0)],
        &["middle", "upper", "lower"],
    ),
    (
        "stochastic",
        FactorKind::Stochastic,
        &[win("n"), win("d")],
        &["k", "d"],
    ),
    (
        "adx",
        FactorKind::Adx,
        &[win("n")],
        &["adx", "plus_di", "minus_di"],
    ),
    ("vwap", FactorKind::Vwap, &[win("n")], &["value"]),
    ("obv", FactorKind::Obv, &[], &["value"]),
    ("zscore", FactorKind::Zscore, &[win("n")], &["value"]),
    (
        "rolling_vol",
        FactorKind::RollingVol,
        &[win("n")],
        &["value"],
    ),
    ("returns", FactorKind::Returns, &[], &["value"]),
    (
        "regime",
        FactorKind::Regime,
        &[
            win("adx_n"),
            win("vol_n"),
            whole("pct_window", 1.0, 10_000.0),
            real("trend_enter", 0.0, 100.0),
            real("trend_exit", 0.0, 100.0),
            real("vol_enter", 0.0, 1.0),
            real("vol_exit", 0.0, 1.0),
            whole("confirm", 1.0, 1_000.0),
        ],
        &["trend", "range", "volatile"],
    ),
    // The ranges keep the history a fresh detector needs (`Changepoint::history_bars`: at most
    // 100 + 2 + 415 + 300 = 817 bars) inside the 1,000-bar page a live bot replays, so a live
    // bot reads the backtest's values; `max_run` also bounds a bar's cost (O(max_run)).
    (
        "changepoint",
        FactorKind::Changepoint,
        &[
            real("expected_run", 2.0, 100_000.0),
            whole("max_run", 2.0, 300.0),
            whole("warm_up", 2.0, 100.0),
            real("prior_span", 1.0, 30.0),
            whole("min_drop", 1.0, 300.0),
        ],
        &["run", "confidence", "changed"],
    ),
];

/// The catalogue row of a spec name.
pub fn lookup(name: &str) -> Option<&'static Row> {
    FACTORS.iter().find(|r| r.0 == name)
}

/// The catalogue row of a kind.
pub fn row(kind: FactorKind) -> &'static Row {
    // Every kind has a row (the table test checks it); Sma's is the fallback.
    FACTORS.iter().find(|r| r.1 == kind).unwrap_or(&FACTORS[0])
}

/// A live factor of a compiled plan.
#[derive(Debug, Clone)]
pub enum State {
    /// See [`Sma`].
    Sma(Sma),
    /// See [`Ema`].
    Ema(Ema),
    /// See [`Wma`].
    Wma(Wma),
    /// See [`Rsi`].
    Rsi(Rsi),
    /// See [`Macd`].
    Macd(Macd),
    /// See [`Atr`].
    Atr(Atr),
    /// See [`Bollinger`].
    Bollinger(Bollinger),
    /// See [`Donchian`].
    Donchian(Donchian),
    /// See [`Keltner`].
    Keltner(Keltner),
    /// See [`Stochastic`].
    Stochastic(Stochastic),
    /// See [`Adx`].
    Adx(Box<Adx>),
    /// See [`Vwap`].
    Vwap(Vwap),
    /// See [`Obv`].
    Obv(Obv),
    /// See [`ZScore`].
    Zscore(ZScore),
    /// See [`RollingVol`].
    RollingVol(RollingVol),
    /// See [`Returns`].
    Returns(Returns),
    /// See [`RuleClassifier`].
    Regime(Box<RuleClassifier>),
    /// See [`Changepoint`].
    Changepoint(Box<Changepoint>),
}

impl State {
    /// Builds a factor from resolved argument values (validated against the catalogue).
    pub fn new(kind: FactorKind, a: &[f64]) -> Self {
        let n = |i: usize| a.get(i).copied().unwrap_or(1.0).max(1.0) as usize;
        let x = |i: usize| a.get(i).copied().unwrap_or(0.0);
        match kind {
            FactorKind::Sma => State::Sma(Sma::new(n(0))),
            FactorKind::Ema => State::Ema(Ema::new(n(0))),
            FactorKind::Wma => State::Wma(Wma::new(n(0))),
            FactorKind::Rsi => State::Rsi(Rsi::new(n(0))),
            FactorKind::Macd => State::Macd(Macd::new(n(0), n(1), n(2))),
            FactorKind::Atr => State::Atr(Atr::new(n(0))),
            FactorKind::Bollinger => State::Bollinger(Bollinger::new(n(0), x(1))),
            FactorKind::Donchian => State::Donchian(Donchian::new(n(0))),
            FactorKind::Keltner => State::Keltner(Keltner::new(n(0), n(1), x(2))),
            FactorKind::Stochastic => State::Stochastic(Stochastic::new(n(0), n(1))),
            FactorKind::Adx => State::Adx(Box::new(Adx::new(n(0)))),
            FactorKind::Vwap => State::Vwap(Vwap::new(n(0))),
            FactorKind::Obv => State::Obv(Obv::new()),
            FactorKind::Zscore => State::Zscore(ZScore::new(n(0))),
            FactorKind::RollingVol => State::RollingVol(RollingVol::new(n(0))),
            FactorKind::Returns => State::Returns(Returns::new()),
            FactorKind::Regime => {
                State::Regime(Box::new(RuleClassifier::new(RuleClassifierParams {
                    adx_n: n(0),
                    vol_n: n(1),
                    pct_window: n(2),
                    trend_enter: x(3),
                    trend_exit: x(4),
                    vol_enter: x(5),
                    vol_exit: x(6),
                    confirm: n(7),
                })))
            }
            FactorKind::Changepoint => {
                State::Changepoint(Box::new(Changepoint::new(ChangepointParams {
                    expected_run: x(0),
                    max_run: n(1),
                    warm_up: n(2),
                    prior_span: x(3),
                    min_drop: n(4),
                })))
            }
        }
    }

    /// Bars before the first value.
    pub fn warm_up(&self) -> usize {
        match self {
            State::Sma(f) => f.warm_up(),
            State::Ema(f) => f.warm_up(),
            State::Wma(f) => f.warm_up(),
            State::Rsi(f) => f.warm_up(),
            State::Macd(f) => f.warm_up(),
            State::Atr(f) => f.warm_up(),
            State::Bollinger(f) => f.warm_up(),
            State::Donchian(f) => f.warm_up(),
            State::Keltner(f) => f.warm_up(),
            State::Stochastic(f) => f.warm_up(),
            State::Adx(f) => f.warm_up(),
            State::Vwap(f) => f.warm_up(),
            State::Obv(f) => f.warm_up(),
            State::Zscore(f) => f.warm_up(),
            State::RollingVol(f) => f.warm_up(),
            State::Returns(f) => f.warm_up(),
            // The history a live bot replays must give the label the backtest gives: ADX warm
            // and a full volatility-percentile window, not just the first label.
            State::Regime(f) => f.history_bars(),
            // Likewise: the detector's prior converged and every tracked run begun from it.
            State::Changepoint(f) => f.history_bars(),
        }
    }

    /// Bars after which the value no longer depends on where the bars began
    /// ([`crate::factor::Factor::history`]): longer than the warm-up for the smoothings.
    pub fn history(&self) -> usize {
        match self {
            State::Ema(f) => f.history(),
            State::Rsi(f) => f.history(),
            State::Macd(f) => f.history(),
            State::Atr(f) => f.history(),
            State::Keltner(f) => f.history(),
            State::Adx(f) => f.history(),
            // Finite windows (and the regime, whose warm-up already is its history): once warm,
            // nothing older counts.
            _ => self.warm_up(),
        }
    }

    /// Feeds `bar` and writes the outputs (in the catalogue's field order) into `out`.
    #[inline]
    pub fn update(&mut self, bar: &Bar, out: &mut [Option<f64>]) {
        let mut put = |i: usize, v: Option<f64>| {
            if let Some(slot) = out.get_mut(i) {
                *slot = v;
            }
        };
        match self {
            State::Sma(f) => put(0, f.update(bar)),
            State::Ema(f) => put(0, f.update(bar)),
            State::Wma(f) => put(0, f.update(bar)),
            State::Rsi(f) => put(0, f.update(bar)),
            State::Atr(f) => put(0, f.update(bar)),
            State::Vwap(f) => put(0, f.update(bar)),
            State::Obv(f) => put(0, f.update(bar)),
            State::Zscore(f) => put(0, f.update(bar)),
            State::RollingVol(f) => put(0, f.update(bar)),
            State::Returns(f) => put(0, f.update(bar)),
            State::Macd(f) => {
                let v = f.update(bar);
                put(0, v.map(|m| m.macd));
                put(1, v.and_then(|m| m.signal));
                put(2, v.and_then(|m| m.histogram));
            }
            State::Bollinger(f) => band(f.update(bar), &mut put),
            State::Donchian(f) => band(f.update(bar), &mut put),
            State::Keltner(f) => band(f.update(bar), &mut put),
            State::Stochastic(f) => {
                let v = f.update(bar);
                put(0, v.map(|s| s.k));
                put(1, v.and_then(|s| s.d));
            }
            State::Adx(f) => {
                let v = f.update(bar);
                put(0, v.map(|s| s.adx));
                put(1, v.map(|s| s.plus_di));
                put(2, v.map(|s| s.minus_di));
            }
            // One indicator per label, so a spec reads `regime.trend` as a 0/1 condition.
            State::Regime(f) => {
                let v = f.update(bar);
                let is = |m: Regime| v.map(|r| if r == m { 1.0 } else { 0.0 });
                put(0, is(Regime::Trend));
                put(1, is(Regime::Range));
                put(2, is(Regime::Volatile));
            }
            // `changed` as 0/1, so a spec reads `cp.changed` as a condition.
            State::Changepoint(f) => {
                let v = f.update(bar);
                put(0, v.map(|c| c.run_length as f64));
                put(1, v.map(|c| c.confidence));
                put(2, v.map(|c| if c.changed { 1.0 } else { 0.0 }));
            }
        }
    }
}

fn band(v: Option<crate::factor::Band>, put: &mut impl FnMut(usize, Option<f64>)) {
    put(0, v.map(|b| b.middle));
    put(1, v.map(|b| b.upper));
    put(2, v.map(|b| b.lower));
}
