//! `keel._keel`: the engine as a CPython extension (abi3, CPython >= 3.11), wrapped by the pure
//! Python package `keel` (python/keel/__init__.py) that turns its answers into pandas frames and
//! `decimal.Decimal` values.
//!
//! Why this shape: research must run the *same* code path as the CLI and the bots, so nothing
//! here re-implements a backtest, a factor or a search. Candles enter exactly (decimal text, as
//! the CLI reads them from KEELBARS or CSV), a backtest is a [`BacktestRequest`] (the CLI's and
//! admin API's JSON shape) executed by the engine, and reports leave as the engine's own JSON
//! document (money as decimal strings) plus the per-bar curves as packed little-endian arrays
//! (a 1M-point curve through JSON would cost more than the backtest). The GIL is released while
//! the engine runs; every error becomes a `keel.KeelError` with the engine's message, and no
//! input can panic this module (no unwrap on input, checked conversions).

use keel_engine::backtest::report::{self, Report};
use keel_engine::backtest::request::BacktestRequest;
use keel_engine::backtest::{grid, walk_forward};
use keel_engine::factor::{
    Adx, Atr, Bollinger, Donchian, Ema, Factor, Keltner, Macd, Obv, Returns, RollingVol, Rsi, Sma,
    Stochastic, Vwap, Wma, ZScore,
};
use keel_engine::history::codec;
use keel_engine::history::store::{self, tf_label};
use keel_engine::history::{csv, Candle, Instrument};
use keel_engine::market::{Bar, Timeframe};
use keel_engine::strategy::Registry;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pyo3::create_exception!(
    _keel,
    KeelError,
    PyValueError,
    "Bad input or a refused run, with the engine's reason (a field name, a line, a date)."
);

fn err(e: impl std::fmt::Display) -> PyErr {
    KeelError::new_err(e.to_string())
}

/// Exact candles of one timeframe, as the CLI's backtest reads them.
#[pyclass(name = "Candles", module = "keel._keel", frozen)]
#[derive(Debug, Clone)]
pub struct Candles {
    candles: Vec<Candle>,
    timeframe: Timeframe,
}

#[pymethods]
impl Candles {
    fn __len__(&self) -> usize {
        self.candles.len()
    }

    fn __repr__(&self) -> String {
        format!(
            "Candles({} x {}, {}..{})",
            self.candles.len(),
            tf_label(self.timeframe).unwrap_or("?"),
            self.candles.first().map_or(0, |c| c.open_time_ms),
            self.candles.last().map_or(0, |c| c.open_time_ms),
        )
    }

    /// The candles' timeframe label (`1h`): what a backtest resamples from.
    #[getter]
    fn timeframe(&self) -> String {
        tf_label(self.timeframe).unwrap_or("?").to_string()
    }

    /// Columns for a frame: open times as packed i64 and each price/volume column as exact
    /// decimal text, so pandas receives `decimal.Decimal` values, never binary floats.
    fn columns<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        let times: Vec<u8> = self
            .candles
            .iter()
            .flat_map(|c| c.open_time_ms.to_le_bytes())
            .collect();
        d.set_item("open_time_ms", PyBytes::new(py, &times))?;
        let col = |f: fn(&Candle) -> rust_decimal::Decimal| -> Vec<String> {
            self.candles.iter().map(|c| f(c).to_string()).collect()
        };
        d.set_item("open", col(|c| c.open))?;
        d.set_item("high", col(|c| c.high))?;
        d.set_item("low", col(|c| c.low))?;
        d.set_item("close", col(|c| c.close))?;
        d.set_item("volume", col(|c| c.volume))?;
        Ok(d)
    }

    /// The bars a strategy would see at `timeframe` (resampled when coarser than the candles')
    /// as packed little-endian arrays: `open_time_ms` i64, OHLCV f64 (indicator maths only).
    #[pyo3(signature = (timeframe=None))]
    fn bars<'py>(&self, py: Python<'py>, timeframe: Option<&str>) -> PyResult<Bound<'py, PyDict>> {
        let tf = match timeframe {
            Some(t) => Timeframe::parse(t).map_err(err)?,
            None => self.timeframe,
        };
        let bars = store::bars(&self.candles, self.timeframe, tf).map_err(err)?;
        let d = PyDict::new(py);
        let times: Vec<u8> = bars
            .iter()
            .flat_map(|b| b.open_time_ms.to_le_bytes())
            .collect();
        d.set_item("open_time_ms", PyBytes::new(py, &times))?;
        for (name, f) in [
            ("open", (|b: &Bar| b.open) as fn(&Bar) -> f64),
            ("high", |b: &Bar| b.high),
            ("low", |b: &Bar| b.low),
            ("close", |b: &Bar| b.close),
            ("volume", |b: &Bar| b.volume),
        ] {
            let bytes: Vec<u8> = bars.iter().flat_map(|b| f(b).to_le_bytes()).collect();
            d.set_item(name, PyBytes::new(py, &bytes))?;
        }
        Ok(d)
    }
}

fn timeframe(label: &str) -> PyResult<Timeframe> {
    Timeframe::parse(label).map_err(err)
}

/// Candles in strictly increasing time (what every loader of the engine guarantees); the grid is
/// checked where it matters, by resampling.
fn checked(candles: Vec<Candle>, tf: Timeframe, what: &str) -> PyResult<Candles> {
    let mut prev: Option<i64> = None;
    for (i, c) in candles.iter().enumerate() {
        if prev.is_some_and(|p| c.open_time_ms <= p) {
            return Err(err(format!(
                "{what}: candle {i}: open time {} is not after the previous one",
                c.open_time_ms
            )));
        }
        prev = Some(c.open_time_ms);
    }
    Ok(Candles {
        candles,
        timeframe: tf,
    })
}

/// Reads a CSV of candles with the engine's parser (the one `keel data import-csv` uses).
#[pyfunction]
fn read_csv(py: Python<'_>, path: PathBuf, timeframe: &str) -> PyResult<Candles> {
    let tf = self::timeframe(timeframe)?;
    let what = path.display().to_string();
    let candles = py.detach(|| -> Result<Vec<Candle>, String> {
        let bytes = std::fs::read(&path).map_err(|e| format!("{what}: {e}"))?;
        csv::parse(&bytes).map_err(|e| format!("{what}: {e}"))
    });
    checked(candles.map_err(err)?, tf, &path.display().to_string())
}

/// Reads one KEELBARS month file (the data folder's format).
#[pyfunction]
fn read_keelbars(py: Python<'_>, path: PathBuf) -> PyResult<Candles> {
    let what = path.display().to_string();
    let file = py
        .detach(|| -> Result<codec::MonthFile, String> {
            let bytes = std::fs::read(&path).map_err(|e| format!("{what}: {e}"))?;
            codec::decode(&bytes).map_err(|e| format!("{what}: {e}"))
        })
        .map_err(err)?;
    let tf = timeframe_of(file.timeframe_ms)?;
    checked(file.candles, tf, &path.display().to_string())
}

fn timeframe_of(ms: i64) -> PyResult<Timeframe> {
    for label in [
        "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d",
    ] {
        let tf = timeframe(label)?;
        if tf.ms() == ms {
            return Ok(tf);
        }
    }
    Err(err(format!("timeframe of {ms} ms is not a known one")))
}

/// Loads `[start, end)` of an instrument from a data folder exactly as `keel backtest --data`
/// does: the month files of the stored `timeframe`, merged and sliced.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn load_keelbars(
    py: Python<'_>,
    data_dir: PathBuf,
    exchange: &str,
    market: &str,
    symbol: &str,
    timeframe: &str,
    start: &str,
    end: &str,
) -> PyResult<Candles> {
    let tf = self::timeframe(timeframe)?;
    let inst: Instrument = serde_json::from_value(serde_json::json!({
        "exchange": exchange, "market": market, "symbol": symbol.to_ascii_uppercase()
    }))
    .map_err(|e| err(format!("instrument: {e}")))?;
    let from = store::parse_date("start", start).map_err(err)?;
    let to = store::parse_date("end", end).map_err(err)?;
    if to <= from {
        return Err(err("end must be after start"));
    }
    let candles = py
        .detach(|| load_months(&data_dir, &inst, tf, from, to))
        .map_err(err)?;
    if candles.is_empty() {
        // As `keel backtest`: say what is missing rather than hand back nothing.
        return Err(err(format!(
            "no stored {exchange} {market} {} {timeframe} candles in [{start}, {end}) in {} (run `keel data import` first)",
            inst.symbol.as_str(),
            data_dir.display()
        )));
    }
    checked(candles, tf, symbol)
}

fn load_months(
    dir: &Path,
    inst: &Instrument,
    tf: Timeframe,
    from: i64,
    to: i64,
) -> Result<Vec<Candle>, String> {
    let mut files = Vec::new();
    for month in store::months(from, to).map_err(|e| e.to_string())? {
        let p = dir.join(store::month_path(inst, tf, month).map_err(|e| e.to_string())?);
        match std::fs::read(&p) {
            Ok(bytes) => {
                files.push(codec::decode(&bytes).map_err(|e| format!("{}: {e}", p.display()))?)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("{}: {e}", p.display())),
        }
    }
    Ok(store::slice(&files, from, to))
}

/// One price/volume column from Python: packed f64 (a float column, each value taken at its
/// shortest round-trip decimal text, as a CSV would print it) or decimal text.
fn column(name: &str, col: &Bound<'_, PyAny>, n: usize) -> PyResult<Vec<String>> {
    let out: Vec<String> = if let Ok(bytes) = col.extract::<&[u8]>() {
        if bytes.len() != n * 8 {
            return Err(err(format!("{name}: {} bytes for {n} rows", bytes.len())));
        }
        bytes
            .chunks_exact(8)
            .map(|b| {
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                let x = f64::from_le_bytes(a);
                format!("{x}")
            })
            .collect()
    } else {
        col.extract::<Vec<String>>()
            .map_err(|_| err(format!("{name}: floats or decimal text expected")))?
    };
    if out.len() != n {
        return Err(err(format!("{name}: {} values for {n} rows", out.len())));
    }
    Ok(out)
}

/// Candles from columns (a pandas/polars frame, via the Python wrapper): `open_time_ms` packed
/// i64, then open, high, low, close, volume. Each row is checked like an imported candle.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn from_columns(
    timeframe: &str,
    open_time_ms: &[u8],
    open: &Bound<'_, PyAny>,
    high: &Bound<'_, PyAny>,
    low: &Bound<'_, PyAny>,
    close: &Bound<'_, PyAny>,
    volume: &Bound<'_, PyAny>,
) -> PyResult<Candles> {
    let tf = self::timeframe(timeframe)?;
    if !open_time_ms.len().is_multiple_of(8) {
        return Err(err("open_time_ms: not packed 64-bit integers"));
    }
    let times: Vec<i64> = open_time_ms
        .chunks_exact(8)
        .map(|b| {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            i64::from_le_bytes(a)
        })
        .collect();
    let n = times.len();
    let cols = [
        column("open", open, n)?,
        column("high", high, n)?,
        column("low", low, n)?,
        column("close", close, n)?,
        column("volume", volume, n)?,
    ];
    let mut candles = Vec::with_capacity(n);
    for (i, t) in times.iter().enumerate() {
        let fields = [
            cols[0][i].as_str(),
            cols[1][i].as_str(),
            cols[2][i].as_str(),
            cols[3][i].as_str(),
            cols[4][i].as_str(),
        ];
        candles.push(Candle::parse(*t, fields).map_err(|e| err(format!("row {i}: {e}")))?);
    }
    checked(candles, tf, "frame")
}

fn request(json: &str) -> PyResult<BacktestRequest> {
    serde_json::from_str(json).map_err(|e| err(format!("backtest request: {e}")))
}

/// Little-endian bytes of each item written straight into a new `bytes` object (one copy).
fn packed<'py, T>(
    py: Python<'py>,
    items: &[T],
    f: impl Fn(&T) -> [u8; 8],
) -> PyResult<Bound<'py, PyBytes>> {
    PyBytes::new_with(py, items.len() * 8, |buf| {
        for (chunk, item) in buf.chunks_exact_mut(8).zip(items) {
            chunk.copy_from_slice(&f(item));
        }
        Ok(())
    })
}

/// Runs a backtest request (the CLI's JSON shape) on `candles` through the engine's
/// `BacktestRequest::execute`, the code path of `keel backtest`. Returns the report as JSON
/// without its curves, and the equity and drawdown curves packed.
#[pyfunction]
fn backtest<'py>(
    py: Python<'py>,
    candles: &Candles,
    request_json: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let req = request(request_json)?;
    let rep = py.detach(|| run_request(&req, candles)).map_err(err)?;
    report_dict(py, rep)
}

fn run_request(req: &BacktestRequest, candles: &Candles) -> Result<Report, String> {
    if req.feeds().map_err(|e| e.to_string())?.is_some() {
        return Err("spec: a multi-series spec needs one history per instrument, which this package does not load yet (use `keel backtest`)".into());
    }
    req.execute(&candles.candles, candles.timeframe)
        .map_err(|e| e.to_string())
}

fn report_dict(py: Python<'_>, mut rep: Report) -> PyResult<Bound<'_, PyDict>> {
    let equity = std::mem::take(&mut rep.equity_curve);
    let drawdown = std::mem::take(&mut rep.drawdown_curve);
    let json = serde_json::to_string(&rep).map_err(err)?;
    let d = PyDict::new(py);
    d.set_item("report_json", json)?;
    d.set_item(
        "equity_time_ms",
        packed(py, &equity, |p| p.0.to_le_bytes())?,
    )?;
    d.set_item("equity", packed(py, &equity, |p| p.1.to_le_bytes())?)?;
    d.set_item(
        "drawdown_time_ms",
        packed(py, &drawdown, |p| p.0.to_le_bytes())?,
    )?;
    d.set_item("drawdown", packed(py, &drawdown, |p| p.1.to_le_bytes())?)?;
    Ok(d)
}

/// The engine-only time of `repeat` runs of a request (best of them, seconds): the native
/// baseline the Python package's throughput is measured against (same compiled engine, no
/// Python objects built).
#[pyfunction]
fn native_seconds(
    py: Python<'_>,
    candles: &Candles,
    request_json: &str,
    repeat: usize,
) -> PyResult<f64> {
    let req = request(request_json)?;
    py.detach(|| {
        let mut best = f64::INFINITY;
        for _ in 0..repeat.max(1) {
            let t = std::time::Instant::now();
            let rep = run_request(&req, candles)?;
            let s = t.elapsed().as_secs_f64();
            std::hint::black_box(rep);
            best = best.min(s);
        }
        Ok(best)
    })
    .map_err(|e: String| err(e))
}

/// Registered strategies: name → `{version, params: [{name, default, min, max, integer}]}`.
#[pyfunction]
fn strategies(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let reg = Registry::builtin();
    let out = PyDict::new(py);
    for name in reg.names() {
        if let Some((version, params)) = reg.describe(name) {
            let d = PyDict::new(py);
            d.set_item("version", version)?;
            let ps: Vec<Bound<'_, PyDict>> = params
                .iter()
                .map(|p| -> PyResult<Bound<'_, PyDict>> {
                    let e = PyDict::new(py);
                    e.set_item("name", p.name)?;
                    e.set_item("default", p.default)?;
                    e.set_item("min", p.min)?;
                    e.set_item("max", p.max)?;
                    e.set_item("integer", p.integer)?;
                    Ok(e)
                })
                .collect::<PyResult<_>>()?;
            d.set_item("params", ps)?;
            out.set_item(name, d)?;
        }
    }
    Ok(out)
}

/// Every combination of the given parameter values, in the engine's order.
#[pyfunction(name = "grid")]
fn grid_points(ranges: BTreeMap<String, Vec<f64>>) -> Vec<BTreeMap<String, f64>> {
    grid(&ranges)
}

/// The engine's grid search with one in-/out-of-sample split (`backtest::walk_forward`): every
/// point of `ranges` on the first `in_sample` fraction of the request's bars and on the rest.
/// The request gives the venue, fees, capital and timeframe (its `params` are ignored).
/// Returns the engine's JSON document (points sorted by in-sample Sharpe, invalid ones apart).
#[pyfunction]
fn walk_forward_json(
    py: Python<'_>,
    candles: &Candles,
    request_json: &str,
    ranges: BTreeMap<String, Vec<f64>>,
    in_sample: f64,
) -> PyResult<String> {
    let req = request(request_json)?;
    py.detach(|| -> Result<String, String> {
        let tf = req.bar_timeframe().map_err(|e| e.to_string())?;
        let bars = store::bars(&candles.candles, candles.timeframe, tf)
            .map_err(|e| format!("timeframe: {e}"))?;
        let config = req.config(&candles.candles).map_err(|e| e.to_string())?;
        let wf = walk_forward(
            &config,
            &Registry::builtin(),
            req.strategy_name(),
            &ranges,
            &bars,
            in_sample,
        )
        .map_err(|e| e.to_string())?;
        serde_json::to_string(&wf).map_err(|e| e.to_string())
    })
    .map_err(err)
}

fn f64s(name: &str, bytes: &[u8]) -> PyResult<Vec<f64>> {
    if !bytes.len().is_multiple_of(8) {
        return Err(err(format!("{name}: not packed 64-bit floats")));
    }
    Ok(bytes
        .chunks_exact(8)
        .map(|b| {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            f64::from_le_bytes(a)
        })
        .collect())
}

fn usize_param(params: &BTreeMap<String, f64>, name: &str) -> PyResult<usize> {
    let v = *params
        .get(name)
        .ok_or_else(|| err(format!("{name}: required")))?;
    if !(v.is_finite() && v >= 1.0 && v.fract() == 0.0 && v <= 1_000_000.0) {
        return Err(err(format!(
            "{name}: {v} is not a whole number in 1..=1000000"
        )));
    }
    Ok(v as usize)
}

fn f64_param(params: &BTreeMap<String, f64>, name: &str, default: f64) -> PyResult<f64> {
    let v = params.get(name).copied().unwrap_or(default);
    if !v.is_finite() || v <= 0.0 {
        return Err(err(format!("{name}: {v} must be a positive number")));
    }
    Ok(v)
}

/// Streams `bars` through `f`; `out(v)` spreads each value over the named outputs (NaN before
/// the factor is warm or where an output is not yet defined).
fn stream<F: Factor>(
    bars: &[Bar],
    mut f: F,
    names: &[&'static str],
    out: impl Fn(F::Output) -> Vec<f64>,
) -> Vec<(&'static str, Vec<f64>)> {
    let mut cols: Vec<Vec<f64>> = vec![Vec::with_capacity(bars.len()); names.len()];
    for b in bars {
        let row = f.update(b).map(&out);
        for (k, col) in cols.iter_mut().enumerate() {
            col.push(
                row.as_ref()
                    .and_then(|r| r.get(k).copied())
                    .unwrap_or(f64::NAN),
            );
        }
    }
    names.iter().copied().zip(cols).collect()
}

fn opt(x: Option<f64>) -> f64 {
    x.unwrap_or(f64::NAN)
}

/// Runs a built-in factor (the engine's streaming indicator, the one strategies use) over OHLCV
/// columns given as packed f64. Returns output name → packed f64 (NaN before warm).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn factor<'py>(
    py: Python<'py>,
    name: &str,
    params: BTreeMap<String, f64>,
    open: &[u8],
    high: &[u8],
    low: &[u8],
    close: &[u8],
    volume: &[u8],
) -> PyResult<Bound<'py, PyDict>> {
    let cols = [
        f64s("open", open)?,
        f64s("high", high)?,
        f64s("low", low)?,
        f64s("close", close)?,
        f64s("volume", volume)?,
    ];
    let n = cols[3].len();
    if cols.iter().any(|c| c.len() != n) {
        return Err(err(
            "open, high, low, close and volume must have the same length",
        ));
    }
    let bars: Vec<Bar> = (0..n)
        .map(|i| Bar {
            open_time_ms: i as i64,
            open: cols[0][i],
            high: cols[1][i],
            low: cols[2][i],
            close: cols[3][i],
            volume: cols[4][i],
        })
        .collect();
    let p = &params;
    let one = |x: f64| vec![x];
    let band = &["lower", "middle", "upper"];
    let band_out = |b: keel_engine::factor::Band| vec![b.lower, b.middle, b.upper];
    // The indicator runs with the GIL released, like a backtest.
    let outputs = py.detach(|| -> PyResult<Vec<(&'static str, Vec<f64>)>> {
        Ok(match name {
            "sma" => stream(&bars, Sma::new(usize_param(p, "n")?), &["value"], one),
            "ema" => stream(&bars, Ema::new(usize_param(p, "n")?), &["value"], one),
            "wma" => stream(&bars, Wma::new(usize_param(p, "n")?), &["value"], one),
            "rsi" => stream(&bars, Rsi::new(usize_param(p, "n")?), &["value"], one),
            "atr" => stream(&bars, Atr::new(usize_param(p, "n")?), &["value"], one),
            "vwap" => stream(&bars, Vwap::new(usize_param(p, "n")?), &["value"], one),
            "zscore" => stream(&bars, ZScore::new(usize_param(p, "n")?), &["value"], one),
            "rolling_vol" => stream(
                &bars,
                RollingVol::new(usize_param(p, "n")?),
                &["value"],
                one,
            ),
            "obv" => stream(&bars, Obv::new(), &["value"], one),
            "returns" => stream(&bars, Returns::new(), &["value"], one),
            "macd" => stream(
                &bars,
                Macd::new(
                    usize_param(p, "fast")?,
                    usize_param(p, "slow")?,
                    usize_param(p, "signal")?,
                ),
                &["macd", "signal", "histogram"],
                |m| vec![m.macd, opt(m.signal), opt(m.histogram)],
            ),
            "stochastic" => stream(
                &bars,
                Stochastic::new(usize_param(p, "n")?, usize_param(p, "d")?),
                &["k", "d"],
                |s| vec![s.k, opt(s.d)],
            ),
            "adx" => stream(
                &bars,
                Adx::new(usize_param(p, "n")?),
                &["plus_di", "minus_di", "adx"],
                |a| vec![a.plus_di, a.minus_di, a.adx],
            ),
            "bollinger" => stream(
                &bars,
                Bollinger::new(usize_param(p, "n")?, f64_param(p, "k", 2.0)?),
                band,
                band_out,
            ),
            "donchian" => stream(&bars, Donchian::new(usize_param(p, "n")?), band, band_out),
            "keltner" => stream(
                &bars,
                Keltner::new(
                    usize_param(p, "n")?,
                    usize_param(p, "n_atr")?,
                    f64_param(p, "mult", 2.0)?,
                ),
                band,
                band_out,
            ),
            other => {
                return Err(err(format!(
                    "factor {other:?} is not one of {}",
                    FACTORS.join(", ")
                )))
            }
        })
    })?;
    let d = PyDict::new(py);
    for (k, col) in outputs {
        d.set_item(k, packed(py, &col, |x| x.to_le_bytes())?)?;
    }
    Ok(d)
}

/// The factor names [`factor`] accepts.
const FACTORS: [&str; 16] = [
    "sma",
    "ema",
    "wma",
    "rsi",
    "atr",
    "vwap",
    "zscore",
    "rolling_vol",
    "obv",
    "returns",
    "macd",
    "stochastic",
    "adx",
    "bollinger",
    "donchian",
    "keltner",
];

/// The CLI's `report.html` page for a request: runs it (GIL released) and renders the engine's
/// self-contained HTML report, so a notebook can show or save the page the CLI writes.
#[pyfunction]
fn report_html(py: Python<'_>, candles: &Candles, request_json: &str) -> PyResult<String> {
    let req = request(request_json)?;
    let rep = py.detach(|| run_request(&req, candles)).map_err(err)?;
    Ok(report::html(&rep))
}

/// The extension module.
#[pymodule]
fn _keel(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("KeelError", m.py().get_type::<KeelError>())?;
    m.add("FACTORS", FACTORS.to_vec())?;
    m.add_class::<Candles>()?;
    m.add_function(wrap_pyfunction!(read_csv, m)?)?;
    m.add_function(wrap_pyfunction!(read_keelbars, m)?)?;
    m.add_function(wrap_pyfunction!(load_keelbars, m)?)?;
    m.add_function(wrap_pyfunction!(from_columns, m)?)?;
    m.add_function(wrap_pyfunction!(backtest, m)?)?;
    m.add_function(wrap_pyfunction!(native_seconds, m)?)?;
    m.add_function(wrap_pyfunction!(strategies, m)?)?;
    m.add_function(wrap_pyfunction!(grid_points, m)?)?;
    m.add_function(wrap_pyfunction!(walk_forward_json, m)?)?;
    m.add_function(wrap_pyfunction!(factor, m)?)?;
    m.add_function(wrap_pyfunction!(report_html, m)?)?;
    Ok(())
}
