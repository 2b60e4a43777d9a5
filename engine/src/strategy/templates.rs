//! Template strategies users copy: moving-average crossover, RSI mean reversion, Donchian
//! breakout, Bollinger reversion and a volatility-targeted trend follower. Each emits a target
//! exposure only when it changes (the driver keeps the last one), so a quiet bar costs no
//! allocation. `short = 1` lets the long-only templates go short (linear markets).

use super::{Context, Intent, ParamSpec, Params, Strategy, StrategyError, StrategyVersion, Target};
use crate::factor::{Bollinger, Donchian, Ema, Factor, RollingVol, Rsi, Sma};
use std::collections::BTreeMap;

/// Emits `exposure` when it differs from the last one emitted.
#[derive(Debug, Clone, Default)]
struct Emitter {
    last: Option<f64>,
}

impl Emitter {
    fn emit(&mut self, ctx: &Context<'_>, exposure: f64) -> Vec<Intent> {
        if self.last == Some(exposure) {
            return Vec::new();
        }
        self.last = Some(exposure);
        vec![Intent::Target {
            symbol: ctx.symbol.clone(),
            target: Target::Exposure(exposure),
        }]
    }
}

fn order_check(name: &str, value: f64, ok: bool, reason: &str) -> Result<(), StrategyError> {
    if ok {
        Ok(())
    } else {
        Err(StrategyError::BadParam {
            name: name.to_string(),
            value,
            reason: reason.to_string(),
        })
    }
}

fn short_side(params: &Params) -> f64 {
    if params.get("short") >= 1.0 {
        -1.0
    } else {
        0.0
    }
}

macro_rules! template {
    ($ty:ident, $name:literal, $version:literal, $specs:expr) => {
        impl $ty {
            /// Registered name.
            pub const NAME: &'static str = $name;
            /// Code version (bump when the logic changes).
            pub const VERSION: u32 = $version;
            /// Accepted parameters.
            pub const SPECS: &'static [ParamSpec] = $specs;

            /// Builds from raw parameters (validated against [`Self::SPECS`]).
            ///
            /// # Errors
            /// [`StrategyError`] naming the parameter.
            pub fn from_params(given: &BTreeMap<String, f64>) -> Result<Self, StrategyError> {
                Self::new(Params::validate($name, Self::SPECS, given)?)
            }
        }
    };
}

/// Long (or short) while the fast SMA is above (below) the slow SMA.
#[derive(Debug, Clone)]
pub struct MaCrossover {
    version: StrategyVersion,
    fast: Sma,
    slow: Sma,
    short: f64,
    out: Emitter,
}

template!(
    MaCrossover,
    "ma_crossover",
    1,
    &[
        ParamSpec::int("fast", 10.0, 1.0, 1000.0),
        ParamSpec::int("slow", 30.0, 2.0, 5000.0),
        ParamSpec::int("short", 0.0, 0.0, 1.0),
    ]
);

impl MaCrossover {
    /// Builds from validated parameters; `fast` must be below `slow`.
    ///
    /// # Errors
    /// [`StrategyError::BadParam`] for `fast >= slow`.
    pub fn new(params: Params) -> Result<Self, StrategyError> {
        order_check(
            "fast",
            params.get("fast"),
            params.get("fast") < params.get("slow"),
            "must be below slow",
        )?;
        Ok(Self {
            fast: Sma::new(params.window("fast")),
            slow: Sma::new(params.window("slow")),
            short: short_side(&params),
            version: StrategyVersion::new(Self::NAME, Self::VERSION, params),
            out: Emitter::default(),
        })
    }
}

impl Strategy for MaCrossover {
    fn version(&self) -> &StrategyVersion {
        &self.version
    }
    fn warm_up(&self) -> usize {
        self.fast.warm_up().max(self.slow.warm_up())
    }
    fn on_bar(&mut self, ctx: &Context<'_>) -> Vec<Intent> {
        let Some(bar) = ctx.bar() else {
            return Vec::new();
        };
        let (f, s) = (self.fast.update(bar), self.slow.update(bar));
        match f.zip(s) {
            Some((f, s)) => self.out.emit(ctx, if f > s { 1.0 } else { self.short }),
            None => Vec::new(),
        }
    }
}

/// Buys when RSI falls below `lower`, exits when it recovers to `exit`; mirrored above `upper`.
#[derive(Debug, Clone)]
pub struct RsiReversion {
    version: StrategyVersion,
    rsi: Rsi,
    lower: f64,
    upper: f64,
    exit: f64,
    short: f64,
    state: f64,
    out: Emitter,
}

template!(
    RsiReversion,
    "rsi_reversion",
    1,
    &[
        ParamSpec::int("period", 14.0, 2.0, 500.0),
        ParamSpec::real("lower", 30.0, 1.0, 99.0),
        ParamSpec::real("upper", 70.0, 1.0, 99.0),
        ParamSpec::real("exit", 50.0, 1.0, 99.0),
        ParamSpec::int("short", 0.0, 0.0, 1.0),
    ]
);

impl RsiReversion {
    /// Builds from validated parameters; needs `lower < exit < upper`.
    ///
    /// # Errors
    /// [`StrategyError::BadParam`] naming the misordered threshold.
    pub fn new(params: Params) -> Result<Self, StrategyError> {
        let (lower, upper, exit) = (params.get("lower"), params.get("upper"), params.get("exit"));
        order_check("lower", lower, lower < exit, "must be below exit")?;
        order_check("upper", upper, exit < upper, "must be above exit")?;
        Ok(Self {
            rsi: Rsi::new(params.window("period")),
            lower,
            upper,
            exit,
            short: short_side(&params),
            state: 0.0,
            version: StrategyVersion::new(Self::NAME, Self::VERSION, params),
            out: Emitter::default(),
        })
    }
}

impl Strategy for RsiReversion {
    fn version(&self) -> &StrategyVersion {
        &self.version
    }
    fn warm_up(&self) -> usize {
        self.rsi.warm_up()
    }
    fn history(&self) -> usize {
        self.rsi.history()
    }
    fn on_bar(&mut self, ctx: &Context<'_>) -> Vec<Intent> {
        let Some(r) = ctx.bar().and_then(|b| self.rsi.update(b)) else {
            return Vec::new();
        };
        self.state = match self.state {
            s if s > 0.0 && r >= self.exit => 0.0,
            s if s < 0.0 && r <= self.exit => 0.0,
            _ if r < self.lower => 1.0,
            _ if r > self.upper && self.short < 0.0 => -1.0,
            s => s,
        };
        self.out.emit(ctx, self.state)
    }
}

/// Enters on a close beyond the previous `entry`-bar channel, exits on the `exit`-bar channel.
#[derive(Debug, Clone)]
pub struct DonchianBreakout {
    version: StrategyVersion,
    entry: Donchian,
    exit: Donchian,
    short: f64,
    state: f64,
    out: Emitter,
}

template!(
    DonchianBreakout,
    "donchian_breakout",
    1,
    &[
        ParamSpec::int("entry", 20.0, 2.0, 1000.0),
        ParamSpec::int("exit", 10.0, 1.0, 1000.0),
        ParamSpec::int("short", 0.0, 0.0, 1.0),
    ]
);

impl DonchianBreakout {
    /// Builds from validated parameters.
    ///
    /// # Errors
    /// None beyond validation today; kept fallible like every template.
    pub fn new(params: Params) -> Result<Self, StrategyError> {
        Ok(Self {
            entry: Donchian::new(params.window("entry")),
            exit: Donchian::new(params.window("exit")),
            short: short_side(&params),
            state: 0.0,
            version: StrategyVersion::new(Self::NAME, Self::VERSION, params),
            out: Emitter::default(),
        })
    }
}

impl Strategy for DonchianBreakout {
    fn version(&self) -> &StrategyVersion {
        &self.version
    }
    fn warm_up(&self) -> usize {
        self.entry.warm_up().max(self.exit.warm_up())
    }
    fn on_bar(&mut self, ctx: &Context<'_>) -> Vec<Intent> {
        let Some(bar) = ctx.bar() else {
            return Vec::new();
        };
        // Compare with the channels of the bars before this one (no look-ahead).
        let (entry, exit) = (self.entry.value(), self.exit.value());
        self.entry.update(bar);
        self.exit.update(bar);
        let (Some(entry), Some(exit)) = (entry, exit) else {
            return Vec::new();
        };
        let c = bar.close;
        self.state = match self.state {
            s if s > 0.0 && c < exit.lower => 0.0,
            s if s < 0.0 && c > exit.upper => 0.0,
            _ if c > entry.upper => 1.0,
            _ if c < entry.lower && self.short < 0.0 => -1.0,
            s => s,
        };
        self.out.emit(ctx, self.state)
    }
}

/// Buys a close below the lower Bollinger band, exits at the middle; mirrored above the upper.
#[derive(Debug, Clone)]
pub struct BollingerReversion {
    version: StrategyVersion,
    bands: Bollinger,
    short: f64,
    state: f64,
    out: Emitter,
}

template!(
    BollingerReversion,
    "bollinger_reversion",
    1,
    &[
        ParamSpec::int("period", 20.0, 2.0, 1000.0),
        ParamSpec::real("k", 2.0, 0.1, 10.0),
        ParamSpec::int("short", 0.0, 0.0, 1.0),
    ]
);

impl BollingerReversion {
    /// Builds from validated parameters.
    ///
    /// # Errors
    /// None beyond validation today; kept fallible like every template.
    pub fn new(params: Params) -> Result<Self, StrategyError> {
        Ok(Self {
            bands: Bollinger::new(params.window("period"), params.get("k")),
            short: short_side(&params),
            state: 0.0,
            version: StrategyVersion::new(Self::NAME, Self::VERSION, params),
            out: Emitter::default(),
        })
    }
}

impl Strategy for BollingerReversion {
    fn version(&self) -> &StrategyVersion {
        &self.version
    }
    fn warm_up(&self) -> usize {
        self.bands.warm_up()
    }
    fn on_bar(&mut self, ctx: &Context<'_>) -> Vec<Intent> {
        let Some(bar) = ctx.bar() else {
            return Vec::new();
        };
        let Some(b) = self.bands.update(bar) else {
            return Vec::new();
        };
        let c = bar.close;
        self.state = match self.state {
            s if s > 0.0 && c >= b.middle => 0.0,
            s if s < 0.0 && c <= b.middle => 0.0,
            _ if c < b.lower => 1.0,
            _ if c > b.upper && self.short < 0.0 => -1.0,
            s => s,
        };
        self.out.emit(ctx, self.state)
    }
}

/// Trend direction from two EMAs, sized so the position's per-bar volatility is `target_vol`
/// (capped at `max_exposure`), in steps of `step` so it does not trade on every bar.
#[derive(Debug, Clone)]
pub struct VolTargetTrend {
    version: StrategyVersion,
    fast: Ema,
    slow: Ema,
    vol: RollingVol,
    target_vol: f64,
    max_exposure: f64,
    step: f64,
    short: f64,
    out: Emitter,
}

template!(
    VolTargetTrend,
    "vol_target_trend",
    1,
    &[
        ParamSpec::int("fast", 50.0, 1.0, 5000.0),
        ParamSpec::int("slow", 200.0, 2.0, 20000.0),
        ParamSpec::int("vol_window", 50.0, 2.0, 5000.0),
        ParamSpec::real("target_vol", 0.001, 0.00001, 1.0),
        ParamSpec::real("max_exposure", 1.0, 0.01, 10.0),
        ParamSpec::real("step", 0.25, 0.01, 1.0),
        ParamSpec::int("short", 0.0, 0.0, 1.0),
    ]
);

impl VolTargetTrend {
    /// Builds from validated parameters; `fast` must be below `slow`.
    ///
    /// # Errors
    /// [`StrategyError::BadParam`] for `fast >= slow`.
    pub fn new(params: Params) -> Result<Self, StrategyError> {
        order_check(
            "fast",
            params.get("fast"),
            params.get("fast") < params.get("slow"),
            "must be below slow",
        )?;
        Ok(Self {
            fast: Ema::new(params.window("fast")),
            slow: Ema::new(params.window("slow")),
            vol: RollingVol::new(params.window("vol_window")),
            target_vol: params.get("target_vol"),
            max_exposure: params.get("max_exposure"),
            step: params.get("step"),
            short: short_side(&params),
            version: StrategyVersion::new(Self::NAME, Self::VERSION, params),
            out: Emitter::default(),
        })
    }
}

impl Strategy for VolTargetTrend {
    fn version(&self) -> &StrategyVersion {
        &self.version
    }
    fn warm_up(&self) -> usize {
        self.fast
            .warm_up()
            .max(self.slow.warm_up())
            .max(self.vol.warm_up())
    }
    fn history(&self) -> usize {
        self.fast
            .history()
            .max(self.slow.history())
            .max(self.vol.history())
    }
    fn on_bar(&mut self, ctx: &Context<'_>) -> Vec<Intent> {
        let Some(bar) = ctx.bar() else {
            return Vec::new();
        };
        let (f, s, v) = (
            self.fast.update(bar),
            self.slow.update(bar),
            self.vol.update(bar),
        );
        let (Some(f), Some(s), Some(v)) = (f, s, v) else {
            return Vec::new();
        };
        let size = if v > 0.0 {
            (self.target_vol / v).min(self.max_exposure)
        } else {
            self.max_exposure
        };
        let size = (size / self.step).floor() * self.step;
        let exposure = if f > s { size } else { self.short * size };
        self.out.emit(ctx, exposure)
    }
}
