//! `keel data import | import-csv | gaps`.

use super::flags::Flags;
use super::{fsstore, now_ms, Failure};
use keel_engine::history::import::{ImportPlan, Importer, Next};
use keel_engine::history::store::gap_report;
use keel_engine::history::{csv, Instrument};
use keel_engine::model::{Exchange, Market};
use keel_engine::venue::http::{HttpRequest, HttpResponse};
use serde_json::json;
use std::time::Duration;

/// Dispatches `keel data SUB …`.
pub fn run(args: &[String]) -> Result<String, Failure> {
    match args.first().map(String::as_str) {
        Some("import") => import(&args[1..]),
        Some("import-csv") => import_csv(&args[1..]),
        Some("gaps") => gaps(&args[1..]),
        other => Err(Failure::Usage(format!(
            "data subcommand `{}` is not import, import-csv or gaps",
            other.unwrap_or("")
        ))),
    }
}

/// Public market-data host of a venue (klines need no key).
fn default_base(inst: &Instrument) -> &'static str {
    match (inst.exchange, inst.market) {
        (Exchange::Binance, Market::Spot) => "https://api.binance.com",
        (Exchange::Binance, Market::Linear) => "https://fapi.binance.com",
        (Exchange::Bybit, _) => "https://api.bybit.com",
    }
}

fn send(agent: &ureq::Agent, req: &HttpRequest) -> Result<HttpResponse, String> {
    let mut resp = agent.get(&req.url()).call().map_err(|e| e.to_string())?;
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                v.to_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let status = resp.status().as_u16();
    let body = resp
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    Ok(HttpResponse {
        status,
        headers,
        body,
        received_ms: now_ms(),
    })
}

fn import(args: &[String]) -> Result<String, Failure> {
    let f = Flags::parse(
        args,
        &[
            "exchange",
            "market",
            "symbol",
            "timeframe",
            "from",
            "to",
            "base-url",
            "data",
        ],
    )?;
    let inst = f.instrument()?;
    let tf = f.timeframe()?;
    let (from, to) = (f.date("from")?, f.date("to")?);
    if to <= from {
        return Err(Failure::Usage("--to must be after --from".into()));
    }
    let dir = f.data_dir();
    let base_url = f.get("base-url").unwrap_or(default_base(&inst)).to_string();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let plan = |from_ms: i64, to_ms: i64| ImportPlan {
        instrument: inst.clone(),
        timeframe: tf,
        from_ms,
        to_ms,
        base_url: base_url.clone(),
    };
    let end = to.min(now_ms() / tf.ms() * tf.ms());
    // 1. Resume after the newest candle already stored in the range. A run that reaches the end
    //    records what it asked for, so a hole inside it is known to be the exchange's own gap.
    let resumed_after = fsstore::last_stored(&dir, &inst, tf, from, to)?;
    let mut totals = Fetched::default();
    fetch_into(&agent, &dir, plan(from, to), resumed_after, &mut totals)?;
    let asked_from = resumed_after.map_or(from, |t| (t + tf.ms()).max(from));
    fsstore::record_fetched(&dir, &inst, tf, asked_from, end)?;
    // 2. Holes before that point that no import ever asked for (an earlier import of a later
    //    range, an interrupted run, a partial CSV): fetch each once. What is still missing
    //    afterwards is a gap of the exchange itself and is reported as such.
    let mut holes_refetched = 0usize;
    if let Some(resumed) = resumed_after {
        let upto = (resumed + tf.ms()).min(end).max(from);
        let candles = fsstore::load(&dir, &inst, tf, from, upto.max(from + 1))?;
        let before = gap_report(&candles, tf, from, upto);
        let asked = fsstore::fetched(&dir, &inst, tf)?;
        let unasked = before
            .gaps
            .iter()
            .filter(|h| !fsstore::covered(&asked, h.from_ms, h.to_ms));
        for hole in unasked.take(MAX_HOLES) {
            fetch_into(
                &agent,
                &dir,
                plan(hole.from_ms, hole.to_ms),
                None,
                &mut totals,
            )?;
            fsstore::record_fetched(&dir, &inst, tf, hole.from_ms, hole.to_ms)?;
            holes_refetched += 1;
        }
    }
    let candles = fsstore::load(&dir, &inst, tf, from, end.max(from + 1))?;
    let report = gap_report(&candles, tf, from, end.max(from));
    let out = json!({
        "exchange": inst.exchange_name(), "market": inst.market_name(), "symbol": inst.symbol.as_str(),
        "timeframe": f.need("timeframe")?, "data": dir.display().to_string(),
        "resumed_after_ms": resumed_after, "imported": totals.stored,
        "holes_refetched": holes_refetched,
        "pages": totals.pages, "requests": totals.requests, "waits": totals.waits,
        "gaps": report,
    });
    Ok(serde_json::to_string_pretty(&out).unwrap_or_default() + "\n")
}

/// Most holes one import re-fetches (each is at least one request); the rest stay reported.
const MAX_HOLES: usize = 200;

/// What the fetch loops of one import did, summed.
#[derive(Debug, Default)]
struct Fetched {
    stored: usize,
    pages: usize,
    requests: usize,
    waits: usize,
}

/// Runs one importer to the end, storing every page as it arrives (an interrupted import keeps
/// what it got and resumes after it).
fn fetch_into(
    agent: &ureq::Agent,
    dir: &std::path::Path,
    plan: ImportPlan,
    resumed_after: Option<i64>,
    totals: &mut Fetched,
) -> Result<(), Failure> {
    let (inst, tf) = (plan.instrument.clone(), plan.timeframe);
    let mut imp = Importer::new(plan, resumed_after);
    loop {
        let now = now_ms();
        match imp.next(now).map_err(|e| Failure::Run(e.to_string()))? {
            Next::Done => break,
            Next::Wait { until_ms } => {
                let ms = (until_ms - now).clamp(1, 120_000) as u64;
                eprintln!("keel: rate limit: waiting {ms} ms");
                std::thread::sleep(Duration::from_millis(ms));
            }
            Next::Fetch(req) => match send(agent, &req) {
                Ok(resp) => {
                    if let Some(page) = imp
                        .on_response(&resp)
                        .map_err(|e| Failure::Run(e.to_string()))?
                    {
                        fsstore::store(dir, &inst, tf, &page.candles)?;
                        totals.stored += page.candles.len();
                    }
                }
                Err(e) => imp
                    .on_transport_error(&e, now_ms())
                    .map_err(|e| Failure::Run(e.to_string()))?,
            },
        }
    }
    totals.pages += imp.pages;
    totals.requests += imp.requests;
    totals.waits += imp.waits;
    Ok(())
}

fn import_csv(args: &[String]) -> Result<String, Failure> {
    let f = Flags::parse(
        args,
        &["exchange", "market", "symbol", "timeframe", "data", "file"],
    )?;
    let inst = f.instrument()?;
    let tf = f.timeframe()?;
    let dir = f.data_dir();
    let mut files: Vec<String> = f.positional.clone();
    files.extend(f.get("file").map(String::from));
    if files.is_empty() {
        return Err(Failure::Usage("no CSV file given".into()));
    }
    let mut total = 0usize;
    let (mut first, mut last) = (i64::MAX, i64::MIN);
    for file in &files {
        let bytes = std::fs::read(file).map_err(|e| Failure::Run(format!("{file}: {e}")))?;
        let candles = csv::parse(&bytes).map_err(|e| Failure::Run(format!("{file}: {e}")))?;
        for c in &candles {
            if c.open_time_ms.rem_euclid(tf.ms()) != 0 {
                return Err(Failure::Run(format!(
                    "{file}: open time {} is not on the {} grid (wrong --timeframe?)",
                    c.open_time_ms,
                    f.need("timeframe")?
                )));
            }
            first = first.min(c.open_time_ms);
            last = last.max(c.open_time_ms);
        }
        fsstore::store(&dir, &inst, tf, &candles)?;
        total += candles.len();
    }
    let gaps = if total > 0 {
        let candles = fsstore::load(&dir, &inst, tf, first, last + tf.ms())?;
        Some(gap_report(&candles, tf, first, last + tf.ms()))
    } else {
        None
    };
    let out = json!({"imported": total, "files": files.len(), "data": dir.display().to_string(), "gaps": gaps});
    Ok(serde_json::to_string_pretty(&out).unwrap_or_default() + "\n")
}

fn gaps(args: &[String]) -> Result<String, Failure> {
    let f = Flags::parse(
        args,
        &[
            "exchange",
            "market",
            "symbol",
            "timeframe",
            "from",
            "to",
            "data",
        ],
    )?;
    let inst = f.instrument()?;
    let tf = f.timeframe()?;
    let (from, to) = (f.date("from")?, f.date("to")?);
    if to <= from {
        return Err(Failure::Usage("--to must be after --from".into()));
    }
    let candles = fsstore::load(&f.data_dir(), &inst, tf, from, to)?;
    let report = gap_report(&candles, tf, from, to);
    Ok(serde_json::to_string_pretty(&report).unwrap_or_default() + "\n")
}
