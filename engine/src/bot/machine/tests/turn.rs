//! A signal claimed by one machine and executed by another (the Durable Object's per-request
//! machines): the claim is persisted once, a whitelist refusal is answered at once, and the
//! execution on the second machine claims nothing again.

use crate::bot::machine::harness::*;
use crate::bot::machine::*;
use crate::ids::Symbol;
use crate::signal::Action;
use rust_decimal_macros::dec;
use serde_json::json;

fn claims(h: &Harness) -> usize {
    h.records()
        .iter()
        .filter(|r| matches!(r, Record::SignalClaimed { .. }))
        .count()
}

#[test]
fn a_signal_claimed_before_its_turn_is_claimed_once_and_executed() {
    let mut h = Harness::new(json!({}), dec!(65000));
    let input = signal("s1", Action::Buy, (None, None), h.clock);
    assert!(h.machine.claim_signal(&input, h.clock));
    h.run();
    // Only the claim is persisted: nothing is sent before the turn.
    assert_eq!(claims(&h), 1);
    assert!(h.sent().is_empty(), "{:?}", h.sent());
    assert!(!h.machine.is_busy());
    h.machine.on_claimed_signal(input, h.clock);
    h.run();
    assert_eq!(claims(&h), 1, "claimed again in its turn");
    assert!(
        matches!(h.outcome("s1"), Some(SignalOutcome::Executed { ref orders, .. }) if orders.len() == 1 && orders[0].failed.is_none()),
        "{:?}",
        h.outcome("s1")
    );
    assert!(h.position() > dec!(0));
}

#[test]
fn a_symbol_outside_the_whitelist_is_refused_by_the_claim() {
    let mut h = Harness::new(json!({}), dec!(65000));
    let eth = Symbol::new("ETHUSDT").unwrap_or_else(|e| panic!("{e}"));
    let input = signal_on("s1", Action::Buy, Some(eth), (None, None), h.clock);
    assert!(!h.machine.claim_signal(&input, h.clock));
    h.run();
    assert_eq!(claims(&h), 1);
    assert!(h.sent().is_empty());
    assert!(
        matches!(h.outcome("s1"), Some(SignalOutcome::Rejected(ref r)) if r.status == 422),
        "{:?}",
        h.outcome("s1")
    );
}
