//! `keel backtest`: a strategy over the local data folder; writes `report.json` and
//! `report.html` (the engine's report documents) to `--out`.

use super::flags::Flags;
use super::{fsstore, Failure};
use keel_engine::backtest::report;
use keel_engine::backtest::request::BacktestRequest;
use keel_engine::history::store::{source_timeframe, tf_label};
use keel_engine::market::Timeframe;
use serde_json::{json, Map, Value};
use std::path::PathBuf;

const FLAGS: &[&str] = &[
    "strategy",
    "spec",
    "params",
    "data",
    "exchange",
    "market",
    "symbol",
    "timeframe",
    "from",
    "to",
    "fill",
    "slippage-bps",
    "fee-rate",
    "maker-fee-rate",
    "capital",
    "tick",
    "step",
    "min-notional",
    "config",
    "out",
    "rebalance-band",
];

/// Builds the request JSON from flags, so the CLI and the admin API deserialize the same shape.
pub(super) fn request(f: &Flags) -> Result<BacktestRequest, Failure> {
    let inst = f.instrument()?;
    let mut body = Map::new();
    match (f.get("strategy"), f.get("spec")) {
        (Some(name), None) => {
            body.insert("strategy".into(), json!(name));
        }
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Failure::Usage(format!("--spec {path}: {e}")))?;
            let doc: Value = serde_json::from_str(&text)
                .map_err(|e| Failure::Usage(format!("--spec {path}: not JSON: {e}")))?;
            body.insert("spec".into(), doc);
        }
        _ => {
            return Err(Failure::Usage(
                "give --strategy NAME (a built-in template) or --spec FILE (a strategy spec)"
                    .into(),
            ))
        }
    }
    let params: Value = match f.get("params") {
        Some(p) => serde_json::from_str(p)
            .map_err(|e| Failure::Usage(format!("--params is not JSON: {e}")))?,
        None => json!({}),
    };
    body.insert("params".into(), params);
    body.insert("exchange".into(), json!(inst.exchange_name()));
    body.insert("market".into(), json!(inst.market_name()));
    body.insert("symbol".into(), json!(inst.symbol.as_str()));
    body.insert("timeframe".into(), json!(f.need("timeframe")?));
    for (flag, key) in [
        ("fill", "fill"),
        ("slippage-bps", "slippage_bps"),
        ("fee-rate", "taker_fee_rate"),
        ("maker-fee-rate", "maker_fee_rate"),
        ("capital", "initial_capital"),
        ("tick", "tick_size"),
        ("step", "step_size"),
        ("min-notional", "min_notional"),
    ] {
        if let Some(v) = f.get(flag) {
            body.insert(key.into(), json!(v));
        }
    }
    if let Some(b) = f.get("rebalance-band") {
        let band: f64 = b
            .parse()
            .map_err(|_| Failure::Usage(format!("--rebalance-band: `{b}`")))?;
        body.insert("rebalance_band".into(), json!(band));
    }
    if let Some(path) = f.get("config") {
        let text =
            std::fs::read_to_string(path).map_err(|e| Failure::Usage(format!("{path}: {e}")))?;
        let bot: Value =
            serde_json::from_str(&text).map_err(|e| Failure::Usage(format!("{path}: {e}")))?;
        body.insert("bot".into(), bot);
    }
    serde_json::from_value(Value::Object(body))
        .map_err(|e| Failure::Usage(format!("backtest: {e}")))
}

/// Runs `keel backtest …`.
pub fn run(args: &[String]) -> Result<String, Failure> {
    let f = Flags::parse(args, FLAGS)?;
    let req = request(&f)?;
    let tf = req
        .bar_timeframe()
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let (from, to) = (f.date("from")?, f.date("to")?);
    if to <= from {
        return Err(Failure::Usage("--to must be after --from".into()));
    }
    let out: PathBuf = f.need("out")?.into();
    let dir = f.data_dir();
    let inst = f.instrument()?;
    // The coarsest stored timeframe that divides the wanted one (fewest candles to read).
    let source: Timeframe = source_timeframe(&fsstore::stored_timeframes(&dir, &inst), tf)
        .ok_or_else(|| {
            Failure::Run(format!(
                "no stored {} {} {} data at or below {} in {} (run `keel data import` first)",
                inst.exchange_name(),
                inst.market_name(),
                inst.symbol.as_str(),
                tf_label(tf).unwrap_or("?"),
                dir.display()
            ))
        })?;
    let candles = fsstore::load(&dir, &inst, source, from, to)?;
    let started = std::time::Instant::now();
    let feeds = req
        .feeds()
        .map_err(|e| Failure::Usage(format!("backtest: {e}")))?;
    let rep = match feeds {
        None => req.execute(&candles, source),
        // A multi-series spec: the stored history of each instrument it reads (same exchange,
        // market and range as --symbol's).
        Some(symbols) => {
            let mut history = std::collections::BTreeMap::new();
            for symbol in symbols {
                let other = keel_engine::history::Instrument {
                    symbol: symbol.clone(),
                    ..inst.clone()
                };
                let src = source_timeframe(&fsstore::stored_timeframes(&dir, &other), tf)
                    .ok_or_else(|| {
                        Failure::Run(format!(
                            "no stored {} {} {} data at or below {} in {} (run `keel data import` first)",
                            other.exchange_name(),
                            other.market_name(),
                            symbol.as_str(),
                            tf_label(tf).unwrap_or("?"),
                            dir.display()
                        ))
                    })?;
                let c = fsstore::load(&dir, &other, src, from, to)?;
                history.insert(symbol, (c, src));
            }
            req.execute_multi(&history)
        }
    }
    .map_err(|e| Failure::Run(format!("backtest: {e}")))?;
    let elapsed = started.elapsed();
    std::fs::create_dir_all(&out).map_err(|e| Failure::Run(format!("{}: {e}", out.display())))?;
    let json_path = out.join("report.json");
    let html_path = out.join("report.html");
    let text = serde_json::to_string_pretty(&rep).map_err(|e| Failure::Run(e.to_string()))?;
    std::fs::write(&json_path, text)
        .map_err(|e| Failure::Run(format!("{}: {e}", json_path.display())))?;
    std::fs::write(&html_path, report::html(&rep))
        .map_err(|e| Failure::Run(format!("{}: {e}", html_path.display())))?;
    let m = &rep.metrics;
    Ok(format!(
        "{} {} {} {} ({} bars from {} candles of {}, {:.0} ms)\n\
         net P&L {} · final equity {} · return {:.2}% · Sharpe {:.2} · max DD {:.2}% · {} round trips · fees {}{}\n\
         wrote {} and {}\n",
        rep.run.strategy_name,
        rep.run.symbol,
        rep.run.timeframe,
        rep.strategy_version,
        rep.bars,
        candles.len(),
        tf_label(source).unwrap_or("?"),
        elapsed.as_secs_f64() * 1000.0,
        keel_engine::format::money(m.net_pnl, &rep.precision.quote_asset),
        keel_engine::format::money(m.final_equity, &rep.precision.quote_asset),
        m.ratios.total_return * 100.0,
        m.ratios.sharpe,
        m.ratios.max_drawdown * 100.0,
        m.round_trips,
        keel_engine::format::money(m.ratios.fees, &rep.precision.quote_asset),
        if rep.exits.is_empty() {
            String::new()
        } else {
            format!(
                " · exits (stop-loss / take-profit) {}",
                report::exit_counts(&rep.exits)
            )
        },
        json_path.display(),
        html_path.display()
    ))
}
