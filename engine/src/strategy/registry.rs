//! Strategies registered by name, so a bot config (`"source": "strategy"`, `"strategy": name`,
//! `params`) and a backtest build the same object from the same words.

use super::templates::{
    BollingerReversion, DonchianBreakout, MaCrossover, RsiReversion, VolTargetTrend,
};
use super::{Composer, Leg, ParamSpec, Strategy, StrategyError};
use std::collections::BTreeMap;

/// Builds a strategy from raw parameters (validating them).
pub type Constructor = fn(&BTreeMap<String, f64>) -> Result<Box<dyn Strategy>, StrategyError>;

/// One registered strategy.
#[derive(Debug, Clone, Copy)]
struct Entry {
    version: u32,
    specs: &'static [ParamSpec],
    build: Constructor,
}

/// Name → strategy constructor.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    entries: BTreeMap<String, Entry>,
}

fn boxed<S: Strategy + 'static>(
    r: Result<S, StrategyError>,
) -> Result<Box<dyn Strategy>, StrategyError> {
    r.map(|s| Box::new(s) as Box<dyn Strategy>)
}

impl Registry {
    /// The templates: `ma_crossover`, `rsi_reversion`, `donchian_breakout`,
    /// `bollinger_reversion`, `vol_target_trend`.
    pub fn builtin() -> Self {
        let mut r = Self::default();
        r.register(
            MaCrossover::NAME,
            MaCrossover::VERSION,
            MaCrossover::SPECS,
            |p| boxed(MaCrossover::from_params(p)),
        );
        r.register(
            RsiReversion::NAME,
            RsiReversion::VERSION,
            RsiReversion::SPECS,
            |p| boxed(RsiReversion::from_params(p)),
        );
        r.register(
            DonchianBreakout::NAME,
            DonchianBreakout::VERSION,
            DonchianBreakout::SPECS,
            |p| boxed(DonchianBreakout::from_params(p)),
        );
        r.register(
            BollingerReversion::NAME,
            BollingerReversion::VERSION,
            BollingerReversion::SPECS,
            |p| boxed(BollingerReversion::from_params(p)),
        );
        r.register(
            VolTargetTrend::NAME,
            VolTargetTrend::VERSION,
            VolTargetTrend::SPECS,
            |p| boxed(VolTargetTrend::from_params(p)),
        );
        r
    }

    /// Adds (or replaces) a strategy under `name`.
    pub fn register(
        &mut self,
        name: &str,
        version: u32,
        specs: &'static [ParamSpec],
        build: Constructor,
    ) {
        self.entries.insert(
            name.to_string(),
            Entry {
                version,
                specs,
                build,
            },
        );
    }

    /// Registered names, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.entries.keys().map(String::as_str).collect()
    }

    /// A strategy's code version and parameter specs (for the UI's form).
    pub fn describe(&self, name: &str) -> Option<(u32, &'static [ParamSpec])> {
        self.entries.get(name).map(|e| (e.version, e.specs))
    }

    /// Builds `name` with `params`.
    ///
    /// # Errors
    /// [`StrategyError::Unknown`] or the strategy's parameter error.
    pub fn build(
        &self,
        name: &str,
        params: &BTreeMap<String, f64>,
    ) -> Result<Box<dyn Strategy>, StrategyError> {
        let e = self
            .entries
            .get(name)
            .ok_or_else(|| StrategyError::Unknown(name.to_string()))?;
        (e.build)(params)
    }

    /// Builds a composer from `(name, params, weight)` legs.
    ///
    /// # Errors
    /// The first leg's [`StrategyError`], or the composer's.
    pub fn compose(
        &self,
        legs: &[(&str, BTreeMap<String, f64>, f64)],
        vol_window: Option<usize>,
        step: f64,
    ) -> Result<Composer, StrategyError> {
        let built = legs
            .iter()
            .map(|(name, params, weight)| {
                Ok(Leg {
                    strategy: self.build(name, params)?,
                    weight: *weight,
                })
            })
            .collect::<Result<Vec<_>, StrategyError>>()?;
        Composer::new(built, vol_window, step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Symbol;
    use crate::market::Bar;
    use crate::strategy::{Context, Intent, Target};
    use rust_decimal_macros::dec;

    fn bars(n: usize) -> Vec<Bar> {
        (0..n)
            .map(|i| {
                let p = 100.0 + 10.0 * ((i as f64) / 15.0).sin() + (i as f64) * 0.05;
                Bar {
                    open_time_ms: i as i64 * 60_000,
                    open: p,
                    high: p + 0.01,
                    low: p - 0.01,
                    close: p,
                    volume: 1.0,
                }
            })
            .collect()
    }

    fn run(s: &mut dyn Strategy, data: &[Bar]) -> Vec<(usize, f64)> {
        let sym = Symbol::new("BTCUSDT").unwrap();
        let mut out = Vec::new();
        for i in 0..data.len() {
            let ctx = Context {
                symbol: &sym,
                bars: &data[..=i],
                position: dec!(0),
                equity: dec!(1000),
            };
            for intent in s.on_bar(&ctx) {
                if let Intent::Target {
                    target: Target::Exposure(e),
                    ..
                } = intent
                {
                    out.push((i, e));
                }
            }
        }
        out
    }

    #[test]
    fn every_template_builds_with_defaults_and_trades_a_wave() {
        let reg = Registry::builtin();
        let data = bars(600);
        for name in reg.names() {
            let mut s = reg.build(name, &BTreeMap::new()).unwrap();
            let targets = run(s.as_mut(), &data);
            assert!(
                targets.iter().any(|t| t.1 > 0.0),
                "{name} never went long: {targets:?}"
            );
            assert!(s.version().id.starts_with(&format!("{name}@1#")));
        }
        assert!(matches!(
            reg.build("nope", &BTreeMap::new()),
            Err(StrategyError::Unknown(_))
        ));
        let bad = BTreeMap::from([("fast".to_string(), 40.0)]);
        assert!(
            matches!(reg.build("ma_crossover", &bad), Err(StrategyError::BadParam { name, .. }) if name == "fast")
        );
    }

    #[test]
    fn composer_nets_weighted_targets() {
        let reg = Registry::builtin();
        let fast = BTreeMap::from([("fast".to_string(), 5.0), ("slow".to_string(), 20.0)]);
        let mut c = reg
            .compose(
                &[
                    ("ma_crossover", fast.clone(), 0.5),
                    ("ma_crossover", fast.clone(), 0.25),
                ],
                None,
                0.0,
            )
            .unwrap();
        let mut single = reg.build("ma_crossover", &fast).unwrap();
        let data = bars(300);
        let composed = run(&mut c, &data);
        let alone = run(single.as_mut(), &data);
        let scaled: Vec<_> = alone.iter().map(|(i, e)| (*i, e * 0.75)).collect();
        assert_eq!(composed, scaled);
        let other = reg
            .compose(&[("ma_crossover", fast, 0.5)], None, 0.0)
            .unwrap();
        assert_ne!(c.version().id, other.version().id);
        assert!(matches!(
            Composer::new(vec![], None, 0.0),
            Err(StrategyError::Composer { .. })
        ));
        let vn = reg
            .compose(
                &[
                    ("ma_crossover", BTreeMap::new(), 1.0),
                    ("rsi_reversion", BTreeMap::new(), 1.0),
                ],
                Some(50),
                0.1,
            )
            .unwrap();
        let mut vn = vn;
        let t = run(&mut vn, &bars(600));
        assert!(t.iter().all(|(_, e)| (e * 10.0 - (e * 10.0).round()).abs() < 1e-9 && e.abs() <= 2.0 + 1e-9), "{t:?}");
    }
}
