//! Backtests a strategy bot's config on candles exactly as an exchange (or the simulator) served
//! them, for the live-vs-backtest end-to-end check (`tests/e2e/strategy-live.spec.ts`).
//!
//! Reads one JSON document on stdin:
//! `{"config": <bot config>, "klines": "<raw klines body>", "exchange_info": "<raw rules body>",
//!   "taker_fee_rate": "0.001", "maker_fee_rate": "0.001", "initial_capital": "10000",
//!   "slippage_bps": "5", "fill_at": "close" | "next_open"}`
//! and prints the backtest report as JSON. For a multi-series spec, `klines` is an object of
//! raw klines bodies by symbol (`{"BTCUSDT": "<body>", "ETHUSDT": "<body>"}`, the base
//! timeframe's bars of each instrument), run by `backtest::run_multi`. Candles and rules are parsed by the bot's own venue
//! adapter, the strategy is built from the config like the live bot builds it, and the run uses
//! the backtester (the live sizing, risk, paper venue and ledger).

use keel_engine::backtest::{run, run_multi, BacktestConfig, FillAt};
use keel_engine::config::BotConfig;
use keel_engine::strategy::live;
use keel_engine::venue::{live_venue, HttpResponse, VenueOp, VenueReply, VenueSpec};
use rust_decimal::Decimal;
use serde::Deserialize;
use std::io::Read;
use std::process::ExitCode;

#[derive(Deserialize)]
struct Input {
    config: serde_json::Value,
    klines: serde_json::Value,
    exchange_info: String,
    taker_fee_rate: Decimal,
    maker_fee_rate: Decimal,
    initial_capital: Decimal,
    slippage_bps: Decimal,
    fill_at: String,
}

fn main() -> ExitCode {
    match replay() {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("strategy_replay: {e}");
            ExitCode::FAILURE
        }
    }
}

fn ok_response(body: String) -> HttpResponse {
    HttpResponse {
        status: 200,
        headers: Vec::new(),
        body,
        received_ms: 0,
    }
}

fn replay() -> Result<String, String> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| format!("stdin: {e}"))?;
    let input: Input = serde_json::from_str(&text).map_err(|e| format!("input: {e}"))?;
    let config = BotConfig::from_value(input.config).map_err(|e| format!("config: {e}"))?;
    let spec = live::spec(&config)
        .map_err(|e| e.to_string())?
        .ok_or("config: source is not \"strategy\"")?;
    let mut strategy = live::build(&spec).map_err(|e| e.to_string())?;
    let venue = live_venue(&VenueSpec {
        exchange: config.exchange,
        market: config.market,
        recv_window_ms: 5000,
    });
    let rules_of = |symbol: &keel_engine::ids::Symbol| -> Result<_, String> {
        let rules_op = VenueOp::InstrumentRules {
            symbol: Some(symbol.clone()),
        };
        match venue.parse(&rules_op, &ok_response(input.exchange_info.clone())) {
            Ok(VenueReply::Rules(list)) => list
                .into_iter()
                .find(|r| r.symbol == *symbol)
                .ok_or_else(|| format!("exchange_info: {symbol} not found")),
            other => Err(format!("exchange_info: {other:?}")),
        }
    };
    let bars_of =
        |symbol: &keel_engine::ids::Symbol, body: &serde_json::Value| -> Result<Vec<_>, String> {
            let body = body
                .as_str()
                .ok_or_else(|| format!("klines: the body for {symbol} must be a string"))?;
            let klines_op = VenueOp::Klines {
                symbol: symbol.clone(),
                interval: spec.timeframe,
                start_ms: None,
                end_ms: None,
                limit: 1000,
            };
            match venue.parse(&klines_op, &ok_response(body.to_string())) {
                Ok(VenueReply::Klines(k)) => Ok(k.iter().map(|c| c.to_bar()).collect()),
                other => Err(format!("klines: {other:?}")),
            }
        };
    let rules = rules_of(&spec.symbol)?;
    let cfg = BacktestConfig {
        bot: config,
        rules,
        taker_fee_rate: input.taker_fee_rate,
        maker_fee_rate: input.maker_fee_rate,
        initial_capital: input.initial_capital,
        fill_at: match input.fill_at.as_str() {
            "close" => FillAt::Close,
            "next_open" => FillAt::NextOpen,
            other => return Err(format!("fill_at: {other:?} is not close or next_open")),
        },
        slippage_bps: input.slippage_bps,
        timeframe: spec.timeframe,
        rebalance_band: 0.0,
    };
    let feeds = strategy.feeds().to_vec();
    let report = if feeds.is_empty() {
        let bars = bars_of(&spec.symbol, &input.klines)?;
        run(&cfg, strategy.as_mut(), &bars)
    } else {
        let mut all_rules = Vec::with_capacity(feeds.len());
        let mut all_bars = Vec::with_capacity(feeds.len());
        for symbol in &feeds {
            all_rules.push(rules_of(symbol)?);
            let body = input
                .klines
                .get(symbol.as_str())
                .ok_or_else(|| format!("klines: no body for {symbol}"))?;
            all_bars.push(bars_of(symbol, body)?);
        }
        run_multi(&cfg, &all_rules, strategy.as_mut(), &all_bars)
    }
    .map_err(|e| e.to_string())?;
    serde_json::to_string(&report).map_err(|e| e.to_string())
}
