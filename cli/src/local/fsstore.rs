//! The data folder on disk: month files read, merged and written atomically (temp file +
//! rename), so an interrupted import never leaves a half-written month behind.

use super::Failure;
use keel_engine::history::codec::{self, MonthFile};
use keel_engine::history::store;
use keel_engine::history::{Candle, Instrument};
use keel_engine::market::Timeframe;
use std::path::{Path, PathBuf};

fn run_err(e: impl std::fmt::Display) -> Failure {
    Failure::Run(e.to_string())
}

fn path(dir: &Path, inst: &Instrument, tf: Timeframe, month: i64) -> Result<PathBuf, Failure> {
    Ok(dir.join(store::month_path(inst, tf, month).map_err(run_err)?))
}

fn read(p: &Path) -> Result<Option<MonthFile>, Failure> {
    match std::fs::read(p) {
        Ok(bytes) => codec::decode(&bytes)
            .map(Some)
            .map_err(|e| Failure::Run(format!("{}: {e}", p.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Failure::Run(format!("{}: {e}", p.display()))),
    }
}

/// Merges candles into their month files. Returns how many months were written.
pub fn store(
    dir: &Path,
    inst: &Instrument,
    tf: Timeframe,
    candles: &[Candle],
) -> Result<usize, Failure> {
    let groups = store::by_month(candles);
    for (month, group) in &groups {
        let p = path(dir, inst, tf, *month)?;
        let merged = store::merge(read(&p)?, inst, tf, *month, group).map_err(run_err)?;
        let bytes = codec::encode(&merged).map_err(run_err)?;
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Failure::Run(format!("{}: {e}", parent.display())))?;
        }
        let tmp = p.with_extension("keelbars.tmp");
        std::fs::write(&tmp, &bytes)
            .map_err(|e| Failure::Run(format!("{}: {e}", tmp.display())))?;
        std::fs::rename(&tmp, &p).map_err(|e| Failure::Run(format!("{}: {e}", p.display())))?;
    }
    Ok(groups.len())
}

/// Candles of `[from, to)` at the stored timeframe `tf`.
pub fn load(
    dir: &Path,
    inst: &Instrument,
    tf: Timeframe,
    from: i64,
    to: i64,
) -> Result<Vec<Candle>, Failure> {
    let mut files = Vec::new();
    for month in store::months(from, to).map_err(|e| Failure::Usage(e.to_string()))? {
        if let Some(f) = read(&path(dir, inst, tf, month)?)? {
            files.push(f);
        }
    }
    Ok(store::slice(&files, from, to))
}

/// The newest stored open time in `[from, to)`, scanning months newest first.
pub fn last_stored(
    dir: &Path,
    inst: &Instrument,
    tf: Timeframe,
    from: i64,
    to: i64,
) -> Result<Option<i64>, Failure> {
    let months = store::months(from, to).map_err(|e| Failure::Usage(e.to_string()))?;
    for month in months.iter().rev() {
        if let Some(f) = read(&path(dir, inst, tf, *month)?)? {
            if let Some(c) = f
                .candles
                .iter()
                .rev()
                .find(|c| (from..to).contains(&c.open_time_ms))
            {
                return Ok(Some(c.open_time_ms));
            }
        }
    }
    Ok(None)
}

/// Stored timeframes of an instrument (directories present), smallest first.
pub fn stored_timeframes(dir: &Path, inst: &Instrument) -> Vec<Timeframe> {
    let names: Vec<String> = std::fs::read_dir(dir.join(store::instrument_prefix(inst)))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(String::from))
        .collect();
    store::stored_timeframes(names.iter().map(String::as_str))
}

/// File (next to the month files of an instrument and timeframe) listing the ranges an import
/// has asked the exchange for and received to the end: a hole inside one of them is the
/// exchange's own gap (maintenance), so it is reported, not asked for again on every run.
const FETCHED: &str = "fetched.json";

fn fetched_path(dir: &Path, inst: &Instrument, tf: Timeframe) -> Result<PathBuf, Failure> {
    let month = path(dir, inst, tf, 0)?;
    Ok(month.with_file_name(FETCHED))
}

/// The ranges `[from, to)` fetched completely so far, sorted and disjoint.
pub fn fetched(dir: &Path, inst: &Instrument, tf: Timeframe) -> Result<Vec<(i64, i64)>, Failure> {
    let p = fetched_path(dir, inst, tf)?;
    match std::fs::read(&p) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| Failure::Run(format!("{}: {e}", p.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Failure::Run(format!("{}: {e}", p.display()))),
    }
}

/// Adds `[from, to)` to the fetched ranges (merged with those it touches), written atomically.
pub fn record_fetched(
    dir: &Path,
    inst: &Instrument,
    tf: Timeframe,
    from: i64,
    to: i64,
) -> Result<(), Failure> {
    if to <= from {
        return Ok(());
    }
    let mut ranges = fetched(dir, inst, tf)?;
    ranges.push((from, to));
    let merged = merge_ranges(ranges);
    let p = fetched_path(dir, inst, tf)?;
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| Failure::Run(format!("{}: {e}", parent.display())))?;
    }
    let tmp = p.with_extension("json.tmp");
    let text = serde_json::to_vec(&merged).map_err(run_err)?;
    std::fs::write(&tmp, text).map_err(|e| Failure::Run(format!("{}: {e}", tmp.display())))?;
    std::fs::rename(&tmp, &p).map_err(|e| Failure::Run(format!("{}: {e}", p.display())))
}

/// Whether `[from, to)` lies inside one fetched range.
pub fn covered(ranges: &[(i64, i64)], from: i64, to: i64) -> bool {
    ranges.iter().any(|&(a, b)| a <= from && to <= b)
}

/// Sorted, disjoint union of ranges (touching ones joined).
fn merge_ranges(mut ranges: Vec<(i64, i64)>) -> Vec<(i64, i64)> {
    ranges.sort_unstable();
    let mut out: Vec<(i64, i64)> = Vec::with_capacity(ranges.len());
    for (a, b) in ranges {
        match out.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetched_ranges_merge_and_cover() {
        let merged = merge_ranges(vec![(50, 60), (0, 10), (10, 20), (15, 30), (70, 80)]);
        assert_eq!(merged, [(0, 30), (50, 60), (70, 80)]);
        assert!(covered(&merged, 5, 25));
        assert!(covered(&merged, 0, 30));
        assert!(!covered(&merged, 25, 55), "spans a range not fetched");
        assert!(!covered(&merged, 60, 70));
        assert!(!covered(&[], 0, 1));
    }
}
