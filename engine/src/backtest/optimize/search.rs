//! A parameter search: a sampler proposes batches of configurations, each is backtested with
//! the live code path ([`crate::backtest::run`]) in parallel, scored by an objective under
//! constraints and appended to the strategy's [`TrialLedger`]; the report carries the best
//! configurations with the deflated Sharpe ratio and the PBO. Walk-forward re-runs the search
//! on each in-sample window and stitches the chosen configurations' out-of-sample runs.
//!
//! Deterministic: trial `i` depends only on the seed, `i` and the trials before its batch (a
//! fixed `batch`, not the number of cores), so a seed gives the same trials on any machine and a
//! run restarted from its ledger continues exactly.

use super::fast::Shared;
use super::ledger::{Trial, TrialLedger, TrialMetrics, METRIC_NAMES};
use super::space::{propose, Range, SamplerKind, Seen, Space, TpeSettings};
use super::stats::{self, Deflated, Pbo, ReturnStats};
use super::{par_map, OptimizeError};
use crate::backtest::{metrics, run, BacktestConfig};
use crate::market::Bar;
use crate::strategy::Registry;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// What a search maximises.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// Annualised Sharpe ratio.
    #[default]
    Sharpe,
    /// Annualised Sortino ratio.
    Sortino,
    /// Calmar ratio.
    Calmar,
    /// Net P&L (ranked as `f64`; reported exact).
    Net,
    /// `Σ weight · metric` over [`METRIC_NAMES`] (negative weights penalise, e.g.
    /// `{"sharpe": 1, "max_drawdown": -2}`).
    Weighted(BTreeMap<String, f64>),
}

impl Objective {
    /// The objective of `m`.
    pub fn score(&self, m: &TrialMetrics) -> f64 {
        match self {
            Objective::Sharpe => m.sharpe,
            Objective::Sortino => m.sortino,
            Objective::Calmar => m.calmar,
            Objective::Net => m.value("net").unwrap_or(0.0),
            Objective::Weighted(w) => w.iter().map(|(k, wt)| wt * m.value(k).unwrap_or(0.0)).sum(),
        }
    }
}

/// Limits a trial must meet to be selectable; an infeasible trial is still recorded.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Constraints {
    /// Fewest executions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_trades: Option<usize>,
    /// Largest drawdown allowed (fraction, 0.25 = 25 %).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_drawdown: Option<f64>,
}

impl Constraints {
    /// The constraints `m` breaks.
    pub fn violations(&self, m: &TrialMetrics) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(n) = self.min_trades {
            if m.executions < n {
                out.push(format!("min_trades: {} < {n}", m.executions));
            }
        }
        if let Some(d) = self.max_drawdown {
            if m.max_drawdown > d {
                out.push(format!("max_drawdown: {} > {d}", m.max_drawdown));
            }
        }
        out
    }
}

/// Walk-forward windows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WalkSpec {
    /// Out-of-sample windows (the bars after the first in-sample span, cut in equal parts).
    pub windows: usize,
    /// Fraction of the bars in the first in-sample span.
    #[serde(default = "default_in_sample")]
    pub in_sample: f64,
    /// Anchored (every in-sample span starts at the first bar) instead of rolling (a span of
    /// fixed length just before each out-of-sample window).
    #[serde(default)]
    pub anchored: bool,
}

fn default_in_sample() -> f64 {
    0.5
}
fn default_trials() -> usize {
    100
}
fn default_batch() -> usize {
    8
}
fn default_blocks() -> usize {
    16
}
fn default_top() -> usize {
    10
}

/// Most trials one search may ask for.
pub const MAX_TRIALS: usize = 100_000;

/// How to search (the CLI's flags and the admin API's `optimize` object).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchSpec {
    /// Sampler.
    #[serde(default = "default_sampler")]
    pub sampler: SamplerKind,
    /// Trials of the run (per walk-forward window); a resumed run counts its earlier ones.
    #[serde(default = "default_trials")]
    pub trials: usize,
    /// Seed of the sampler.
    #[serde(default)]
    pub seed: u64,
    /// Trials proposed together (evaluated in parallel); part of the run's identity.
    #[serde(default = "default_batch")]
    pub batch: usize,
    /// Objective.
    #[serde(default)]
    pub objective: Objective,
    /// Constraints.
    #[serde(default)]
    pub constraints: Constraints,
    /// Ranges overriding the strategy's spec ranges.
    #[serde(default)]
    pub space: BTreeMap<String, Range>,
    /// TPE settings.
    #[serde(default)]
    pub tpe: TpeSettings,
    /// Walk-forward windows (none: one search over all bars).
    #[serde(default)]
    pub walk_forward: Option<WalkSpec>,
    /// CSCV blocks for the PBO (even, 2..=20).
    #[serde(default = "default_blocks")]
    pub cscv_blocks: usize,
    /// Best configurations listed.
    #[serde(default = "default_top")]
    pub top: usize,
}

fn default_sampler() -> SamplerKind {
    SamplerKind::Tpe
}

impl Default for SearchSpec {
    fn default() -> Self {
        Self {
            sampler: default_sampler(),
            trials: default_trials(),
            seed: 0,
            batch: default_batch(),
            objective: Objective::default(),
            constraints: Constraints::default(),
            space: BTreeMap::new(),
            tpe: TpeSettings::default(),
            walk_forward: None,
            cscv_blocks: default_blocks(),
            top: default_top(),
        }
    }
}

impl SearchSpec {
    /// Refuses unusable settings, naming the field.
    ///
    /// # Errors
    /// [`OptimizeError::Field`].
    pub fn check(&self) -> Result<(), OptimizeError> {
        let bad = |field: &'static str, reason: &str| {
            Err(OptimizeError::Field {
                field,
                reason: reason.to_string(),
            })
        };
        if self.trials == 0 || self.trials > MAX_TRIALS {
            return bad("trials", "must be 1..=100000");
        }
        if self.batch == 0 || self.batch > 1024 {
            return bad("batch", "must be 1..=1024");
        }
        if self.cscv_blocks < 2 || self.cscv_blocks > 20 || !self.cscv_blocks.is_multiple_of(2) {
            return bad("cscv_blocks", "must be even, 2..=20");
        }
        if let Objective::Weighted(w) = &self.objective {
            if w.is_empty() {
                return bad("objective", "weighted needs at least one metric");
            }
            if let Some(k) = w.keys().find(|k| !METRIC_NAMES.contains(&k.as_str())) {
                return Err(OptimizeError::Field {
                    field: "objective",
                    reason: format!("unknown metric {k:?}; known: {}", METRIC_NAMES.join(", ")),
                });
            }
            if w.values().any(|v| !v.is_finite()) {
                return bad("objective", "weights must be finite");
            }
        }
        if self
            .constraints
            .max_drawdown
            .is_some_and(|d| d.is_nan() || d < 0.0)
        {
            return bad("constraints", "max_drawdown must be a fraction >= 0");
        }
        if let Some(w) = self.walk_forward {
            if w.windows == 0 || w.windows > 100 {
                return bad("walk_forward", "windows must be 1..=100");
            }
            if !(w.in_sample > 0.0 && w.in_sample < 1.0) {
                return bad("walk_forward", "in_sample must be in (0, 1)");
            }
        }
        Ok(())
    }
}

/// What a search runs on.
#[derive(Debug, Clone, Copy)]
pub struct Problem<'a> {
    /// Backtest config (bot, rules, fees, capital).
    pub config: &'a BacktestConfig,
    /// Strategies.
    pub registry: &'a Registry,
    /// Registered strategy name.
    pub strategy: &'a str,
    /// Bars.
    pub bars: &'a [Bar],
}

/// Progress after each batch (for a progress bar; the caller owns the clock).
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// Trials done in this search (resumed ones included).
    pub done: usize,
    /// Trials the search will have run.
    pub total: usize,
    /// Walk-forward window being searched.
    pub window: Option<usize>,
    /// Best feasible objective so far in the current run.
    pub best: Option<f64>,
}

/// A bar span.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Span {
    /// First bar's open time, ms.
    pub from_ms: i64,
    /// Last bar's open time, ms.
    pub to_ms: i64,
    /// Bars.
    pub bars: usize,
}

fn span(bars: &[Bar]) -> Span {
    Span {
        from_ms: bars.first().map_or(0, |b| b.open_time_ms),
        to_ms: bars.last().map_or(0, |b| b.open_time_ms),
        bars: bars.len(),
    }
}

/// One search run's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunReport {
    /// Run id (the ledger's `run`).
    pub run: String,
    /// Bars searched.
    pub span: Span,
    /// Trials of the run (resumed ones included).
    pub trials: usize,
    /// Trials run by this call.
    pub new_trials: usize,
    /// Feasible trials.
    pub feasible: usize,
    /// Grid size (grid sampler only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grid_points: Option<usize>,
    /// Best feasible trials, best first.
    pub best: Vec<Trial>,
    /// Deflated Sharpe ratio of the best (N = every trial in the ledger).
    pub deflated: Option<Deflated>,
    /// Probability of backtest overfitting over the run's feasible trials.
    pub pbo: Option<Pbo>,
}

/// Out-of-sample results stitched over the windows (each window starts with fresh capital; its
/// P&L is added to the previous windows').
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stitched {
    /// Σ of the windows' net P&L (exact).
    pub net: Decimal,
    /// Σ fees (exact).
    pub fees: Decimal,
    /// Σ executions.
    pub executions: usize,
    /// Ratios of the stitched curve.
    pub total_return: f64,
    /// Annualised Sharpe of the stitched curve.
    pub sharpe: f64,
    /// Annualised Sortino of the stitched curve.
    pub sortino: f64,
    /// Calmar of the stitched curve.
    pub calmar: f64,
    /// Max drawdown of the stitched curve.
    pub max_drawdown: f64,
    /// Stitched equity (initial capital + P&L so far), per out-of-sample bar.
    pub equity_curve: Vec<(i64, f64)>,
}

/// One walk-forward window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Window {
    /// Window number.
    pub index: usize,
    /// The in-sample search.
    pub search: RunReport,
    /// Out-of-sample bars.
    pub out_of_sample: Span,
    /// Configuration chosen in sample (none when no trial was feasible).
    pub chosen: Option<BTreeMap<String, f64>>,
    /// Its out-of-sample results.
    pub oos: Option<TrialMetrics>,
}

/// Walk-forward results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WalkReport {
    /// Anchored or rolling.
    pub anchored: bool,
    /// Windows in order.
    pub windows: Vec<Window>,
    /// Stitched out-of-sample results.
    pub stitched: Stitched,
}

/// A search's report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchReport {
    /// Strategy.
    pub strategy: String,
    /// Sampler.
    pub sampler: SamplerKind,
    /// Seed.
    pub seed: u64,
    /// Objective.
    pub objective: Objective,
    /// Constraints.
    pub constraints: Constraints,
    /// The space searched.
    pub space: Space,
    /// Trials in the ledger after the search (the DSR's N).
    pub ledger_trials: usize,
    /// The search over all bars, or the last walk-forward window's (the configuration to trade
    /// next).
    pub result: RunReport,
    /// Walk-forward windows and stitched out-of-sample results.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub walk_forward: Option<WalkReport>,
}

/// Fingerprint of the bars and the backtest config (first 16 hex of a SHA-256).
pub fn fingerprint(config: &BacktestConfig, bars: &[Bar]) -> String {
    let mut h = Sha256::new();
    h.update(format!("{config:?}").as_bytes());
    // The same bytes as one `update` per field, handed over in chunks of bars (a hasher call
    // per 8 bytes costs more than the hashing of a million bars).
    let mut buf = Vec::with_capacity(48 * 1024);
    for chunk in bars.chunks(1024) {
        buf.clear();
        for b in chunk {
            buf.extend_from_slice(&b.open_time_ms.to_le_bytes());
            for x in [b.open, b.high, b.low, b.close, b.volume] {
                buf.extend_from_slice(&x.to_bits().to_le_bytes());
            }
        }
        h.update(&buf);
    }
    hex::encode(h.finalize())[..16].to_string()
}

fn run_id(
    spec: &SearchSpec,
    strategy: &str,
    data: &str,
    window: Option<usize>,
    seed: u64,
) -> String {
    let ident = serde_json::json!({
        "strategy": strategy, "sampler": spec.sampler, "seed": seed, "batch": spec.batch,
        "tpe": spec.tpe, "space": spec.space, "objective": spec.objective,
        "constraints": spec.constraints, "cscv_blocks": spec.cscv_blocks, "data": data,
        "window": window,
    });
    let digest = hex::encode(Sha256::digest(ident.to_string().as_bytes()));
    digest[..16].to_string()
}

fn trial_metrics(rep: &crate::backtest::BacktestReport) -> TrialMetrics {
    let m = &rep.metrics;
    TrialMetrics {
        net: rep.pnl.net,
        fees: m.fees,
        executions: m.executions,
        total_return: m.total_return,
        sharpe: m.sharpe,
        sortino: m.sortino,
        calmar: m.calmar,
        max_drawdown: m.max_drawdown,
        volatility: m.volatility,
        win_rate: m.win_rate,
        profit_factor: m.profit_factor,
        exposure: m.exposure,
    }
}

/// What evaluating one configuration gives.
struct Eval {
    version: Option<String>,
    metrics: Option<TrialMetrics>,
    returns: Option<ReturnStats>,
    error: Option<String>,
}

fn evaluate(
    p: &Problem,
    shared: &Shared,
    bars: &[Bar],
    params: &BTreeMap<String, f64>,
    blocks: usize,
) -> Eval {
    let mut s = match p.registry.build(p.strategy, params) {
        Ok(s) => s,
        Err(e) => {
            return Eval {
                version: None,
                metrics: None,
                returns: None,
                error: Some(e.to_string()),
            }
        }
    };
    let version = Some(s.version().id.clone());
    // The same backtest with the targets derived from shared indicator series, when the
    // strategy allows it (module `fast`); the real strategy otherwise.
    let ran = match shared.replay(s.as_ref()) {
        Some(mut replay) => run(p.config, &mut replay, bars),
        None => run(p.config, s.as_mut(), bars),
    };
    match ran {
        Ok(rep) => Eval {
            version,
            metrics: Some(trial_metrics(&rep)),
            returns: Some(ReturnStats::of_curve(&rep.equity_curve, blocks)),
            error: None,
        },
        Err(e) => Eval {
            version,
            metrics: None,
            returns: None,
            error: Some(format!("backtest: {e}")),
        },
    }
}

fn seen(t: &Trial) -> Seen {
    Seen {
        params: t.params.clone(),
        score: t.objective.filter(|_| t.feasible),
    }
}

fn rank(trials: &[Trial]) -> Vec<&Trial> {
    let mut v: Vec<&Trial> = trials
        .iter()
        .filter(|t| t.feasible && t.objective.is_some())
        .collect();
    v.sort_by(|a, b| {
        b.objective
            .unwrap_or(f64::MIN)
            .total_cmp(&a.objective.unwrap_or(f64::MIN))
            .then(a.index.cmp(&b.index))
    });
    v
}

/// One run: continue (or start) the sampler's sequence on `bars` until `spec.trials`.
struct RunCtx<'a> {
    p: &'a Problem<'a>,
    spec: &'a SearchSpec,
    space: &'a Space,
    resume: bool,
    done: usize,
    total: usize,
}

impl RunCtx<'_> {
    fn search(
        &mut self,
        bars: &[Bar],
        window: Option<usize>,
        seed: u64,
        ledger: &mut TrialLedger,
        on_batch: &mut dyn FnMut(&Progress, &[Trial]),
    ) -> Result<RunReport, OptimizeError> {
        let spec = self.spec;
        let data = fingerprint(self.p.config, bars);
        let run = run_id(spec, self.p.strategy, &data, window, seed);
        let mut trials: Vec<Trial> = ledger.run(&run).into_iter().cloned().collect();
        if !trials.is_empty() && !self.resume {
            return Err(OptimizeError::AlreadyRun {
                run,
                trials: trials.len(),
            });
        }
        let grid_points = match spec.sampler {
            SamplerKind::Grid => Some(self.space.grid_size()?),
            _ => None,
        };
        let target = grid_points.map_or(spec.trials, |g| g.min(spec.trials));
        let earlier = trials.len().min(target);
        self.done += earlier;
        let new_from = trials.len();
        let shared = Shared::new(bars);
        while trials.len() < target {
            let start = trials.len();
            let batch_start = start / spec.batch * spec.batch;
            let history: Vec<Seen> = trials[..batch_start].iter().map(seen).collect();
            let count = spec.batch.min(target - batch_start);
            let proposed = propose(
                spec.sampler,
                spec.tpe,
                self.space,
                seed,
                batch_start,
                count,
                &history,
            );
            let todo: Vec<(usize, BTreeMap<String, f64>)> = proposed
                .into_iter()
                .enumerate()
                .skip(start - batch_start)
                .map(|(i, p)| (batch_start + i, p))
                .collect();
            if todo.is_empty() {
                break;
            }
            let evals = par_map(&todo, |(_, params)| {
                evaluate(self.p, &shared, bars, params, spec.cscv_blocks)
            });
            let batch: Vec<Trial> = todo
                .into_iter()
                .zip(evals)
                .map(|((index, params), e)| {
                    let objective = e.metrics.as_ref().map(|m| spec.objective.score(m));
                    let mut violations = e
                        .metrics
                        .as_ref()
                        .map(|m| spec.constraints.violations(m))
                        .unwrap_or_default();
                    if objective.is_some_and(|o| !o.is_finite()) {
                        violations.push("objective: not a finite number".into());
                    }
                    Trial {
                        run: run.clone(),
                        index,
                        window,
                        sampler: spec.sampler,
                        seed,
                        data: data.clone(),
                        params,
                        strategy_version: e.version,
                        feasible: e.metrics.is_some() && violations.is_empty(),
                        metrics: e.metrics,
                        objective: objective.filter(|o| o.is_finite()),
                        violations,
                        error: e.error,
                        returns: e.returns,
                    }
                })
                .collect();
            self.done += batch.len();
            ledger.trials.extend(batch.iter().cloned());
            trials.extend(batch.iter().cloned());
            let progress = Progress {
                done: self.done,
                total: self.total,
                window,
                best: rank(&trials).first().and_then(|t| t.objective),
            };
            on_batch(&progress, &batch);
        }
        let ranked = rank(&trials);
        let (n, var) = ledger.sharpe_dispersion();
        let deflated = ranked
            .first()
            .and_then(|t| t.returns.as_ref())
            .map(|r| stats::deflated_sharpe(r.sharpe, r.n, n, var, r.skew, r.kurtosis));
        let blocks: Vec<&[[f64; 3]]> = ranked
            .iter()
            .filter_map(|t| t.returns.as_ref().map(|r| r.blocks.as_slice()))
            .collect();
        Ok(RunReport {
            run,
            span: span(bars),
            trials: trials.len(),
            new_trials: trials.len() - new_from.min(trials.len()),
            feasible: ranked.len(),
            grid_points,
            best: ranked.iter().take(spec.top).map(|t| (*t).clone()).collect(),
            deflated,
            pbo: stats::pbo(&blocks),
        })
    }
}

/// A window's in-sample and out-of-sample bar index ranges.
pub type Cut = (std::ops::Range<usize>, std::ops::Range<usize>);

/// In-sample and out-of-sample bar ranges of each walk-forward window.
///
/// # Errors
/// [`OptimizeError::Field`] `walk_forward` when a span would have fewer than two bars.
pub fn windows(n: usize, w: &WalkSpec) -> Result<Vec<Cut>, OptimizeError> {
    let is_len = (n as f64 * w.in_sample).floor() as usize;
    let oos_len = n.saturating_sub(is_len) / w.windows.max(1);
    if is_len < 2 || oos_len < 2 {
        return Err(OptimizeError::Field {
            field: "walk_forward",
            reason: format!(
                "{n} bars leave too few for {} windows with in_sample {}",
                w.windows, w.in_sample
            ),
        });
    }
    Ok((0..w.windows)
        .map(|i| {
            let start = is_len + i * oos_len;
            let end = if i + 1 == w.windows {
                n
            } else {
                start + oos_len
            };
            let is = if w.anchored {
                0..start
            } else {
                start - is_len..start
            };
            (is, start..end)
        })
        .collect())
}

/// Runs the search described by `spec` on `p`, appending every new trial to `ledger` (and
/// handing each batch to `on_batch`, e.g. to save the ledger and draw progress).
///
/// # Errors
/// [`OptimizeError`]: a bad setting or space, an unknown strategy, a run already in the ledger
/// without `resume`, or a ledger of another strategy.
pub fn search(
    p: &Problem,
    spec: &SearchSpec,
    ledger: &mut TrialLedger,
    resume: bool,
    on_batch: &mut dyn FnMut(&Progress, &[Trial]),
) -> Result<SearchReport, OptimizeError> {
    spec.check()?;
    let (_, specs) = p
        .registry
        .describe(p.strategy)
        .ok_or_else(|| crate::strategy::StrategyError::Unknown(p.strategy.to_string()))?;
    if ledger.strategy.is_empty() {
        ledger.strategy = p.strategy.to_string();
    }
    if ledger.strategy != p.strategy {
        return Err(OptimizeError::Field {
            field: "ledger",
            reason: format!(
                "holds trials of {:?}, not {:?}",
                ledger.strategy, p.strategy
            ),
        });
    }
    let space = Space::for_strategy(specs, &spec.space)?;
    let per_run = match spec.sampler {
        SamplerKind::Grid => space.grid_size()?.min(spec.trials),
        _ => spec.trials,
    };
    let runs = spec.walk_forward.map_or(1, |w| w.windows);
    let mut ctx = RunCtx {
        p,
        spec,
        space: &space,
        resume,
        done: 0,
        total: per_run * runs,
    };
    let (result, walk_forward) = match spec.walk_forward {
        None => (ctx.search(p.bars, None, spec.seed, ledger, on_batch)?, None),
        Some(w) => {
            let cuts = windows(p.bars.len(), &w)?;
            let mut out = Vec::new();
            for (i, (is, oos)) in cuts.into_iter().enumerate() {
                let seed = spec
                    .seed
                    .wrapping_add((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
                let search = ctx.search(&p.bars[is], Some(i), seed, ledger, on_batch)?;
                let chosen = search.best.first().map(|t| t.params.clone());
                let oos_bars = &p.bars[oos];
                let rep = match &chosen {
                    Some(params) => {
                        let mut s = p.registry.build(p.strategy, params)?;
                        Some(run(p.config, s.as_mut(), oos_bars)?)
                    }
                    None => None,
                };
                out.push((search, span(oos_bars), chosen, rep));
            }
            let stitched = stitch(p.config, out.iter().map(|w| (w.1, w.3.as_ref())));
            let windows: Vec<Window> = out
                .into_iter()
                .enumerate()
                .map(|(index, (search, oos_span, chosen, rep))| Window {
                    index,
                    search,
                    out_of_sample: oos_span,
                    chosen,
                    oos: rep.as_ref().map(trial_metrics),
                })
                .collect();
            let last = windows
                .last()
                .map(|w| w.search.clone())
                .ok_or(OptimizeError::Split(w.in_sample))?;
            (
                last,
                Some(WalkReport {
                    anchored: w.anchored,
                    windows,
                    stitched,
                }),
            )
        }
    };
    Ok(SearchReport {
        strategy: p.strategy.to_string(),
        sampler: spec.sampler,
        seed: spec.seed,
        objective: spec.objective.clone(),
        constraints: spec.constraints.clone(),
        space,
        ledger_trials: ledger.trials.len(),
        result,
        walk_forward,
    })
}

/// Chains the windows' out-of-sample runs: each window's equity moves are added to the P&L of
/// the windows before it (a window with no feasible configuration stays flat).
fn stitch<'a>(
    config: &BacktestConfig,
    windows: impl Iterator<Item = (Span, Option<&'a crate::backtest::BacktestReport>)>,
) -> Stitched {
    let initial = config.initial_capital.to_f64().unwrap_or(0.0);
    let (mut net, mut fees, mut executions) = (Decimal::ZERO, Decimal::ZERO, 0usize);
    let mut curve: Vec<(i64, f64)> = Vec::new();
    for (sp, rep) in windows {
        let offset = net.to_f64().unwrap_or(0.0);
        match rep {
            Some(r) => {
                curve.extend(r.equity_curve.iter().map(|&(t, e)| (t, offset + e)));
                net += r.pnl.net;
                fees += r.metrics.fees;
                executions += r.metrics.executions;
            }
            None => {
                curve.push((sp.from_ms, initial + offset));
                curve.push((sp.to_ms, initial + offset));
            }
        }
    }
    let m = metrics::compute(&curve, config.timeframe, &[], Decimal::ZERO, fees, 0);
    Stitched {
        net,
        fees,
        executions,
        total_return: m.total_return,
        sharpe: m.sharpe,
        sortino: m.sortino,
        calmar: m.calmar,
        max_drawdown: m.max_drawdown,
        equity_curve: curve,
    }
}
