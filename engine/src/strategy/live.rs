//! The sans-IO half of a live strategy bot (`"source": "strategy"`): which strategy version a
//! config names, how many candles to fetch, which bars are closed, what the strategy wants after
//! the last closed bar, and the internal `target` signal that carries it into **the same**
//! dedupe → whitelist → risk → execution path as a TradingView alert. The bot Durable Object
//! does the I/O (klines, ledger, orders) around these functions; the backtester shares
//! [`target_qty`], so live and backtest size a target identically.
//!
//! Decision rule (the backtester's): the bot trades when the target the strategy holds after the
//! last closed bar differs from the last target this version acted on. The strategy is rebuilt
//! and replayed over the fetched window on every bar close, so a restarted object, a missed alarm
//! or a replayed alarm all reach the same answer; the signal id `strat:{version}:{bar_open_ms}`
//! makes a replayed bar a duplicate the dedupe refuses.

use super::{Context, Intent, Registry, Strategy, StrategyError, StrategyVersion, Target};
use crate::config::{BotConfig, InstrumentPattern, SignalSource, SizingConfig, SizingMode};
use crate::ids::{IdError, SignalId, Symbol};
use crate::market::{Bar, Timeframe};
use crate::model::OrderType;
use crate::signal::{Action, ParsedSignal, Signal};
use rust_decimal::prelude::FromPrimitive;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// Delay after a bar's close before the bot asks for it (the exchange publishes it shortly after).
pub const CLOSE_DELAY_MS: i64 = 2_000;
/// Bars fetched beyond the strategy's warm-up, so a strategy whose factors smooth (EMA, RSI)
/// replays long enough to forget its seed.
pub const WARM_UP_FACTOR: usize = 3;
/// Most candles one fetch asks for (the smallest page of the supported exchanges).
pub const MAX_FETCH: u32 = 1000;

/// A strategy bot's resolved settings.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveSpec {
    /// Registered strategy name (a spec's own name for a declarative strategy).
    pub name: String,
    /// The declarative spec document when the config names one (`strategy_spec`).
    pub definition: Option<serde_json::Value>,
    /// Raw parameters (validated by the strategy's constructor).
    pub params: BTreeMap<String, f64>,
    /// Bar interval.
    pub timeframe: Timeframe,
    /// The one instrument it trades (the config's single exact `instruments` entry); for a
    /// multi-series spec, the first of [`LiveSpec::symbols`].
    pub symbol: Symbol,
    /// Every exact instrument of the config: a multi-series spec's feeds (one entry otherwise).
    pub symbols: Vec<Symbol>,
}

/// Why a config cannot run as a strategy bot.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LiveError {
    /// A config field is missing or wrong.
    #[error("{field}: {reason}")]
    Field {
        /// Field path.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// The strategy refused its parameters.
    #[error("{0}")]
    Strategy(#[from] StrategyError),
    /// The signal id could not be built.
    #[error("signal id: {0}")]
    Id(#[from] IdError),
}

fn field(field: &str, reason: impl Into<String>) -> LiveError {
    LiveError::Field {
        field: field.to_string(),
        reason: reason.into(),
    }
}

/// Resolves a config's strategy settings; `Ok(None)` for a bot that is not strategy-driven.
///
/// # Errors
/// [`LiveError`] naming the field.
pub fn spec(config: &BotConfig) -> Result<Option<LiveSpec>, LiveError> {
    if config.source != SignalSource::Strategy {
        return Ok(None);
    }
    let name = match (&config.strategy, &config.strategy_spec) {
        (_, Some(doc)) => doc
            .get("name")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("spec")
            .to_string(),
        (Some(n), None) => n.clone(),
        (None, None) => {
            return Err(field(
                "strategy",
                "is required when source is \"strategy\" (or give strategy_spec)",
            ))
        }
    };
    let label = config
        .timeframe
        .as_deref()
        .ok_or_else(|| field("timeframe", "is required when source is \"strategy\""))?;
    let timeframe = Timeframe::parse(label).map_err(|e| field("timeframe", e.to_string()))?;
    let multi = config
        .strategy_spec
        .as_ref()
        .is_some_and(|d| d.get("series").is_some());
    let symbols: Vec<Symbol> = config
        .instruments
        .iter()
        .filter_map(|p| match p {
            InstrumentPattern::Exact(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    let symbol = match (symbols.as_slice(), multi) {
        ([s], _) if symbols.len() == config.instruments.len() => s.clone(),
        ([s, ..], true) if symbols.len() == config.instruments.len() => s.clone(),
        (_, true) => {
            return Err(field(
                "instruments",
                "a multi-series strategy bot lists exactly its spec's symbols (no patterns)",
            ))
        }
        _ => {
            return Err(field(
                "instruments",
                "a strategy bot trades exactly one symbol (no patterns)",
            ))
        }
    };
    let mut params = BTreeMap::new();
    for (k, v) in &config.params {
        let x = v
            .as_f64()
            .filter(|x| x.is_finite())
            .ok_or_else(|| field(&format!("params.{k}"), "must be a finite number"))?;
        params.insert(k.clone(), x);
    }
    Ok(Some(LiveSpec {
        name,
        definition: config.strategy_spec.clone(),
        params,
        timeframe,
        symbol,
        symbols,
    }))
}

/// Builds the config's strategy: its declarative spec when it has one, else the built-in
/// template of that name.
///
/// # Errors
/// [`StrategyError`]: unknown name, bad parameter, or the spec's problems with their paths.
pub fn build(spec: &LiveSpec) -> Result<Box<dyn Strategy>, StrategyError> {
    match &spec.definition {
        Some(doc) => super::spec::build(doc, &spec.params),
        None => Registry::builtin().build(&spec.name, &spec.params),
    }
}

/// Config validation for strategy fields: `(field, reason)` for each problem (empty when fine).
pub fn config_problems(config: &BotConfig) -> Vec<(String, String)> {
    if config.source != SignalSource::Strategy {
        let mut out = Vec::new();
        if !config.params.is_empty() {
            out.push(("params".into(), "only for source \"strategy\"".into()));
        }
        if config.timeframe.is_some() {
            out.push(("timeframe".into(), "only for source \"strategy\"".into()));
        }
        return out;
    }
    if config.strategy.is_none() && config.strategy_spec.is_none() {
        return Vec::new(); // reported by the generic check
    }
    if config.sizing.mode == SizingMode::RiskPerTrade {
        return vec![(
            "sizing.mode".into(),
            "risk_per_trade needs a stop-loss distance, which a strategy's target does not carry: use pct_equity, fixed_quote or fixed_qty".into(),
        )];
    }
    let problem = match spec(config) {
        Ok(Some(s)) => match build(&s) {
            Err(e) => Some(LiveError::from(e)),
            Ok(st) => feed_problem(config, &s, st.as_ref()),
        },
        Ok(None) => None,
        Err(e) => Some(e),
    };
    let Some(problem) = problem else {
        return Vec::new();
    };
    let text = problem.to_string();
    match problem {
        LiveError::Field { field, reason } => vec![(field, reason)],
        LiveError::Strategy(StrategyError::Spec(issues)) => issues
            .into_iter()
            .map(|i| {
                let path = if i.path == "." {
                    "strategy_spec".to_string()
                } else {
                    format!("strategy_spec.{}", i.path)
                };
                (path, i.reason)
            })
            .collect(),
        LiveError::Strategy(StrategyError::UnknownParam { name, .. })
        | LiveError::Strategy(StrategyError::BadParam { name, .. }) => {
            vec![(format!("params.{name}"), text)]
        }
        _ => vec![("strategy".into(), text)],
    }
}

/// A multi-series spec in a config: its instruments must be exactly the spec's symbols and its
/// timeframe the spec's base timeframe (the bot fetches and steps on those).
fn feed_problem(config: &BotConfig, s: &LiveSpec, st: &dyn Strategy) -> Option<LiveError> {
    let feeds = st.feeds();
    if feeds.is_empty() {
        return None;
    }
    let mut listed = s.symbols.clone();
    listed.sort();
    listed.dedup();
    if listed.as_slice() != feeds || listed.len() != s.symbols.len() {
        let want: Vec<&str> = feeds.iter().map(Symbol::as_str).collect();
        return Some(field(
            "instruments",
            format!("must list exactly the spec's symbols: {}", want.join(", ")),
        ));
    }
    let base = config
        .strategy_spec
        .as_ref()
        .and_then(|d| d.get("timeframe"))
        .and_then(serde_json::Value::as_str)
        .and_then(|t| Timeframe::parse(t).ok());
    if base != Some(s.timeframe) {
        return Some(field(
            "timeframe",
            "must be the spec's base timeframe (its \"timeframe\")",
        ));
    }
    None
}

/// Aligns one bar series per feed (each oldest first) on the open times present in all of
/// them. Returns, per step, the index of that step's bar in each feed, flattened
/// (`feeds.len()` entries per step). Why: a multi-series strategy is stepped once per base bar
/// with every instrument's bar of that time; a time one exchange has not published for one
/// instrument is not a step (the backtester and the live bot both align with this function).
pub fn align(feeds: &[&[Bar]]) -> Vec<usize> {
    let Some(first) = feeds.first() else {
        return Vec::new();
    };
    let mut at = vec![0usize; feeds.len()];
    let mut out = Vec::with_capacity(first.len() * feeds.len());
    for (i, b) in first.iter().enumerate() {
        let t = b.open_time_ms;
        let mut all = true;
        for (k, f) in feeds.iter().enumerate().skip(1) {
            let Some(p) = at.get_mut(k) else {
                all = false;
                break;
            };
            while f.get(*p).is_some_and(|x| x.open_time_ms < t) {
                *p += 1;
            }
            all &= f.get(*p).is_some_and(|x| x.open_time_ms == t);
        }
        if all {
            out.push(i);
            out.extend(at.iter().skip(1).copied());
        }
    }
    out
}

/// What a multi-series strategy holds after replaying the aligned closed bars.
#[derive(Debug, Clone, PartialEq)]
pub struct MultiEvaluation {
    /// The version that decided.
    pub version: StrategyVersion,
    /// Open time of the last aligned step (the decision's bar).
    pub bar_open_ms: i64,
    /// Per feed: the instrument, its close on that step and the target held (`None` while
    /// undecided).
    pub targets: Vec<(Symbol, f64, Option<Target>)>,
    /// Steps replayed.
    pub steps: usize,
}

/// Replays one closed-bar series per feed (`feeds[k]` for `strategy.feeds()[k]`) through a
/// fresh multi-series `strategy`, as the backtester steps it, and reports the targets held after
/// the last aligned step. `None` when no time is common to every feed.
pub fn evaluate_multi(strategy: &mut dyn Strategy, feeds: &[Vec<Bar>]) -> Option<MultiEvaluation> {
    let n = strategy.feeds().len();
    if n == 0 || feeds.len() != n {
        return None;
    }
    let slices: Vec<&[Bar]> = feeds.iter().map(Vec::as_slice).collect();
    let steps = align(&slices);
    let mut latest: Vec<Bar> = Vec::with_capacity(n);
    let mut held: Vec<Option<f64>> = vec![None; n];
    for idx in steps.chunks(n) {
        latest.clear();
        latest.extend(
            idx.iter()
                .enumerate()
                .filter_map(|(k, i)| feeds.get(k).and_then(|f| f.get(*i)).copied()),
        );
        held.clear();
        held.extend_from_slice(strategy.on_step(&latest));
    }
    let last = *latest.first()?;
    Some(MultiEvaluation {
        version: strategy.version().clone(),
        bar_open_ms: last.open_time_ms,
        targets: strategy
            .feeds()
            .iter()
            .zip(&latest)
            .zip(&held)
            .map(|((s, b), h)| (s.clone(), b.close, h.map(Target::Exposure)))
            .collect(),
        steps: steps.len() / n,
    })
}

/// The dedupe key of one instrument's decision of a multi-series strategy: one per version,
/// instrument and bar.
///
/// # Errors
/// [`LiveError::Id`] if the id is not a valid signal id.
pub fn multi_signal_id(
    version: &StrategyVersion,
    symbol: &Symbol,
    bar_open_ms: i64,
) -> Result<SignalId, LiveError> {
    Ok(SignalId::new(format!(
        "strat:{}:{symbol}:{bar_open_ms}",
        version.id
    ))?)
}

/// The strategy version a config's fills are attributed to: the version id for a strategy bot
/// (name + code version + parameter hash), the free-text `strategy` label otherwise.
pub fn attribution(config: &BotConfig) -> Option<String> {
    match spec(config) {
        Ok(Some(s)) => build(&s)
            .map(|st| st.version().id.clone())
            .ok()
            .or_else(|| config.strategy.clone()),
        _ => config.strategy.clone(),
    }
}

/// Candles to fetch: the warm-up times [`WARM_UP_FACTOR`], or the strategy's
/// [`Strategy::history`] when longer (smoothing factors forget their seed only after it), plus
/// the forming bar, within one page.
pub fn fetch_limit(strategy: &dyn Strategy) -> u32 {
    let want = strategy
        .warm_up()
        .saturating_mul(WARM_UP_FACTOR)
        .max(strategy.history())
        .saturating_add(2);
    u32::try_from(want).unwrap_or(MAX_FETCH).clamp(2, MAX_FETCH)
}

/// Keeps the bars whose interval has ended by `server_now_ms` (drops the forming one).
pub fn closed(bars: Vec<Bar>, tf: Timeframe, server_now_ms: i64) -> Vec<Bar> {
    bars.into_iter()
        .filter(|b| b.open_time_ms + tf.ms() <= server_now_ms)
        .collect()
}

/// When the next bar closes after `now_ms`, plus [`CLOSE_DELAY_MS`]: the alarm time.
pub fn next_wake(tf: Timeframe, now_ms: i64) -> i64 {
    (now_ms.div_euclid(tf.ms()) + 1) * tf.ms() + CLOSE_DELAY_MS
}

/// What the strategy holds after replaying the closed bars.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The version that decided.
    pub version: StrategyVersion,
    /// Open time of the last closed bar (the decision's bar).
    pub bar_open_ms: i64,
    /// Its close.
    pub close: f64,
    /// The target after that bar (`None` until the factors are warm).
    pub target: Option<Target>,
}

/// Replays `bars` (closed, oldest first) through a fresh `strategy` and reports the target it
/// holds after the last one, exactly as the backtester's `wanted` would be. `position` and
/// `equity` are what the context shows on every replayed bar (the bot's current values).
/// `None` without bars.
pub fn evaluate(
    strategy: &mut dyn Strategy,
    symbol: &Symbol,
    bars: &[Bar],
    position: Decimal,
    equity: Decimal,
) -> Option<Evaluation> {
    let last = *bars.last()?;
    let mut target: Option<Target> = None;
    for i in 0..bars.len() {
        let ctx = Context {
            symbol,
            bars: &bars[..=i],
            position,
            equity,
        };
        for intent in strategy.on_bar(&ctx) {
            match intent {
                Intent::Target {
                    symbol: s,
                    target: t,
                } if &s == symbol => target = Some(t),
                Intent::Order {
                    symbol: s,
                    side,
                    qty,
                } if &s == symbol => {
                    let base = match target {
                        Some(Target::Qty(q)) => q,
                        _ => position,
                    };
                    target = Some(Target::Qty(match side {
                        crate::model::Side::Buy => base + qty,
                        crate::model::Side::Sell => base - qty,
                    }));
                }
                _ => {}
            }
        }
    }
    Some(Evaluation {
        version: strategy.version().clone(),
        bar_open_ms: last.open_time_ms,
        close: last.close,
        target,
    })
}

/// The base quantity of one unit of exposure (a target of `Exposure(1.0)`) under the bot's
/// `sizing`, at `price` with `equity`. Why: a strategy says how much of its allotment it wants
/// (long 1, flat 0, short -1); the bot's `sizing` says what the allotment is, exactly as it
/// sizes an alert without a quantity: `fixed_qty` that base quantity, `fixed_quote` that much
/// quote, `pct_equity` that percent of equity. `None` when the maths overflows, the price is not
/// positive, or the mode is `risk_per_trade` (no stop distance: config validation refuses it for
/// strategy bots and backtests).
pub fn unit_qty(sizing: &SizingConfig, equity: Decimal, price: Decimal) -> Option<Decimal> {
    if price <= Decimal::ZERO {
        return None;
    }
    match sizing.mode {
        SizingMode::FixedQty => Some(sizing.value),
        SizingMode::FixedQuote => sizing.value.checked_div(price),
        SizingMode::PctEquity if sizing.value == Decimal::ONE_HUNDRED => equity.checked_div(price),
        SizingMode::PctEquity => equity
            .checked_mul(sizing.value)?
            .checked_div(Decimal::ONE_HUNDRED)?
            .checked_div(price),
        SizingMode::RiskPerTrade => None,
    }
}

/// A [`Target`] with its exposure converted to an exact decimal, once per decision (the
/// conversion from `f64` costs more than the sizing itself, and a decision sizes twice).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExactTarget {
    /// Signed fraction of equity.
    Exposure(Decimal),
    /// Exact signed base quantity.
    Qty(Decimal),
}

impl ExactTarget {
    /// Converts a strategy's target; `None` for an exposure that is not a finite number.
    pub fn of(target: Target) -> Option<Self> {
        Some(match target {
            Target::Qty(q) => ExactTarget::Qty(q),
            Target::Exposure(e) => ExactTarget::Exposure(Decimal::from_f64(e)?),
        })
    }
}

/// The exact base quantity of a target at `price` with `equity` under `sizing` (an exposure is
/// a multiple of [`unit_qty`]; a `Qty` target is taken as is), truncated to the lot `step` (the
/// backtester sizes with this same function). `None` when the maths overflows.
pub fn target_qty(
    target: Target,
    sizing: &SizingConfig,
    equity: Decimal,
    price: Decimal,
    step: Decimal,
) -> Option<Decimal> {
    exact_target_qty(ExactTarget::of(target)?, sizing, equity, price, step)
}

/// [`target_qty`] of an already converted target.
pub fn exact_target_qty(
    target: ExactTarget,
    sizing: &SizingConfig,
    equity: Decimal,
    price: Decimal,
    step: Decimal,
) -> Option<Decimal> {
    let raw = match target {
        ExactTarget::Qty(q) => q,
        ExactTarget::Exposure(e) if e.is_zero() => Decimal::ZERO,
        ExactTarget::Exposure(e) => e.checked_mul(unit_qty(sizing, equity, price)?)?,
    };
    Some(if step > Decimal::ZERO {
        ((raw / step).trunc() * step).normalize()
    } else {
        raw
    })
}

/// The target quantity to send at `reference`: the direction is decided at the reference price,
/// then the quantity is sized at the expected fill price (reference moved against the order by
/// `slippage_bps`, on the tick, rounded against the trader as the paper venue fills), so equity
/// buys what the fill will cost. `None` when the maths overflows.
pub fn order_qty(
    target: Target,
    sizing: &SizingConfig,
    equity: Decimal,
    position: Decimal,
    reference: Decimal,
    slippage_bps: Decimal,
    rules: &crate::model::InstrumentRules,
) -> Option<Decimal> {
    let sized = size_target(
        ExactTarget::of(target)?,
        sizing,
        equity,
        position,
        reference,
        slippage_bps,
        rules,
    )?;
    Some(sized.qty)
}

/// A target sized for sending: the quantity and the price it is expected to fill at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizedTarget {
    /// Signed base quantity to hold after the order (equal to the position: nothing to do).
    pub qty: Decimal,
    /// Expected fill price (the reference when there is no slippage or nothing to do).
    pub fill_price: Decimal,
}

/// [`order_qty`] with the expected fill price, for an already converted target: the live bot
/// and the backtester (which books a mark at the fill price) size with this one function.
/// `None` when the maths overflows.
pub fn size_target(
    target: ExactTarget,
    sizing: &SizingConfig,
    equity: Decimal,
    position: Decimal,
    reference: Decimal,
    slippage_bps: Decimal,
    rules: &crate::model::InstrumentRules,
) -> Option<SizedTarget> {
    let step = rules.step_size;
    let direction = exact_target_qty(target, sizing, equity, reference, step)?;
    if slippage_bps.is_zero() || direction == position {
        return Some(SizedTarget {
            qty: direction,
            fill_price: reference,
        });
    }
    let side = if direction > position {
        crate::model::Side::Buy
    } else {
        crate::model::Side::Sell
    };
    let fill_price =
        crate::venue::paper::slipped_price(reference, side, slippage_bps, rules.tick_size);
    Some(SizedTarget {
        qty: exact_target_qty(target, sizing, equity, fill_price, step)?,
        fill_price,
    })
}

/// The dedupe key of a strategy decision: one per version and bar.
///
/// # Errors
/// [`LiveError::Id`] if the id is not a valid signal id (it always is for registry names).
pub fn signal_id(version: &StrategyVersion, bar_open_ms: i64) -> Result<SignalId, LiveError> {
    Ok(SignalId::new(format!(
        "strat:{}:{bar_open_ms}",
        version.id
    ))?)
}

/// The internal `target` signal of a decision, as the webhook path would have parsed it.
///
/// # Errors
/// [`LiveError::Id`].
pub fn signal(
    eval: &Evaluation,
    symbol: &Symbol,
    qty: Decimal,
    price: Decimal,
    now_ms: i64,
) -> Result<ParsedSignal, LiveError> {
    let id = signal_id(&eval.version, eval.bar_open_ms)?;
    Ok(target_signal(id, symbol, qty, price, now_ms))
}

/// The internal `target` signal carrying `qty` for `symbol` under `signal_id` (one instrument's
/// decision, single- or multi-series).
pub fn target_signal(
    signal_id: SignalId,
    symbol: &Symbol,
    qty: Decimal,
    price: Decimal,
    now_ms: i64,
) -> ParsedSignal {
    ParsedSignal {
        signal: Signal {
            id: None,
            action: Action::Target,
            symbol: Some(symbol.clone()),
            sizing: None,
            target_position: Some(qty),
            order_type: OrderType::Market,
            price: Some(price),
            stop_loss: None,
            take_profit: None,
            time_ms: Some(now_ms),
        },
        secret: None,
        signal_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;
    use serde_json::json;

    fn config(extra: serde_json::Value) -> Result<BotConfig, crate::config::ConfigError> {
        let mut v = json!({"id": "s1", "name": "s", "exchange": "binance", "market": "linear",
            "mode": "paper", "instruments": ["BNBUSDT"], "sizing": {"mode": "fixed_qty", "value": "1"},
            "risk": {}, "source": "strategy", "strategy": "ma_crossover", "timeframe": "1m",
            "params": {"fast": 3, "slow": 8}});
        for (k, x) in extra.as_object().into_iter().flatten() {
            v[k] = x.clone();
        }
        BotConfig::from_value(v)
    }

    /// The backtester's default sizing: one unit of exposure is all of equity.
    fn all_in() -> SizingConfig {
        SizingConfig {
            mode: SizingMode::PctEquity,
            value: dec!(100),
        }
    }

    fn first_field(r: Result<BotConfig, crate::config::ConfigError>) -> String {
        r.err()
            .map(|e| e.fields()[0].field.clone())
            .unwrap_or_default()
    }

    #[test]
    fn a_config_can_run_a_spec_and_its_problems_carry_the_spec_path() {
        let doc: serde_json::Value =
            serde_json::from_str(crate::strategy::spec::TEMPLATES[0].1).unwrap();
        let ok = config(json!({"strategy": null, "strategy_spec": doc.clone()})).unwrap();
        let s = spec(&ok).unwrap().unwrap();
        assert_eq!(s.name, "ma_crossover_spec");
        let built = build(&s).unwrap();
        assert!(built.version().id.starts_with("ma_crossover_spec@1#"));
        assert_eq!(
            attribution(&ok).as_deref(),
            Some(built.version().id.as_str())
        );
        // Same bars, same targets as the template it mirrors.
        let tpl = config(json!({})).unwrap();
        let bars: Vec<Bar> = (0..200)
            .map(|i| {
                let p = 100.0 + 5.0 * (i as f64 / 9.0).sin();
                Bar {
                    open_time_ms: i * 60_000,
                    open: p,
                    high: p,
                    low: p,
                    close: p,
                    volume: 1.0,
                }
            })
            .collect();
        let sym = Symbol::new("BNBUSDT").unwrap();
        for n in [40, 77, 200] {
            let a = evaluate(
                build(&s).unwrap().as_mut(),
                &sym,
                &bars[..n],
                dec!(0),
                dec!(1000),
            );
            let b = evaluate(
                build(&spec(&tpl).unwrap().unwrap()).unwrap().as_mut(),
                &sym,
                &bars[..n],
                dec!(0),
                dec!(1000),
            );
            assert_eq!(a.map(|e| e.target), b.map(|e| e.target), "{n}");
        }
        let mut broken = doc.clone();
        broken["rules"] = json!({"long_entry": true});
        assert_eq!(
            first_field(config(json!({"strategy": null, "strategy_spec": broken}))),
            "strategy_spec"
        );
        let mut broken = doc.clone();
        broken["factors"]["slow_ma"]["args"]["n"] = json!("$nope");
        assert_eq!(
            first_field(config(json!({"strategy": null, "strategy_spec": broken}))),
            "strategy_spec.factors.slow_ma.args.n"
        );
        assert_eq!(
            first_field(config(json!({"strategy_spec": doc.clone()}))),
            "strategy"
        );
        assert_eq!(
            first_field(config(
                json!({"strategy": null, "strategy_spec": doc.clone(), "params": {"fast": 50}})
            )),
            "params.fast"
        );
        assert_eq!(
            first_field(config(
                json!({"source": "tradingview", "strategy": null, "params": {}, "timeframe": null, "strategy_spec": doc})
            )),
            "strategy_spec"
        );
    }

    #[test]
    fn config_validation_table() {
        assert!(config(json!({})).is_ok());
        let cases = [
            (json!({"timeframe": "7m"}), "timeframe"),
            (json!({"timeframe": null}), "timeframe"),
            (json!({"params": {"fast": 9, "slow": 8}}), "params.fast"),
            (json!({"params": {"nope": 1}}), "params.nope"),
            (json!({"instruments": ["*USDT"]}), "instruments"),
            (json!({"strategy": "nope"}), "strategy"),
            (json!({"source": "tradingview", "strategy": "tv"}), "params"),
            (
                json!({"sizing": {"mode": "risk_per_trade", "value": "1"}}),
                "sizing.mode",
            ),
        ];
        for (extra, want) in cases {
            assert_eq!(first_field(config(extra.clone())), want, "{extra}");
        }
    }

    #[test]
    fn version_follows_params_and_replay_matches_streaming() {
        let a = config(json!({})).unwrap();
        let b = config(json!({"params": {"fast": 3, "slow": 9}})).unwrap();
        let (va, vb) = (attribution(&a).unwrap(), attribution(&b).unwrap());
        assert!(va.starts_with("ma_crossover@1#") && va != vb);
        let s = spec(&a).unwrap().unwrap();
        let mut st = build(&s).unwrap();
        assert_eq!(st.warm_up(), 8);
        assert_eq!(fetch_limit(st.as_ref()), 26);
        let bars: Vec<Bar> = (0..60)
            .map(|i| {
                let p = 100.0 + 5.0 * ((i as f64) / 6.0).sin();
                Bar {
                    open_time_ms: i * 60_000,
                    open: p,
                    high: p,
                    low: p,
                    close: p,
                    volume: 1.0,
                }
            })
            .collect();
        // Streaming through all bars and replaying each prefix agree on every bar.
        let mut streamed = None;
        for i in 0..bars.len() {
            let ctx = Context {
                symbol: &s.symbol,
                bars: &bars[..=i],
                position: dec!(0),
                equity: dec!(1),
            };
            for it in st.on_bar(&ctx) {
                if let Intent::Target { target, .. } = it {
                    streamed = Some(target);
                }
            }
            let mut fresh = build(&s).unwrap();
            let e = evaluate(fresh.as_mut(), &s.symbol, &bars[..=i], dec!(0), dec!(1)).unwrap();
            assert_eq!(e.target, streamed, "bar {i}");
            assert_eq!(e.bar_open_ms, i as i64 * 60_000);
        }
        assert!(streamed.is_some());
        let tf = Timeframe::M1;
        assert_eq!(
            closed(bars.clone(), tf, 120_000).len(),
            2,
            "the forming bar is dropped"
        );
        assert_eq!(next_wake(tf, 61_000), 120_000 + CLOSE_DELAY_MS);
        let e = evaluate(st.as_mut(), &s.symbol, &bars, dec!(0), dec!(1)).unwrap();
        let id = signal_id(&e.version, e.bar_open_ms).unwrap();
        assert_eq!(
            id.as_str(),
            format!("strat:{}:{}", e.version.id, 59 * 60_000)
        );
    }

    #[test]
    fn order_qty_sizes_at_the_expected_fill() {
        let rules = crate::model::InstrumentRules {
            symbol: Symbol::new("BNBUSDT").unwrap(),
            base_asset: "BNB".into(),
            quote_asset: "USDT".into(),
            tick_size: dec!(0.01),
            step_size: dec!(0.01),
            min_qty: dec!(0.01),
            max_qty: dec!(1000),
            max_market_qty: dec!(0),
            min_notional: dec!(5),
            min_price: dec!(0),
            max_price: dec!(0),
        };
        let cases = [
            // (target, position, slippage bps, want): buys fill above, sells below the reference.
            (Target::Exposure(1.0), dec!(0), dec!(0), dec!(16.66)),
            (Target::Exposure(1.0), dec!(0), dec!(5), dec!(16.65)),
            (Target::Exposure(-1.0), dec!(0), dec!(5), dec!(-16.67)),
            (Target::Exposure(0.0), dec!(16.65), dec!(5), dec!(0)),
            (Target::Exposure(1.0), dec!(16.66), dec!(5), dec!(16.66)),
        ];
        for (target, position, bps, want) in cases {
            let got = order_qty(
                target,
                &all_in(),
                dec!(10000),
                position,
                dec!(600),
                bps,
                &rules,
            );
            assert_eq!(got, Some(want), "{target:?} from {position} at {bps} bps");
        }
    }

    #[test]
    fn target_qty_truncates_to_step() {
        assert_eq!(
            target_qty(
                Target::Exposure(1.0),
                &all_in(),
                dec!(1000),
                dec!(600.3),
                dec!(0.01)
            ),
            Some(dec!(1.66))
        );
        assert_eq!(
            target_qty(
                Target::Exposure(-0.5),
                &all_in(),
                dec!(1000),
                dec!(600),
                dec!(0.01)
            ),
            Some(dec!(-0.83))
        );
        assert_eq!(
            target_qty(
                Target::Qty(dec!(0.123456)),
                &all_in(),
                dec!(1),
                dec!(1),
                dec!(0.001)
            ),
            Some(dec!(0.123))
        );
        assert_eq!(
            target_qty(
                Target::Exposure(0.0),
                &all_in(),
                dec!(1000),
                dec!(600),
                dec!(0.01)
            ),
            Some(dec!(0))
        );
    }

    #[test]
    fn exposure_is_sized_through_the_bots_sizing() {
        // The bug: a strategy bot with `fixed_quote 200` was sized at exposure x equity
        // ("order notional 9994.55 exceeds limit 500"). Now one unit of exposure is the sizing.
        let s = |mode, value| SizingConfig { mode, value };
        let (equity, price, step) = (dec!(10000), dec!(65000), dec!(0.001));
        let cases = [
            (
                Target::Exposure(1.0),
                s(SizingMode::FixedQuote, dec!(200)),
                dec!(0.003),
            ),
            (
                Target::Exposure(-1.0),
                s(SizingMode::FixedQuote, dec!(200)),
                dec!(-0.003),
            ),
            (
                Target::Exposure(1.0),
                s(SizingMode::FixedQty, dec!(0.01)),
                dec!(0.01),
            ),
            (
                Target::Exposure(0.5),
                s(SizingMode::FixedQty, dec!(0.01)),
                dec!(0.005),
            ),
            (
                Target::Exposure(1.0),
                s(SizingMode::PctEquity, dec!(10)),
                dec!(0.015),
            ),
            (
                Target::Exposure(1.0),
                s(SizingMode::PctEquity, dec!(100)),
                dec!(0.153),
            ),
            (
                Target::Exposure(0.0),
                s(SizingMode::RiskPerTrade, dec!(1)),
                dec!(0),
            ),
            // A quantity target is the strategy's own exact size.
            (
                Target::Qty(dec!(0.0042)),
                s(SizingMode::FixedQuote, dec!(200)),
                dec!(0.004),
            ),
        ];
        for (target, sizing, want) in cases {
            let got = target_qty(target, &sizing, equity, price, step);
            assert_eq!(got, Some(want), "{target:?} with {sizing:?}");
            let notional = want.abs() * price;
            if sizing.mode == SizingMode::FixedQuote && matches!(target, Target::Exposure(_)) {
                assert!(notional <= dec!(200), "{notional} stays within the quote");
            }
        }
        assert_eq!(
            target_qty(
                Target::Exposure(1.0),
                &s(SizingMode::RiskPerTrade, dec!(1)),
                equity,
                price,
                step
            ),
            None,
            "no stop distance: refused, never guessed"
        );
        assert_eq!(
            unit_qty(&s(SizingMode::FixedQuote, dec!(200)), equity, dec!(0)),
            None
        );
    }
}
