//! Declarative strategies: a JSON spec over the factor library, validated once with errors that
//! name the exact path in the document, then compiled per parameter set into a flat [`plan`]
//! that runs per bar without allocating (the same [`Strategy`](super::Strategy) trait as the
//! compiled templates, so backtests, paper and live bots run a spec exactly as they run a
//! template). Why: a new strategy should not need Rust code, a registry entry and a redeploy.
//!
//! ```json
//! {"name": "sma_cross", "version": 1,
//!  "params":  {"fast": {"type": "int", "default": 10, "min": 1, "max": 1000},
//!              "slow": {"type": "int", "default": 30, "min": 2, "max": 5000}},
//!  "checks":  [{"param": "fast", "expr": {"lt": ["$fast", "$slow"]}, "message": "must be below slow"}],
//!  "factors": {"f": {"kind": "sma", "args": {"n": "$fast"}},
//!              "s": {"kind": "sma", "args": {"n": "$slow"}}},
//!  "target":  {"expr": {"if": [{"gt": ["f", "s"]}, 1, 0]}, "min": -1, "max": 1}}
//! ```
//!
//! References in expressions: a number; `"$param"`; `"factor"` or `"factor.field"` (a band's
//! `upper`); `"open" | "high" | "low" | "close" | "volume"` of the bar that just closed; a
//! named signal; any of these (except signals) with a lag, `"close[1]"`, `"entry.upper[1]"`.
//! A negative lag would read the future and is refused. Operators are one-key objects:
//! `{"gt": [a, b]}`, `{"and": [..]}`, `{"cross_above": [a, b]}`, `{"for_bars": [n, cond]}`…
//! (the full list is [`OPERATORS`] and the published JSON Schema,
//! `engine/test_data/specs/strategy-spec.schema.json`).
//!
//! Semantics shared with the templates: a bar is decided only when every value the spec
//! references is warm (else nothing is emitted and no rule state moves); a target is emitted only
//! when it changes. `rules` run the templates' state machine: a long position exits on
//! `long_exit`, a short on `short_exit`; otherwise `long_entry` goes long, `short_entry` short.

mod catalog;
mod parse;
mod plan;

#[cfg(test)]
mod multi_tests;
#[cfg(test)]
mod tests;

pub use catalog::{FactorKind, FACTORS};
pub use parse::{Expr, OPERATORS};

/// The built-in templates written as specs (`engine/specs/`): `(template name, spec JSON)`.
/// Each gives the same targets, fills and metrics as its compiled template (tested bar for bar).
pub const TEMPLATES: [(&str, &str); 5] = [
    (
        "ma_crossover",
        include_str!("../../../specs/ma_crossover.json"),
    ),
    (
        "rsi_reversion",
        include_str!("../../../specs/rsi_reversion.json"),
    ),
    (
        "donchian_breakout",
        include_str!("../../../specs/donchian_breakout.json"),
    ),
    (
        "bollinger_reversion",
        include_str!("../../../specs/bollinger_reversion.json"),
    ),
    (
        "vol_target_trend",
        include_str!("../../../specs/vol_target_trend.json"),
    ),
];

/// The published JSON Schema of a spec document (also served by the admin API).
pub const SCHEMA: &str = include_str!("../../../specs/strategy-spec.schema.json");
pub use plan::SpecStrategy;

use super::{Composer, Leg, Params, Registry, Strategy, StrategyError};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Longest window a spec may ask of a factor (bounds the memory a spec can make a bot allocate).
pub const MAX_WINDOW: f64 = 100_000.0;
/// Largest lag (bars back) or `for_bars` count.
pub const MAX_LAG: usize = 10_000;
/// Most nodes in one spec's expressions (bounds compile time and plan size).
pub const MAX_NODES: usize = 10_000;
/// Deepest expression nesting (a hostile spec cannot overflow the parser's stack).
pub const MAX_DEPTH: usize = 64;

/// One problem in a spec, with the path of the offending value (`factors.fast.args.n`,
/// `rules.long_entry.and[1].gt[0]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpecIssue {
    /// Dotted path into the spec document.
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

impl std::fmt::Display for SpecIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

/// Type of a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamType {
    /// Whole number (a window length).
    Int,
    /// Real number (a threshold).
    Real,
    /// 0 or 1; a condition in expressions.
    Bool,
}

/// One declared parameter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParamDef {
    /// Type.
    #[serde(rename = "type")]
    pub kind: ParamType,
    /// Value when not given.
    pub default: f64,
    /// Smallest allowed.
    pub min: f64,
    /// Largest allowed.
    pub max: f64,
}

/// A condition on parameters checked when a parameter set is built (`fast < slow`).
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// The parameter the refusal names.
    pub param: String,
    /// Condition over parameters only.
    pub expr: Expr,
    /// Reason given when it fails.
    pub message: String,
}

/// A factor of the library with its arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct FactorDef {
    /// Which factor.
    pub kind: FactorKind,
    /// Arguments in the catalogue's order (numbers or parameter references).
    pub args: Vec<Expr>,
    /// The declared series it reads (`None`: the one series of a single-series spec).
    pub series: Option<String>,
}

/// A series a multi-series spec reads: an instrument's closed bars at a timeframe equal to or
/// a whole multiple of the spec's base timeframe (higher ones resampled from the base bars, a
/// higher bar visible only once closed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeriesDef {
    /// Instrument.
    pub symbol: crate::ids::Symbol,
    /// Its timeframe.
    pub timeframe: crate::market::Timeframe,
}

/// One instrument's target in a multi-series spec.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetDef {
    /// The series whose symbol is traded.
    pub series: String,
    /// Exposure expression.
    pub expr: Expr,
    /// Lower clamp.
    pub min: f64,
    /// Upper clamp.
    pub max: f64,
}

/// Where a composed leg comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum LegSource {
    /// A built-in template by name.
    Template(String),
    /// A nested spec.
    Spec(Box<StrategySpec>),
}

/// One leg of a composed spec.
#[derive(Debug, Clone, PartialEq)]
pub struct LegDef {
    /// The strategy.
    pub source: LegSource,
    /// Its parameters (numbers or the outer spec's `$param`s).
    pub params: BTreeMap<String, Expr>,
    /// Its weight (a number or a `$param`).
    pub weight: Expr,
}

/// What the spec decides.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Weighted strategies netted into one target (the composer), with optional volatility
    /// normalisation over `vol_window` bars and the net quantised to `step`.
    Compose {
        /// Legs.
        legs: Vec<LegDef>,
        /// Normalisation window (`None` = plain weights).
        vol_window: Option<Expr>,
        /// Quantisation step (0 = none).
        step: Expr,
    },
    /// A target exposure expression, clamped to `[min, max]`.
    Target {
        /// Exposure expression.
        expr: Expr,
        /// Lower clamp.
        min: f64,
        /// Upper clamp.
        max: f64,
    },
    /// One target exposure per instrument (a multi-series spec), each clamped.
    Targets(Vec<TargetDef>),
    /// Entry and exit conditions over a long/flat/short state.
    Rules {
        /// Go long.
        long_entry: Option<Expr>,
        /// Leave a long.
        long_exit: Option<Expr>,
        /// Go short.
        short_entry: Option<Expr>,
        /// Leave a short.
        short_exit: Option<Expr>,
    },
}

/// A validated spec: every name resolves, every type fits, no cycle, no look-ahead.
#[derive(Debug, Clone, PartialEq)]
pub struct StrategySpec {
    /// Strategy name (`[a-z0-9_]`, not a built-in template's).
    pub name: String,
    /// The author's version label.
    pub version: u32,
    /// Base timeframe of a multi-series spec (the bars it is stepped on); `None` otherwise.
    pub timeframe: Option<crate::market::Timeframe>,
    /// Declared series, by name (empty: a single-series spec run on the bot's one instrument).
    pub series: BTreeMap<String, SeriesDef>,
    /// Declared parameters.
    pub params: BTreeMap<String, ParamDef>,
    /// Parameter conditions.
    pub checks: Vec<Check>,
    /// Factors by name.
    pub factors: BTreeMap<String, FactorDef>,
    /// Named expressions, in an order where each only uses earlier ones.
    pub signals: Vec<(String, Expr)>,
    /// The decision.
    pub output: Output,
    /// sha256 of the canonical JSON text: any change to the spec is a new version id.
    pub content_hash: String,
    /// The document as given (stored with a bot, echoed by the API).
    pub source: Value,
}

impl StrategySpec {
    /// Parses and validates a spec document.
    ///
    /// # Errors
    /// Every problem found, each with its path.
    pub fn parse(doc: &Value) -> Result<Self, Vec<SpecIssue>> {
        let mut spec = parse::parse(doc)?;
        let text = serde_json::to_string(doc).unwrap_or_default();
        spec.content_hash = hex::encode(Sha256::digest(text.as_bytes()));
        spec.source = doc.clone();
        Ok(spec)
    }

    /// Parses JSON text.
    ///
    /// # Errors
    /// A single issue at `.` for text that is not JSON, or the spec's problems.
    pub fn from_json(text: &str) -> Result<Self, Vec<SpecIssue>> {
        let doc: Value = serde_json::from_str(text).map_err(|e| {
            vec![SpecIssue {
                path: ".".into(),
                reason: format!("not JSON: {e}"),
            }]
        })?;
        Self::parse(&doc)
    }

    /// Validates `given` against the declared parameters and the checks.
    ///
    /// # Errors
    /// [`StrategyError::UnknownParam`] / [`StrategyError::BadParam`] naming the parameter.
    pub fn params_for(&self, given: &BTreeMap<String, f64>) -> Result<Params, StrategyError> {
        if let Some(name) = given.keys().find(|k| !self.params.contains_key(*k)) {
            return Err(StrategyError::UnknownParam {
                strategy: self.name.clone(),
                name: name.clone(),
            });
        }
        let mut out = BTreeMap::new();
        for (name, def) in &self.params {
            let value = given.get(name).copied().unwrap_or(def.default);
            let bad = |reason: String| StrategyError::BadParam {
                name: name.clone(),
                value,
                reason,
            };
            if !value.is_finite() {
                return Err(bad("is not a finite number".into()));
            }
            if value < def.min || value > def.max {
                return Err(bad(format!("is outside [{}, {}]", def.min, def.max)));
            }
            if def.kind != ParamType::Real && value.fract() != 0.0 {
                return Err(bad("must be a whole number".into()));
            }
            out.insert(name.clone(), value);
        }
        for check in &self.checks {
            if !plan::eval_const(&check.expr, &out).is_some_and(plan::truthy) {
                return Err(StrategyError::BadParam {
                    name: check.param.clone(),
                    value: out.get(&check.param).copied().unwrap_or(f64::NAN),
                    reason: check.message.clone(),
                });
            }
        }
        Ok(Params::from_map(out))
    }

    /// Compiles the plan for `given` parameters (a `target` or `rules` spec; a composed spec
    /// is built by [`StrategySpec::strategy`]).
    ///
    /// # Errors
    /// A parameter error, or [`StrategyError::Spec`] when a factor argument computed from the
    /// parameters is unusable (a window of 0).
    pub fn build(&self, given: &BTreeMap<String, f64>) -> Result<SpecStrategy, StrategyError> {
        let params = self.params_for(given)?;
        SpecStrategy::compile(self, params)
    }

    /// The runnable strategy for `given` parameters, whatever the output: a compiled plan, or a
    /// composer of its legs (templates or nested specs) relabelled with this spec's version.
    ///
    /// # Errors
    /// A parameter error, or [`StrategyError::Spec`] naming the leg or argument at fault.
    pub fn strategy(
        &self,
        given: &BTreeMap<String, f64>,
    ) -> Result<Box<dyn Strategy>, StrategyError> {
        let Output::Compose {
            legs,
            vol_window,
            step,
        } = &self.output
        else {
            return self.build(given).map(|s| Box::new(s) as Box<dyn Strategy>);
        };
        let params = self.params_for(given)?;
        let values = params.values();
        let at =
            |path: String, reason: String| StrategyError::Spec(vec![SpecIssue { path, reason }]);
        let num = |e: &Expr, path: String| {
            plan::eval_const(e, values)
                .filter(|x| x.is_finite())
                .ok_or_else(|| at(path, "is not a finite number".into()))
        };
        let mut built = Vec::with_capacity(legs.len());
        for (i, leg) in legs.iter().enumerate() {
            let mut p = BTreeMap::new();
            for (k, e) in &leg.params {
                p.insert(k.clone(), num(e, format!("compose.legs[{i}].params.{k}"))?);
            }
            let weight = num(&leg.weight, format!("compose.legs[{i}].weight"))?;
            let strategy = match &leg.source {
                LegSource::Template(name) => Registry::builtin().build(name, &p),
                LegSource::Spec(inner) => inner.strategy(&p),
            }
            .map_err(|e| match e {
                StrategyError::Spec(issues) => StrategyError::Spec(
                    issues
                        .into_iter()
                        .map(|x| SpecIssue {
                            path: format!("compose.legs[{i}].spec.{}", x.path),
                            reason: x.reason,
                        })
                        .collect(),
                ),
                other => at(format!("compose.legs[{i}]"), other.to_string()),
            })?;
            built.push(Leg { strategy, weight });
        }
        let window = match vol_window {
            None => None,
            Some(e) => {
                let w = num(e, "compose.vol_window".into())?;
                if w.fract() != 0.0 || !(2.0..=MAX_WINDOW).contains(&w) {
                    return Err(at(
                        "compose.vol_window".into(),
                        format!("{w} is not a whole number in [2, {MAX_WINDOW}]"),
                    ));
                }
                Some(w as usize)
            }
        };
        let step = num(step, "compose.step".into())?;
        let composer = Composer::new(built, window, step).map_err(|e| match e {
            StrategyError::Composer { field, reason } => at(format!("compose.{field}"), reason),
            other => other,
        })?;
        Ok(Box::new(composer.relabel(
            &self.name,
            self.version,
            params,
            &self.content_hash,
        )))
    }
}

/// Parses a spec document and builds it with `given` parameters: what a bot config or a backtest
/// request naming a spec runs.
///
/// # Errors
/// [`StrategyError::Spec`] with every problem of the document, or the parameter error.
pub fn build(
    doc: &Value,
    given: &BTreeMap<String, f64>,
) -> Result<Box<dyn Strategy>, StrategyError> {
    StrategySpec::parse(doc)
        .map_err(StrategyError::Spec)?
        .strategy(given)
}

/// Validates a document fully (structure, then a build with default parameters, so a default
/// that fails a check is reported too). Empty when the spec is usable.
pub fn validate(doc: &Value) -> Vec<SpecIssue> {
    match StrategySpec::parse(doc) {
        Err(issues) => issues,
        Ok(spec) => match spec.strategy(&BTreeMap::new()) {
            Ok(_) => Vec::new(),
            Err(StrategyError::Spec(issues)) => issues,
            Err(StrategyError::BadParam { name, reason, .. }) => vec![SpecIssue {
                path: format!("params.{name}.default"),
                reason,
            }],
            Err(e) => vec![SpecIssue {
                path: ".".into(),
                reason: e.to_string(),
            }],
        },
    }
}
