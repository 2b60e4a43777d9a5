//! Candles: Binance `GET /api/v3/klines` and `/fapi/v1/klines`, Bybit `GET /v5/market/kline`,
//! served from a per-symbol history the admin API loads, appends to or generates
//! deterministically (`POST /__admin/klines`).
//!
//! Consistency with trading: loading or appending bars sets the symbol's price on every venue to
//! the last bar's close, so a market order placed right after a bar "closes" fills at that close
//! (± the configured spread). Bars are served only once they have opened in server time (a bar
//! whose interval has not ended yet is served as the forming candle, as the exchanges do), so
//! tests keep their history in the past and append bars one at a time to drive a strategy.
//!
//! A symbol with no loaded history serves the candles of its own price path instead (every price
//! it was set to, walked to or loaded at since the state began: [`Tape`]), as an exchange serves
//! klines of every listed symbol: one bar per interval from the state's start, open = the price
//! in force when the bar opened, high/low over the moves inside it, close = the price in force
//! at its end (or now, for the forming bar), volume 0. So a fee asset's candle at a trade's time
//! (Keel values late BNB fees by it) is the price the asset really had then.
//!
//! Paging follows each exchange: Binance returns bars oldest first, the first `limit` at or after
//! `startTime` when given, else the last `limit` at or before `endTime` (or now); Bybit returns the
//! newest `limit` bars within `[start, end]`, **newest first**.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::binance::{self, err, fixed};
use crate::config::Venue;
use crate::http::{Params, Resp};
use crate::state::State;

/// One stored candle (exact decimals, as the exchange reports them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kline {
    /// Interval start, ms.
    pub open_time: i64,
    /// First price.
    pub open: Decimal,
    /// Highest price.
    pub high: Decimal,
    /// Lowest price.
    pub low: Decimal,
    /// Last price.
    pub close: Decimal,
    /// Base volume.
    pub volume: Decimal,
}

/// A symbol's history at its base interval, oldest first, contiguous.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Series {
    /// Base interval, ms.
    pub interval_ms: i64,
    /// Bars, oldest first.
    pub bars: Vec<Kline>,
}

/// Binance interval label → ms (the sim serves minute to week bars).
pub fn binance_interval(label: &str) -> Option<i64> {
    let m = 60_000;
    Some(match label {
        "1m" => m,
        "3m" => 3 * m,
        "5m" => 5 * m,
        "15m" => 15 * m,
        "30m" => 30 * m,
        "1h" => 60 * m,
        "2h" => 120 * m,
        "4h" => 240 * m,
        "6h" => 360 * m,
        "8h" => 480 * m,
        "12h" => 720 * m,
        "1d" => 1_440 * m,
        "3d" => 4_320 * m,
        "1w" => 10_080 * m,
        _ => return None,
    })
}

/// Bybit interval label (`1`, `60`, `D`, `W`) → ms.
pub fn bybit_interval(label: &str) -> Option<i64> {
    let m = 60_000;
    match label {
        "D" => Some(1_440 * m),
        "W" => Some(10_080 * m),
        "1" | "3" | "5" | "15" | "30" | "60" | "120" | "240" | "360" | "720" => {
            label.parse::<i64>().ok().map(|n| n * m)
        }
        _ => None,
    }
}

impl Series {
    /// Bars at `interval_ms` (a whole multiple of the base; aggregated on epoch-aligned buckets)
    /// that have opened by `now`, oldest first.
    fn at(&self, interval_ms: i64, now: i64) -> Option<Vec<Kline>> {
        if self.interval_ms <= 0 || interval_ms % self.interval_ms != 0 {
            return None;
        }
        let mut out: Vec<Kline> = Vec::new();
        for b in self.bars.iter().filter(|b| b.open_time <= now) {
            let bucket = b.open_time.div_euclid(interval_ms) * interval_ms;
            match out.last_mut() {
                Some(last) if last.open_time == bucket => {
                    last.high = last.high.max(b.high);
                    last.low = last.low.min(b.low);
                    last.close = b.close;
                    last.volume += b.volume;
                }
                _ => out.push(Kline {
                    open_time: bucket,
                    ..*b
                }),
            }
        }
        Some(out)
    }
}

/// Selects bars the Binance way: first `limit` from `start`, else last `limit` up to `end`.
fn binance_page(bars: &[Kline], start: Option<i64>, end: Option<i64>, limit: usize) -> &[Kline] {
    let lo = start.map_or(0, |s| bars.partition_point(|b| b.open_time < s));
    let hi = end.map_or(bars.len(), |e| bars.partition_point(|b| b.open_time <= e));
    if hi <= lo {
        return &[];
    }
    if start.is_some() {
        &bars[lo..hi.min(lo + limit)]
    } else {
        &bars[hi.saturating_sub(limit).max(lo)..hi]
    }
}

/// `GET /api/v3/klines` (spot) and `/fapi/v1/klines` (futures).
pub fn binance(st: &mut State, venue: Venue, p: &Params, now: i64) -> Resp {
    binance_rows(st, venue, p, now).map_or_else(|e| e, |v| Resp::json(200, &v))
}

fn binance_rows(st: &State, venue: Venue, p: &Params, now: i64) -> Result<Value, Resp> {
    let symbol = binance::symbol(st, venue, p)?;
    let label = binance::required(p, "interval")?;
    let interval = binance_interval(label).ok_or_else(|| err(400, -1120, "Invalid interval."))?;
    let max = if venue == Venue::BinanceFutures {
        1500
    } else {
        1000
    };
    let limit = binance::integer(p, "limit")?.unwrap_or(500);
    if !(1..=max).contains(&limit) {
        return Err(err(
            400,
            -1130,
            format!("Invalid data sent for a parameter: limit must be 1..{max}."),
        ));
    }
    let start = binance::integer(p, "startTime")?;
    let end = binance::integer(p, "endTime")?;
    let all = served(st, venue, &symbol, interval, now)
        .ok_or_else(|| err(400, -1120, "Invalid interval."))?;
    let tick = st
        .instrument(venue, &symbol)
        .map_or(Decimal::new(1, 8), |i| i.cfg.tick_size);
    let dp = if venue == Venue::BinanceSpot {
        8
    } else {
        tick.scale()
    };
    let rows: Vec<Value> = binance_page(&all, start, end, limit as usize)
        .iter()
        .map(|k| {
            let quote = (k.volume * k.close).round_dp(8);
            json!([
                k.open_time,
                fixed(k.open, dp),
                fixed(k.high, dp),
                fixed(k.low, dp),
                fixed(k.close, dp),
                fixed(k.volume, 8),
                k.open_time + interval - 1,
                fixed(quote, 8),
                trades_of(k),
                fixed(k.volume / Decimal::TWO, 8),
                fixed(quote / Decimal::TWO, 8),
                "0"
            ])
        })
        .collect();
    Ok(Value::Array(rows))
}

/// Binance futures kline weight by `limit` (USDⓈ-M docs: <100 → 1, <500 → 2, ≤1000 → 5, else 10).
pub fn futures_weight(p: &Params) -> u64 {
    match p
        .get("limit")
        .and_then(|l| l.parse::<i64>().ok())
        .unwrap_or(500)
    {
        ..100 => 1,
        100..500 => 2,
        500..=1000 => 5,
        _ => 10,
    }
}

/// `GET /v5/market/kline`: `{category, symbol, list: [[start, o, h, l, c, volume, turnover]]}`,
/// newest first; `category` defaults to `linear`.
pub fn bybit(st: &State, p: &Params, now: i64) -> Result<Value, (i64, String)> {
    let venue = match p.get("category").unwrap_or("linear") {
        "spot" => Venue::BybitSpot,
        "linear" => Venue::BybitLinear,
        _ => {
            return Err((
                10001,
                "params error: category is invalid or not supported".into(),
            ))
        }
    };
    let symbol = p
        .get("symbol")
        .ok_or((10001, "params error: symbol is required".to_string()))?;
    if st.instrument(venue, symbol).is_none() {
        return Err((10001, "params error: symbol invalid".into()));
    }
    let interval = p
        .get("interval")
        .and_then(bybit_interval)
        .ok_or((10001, "params error: interval invalid".to_string()))?;
    let int = |k: &str| -> Result<Option<i64>, (i64, String)> {
        p.get(k)
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| (10001, format!("params error: {k} invalid")))
            })
            .transpose()
    };
    let limit = int("limit")?.unwrap_or(200);
    if !(1..=1000).contains(&limit) {
        return Err((10001, "params error: limit must be 1..1000".into()));
    }
    let (start, end) = (int("start")?, int("end")?);
    let all = served(st, venue, symbol, interval, now)
        .ok_or((10001, "params error: interval invalid".to_string()))?;
    let lo = start.map_or(0, |s| all.partition_point(|b| b.open_time < s));
    let hi = end.map_or(all.len(), |e| all.partition_point(|b| b.open_time <= e));
    let picked = if hi > lo {
        &all[hi.saturating_sub(limit as usize).max(lo)..hi]
    } else {
        &[][..]
    };
    let s = |d: Decimal| d.normalize().to_string();
    let list: Vec<Value> = picked
        .iter()
        .rev()
        .map(|k| {
            json!([
                k.open_time.to_string(),
                s(k.open),
                s(k.high),
                s(k.low),
                s(k.close),
                s(k.volume),
                s((k.volume * k.close).round_dp(8))
            ])
        })
        .collect();
    Ok(json!({"category": p.get("category").unwrap_or("linear"), "symbol": symbol, "list": list}))
}

/// Most bars a price path is served as (older bars are not served).
const MAX_DERIVED_BARS: i64 = 50_000;

/// A venue symbol's price path: the price before the first recorded move, then every move.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Tape {
    /// Price before the first move.
    pub initial: Decimal,
    /// `(server ms, new price)`, in time order.
    pub moves: Vec<(i64, Decimal)>,
}

impl Tape {
    /// A tape whose price so far was `initial`.
    pub fn new(initial: Decimal) -> Self {
        Tape {
            initial,
            moves: Vec::new(),
        }
    }

    /// Records a move (a repeated price is kept too: it costs nothing to serve).
    pub fn record(&mut self, at: i64, price: Decimal) {
        // A move stamped before the last one (clock skew changed) is kept in time order.
        let i = self.moves.partition_point(|(t, _)| *t <= at);
        self.moves.insert(i, (at, price));
    }

    /// The price in force at `t` (moves at `t` included).
    fn at(&self, t: i64) -> Decimal {
        let i = self.moves.partition_point(|(m, _)| *m <= t);
        if i == 0 {
            self.initial
        } else {
            self.moves[i - 1].1
        }
    }

    /// Bars of `interval` from `from` (aligned down) through `now`.
    fn bars(&self, interval: i64, from: i64, now: i64) -> Vec<Kline> {
        let mut start = from.div_euclid(interval) * interval;
        let last = now.div_euclid(interval) * interval;
        start = start.max(last - (MAX_DERIVED_BARS - 1) * interval);
        let mut out = Vec::new();
        let mut b = start;
        while b <= last {
            let end = (b + interval - 1).min(now);
            let open = self.at(b);
            let (mut high, mut low) = (open, open);
            let lo = self.moves.partition_point(|(t, _)| *t <= b);
            let hi = self.moves.partition_point(|(t, _)| *t <= end);
            for (_, p) in self.moves.get(lo..hi).unwrap_or(&[]) {
                high = high.max(*p);
                low = low.min(*p);
            }
            out.push(Kline {
                open_time: b,
                open,
                high,
                low,
                close: self.at(end),
                volume: Decimal::ZERO,
            });
            b += interval;
        }
        out
    }
}

/// The bars a symbol serves at `interval` now: its loaded history, else its price path on
/// `venue`; `None` when `interval` is finer than (or not a multiple of) the loaded history's.
fn served(st: &State, venue: Venue, symbol: &str, interval: i64, now: i64) -> Option<Vec<Kline>> {
    match st.klines.get(symbol) {
        Some(series) => series.at(interval, now),
        None => {
            let key = (venue, symbol.to_string());
            let fresh;
            let tape = match st.tapes.get(&key) {
                Some(t) => t,
                None => {
                    fresh = Tape::new(st.instruments.get(&key).map(|i| i.price)?);
                    &fresh
                }
            };
            Some(tape.bars(interval, st.epoch_ms, now))
        }
    }
}

fn trades_of(k: &Kline) -> u64 {
    u64::try_from((k.volume * Decimal::from(10)).trunc().mantissa()).unwrap_or(0)
}

/// What `POST /__admin/klines` asks for.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminLoad {
    /// Symbol (every venue of it serves the same history).
    pub symbol: String,
    /// Binance label of the base interval (`1m`, `1h`, …).
    pub interval: String,
    /// Bars `[open_time, open, high, low, close, volume]` (decimals as strings or numbers).
    #[serde(default)]
    pub bars: Vec<(i64, Value, Value, Value, Value, Value)>,
    /// Append to the loaded history instead of replacing it.
    #[serde(default)]
    pub append: bool,
    /// Generate a deterministic history instead of (or after, with `append`) given bars.
    #[serde(default)]
    pub generate: Option<Generate>,
    /// Move each venue's price through every given bar (open, the extreme against the protected
    /// position, the other extreme, close: `State::walk_bar`) instead of jumping to the last
    /// close, so exchange-side exits fire by the rule Keel's backtester states.
    #[serde(default)]
    pub walk: bool,
}

/// A deterministic random walk of bars.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Generate {
    /// Bars to make.
    pub count: usize,
    /// Open time of the first bar (default: so that the last one closed before now).
    #[serde(default)]
    pub start_ms: Option<i64>,
    /// First open (default: the symbol's current price).
    #[serde(default)]
    pub start_price: Option<Value>,
    /// Largest move per bar, basis points (default 30).
    #[serde(default)]
    pub step_bps: Option<i64>,
    /// Seed (default 7): the same seed gives the same bars.
    #[serde(default)]
    pub seed: Option<u64>,
}

fn dec(v: &Value, what: &str) -> Result<Decimal, String> {
    let raw = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return Err(format!("{what} must be a decimal")),
    };
    raw.parse()
        .map_err(|_| format!("{what} is not a decimal: {raw}"))
}

/// Coarsest tick of the symbol across venues, so one close is a valid price on all of them.
fn coarsest_tick(st: &State, symbol: &str) -> Option<Decimal> {
    st.instruments
        .values()
        .filter(|i| i.cfg.symbol == symbol)
        .map(|i| i.cfg.tick_size)
        .max()
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn on_tick(v: Decimal, tick: Decimal) -> Decimal {
    ((v / tick).round() * tick).max(tick).normalize()
}

/// Applies an admin load: validates the grid and contiguity, stores the bars and moves every
/// venue's price to the last close. Returns a summary.
///
/// # Errors
/// A message naming the bad field or bar.
pub fn admin_load(st: &mut State, load: AdminLoad, now: i64) -> Result<Value, String> {
    let interval = binance_interval(&load.interval)
        .ok_or_else(|| format!("interval {:?} is not a Binance label", load.interval))?;
    let tick =
        coarsest_tick(st, &load.symbol).ok_or_else(|| format!("unknown symbol {}", load.symbol))?;
    let mut series = match (load.append, st.klines.get(&load.symbol)) {
        (true, Some(s)) if s.interval_ms == interval => s.clone(),
        (true, Some(s)) => {
            return Err(format!(
                "append: history is at {} ms bars, not {interval}",
                s.interval_ms
            ))
        }
        _ => Series {
            interval_ms: interval,
            bars: Vec::new(),
        },
    };
    for (i, (t, o, h, l, c, v)) in load.bars.iter().enumerate() {
        let what = |f: &str| format!("bars[{i}].{f}");
        series.bars.push(Kline {
            open_time: *t,
            open: dec(o, &what("open"))?,
            high: dec(h, &what("high"))?,
            low: dec(l, &what("low"))?,
            close: dec(c, &what("close"))?,
            volume: dec(v, &what("volume"))?,
        });
    }
    if let Some(g) = load.generate {
        let mut rng = g.seed.unwrap_or(7) ^ 0x5DEE_CE66_D1CE_4E5B;
        let step = g.step_bps.unwrap_or(30).max(1);
        let first_open = match (&g.start_price, series.bars.last()) {
            (Some(p), _) => dec(p, "generate.start_price")?,
            (None, Some(last)) => last.close,
            (None, None) => st
                .instruments
                .values()
                .find(|i| i.cfg.symbol == load.symbol)
                .map_or(Decimal::ONE_HUNDRED, |i| i.price),
        };
        let mut t = match (g.start_ms, series.bars.last()) {
            (Some(s), _) => s,
            (None, Some(last)) => last.open_time + interval,
            (None, None) => (now.div_euclid(interval) - g.count as i64) * interval,
        };
        let mut open = on_tick(first_open, tick);
        for _ in 0..g.count {
            let mv = |r: u64| Decimal::new((r % (2 * step as u64 + 1)) as i64 - step, 4);
            let close = on_tick(open * (Decimal::ONE + mv(splitmix(&mut rng))), tick);
            let wick = Decimal::new((splitmix(&mut rng) % (step as u64 / 2 + 1)) as i64, 4);
            let high = on_tick(open.max(close) * (Decimal::ONE + wick), tick);
            let low = on_tick(open.min(close) * (Decimal::ONE - wick), tick);
            let volume = Decimal::new((splitmix(&mut rng) % 5_000) as i64 + 100, 3);
            series.bars.push(Kline {
                open_time: t,
                open,
                high,
                low,
                close,
                volume,
            });
            open = close;
            t += interval;
        }
    }
    for (i, pair) in series.bars.windows(2).enumerate() {
        if pair[1].open_time != pair[0].open_time + interval {
            return Err(format!(
                "bars[{}]: open_time {} does not follow {} by one interval",
                i + 1,
                pair[1].open_time,
                pair[0].open_time
            ));
        }
    }
    if let Some(b) = series.bars.iter().find(|b| b.open_time % interval != 0) {
        return Err(format!(
            "bar {} is off the {} grid",
            b.open_time, load.interval
        ));
    }
    let last = series.bars.last().copied();
    let n = series.bars.len();
    let given = load.bars.len().min(n);
    let walked: Vec<Kline> = if load.walk {
        series.bars[n - given..].to_vec()
    } else {
        Vec::new()
    };
    st.klines.insert(load.symbol.clone(), series);
    if let Some(last) = last {
        let venues: Vec<Venue> = st
            .instruments
            .keys()
            .filter(|(_, s)| *s == load.symbol)
            .map(|(v, _)| *v)
            .collect();
        for v in venues {
            if walked.is_empty() {
                st.set_price(v, &load.symbol, last.close, now);
            }
            for b in &walked {
                st.walk_bar(v, &load.symbol, b.open, b.high, b.low, b.close, now);
            }
        }
    }
    Ok(json!({"ok": true, "symbol": load.symbol, "bars": n,
        "last_open_time": last.map(|b| b.open_time), "price": last.map(|b| b.close)}))
}

/// `GET /__admin/klines?symbol=…`: the stored history.
pub fn admin_dump(st: &State, symbol: &str) -> Value {
    match st.klines.get(symbol) {
        Some(s) => json!({"symbol": symbol, "interval_ms": s.interval_ms, "bars": s.bars}),
        None => json!({"symbol": symbol, "interval_ms": null, "bars": []}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_price_path_serves_candles_of_the_prices_it_had() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        let m = 60_000;
        let mut tape = Tape::new(d("600"));
        // Minute 1: moves to 612.50 then 605; minute 2: untouched; minute 3: forming.
        tape.record(m + 10_000, d("612.50"));
        tape.record(m + 50_000, d("605"));
        tape.record(3 * m + 5_000, d("590"));
        let bars = tape.bars(m, 30_000, 3 * m + 20_000);
        let ohlc: Vec<(i64, Decimal, Decimal, Decimal, Decimal)> = bars
            .iter()
            .map(|b| (b.open_time, b.open, b.high, b.low, b.close))
            .collect();
        assert_eq!(
            ohlc,
            vec![
                (0, d("600"), d("600"), d("600"), d("600")),
                (m, d("600"), d("612.50"), d("600"), d("605")),
                (2 * m, d("605"), d("605"), d("605"), d("605")),
                (3 * m, d("605"), d("605"), d("590"), d("590")),
            ]
        );
    }

    fn k(t: i64, c: i64) -> Kline {
        let d = Decimal::from(c);
        Kline {
            open_time: t,
            open: d,
            high: d,
            low: d,
            close: d,
            volume: Decimal::ONE,
        }
    }

    #[test]
    fn binance_paging_table() {
        let bars: Vec<Kline> = (0..10).map(|i| k(i * 60, i)).collect();
        let times = |s: &[Kline]| s.iter().map(|b| b.open_time / 60).collect::<Vec<_>>();
        struct Case {
            start: Option<i64>,
            end: Option<i64>,
            limit: usize,
            want: Vec<i64>,
        }
        let cases = [
            Case {
                start: None,
                end: None,
                limit: 3,
                want: vec![7, 8, 9],
            },
            Case {
                start: Some(120),
                end: None,
                limit: 3,
                want: vec![2, 3, 4],
            },
            Case {
                start: Some(130),
                end: Some(300),
                limit: 10,
                want: vec![3, 4, 5],
            },
            Case {
                start: None,
                end: Some(300),
                limit: 2,
                want: vec![4, 5],
            },
            Case {
                start: Some(900),
                end: None,
                limit: 5,
                want: vec![],
            },
        ];
        for c in cases {
            assert_eq!(times(binance_page(&bars, c.start, c.end, c.limit)), c.want);
        }
    }

    #[test]
    fn aggregation_and_intervals() {
        let s = Series {
            interval_ms: 60_000,
            bars: (0..6).map(|i| k(i * 60_000, i + 1)).collect(),
        };
        let agg = s.at(180_000, i64::MAX).unwrap();
        assert_eq!(agg.len(), 2);
        assert_eq!(
            (agg[0].open, agg[0].close, agg[0].volume),
            (Decimal::ONE, Decimal::from(3), Decimal::from(3))
        );
        assert!(s.at(90_000, i64::MAX).is_none());
        assert_eq!(
            s.at(60_000, 120_000).unwrap().len(),
            3,
            "not yet opened bars are hidden"
        );
        assert_eq!(binance_interval("4h"), Some(14_400_000));
        assert_eq!(bybit_interval("240"), Some(14_400_000));
        assert_eq!(bybit_interval("D"), binance_interval("1d"));
        assert_eq!(bybit_interval("7"), None);
    }
}
