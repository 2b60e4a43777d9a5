//! Market regime per instrument of a regime-gated strategy bot (docs/analytics.md): on each new
//! closed bar the bot labels its instrument with the same `RuleClassifier`, parameters and bars
//! as its spec's `regime` factor (the window fetched covers the factor's history, so the label
//! equals the one the spec sees, and a backtest's), keeps the label history, and audits each
//! change as a `regime_action` event saying what the bar did to the bot's target (a gate that
//! pauses, reduces or switches acts through the target). The history feeds the attribution of
//! net P&L by regime (`keel_engine::analytics::RegimeBook`) and `GET /view/regime`.

use super::store::kv_get;
use super::{now_ms, BotDO};
use crate::http::{json, ApiError};
use keel_engine::analytics::RegimeBook;
use keel_engine::audit::{Actor, AuditDraft, AuditEvent};
use keel_engine::config::BotConfig;
use keel_engine::factor::Factor;
use keel_engine::market::{Bar, Timeframe};
use keel_engine::regime::{Regime, RuleClassifier, RuleClassifierParams};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use worker::Response;

/// Label changes kept per instrument (older ones are in the audit trail).
pub const MAX_HISTORY: usize = 500;

/// One instrument's regime: the label now and its changes, oldest first.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SymbolRegime {
    /// The label now.
    pub label: String,
    /// Since when: the moment the bot computed it (the bar's close at the earliest).
    pub since_ms: i64,
    /// `(since ms, label)` changes, oldest first, at most [`MAX_HISTORY`].
    pub history: Vec<(i64, String)>,
}

/// The label's spelling (as the spec's `regime.trend` output and the audit event).
fn label(r: Regime) -> &'static str {
    match r {
        Regime::Trend => "trend",
        Regime::Range => "range",
        Regime::Volatile => "volatile",
    }
}

/// The classifier parameters of the spec's first `regime` factor, resolving `"$param"`
/// arguments from the config's params, then the spec's defaults; `None` when the bot's spec has
/// no regime factor (then nothing is labelled or audited).
#[must_use]
pub fn params_of(config: &BotConfig) -> Option<RuleClassifierParams> {
    params_where(config, |_| true)
}

/// The parameters of the spec's first `regime` factor that `pick` accepts (see [`params_of`]).
fn params_where(config: &BotConfig, pick: impl Fn(&Value) -> bool) -> Option<RuleClassifierParams> {
    let spec = config.strategy_spec.as_ref()?;
    let args = spec
        .get("factors")?
        .as_object()?
        .values()
        .find(|f| f.get("kind").and_then(Value::as_str) == Some("regime") && pick(f))?
        .get("args")
        .cloned()
        .unwrap_or(Value::Null);
    let arg = |name: &str| -> Option<f64> {
        match args.get(name)? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => {
                let p = s.strip_prefix('$')?;
                config
                    .params
                    .get(p)
                    .and_then(serde_json::Number::as_f64)
                    .or_else(|| spec.pointer(&format!("/params/{p}/default"))?.as_f64())
            }
            _ => None,
        }
    };
    let d = RuleClassifierParams::default();
    let whole = |name: &str, default: usize| {
        arg(name)
            .filter(|x| x.is_finite() && *x >= 1.0 && *x <= 1e6)
            .map_or(default, |x| x as usize)
    };
    let real = |name: &str, default: f64| arg(name).filter(|x| x.is_finite()).unwrap_or(default);
    Some(RuleClassifierParams {
        adx_n: whole("adx_n", d.adx_n),
        vol_n: whole("vol_n", d.vol_n),
        pct_window: whole("pct_window", d.pct_window),
        trend_enter: real("trend_enter", d.trend_enter),
        trend_exit: real("trend_exit", d.trend_exit),
        vol_enter: real("vol_enter", d.vol_enter),
        vol_exit: real("vol_exit", d.vol_exit),
        confirm: whole("confirm", d.confirm),
    })
}

/// The label of the last of `bars` (closed, oldest first); `None` while not warm.
#[must_use]
pub fn last_label(p: RuleClassifierParams, bars: &[Bar]) -> Option<&'static str> {
    let mut c = RuleClassifier::new(p);
    bars.iter().fold(None, |_, b| c.update(b)).map(label)
}

/// What the bar did to the bot's target, for the audit event.
#[must_use]
pub fn action_text(new_target: Option<&str>, last_target: Option<&str>) -> String {
    match new_target {
        Some(t) if Some(t) != last_target => format!("target → {t}"),
        Some(_) => "target unchanged".into(),
        None => "no target yet (warming up)".into(),
    }
}

/// Labels the instrument on the bar that opened at `bar_open_ms` (the last of `bars`) and, when
/// the label changed, stores it and audits a `regime_action` with `action`. No-op for a bot
/// whose spec has no regime factor.
///
/// # Errors
/// Storage failures.
pub async fn observe(
    bot: &BotDO,
    config: &BotConfig,
    symbol: &str,
    bars: &[Bar],
    timeframe: Timeframe,
    action: String,
) -> Result<(), ApiError> {
    match params_of(config) {
        Some(p) => observe_with(bot, p, symbol, bars, timeframe, action).await,
        None => Ok(()),
    }
}

/// The multi-series form of [`observe`]: `bars` are `symbol`'s closed base bars (at `base`), and
/// the instrument is labelled by the spec's first `regime` factor reading a series of that
/// symbol, on that series' timeframe (complete buckets only, as the spec resamples). No-op when
/// no regime factor reads the symbol.
///
/// # Errors
/// Storage failures.
pub async fn observe_series(
    bot: &BotDO,
    config: &BotConfig,
    symbol: &str,
    bars: &[Bar],
    base: Timeframe,
    action: String,
) -> Result<(), ApiError> {
    let Some((p, tf)) = series_regime(config, symbol) else {
        return Ok(());
    };
    if tf.ms() <= base.ms() {
        return observe_with(bot, p, symbol, bars, base, action).await;
    }
    let higher = complete_buckets(bars, base, tf);
    observe_with(bot, p, symbol, &higher, tf, action).await
}

/// The parameters and series timeframe of a multi-series spec's first `regime` factor reading a
/// series of `symbol`; `None` when none does.
#[must_use]
pub fn series_regime(
    config: &BotConfig,
    symbol: &str,
) -> Option<(RuleClassifierParams, Timeframe)> {
    let spec = config.strategy_spec.as_ref()?;
    let series_of = |f: &Value| -> Option<Timeframe> {
        let def = spec.get("series")?.get(f.get("series")?.as_str()?)?;
        (def.get("symbol")?.as_str()? == symbol)
            .then(|| Timeframe::parse(def.get("timeframe")?.as_str()?).ok())
            .flatten()
    };
    let p = params_where(config, |f| series_of(f).is_some())?;
    // The same factor's series (factors iterate in the same order in both searches).
    let tf = spec
        .get("factors")?
        .as_object()?
        .values()
        .filter(|f| f.get("kind").and_then(Value::as_str) == Some("regime"))
        .find_map(series_of)?;
    Some((p, tf))
}

/// `bars` (at `from`, oldest first) resampled to `to`, keeping only buckets whose every source
/// bar is present: a bucket cut by the start of the window or still forming is dropped, as the
/// spec's resampling drops it, so the label is the one the spec's factor sees.
#[must_use]
pub fn complete_buckets(bars: &[Bar], from: Timeframe, to: Timeframe) -> Vec<Bar> {
    let per = (to.ms() / from.ms().max(1)).max(1) as usize;
    let mut out = Vec::with_capacity(bars.len() / per + 1);
    let mut start = 0;
    while start < bars.len() {
        let bucket = bars[start].open_time_ms.div_euclid(to.ms()) * to.ms();
        let end = bars[start..]
            .iter()
            .position(|b| b.open_time_ms.div_euclid(to.ms()) * to.ms() != bucket)
            .map_or(bars.len(), |k| start + k);
        let group = &bars[start..end];
        if group.len() == per {
            out.push(Bar {
                open_time_ms: bucket,
                open: group[0].open,
                high: group.iter().map(|b| b.high).fold(f64::MIN, f64::max),
                low: group.iter().map(|b| b.low).fold(f64::MAX, f64::min),
                close: group[group.len() - 1].close,
                volume: group.iter().map(|b| b.volume).sum(),
            });
        }
        start = end;
    }
    out
}

async fn observe_with(
    bot: &BotDO,
    p: RuleClassifierParams,
    symbol: &str,
    bars: &[Bar],
    timeframe: Timeframe,
    action: String,
) -> Result<(), ApiError> {
    let Some(last) = bars.last() else {
        return Ok(());
    };
    let Some(now_label) = last_label(p, bars) else {
        return Ok(());
    };
    let mut all: BTreeMap<String, SymbolRegime> = kv_get(&bot.db, "regimes")?.unwrap_or_default();
    let entry = all.entry(symbol.to_string()).or_default();
    if entry.label == now_label {
        return Ok(());
    }
    let previous = Some(entry.label.clone()).filter(|l| !l.is_empty());
    // In force from the moment the bot knew it (on the bar's close, or later for a late
    // candle): fills carry the time they were made, so a fill the new label caused is under it,
    // and none before it is.
    let since = now_ms().max(last.open_time_ms.saturating_add(timeframe.ms()));
    entry.label = now_label.to_string();
    entry.since_ms = since;
    entry.history.push((since, now_label.to_string()));
    if entry.history.len() > MAX_HISTORY {
        let cut = entry.history.len() - MAX_HISTORY;
        entry.history.drain(..cut);
    }
    let mut j = bot.journal()?;
    j.put("regimes", &all)?;
    j.audit(AuditDraft::new(
        now_ms(),
        Actor::System,
        AuditEvent::RegimeAction {
            symbol: symbol.to_string(),
            regime: now_label.to_string(),
            previous,
            action,
        },
    ))?;
    bot.commit(j).await
}

/// Every instrument's label history, for the attribution by regime.
///
/// # Errors
/// Storage failures.
pub fn book(bot: &BotDO) -> Result<RegimeBook, ApiError> {
    let all: BTreeMap<String, SymbolRegime> = kv_get(&bot.db, "regimes")?.unwrap_or_default();
    Ok(all.into_iter().map(|(k, v)| (k, v.history)).collect())
}

/// `GET /view/regime`: `{bot_id, gated, symbols: {SYMBOL: {label, since_ms, history}}}`;
/// `gated` says whether the bot's spec has a regime factor (otherwise nothing is labelled).
///
/// # Errors
/// Storage failures; 404 for an unknown bot.
pub fn view(bot: &BotDO) -> Result<Response, ApiError> {
    let stored = super::config::load_config(bot)?;
    let all: BTreeMap<String, SymbolRegime> = kv_get(&bot.db, "regimes")?.unwrap_or_default();
    Ok(json(
        200,
        &json!({"bot_id": stored.config.id.as_str(), "gated": params_of(&stored.config).is_some(), "symbols": all}),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(i: i64, c: f64) -> Bar {
        Bar {
            open_time_ms: i * 60_000,
            open: c,
            high: c + 1.0,
            low: c - 1.0,
            close: c,
            volume: 1.0,
        }
    }

    #[test]
    fn complete_buckets_drop_a_cut_first_and_a_forming_last_bucket() {
        // 1m bars from minute 3 to minute 21: buckets [0,5) cut, [5,10) [10,15) [15,20)
        // complete, [20,25) forming.
        let bars: Vec<Bar> = (3..22).map(|i| bar(i, 100.0 + i as f64)).collect();
        let m5 = Timeframe::parse("5m").unwrap();
        let got = complete_buckets(&bars, Timeframe::M1, m5);
        let opens: Vec<i64> = got.iter().map(|b| b.open_time_ms / 60_000).collect();
        assert_eq!(opens, vec![5, 10, 15]);
        // Each is the engine's resampling of its five bars.
        let whole = keel_engine::market::resample(&bars, Timeframe::M1, m5).unwrap();
        assert_eq!(got[..], whole[1..4]);
        // A missing bar inside a bucket drops that bucket.
        let gap: Vec<Bar> = bars
            .iter()
            .filter(|b| b.open_time_ms != 12 * 60_000)
            .copied()
            .collect();
        let opens: Vec<i64> = complete_buckets(&gap, Timeframe::M1, m5)
            .iter()
            .map(|b| b.open_time_ms / 60_000)
            .collect();
        assert_eq!(opens, vec![5, 15]);
    }

    #[test]
    fn a_multi_series_bot_labels_each_instrument_by_the_regime_factor_reading_it() {
        let mut config = BotConfig::from_value(json!({
            "id": "multi", "name": "multi", "exchange": "binance", "market": "linear",
            "mode": "paper", "instruments": ["BTCUSDT", "ETHUSDT"],
            "sizing": {"mode": "fixed_quote", "value": "100"}
        }))
        .unwrap();
        config.params.insert("adx".into(), 9.into());
        config.strategy_spec = Some(json!({
            "series": {"btc5": {"symbol": "BTCUSDT", "timeframe": "5m"},
                       "eth": {"symbol": "ETHUSDT", "timeframe": "1m"}},
            "factors": {
                "a": {"kind": "ema", "series": "eth", "args": {"n": 3}},
                "b": {"kind": "regime", "series": "btc5", "args": {"adx_n": "$adx", "vol_n": 20,
                  "pct_window": 100, "trend_enter": 25, "trend_exit": 20, "vol_enter": 0.9,
                  "vol_exit": 0.75, "confirm": 3}}
            }
        }));
        let (p, tf) = series_regime(&config, "BTCUSDT").unwrap();
        assert_eq!(tf, Timeframe::parse("5m").unwrap());
        assert_eq!((p.adx_n, p.pct_window, p.confirm), (9, 100, 3));
        // No regime factor reads ETH: it is not labelled.
        assert!(series_regime(&config, "ETHUSDT").is_none());
    }

    #[test]
    fn the_action_says_what_the_bar_did_to_the_target() {
        assert_eq!(
            action_text(Some("Exposure(0.0)"), Some("Exposure(1.0)")),
            "target → Exposure(0.0)"
        );
        assert_eq!(
            action_text(Some("Exposure(1.0)"), Some("Exposure(1.0)")),
            "target unchanged"
        );
        assert_eq!(action_text(None, None), "no target yet (warming up)");
    }

    #[test]
    fn the_label_is_the_spec_factors_on_the_same_bars() {
        // A choppy flat market, then a steady climb.
        let bars: Vec<Bar> = (0..120)
            .map(|i| {
                let c = if i < 60 {
                    100.0 + (i % 2) as f64
                } else {
                    100.0 + 2.0 * (i - 60) as f64
                };
                Bar {
                    open_time_ms: i * 60_000,
                    open: c,
                    high: c + 1.0,
                    low: c - 1.0,
                    close: c,
                    volume: 1.0,
                }
            })
            .collect();
        let p = RuleClassifierParams {
            adx_n: 5,
            vol_n: 5,
            pct_window: 20,
            trend_enter: 25.0,
            trend_exit: 20.0,
            vol_enter: 0.95,
            vol_exit: 0.9,
            confirm: 1,
        };
        // A flat but choppy market is not a trend; the climb is, once ADX is past 25.
        assert!(last_label(p, &bars[..55]).is_some_and(|l| l != "trend"));
        assert_eq!(last_label(p, &bars), Some("trend"));
        assert_eq!(last_label(p, &bars[..3]), None);
    }
}
