//! Live strategy bots (`"source": "strategy"`): on each bar close (the object's alarm, or
//! `POST /control/strategy` to run it now) the bot fetches recent candles from its exchange (or
//! the simulator), replays its strategy over the closed ones (`keel_engine::strategy::live`),
//! and when the target changed sends it as an internal `target` signal through
//! [`super::signal::process`]: the same dedupe → whitelist → risk → execution path, with the
//! same audit, as a TradingView alert. The signal id `strat:{version}:{bar_open_ms}` makes a
//! replayed alarm a duplicate; the `signal_received` event's source names the strategy version,
//! and every fill is attributed to it.
//!
//! Versions are immutable: the id hashes name + code version + parameters, so a config PATCH
//! of `params` is a new version (the config change's audit diff shows the old and new id).
//! Each version the bot ran is recorded once, with when it first ran, under `strategy_versions`.
//!
//! Alarm: one alarm serves the outbox, alerts and the strategy. [`on_alarm`] runs last in the
//! alarm handler and moves the alarm to the earliest of what is already set and the strategy's
//! next wake (next bar close + a small delay).

use super::config::load_config;
use super::exchange::Link;
use super::signal::{process, Origin};
use super::store::kv_get;
use super::{ledger, now_ms, BotDO};
use crate::http::{json, ApiError};
use keel_engine::audit::Actor;
use keel_engine::ledger::{LedgerEntry, MarkPrice};
use keel_engine::strategy::live::{self, LiveSpec};
use keel_engine::venue::{VenueOp, VenueReply};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use worker::Response;

/// How long after a bar's expected close a late candle is retried before waiting for the next.
const LATE_RETRY_MS: i64 = 5_000;
/// Give up retrying a late candle this long after its close.
const LATE_GIVE_UP_MS: i64 = 60_000;

/// What the bot remembers per strategy version (`strategy_state:{version id}`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct VersionState {
    /// Open time of the last bar evaluated.
    last_bar_ms: Option<i64>,
    /// The target acted on last (`Exposure(1.0)`, `Qty(0.5)`), as text.
    last_target: Option<String>,
    /// A multi-series strategy's target acted on last, per instrument, as text.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    last_targets: BTreeMap<String, String>,
}

/// One version the bot has run (immutable record).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct VersionRecord {
    name: String,
    version: u32,
    params: BTreeMap<String, f64>,
    first_run_ms: i64,
    config_version: u64,
}

fn spec_of(config: &keel_engine::config::BotConfig) -> Result<LiveSpec, ApiError> {
    live::spec(config)
        .map_err(|e| ApiError::unprocessable("invalid_strategy", e.to_string()))?
        .ok_or_else(|| {
            ApiError::conflict(
                "not_a_strategy_bot",
                "this bot's source is not \"strategy\"",
            )
        })
}

/// `POST /control/strategy`: evaluate the last closed bar now (what the alarm does).
///
/// # Errors
/// 409 for a bot that is not strategy-driven; storage failures. A refused or failed signal is
/// reported in the answer's `outcome` (it is audited like a webhook's).
pub async fn run_route(bot: &BotDO) -> Result<Response, ApiError> {
    let out = run(bot).await?;
    Ok(json(200, &out)?)
}

/// `GET /view/strategy`: the spec, the current version, its state and every version run.
///
/// # Errors
/// 409 for a bot that is not strategy-driven.
pub fn view(bot: &BotDO) -> Result<Response, ApiError> {
    let stored = load_config(bot)?;
    let spec = spec_of(&stored.config)?;
    let strategy = live::build(&spec)
        .map_err(|e| ApiError::unprocessable("invalid_strategy", e.to_string()))?;
    let version = strategy.version().clone();
    let state: VersionState =
        kv_get(&bot.db, &format!("strategy_state:{}", version.id))?.unwrap_or_default();
    let runs: BTreeMap<String, VersionRecord> =
        kv_get(&bot.db, "strategy_versions")?.unwrap_or_default();
    Ok(json(
        200,
        &json!({"bot_id": stored.config.id.to_string(), "strategy": spec.name, "timeframe": stored.config.timeframe,
            "symbol": spec.symbol.to_string(), "symbols": strategy.feeds().iter().map(|s| s.as_str()).collect::<Vec<_>>(), "version": version, "warm_up": strategy.warm_up(),
            "fetch_limit": live::fetch_limit(strategy.as_ref()), "state": state, "versions_run": runs,
            "next_wake_ms": kv_get::<i64>(&bot.db, "strategy_due_ms")?}),
    )?)
}

/// Evaluates the last closed bar and, when the target changed, trades to it.
///
/// # Errors
/// 409 not a strategy bot; 503 when candles or prices cannot be read; storage failures.
pub async fn run(bot: &BotDO) -> Result<Value, ApiError> {
    let stored = load_config(bot)?;
    let config = &stored.config;
    let spec = spec_of(config)?;
    let mut strategy = live::build(&spec)
        .map_err(|e| ApiError::unprocessable("invalid_strategy", e.to_string()))?;
    if !strategy.feeds().is_empty() {
        return run_feeds(bot, &stored, &spec, strategy).await;
    }
    let mut link = Link::open(bot, config, Actor::System)?;
    // Market data only: the paper book is the signal path's to touch (its exits see the bars
    // below, before the decision).
    let paper = link.paper.take();
    let limit = live::fetch_limit(strategy.as_ref());
    let op = VenueOp::Klines {
        symbol: spec.symbol.clone(),
        interval: spec.timeframe,
        start_ms: None,
        end_ms: None,
        limit,
    };
    let fetched = link.call(&op).await;
    let bars = match fetched {
        Ok(VenueReply::Klines(k)) => {
            let bars = k.iter().map(|c| c.to_bar()).collect();
            live::closed(bars, spec.timeframe, link.server_now())
        }
        Ok(_) => return Err(ApiError::internal("klines: unexpected reply")),
        Err(e) => {
            let _ = super::exchange::save_link(bot, &mut link, None).await;
            return Err(e.into());
        }
    };
    observe_paper(bot, config, paper, &[(&spec.symbol, &bars)]).await?;
    let l = ledger::load(bot, config)?;
    let position = l
        .position(&spec.symbol)
        .map_or(rust_decimal::Decimal::ZERO, |p| p.qty);
    let equity = l.equity().map_err(|e| ApiError::internal(e.to_string()))?;
    let Some(eval) = live::evaluate(strategy.as_mut(), &spec.symbol, &bars, position, equity)
    else {
        super::exchange::save_link(bot, &mut link, None).await?;
        return Ok(json!({"status": "no_closed_bars", "fetched_limit": limit}));
    };
    let version = eval.version.clone();
    record_version(bot, &stored, &version, &spec, now_ms()).await?;
    let key = format!("strategy_state:{}", version.id);
    let mut state: VersionState = kv_get(&bot.db, &key)?.unwrap_or_default();
    let base = json!({"bot_id": config.id.to_string(), "version": version.id, "bar_open_ms": eval.bar_open_ms,
        "close": eval.close, "bars": bars.len(), "target": eval.target.map(|t| format!("{t:?}"))});
    if state.last_bar_ms.is_some_and(|b| b >= eval.bar_open_ms) {
        super::exchange::save_link(bot, &mut link, None).await?;
        return Ok(with(base, json!({"status": "already_evaluated"})));
    }
    let target_text = eval.target.map(|t| format!("{t:?}"));
    // Issue 23: a regime-gated spec's label change is audited with what it did to the target.
    let action = super::regime::action_text(target_text.as_deref(), state.last_target.as_deref());
    super::regime::observe(
        bot,
        config,
        spec.symbol.as_str(),
        &bars,
        spec.timeframe,
        action,
    )
    .await?;
    let Some(target) = eval.target.filter(|_| target_text != state.last_target) else {
        state.last_bar_ms = Some(eval.bar_open_ms);
        let mut j = bot.journal()?;
        j.put(&key, &state)?;
        bot.commit(j).await?;
        super::exchange::save_link(bot, &mut link, None).await?;
        let why = if eval.target.is_none() {
            "warming_up"
        } else {
            "target_unchanged"
        };
        return Ok(with(base, json!({"status": why})));
    };
    let facts = super::facts::market_facts(bot, &mut link, &spec.symbol).await;
    super::exchange::save_link(bot, &mut link, None).await?;
    let facts = facts.map_err(ApiError::from)?;
    let (qty, equity) = size(config, l, &spec.symbol, position, target, &facts)?;
    let now = now_ms();
    let mut parsed = live::signal(&eval, &spec.symbol, qty, facts.price, now)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    protect_signal(config, &mut parsed, position, qty, &facts);
    let outcome = process(bot, &stored, &parsed, now, &origin(&version)).await;
    // Issue 23: execution against the backtest's fill at this bar's close, alerted past a bound.
    super::drift::record(bot, spec.symbol.as_str(), eval.close, &outcome).await;
    // Only an accepted signal (executed, or nothing to do) settles this target. A refusal (risk
    // limit, filter, pause) or an exchange failure leaves it to the next bar, as the backtester
    // does: a bot whose strategy is long must not stay flat because one order was refused.
    let settled = outcome.is_ok();
    state.last_bar_ms = Some(eval.bar_open_ms);
    if settled {
        state.last_target = target_text;
    }
    let mut j = bot.journal()?;
    j.put(&key, &state)?;
    bot.commit(j).await?;
    let outcome = answer(outcome);
    Ok(with(
        base,
        json!({"status": "signalled", "signal_id": parsed.signal_id.as_str(), "target_qty": qty,
            "price": facts.price, "equity": equity, "outcome": outcome}),
    ))
}

/// A multi-series strategy (several instruments and timeframes): fetches the closed base bars
/// of every instrument it reads, replays them aligned as the backtester steps them
/// ([`live::evaluate_multi`]), and for each instrument whose target changed sends its own
/// internal `target` signal (`strat:{version}:{symbol}:{bar_open_ms}`) through the same
/// signal path, in feed order (the backtester's order), each sized on the ledger as the previous
/// one left it. Each instrument's target settles only when its signal is accepted.
async fn run_feeds(
    bot: &BotDO,
    stored: &super::config::StoredConfig,
    spec: &LiveSpec,
    mut strategy: Box<dyn keel_engine::strategy::Strategy>,
) -> Result<Value, ApiError> {
    let config = &stored.config;
    let mut link = Link::open(bot, config, Actor::System)?;
    let paper = link.paper.take();
    let limit = live::fetch_limit(strategy.as_ref());
    let symbols = strategy.feeds().to_vec();
    let mut feeds = Vec::with_capacity(symbols.len());
    for symbol in &symbols {
        let op = VenueOp::Klines {
            symbol: symbol.clone(),
            interval: spec.timeframe,
            start_ms: None,
            end_ms: None,
            limit,
        };
        match link.call(&op).await {
            Ok(VenueReply::Klines(k)) => {
                let bars = k.iter().map(|c| c.to_bar()).collect();
                feeds.push(live::closed(bars, spec.timeframe, link.server_now()));
            }
            Ok(_) => return Err(ApiError::internal("klines: unexpected reply")),
            Err(e) => {
                let _ = super::exchange::save_link(bot, &mut link, None).await;
                return Err(e.into());
            }
        }
    }
    let observed: Vec<(&keel_engine::ids::Symbol, &[keel_engine::market::Bar])> = symbols
        .iter()
        .zip(&feeds)
        .map(|(s, b)| (s, b.as_slice()))
        .collect();
    observe_paper(bot, config, paper, &observed).await?;
    let Some(eval) = live::evaluate_multi(strategy.as_mut(), &feeds) else {
        super::exchange::save_link(bot, &mut link, None).await?;
        return Ok(json!({"status": "no_closed_bars", "fetched_limit": limit}));
    };
    let version = eval.version.clone();
    record_version(bot, stored, &version, spec, now_ms()).await?;
    let key = format!("strategy_state:{}", version.id);
    let mut state: VersionState = kv_get(&bot.db, &key)?.unwrap_or_default();
    let base = json!({"bot_id": config.id.to_string(), "version": version.id, "bar_open_ms": eval.bar_open_ms,
        "bars": eval.steps, "targets": eval.targets.iter().map(|(s, c, t)| json!({"symbol": s.as_str(), "close": c, "target": t.map(|t| format!("{t:?}"))})).collect::<Vec<_>>()});
    if state.last_bar_ms.is_some_and(|b| b >= eval.bar_open_ms) {
        super::exchange::save_link(bot, &mut link, None).await?;
        return Ok(with(base, json!({"status": "already_evaluated"})));
    }
    // Issue 23: as on a single-series bot, each instrument a regime factor reads is labelled
    // from its own bars (at that factor's timeframe) and a change is audited with what the bar
    // did to the bot's targets (a regime on one instrument may gate another's).
    let actions: Vec<String> = eval
        .targets
        .iter()
        .filter_map(|(symbol, _, target)| {
            let text = target.map(|t| format!("{t:?}"))?;
            let last = state.last_targets.get(symbol.as_str()).map(String::as_str);
            Some(format!(
                "{symbol}: {}",
                super::regime::action_text(Some(&text), last)
            ))
        })
        .collect();
    let action = if actions.is_empty() {
        super::regime::action_text(None, None)
    } else {
        actions.join("; ")
    };
    for (symbol, bars) in symbols.iter().zip(&feeds) {
        super::regime::observe_series(
            bot,
            config,
            symbol.as_str(),
            bars,
            spec.timeframe,
            action.clone(),
        )
        .await?;
    }
    // The instruments whose target changed, with their market facts (read before any order).
    let mut due = Vec::new();
    for (symbol, close, target) in &eval.targets {
        let text = target.map(|t| format!("{t:?}"));
        let Some(t) = target.filter(|_| text.as_ref() != state.last_targets.get(symbol.as_str()))
        else {
            continue;
        };
        match super::facts::market_facts(bot, &mut link, symbol).await {
            Ok(f) => due.push((symbol.clone(), *close, t, text.unwrap_or_default(), f)),
            Err(e) => {
                let _ = super::exchange::save_link(bot, &mut link, None).await;
                return Err(ApiError::from(e));
            }
        }
    }
    super::exchange::save_link(bot, &mut link, None).await?;
    let mut outcomes = Vec::with_capacity(due.len());
    for (symbol, close, target, text, facts) in due {
        let l = ledger::load(bot, config)?;
        let position = l
            .position(&symbol)
            .map_or(rust_decimal::Decimal::ZERO, |p| p.qty);
        let (qty, equity) = size(config, l, &symbol, position, target, &facts)?;
        let now = now_ms();
        let id = live::multi_signal_id(&version, &symbol, eval.bar_open_ms)
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let mut parsed = live::target_signal(id, &symbol, qty, facts.price, now);
        protect_signal(config, &mut parsed, position, qty, &facts);
        let outcome = process(bot, stored, &parsed, now, &origin(&version)).await;
        // Issue 23: execution against this instrument's deciding close, as a single series'.
        super::drift::record(bot, symbol.as_str(), close, &outcome).await;
        if outcome.is_ok() {
            state.last_targets.insert(symbol.to_string(), text);
        }
        let outcome = answer(outcome);
        outcomes.push(
            json!({"symbol": symbol.as_str(), "signal_id": parsed.signal_id.as_str(),
            "target_qty": qty, "price": facts.price, "equity": equity, "outcome": outcome}),
        );
    }
    state.last_bar_ms = Some(eval.bar_open_ms);
    let mut j = bot.journal()?;
    j.put(&key, &state)?;
    bot.commit(j).await?;
    let status = if outcomes.is_empty() {
        if eval.targets.iter().any(|(_, _, t)| t.is_none()) {
            "warming_up"
        } else {
            "target_unchanged"
        }
    } else {
        "signalled"
    };
    Ok(with(base, json!({"status": status, "signals": outcomes})))
}

/// The order quantity that takes `position` to `target`, and the equity it was sized on: the
/// ledger marked at the price the order will meet, as the backtester marks it, and sized at the
/// price it is expected to fill at (paper: the paper venue's slippage), exactly as the
/// backtester sizes at its slipped fill price. One rule for single- and multi-series bots.
fn size(
    config: &keel_engine::config::BotConfig,
    mut ledger: keel_engine::ledger::Ledger,
    symbol: &keel_engine::ids::Symbol,
    position: rust_decimal::Decimal,
    target: keel_engine::strategy::Target,
    facts: &keel_engine::bot::MarketFacts,
) -> Result<(rust_decimal::Decimal, rust_decimal::Decimal), ApiError> {
    ledger
        .book(&LedgerEntry::Mark(MarkPrice {
            symbol: symbol.clone(),
            price: facts.price,
            time_ms: now_ms(),
        }))
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let equity = ledger
        .equity()
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let slippage_bps = match config.mode {
        keel_engine::model::BotMode::Paper => super::exchange::PAPER_SLIPPAGE_BPS,
        _ => rust_decimal::Decimal::ZERO,
    };
    let qty = live::order_qty(
        target,
        &config.sizing,
        equity,
        position,
        facts.price,
        slippage_bps,
        &facts.rules,
    )
    .ok_or_else(|| ApiError::internal("target quantity overflowed"))?;
    Ok((qty, equity))
}

/// The stop-loss / take-profit a strategy bot's `exits` ask for on this trade
/// ([`keel_engine::venue::protect::for_target`]: only a trade adding exposure), at the distances
/// from the price the order is expected to fill at (paper: after the venue's slippage), as the
/// backtester places them.
fn protect_signal(
    config: &keel_engine::config::BotConfig,
    parsed: &mut keel_engine::signal::ParsedSignal,
    position: rust_decimal::Decimal,
    qty: rust_decimal::Decimal,
    facts: &keel_engine::bot::MarketFacts,
) {
    let Some(x) = config.exits else {
        return;
    };
    let tick = facts.rules.tick_size;
    let side = if qty > position {
        keel_engine::model::Side::Buy
    } else {
        keel_engine::model::Side::Sell
    };
    let expected = match config.mode {
        keel_engine::model::BotMode::Paper => keel_engine::venue::paper::slipped_price(
            facts.price,
            side,
            super::exchange::PAPER_SLIPPAGE_BPS,
            tick,
        ),
        _ => facts.price,
    };
    let p = keel_engine::venue::protect::for_target(
        position,
        qty,
        expected,
        x.stop_loss_pct,
        x.take_profit_pct,
        tick,
    );
    parsed.signal.stop_loss = p.stop_loss;
    parsed.signal.take_profit = p.take_profit;
}

/// Before a decision, the exits that fired since the last one are booked, so the decision sizes
/// against the position they left (as the backtester's): a paper bot's exits first see every
/// closed bar since the last one they saw, by the paper venue's one rule (the open, the extreme
/// against the position, the other extreme, the close); a live bot's are asked of the exchange.
async fn observe_paper(
    bot: &BotDO,
    config: &keel_engine::config::BotConfig,
    paper: Option<keel_engine::venue::paper::PaperVenue>,
    feeds: &[(&keel_engine::ids::Symbol, &[keel_engine::market::Bar])],
) -> Result<(), ApiError> {
    let Some(mut paper) = paper else {
        super::protection::refresh(bot, config, Actor::System).await?;
        return Ok(());
    };
    // A bot without exits configured never has any: nothing to observe or store per bar.
    if config.exits.is_none() && feeds.iter().all(|(s, _)| paper.working_exits(s).is_empty()) {
        return Ok(());
    }
    let mut fired = false;
    let mut seen = Vec::new();
    for (symbol, bars) in feeds {
        let key = format!("paper_bar_ms:{symbol}");
        let last: Option<i64> = kv_get(&bot.db, &key)?;
        let Some(newest) = bars.last().map(|b| b.open_time_ms) else {
            continue;
        };
        if last.is_some_and(|l| l >= newest) {
            continue;
        }
        let tick = paper.rules_of(symbol).map(|r| r.tick_size);
        if let (Some(tick), false) = (tick, paper.working_exits(symbol).is_empty()) {
            for b in bars
                .iter()
                .filter(|b| last.is_none_or(|l| b.open_time_ms > l))
            {
                if let Some(p) = keel_engine::venue::paper::exits::BarPrices::of(b, tick) {
                    fired |= !paper.observe_bar(symbol, p, now_ms()).exits.is_empty();
                }
            }
        }
        seen.push((key, newest));
    }
    if seen.is_empty() {
        return Ok(());
    }
    let mut j = bot.journal()?;
    for (k, v) in &seen {
        j.put(k, v)?;
    }
    j.put("paper", &paper)?;
    bot.commit(j).await?;
    if fired {
        super::protection::refresh_observed(bot, config, Actor::System).await?;
    }
    Ok(())
}

/// Who sends a strategy's signals: the system, on behalf of the version (`signal_received.source`).
fn origin(version: &keel_engine::strategy::StrategyVersion) -> Origin {
    Origin {
        actor: Actor::System,
        source: format!("strategy:{}", version.id),
    }
}

/// A strategy signal's outcome as the strategy answer shows it: a refusal is a `rejected` entry
/// with its status and reason, not an error of the evaluation.
fn answer(outcome: Result<Value, ApiError>) -> Value {
    match outcome {
        Ok(v) => v,
        Err(e) => json!({"status": "rejected", "http_status": e.status, "error": e.body()}),
    }
}

fn with(mut base: Value, extra: Value) -> Value {
    if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    base
}

async fn record_version(
    bot: &BotDO,
    stored: &super::config::StoredConfig,
    version: &keel_engine::strategy::StrategyVersion,
    spec: &LiveSpec,
    now: i64,
) -> Result<(), ApiError> {
    let mut runs: BTreeMap<String, VersionRecord> =
        kv_get(&bot.db, "strategy_versions")?.unwrap_or_default();
    if runs.contains_key(&version.id) {
        return Ok(());
    }
    runs.insert(
        version.id.clone(),
        VersionRecord {
            name: spec.name.clone(),
            version: version.version,
            params: version.params.values().clone(),
            first_run_ms: now,
            config_version: stored.version,
        },
    );
    let mut j = bot.journal()?;
    j.put("strategy_versions", &runs)?;
    bot.commit(j).await
}

/// Alarm step (runs last in the alarm handler): for a strategy bot whose bar has closed, runs
/// the strategy under the bot's execution turn, then keeps one alarm at the earliest of what is
/// already set and the strategy's next wake. Errors are logged; the next bar tries again.
pub async fn on_alarm(bot: &BotDO) {
    let Ok(Some(stored)) = kv_get::<super::config::StoredConfig>(&bot.db, "config") else {
        return;
    };
    let Ok(Some(spec)) = live::spec(&stored.config) else {
        return;
    };
    if bot.ensure_loaded(&stored.config.id).is_err() {
        return;
    }
    let now = now_ms();
    let due = kv_get::<i64>(&bot.db, "strategy_due_ms").ok().flatten();
    let mut next = live::next_wake(spec.timeframe, now);
    if due.is_some_and(|d| d <= now) {
        match run(bot).await {
            Ok(out) => {
                // The exchange may publish the candle a little late: try again shortly.
                let expected =
                    now.div_euclid(spec.timeframe.ms()) * spec.timeframe.ms() - spec.timeframe.ms();
                let late = out["bar_open_ms"].as_i64().is_some_and(|b| b < expected)
                    && now - (expected + spec.timeframe.ms()) < LATE_GIVE_UP_MS;
                if late {
                    next = now + LATE_RETRY_MS;
                }
            }
            Err(e) => worker::console_error!("strategy: {}", e.message),
        }
    }
    if due != Some(next) {
        let mut b = crate::db::WriteBatch::new();
        b.push(
            "INSERT INTO kv (key, value) VALUES ('strategy_due_ms', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            vec![crate::db::text(next.to_string())],
        );
        if let Err(e) = bot.db.commit(b) {
            worker::console_error!("strategy: cannot store the next wake: {e}");
        }
    }
    let storage = bot.state.storage();
    let wake = match storage.get_alarm().await {
        Ok(Some(at)) if at <= next => return,
        _ => next,
    };
    let delay = (wake - now_ms()).max(10) as u64;
    if let Err(e) = storage
        .set_alarm(std::time::Duration::from_millis(delay))
        .await
    {
        worker::console_error!("strategy: cannot set the alarm: {e}");
    }
}
