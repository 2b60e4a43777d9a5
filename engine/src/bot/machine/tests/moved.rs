//! `on_exits_moved`: a driver that saw the price move through an exit (a backtest's bar, a
//! stream's fill) has the stop-out booked at once, not at the next due tick.

use super::super::harness::*;
use super::super::*;
use crate::model::{Exchange, Market};
use crate::signal::Action;
use crate::venue::ExitKind;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

fn stop_live(h: &Harness) -> bool {
    h.machine
        .book()
        .live_exits()
        .any(|e| e.kind() == ExitKind::StopLoss)
}

#[test]
fn exits_moved_books_the_stop_out_at_once_and_an_idle_tick_would_not() {
    let mut h = Harness::new(venue_patch(Exchange::Binance, Market::Linear), dec!(65000));
    h.signal("s1", Action::Buy, (Some(dec!(60000)), Some(dec!(70000))));
    let held = h.position();
    assert!(held > Decimal::ZERO);
    // A tick books nothing that has not fired; it starts the refresh minute.
    h.tick(60_000);
    h.venue.fire(ExitKind::StopLoss, held, h.clock + 1);
    // Within the minute an idle tick does not look again...
    h.tick(1_000);
    assert_eq!(h.position(), held);
    // ...but a driver that saw the move has it booked now.
    h.machine.on_exits_moved(h.clock);
    h.run();
    assert_eq!(h.position(), dec!(0));
    assert!(!stop_live(&h));
}

#[test]
fn exits_moved_while_a_signal_runs_waits_for_its_turn() {
    let mut h = Harness::new(venue_patch(Exchange::Binance, Market::Linear), dec!(65000));
    h.signal("s1", Action::Buy, (Some(dec!(60000)), Some(dec!(70000))));
    let held = h.position();
    h.venue.fire(ExitKind::StopLoss, held, h.clock + 1);
    h.hold = true;
    h.machine
        .on_signal(signal("s2", Action::Buy, (None, None), h.clock), h.clock);
    h.run();
    assert!(h.machine.is_busy());
    h.machine.on_exits_moved(h.clock);
    h.machine.on_exits_moved(h.clock);
    // One upkeep queued behind the running signal (a second nudge adds none).
    assert_eq!(h.machine.queued(), 1);
    h.hold = false;
    let held_calls = std::mem::take(&mut h.held);
    for (id, op) in held_calls {
        h.clock += h.latency_ms;
        let result = h.venue.answer(&op, h.clock);
        h.machine
            .on_reply(id, Reply::ok_or(result, h.clock))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    h.run();
    assert!(!h.machine.is_busy());
    assert_eq!(h.machine.queued(), 0);
    assert!(h.outcome("s2").is_some());
    // The stop-out was booked after the second entry, in the upkeep's turn.
    assert!(!stop_live(&h), "{:?}", h.records());
}
