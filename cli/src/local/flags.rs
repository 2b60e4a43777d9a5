//! `--flag value` parsing for the local commands: every flag takes a value, positionals are
//! kept apart, unknown flags are refused by name.

use super::Failure;
use keel_engine::history::store::parse_date;
use keel_engine::history::Instrument;
use keel_engine::ids::Symbol;
use keel_engine::market::Timeframe;
use keel_engine::model::{Exchange, Market};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Parsed flags of one command.
#[derive(Debug)]
pub struct Flags {
    values: BTreeMap<String, String>,
    /// Arguments without a flag (files).
    pub positional: Vec<String>,
}

impl Flags {
    /// Splits `args`, accepting only `allowed` flags.
    pub fn parse(args: &[String], allowed: &[&str]) -> Result<Self, Failure> {
        let mut values = BTreeMap::new();
        let mut positional = Vec::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if let Some(name) = a.strip_prefix("--") {
                let (name, value) = match name.split_once('=') {
                    Some((n, v)) => (n.to_string(), v.to_string()),
                    None => (
                        name.to_string(),
                        it.next()
                            .cloned()
                            .ok_or_else(|| Failure::Usage(format!("--{name} needs a value")))?,
                    ),
                };
                if !allowed.contains(&name.as_str()) {
                    return Err(Failure::Usage(format!("unexpected argument `--{name}`")));
                }
                values.insert(name, value);
            } else {
                positional.push(a.clone());
            }
        }
        Ok(Self { values, positional })
    }

    /// An optional flag.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// A required flag.
    pub fn need(&self, name: &str) -> Result<&str, Failure> {
        self.get(name)
            .ok_or_else(|| Failure::Usage(format!("missing --{name}")))
    }

    /// A date flag (see `parse_date`).
    pub fn date(&self, name: &'static str) -> Result<i64, Failure> {
        parse_date(name, self.need(name)?).map_err(|e| Failure::Usage(e.to_string()))
    }

    /// `--timeframe`.
    pub fn timeframe(&self) -> Result<Timeframe, Failure> {
        Timeframe::parse(self.need("timeframe")?)
            .map_err(|e| Failure::Usage(format!("--timeframe: {e}")))
    }

    /// `--exchange` (default binance), `--market` (default spot), `--symbol`.
    pub fn instrument(&self) -> Result<Instrument, Failure> {
        let exchange = match self.get("exchange").unwrap_or("binance") {
            "binance" => Exchange::Binance,
            "bybit" => Exchange::Bybit,
            other => {
                return Err(Failure::Usage(format!(
                    "--exchange: `{other}` is not binance or bybit"
                )))
            }
        };
        let market = match self.get("market").unwrap_or("spot") {
            "spot" => Market::Spot,
            "linear" | "futures" | "usdm" => Market::Linear,
            other => {
                return Err(Failure::Usage(format!(
                    "--market: `{other}` is not spot or linear"
                )))
            }
        };
        let symbol = Symbol::new(self.need("symbol")?.to_ascii_uppercase())
            .map_err(|e| Failure::Usage(format!("--symbol: {e}")))?;
        Ok(Instrument {
            exchange,
            market,
            symbol,
        })
    }

    /// `--data`, else `$KEEL_DATA`, else `./data`.
    pub fn data_dir(&self) -> PathBuf {
        self.get("data")
            .map(String::from)
            .or_else(|| std::env::var("KEEL_DATA").ok().filter(|s| !s.is_empty()))
            .unwrap_or_else(|| "data".into())
            .into()
    }
}
