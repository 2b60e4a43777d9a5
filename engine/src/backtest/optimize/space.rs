//! Typed parameter ranges and the three samplers over them (grid, random, TPE). A sampler is a
//! pure function of (seed, trial index, the trials before its batch), so the same seed gives the
//! same trials and a run restarted from its ledger continues with the very trials it would have
//! run had it never stopped.

use crate::strategy::ParamSpec;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Most points a grid may have (the product of its axes), so a typo cannot allocate the world.
pub const MAX_GRID: usize = 1_000_000;
/// Points of a real-valued axis without a `step` in a grid.
pub const REAL_GRID_POINTS: usize = 10;

/// The values one parameter is searched over: `[min, max]`, optionally on a `step` lattice
/// (from `min`), whole numbers for an integer parameter, or log-uniform (`log`, `min` > 0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Range {
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Lattice step from `min` (whole numbers default to 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<f64>,
    /// Whole numbers only (set from the strategy's spec; cannot be turned off).
    #[serde(default)]
    pub integer: bool,
    /// Sample uniformly in `ln(x)` (continuous real ranges only).
    #[serde(default)]
    pub log: bool,
}

/// Why a search space was refused; names the parameter.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SpaceError {
    /// A range for a parameter the strategy does not have.
    #[error("space.{0}: the strategy has no such parameter")]
    Unknown(String),
    /// An unusable range.
    #[error("space.{name}: {reason}")]
    Bad {
        /// Parameter.
        name: String,
        /// Why.
        reason: String,
    },
    /// A grid with more than [`MAX_GRID`] points.
    #[error("the grid has more than {MAX_GRID} points: narrow the ranges or give a step")]
    GridTooLarge,
}

/// Which sampler proposes the trials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SamplerKind {
    /// Every lattice point in a fixed order (trial `i` is point `i`).
    Grid,
    /// Independent uniform draws from the seed.
    Random,
    /// Tree-structured Parzen estimator: random for the first trials, then the candidate
    /// maximising l(x)/g(x) (densities over the good and the bad trials).
    Tpe,
}

/// A strategy's search space: one [`Range`] per parameter, sorted by name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Space {
    /// Ranges by parameter name.
    pub ranges: BTreeMap<String, Range>,
}

/// A discrete axis: `count` values `min + i·step` (computed, never materialised for sampling).
#[derive(Debug, Clone, Copy)]
struct Lattice {
    min: f64,
    step: f64,
    count: usize,
}

impl Lattice {
    fn value(&self, i: usize) -> f64 {
        self.min + self.step * i as f64
    }

    /// The index of the lattice value nearest `v`.
    fn index(&self, v: f64) -> usize {
        let i = ((v - self.min) / self.step).round();
        if i.is_nan() || i < 0.0 {
            0
        } else {
            (i as usize).min(self.count - 1)
        }
    }
}

/// The axis's lattice; `None` for a continuous one. A count beyond [`MAX_GRID`] saturates
/// there + 1 ([`Space::for_strategy`] refuses such a range).
fn lattice(r: &Range) -> Option<Lattice> {
    let step = match (r.step, r.integer) {
        (Some(s), _) => s,
        (None, true) => 1.0,
        (None, false) => return None,
    };
    let n = ((r.max - r.min) / step + 1e-9).floor() + 1.0;
    let count = if n.is_finite() && n >= 1.0 && n <= MAX_GRID as f64 {
        n as usize
    } else {
        MAX_GRID + 1
    };
    Some(Lattice {
        min: r.min,
        step,
        count,
    })
}

impl Space {
    /// The space of a strategy: every parameter over its spec's `[min, max]` unless `overrides`
    /// narrows it (a range with `min == max` pins the parameter). Overrides must stay inside the
    /// spec's range and keep whole numbers whole.
    ///
    /// # Errors
    /// [`SpaceError`] naming the parameter.
    pub fn for_strategy(
        specs: &[ParamSpec],
        overrides: &BTreeMap<String, Range>,
    ) -> Result<Self, SpaceError> {
        if let Some(name) = overrides
            .keys()
            .find(|k| !specs.iter().any(|s| s.name == k.as_str()))
        {
            return Err(SpaceError::Unknown(name.clone()));
        }
        let mut ranges = BTreeMap::new();
        for spec in specs {
            let bad = |reason: String| SpaceError::Bad {
                name: spec.name.to_string(),
                reason,
            };
            let mut r = overrides.get(spec.name).cloned().unwrap_or(Range {
                min: spec.min,
                max: spec.max,
                step: None,
                integer: spec.integer,
                log: false,
            });
            r.integer = spec.integer;
            if !(r.min.is_finite() && r.max.is_finite()) || r.min > r.max {
                return Err(bad("min and max must be finite with min <= max".into()));
            }
            if r.min < spec.min || r.max > spec.max {
                return Err(bad(format!(
                    "must lie within the strategy's [{}, {}]",
                    spec.min, spec.max
                )));
            }
            if r.integer && (r.min.fract() != 0.0 || r.max.fract() != 0.0) {
                return Err(bad(
                    "a whole-number parameter needs whole min and max".into()
                ));
            }
            if let Some(s) = r.step {
                if !(s.is_finite() && s > 0.0) || (r.integer && s.fract() != 0.0) {
                    return Err(bad("step must be positive (whole for integers)".into()));
                }
            }
            if lattice(&r).is_some_and(|l| l.count > MAX_GRID) {
                return Err(bad(format!(
                    "more than {MAX_GRID} values: give a larger step"
                )));
            }
            if r.log && (r.min <= 0.0 || r.step.is_some() || r.integer) {
                return Err(bad("log needs a continuous real range with min > 0".into()));
            }
            ranges.insert(spec.name.to_string(), r);
        }
        Ok(Self { ranges })
    }

    /// The grid's axes: each discrete axis's lattice, a continuous one as
    /// [`REAL_GRID_POINTS`] evenly spaced values (both ends included).
    fn axes(&self) -> Vec<(&str, Lattice)> {
        self.ranges
            .iter()
            .map(|(name, r)| {
                let axis = lattice(r).unwrap_or(if r.min == r.max {
                    Lattice {
                        min: r.min,
                        step: 1.0,
                        count: 1,
                    }
                } else {
                    Lattice {
                        min: r.min,
                        step: (r.max - r.min) / (REAL_GRID_POINTS - 1) as f64,
                        count: REAL_GRID_POINTS,
                    }
                });
                (name.as_str(), axis)
            })
            .collect()
    }

    /// Points in the grid.
    ///
    /// # Errors
    /// [`SpaceError::GridTooLarge`] over [`MAX_GRID`].
    pub fn grid_size(&self) -> Result<usize, SpaceError> {
        self.axes().iter().try_fold(1usize, |acc, (_, a)| {
            acc.checked_mul(a.count)
                .filter(|n| *n <= MAX_GRID)
                .ok_or(SpaceError::GridTooLarge)
        })
    }

    /// Grid point `index` (the last parameter varies fastest), `None` past the end.
    pub fn grid_point(&self, index: usize) -> Option<BTreeMap<String, f64>> {
        let axes = self.axes();
        let size = self.grid_size().ok()?;
        if index >= size {
            return None;
        }
        let mut rest = index;
        let mut out = BTreeMap::new();
        for (name, axis) in axes.iter().rev() {
            out.insert((*name).to_string(), axis.value(rest % axis.count));
            rest /= axis.count;
        }
        Some(out)
    }

    /// The parameter values at a point of the unit cube (one coordinate per parameter, in name
    /// order): a discrete axis picks value `floor(u·k)`, a continuous one interpolates.
    pub fn at(&self, unit: &[f64]) -> BTreeMap<String, f64> {
        self.ranges
            .iter()
            .zip(unit)
            .map(|((name, r), &u)| {
                let u = u.clamp(0.0, 1.0);
                let v = match lattice(r) {
                    Some(l) => l.value(((u * l.count as f64) as usize).min(l.count - 1)),
                    // Clamped: `exp(ln x)` may land an ulp outside the range.
                    None if r.log => (r.min.ln() + u * (r.max.ln() - r.min.ln()))
                        .exp()
                        .clamp(r.min, r.max),
                    None => (r.min + u * (r.max - r.min)).clamp(r.min, r.max),
                };
                (name.clone(), v)
            })
            .collect()
    }

    /// The unit-cube coordinates of parameter values (a discrete value at its cell's centre).
    pub fn unit(&self, params: &BTreeMap<String, f64>) -> Vec<f64> {
        self.ranges
            .iter()
            .map(|(name, r)| {
                let v = params.get(name).copied().unwrap_or(r.min);
                match lattice(r) {
                    Some(l) => (l.index(v) as f64 + 0.5) / l.count as f64,
                    None if r.min == r.max => 0.5,
                    None if r.log => (v.ln() - r.min.ln()) / (r.max.ln() - r.min.ln()),
                    None => (v - r.min) / (r.max - r.min),
                }
            })
            .collect()
    }

    /// Number of values of each axis (`None`: continuous).
    fn cells(&self) -> Vec<Option<usize>> {
        self.ranges
            .values()
            .map(|r| lattice(r).map(|l| l.count))
            .collect()
    }
}

/// TPE settings (Optuna's defaults).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TpeSettings {
    /// Random trials before the model is used.
    #[serde(default = "default_startup")]
    pub startup: usize,
    /// Candidates drawn from l(x) per proposal.
    #[serde(default = "default_candidates")]
    pub candidates: usize,
}

fn default_startup() -> usize {
    10
}
fn default_candidates() -> usize {
    24
}

impl Default for TpeSettings {
    fn default() -> Self {
        Self {
            startup: default_startup(),
            candidates: default_candidates(),
        }
    }
}

/// A trial already run, as a sampler sees it: its parameters and its objective (`None` when it
/// was infeasible or the strategy refused the parameters: always among the bad).
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    /// Parameters.
    pub params: BTreeMap<String, f64>,
    /// Objective (higher is better).
    pub score: Option<f64>,
}

/// SplitMix64 with Box–Muller: the samplers' draws (the same generator as the engine's seeded
/// tests, kept here because those are test-only).
#[derive(Debug, Clone)]
struct SplitMix(u64);

impl SplitMix {
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

    /// Standard normal.
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }

    /// Uniform in `0..n` (`n` > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// The draws of trial `index` of a run seeded `seed`: independent of every other trial's.
fn rng(seed: u64, index: usize) -> SplitMix {
    let mut m = SplitMix(seed ^ (index as u64).wrapping_mul(0xA24B_AED4_963E_E407));
    m.next_u64();
    m
}

fn key(p: &BTreeMap<String, f64>) -> Vec<u64> {
    p.values().map(|v| v.to_bits()).collect()
}

/// Proposes trials `start..start + count` of a run (one batch): `history` holds the run's
/// trials before `start` (in order). A run restarted inside a batch proposes the whole batch
/// again and skips the trials it already has, so the sequence is the uninterrupted one. Grid point `i` for the grid (`None` past its end), else a fresh draw;
/// random and TPE avoid repeating a configuration already tried or proposed in the batch while
/// the space has untried ones.
pub fn propose(
    kind: SamplerKind,
    tpe: TpeSettings,
    space: &Space,
    seed: u64,
    start: usize,
    count: usize,
    history: &[Seen],
) -> Vec<BTreeMap<String, f64>> {
    if kind == SamplerKind::Grid {
        return (start..start + count)
            .map_while(|i| space.grid_point(i))
            .collect();
    }
    let mut taken: BTreeSet<Vec<u64>> = history.iter().map(|s| key(&s.params)).collect();
    let model = (kind == SamplerKind::Tpe && history.len() >= tpe.startup.max(2))
        .then(|| Tpe::fit(space, history))
        .flatten();
    let dims = space.ranges.len();
    let mut out = Vec::with_capacity(count);
    for i in start..start + count {
        let mut r = rng(seed, i);
        let mut pick = None;
        if let Some(m) = &model {
            for _ in 0..10 {
                pick = m.best_candidate(space, &mut r, tpe.candidates, &taken);
                if pick.is_some() {
                    break;
                }
            }
        }
        let p = pick.unwrap_or_else(|| {
            let mut first = None;
            for _ in 0..100 {
                let u: Vec<f64> = (0..dims).map(|_| r.uniform()).collect();
                let p = space.at(&u);
                if !taken.contains(&key(&p)) {
                    return p;
                }
                first.get_or_insert(p);
            }
            first.unwrap_or_default()
        });
        taken.insert(key(&p));
        out.push(p);
    }
    out
}

/// One axis's Parzen estimator on [0, 1]: Gaussians at the observations (bandwidth from the
/// neighbours' distances) and a wide prior at 0.5, each truncated to [0, 1], equal weights.
#[derive(Debug, Clone)]
struct Parzen {
    mu: Vec<f64>,
    sigma: Vec<f64>,
    /// Mass of each component inside [0, 1].
    mass: Vec<f64>,
}

fn phi(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

impl Parzen {
    fn new(obs: &[f64], cells: Option<usize>) -> Self {
        let mut pts: Vec<f64> = obs.to_vec();
        pts.sort_by(f64::total_cmp);
        let n = pts.len();
        let lo = 1.0 / (n as f64 + 1.0).min(100.0);
        let lo = cells.map_or(lo, |k| lo.max(0.5 / k as f64));
        let mut mu = Vec::with_capacity(n + 1);
        let mut sigma = Vec::with_capacity(n + 1);
        for (i, &x) in pts.iter().enumerate() {
            let left = if i == 0 { x } else { x - pts[i - 1] };
            let right = if i + 1 == n { 1.0 - x } else { pts[i + 1] - x };
            mu.push(x);
            sigma.push(left.max(right).clamp(lo, 1.0));
        }
        mu.push(0.5);
        sigma.push(1.0);
        let mass = mu
            .iter()
            .zip(&sigma)
            .map(|(m, s)| (phi((1.0 - m) / s) - phi(-m / s)).max(1e-12))
            .collect();
        Self { mu, sigma, mass }
    }

    fn sample(&self, r: &mut SplitMix) -> f64 {
        let c = r.below(self.mu.len() as u64) as usize;
        for _ in 0..20 {
            let x = self.mu[c] + self.sigma[c] * r.normal();
            if (0.0..=1.0).contains(&x) {
                return x;
            }
        }
        self.mu[c].clamp(0.0, 1.0)
    }

    fn ln_density(&self, x: f64) -> f64 {
        let norm = (2.0 * std::f64::consts::PI).sqrt();
        let d: f64 = self
            .mu
            .iter()
            .zip(&self.sigma)
            .zip(&self.mass)
            .map(|((m, s), z)| (-0.5 * ((x - m) / s).powi(2)).exp() / (s * norm * z))
            .sum();
        (d / self.mu.len() as f64).max(1e-300).ln()
    }
}

/// The fitted model: per axis, l over the good trials and g over the rest.
struct Tpe {
    good: Vec<Parzen>,
    bad: Vec<Parzen>,
}

impl Tpe {
    /// Splits the history (best `min(ceil(0.1 n), 25)` feasible trials are good); `None` when
    /// no trial is feasible yet.
    fn fit(space: &Space, history: &[Seen]) -> Option<Self> {
        let mut order: Vec<usize> = (0..history.len())
            .filter(|&i| history[i].score.is_some())
            .collect();
        if order.is_empty() {
            return None;
        }
        order.sort_by(|&a, &b| {
            let (x, y) = (history[a].score, history[b].score);
            y.unwrap_or(f64::MIN)
                .total_cmp(&x.unwrap_or(f64::MIN))
                .then(a.cmp(&b))
        });
        let n_good = ((history.len() as f64 * 0.1).ceil() as usize)
            .clamp(1, 25)
            .min(order.len());
        let good: BTreeSet<usize> = order[..n_good].iter().copied().collect();
        let units: Vec<Vec<f64>> = history.iter().map(|s| space.unit(&s.params)).collect();
        let cells = space.cells();
        let axis = |pick: &dyn Fn(usize) -> bool, d: usize| {
            let obs: Vec<f64> = (0..units.len())
                .filter(|&i| pick(i))
                .map(|i| units[i][d])
                .collect();
            Parzen::new(&obs, cells[d])
        };
        let dims = cells.len();
        Some(Self {
            good: (0..dims).map(|d| axis(&|i| good.contains(&i), d)).collect(),
            bad: (0..dims)
                .map(|d| axis(&|i| !good.contains(&i), d))
                .collect(),
        })
    }

    /// Draws `n` candidates from l and returns the untaken one with the highest
    /// `Σ ln l − ln g`, if any.
    fn best_candidate(
        &self,
        space: &Space,
        r: &mut SplitMix,
        n: usize,
        taken: &BTreeSet<Vec<u64>>,
    ) -> Option<BTreeMap<String, f64>> {
        let mut best: Option<(f64, BTreeMap<String, f64>)> = None;
        for _ in 0..n.max(1) {
            let u: Vec<f64> = self.good.iter().map(|p| p.sample(r)).collect();
            let p = space.at(&u);
            if taken.contains(&key(&p)) {
                continue;
            }
            let snapped = space.unit(&p);
            let score: f64 = snapped
                .iter()
                .enumerate()
                .map(|(d, &x)| self.good[d].ln_density(x) - self.bad[d].ln_density(x))
                .sum();
            if best.as_ref().is_none_or(|(s, _)| score > *s) {
                best = Some((score, p));
            }
        }
        best.map(|(_, p)| p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: [ParamSpec; 2] = [
        ParamSpec::int("n", 10.0, 2.0, 50.0),
        ParamSpec::real("k", 2.0, 0.5, 4.0),
    ];

    fn ov(pairs: &[(&str, Range)]) -> BTreeMap<String, Range> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn r(min: f64, max: f64, step: Option<f64>) -> Range {
        Range {
            min,
            max,
            step,
            integer: false,
            log: false,
        }
    }

    #[test]
    fn overrides_are_checked_against_the_specs() {
        let s = Space::for_strategy(&SPECS, &BTreeMap::new()).unwrap();
        assert!(s.ranges["n"].integer && !s.ranges["k"].integer);
        for (o, want) in [
            (ov(&[("z", r(1.0, 2.0, None))]), "space.z"),
            (ov(&[("n", r(1.0, 20.0, None))]), "space.n"),
            (ov(&[("n", r(2.0, 20.5, None))]), "space.n"),
            (ov(&[("k", r(3.0, 1.0, None))]), "space.k"),
            (ov(&[("k", r(1.0, 2.0, Some(0.0)))]), "space.k"),
            // A lattice of 3.5e9 values is refused, not allocated.
            (ov(&[("k", r(0.5, 4.0, Some(1e-9)))]), "space.k"),
        ] {
            let e = Space::for_strategy(&SPECS, &o).unwrap_err().to_string();
            assert!(e.starts_with(want), "{e}");
        }
    }

    #[test]
    fn grid_enumerates_lattices_in_order() {
        let s = Space::for_strategy(
            &SPECS,
            &ov(&[("n", r(2.0, 6.0, Some(2.0))), ("k", r(1.0, 2.0, Some(0.5)))]),
        )
        .unwrap();
        assert_eq!(s.grid_size().unwrap(), 9);
        let pts = propose(SamplerKind::Grid, TpeSettings::default(), &s, 0, 0, 20, &[]);
        assert_eq!(pts.len(), 9);
        assert_eq!((pts[0]["k"], pts[0]["n"]), (1.0, 2.0));
        assert_eq!((pts[1]["k"], pts[1]["n"]), (1.0, 4.0));
        assert_eq!((pts[8]["k"], pts[8]["n"]), (2.0, 6.0));
        let tail = propose(SamplerKind::Grid, TpeSettings::default(), &s, 0, 7, 5, &[]);
        assert_eq!(tail, pts[7..].to_vec());
        let whole = Space::for_strategy(&SPECS, &BTreeMap::new()).unwrap();
        assert_eq!(whole.grid_size().unwrap(), 49 * REAL_GRID_POINTS);
        for p in &pts {
            assert_eq!(s.at(&s.unit(p)), *p);
        }
    }

    /// A smooth objective with its peak at n = 37, k = 1.3.
    fn f(p: &BTreeMap<String, f64>) -> f64 {
        -((p["n"] - 37.0) / 48.0).powi(2) - ((p["k"] - 1.3) / 3.5).powi(2)
    }

    fn drive(kind: SamplerKind, seed: u64, total: usize, batch: usize) -> Vec<Seen> {
        let s = Space::for_strategy(&SPECS, &BTreeMap::new()).unwrap();
        let mut hist: Vec<Seen> = Vec::new();
        while hist.len() < total {
            let n = batch.min(total - hist.len());
            let ps = propose(kind, TpeSettings::default(), &s, seed, hist.len(), n, &hist);
            hist.extend(ps.into_iter().map(|p| Seen {
                score: Some(f(&p)),
                params: p,
            }));
        }
        hist
    }

    #[test]
    fn samplers_are_seeded_and_resume_where_they_stopped() {
        for kind in [SamplerKind::Random, SamplerKind::Tpe] {
            let a = drive(kind, 7, 40, 4);
            assert_eq!(a, drive(kind, 7, 40, 4), "{kind:?}");
            assert_ne!(a, drive(kind, 8, 40, 4), "{kind:?}");
            // Stopping after 22 trials (mid-batch) and restarting from the ledger gives the
            // same 40: trial i only depends on the seed, i and the trials before its batch.
            let s = Space::for_strategy(&SPECS, &BTreeMap::new()).unwrap();
            let mut hist = a[..22].to_vec();
            while hist.len() < 40 {
                // A restart re-proposes its whole batch and skips the trials already run.
                let start = hist.len();
                let batch_start = start / 4 * 4;
                let n = 4.min(40 - batch_start);
                let ps = propose(
                    kind,
                    TpeSettings::default(),
                    &s,
                    7,
                    batch_start,
                    n,
                    &hist[..batch_start],
                );
                hist.extend(ps.into_iter().skip(start - batch_start).map(|p| Seen {
                    score: Some(f(&p)),
                    params: p,
                }));
            }
            assert_eq!(hist, a, "{kind:?}");
            let keys: BTreeSet<_> = hist.iter().map(|s| key(&s.params)).collect();
            assert_eq!(keys.len(), 40, "{kind:?} repeated a configuration");
        }
    }

    #[test]
    fn tpe_beats_random_on_a_smooth_objective() {
        // Median over 9 seeds of the best after 40 trials.
        let best = |kind| {
            let mut v: Vec<f64> = (0..9)
                .map(|seed| {
                    drive(kind, seed, 40, 1)
                        .iter()
                        .filter_map(|s| s.score)
                        .fold(f64::MIN, f64::max)
                })
                .collect();
            v.sort_by(f64::total_cmp);
            v[4]
        };
        let (tpe, random) = (best(SamplerKind::Tpe), best(SamplerKind::Random));
        assert!(tpe > random, "tpe {tpe} random {random}");
    }

    mod proptests {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(crate::prop_seed::config(300))]

            /// Any user range the space accepts maps every point of the unit cube into the
            /// strategy's accepted values (inside the range, whole where whole, on the step), and
            /// a lattice value's coordinates map back to it.
            #[test]
            fn the_unit_cube_maps_into_the_ranges(
                lo in 2u32..20, span in 0u32..30, step in 1u32..7,
                kmin in 0.5f64..2.0, kspan in 0.0f64..2.0, log in any::<bool>(),
                u in proptest::collection::vec(0.0f64..=1.0, 2),
            ) {
                let (nmin, nmax) = (f64::from(lo), f64::from(lo + span));
                let space = Space::for_strategy(&SPECS, &ov(&[
                    ("n", Range { min: nmin, max: nmax, step: Some(f64::from(step)), integer: true, log: false }),
                    ("k", Range { min: kmin, max: kmin + kspan, step: None, integer: false, log }),
                ])).unwrap();
                let p = space.at(&u);
                let given: BTreeMap<String, f64> = p.clone();
                prop_assert!(crate::strategy::Params::validate("s", &SPECS, &given).is_ok(), "{p:?}");
                prop_assert!(p["n"] >= nmin && p["n"] <= nmax && (p["n"] - nmin) % f64::from(step) == 0.0);
                prop_assert!(p["k"] >= kmin - 1e-12 && p["k"] <= kmin + kspan + 1e-9);
                prop_assert_eq!(space.at(&space.unit(&p))["n"], p["n"]);
            }
        }
    }
}
