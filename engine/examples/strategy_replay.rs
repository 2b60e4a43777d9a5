//! Backtests a strategy bot's config on candles exactly as an exchange (or the simulator) served
//! them, for the live-vs-backtest end-to-end check (`tests/e2e/strategy-live.spec.ts`).
//!
//! Reads one JSON document on stdin:
//! `{"config": <bot config>, "klines": "<raw klines body>", "exchange_info": "<raw rules body>",
//!   "taker_fee_rate": "0.001", "maker_fee_rate": "0.001", "initial_capital": "10000",
//!   "slippage_bps": "5", "fill_at": "close" | "next_open"}`
//! and prints the backtest report as JSON. Candles and rules are parsed by the bot's own venue
//! adapter, the strategy is built from the config like the live bot builds it, and the run uses
//! the backtester (the live sizing, risk, paper venue and ledger).

use keel_engine::backtest::{run, BacktestConfig, FillAt};
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
    klines: String,
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
    let rules_op = VenueOp::InstrumentRules {
        symbol: Some(spec.symbol.clone()),
    };
    let rules = match venue.parse(&rules_op, &ok_response(input.exchange_info)) {
        Ok(VenueReply::Rules(list)) => list
            .into_iter()
            .find(|r| r.symbol == spec.symbol)
            .ok_or("exchange_info: symbol not found")?,
        other => return Err(format!("exchange_info: {other:?}")),
    };
    let klines_op = VenueOp::Klines {
        symbol: spec.symbol.clone(),
        interval: spec.timeframe,
        start_ms: None,
        end_ms: None,
        limit: 1000,
    };
    let bars: Vec<_> = match venue.parse(&klines_op, &ok_response(input.klines)) {
        Ok(VenueReply::Klines(k)) => k.iter().map(|c| c.to_bar()).collect(),
        other => return Err(format!("klines: {other:?}")),
    };
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
    let report = run(&cfg, strategy.as_mut(), &bars).map_err(|e| e.to_string())?;
    serde_json::to_string(&report).map_err(|e| e.to_string())
}
