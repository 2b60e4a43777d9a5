//! A backtest described as data (the CLI's flags, the admin API's JSON body) and run end to end
//! on exact candles: config with sensible venue defaults → strategy from the registry → bars
//! (resampled when the candles are finer) → [`run`] → [`report::Report`]. The CLI and the Worker
//! share it so a backtest means the same thing in both.

use super::report::{self, Report, RunInfo};
use super::{run, BacktestConfig, BacktestError, FillAt};
use crate::config::BotConfig;
use crate::history::store::{self, tf_label};
use crate::history::Candle;
use crate::ids::Symbol;
use crate::market::Timeframe;
use crate::model::{Exchange, InstrumentRules, Market};
use crate::strategy::Registry;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Names accepted besides the registry's (the and the lead's spelling).
const ALIASES: [(&str, &str); 2] = [
    ("sma_cross", "ma_crossover"),
    ("sma_crossover", "ma_crossover"),
];

/// Fill timing as requests spell it (`next_open` | `close`), mapped onto [`FillAt`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fill {
    /// Next bar's open (default).
    NextOpen,
    /// Same bar's close.
    Close,
}

impl Fill {
    /// The engine's value.
    pub fn at(self) -> FillAt {
        match self {
            Fill::NextOpen => FillAt::NextOpen,
            Fill::Close => FillAt::Close,
        }
    }
}

fn default_fill() -> Fill {
    Fill::NextOpen
}
fn default_capital() -> Decimal {
    Decimal::from(10_000)
}

/// What to backtest. Unset fees and instrument rules take the venue's usual values (stated in
/// the report), so a one-line command gives a realistic run.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BacktestRequest {
    /// Registered strategy name (`ma_crossover`, alias `sma_cross`, …); empty with `spec`.
    #[serde(default)]
    pub strategy: String,
    /// A declarative strategy spec document run instead of a registered template.
    #[serde(default)]
    pub spec: Option<Value>,
    /// Strategy parameters.
    #[serde(default)]
    pub params: BTreeMap<String, f64>,
    /// Exchange whose fees and rules apply.
    pub exchange: Exchange,
    /// Market.
    pub market: Market,
    /// Symbol.
    pub symbol: Symbol,
    /// Bar timeframe the strategy runs on (`1h`).
    pub timeframe: String,
    /// Fill timing.
    #[serde(default = "default_fill")]
    pub fill: Fill,
    /// Adverse slippage per fill, bps.
    #[serde(default)]
    pub slippage_bps: Decimal,
    /// Taker fee rate (default: the venue's base tier).
    #[serde(default)]
    pub taker_fee_rate: Option<Decimal>,
    /// Maker fee rate (default: the venue's base tier).
    #[serde(default)]
    pub maker_fee_rate: Option<Decimal>,
    /// Starting capital, quote.
    #[serde(default = "default_capital")]
    pub initial_capital: Decimal,
    /// Price tick (default: the finest decimal in the candles).
    #[serde(default)]
    pub tick_size: Option<Decimal>,
    /// Quantity step (default: the finest decimal of the candles' volume).
    #[serde(default)]
    pub step_size: Option<Decimal>,
    /// Minimum order notional (default 5).
    #[serde(default)]
    pub min_notional: Option<Decimal>,
    /// A bot config (sizing, risk limits) instead of the default 100 %-of-equity, no-limit one.
    #[serde(default)]
    pub bot: Option<Value>,
    /// Rebalance band for exposure targets (0 = only on target changes).
    #[serde(default)]
    pub rebalance_band: f64,
    /// Stop-loss / take-profit distances every entry gets (`{"stop_loss_pct": "2"}`), as a
    /// strategy bot's config `exits`.
    #[serde(default)]
    pub exits: Option<crate::config::ExitDistances>,
}

/// Why a backtest request could not run; names the field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RequestError {
    /// A field with an unusable value.
    #[error("{field}: {reason}")]
    Field {
        /// Field name.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// The backtest itself failed.
    #[error(transparent)]
    Backtest(#[from] BacktestError),
}

fn field(field: &'static str, reason: impl std::fmt::Display) -> RequestError {
    RequestError::Field {
        field,
        reason: reason.to_string(),
    }
}

/// Base-tier (taker, maker) fee rates of a venue.
pub fn default_fees(exchange: Exchange, market: Market) -> (Decimal, Decimal) {
    let d = |m: i64, s: u32| Decimal::new(m, s);
    match (exchange, market) {
        (Exchange::Binance, Market::Spot) => (d(1, 3), d(1, 3)),
        (Exchange::Binance, Market::Linear) => (d(5, 4), d(2, 4)),
        (Exchange::Bybit, Market::Spot) => (d(1, 3), d(1, 3)),
        (Exchange::Bybit, Market::Linear) => (d(55, 5), d(2, 4)),
    }
}

fn finest(values: impl Iterator<Item = Decimal>) -> Decimal {
    let scale = values.map(|v| v.normalize().scale()).max().unwrap_or(0);
    Decimal::new(1, scale)
}

impl BacktestRequest {
    /// The registry name after aliases (a spec's own name for a spec).
    pub fn strategy_name(&self) -> &str {
        if let Some(name) = self
            .spec
            .as_ref()
            .and_then(|s| s.get("name"))
            .and_then(Value::as_str)
        {
            return name;
        }
        ALIASES
            .iter()
            .find(|(a, _)| *a == self.strategy)
            .map_or(self.strategy.as_str(), |(_, n)| n)
    }

    /// The bar timeframe.
    ///
    /// # Errors
    /// [`RequestError::Field`] `timeframe`.
    pub fn bar_timeframe(&self) -> Result<Timeframe, RequestError> {
        Timeframe::parse(&self.timeframe).map_err(|e| field("timeframe", e))
    }

    /// The config the run uses.
    ///
    /// # Errors
    /// [`RequestError::Field`] naming the bad field.
    pub fn config(&self, candles: &[Candle]) -> Result<BacktestConfig, RequestError> {
        self.config_for(candles, &[self.symbol.as_str()])
    }

    /// Instrument rules for `symbol` from the request's overrides, else its candles' finest tick
    /// and step.
    fn rules_for(&self, symbol: &Symbol, candles: &[Candle]) -> InstrumentRules {
        let tick = self.tick_size.unwrap_or_else(|| {
            finest(
                candles
                    .iter()
                    .flat_map(|c| [c.open, c.high, c.low, c.close]),
            )
        });
        let step = self
            .step_size
            .unwrap_or_else(|| finest(candles.iter().map(|c| c.volume)));
        let (base, quote) = split_symbol(symbol.as_str());
        InstrumentRules {
            symbol: symbol.clone(),
            base_asset: base,
            quote_asset: quote,
            tick_size: tick,
            step_size: step,
            min_qty: step,
            max_qty: Decimal::from(1_000_000_000),
            max_market_qty: Decimal::ZERO,
            min_notional: self.min_notional.unwrap_or(Decimal::from(5)),
            min_price: Decimal::ZERO,
            max_price: Decimal::ZERO,
        }
    }

    /// [`Self::config`] for a bot whose default whitelist is `instruments`.
    fn config_for(
        &self,
        candles: &[Candle],
        instruments: &[&str],
    ) -> Result<BacktestConfig, RequestError> {
        let (taker, maker) = default_fees(self.exchange, self.market);
        let ex = serde_json::to_value(self.exchange).unwrap_or(Value::Null);
        let mk = serde_json::to_value(self.market).unwrap_or(Value::Null);
        let mut bot = self.bot.clone().unwrap_or_else(
            || json!({"sizing": {"mode": "pct_equity", "value": "100"}, "risk": {}}),
        );
        if let Some(obj) = bot.as_object_mut() {
            for (k, v) in [
                ("id", json!("backtest")),
                ("name", json!("Backtest")),
                ("mode", json!("paper")),
                ("instruments", json!(instruments)),
            ] {
                obj.entry(k).or_insert(v);
            }
            obj.insert("exchange".into(), ex);
            obj.insert("market".into(), mk);
        }
        let mut bot = BotConfig::from_value(bot).map_err(|e| field("bot", e))?;
        if let Some(x) = self.exits {
            if let Some((path, reason)) = x.problems().into_iter().next() {
                return Err(field("exits", format!("{path}: {reason}")));
            }
            bot.exits = Some(x);
        }
        if bot.sizing.mode == crate::config::SizingMode::RiskPerTrade {
            return Err(field(
                "bot",
                "sizing.mode: risk_per_trade needs a stop-loss distance, which a strategy's target does not carry",
            ));
        }
        if self.initial_capital <= Decimal::ZERO {
            return Err(field("initial_capital", "must be positive"));
        }
        if self.slippage_bps.is_sign_negative() {
            return Err(field("slippage_bps", "must not be negative"));
        }
        Ok(BacktestConfig {
            bot,
            rules: self.rules_for(&self.symbol, candles),
            taker_fee_rate: self.taker_fee_rate.unwrap_or(taker),
            maker_fee_rate: self.maker_fee_rate.unwrap_or(maker),
            initial_capital: self.initial_capital,
            fill_at: self.fill.at(),
            slippage_bps: self.slippage_bps,
            timeframe: self.bar_timeframe()?,
            rebalance_band: self.rebalance_band,
        })
    }

    /// The strategy the request names: its spec when it has one, else the registered template.
    ///
    /// # Errors
    /// [`RequestError::Field`] `strategy` (unknown name, bad parameter, both or neither given)
    /// or `spec` (the spec's problems, each with its path).
    pub fn build_strategy(&self) -> Result<Box<dyn crate::strategy::Strategy>, RequestError> {
        match &self.spec {
            Some(_) if !self.strategy.is_empty() => Err(field(
                "strategy",
                "give either a registered strategy name or a spec, not both",
            )),
            Some(doc) => crate::strategy::spec::build(doc, &self.params).map_err(|e| match e {
                crate::strategy::StrategyError::Spec(_) => field("spec", e),
                other => field("params", other),
            }),
            None if self.strategy.is_empty() => Err(field(
                "strategy",
                "is required (a registered strategy name), or give a spec",
            )),
            None => Registry::builtin()
                .build(self.strategy_name(), &self.params)
                .map_err(|e| field("strategy", e)),
        }
    }

    /// Runs the backtest on `candles` stored at `source` (resampled to the request's timeframe).
    ///
    /// # Errors
    /// [`RequestError`] for a bad field, an unknown strategy or parameter, no bars, or a failed run.
    pub fn execute(&self, candles: &[Candle], source: Timeframe) -> Result<Report, RequestError> {
        let tf = self.bar_timeframe()?;
        let bars = store::bars(candles, source, tf).map_err(|e| field("timeframe", e))?;
        if bars.is_empty() {
            return Err(field("bars", "no candles in the requested range"));
        }
        let config = self.config(candles)?;
        let mut strategy = self.build_strategy()?;
        let result = run(&config, strategy.as_mut(), &bars)?;
        let info = self.run_info(
            self.symbol.as_str().to_string(),
            tf_label(tf).unwrap_or("?").to_string(),
            bars[0].open_time_ms,
            bars[bars.len() - 1].open_time_ms + tf.ms(),
        );
        Ok(report::build(info, &config, &result))
    }
}

impl BacktestRequest {
    /// The instruments a multi-series spec reads (its series' symbols, sorted), or `None` for a
    /// single-instrument request. Callers load one history per symbol for
    /// [`Self::execute_multi`].
    ///
    /// # Errors
    /// [`RequestError::Field`] `spec`/`params`/`strategy` when the strategy cannot be built.
    pub fn feeds(&self) -> Result<Option<Vec<Symbol>>, RequestError> {
        let s = self.build_strategy()?;
        Ok((!s.feeds().is_empty()).then(|| s.feeds().to_vec()))
    }

    /// Runs a multi-series spec on one history per instrument (`history[symbol] = (candles,
    /// their timeframe)`, each resampled to the request's timeframe, which must be the spec's
    /// base timeframe) with [`super::run_multi`]: one ledger, each instrument's rules from its
    /// own candles (or the request's overrides). `symbol` is only the report's label then.
    ///
    /// # Errors
    /// [`RequestError`] naming the field: `timeframe` (not the spec's base), `bars` (an
    /// instrument without candles), or the strategy's and the run's errors.
    pub fn execute_multi(
        &self,
        history: &BTreeMap<Symbol, (Vec<Candle>, Timeframe)>,
    ) -> Result<Report, RequestError> {
        let tf = self.bar_timeframe()?;
        let mut strategy = self.build_strategy()?;
        let feeds = strategy.feeds().to_vec();
        if feeds.is_empty() {
            return Err(field("spec", "declares no series: run it with execute"));
        }
        let base = self
            .spec
            .as_ref()
            .and_then(|d| d.get("timeframe"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        if tf_label(tf).ok() != Some(base) {
            return Err(field(
                "timeframe",
                format!("must be the spec's base timeframe {base:?}"),
            ));
        }
        let mut rules = Vec::with_capacity(feeds.len());
        let mut bars = Vec::with_capacity(feeds.len());
        for symbol in &feeds {
            let (candles, source) = history
                .get(symbol)
                .ok_or_else(|| field("bars", format!("no candles for {symbol}")))?;
            let b = store::bars(candles, *source, tf).map_err(|e| field("timeframe", e))?;
            if b.is_empty() {
                return Err(field(
                    "bars",
                    format!("no candles for {symbol} in the requested range"),
                ));
            }
            rules.push(self.rules_for(symbol, candles));
            bars.push(b);
        }
        let names: Vec<&str> = feeds.iter().map(Symbol::as_str).collect();
        let first = history
            .get(&feeds[0])
            .map(|(c, _)| c.as_slice())
            .unwrap_or_default();
        let mut config = self.config_for(first, &names)?;
        config.rules = rules[0].clone();
        let result = super::run_multi(&config, &rules, strategy.as_mut(), &bars)?;
        let from_ms = bars
            .iter()
            .filter_map(|b| b.first())
            .map(|b| b.open_time_ms)
            .max()
            .unwrap_or(0);
        let to_ms = bars
            .iter()
            .filter_map(|b| b.last())
            .map(|b| b.open_time_ms + tf.ms())
            .min()
            .unwrap_or(0);
        let info = self.run_info(names.join(","), base.to_string(), from_ms, to_ms);
        Ok(report::build_multi(info, &config, &rules, &result))
    }
}

impl BacktestRequest {
    /// What the report says was run: this request's strategy, parameters and market, on
    /// `symbol` (several joined by commas) and `timeframe` over `[from_ms, to_ms)`.
    fn run_info(&self, symbol: String, timeframe: String, from_ms: i64, to_ms: i64) -> RunInfo {
        RunInfo {
            strategy_name: self.strategy_name().to_string(),
            params: self.params.clone(),
            exchange: match self.exchange {
                Exchange::Binance => "binance".into(),
                Exchange::Bybit => "bybit".into(),
            },
            market: match self.market {
                Market::Spot => "spot".into(),
                Market::Linear => "linear".into(),
            },
            symbol,
            timeframe,
            from_ms,
            to_ms,
        }
    }
}

/// Base and quote of a symbol by its quote suffix (USDT, USDC, FDUSD, BUSD, BTC, ETH, EUR, TRY).
fn split_symbol(symbol: &str) -> (String, String) {
    for q in ["USDT", "USDC", "FDUSD", "BUSD", "BTC", "ETH", "EUR", "TRY"] {
        if let Some(base) = symbol.strip_suffix(q) {
            if !base.is_empty() {
                return (base.to_string(), q.to_string());
            }
        }
    }
    (symbol.to_string(), "USDT".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::csv;

    fn candles() -> Vec<Candle> {
        // The factor fixture as exact candles (1m).
        let text = include_str!("../../test_data/factors/ohlcv.csv");
        csv::parse(text.as_bytes()).unwrap()
    }

    fn req(v: Value) -> BacktestRequest {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn runs_with_defaults_alias_and_resampling() {
        let r = req(
            json!({"strategy": "sma_cross", "params": {"fast": 3, "slow": 8},
            "exchange": "binance", "market": "spot", "symbol": "BTCUSDT", "timeframe": "5m"}),
        );
        let cs = candles();
        let rep = r.execute(&cs, Timeframe::M1).unwrap();
        assert_eq!(rep.run.strategy_name, "ma_crossover");
        let five = store::bars(&cs, Timeframe::M1, Timeframe::parse("5m").unwrap()).unwrap();
        assert_eq!(rep.bars, five.len());
        assert!(rep.bars < cs.len());
        assert_eq!(rep.fill_model.taker_fee_rate, Decimal::new(1, 3));
        let cfg = r.config(&cs).unwrap();
        assert_eq!(
            (
                cfg.rules.base_asset.as_str(),
                cfg.rules.quote_asset.as_str()
            ),
            ("BTC", "USDT")
        );
        assert!(cfg.rules.tick_size > Decimal::ZERO && cfg.rules.tick_size < Decimal::ONE);
    }

    #[test]
    fn a_spec_runs_like_its_template_and_its_refusals_name_the_path() {
        let cs = candles();
        let spec: Value = serde_json::from_str(crate::strategy::spec::TEMPLATES[0].1).unwrap();
        let base = json!({"params": {"fast": 3, "slow": 8}, "exchange": "binance", "market": "spot",
            "symbol": "BTCUSDT", "timeframe": "5m"});
        let mut with_spec = base.clone();
        with_spec["spec"] = spec.clone();
        let mut with_name = base.clone();
        with_name["strategy"] = json!("ma_crossover");
        let a = req(with_spec.clone()).execute(&cs, Timeframe::M1).unwrap();
        let b = req(with_name).execute(&cs, Timeframe::M1).unwrap();
        assert_eq!(a.run.strategy_name, "ma_crossover_spec");
        assert!(!a.fills.is_empty());
        assert_ne!(a.strategy_version, b.strategy_version);
        assert_eq!(
            serde_json::to_value(&a.metrics).unwrap(),
            serde_json::to_value(&b.metrics).unwrap()
        );
        assert_eq!(a.equity_curve, b.equity_curve);
        let mut bad = with_spec.clone();
        bad["spec"]["factors"]["fast_ma"]["kind"] = json!("nope");
        match req(bad).execute(&cs, Timeframe::M1) {
            Err(RequestError::Field { field, reason }) => {
                assert_eq!(field, "spec");
                assert!(reason.contains("factors.fast_ma.kind"), "{reason}");
            }
            other => panic!("{:?}", other.map(|r| r.bars)),
        }
        let mut both = with_spec;
        both["strategy"] = json!("ma_crossover");
        assert!(matches!(
            req(both).execute(&cs, Timeframe::M1),
            Err(RequestError::Field {
                field: "strategy",
                ..
            })
        ));
        assert!(matches!(
            req(base).execute(&cs, Timeframe::M1),
            Err(RequestError::Field {
                field: "strategy",
                ..
            })
        ));
    }

    #[test]
    fn a_multi_series_spec_runs_on_one_history_per_symbol() {
        // The fixture's prices on the minute grid (exchange candles are: a 5m bucket starts on a
        // 1m open).
        let btc: Vec<Candle> = candles()
            .iter()
            .enumerate()
            .map(|(i, c)| Candle {
                open_time_ms: 1_700_000_100_000 + i as i64 * 60_000,
                ..*c
            })
            .collect();
        let eth: Vec<Candle> = btc
            .iter()
            .map(|c| Candle {
                open: c.close,
                close: c.open,
                ..*c
            })
            .collect();
        let spec = json!({"name": "pair", "timeframe": "1m",
            "series": {"b": {"symbol": "BTCUSDT", "timeframe": "5m"}, "e": {"symbol": "ETHUSDT"}},
            "factors": {"bf": {"kind": "sma", "series": "b", "args": {"n": 2}}, "bs": {"kind": "sma", "series": "b", "args": {"n": 4}},
                        "ef": {"kind": "sma", "series": "e", "args": {"n": 3}}, "es": {"kind": "sma", "series": "e", "args": {"n": 9}}},
            "targets": {"b": {"expr": {"if": [{"gt": ["bf", "bs"]}, 0.5, -0.5]}},
                        "e": {"expr": {"if": [{"gt": ["ef", "es"]}, 0.4, 0]}, "min": 0}}});
        let r = req(
            json!({"spec": spec, "exchange": "binance", "market": "linear",
            "symbol": "BTCUSDT", "timeframe": "1m"}),
        );
        assert_eq!(
            r.feeds().unwrap().unwrap(),
            vec![
                Symbol::new("BTCUSDT").unwrap(),
                Symbol::new("ETHUSDT").unwrap()
            ]
        );
        let mut history = BTreeMap::new();
        history.insert(
            Symbol::new("BTCUSDT").unwrap(),
            (btc.clone(), Timeframe::M1),
        );
        match r.execute_multi(&history) {
            Err(RequestError::Field { field, reason }) => {
                assert_eq!(field, "bars");
                assert!(reason.contains("ETHUSDT"), "{reason}");
            }
            other => panic!("{:?}", other.map(|r| r.bars)),
        }
        history.insert(Symbol::new("ETHUSDT").unwrap(), (eth, Timeframe::M1));
        let rep = r.execute_multi(&history).unwrap();
        assert_eq!(rep.run.symbol, "BTCUSDT,ETHUSDT");
        assert_eq!(rep.bars, btc.len());
        for s in ["BTCUSDT", "ETHUSDT"] {
            assert!(rep.fills.iter().any(|f| f.symbol.as_str() == s), "{s}");
            assert!(
                rep.trades.iter().any(|t| t.symbol.as_deref() == Some(s)),
                "{s}"
            );
        }
        let mut wrong = r.clone();
        wrong.timeframe = "5m".into();
        assert!(matches!(
            wrong.execute_multi(&history),
            Err(RequestError::Field {
                field: "timeframe",
                ..
            })
        ));
    }

    #[test]
    fn refusals_name_the_field() {
        let cases = [
            (
                json!({"strategy": "nope", "exchange": "binance", "market": "spot", "symbol": "BTCUSDT", "timeframe": "1m"}),
                "strategy",
            ),
            (
                json!({"strategy": "ma_crossover", "exchange": "binance", "market": "spot", "symbol": "BTCUSDT", "timeframe": "7m"}),
                "timeframe",
            ),
            (
                json!({"strategy": "ma_crossover", "params": {"fast": 50, "slow": 10}, "exchange": "binance", "market": "spot", "symbol": "BTCUSDT", "timeframe": "1m"}),
                "strategy",
            ),
            (
                json!({"strategy": "ma_crossover", "exchange": "binance", "market": "spot", "symbol": "BTCUSDT", "timeframe": "1m", "initial_capital": "0"}),
                "initial_capital",
            ),
            (
                json!({"strategy": "ma_crossover", "exchange": "binance", "market": "spot", "symbol": "BTCUSDT", "timeframe": "1m", "exits": {"stop_loss_pct": "150"}}),
                "exits",
            ),
        ];
        for (body, want) in cases {
            match req(body).execute(&candles(), Timeframe::M1) {
                Err(RequestError::Field { field, .. }) => assert_eq!(field, want),
                other => panic!("{want}: {:?}", other.map(|r| r.bars)),
            }
        }
        assert!(
            serde_json::from_value::<BacktestRequest>(json!({"strategy": "x", "bogus": 1}))
                .is_err()
        );
    }
}
