//! `keel optimize`: a parameter search (grid, random or TPE) of a registered strategy over the
//! local data folder, with the backtest flags of `keel backtest`. Every trial is appended to the
//! strategy's trial ledger file (saved after each batch, so an interrupted run resumes with
//! `--resume`); a progress bar with ETA goes to stderr; the best configurations, the deflated
//! Sharpe ratio and the PBO go to stdout. The search itself is the engine's
//! (`keel_engine::backtest::optimize`); this module reads and writes files.

use super::flags::Flags;
use super::{fsstore, Failure};
use keel_engine::backtest::optimize::ledger::{Trial, TrialLedger};
use keel_engine::backtest::optimize::request::execute;
use keel_engine::backtest::optimize::search::{
    Constraints, Objective, Progress, SearchReport, SearchSpec, WalkSpec,
};
use keel_engine::backtest::optimize::space::SamplerKind;
use keel_engine::history::store::{source_timeframe, tf_label};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

const FLAGS: &[&str] = &[
    "strategy",
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
    "rebalance-band",
    "sampler",
    "trials",
    "seed",
    "batch",
    "objective",
    "weights",
    "min-trades",
    "max-drawdown",
    "space",
    "ledger",
    "walk-forward",
    "in-sample",
    "top",
    "cscv-blocks",
    "out",
];

/// Flags without a value.
const SWITCHES: &[&str] = &["--resume", "--anchored"];

fn num<T: std::str::FromStr>(f: &Flags, name: &str) -> Result<Option<T>, Failure> {
    f.get(name)
        .map(|v| {
            v.parse()
                .map_err(|_| Failure::Usage(format!("--{name}: `{v}` is not a number")))
        })
        .transpose()
}

/// The search settings from the flags.
fn spec(f: &Flags, anchored: bool) -> Result<SearchSpec, Failure> {
    let mut s = SearchSpec::default();
    if let Some(v) = f.get("sampler") {
        s.sampler = match v {
            "grid" => SamplerKind::Grid,
            "random" => SamplerKind::Random,
            "tpe" => SamplerKind::Tpe,
            other => {
                return Err(Failure::Usage(format!(
                    "--sampler: `{other}` is not grid, random or tpe"
                )))
            }
        };
    }
    s.trials = num(f, "trials")?.unwrap_or(s.trials);
    s.seed = num(f, "seed")?.unwrap_or(s.seed);
    s.batch = num(f, "batch")?.unwrap_or(s.batch);
    s.top = num(f, "top")?.unwrap_or(s.top);
    s.cscv_blocks = num(f, "cscv-blocks")?.unwrap_or(s.cscv_blocks);
    s.objective = match (f.get("objective").unwrap_or("sharpe"), f.get("weights")) {
        ("sharpe", None) => Objective::Sharpe,
        ("sortino", None) => Objective::Sortino,
        ("calmar", None) => Objective::Calmar,
        ("net", None) => Objective::Net,
        ("weighted", Some(w)) => Objective::Weighted(
            serde_json::from_str::<BTreeMap<String, f64>>(w).map_err(|e| {
                Failure::Usage(format!(
                    "--weights: a JSON object of metric weights ({{\"sharpe\": 1}}): {e}"
                ))
            })?,
        ),
        (o, _) => {
            return Err(Failure::Usage(format!(
                "--objective `{o}`: sharpe, sortino, calmar, net, or weighted with --weights JSON"
            )))
        }
    };
    s.constraints = Constraints {
        min_trades: num(f, "min-trades")?,
        max_drawdown: num(f, "max-drawdown")?,
    };
    if let Some(text) = f.get("space") {
        s.space = serde_json::from_str(text).map_err(|e| {
            Failure::Usage(format!(
                "--space: a JSON object of ranges ({{\"fast\": {{\"min\": 5, \"max\": 50}}}}): {e}"
            ))
        })?;
    }
    if let Some(windows) = num::<usize>(f, "walk-forward")? {
        s.walk_forward = Some(WalkSpec {
            windows,
            in_sample: num(f, "in-sample")?.unwrap_or(0.5),
            anchored,
        });
    } else if anchored || f.get("in-sample").is_some() {
        return Err(Failure::Usage(
            "--anchored and --in-sample need --walk-forward N".into(),
        ));
    }
    Ok(s)
}

fn load_ledger(path: &Path, strategy: &str) -> Result<TrialLedger, Failure> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map_err(|e| Failure::Run(format!("{}: not a trial ledger: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(TrialLedger::new(strategy)),
        Err(e) => Err(Failure::Run(format!("{}: {e}", path.display()))),
    }
}

/// Writes the ledger atomically (a temporary file renamed over it).
fn save_ledger(path: &Path, ledger: &TrialLedger) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_string(ledger).map_err(|e| e.to_string())?;
    std::fs::write(&tmp, text).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

/// `[####......] 40/100 · best 1.234 · 3.1 trials/s · ETA 19s` (carriage return, no newline).
fn bar(p: &Progress, started: usize, elapsed_s: f64) -> String {
    const WIDTH: usize = 30;
    let filled = (p.done * WIDTH)
        .checked_div(p.total)
        .unwrap_or(WIDTH)
        .min(WIDTH);
    let ran = p.done.saturating_sub(started);
    let rate = if elapsed_s > 0.0 {
        ran as f64 / elapsed_s
    } else {
        0.0
    };
    let eta = if rate > 0.0 {
        format!("{:.0}s", p.total.saturating_sub(p.done) as f64 / rate)
    } else {
        "?".into()
    };
    let window = p
        .window
        .map(|w| format!(" · window {w}"))
        .unwrap_or_default();
    let best = p.best.map_or("-".into(), |b| format!("{b:.4}"));
    format!(
        "\r[{}{}] {}/{}{window} · best {best} · {rate:.1} trials/s · ETA {eta}   ",
        "#".repeat(filled),
        ".".repeat(WIDTH - filled),
        p.done,
        p.total
    )
}

/// A setting as its JSON spelling (`tpe`, `sharpe`, `{"weighted":{…}}`).
fn word(v: Result<serde_json::Value, serde_json::Error>) -> String {
    match v {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => "?".into(),
    }
}

fn params_text(p: &BTreeMap<String, f64>) -> String {
    p.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The text summary of a report.
fn summary(rep: &SearchReport, ledger_path: &Path, quote: &str) -> String {
    let mut out = String::new();
    let r = &rep.result;
    out += &format!(
        "{} · {} sampler · seed {} · objective {} · run {}: {} trials ({} new, {} feasible){}\n",
        rep.strategy,
        word(serde_json::to_value(rep.sampler)),
        rep.seed,
        word(serde_json::to_value(&rep.objective)),
        r.run,
        r.trials,
        r.new_trials,
        r.feasible,
        r.grid_points
            .map(|g| format!(" of a {g}-point grid"))
            .unwrap_or_default()
    );
    out += "rank  objective   net P&L           sharpe   max DD   trades  parameters\n";
    for (i, t) in r.best.iter().enumerate() {
        let m = t.metrics.as_ref();
        out += &format!(
            "{:>4}  {:>9.4}   {:>15}   {:>6.2}   {:>5.1}%  {:>6}  {}\n",
            i + 1,
            t.objective.unwrap_or(f64::NAN),
            m.map_or("-".into(), |m| keel_engine::format::money(m.net, quote)),
            m.map_or(f64::NAN, |m| m.sharpe),
            m.map_or(f64::NAN, |m| m.max_drawdown * 100.0),
            m.map_or(0, |m| m.executions),
            params_text(&t.params)
        );
    }
    if r.best.is_empty() {
        out += "      no feasible configuration (see the constraints and the ledger's errors)\n";
    }
    match &r.deflated {
        Some(d) => {
            out += &format!(
                "deflated Sharpe ratio {:.4} (best per-bar SR {:.5} vs expected max of {} trials {:.5}; T = {}, skew {:.2}, kurtosis {:.2})\n",
                d.dsr, d.sharpe, d.trials, d.expected_max_sharpe, d.observations, d.skew, d.kurtosis
            )
        }
        None => out += "deflated Sharpe ratio: n/a (no feasible trial)\n",
    }
    match &r.pbo {
        Some(p) => {
            out += &format!(
                "probability of backtest overfitting {:.3} (CSCV: {} blocks, {} splits, {} trials, median logit {:.2})\n",
                p.pbo, p.blocks, p.combinations, p.trials, p.median_logit
            )
        }
        None => out += "probability of backtest overfitting: n/a (needs two feasible trials)\n",
    }
    if let Some(wf) = &rep.walk_forward {
        out += &format!(
            "walk-forward ({}), {} windows:\n",
            if wf.anchored { "anchored" } else { "rolling" },
            wf.windows.len()
        );
        for w in &wf.windows {
            out += &format!(
                "  window {}: in-sample {} bars, out-of-sample {} bars · chosen {} · OOS net {} · OOS sharpe {:.2}\n",
                w.index,
                w.search.span.bars,
                w.out_of_sample.bars,
                w.chosen.as_ref().map_or("none".into(), params_text),
                w.oos.as_ref().map_or("-".into(), |m| keel_engine::format::money(m.net, quote)),
                w.oos.as_ref().map_or(f64::NAN, |m| m.sharpe),
            );
        }
        let s = &wf.stitched;
        out += &format!(
            "  stitched out-of-sample: net {} · return {:.2}% · sharpe {:.2} · max DD {:.2}% · {} trades\n",
            keel_engine::format::money(s.net, quote),
            s.total_return * 100.0,
            s.sharpe,
            s.max_drawdown * 100.0,
            s.executions
        );
    }
    out += &format!(
        "ledger: {} trials in {}\n",
        rep.ledger_trials,
        ledger_path.display()
    );
    out
}

/// Runs `keel optimize …`.
pub fn run(args: &[String]) -> Result<String, Failure> {
    let resume = args.iter().any(|a| a == "--resume");
    let anchored = args.iter().any(|a| a == "--anchored");
    let rest: Vec<String> = args
        .iter()
        .filter(|a| !SWITCHES.contains(&a.as_str()))
        .cloned()
        .collect();
    let f = Flags::parse(&rest, FLAGS)?;
    if f.get("strategy").is_none() {
        return Err(Failure::Usage(
            "give --strategy NAME (a registered strategy)".into(),
        ));
    }
    let req = super::backtest::request(&f)?;
    let spec = spec(&f, anchored)?;
    let tf = req
        .bar_timeframe()
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let (from, to) = (f.date("from")?, f.date("to")?);
    if to <= from {
        return Err(Failure::Usage("--to must be after --from".into()));
    }
    let dir = f.data_dir();
    let inst = f.instrument()?;
    let source =
        source_timeframe(&fsstore::stored_timeframes(&dir, &inst), tf).ok_or_else(|| {
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
    let strategy = req.strategy_name().to_string();
    let ledger_path: PathBuf = f
        .get("ledger")
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.join("ledger").join(format!("{strategy}.json")));
    let mut ledger = load_ledger(&ledger_path, &strategy)?;
    let started = std::time::Instant::now();
    let mut first_done: Option<usize> = None;
    let mut save_error: Option<String> = None;
    // What is on disk: the ledger as loaded plus every batch so far, saved after each batch so
    // an interrupted run loses at most one batch (and `--resume` continues it).
    let mut saved = ledger.clone();
    let mut stderr = std::io::stderr();
    let result = execute(
        &req,
        &spec,
        &candles,
        source,
        &mut ledger,
        resume,
        &mut |p: &Progress, batch: &[Trial]| {
            // Trials resumed from the ledger are not part of this run's rate.
            let base = *first_done.get_or_insert(p.done.saturating_sub(batch.len()));
            let _ = write!(stderr, "{}", bar(p, base, started.elapsed().as_secs_f64()));
            let _ = stderr.flush();
            saved.trials.extend(batch.iter().cloned());
            if saved.strategy.is_empty() {
                saved.strategy.clone_from(&strategy);
            }
            if let Err(e) = save_ledger(&ledger_path, &saved) {
                save_error.get_or_insert(e);
            }
        },
    );
    let _ = writeln!(std::io::stderr());
    if let Some(e) = save_error {
        return Err(Failure::Run(format!("saving the trial ledger: {e}")));
    }
    // The ledger holds every trial run, also when the search stopped on an error.
    if let Err(e) = save_ledger(&ledger_path, &ledger) {
        return Err(Failure::Run(format!("saving the trial ledger: {e}")));
    }
    let rep = result.map_err(|e| Failure::Run(format!("optimize: {e}")))?;
    if let Some(out) = f.get("out") {
        let text = serde_json::to_string_pretty(&rep).map_err(|e| Failure::Run(e.to_string()))?;
        std::fs::write(out, text).map_err(|e| Failure::Run(format!("{out}: {e}")))?;
    }
    let quote = serde_json::to_value(&req.symbol)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .map(|s| quote_of(&s))
        .unwrap_or_else(|| "USDT".into());
    let mut text = summary(&rep, &ledger_path, &quote);
    text += &format!("{:.1} s\n", started.elapsed().as_secs_f64());
    Ok(text)
}

/// The quote asset of a symbol, for money formatting.
fn quote_of(symbol: &str) -> String {
    ["USDT", "USDC", "FDUSD", "BUSD", "BTC", "ETH", "EUR", "TRY"]
        .iter()
        .find(|q| symbol.ends_with(*q) && symbol.len() > q.len())
        .map_or("USDT".into(), |q| (*q).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_engine::backtest::optimize::search::Progress;

    fn flags(args: &[&str]) -> Flags {
        let a: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        Flags::parse(&a, FLAGS).unwrap()
    }

    #[test]
    fn flags_become_the_search_settings() {
        let s = spec(
            &flags(&[
                "--sampler",
                "random",
                "--trials",
                "30",
                "--seed",
                "7",
                "--objective",
                "weighted",
                "--weights",
                r#"{"sharpe": 1, "max_drawdown": -2}"#,
                "--min-trades",
                "5",
                "--max-drawdown",
                "0.3",
                "--space",
                r#"{"fast": {"min": 5, "max": 20}}"#,
                "--walk-forward",
                "4",
                "--in-sample",
                "0.6",
            ]),
            true,
        )
        .unwrap();
        assert_eq!((s.sampler, s.trials, s.seed), (SamplerKind::Random, 30, 7));
        assert!(matches!(s.objective, Objective::Weighted(ref w) if w["max_drawdown"] == -2.0));
        assert_eq!(s.constraints.min_trades, Some(5));
        assert_eq!(s.space["fast"].max, 20.0);
        assert_eq!(
            s.walk_forward,
            Some(WalkSpec {
                windows: 4,
                in_sample: 0.6,
                anchored: true
            })
        );
        for bad in [
            vec!["--sampler", "bayes"],
            vec!["--objective", "weighted"],
            vec!["--trials", "many"],
            vec!["--in-sample", "0.5"],
        ] {
            assert!(matches!(spec(&flags(&bad), false), Err(Failure::Usage(_))));
        }
    }

    #[test]
    fn the_progress_bar_shows_rate_and_eta() {
        let p = Progress {
            done: 40,
            total: 100,
            window: None,
            best: Some(1.5),
        };
        let b = bar(&p, 0, 10.0);
        assert!(b.contains("40/100"), "{b}");
        assert!(b.contains("4.0 trials/s") && b.contains("ETA 15s"), "{b}");
        assert!(b.contains(&format!("[{}{}]", "#".repeat(12), ".".repeat(18))));
        assert_eq!(quote_of("ETHBTC"), "BTC");
    }
}
