//! Stop-loss and take-profit in the backtester (issue 18): each entry gets the exits the live
//! bot would place on its exchange and market, every bar is observed by the one rule of
//! [`crate::venue::paper::exits`], and the fills equal those of a paper bot driving the same
//! paper venue through venue operations only (the Durable Object's sequence: ticker, entry,
//! exits after the fill, price observations, then the exit queries of its protection refresh).

use super::*;
use crate::config::BotConfig;
use crate::ids::{BotId, ClientOrderId, SignalId, Symbol};
use crate::market::{Bar, Timeframe};
use crate::model::{Exchange, InstrumentRules, Market, OrderQty, OrderRequest, OrderType, Side};
use crate::strategy::{Context, Intent, Params, Strategy, StrategyVersion, Target};
use crate::venue::clock::ServerClock;
use crate::venue::op::{ExitKind, Protection, VenueOp, VenueReply};
use crate::venue::paper::exits::BarPrices;
use crate::venue::paper::{slipped_price, PaperConfig, PaperVenue};
use crate::venue::{protect, BuildCtx, Planned, Venue};
use rust_decimal::prelude::FromPrimitive;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::json;

/// Holds `script[i]` as its target exposure from bar `i` on (the last one after the end).
#[derive(Debug)]
pub(super) struct Scripted {
    version: StrategyVersion,
    script: Vec<f64>,
    seen: usize,
}

impl Strategy for Scripted {
    fn version(&self) -> &StrategyVersion {
        &self.version
    }
    fn warm_up(&self) -> usize {
        1
    }
    fn on_bar(&mut self, ctx: &Context<'_>) -> Vec<Intent> {
        let i = self.seen.min(self.script.len().saturating_sub(1));
        self.seen += 1;
        match self.script.get(i) {
            Some(&e) => vec![Intent::Target {
                symbol: ctx.symbol.clone(),
                target: Target::Exposure(e),
            }],
            None => Vec::new(),
        }
    }
}

pub(super) fn scripted(script: &[f64]) -> Scripted {
    Scripted {
        version: StrategyVersion::new("scripted", 1, Params::default()),
        script: script.to_vec(),
        seen: 0,
    }
}

pub(super) const TAKER: Decimal = dec!(0.001);
pub(super) const MAKER: Decimal = dec!(0.0002);
pub(super) const SLIP: Decimal = dec!(5);

pub(super) fn rules() -> InstrumentRules {
    InstrumentRules {
        symbol: Symbol::new("BNBUSDT").unwrap(),
        base_asset: "BNB".into(),
        quote_asset: "USDT".into(),
        tick_size: dec!(0.01),
        step_size: dec!(0.001),
        min_qty: dec!(0.001),
        max_qty: dec!(100000),
        max_market_qty: dec!(0),
        min_notional: dec!(5),
        min_price: dec!(0),
        max_price: dec!(0),
    }
}

pub(super) fn config(
    exchange: &str,
    market: &str,
    exits: Option<serde_json::Value>,
) -> BacktestConfig {
    let mut doc = json!({
        "id": "exits", "name": "Exits", "exchange": exchange, "market": market, "mode": "paper",
        "instruments": ["BNBUSDT"], "sizing": {"mode": "fixed_qty", "value": "10"},
        "source": "strategy", "strategy": "ma_crossover", "timeframe": "1m"
    });
    if let Some(x) = exits {
        doc["exits"] = x;
    }
    BacktestConfig {
        bot: BotConfig::from_value(doc).unwrap(),
        rules: rules(),
        taker_fee_rate: TAKER,
        maker_fee_rate: MAKER,
        initial_capital: dec!(10000),
        fill_at: FillAt::Close,
        slippage_bps: SLIP,
        timeframe: Timeframe::parse("1m").unwrap(),
        rebalance_band: 0.0,
    }
}

/// `(open, high, low, close)` per bar, a minute apart.
pub(super) fn bars(ohlc: &[(f64, f64, f64, f64)]) -> Vec<Bar> {
    ohlc.iter()
        .enumerate()
        .map(|(i, &(open, high, low, close))| Bar {
            open_time_ms: i as i64 * 60_000,
            open,
            high,
            low,
            close,
            volume: 1.0,
        })
        .collect()
}

/// What the parity compares per fill.
pub(super) type Seen = (Side, Decimal, Decimal, Decimal, Option<ExitKind>);

pub(super) fn seen_of(report: &BacktestReport) -> Vec<Seen> {
    report
        .fills
        .iter()
        .map(|f| {
            let reason = report
                .exits
                .iter()
                .find(|x| x.trade_id == f.trade_id)
                .map(|x| x.reason);
            (f.side, f.qty, f.price, f.fee, reason)
        })
        .collect()
}

/// Entry at 100 on bar 0's close (fills at 100.05 after 5 bps); stop 2 % → 98.05, target 3 % →
/// 103.05 (on the tick, never looser).
pub(super) const FLAT: (f64, f64, f64, f64) = (100.0, 100.0, 100.0, 100.0);
pub(super) const QUIET: (f64, f64, f64, f64) = (100.0, 101.0, 99.0, 100.5);

pub(super) fn distances() -> serde_json::Value {
    json!({"stop_loss_pct": "2", "take_profit_pct": "3"})
}

#[test]
fn a_bar_touching_the_stop_fills_it_at_the_stop_with_slippage_and_the_taker_fee() {
    let cfg = config("binance", "linear", Some(distances()));
    let path = bars(&[FLAT, QUIET, (100.5, 101.0, 97.5, 99.0), QUIET]);
    let report = run(&cfg, &mut scripted(&[1.0]), &path).unwrap();
    // 98.05 moved 5 bps down = 98.000975, floored to the tick: 98.00; fee 0.1 % of 980.
    assert_eq!(
        seen_of(&report),
        vec![
            (Side::Buy, dec!(10), dec!(100.05), dec!(1.0005), None),
            (
                Side::Sell,
                dec!(10),
                dec!(98.00),
                dec!(0.98),
                Some(ExitKind::StopLoss)
            ),
        ]
    );
    assert_eq!(report.exits[0].time_ms, 3 * 60_000);
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    // The strategy still wants the long: a stop-out is not undone by the same target.
    assert_eq!(report.fills.len(), 2);
    // Exact P&L: (98.00 − 100.05) × 10 − fees.
    assert_eq!(
        report.final_equity,
        dec!(10000) - dec!(20.5) - dec!(1.0005) - dec!(0.98)
    );
}

#[test]
fn a_gap_through_the_stop_fills_at_the_open_and_both_touched_fill_the_stop() {
    let cfg = config("binance", "linear", Some(distances()));
    let gap = run(
        &cfg,
        &mut scripted(&[1.0]),
        &bars(&[FLAT, QUIET, (97.0, 104.0, 96.0, 103.0)]),
    )
    .unwrap();
    // Opens at 97 below the 98.05 stop: filled at the open, 96.9515 → 96.95.
    assert_eq!(
        seen_of(&gap)[1],
        (
            Side::Sell,
            dec!(10),
            dec!(96.95),
            dec!(0.9695),
            Some(ExitKind::StopLoss)
        )
    );
    let both = run(
        &cfg,
        &mut scripted(&[1.0]),
        &bars(&[FLAT, (100.0, 104.0, 97.0, 103.0)]),
    )
    .unwrap();
    assert_eq!(seen_of(&both)[1].4, Some(ExitKind::StopLoss));
    assert_eq!(seen_of(&both)[1].2, dec!(98.00));
    // A short's worst extreme is the high: stop 2 % above 99.95 (the slipped sell) = 101.949
    // → 101.94 on the tick (tighter), bought at 101.94 + 5 bps = 101.99097 → 102.00.
    let short = run(
        &cfg,
        &mut scripted(&[-1.0]),
        &bars(&[FLAT, (100.0, 103.0, 96.0, 99.0)]),
    )
    .unwrap();
    assert_eq!(
        seen_of(&short),
        vec![
            (Side::Sell, dec!(10), dec!(99.95), dec!(0.9995), None),
            (
                Side::Buy,
                dec!(10),
                dec!(102.00),
                dec!(1.02),
                Some(ExitKind::StopLoss)
            ),
        ]
    );
}

#[test]
fn a_take_profit_fills_at_its_price_and_the_stop_goes_with_it() {
    let cfg = config("binance", "linear", Some(distances()));
    let report = run(
        &cfg,
        &mut scripted(&[1.0]),
        &bars(&[
            FLAT,
            (100.5, 104.0, 99.5, 103.5),
            (103.5, 103.5, 90.0, 91.0),
        ]),
    )
    .unwrap();
    // 103.05 − 5 bps = 102.998475 → 102.99. The stop was cancelled: nothing fills in the crash.
    assert_eq!(
        seen_of(&report)[1..],
        [(
            Side::Sell,
            dec!(10),
            dec!(102.99),
            dec!(1.0299),
            Some(ExitKind::TakeProfit)
        )]
    );
}

#[test]
fn a_run_without_exits_ignores_the_bar_extremes() {
    let cfg = config("binance", "linear", None);
    let report = run(
        &cfg,
        &mut scripted(&[1.0]),
        &bars(&[FLAT, (100.0, 104.0, 50.0, 100.0)]),
    )
    .unwrap();
    assert_eq!(report.fills.len(), 1);
    assert!(report.exits.is_empty());
}

#[test]
fn the_strategy_closing_first_cancels_the_exits() {
    let cfg = config("binance", "spot", Some(distances()));
    // Long, then flat on bar 1's close: the OCO pair is cancelled before the sell (it locks the
    // holding), and the crash of bar 2 fires nothing.
    let report = run(
        &cfg,
        &mut scripted(&[1.0, 0.0]),
        &bars(&[FLAT, QUIET, (100.0, 100.0, 50.0, 60.0)]),
    )
    .unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    assert_eq!(report.fills.len(), 2, "{:?}", report.fills);
    assert!(
        report.exits.is_empty(),
        "{:?} {:?}",
        report.exits,
        report.fills
    );
}

/// A paper bot of `exchange`/`market` trading the same bars through venue operations only: on
/// bar `entry`'s close it reads the price, buys (or sells) `qty` with the protection at the
/// configured distances from its expected fill, places the exits its venue's plan asks for
/// after the fill, then each later bar's prices reach the venue; at the end it collects the
/// exit fills as the protection refresh does (by trigger, by OCO leg, or all of the symbol).
fn paper_bot(
    exchange: Exchange,
    market: Market,
    path: &[Bar],
    side: Side,
    qty: Decimal,
) -> Vec<Seen> {
    let r = rules();
    let mut v = PaperVenue::new(PaperConfig {
        exchange,
        market,
        taker_fee_rate: TAKER,
        maker_fee_rate: MAKER,
        slippage_bps: SLIP,
    });
    v.set_rules(r.clone());
    v.deposit("USDT", dec!(10000));
    let clock = ServerClock::new();
    let call = |v: &mut PaperVenue, op: VenueOp, now: i64| {
        let ctx = BuildCtx {
            creds: None,
            clock: &clock,
            now_ms: now,
            base_url: "",
        };
        match v.build(&op, &ctx) {
            Ok(Planned::Immediate(reply)) => Ok(reply),
            Ok(Planned::Http(_)) => panic!("paper asked for I/O"),
            Err(e) => Err(e),
        }
    };
    let d = |x: f64| Decimal::from_f64(x).unwrap();
    let (bot, signal) = (BotId::new("exits").unwrap(), SignalId::new("s1").unwrap());
    let mut out = Vec::new();
    let mut exit_ids: Vec<ClientOrderId> = Vec::new();
    let first = &path[0];
    let t0 = first.open_time_ms + 60_000;
    v.set_price(&r.symbol, d(first.close), t0);
    let expected = slipped_price(d(first.close), side, SLIP, r.tick_size);
    let protection: Protection =
        protect::at_distance(expected, side, Some(dec!(2)), Some(dec!(3)), r.tick_size);
    let entry = OrderRequest {
        client_order_id: ClientOrderId::new("entry-1").unwrap(),
        symbol: r.symbol.clone(),
        side,
        order_type: OrderType::Market,
        qty: OrderQty::Base(qty),
        price: None,
        time_in_force: None,
        reduce_only: false,
    };
    let op = protect::entry_op(
        exchange,
        market,
        &entry,
        protection.stop_loss,
        protection.take_profit,
        r.tick_size,
    );
    let VenueReply::Order(report) = call(&mut v, op, t0).unwrap() else {
        panic!("entry")
    };
    let mut fees = std::collections::BTreeMap::new();
    for f in &report.fills {
        out.push((f.side, f.qty, f.price, f.fee, None));
        *fees.entry(f.fee_asset.clone()).or_insert(Decimal::ZERO) += f.fee;
    }
    let held = protect::net_holding(report.executed_qty, &fees, &r.base_asset, r.step_size);
    let tick = r.tick_size;
    for t in
        protect::exit_triggers(exchange, market, &bot, &signal, &entry, &protection, tick).unwrap()
    {
        exit_ids.push(t.client_order_id.clone());
        call(&mut v, VenueOp::PlaceExitTrigger(t), t0).unwrap();
    }
    if let Some(oco) = protect::oco_exit(
        exchange,
        market,
        &bot,
        &signal,
        &entry,
        &protection,
        tick,
        held,
    )
    .unwrap()
    {
        exit_ids.push(oco.stop_loss.client_order_id.clone());
        exit_ids.push(oco.take_profit.client_order_id.clone());
        call(&mut v, VenueOp::PlaceOcoExit(oco), t0).unwrap();
    }
    if let Some(t) = protect::spot_tpsl(
        exchange,
        market,
        &bot,
        &signal,
        &entry,
        &protection,
        tick,
        held,
    )
    .unwrap()
    {
        exit_ids.push(t.client_order_id.clone());
        call(&mut v, VenueOp::PlaceExitTrigger(t), t0).unwrap();
    }
    for b in &path[1..] {
        let prices = BarPrices {
            open: d(b.open),
            high: d(b.high),
            low: d(b.low),
            close: d(b.close),
        };
        // The venue keeps exit fills for the queries below; nothing else rests.
        let observed = v.observe_bar(&r.symbol, prices, b.open_time_ms + 60_000);
        assert!(observed.fills.is_empty());
    }
    // The protection refresh's queries, per venue.
    let mut fills = Vec::new();
    match (exchange, market) {
        (Exchange::Binance, Market::Linear) => {
            for id in &exit_ids {
                let q = VenueOp::QueryExitTrigger {
                    symbol: r.symbol.clone(),
                    client_order_id: id.clone(),
                };
                let Ok(VenueReply::Trigger(t)) = call(&mut v, q, 0) else {
                    panic!("trigger {id}")
                };
                if let Some(actual) = t.actual_order_id {
                    assert!(t.finished);
                    let q = VenueOp::ExitFills {
                        symbol: r.symbol.clone(),
                        since_ms: 0,
                        order_id: Some(actual),
                    };
                    let Ok(VenueReply::ExitFills(f)) = call(&mut v, q, 0) else {
                        panic!("exit fills")
                    };
                    fills.extend(f);
                }
            }
        }
        (Exchange::Binance, Market::Spot) => {
            for id in &exit_ids {
                let q = VenueOp::QueryOrder {
                    symbol: r.symbol.clone(),
                    client_order_id: id.clone(),
                };
                let Ok(VenueReply::Order(o)) = call(&mut v, q, 0) else {
                    panic!("leg {id}")
                };
                if o.executed_qty > Decimal::ZERO {
                    let q = VenueOp::ExitFills {
                        symbol: r.symbol.clone(),
                        since_ms: 0,
                        order_id: Some(o.order_id),
                    };
                    let Ok(VenueReply::ExitFills(f)) = call(&mut v, q, 0) else {
                        panic!("exit fills")
                    };
                    fills.extend(f);
                }
            }
        }
        (Exchange::Bybit, _) => {
            let q = VenueOp::ExitFills {
                symbol: r.symbol.clone(),
                since_ms: 0,
                order_id: None,
            };
            let Ok(VenueReply::ExitFills(f)) = call(&mut v, q, 0) else {
                panic!("exit fills")
            };
            fills.extend(f);
        }
    }
    for f in fills {
        out.push((f.fill.side, f.fill.qty, f.fill.price, f.fill.fee, f.kind));
    }
    out
}

#[test]
fn backtest_and_paper_bot_fill_every_exit_kind_alike() {
    let scenarios: [(&str, Vec<Bar>); 4] = [
        (
            "stop",
            bars(&[FLAT, QUIET, (100.5, 101.0, 97.5, 99.0), QUIET]),
        ),
        ("target", bars(&[FLAT, QUIET, (100.5, 104.0, 99.5, 103.5)])),
        ("gap", bars(&[FLAT, QUIET, (97.0, 104.0, 96.0, 103.0)])),
        ("both", bars(&[FLAT, (100.0, 104.0, 97.0, 103.0), QUIET])),
    ];
    let venues = [
        (Exchange::Binance, Market::Linear, "binance", "linear"),
        (Exchange::Bybit, Market::Linear, "bybit", "linear"),
        (Exchange::Binance, Market::Spot, "binance", "spot"),
        (Exchange::Bybit, Market::Spot, "bybit", "spot"),
    ];
    let mut compared = 0;
    for (ex, m, exs, ms) in venues {
        let cfg = config(exs, ms, Some(distances()));
        let sides: &[(f64, Side)] = match m {
            Market::Linear => &[(1.0, Side::Buy), (-1.0, Side::Sell)],
            Market::Spot => &[(1.0, Side::Buy)],
        };
        for (name, path) in &scenarios {
            for &(exposure, side) in sides {
                let bt = run(&cfg, &mut scripted(&[exposure]), path).unwrap();
                assert!(
                    bt.rejected.is_empty(),
                    "{exs} {ms} {name}: {:?}",
                    bt.rejected
                );
                let paper = paper_bot(ex, m, path, side, dec!(10));
                assert_eq!(seen_of(&bt), paper, "{exs} {ms} {name} {side:?}");
                // Every scenario exits the long but Bybit spot's target (a holding there carries
                // one TP/SL order: the stop); the short is stopped except in the dip of "stop".
                let held = (ex == Exchange::Bybit && m == Market::Spot && *name == "target")
                    || (side == Side::Sell && *name == "stop");
                assert_eq!(
                    bt.exits.len(),
                    usize::from(!held),
                    "{exs} {ms} {name} {side:?}"
                );
                compared += paper.len();
            }
        }
    }
    // 4 scenarios × (2 + 2 + 1 + 1) entries, each with its exit but three.
    assert_eq!(compared, 24 * 2 - 3);
}

#[test]
fn a_spot_oco_target_is_a_maker_limit_filled_at_its_price_even_through_a_gap() {
    let cfg = config("binance", "spot", Some(distances()));
    let report = run(
        &cfg,
        &mut scripted(&[1.0]),
        &bars(&[FLAT, (106.0, 107.0, 105.0, 106.0)]),
    )
    .unwrap();
    // Bought 10 at 100.05, fee 0.01 BNB: 9.99 held; the OCO sells it at the 103.05 limit
    // (maker 0.02 % = 0.02058966 USDT) although the bar opened at 106.
    assert_eq!(
        seen_of(&report),
        vec![
            (Side::Buy, dec!(10), dec!(100.05), dec!(0.010), None),
            (
                Side::Sell,
                dec!(9.99),
                dec!(103.05),
                dec!(0.2058939),
                Some(ExitKind::TakeProfit)
            ),
        ]
    );
}
