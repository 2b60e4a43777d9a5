//! Commands that run on this machine without the admin API: `keel data …` (historical candles
//! into a local folder), `keel backtest …` (a strategy over that folder, report files out),
//! `keel strategy …` (spec checks), `keel compare …` (A/B statistics over paired returns) and
//! `keel optimize …` (a parameter search with its trial ledger).
//! The decisions (file format, paging, rate limits, resampling, the backtest itself, the report)
//! are the engine's; this module only reads and writes files and sends HTTP.

mod backtest;
mod compare;
mod data;
mod flags;
mod fsstore;
mod optimize;
mod strategy;

use std::process::ExitCode;

/// Usage of the local commands, appended to `keel help`.
pub const USAGE: &str = "\
local commands (no API URL or token needed; DIR defaults to $KEEL_DATA, else ./data):
  data import --exchange binance|bybit --market spot|linear --symbol S --timeframe 1m
              --from DATE --to DATE [--base-url URL] [--data DIR]
                                           download klines (paged, rate-limit aware, resumable)
  data import-csv --symbol S --timeframe 1m [--exchange E --market M] [--data DIR] FILE...
                                           import Binance public-dump kline CSVs
  data gaps --symbol S --timeframe 1m --from DATE --to DATE [--exchange E --market M] [--data DIR]
                                           missing bars of a stored range
  backtest (--strategy NAME | --spec FILE) --params JSON --symbol S --timeframe 1h --from DATE --to DATE
           [--exchange E --market M --data DIR --fill next_open|close --slippage-bps N
            --fee-rate R --maker-fee-rate R --capital Q --tick T --step S --min-notional N
            --config bot.json] --out DIR
                                           run a backtest; writes report.json and report.html
  optimize --strategy NAME --symbol S --timeframe 1h --from DATE --to DATE [backtest flags]
           [--sampler grid|random|tpe --trials N --seed N --batch N --resume
            --objective sharpe|sortino|calmar|net|weighted --weights JSON
            --min-trades N --max-drawdown F --space JSON --params JSON (pinned)
            --walk-forward N --in-sample F --anchored --ledger FILE --top N --out FILE]
                                           parameter search; every trial goes to the ledger
                                           (DIR/ledger/NAME.json); prints the best, DSR and PBO
  strategy validate FILE [--params JSON]   check a declarative strategy spec (every problem with
                                           its path); prints its version id and warm-up
  strategy schema                          print the spec's JSON Schema
  compare FILE [--alpha 0.05] [--json]
                                           is A better than B? paired per-bar returns (CSV: A, B)
                                           through the Ledoit-Wolf Sharpe test and the mSPRT
  (DATE: YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or epoch ms; --to is exclusive)
";

/// Whether `word` names a local command.
pub fn is_local(word: &str) -> bool {
    matches!(
        word,
        "data" | "backtest" | "strategy" | "compare" | "optimize"
    )
}

/// Runs a local command (`args` starts with its name) and prints its result.
pub fn main(args: &[String]) -> ExitCode {
    let result = match args.first().map(String::as_str) {
        Some("data") => data::run(&args[1..]),
        Some("backtest") => backtest::run(&args[1..]),
        Some("strategy") => strategy::run(&args[1..]),
        Some("compare") => compare::run(&args[1..]),
        Some("optimize") => optimize::run(&args[1..]),
        _ => Err(Failure::Usage("unknown local command".into())),
    };
    match result {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(Failure::Usage(msg)) => {
            eprintln!("keel: {msg}\n\n{USAGE}");
            ExitCode::from(2)
        }
        Err(Failure::Run(msg)) => {
            eprintln!("keel: {msg}");
            ExitCode::FAILURE
        }
    }
}

/// Why a local command failed: its command line (exit 2) or the work itself (exit 1).
#[derive(Debug)]
pub enum Failure {
    /// Bad flags or values.
    Usage(String),
    /// I/O, network or engine failure.
    Run(String),
}

/// Milliseconds since the epoch, from the system clock (the engine never reads it).
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
