//! The weighted composer: a strategy made of others, netting their target exposures into one
//! position so the bot holds a single netted position per instrument (no self-crossing orders).
//!
//! `net = Σ wᵢ·eᵢ` over the legs' latest exposures. With volatility normalisation each weight is
//! divided by the rolling standard deviation of its leg's own returns (`eᵢ × bar return`) and the
//! weights rescaled to the same total `Σ|wᵢ|`, so a jumpy leg does not dominate. `step` quantises
//! the net exposure so small weight drifts do not trade on every bar.

use super::{Context, Intent, Params, Strategy, StrategyError, StrategyVersion, Target};
use crate::factor::Returns;
use crate::model::Side;
use rust_decimal::prelude::ToPrimitive;
use std::collections::BTreeMap;

/// One strategy of a composer with its weight.
#[derive(Debug)]
pub struct Leg {
    /// The strategy.
    pub strategy: Box<dyn Strategy>,
    /// Its weight (negative inverts it).
    pub weight: f64,
}

/// Rolling sample std of a leg's returns (O(1)).
#[derive(Debug, Clone)]
struct LegVol {
    buf: Vec<f64>,
    head: usize,
    len: usize,
    sum: f64,
    sumsq: f64,
}

impl LegVol {
    fn new(n: usize) -> Self {
        Self {
            buf: vec![0.0; n.max(2)],
            head: 0,
            len: 0,
            sum: 0.0,
            sumsq: 0.0,
        }
    }
    fn push(&mut self, x: f64) -> Option<f64> {
        let cap = self.buf.len();
        if self.len == cap {
            let o = self.buf[self.head];
            self.sum -= o;
            self.sumsq -= o * o;
        } else {
            self.len += 1;
        }
        self.buf[self.head] = x;
        self.head = (self.head + 1) % cap;
        self.sum += x;
        self.sumsq += x * x;
        let n = self.len as f64;
        (self.len == cap).then(|| {
            ((self.sumsq - self.sum * self.sum / n) / (n - 1.0))
                .max(0.0)
                .sqrt()
        })
    }
}

/// A weighted composition of strategies trading one instrument.
#[derive(Debug)]
pub struct Composer {
    version: StrategyVersion,
    legs: Vec<Leg>,
    exposure: Vec<f64>,
    vols: Option<Vec<LegVol>>,
    sigma: Vec<Option<f64>>,
    returns: Returns,
    step: f64,
    spoken: bool,
    last: Option<f64>,
}

impl Composer {
    /// Registered name of composites.
    pub const NAME: &'static str = "composer";
    /// Code version.
    pub const VERSION: u32 = 1;

    /// Composes `legs`; `vol_window` enables volatility normalisation over that many bars;
    /// `step` (0 = none) quantises the net exposure.
    ///
    /// # Errors
    /// [`StrategyError::Composer`] for no legs, non-finite weights, all-zero weights, or a bad
    /// `step`/`vol_window`.
    pub fn new(
        legs: Vec<Leg>,
        vol_window: Option<usize>,
        step: f64,
    ) -> Result<Self, StrategyError> {
        let bad = |field: &str, reason: &str| StrategyError::Composer {
            field: field.into(),
            reason: reason.into(),
        };
        if legs.is_empty() {
            return Err(bad("legs", "needs at least one strategy"));
        }
        if let Some(i) = legs.iter().position(|l| !l.weight.is_finite()) {
            return Err(bad(&format!("legs[{i}].weight"), "must be a finite number"));
        }
        if legs.iter().all(|l| l.weight == 0.0) {
            return Err(bad("legs", "every weight is zero"));
        }
        if !(0.0..=1.0).contains(&step) {
            return Err(bad("step", "must be within [0, 1]"));
        }
        if vol_window.is_some_and(|n| n < 2) {
            return Err(bad("vol_window", "must be at least 2"));
        }
        let mut params = BTreeMap::new();
        for (i, l) in legs.iter().enumerate() {
            params.insert(format!("w{i}"), l.weight);
        }
        params.insert("step".into(), step);
        params.insert("vol_window".into(), vol_window.unwrap_or(0) as f64);
        let ids: Vec<&str> = legs
            .iter()
            .map(|l| l.strategy.version().id.as_str())
            .collect();
        let version =
            StrategyVersion::composite(Self::NAME, Self::VERSION, Params::from_map(params), &ids);
        let n = legs.len();
        Ok(Self {
            version,
            legs,
            exposure: vec![0.0; n],
            vols: vol_window.map(|w| vec![LegVol::new(w); n]),
            sigma: vec![None; n],
            returns: Returns::new(),
            step,
            spoken: false,
            last: None,
        })
    }

    /// Re-labels the composite as a declarative spec's: its name, version and parameters, with
    /// the legs' ids and the spec's content hash in the id, so fills are attributed to the spec.
    pub(crate) fn relabel(
        mut self,
        name: &str,
        version: u32,
        params: Params,
        content_hash: &str,
    ) -> Self {
        let mut ids: Vec<String> = self
            .legs
            .iter()
            .map(|l| l.strategy.version().id.clone())
            .collect();
        ids.push(format!("spec={content_hash}"));
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        self.version = StrategyVersion::composite(name, version, params, &refs);
        self
    }

    fn net(&self) -> f64 {
        let total: f64 = self.legs.iter().map(|l| l.weight.abs()).sum();
        let eff: Vec<f64> = match &self.vols {
            Some(_) if self.sigma.iter().all(|s| s.is_some_and(|s| s > 0.0)) => {
                let raw: Vec<f64> = self
                    .legs
                    .iter()
                    .zip(&self.sigma)
                    .map(|(l, s)| l.weight / s.unwrap_or(1.0))
                    .collect();
                let scale = total / raw.iter().map(|w| w.abs()).sum::<f64>();
                raw.iter().map(|w| w * scale).collect()
            }
            _ => self.legs.iter().map(|l| l.weight).collect(),
        };
        let net: f64 = eff.iter().zip(&self.exposure).map(|(w, e)| w * e).sum();
        if self.step > 0.0 {
            (net / self.step).round() * self.step
        } else {
            net
        }
    }
}

fn exposure_of(target: &Target, ctx: &Context<'_>, close: f64) -> f64 {
    match target {
        Target::Exposure(e) => *e,
        Target::Qty(q) => {
            let eq = ctx.equity.to_f64().unwrap_or(0.0);
            if eq > 0.0 {
                q.to_f64().unwrap_or(0.0) * close / eq
            } else {
                0.0
            }
        }
    }
}

impl Strategy for Composer {
    fn version(&self) -> &StrategyVersion {
        &self.version
    }

    fn warm_up(&self) -> usize {
        let legs = self.legs.iter().map(|l| l.strategy.warm_up()).max();
        let vol = self
            .vols
            .as_ref()
            .and_then(|v| v.first())
            .map(|v| v.buf.len() + 1);
        legs.unwrap_or(0).max(vol.unwrap_or(0))
    }

    fn history(&self) -> usize {
        // The volatility windows are finite: their share is in the warm-up.
        let legs = self.legs.iter().map(|l| l.strategy.history()).max();
        legs.unwrap_or(0).max(self.warm_up())
    }

    fn on_bar(&mut self, ctx: &Context<'_>) -> Vec<Intent> {
        let Some(bar) = ctx.bar() else {
            return Vec::new();
        };
        let ret = self.returns.push(bar.close);
        if let (Some(vols), Some(r)) = (&mut self.vols, ret) {
            for (i, v) in vols.iter_mut().enumerate() {
                self.sigma[i] = v.push(self.exposure[i] * r);
            }
        }
        for (i, leg) in self.legs.iter_mut().enumerate() {
            for intent in leg.strategy.on_bar(ctx) {
                match intent {
                    Intent::Target { symbol, target } if &symbol == ctx.symbol => {
                        self.exposure[i] = exposure_of(&target, ctx, bar.close);
                        self.spoken = true;
                    }
                    Intent::Order { symbol, side, qty } if &symbol == ctx.symbol => {
                        let e = exposure_of(&Target::Qty(qty), ctx, bar.close);
                        self.exposure[i] += if side == Side::Buy { e } else { -e };
                        self.spoken = true;
                    }
                    _ => {}
                }
            }
        }
        let net = self.net();
        // Silent until a leg has spoken: a composer of cold legs holds no opinion, not "flat".
        if !self.spoken || self.last == Some(net) {
            return Vec::new();
        }
        self.last = Some(net);
        vec![Intent::Target {
            symbol: ctx.symbol.clone(),
            target: Target::Exposure(net),
        }]
    }

    fn on_fill(&mut self, fill: &crate::model::Fill) {
        for leg in &mut self.legs {
            leg.strategy.on_fill(fill);
        }
    }
}
