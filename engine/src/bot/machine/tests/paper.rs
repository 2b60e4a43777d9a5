//! The machine driving the engine's real paper venue (no script): public market data answered
//! by the driver, everything else by `PaperVenue::build`, as the DO's link routes it today.

use super::super::harness::*;
use super::super::*;
use crate::model::{Exchange, Market};
use crate::order::OrderStatus;
use crate::signal::Action;
use crate::venue::paper::{PaperConfig, PaperVenue};
use crate::venue::{BuildCtx, Planned, ServerClock, Ticker, Venue, VenueOp, VenueReply};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::json;

/// Runs the machine against `paper` at `price` until it waits for an input.
fn drive(m: &mut Machine, paper: &mut PaperVenue, price: Decimal, now: &mut i64) -> Vec<Answer> {
    let clock = ServerClock::new();
    let mut answers = Vec::new();
    while let Some(effect) = m.poll() {
        match effect {
            Effect::Persist(_) | Effect::Wait { .. } => {}
            Effect::Answer(a) => answers.push(a),
            Effect::Consult { call_id, .. } => m
                .on_consulted(call_id, Consulted::Platform { halted: false })
                .unwrap_or_else(|e| panic!("{e}")),
            Effect::Send { call_id, op } => {
                *now += 5;
                let result = match &op {
                    VenueOp::InstrumentRules { .. } => Ok(VenueReply::Rules(vec![rules()])),
                    VenueOp::Ticker { symbol } => {
                        // What the DO's `prime_paper` does after reading the market.
                        paper.set_rules(rules());
                        let _ = paper.set_price(symbol, price, *now);
                        Ok(VenueReply::Ticker(Ticker {
                            symbol: symbol.clone(),
                            price,
                            mark_price: None,
                        }))
                    }
                    other => {
                        let ctx = BuildCtx {
                            creds: None,
                            clock: &clock,
                            now_ms: *now,
                            base_url: "paper",
                        };
                        match paper.build(other, &ctx) {
                            Ok(Planned::Immediate(reply)) => Ok(reply),
                            Ok(Planned::Http(_)) => {
                                Err(CallFailure::Internal("paper asked for I/O".into()))
                            }
                            Err(e) => Err(CallFailure::Venue(e)),
                        }
                    }
                };
                m.on_reply(call_id, Reply::ok_or(result, *now))
                    .unwrap_or_else(|e| panic!("{e}"));
            }
        }
    }
    answers
}

#[test]
fn the_machine_trades_on_the_paper_venue_and_books_its_fills() {
    let config = config(json!({"mode": "paper"}));
    // The harness builds the stored state (a ledger with 10 000 USDT); the paper venue trades.
    let h = Harness::new(json!({"mode": "paper"}), dec!(65000));
    let mut m = Machine::new(config, snapshot_of(&h), T0);
    let mut paper = PaperVenue::new(PaperConfig {
        exchange: Exchange::Binance,
        market: Market::Spot,
        taker_fee_rate: dec!(0.001),
        maker_fee_rate: dec!(0.001),
        slippage_bps: dec!(5),
    });
    paper.deposit("USDT", dec!(10000));
    let mut now = T0;
    m.on_signal(
        signal("p1", Action::Buy, (Some(dec!(60000)), None), now),
        now,
    );
    let answers = drive(&mut m, &mut paper, dec!(65000), &mut now);
    let Some(Answer::Signal { outcome, .. }) = answers.first() else {
        panic!("{answers:?}")
    };
    let SignalOutcome::Executed { orders, .. } = outcome.as_ref() else {
        panic!("{outcome:?}")
    };
    assert_eq!(orders[0].order.status, OrderStatus::Filled);
    // A stop-loss alone gets no exit on Binance spot, live or paper (an OCO needs both legs).
    assert!(orders[0].exits.is_empty(), "{:?}", orders[0].exits);
    let held = m
        .book()
        .ledger()
        .position(&btc())
        .map(|p| p.qty)
        .unwrap_or_default();
    // Paper spot fees are charged in the base asset, as Binance's are: the holding is net.
    let base_fee = orders[0].order.fees.get("BTC").copied().unwrap_or_default();
    assert!(base_fee > Decimal::ZERO);
    assert_eq!(held, orders[0].order.filled_qty - base_fee);
    assert!(held > Decimal::ZERO);
    // Slippage: the paper fill is worse than the ticker.
    assert!(orders[0].order.avg_fill_price() > Some(dec!(65000)));
    m.on_signal(signal("p2", Action::Close, (None, None), now), now);
    drive(&mut m, &mut paper, dec!(66000), &mut now);
    let left = m
        .book()
        .ledger()
        .position(&btc())
        .map(|p| p.qty)
        .unwrap_or_default();
    // The close sold what the step allows; dust below one step is left.
    assert!(left >= Decimal::ZERO && left < rules().step_size, "{left}");
}

fn snapshot_of(h: &Harness) -> Snapshot {
    Snapshot {
        ledger: h.machine.book().ledger().clone(),
        flags: Flags::default(),
        open_orders: Vec::new(),
        live_exits: Vec::new(),
        traded_symbols: Default::default(),
        last_trade_ms: Default::default(),
        trades_today: 0,
        last_reconcile_ms: Some(T0),
    }
}
