//! The backtester drives the bot machine (issue 18): a backtest of a bot with exits and a paper
//! bot whose machine trades on its own paper venue (the live strategy bot's target signal,
//! market facts fetched by the machine, the exits found by its periodic refresh on the tick)
//! fill alike; the one-cancels-the-other leg ends with its sibling; a rejection storm pauses a
//! backtested bot as it pauses a live one.

use super::driven::Driven;
use super::engine::{run_with, RunOptions};
use super::exit_tests::{
    bars, config, distances, rules, scripted, seen_of, Seen, FLAT, MAKER, QUIET, SLIP, TAKER,
};
use super::*;
use crate::audit::Actor;
use crate::bot::machine::{
    Answer, Consulted, Effect, ExitState, FactsInput, Machine, Need, Record, Reply, SignalInput,
    SignalOutcome, Snapshot,
};
use crate::ids::SignalId;
use crate::ledger::{Ledger, LedgerConfig, LedgerEntry, PnlMethod, Transfer};
use crate::market::Bar;
use crate::model::{Exchange, Market, Side};
use crate::strategy::live::target_signal;
use crate::venue::clock::ServerClock;
use crate::venue::op::ExitKind;
use crate::venue::paper::exits::BarPrices;
use crate::venue::paper::{slipped_price, PaperConfig, PaperVenue};
use crate::venue::{protect, BuildCtx, CallFailure, Planned, Venue};
use rust_decimal::prelude::FromPrimitive;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use std::collections::BTreeMap;

fn refusing(n: u32) -> RunOptions {
    RunOptions {
        refuse_places: n,
        machine: false,
    }
}

fn capital(market: Market) -> Ledger {
    let mut ledger = Ledger::new(LedgerConfig {
        bot_id: crate::ids::BotId::new("exits").unwrap(),
        quote_asset: "USDT".into(),
        market,
        method: PnlMethod::AverageCost,
    });
    ledger
        .book(&LedgerEntry::Transfer(Transfer {
            id: "backtest-capital".into(),
            amount: dec!(10000),
            time_ms: 0,
        }))
        .unwrap();
    ledger
}

fn venue(exchange: Exchange, market: Market) -> PaperVenue {
    let mut v = PaperVenue::new(PaperConfig {
        exchange,
        market,
        taker_fee_rate: TAKER,
        maker_fee_rate: MAKER,
        slippage_bps: SLIP,
    });
    v.set_rules(rules());
    v.deposit("USDT", dec!(10000));
    v
}

/// A paper bot: its machine, its paper venue, and what its batches committed.
struct PaperBot {
    m: Machine,
    v: PaperVenue,
    clock: ServerClock,
    exits: BTreeMap<String, ExitKind>,
    seen: Vec<Seen>,
    exit_rows: Vec<(ExitKind, ExitState)>,
}

impl PaperBot {
    /// Performs the machine's effects as the Durable Object does for a paper bot: every venue
    /// call (rules and ticker included) answered by the paper venue, nothing halted.
    fn drive(&mut self, now: i64) {
        while let Some(effect) = self.m.poll() {
            match effect {
                Effect::Persist(batch) => {
                    for r in &batch.records {
                        if let Record::Exit(e) = r {
                            self.exit_rows.push((e.kind(), e.state));
                            if matches!(e.state, ExitState::Filled | ExitState::Fired) {
                                self.exits.insert(e.id().to_string(), e.kind());
                            }
                        }
                    }
                    for r in batch.records {
                        if let Record::Fill { booked, .. } = r {
                            let f = booked.fill;
                            let reason = f
                                .client_order_id
                                .as_ref()
                                .and_then(|c| self.exits.get(c.as_str()).copied());
                            self.seen.push((f.side, f.qty, f.price, f.fee, reason));
                        }
                    }
                }
                Effect::Send { call_id, op } => {
                    let ctx = BuildCtx {
                        creds: None,
                        clock: &self.clock,
                        now_ms: now,
                        base_url: "paper",
                    };
                    let result = match self.v.build(&op, &ctx) {
                        Ok(Planned::Immediate(reply)) => Ok(reply),
                        Ok(Planned::Http(_)) => panic!("paper asked for I/O"),
                        Err(e) => Err(CallFailure::Venue(e)),
                    };
                    self.m.on_reply(call_id, Reply::ok_or(result, now)).unwrap();
                }
                Effect::Consult { call_id, need } => {
                    assert_eq!(need, Need::PlatformHalt, "a paper bot never reconciles");
                    self.m
                        .on_consulted(call_id, Consulted::Platform { halted: false })
                        .unwrap();
                }
                Effect::Wait { until_ms } => self.m.on_tick(until_ms),
                Effect::Answer(Answer::Signal { outcome, .. }) => {
                    assert!(
                        matches!(*outcome, SignalOutcome::Executed { .. }),
                        "{outcome:?}"
                    );
                }
                Effect::Answer(_) => {}
            }
        }
    }
}

/// A paper bot of `exchange`/`market` trading `path`: on bar 0's close the live strategy bot's
/// target signal for `target` with the exits at the configured distances from its expected fill;
/// each later bar reaches its venue and the machine's tick (a minute apart) refreshes its exits.
fn paper_bot(exs: &str, ms: &str, path: &[Bar], target: Decimal) -> PaperBot {
    let cfg = config(exs, ms, Some(distances()));
    let r = rules();
    let (exchange, market) = (cfg.bot.exchange, cfg.bot.market);
    let snapshot = Snapshot::fresh(capital(market), 0);
    let mut bot = PaperBot {
        m: Machine::new(cfg.bot.clone(), snapshot, 0),
        v: venue(exchange, market),
        clock: ServerClock::new(),
        exits: BTreeMap::new(),
        seen: Vec::new(),
        exit_rows: Vec::new(),
    };
    let d = |x: f64| Decimal::from_f64(x).unwrap();
    let t0 = path[0].open_time_ms + 60_000;
    let close = d(path[0].close);
    bot.v.set_price(&r.symbol, close, t0);
    let side = if target > Decimal::ZERO {
        Side::Buy
    } else {
        Side::Sell
    };
    let expected = slipped_price(close, side, SLIP, r.tick_size);
    let protection = protect::for_target(
        Decimal::ZERO,
        target,
        expected,
        Some(dec!(2)),
        Some(dec!(3)),
        r.tick_size,
    );
    let mut parsed = target_signal(SignalId::new("s1").unwrap(), &r.symbol, target, close, t0);
    parsed.signal.stop_loss = protection.stop_loss;
    parsed.signal.take_profit = protection.take_profit;
    bot.m.on_signal(
        SignalInput {
            parsed,
            received_ms: t0,
            actor: Actor::System,
            source: "strategy:scripted".into(),
            facts: FactsInput::Fetch { cached_rules: None },
        },
        t0,
    );
    bot.drive(t0);
    for b in &path[1..] {
        let t = b.open_time_ms + 60_000;
        let prices = BarPrices {
            open: d(b.open),
            high: d(b.high),
            low: d(b.low),
            close: d(b.close),
        };
        bot.v.observe_bar(&r.symbol, prices, t);
        bot.m.on_tick(t);
        bot.drive(t);
    }
    bot
}

#[test]
fn a_backtest_and_a_machine_driven_paper_bot_fill_every_exit_kind_alike() {
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
        ("binance", "linear"),
        ("bybit", "linear"),
        ("binance", "spot"),
        ("bybit", "spot"),
    ];
    let mut exits = 0;
    for (exs, ms) in venues {
        let cfg = config(exs, ms, Some(distances()));
        let exposures: &[f64] = match cfg.bot.market {
            Market::Linear => &[1.0, -1.0],
            Market::Spot => &[1.0],
        };
        for (name, path) in &scenarios {
            for &exposure in exposures {
                let bt = run(&cfg, &mut scripted(&[exposure]), path).unwrap();
                assert!(
                    bt.rejected.is_empty(),
                    "{exs} {ms} {name}: {:?}",
                    bt.rejected
                );
                let target = Decimal::from_f64(exposure * 10.0).unwrap();
                let paper = paper_bot(exs, ms, path, target);
                assert_eq!(seen_of(&bt), paper.seen, "{exs} {ms} {name} {exposure}");
                assert_eq!(
                    bt.exits.len(),
                    paper.seen.iter().filter(|s| s.4.is_some()).count()
                );
                exits += bt.exits.len();
            }
        }
    }
    // 4 scenarios × 6 entries, each stopped or taken but three (Bybit spot's target: one
    // TP/SL order per holding, the stop; the short in the dip of "stop"; ...).
    assert_eq!(exits, 24 - 3);
}

#[test]
fn a_spot_stop_out_cancels_the_other_oco_leg_at_the_venue_and_in_the_machine() {
    let mut bot = paper_bot(
        "binance",
        "spot",
        &bars(&[
            FLAT,
            QUIET,
            (100.5, 101.0, 97.5, 99.0),
            (99.0, 110.0, 99.0, 109.0),
        ]),
        dec!(10),
    );
    // Both legs recorded open, then the stop filled and the target leg ended cancelled.
    let last = |k: ExitKind| {
        bot.exit_rows
            .iter()
            .rev()
            .find(|(kind, _)| *kind == k)
            .map(|(_, s)| *s)
    };
    assert_eq!(last(ExitKind::StopLoss), Some(ExitState::Filled));
    assert_eq!(last(ExitKind::TakeProfit), Some(ExitState::Cancelled));
    assert_eq!(bot.m.book().live_exits().count(), 0);
    assert!(bot.v.working_exits(&rules().symbol).is_empty());
    // The rally through the target afterwards sells nothing more.
    assert_eq!(bot.seen.len(), 2, "{:?}", bot.seen);
    assert_eq!(bot.seen[1].4, Some(ExitKind::StopLoss));
    bot.m.on_tick(10 * 60_000);
    bot.drive(10 * 60_000);
    assert_eq!(bot.seen.len(), 2);
}

#[test]
fn the_backtest_books_what_the_machine_books_and_the_oco_sibling_ends_in_both() {
    let cfg = config("binance", "spot", Some(distances()));
    let path = bars(&[
        FLAT,
        QUIET,
        (100.5, 101.0, 97.5, 99.0),
        (99.0, 110.0, 99.0, 109.0),
    ]);
    let bt = run(&cfg, &mut scripted(&[1.0]), &path).unwrap();
    // Bought, stopped out; the take-profit leg went with the stop (the rally fills nothing);
    // the strategy's unchanged target does not buy again.
    assert_eq!(bt.fills.len(), 2, "{:?}", bt.fills);
    assert_eq!(bt.exits.len(), 1);
    assert_eq!(bt.exits[0].reason, ExitKind::StopLoss);
    // The report's ledger is the machine's: the stop-out's loss is in the final equity.
    assert!(bt.final_equity < dec!(10000) - dec!(19));
    assert_eq!(bt.pnl.net, bt.final_equity - dec!(10000));
}

#[test]
fn a_rejection_storm_pauses_the_backtested_bot() {
    let cfg = config("binance", "linear", Some(distances()));
    let path = bars(&[FLAT; 8]);
    // The venue refuses the first three placements; the bot pauses itself at the third, so the
    // strategy's later retries are refused by the risk rule, not the venue, and never trade.
    let report = run_with(&cfg, &mut scripted(&[1.0]), &path, refusing(3)).unwrap();
    let codes: Vec<&str> = report.rejected.iter().map(|r| r.code.as_str()).collect();
    assert!(codes.len() >= 5, "{codes:?}");
    assert!(
        codes[..3]
            .iter()
            .all(|c| *c != "risk_bot_paused" && *c == codes[0]),
        "{codes:?}"
    );
    assert!(
        codes[3..].iter().all(|c| *c == "risk_bot_paused"),
        "{codes:?}"
    );
    assert!(report.fills.is_empty(), "{:?}", report.fills);
    // Two refusals leave it trading: the retry on the next bar fills.
    let report = run_with(&cfg, &mut scripted(&[1.0]), &path, refusing(2)).unwrap();
    assert_eq!(report.rejected.len(), 2, "{:?}", report.rejected);
    assert_eq!(report.fills.len(), 1);
}

#[test]
fn the_driver_answers_the_machine_with_the_paper_venue_and_reports_the_pause() {
    let cfg = config("binance", "linear", Some(distances()));
    let mut v = venue(Exchange::Binance, Market::Linear);
    let mut d = Driven::new(&cfg.bot, "scripted", capital(Market::Linear), 0);
    d.refuse_places = 3;
    let r = rules();
    v.set_price(&r.symbol, dec!(100), 60_000);
    for i in 0..3 {
        let parsed = target_signal(
            SignalId::new(format!("s{i}")).unwrap(),
            &r.symbol,
            dec!(10),
            dec!(100),
            60_000,
        );
        let facts = crate::bot::MarketFacts {
            price: dec!(100),
            rules: r.clone(),
            free_base: None,
        };
        let c = d.signal(&mut v, parsed, facts, 60_000).unwrap();
        assert_eq!(c.refused.len(), 1);
        assert_eq!(d.flags().paused, i == 2);
    }
    assert_eq!(d.flags().consecutive_rejections, 3);
}

fn ma(short: f64) -> crate::strategy::MaCrossover {
    let p = BTreeMap::from([
        ("fast".to_string(), 10.0),
        ("slow".to_string(), 30.0),
        ("short".to_string(), short),
    ]);
    crate::strategy::MaCrossover::from_params(&p).unwrap()
}

#[test]
fn without_exits_the_machine_trades_the_golden_backtests_exactly_as_the_direct_path() {
    use super::golden_tests::config as golden;
    let bars =
        crate::market::load_csv(include_str!("../../test_data/factors/ohlcv.csv").as_bytes())
            .unwrap();
    let machine = RunOptions {
        refuse_places: 0,
        machine: true,
    };
    let cases = [
        ("linear", serde_json::json!({}), 1.0),
        (
            "linear",
            serde_json::json!({"max_order_notional": "1000"}),
            1.0,
        ),
        ("spot", serde_json::json!({}), 0.0),
    ];
    for (market, risk, short) in cases {
        let cfg = golden(market, risk.clone());
        let direct = run(&cfg, &mut ma(short), &bars).unwrap();
        let driven = run_with(&cfg, &mut ma(short), &bars, machine).unwrap();
        assert!(
            !direct.fills.is_empty() || !direct.rejected.is_empty(),
            "{market} {risk}: the case trades or is refused"
        );
        assert_eq!(driven.fills, direct.fills, "{market} {risk}");
        assert_eq!(driven.final_equity, direct.final_equity, "{market} {risk}");
        assert_eq!(driven.equity_curve, direct.equity_curve, "{market} {risk}");
        assert_eq!(driven.rejected, direct.rejected, "{market} {risk}");
        assert_eq!(
            serde_json::to_value(&driven.pnl).unwrap(),
            serde_json::to_value(&direct.pnl).unwrap(),
            "{market} {risk}"
        );
        assert_eq!(
            serde_json::to_value(&driven.metrics).unwrap(),
            serde_json::to_value(&direct.metrics).unwrap(),
            "{market} {risk}"
        );
    }
}
