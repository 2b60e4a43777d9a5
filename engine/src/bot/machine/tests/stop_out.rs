//! A fired exit's stop-out booked, one test per exit kind: Binance USDⓈ-M trigger, Binance spot
//! OCO leg, Bybit TP/SL attached to a linear entry, Bybit spot TP/SL order.

use super::super::harness::*;
use super::super::*;
use crate::model::{Exchange, Market};
use crate::signal::Action;
use crate::venue::ExitKind;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

const PROTECTED: (Option<Decimal>, Option<Decimal>) = (Some(dec!(60000)), Some(dec!(70000)));

fn exit_states(h: &Harness) -> Vec<(ExitKind, ExitState)> {
    let mut last: Vec<(crate::ids::ClientOrderId, ExitKind, ExitState)> = Vec::new();
    for r in h.records() {
        if let Record::Exit(e) = r {
            last.retain(|(id, _, _)| id != e.id());
            last.push((e.id().clone(), e.kind(), e.state));
        }
    }
    let mut v: Vec<(ExitKind, ExitState)> = last.into_iter().map(|(_, k, s)| (k, s)).collect();
    v.sort_by_key(|(k, _)| *k == ExitKind::TakeProfit);
    v
}

fn realized_loss_booked(h: &Harness) -> bool {
    h.log.iter().any(|l| matches!(l, Logged::Persist(b) if b.audit.iter().any(|d|
        matches!(&d.event, crate::audit::AuditEvent::PnlBooked { realized, .. } if *realized < Decimal::ZERO))))
}

fn stop_out(exchange: Exchange, market: Market) -> Harness {
    let mut h = Harness::new(venue_patch(exchange, market), dec!(65000));
    h.signal("s1", Action::Buy, PROTECTED);
    let held = h.position();
    assert!(held > Decimal::ZERO);
    h.venue.fire(ExitKind::StopLoss, held, h.clock + 1_000);
    h.tick(60_000);
    h
}

#[test]
fn a_binance_futures_stop_out_is_booked() {
    let h = stop_out(Exchange::Binance, Market::Linear);
    assert_eq!(h.position(), dec!(0));
    assert!(realized_loss_booked(&h));
    assert_eq!(exit_states(&h)[0], (ExitKind::StopLoss, ExitState::Filled));
    let sent: Vec<&str> = h.sent().iter().map(|op| op.name()).collect();
    assert!(
        sent.contains(&"query_exit_trigger") && sent.contains(&"exit_fills"),
        "{sent:?}"
    );
}

#[test]
fn a_binance_spot_oco_stop_out_is_booked_and_its_other_leg_closed() {
    let h = stop_out(Exchange::Binance, Market::Spot);
    assert_eq!(h.position(), dec!(0));
    assert!(realized_loss_booked(&h));
    assert_eq!(
        exit_states(&h),
        [
            (ExitKind::StopLoss, ExitState::Filled),
            (ExitKind::TakeProfit, ExitState::Cancelled)
        ]
    );
    assert_eq!(h.machine.book().live_exits().count(), 0);
}

#[test]
fn a_bybit_futures_attached_stop_out_is_claimed_and_its_sibling_closed() {
    let h = stop_out(Exchange::Bybit, Market::Linear);
    assert_eq!(h.position(), dec!(0));
    assert!(realized_loss_booked(&h));
    assert_eq!(
        exit_states(&h),
        [
            (ExitKind::StopLoss, ExitState::Filled),
            (ExitKind::TakeProfit, ExitState::Cancelled)
        ]
    );
}

#[test]
fn a_bybit_spot_tpsl_stop_out_is_booked() {
    let h = stop_out(Exchange::Bybit, Market::Spot);
    assert_eq!(h.position(), dec!(0));
    assert!(realized_loss_booked(&h));
    assert_eq!(exit_states(&h), [(ExitKind::StopLoss, ExitState::Filled)]);
}

#[test]
fn an_idle_tick_looks_at_exits_at_most_once_a_minute_paper_included() {
    let mut h = Harness::new(venue_patch(Exchange::Binance, Market::Linear), dec!(65000));
    h.signal("s1", Action::Buy, PROTECTED);
    h.tick(60_000);
    let asked = |h: &Harness| {
        h.sent()
            .iter()
            .filter(|op| op.name() == "query_exit_trigger")
            .count()
    };
    assert_eq!(asked(&h), 2);
    h.tick(1_000);
    assert_eq!(asked(&h), 2, "not again within the minute");
    h.tick(60_000);
    assert_eq!(asked(&h), 4);
    // A paper bot's exits rest on its paper venue and are looked at the same way.
    let mut patch = venue_patch(Exchange::Binance, Market::Linear);
    patch["mode"] = serde_json::json!("paper");
    let mut p = Harness::new(patch, dec!(65000));
    p.signal("s1", Action::Buy, PROTECTED);
    p.tick(60_000);
    assert_eq!(asked(&p), 2);
    p.tick(1_000);
    assert_eq!(asked(&p), 2, "not again within the minute");
}
