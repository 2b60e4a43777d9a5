//! The backtest report as documents: a JSON value (trades, equity and drawdown curves, every
//! metric, the fill model in words) and a self-contained HTML page (inline SVG charts, inline
//! CSS, no external URL, no script needed), built from a [`BacktestReport`]. Pure: the CLI
//! writes the files, the Worker returns them.

use super::{BacktestConfig, BacktestReport, FillAt, Metrics, Rejected};
use crate::model::{Fill, Side};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// What the run was, for the report's header (the engine's report does not know the data).
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    /// Registered strategy name.
    pub strategy_name: String,
    /// Parameters as given.
    pub params: BTreeMap<String, f64>,
    /// Exchange name.
    pub exchange: String,
    /// `spot` or `linear`.
    pub market: String,
    /// Symbol.
    pub symbol: String,
    /// Timeframe label (`1h`).
    pub timeframe: String,
    /// First bar's open time, ms.
    pub from_ms: i64,
    /// Last bar's close time, ms.
    pub to_ms: i64,
}

/// The fill model, stated so a reader never has to guess how fills were simulated.
#[derive(Debug, Clone, Serialize)]
pub struct FillModel {
    /// `next_open` or `close`.
    pub fill_at: FillAt,
    /// Adverse slippage per fill, bps.
    pub slippage_bps: Decimal,
    /// Taker fee rate (market orders).
    pub taker_fee_rate: Decimal,
    /// Maker fee rate.
    pub maker_fee_rate: Decimal,
    /// One sentence.
    pub description: String,
}

/// A round trip: from flat (or a flip) back to flat.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoundTrip {
    /// `long` or `short`.
    pub side: &'static str,
    /// First fill time.
    pub entry_ms: i64,
    /// Closing fill time (`None` = still open at the end).
    pub exit_ms: Option<i64>,
    /// Largest position held, base.
    pub qty: Decimal,
    /// Volume-weighted entry price.
    pub entry_price: Decimal,
    /// Volume-weighted exit price (zero while open).
    pub exit_price: Decimal,
    /// Quote cash flow of the trip net of fees (exact; only meaningful once closed).
    pub pnl: Decimal,
    /// Fees of the trip, quote (base-asset fees valued at their fill price).
    pub fees: Decimal,
    /// The instrument, in a multi-instrument backtest (absent when there is one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
}

/// Every figure of the metric list.
#[derive(Debug, Clone, Serialize)]
pub struct ReportMetrics {
    /// The ratios.
    #[serde(flatten)]
    pub ratios: Metrics,
    /// Longest time under water, ms.
    pub max_drawdown_duration_ms: i64,
    /// Starting capital.
    pub initial_capital: Decimal,
    /// Final equity (exact, ledger).
    pub final_equity: Decimal,
    /// Net P&L (exact, ledger).
    pub net_pnl: Decimal,
    /// Realized P&L before fees (exact).
    pub realized_pnl: Decimal,
    /// Funding (exact; zero unless funding was booked: candles carry none).
    pub funding: Decimal,
    /// Closed round trips.
    pub round_trips: usize,
}

/// The traded instrument's display precision: the HTML shows prices to its tick, quantities to
/// its step and money in its quote currency (`crate::format`), the JSON keeps exact values.
#[derive(Debug, Clone, Serialize)]
pub struct Precision {
    /// Quote (and P&L) currency.
    pub quote_asset: String,
    /// Price tick.
    pub tick_size: Decimal,
    /// Quantity step.
    pub step_size: Decimal,
}

/// The whole document.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// What ran.
    pub run: RunInfo,
    /// How its numbers are shown.
    pub precision: Precision,
    /// Strategy version id every fill is attributed to.
    pub strategy_version: String,
    /// How fills were simulated.
    pub fill_model: FillModel,
    /// Metrics.
    pub metrics: ReportMetrics,
    /// Round trips.
    pub trades: Vec<RoundTrip>,
    /// Every fill (exact).
    pub fills: Vec<Fill>,
    /// The fills that were stop-loss / take-profit exits, with their reason (absent without).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exits: Vec<super::ExitRecord>,
    /// Signals the live path refused.
    pub rejected: Vec<Rejected>,
    /// `[close_time_ms, equity]` per bar.
    pub equity_curve: Vec<(i64, f64)>,
    /// `[close_time_ms, drawdown fraction ≤ 0]` per bar.
    pub drawdown_curve: Vec<(i64, f64)>,
    /// Bars processed.
    pub bars: usize,
}

/// Round trips from fills (`base_asset` tells which fees were charged in base, as spot buys are).
/// A trip ends when the position returns to dust (less than one lot `step`: a spot sell of whole
/// lots leaves the base fee's sliver, which cannot be traded) or flips (the excess opens the next
/// trip). Dust is carried in the position but never opens a trip of its own, so a long-only spot
/// run never shows a "short" made of fee dust.
pub fn round_trips(fills: &[Fill], base_asset: &str, step: Decimal) -> Vec<RoundTrip> {
    let mut out: Vec<RoundTrip> = Vec::new();
    let is_dust = |q: Decimal| {
        if step > Decimal::ZERO {
            q.abs() < step
        } else {
            q.is_zero()
        }
    };
    let mut pos = Decimal::ZERO;
    let mut cur: Option<(RoundTrip, Decimal, Decimal, Decimal)> = None; // trip, in qty, out qty, cash
    for f in fills {
        let fee_q = if f.fee_asset == base_asset {
            f.fee * f.price
        } else {
            f.fee
        };
        let signed = match f.side {
            Side::Buy => f.qty,
            Side::Sell => -f.qty,
        };
        let received = if f.fee_asset == base_asset {
            f.fee
        } else {
            Decimal::ZERO
        };
        let mut remaining = signed;
        let mut fee_left = fee_q;
        while !remaining.is_zero() {
            if cur.is_none() && is_dust(remaining) && is_dust(pos + remaining) {
                // What is left of a fill after its trip closed, less than a lot: dust.
                pos += remaining;
                break;
            }
            let (mut trip, mut qin, mut qout, mut cash) = match cur.take() {
                Some(t) => t,
                None => (
                    RoundTrip {
                        side: if remaining > Decimal::ZERO {
                            "long"
                        } else {
                            "short"
                        },
                        entry_ms: f.time_ms,
                        exit_ms: None,
                        qty: Decimal::ZERO,
                        entry_price: Decimal::ZERO,
                        exit_price: Decimal::ZERO,
                        pnl: Decimal::ZERO,
                        fees: Decimal::ZERO,
                        symbol: None,
                    },
                    Decimal::ZERO,
                    Decimal::ZERO,
                    Decimal::ZERO,
                ),
            };
            let long = trip.side == "long";
            let opening = (remaining > Decimal::ZERO) == long;
            // The part of this fill that belongs to the current trip.
            let part = if opening || remaining.abs() <= pos.abs() {
                remaining
            } else {
                -pos
            };
            let share = if signed.is_zero() {
                Decimal::ONE
            } else {
                part / signed
            };
            let fee_part = (fee_q * share).min(fee_left.max(Decimal::ZERO));
            fee_left -= fee_part;
            cash -= part * f.price;
            cash -= fee_part;
            trip.fees += fee_part;
            if opening {
                trip.entry_price =
                    (trip.entry_price * qin + part.abs() * f.price) / (qin + part.abs());
                qin += part.abs();
                pos += part
                    - if long {
                        received * share
                    } else {
                        Decimal::ZERO
                    };
            } else {
                trip.exit_price =
                    (trip.exit_price * qout + part.abs() * f.price) / (qout + part.abs());
                qout += part.abs();
                pos += part;
            }
            trip.qty = trip.qty.max(pos.abs());
            remaining -= part;
            if !opening && is_dust(pos) {
                trip.exit_ms = Some(f.time_ms);
                trip.pnl = cash;
                trip.entry_price = trip.entry_price.round_dp(8).normalize();
                trip.exit_price = trip.exit_price.round_dp(8).normalize();
                out.push(trip);
            } else {
                cur = Some((trip, qin, qout, cash));
            }
        }
    }
    if let Some((mut trip, ..)) = cur {
        trip.entry_price = trip.entry_price.round_dp(8).normalize();
        out.push(trip);
    }
    out
}

/// Drawdown per point of an equity curve (fraction below the running peak, ≤ 0).
pub fn drawdowns(curve: &[(i64, f64)]) -> Vec<(i64, f64)> {
    let mut peak = f64::MIN;
    curve
        .iter()
        .map(|&(t, e)| {
            peak = peak.max(e);
            (t, if peak > 0.0 { e / peak - 1.0 } else { 0.0 })
        })
        .collect()
}

/// Builds the document of a multi-instrument run ([`super::run_multi`]): round trips per
/// instrument (each with its symbol and its own lot step), in entry order; precision is the
/// first instrument's (the quote is common).
pub fn build_multi(
    run: RunInfo,
    config: &BacktestConfig,
    rules: &[crate::model::InstrumentRules],
    r: &BacktestReport,
) -> Report {
    let mut rep = build(run, config, r);
    let mut trades = Vec::new();
    for ru in rules {
        let fills: Vec<Fill> = r
            .fills
            .iter()
            .filter(|f| f.symbol == ru.symbol)
            .cloned()
            .collect();
        trades.extend(
            round_trips(&fills, &ru.base_asset, ru.step_size)
                .into_iter()
                .map(|t| RoundTrip {
                    symbol: Some(ru.symbol.to_string()),
                    ..t
                }),
        );
    }
    trades.sort_by_key(|t| t.entry_ms);
    rep.metrics.round_trips = trades.iter().filter(|t| t.exit_ms.is_some()).count();
    rep.trades = trades;
    rep
}

/// Builds the document.
pub fn build(run: RunInfo, config: &BacktestConfig, r: &BacktestReport) -> Report {
    let trades = round_trips(&r.fills, &config.rules.base_asset, config.rules.step_size);
    let description = format!(
        "Market orders decided on a bar's close fill at {}, moved {} bps against the order and \
         rounded to the tick ({}); taker fee {} of notional (spot buys pay it in base). Sizing, \
         exchange filters, risk limits and P&L are the live bot's code; no funding is booked \
         (candles carry none).",
        match r.fill_at {
            FillAt::NextOpen => "the next bar's open",
            FillAt::Close => "that bar's close",
        },
        r.slippage_bps,
        config.rules.tick_size,
        r.taker_fee_rate
    );
    let closed = trades.iter().filter(|t| t.exit_ms.is_some()).count();
    Report {
        precision: Precision {
            quote_asset: config.rules.quote_asset.clone(),
            tick_size: config.rules.tick_size,
            step_size: config.rules.step_size,
        },
        strategy_version: r.strategy.clone(),
        fill_model: FillModel {
            fill_at: r.fill_at,
            slippage_bps: r.slippage_bps,
            taker_fee_rate: r.taker_fee_rate,
            maker_fee_rate: config.maker_fee_rate,
            description,
        },
        metrics: ReportMetrics {
            ratios: r.metrics.clone(),
            max_drawdown_duration_ms: r.metrics.max_drawdown_bars as i64 * config.timeframe.ms(),
            initial_capital: config.initial_capital,
            final_equity: r.final_equity,
            net_pnl: r.pnl.net,
            realized_pnl: r.pnl.realized,
            funding: r.pnl.funding,
            round_trips: closed,
        },
        trades,
        fills: r.fills.clone(),
        exits: r.exits.clone(),
        rejected: r.rejected.clone(),
        drawdown_curve: drawdowns(&r.equity_curve),
        equity_curve: r.equity_curve.clone(),
        bars: r.bars,
        run,
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `YYYY-MM-DD HH:MM` UTC.
fn when(ms: i64) -> String {
    let (h, m, _) = crate::calendar::clock_of(ms);
    format!(
        "{} {h:02}:{m:02}",
        crate::calendar::date_string(crate::calendar::day_index(ms))
    )
}

/// An SVG line (or area) chart of `points`, reduced to ≤ 2 points per pixel column (min and
/// max), so a million bars draw as fast as a thousand and no spike disappears.
fn chart(points: &[(i64, f64)], title: &str, color: &str, area: bool, pct: bool) -> String {
    const W: f64 = 960.0;
    const H: f64 = 220.0;
    const PAD: f64 = 48.0;
    let finite: Vec<(i64, f64)> = points.iter().copied().filter(|p| p.1.is_finite()).collect();
    let mut svg = format!(
        "<svg viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{}\"><text x=\"{PAD}\" y=\"16\" class=\"t\">{}</text>",
        esc(title),
        esc(title)
    );
    let (Some(first), Some(last)) = (finite.first(), finite.last()) else {
        svg.push_str("<text x=\"50%\" y=\"50%\">no data</text></svg>");
        return svg;
    };
    let (t0, t1) = (first.0 as f64, (last.0 as f64).max(first.0 as f64 + 1.0));
    let lo = finite.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let hi = finite.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if hi - lo < 1e-12 {
        (lo - 1.0, hi + 1.0)
    } else {
        (lo, hi)
    };
    let x = |t: f64| PAD + (t - t0) / (t1 - t0) * (W - 2.0 * PAD);
    let y = |v: f64| 24.0 + (hi - v) / (hi - lo) * (H - 48.0);
    let cols = (W - 2.0 * PAD) as usize;
    let mut buckets: Vec<Option<(f64, f64, f64, f64)>> = vec![None; cols + 1];
    for &(t, v) in &finite {
        let c = (((t as f64 - t0) / (t1 - t0)) * cols as f64) as usize;
        let b = &mut buckets[c.min(cols)];
        *b = Some(match *b {
            None => (v, v, v, v),
            Some((f, mn, mx, _)) => (f, mn.min(v), mx.max(v), v),
        });
    }
    let mut path = String::new();
    for (c, b) in buckets.iter().enumerate() {
        if let Some((f, mn, mx, l)) = b {
            let px = PAD + c as f64;
            for v in [f, mn, mx, l] {
                let cmd = if path.is_empty() { 'M' } else { 'L' };
                let _ = write!(path, "{cmd}{px:.1},{:.1}", y(*v));
            }
        }
    }
    let fmt = |v: f64| {
        if pct {
            format!("{:.1}%", v * 100.0)
        } else {
            format!("{v:.2}")
        }
    };
    let _ = write!(
        svg,
        "<line x1=\"{PAD}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" class=\"ax\"/>\
         <text x=\"2\" y=\"{:.1}\" class=\"l\">{}</text><text x=\"2\" y=\"{:.1}\" class=\"l\">{}</text>\
         <text x=\"{PAD}\" y=\"{:.1}\" class=\"l\">{}</text><text x=\"{:.1}\" y=\"{:.1}\" class=\"l\" text-anchor=\"end\">{}</text>",
        H - 24.0,
        W - PAD,
        H - 24.0,
        y(hi) + 4.0,
        fmt(hi),
        y(lo),
        fmt(lo),
        H - 8.0,
        when(first.0),
        W - PAD,
        H - 8.0,
        when(last.0)
    );
    if area {
        let _ = write!(
            svg,
            "<path d=\"{path}L{:.1},{:.1}L{:.1},{:.1}Z\" fill=\"{color}\" fill-opacity=\"0.3\" stroke=\"{color}\"/>",
            x(t1),
            y(hi.min(0.0).max(lo)),
            x(t0),
            y(hi.min(0.0).max(lo))
        );
    } else {
        let _ = write!(
            svg,
            "<path d=\"{path}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\"/>"
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The self-contained HTML page.
pub fn html(rep: &Report) -> String {
    let m = &rep.metrics;
    let r = &m.ratios;
    let pct = |v: f64| format!("{:.2}%", v * 100.0);
    let num = |v: f64| format!("{v:.3}");
    let p = &rep.precision;
    let money = |v: Decimal| crate::format::money(v, &p.quote_asset);
    let price = |v: Decimal| crate::format::price(v, p.tick_size);
    let rows: Vec<(&str, String)> = vec![
        ("Initial capital", money(m.initial_capital)),
        ("Final equity", money(m.final_equity)),
        ("Net P&L", money(m.net_pnl)),
        ("Total return", pct(r.total_return)),
        ("Annualised return", pct(r.annual_return)),
        ("Volatility (ann.)", pct(r.volatility)),
        ("Sharpe", num(r.sharpe)),
        ("Sortino", num(r.sortino)),
        ("Calmar", num(r.calmar)),
        ("Max drawdown", pct(r.max_drawdown)),
        (
            "Max drawdown duration",
            format!(
                "{} bars ({:.1} days)",
                r.max_drawdown_bars,
                m.max_drawdown_duration_ms as f64 / 86_400_000.0
            ),
        ),
        ("Win rate", pct(r.win_rate)),
        ("Profit factor", num(r.profit_factor)),
        ("Exposure", pct(r.exposure)),
        ("Turnover", num(r.turnover)),
        ("Executions", r.executions.to_string()),
        ("Round trips", m.round_trips.to_string()),
        ("Fees", money(r.fees)),
        ("Funding", money(m.funding)),
        ("Rejected signals", rep.rejected.len().to_string()),
        (
            "Exit fills (stop-loss / take-profit)",
            exit_counts(&rep.exits),
        ),
    ];
    let mut table = String::new();
    for (k, v) in rows {
        let _ = write!(table, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(&v));
    }
    let mut trades = String::new();
    const SHOWN: usize = 500;
    for t in rep.trades.iter().take(SHOWN) {
        let _ = write!(
            trades,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td></tr>",
            t.side,
            when(t.entry_ms),
            t.exit_ms.map(when).unwrap_or_else(|| "open".into()),
            crate::format::qty(t.qty, p.step_size),
            price(t.entry_price),
            if t.exit_ms.is_some() { price(t.exit_price) } else { crate::format::UNSET.to_string() },
            if t.pnl.is_sign_negative() { "neg" } else { "pos" },
            money(t.pnl)
        );
    }
    let more = rep.trades.len().saturating_sub(SHOWN);
    let run = &rep.run;
    let params = run
        .params
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Backtest {name} {sym}</title>\
<style>body{{font:14px system-ui,sans-serif;margin:24px;color:#1a1a1a;max-width:1000px}}\
table{{border-collapse:collapse;margin:8px 0}}th,td{{padding:3px 10px;border-bottom:1px solid #ddd;text-align:left}}\
td{{font-variant-numeric:tabular-nums}}svg{{width:100%;height:auto;background:#fafafa;margin:8px 0}}\
.t{{font-weight:600;font-size:13px}}.l{{font-size:11px;fill:#555}}.ax{{stroke:#bbb}}.neg{{color:#b00020}}.pos{{color:#0a7d32}}\
.note{{color:#555}}</style></head><body>\
<h1>{name} on {ex} {mk} {sym} {tf}</h1>\
<p class=\"note\">{from} → {to} UTC · {bars} bars · version <code>{ver}</code> · params {params}</p>\
<p class=\"note\"><b>Fill model:</b> {fill}</p>\
{eq}{dd}<h2>Metrics</h2><table>{table}</table>\
<h2>Round trips ({n}{open})</h2><table><tr><th>side</th><th>entry</th><th>exit</th><th>qty</th><th>entry px</th><th>exit px</th><th>P&amp;L</th></tr>{trades}</table>{more}\
</body></html>",
        name = esc(&run.strategy_name),
        sym = esc(&run.symbol),
        ex = esc(&run.exchange),
        mk = esc(&run.market),
        tf = esc(&run.timeframe),
        from = when(run.from_ms),
        to = when(run.to_ms),
        bars = rep.bars,
        ver = esc(&rep.strategy_version),
        params = esc(&params),
        fill = esc(&rep.fill_model.description),
        eq = chart(&rep.equity_curve, "Equity (quote)", "#1f5fbf", false, false),
        dd = chart(&rep.drawdown_curve, "Drawdown", "#b00020", true, true),
        // One count: the closed trips (the metric above); a trip still open is named apart.
        n = m.round_trips,
        open = match rep.trades.len().saturating_sub(m.round_trips) {
            0 => String::new(),
            k => format!(" closed, {k} open"),
        },
        more = if more > 0 {
            format!("<p class=\"note\">… {more} more in report.json</p>")
        } else {
            String::new()
        },
    )
}

/// `"<stop-losses> / <take-profits>"` among `exits`: what the report's summary shows of them (the
/// fills themselves are in `exits`, each with its reason).
pub fn exit_counts(exits: &[super::ExitRecord]) -> String {
    let stops = exits
        .iter()
        .filter(|x| x.reason == crate::venue::ExitKind::StopLoss)
        .count();
    format!("{stops} / {}", exits.len() - stops)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Symbol;
    use rust_decimal_macros::dec;

    fn fill(side: Side, qty: Decimal, price: Decimal, fee: Decimal, asset: &str, t: i64) -> Fill {
        Fill {
            trade_id: format!("t{t}"),
            order_id: format!("o{t}"),
            client_order_id: None,
            symbol: Symbol::new("BTCUSDT").unwrap(),
            side,
            price,
            qty,
            fee,
            fee_asset: asset.into(),
            time_ms: t,
            is_maker: false,
        }
    }

    #[test]
    fn round_trips_linear_flip_and_spot_dust() {
        // Linear: long 2 @100, sell 3 @110 (closes long, opens short 1), buy 1 @105.
        let fills = [
            fill(Side::Buy, dec!(2), dec!(100), dec!(0.2), "USDT", 1),
            fill(Side::Sell, dec!(3), dec!(110), dec!(0.3), "USDT", 2),
            fill(Side::Buy, dec!(1), dec!(105), dec!(0.1), "USDT", 3),
        ];
        let t = round_trips(&fills, "BTC", dec!(0.001));
        assert_eq!(t.len(), 2);
        assert_eq!(
            (t[0].side, t[0].qty, t[0].exit_ms),
            ("long", dec!(2), Some(2))
        );
        assert_eq!(t[0].pnl, dec!(20) - dec!(0.2) - dec!(0.2));
        assert_eq!(
            (t[1].side, t[1].entry_price, t[1].exit_price),
            ("short", dec!(110), dec!(105))
        );
        assert_eq!(t[1].pnl, dec!(5) - dec!(0.1) - dec!(0.1));
        // Spot: buy 1 @100 paying 0.001 BTC, sell 0.999 @110: one closed trip.
        let spot = [
            fill(Side::Buy, dec!(1), dec!(100), dec!(0.001), "BTC", 1),
            fill(Side::Sell, dec!(0.999), dec!(110), dec!(0.1099), "USDT", 2),
        ];
        let s = round_trips(&spot, "BTC", dec!(0.001));
        assert_eq!(s.len(), 1);
        assert_eq!(
            s[0].pnl,
            dec!(0.999) * dec!(110) - dec!(100) - dec!(0.1) - dec!(0.1099)
        );
        // Open at the end.
        let open = round_trips(&fills[..1], "BTC", dec!(0.001));
        assert_eq!(open[0].exit_ms, None);
    }

    #[test]
    fn spot_fee_dust_never_makes_a_phantom_short() {
        // Long-only spot, step 0.00001 BTC: each buy pays its fee in BTC, each sell sells whole
        // lots of what the bot believes it holds, so slivers below a lot pile up and a later
        // sell can exceed the trip's own quantity by dust. Before: a "short" trip of that dust.
        let step = dec!(0.00001);
        // Buys pay 0.1 % in BTC (0.0000123); sells sell all that is held, truncated to lots.
        let fills = [
            fill(
                Side::Buy,
                dec!(0.0123),
                dec!(65000),
                dec!(0.0000123),
                "BTC",
                1,
            ),
            // Holds 0.0122877: sells 0.01228, keeps 0.0000077 of dust.
            fill(
                Side::Sell,
                dec!(0.01228),
                dec!(65100),
                dec!(0.799428),
                "USDT",
                2,
            ),
            // Holds 0.0122954 (with the dust): sells 0.01229, more than this trip bought net.
            fill(
                Side::Buy,
                dec!(0.0123),
                dec!(65000),
                dec!(0.0000123),
                "BTC",
                3,
            ),
            fill(
                Side::Sell,
                dec!(0.01229),
                dec!(64900),
                dec!(0.797621),
                "USDT",
                4,
            ),
            fill(
                Side::Buy,
                dec!(0.0123),
                dec!(65000),
                dec!(0.0000123),
                "BTC",
                5,
            ),
            fill(
                Side::Sell,
                dec!(0.01229),
                dec!(65000),
                dec!(0.79885),
                "USDT",
                6,
            ),
        ];
        let t = round_trips(&fills, "BTC", step);
        let sides: Vec<(&str, Option<i64>)> = t.iter().map(|x| (x.side, x.exit_ms)).collect();
        assert_eq!(
            sides,
            [("long", Some(2)), ("long", Some(4)), ("long", Some(6))],
            "three long trips, no short, none open: {t:?}"
        );
        // One count in the document: the HTML header says what the metric says.
        let closed = t.iter().filter(|x| x.exit_ms.is_some()).count();
        assert_eq!(closed, 3);
    }

    #[test]
    fn drawdown_curve_and_html_is_self_contained() {
        let curve = vec![(0, 100.0), (1, 120.0), (2, 90.0), (3, 130.0)];
        let dd = drawdowns(&curve);
        assert_eq!(dd[2].1, 90.0 / 120.0 - 1.0);
        assert_eq!(dd[3].1, 0.0);
        let svg = chart(&curve, "Equity <x>", "#000", false, false);
        assert!(
            svg.starts_with("<svg") && svg.contains("Equity &lt;x&gt;") && svg.contains("M48.0")
        );
        assert_eq!(when(1_704_067_200_000), "2024-01-01 00:00");
    }

    #[test]
    fn full_report_from_a_real_run() {
        use crate::backtest::run;
        use crate::config::BotConfig;
        use crate::market::{load_csv, Timeframe};
        use crate::model::InstrumentRules;
        use crate::strategy::Registry;
        let bars = load_csv(include_str!("../../test_data/factors/ohlcv.csv").as_bytes()).unwrap();
        let bot = BotConfig::from_value(serde_json::json!({
            "id": "bt", "name": "Backtest", "exchange": "binance", "market": "linear", "mode": "paper",
            "instruments": ["BTCUSDT"], "sizing": {"mode": "pct_equity", "value": "100"}, "risk": {}
        }))
        .unwrap();
        let config = BacktestConfig {
            bot,
            rules: InstrumentRules {
                symbol: Symbol::new("BTCUSDT").unwrap(),
                base_asset: "BTC".into(),
                quote_asset: "USDT".into(),
                tick_size: dec!(0.01),
                step_size: dec!(0.001),
                min_qty: dec!(0.001),
                max_qty: dec!(100000),
                max_market_qty: dec!(0),
                min_notional: dec!(5),
                min_price: dec!(0),
                max_price: dec!(0),
            },
            taker_fee_rate: dec!(0.0004),
            maker_fee_rate: dec!(0.0002),
            initial_capital: dec!(10000),
            fill_at: FillAt::NextOpen,
            slippage_bps: dec!(5),
            timeframe: Timeframe::M1,
            rebalance_band: 0.0,
        };
        let params = BTreeMap::from([("fast".to_string(), 10.0), ("slow".to_string(), 30.0)]);
        let mut s = Registry::builtin().build("ma_crossover", &params).unwrap();
        let r = run(&config, s.as_mut(), &bars).unwrap();
        let info = RunInfo {
            strategy_name: "ma_crossover".into(),
            params,
            exchange: "binance".into(),
            market: "linear".into(),
            symbol: "BTCUSDT".into(),
            timeframe: "1m".into(),
            from_ms: bars[0].open_time_ms,
            to_ms: bars[bars.len() - 1].open_time_ms + 60_000,
        };
        let rep = build(info, &config, &r);
        // Closed trips' P&L plus the open one's mark equals the ledger's net (exactness check on
        // the trip arithmetic): here every trip closed but possibly the last.
        let closed: Decimal = rep
            .trades
            .iter()
            .filter(|t| t.exit_ms.is_some())
            .map(|t| t.pnl)
            .sum();
        if rep.trades.iter().all(|t| t.exit_ms.is_some()) {
            assert_eq!(closed, r.pnl.net);
        }
        assert_eq!(rep.metrics.final_equity, r.final_equity);
        assert_eq!(rep.drawdown_curve.len(), rep.equity_curve.len());
        let v = serde_json::to_value(&rep).unwrap();
        for key in [
            "calmar",
            "max_drawdown_duration_ms",
            "exposure",
            "turnover",
            "fees",
            "funding",
            "sharpe",
            "sortino",
            "win_rate",
            "profit_factor",
        ] {
            assert!(!v["metrics"][key].is_null(), "metrics.{key}");
        }
        assert!(v["fill_model"]["description"]
            .as_str()
            .unwrap()
            .contains("next bar's open"));
        let page = html(&rep);
        assert!(page.contains("<svg") && page.contains("Drawdown"));
        // Numbers for humans: money with its currency, no raw 28-digit decimals.
        assert!(
            page.contains("<th>Initial capital</th><td>10,000.00 USDT</td>"),
            "{page}"
        );
        assert!(
            !page.contains(&rep.metrics.final_equity.to_string())
                || rep.metrics.final_equity.scale() <= 2,
            "final equity is shown rounded"
        );
        let closed = rep.metrics.round_trips;
        assert!(
            page.contains(&format!("<h2>Round trips ({closed}")),
            "one count"
        );
        assert!(
            !page.contains("http://")
                && !page.contains("https://")
                && !page.contains("<script src")
        );
    }
}
