//! Whole lives of a bot through the harness: entries booked, partial fills, acknowledgements
//! settled, every exit kind placed per venue, exits cleared before a close, the rejection and
//! loss auto-pauses, flatten, reconciliation and the platform halt.

use super::super::harness::*;
use super::super::*;
use crate::alert::AlertKind;
use crate::audit::{Actor, AuditEvent, ControlAction};
use crate::ledger::LedgerEntry;
use crate::model::{Exchange, Market, Side};
use crate::order::OrderStatus;
use crate::signal::Action;
use crate::venue::{ExitKind, VenueError, VenueOp};
use rust_decimal_macros::dec;
use serde_json::json;

const PROTECTED: (Option<rust_decimal::Decimal>, Option<rust_decimal::Decimal>) =
    (Some(dec!(60000)), Some(dec!(70000)));

fn executed(out: &SignalOutcome) -> (&[Placed], Option<&Cleared>) {
    match out {
        SignalOutcome::Executed {
            orders,
            exits_cleared,
        } => (orders, exits_cleared.as_ref()),
        other => panic!("not executed: {other:?}"),
    }
}

fn rejected(out: &SignalOutcome) -> &crate::bot::Rejection {
    match out {
        SignalOutcome::Rejected(r) => r,
        other => panic!("not rejected: {other:?}"),
    }
}

fn names(h: &Harness) -> Vec<&'static str> {
    h.sent().iter().map(|op| op.name()).collect()
}

#[test]
fn an_entry_is_booked_to_the_ledger_and_answered_after_its_records() {
    let mut h = Harness::new(json!({}), dec!(65000));
    let out = h.signal("s1", Action::Buy, (None, None));
    let (orders, _) = executed(&out);
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].order.status, OrderStatus::Filled);
    assert_eq!(orders[0].order.filled_qty, dec!(0.00153));
    assert_eq!(names(&h), ["instrument_rules", "ticker", "place_order"]);
    assert_eq!(h.position(), dec!(0.00153));
    let records = h.records();
    let fills = records
        .iter()
        .filter(|r| matches!(r, Record::Ledger(e) if matches!(e.as_ref(), LedgerEntry::Fill(_))))
        .count();
    assert_eq!(fills, 1);
    assert!(records.iter().any(|r| matches!(r, Record::Fill { .. })));
    assert!(records.iter().any(|r| matches!(r, Record::Equity { .. })));
    // The outcome is stored in the last batch, right before the answer.
    let n = h.log.len();
    assert!(matches!(
        &h.log[n - 1],
        Logged::Answer(Answer::Signal { .. })
    ));
    assert!(matches!(&h.log[n - 2], Logged::Persist(b)
        if matches!(b.records.last(), Some(Record::SignalOutcome { .. }))));
    // The fill's audit trail: fill, position change, P&L booked.
    let kinds: Vec<&'static str> = h
        .log
        .iter()
        .filter_map(|l| match l {
            Logged::Persist(b) => Some(b.audit.iter().map(|d| d.event.kind())),
            _ => None,
        })
        .flatten()
        .collect();
    for k in [
        "signal_received",
        "signal_accepted",
        "order_intent",
        "fill",
        "position_change",
        "pnl_booked",
    ] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
}

#[test]
fn a_partial_fill_is_booked_and_the_rest_cancelled_by_cancel_all() {
    let mut h = Harness::new(json!({}), dec!(65000));
    h.venue
        .placements
        .push_back(PlaceScript::Partial(dec!(0.001)));
    let out = h.signal("s1", Action::Buy, (None, None));
    let (orders, _) = executed(&out);
    assert_eq!(orders[0].order.status, OrderStatus::PartiallyFilled);
    assert_eq!(h.position(), dec!(0.001));
    let before = h.log.len();
    let out = h.signal("s2", Action::CancelAll, (None, None));
    let SignalOutcome::CancelAll(report) = out else {
        panic!("{out:?}")
    };
    assert_eq!(report.cancels.len(), 1);
    assert!(report.pending.is_empty(), "{report:?}");
    assert_eq!(report.orders.len(), 1);
    assert_eq!(report.orders[0].status, OrderStatus::Cancelled);
    assert_eq!(report.orders[0].filled_qty, dec!(0.001));
    // `cancel_sent` is persisted before the cancel-all leaves.
    let first_send = h.log[before..]
        .iter()
        .position(|l| matches!(l, Logged::Send(_, VenueOp::CancelAll { .. })))
        .map(|p| p + before);
    let cancel_sent = h.log[before..]
        .iter()
        .position(|l| matches!(l, Logged::Persist(b) if b.records.iter().any(|r| matches!(r, Record::Order { order, .. } if order.status == OrderStatus::CancelSent))))
        .map(|p| p + before);
    assert!(cancel_sent < first_send && cancel_sent.is_some());
    assert_eq!(h.position(), dec!(0.001), "nothing booked twice");
    assert_eq!(h.machine.book().open_orders().count(), 0);
}

#[test]
fn an_acknowledgement_is_settled_by_query_and_trades() {
    let mut h = Harness::new(venue_patch(Exchange::Binance, Market::Linear), dec!(65000));
    h.venue.placements.push_back(PlaceScript::AckOnly);
    let out = h.signal("s1", Action::Buy, (None, None));
    let (orders, _) = executed(&out);
    assert_eq!(orders[0].order.status, OrderStatus::Filled);
    assert!(orders[0].order.filled_qty > dec!(0));
    assert_eq!(h.position(), orders[0].order.filled_qty);
    let n = names(&h);
    let place = n.iter().position(|x| *x == "place_order");
    let query = n.iter().position(|x| *x == "query_order");
    let trades = n.iter().position(|x| *x == "trades");
    assert!(place < query && query < trades && place.is_some(), "{n:?}");
}

#[test]
fn binance_futures_places_close_position_triggers_after_the_fill() {
    let mut h = Harness::new(venue_patch(Exchange::Binance, Market::Linear), dec!(65000));
    let out = h.signal("s1", Action::Buy, PROTECTED);
    let (orders, _) = executed(&out);
    let kinds: Vec<ExitKind> = orders[0].exits.iter().map(|e| e.kind()).collect();
    assert_eq!(kinds, [ExitKind::StopLoss, ExitKind::TakeProfit]);
    assert!(orders[0].exits.iter().all(|e| e.state == ExitState::Open
        && e.order_id.is_some()
        && e.close_side() == Side::Sell
        && !e.attached));
    assert_eq!(
        names(&h),
        [
            "instrument_rules",
            "ticker",
            "place_order",
            "place_exit_trigger",
            "place_exit_trigger"
        ]
    );
    assert_eq!(h.machine.book().live_exits().count(), 2);
}

#[test]
fn binance_spot_protects_the_holding_with_an_oco_pair() {
    let mut h = Harness::new(json!({}), dec!(65000));
    let out = h.signal("s1", Action::Buy, PROTECTED);
    let (orders, _) = executed(&out);
    let exits = &orders[0].exits;
    assert_eq!(exits.len(), 2);
    let list = exits[0].oco.clone();
    assert!(
        list.is_some()
            && exits
                .iter()
                .all(|e| e.oco == list && e.state == ExitState::Open)
    );
    let oco = h.sent().into_iter().find_map(|op| match op {
        VenueOp::PlaceOcoExit(o) => Some(o.clone()),
        _ => None,
    });
    // The whole holding (the fee was paid in USDT).
    assert_eq!(oco.map(|o| o.qty), Some(dec!(0.00153)));
}

#[test]
fn bybit_spot_market_buy_gets_one_tpsl_order_for_its_holding() {
    let mut h = Harness::new(venue_patch(Exchange::Bybit, Market::Spot), dec!(65000));
    let out = h.signal("s1", Action::Buy, PROTECTED);
    let (orders, _) = executed(&out);
    let exits = &orders[0].exits;
    assert_eq!(exits.len(), 1);
    assert_eq!(exits[0].kind(), ExitKind::StopLoss);
    assert_eq!(exits[0].trigger.qty, Some(dec!(0.00153)));
    assert!(exits[0]
        .error
        .as_deref()
        .is_some_and(|e| e.contains("take-profit not placed")));
    assert_eq!(names(&h).last(), Some(&"place_exit_trigger"));
}

#[test]
fn bybit_futures_carry_protection_on_the_entry_and_record_it() {
    let mut h = Harness::new(venue_patch(Exchange::Bybit, Market::Linear), dec!(65000));
    let out = h.signal("s1", Action::Buy, PROTECTED);
    let (orders, _) = executed(&out);
    assert!(names(&h).contains(&"place_protected_order"));
    assert!(!names(&h).contains(&"place_exit_trigger"));
    let exits = &orders[0].exits;
    assert_eq!(exits.len(), 2);
    assert!(exits
        .iter()
        .all(|e| e.attached && e.state == ExitState::Open));
}

#[test]
fn a_paper_bot_places_the_exits_a_live_bot_of_its_venue_would() {
    // Paper mirrors live (docs/trading.md): its paper venue holds the same OCO pair.
    let mut paper = Harness::new(json!({"mode": "paper"}), dec!(65000));
    let mut live = Harness::new(json!({}), dec!(65000));
    let (p, l) = (
        paper.signal("s1", Action::Buy, PROTECTED),
        live.signal("s1", Action::Buy, PROTECTED),
    );
    let ((p_orders, _), (l_orders, _)) = (executed(&p), executed(&l));
    assert_eq!(p_orders[0].exits.len(), 2);
    assert_eq!(
        p_orders[0]
            .exits
            .iter()
            .map(|e| (e.kind(), e.state))
            .collect::<Vec<_>>(),
        l_orders[0]
            .exits
            .iter()
            .map(|e| (e.kind(), e.state))
            .collect::<Vec<_>>()
    );
    let exit_ops = |h: &Harness| -> Vec<&'static str> {
        names(h)
            .into_iter()
            .filter(|n| n.contains("oco") || n.contains("exit"))
            .collect()
    };
    assert_eq!(exit_ops(&paper), ["place_oco_exit"]);
    assert_eq!(exit_ops(&paper), exit_ops(&live));
}

#[test]
fn exits_are_cancelled_before_the_close_that_sells_the_holding() {
    let mut h = Harness::new(json!({}), dec!(65000));
    h.signal("s1", Action::Buy, PROTECTED);
    let before = h.sent().len();
    let out = h.signal("s2", Action::Close, (None, None));
    let (orders, cleared) = executed(&out);
    let after: Vec<&str> = names(&h)[before..].to_vec();
    // Rules are cached for an hour: the ticker, the OCO list's cancel, then the sell.
    assert_eq!(after, ["ticker", "cancel_exit", "place_order"]);
    let cleared = cleared.unwrap_or_else(|| panic!("nothing cleared"));
    assert_eq!(cleared.cancelled.len(), 2, "both legs, one call");
    assert_eq!(orders[0].order.request.side, Side::Sell);
    assert_eq!(h.position(), dec!(0));
    assert_eq!(h.machine.book().live_exits().count(), 0);
}

#[test]
fn a_spot_close_is_not_sent_while_an_exit_it_must_sell_cannot_be_cancelled() {
    let mut h = Harness::new(json!({}), dec!(65000));
    h.signal("s1", Action::Buy, PROTECTED);
    h.venue.fail_next(
        "cancel_exit",
        CallFailure::Venue(VenueError::Rejected {
            code: -2011,
            msg: "busy".into(),
        }),
    );
    let out = h.signal("s2", Action::Close, (None, None));
    let r = rejected(&out);
    assert_eq!((r.status, r.code.as_str()), (502, "exits_not_cancelled"));
    assert_eq!(
        names(&h).iter().filter(|n| **n == "place_order").count(),
        1,
        "no sell"
    );
    assert_eq!(h.position(), dec!(0.00153));
}

#[test]
fn a_futures_close_goes_even_when_a_trigger_cancel_fails() {
    let mut h = Harness::new(venue_patch(Exchange::Binance, Market::Linear), dec!(65000));
    h.signal("s1", Action::Buy, PROTECTED);
    h.venue.fail_next(
        "cancel_exit",
        CallFailure::Venue(VenueError::Rejected {
            code: -1,
            msg: "busy".into(),
        }),
    );
    let out = h.signal("s2", Action::Close, (None, None));
    let (orders, cleared) = executed(&out);
    assert_eq!(orders[0].order.status, OrderStatus::Filled);
    let cleared = cleared.unwrap_or_else(|| panic!("nothing cleared"));
    assert_eq!((cleared.failed.len(), cleared.cancelled.len()), (1, 1));
    assert_eq!(h.position(), dec!(0));
}

#[test]
fn a_rejection_storm_pauses_the_bot_on_the_third() {
    let mut h = Harness::new(json!({}), dec!(65000));
    for _ in 0..3 {
        h.venue
            .placements
            .push_back(PlaceScript::Reject(VenueError::InsufficientBalance {
                msg: "Account has insufficient balance".into(),
            }));
    }
    for (i, id) in ["s1", "s2", "s3"].iter().enumerate() {
        let out = h.signal(id, Action::Buy, (None, None));
        assert_eq!(rejected(&out).code, "exchange_rejected");
        assert_eq!(h.machine.book().flags().paused, i == 2, "after {id}");
    }
    let flags = h.machine.book().flags();
    assert_eq!(
        flags.pause_reason.as_deref(),
        Some("auto-paused: 3 consecutive exchange rejections"),
        "named like the loss-limit pause"
    );
    let raised: Vec<AlertKind> = h
        .alerts()
        .iter()
        .filter_map(|a| match a {
            AlertChange::Raise(a) => Some(a.kind),
            AlertChange::Resolve(..) => None,
        })
        .collect();
    assert_eq!(
        raised,
        [
            AlertKind::OrderRejected,
            AlertKind::OrderRejected,
            AlertKind::OrderRejected,
            AlertKind::AutoPaused
        ]
    );
    let paused_audit = h.log.iter().any(|l| matches!(l, Logged::Persist(b) if b.audit.iter().any(|d|
        d.actor == Actor::System && matches!(d.event, AuditEvent::Control { action: ControlAction::Pause, .. }))));
    assert!(paused_audit);
    // Paused: the next entry is refused by the risk engine before any order.
    let places = names(&h).iter().filter(|n| **n == "place_order").count();
    let out = h.signal("s4", Action::Buy, (None, None));
    assert_eq!(rejected(&out).status, 423);
    assert_eq!(
        names(&h).iter().filter(|n| **n == "place_order").count(),
        places
    );
}

#[test]
fn a_fill_resets_the_rejection_count() {
    let mut h = Harness::new(json!({}), dec!(65000));
    for _ in 0..2 {
        h.venue
            .placements
            .push_back(PlaceScript::Reject(VenueError::Filter {
                which: "LOT_SIZE".into(),
                msg: "Filter failure: LOT_SIZE".into(),
            }));
    }
    h.signal("s1", Action::Buy, (None, None));
    h.signal("s2", Action::Buy, (None, None));
    assert_eq!(h.machine.book().flags().consecutive_rejections, 2);
    h.signal("s3", Action::Buy, (None, None));
    assert_eq!(h.machine.book().flags().consecutive_rejections, 0);
    assert!(!h.machine.book().flags().paused);
}

#[test]
fn refused_credentials_count_but_raise_no_order_alert() {
    let mut h = Harness::new(json!({}), dec!(65000));
    h.venue
        .placements
        .push_back(PlaceScript::Reject(VenueError::Auth {
            code: -2015,
            msg: "Invalid API-key".into(),
        }));
    h.signal("s1", Action::Buy, (None, None));
    assert_eq!(h.machine.book().flags().consecutive_rejections, 1);
    assert!(!h
        .alerts()
        .iter()
        .any(|a| matches!(a, AlertChange::Raise(a) if a.kind == AlertKind::OrderRejected)));
}

#[test]
fn a_loss_past_the_daily_limit_pauses_the_bot_after_its_booking() {
    let mut h = Harness::new(json!({"risk": {"max_daily_loss": "5"}}), dec!(65000));
    h.signal("s1", Action::Buy, (None, None));
    h.venue.price = dec!(50000);
    let out = h.signal("s2", Action::Close, (None, None));
    executed(&out);
    let flags = h.machine.book().flags();
    assert!(flags.paused);
    assert!(
        flags
            .pause_reason
            .as_deref()
            .is_some_and(|r| r.starts_with("auto-paused: daily loss")),
        "{flags:?}"
    );
    assert!(h
        .alerts()
        .iter()
        .any(|a| matches!(a, AlertChange::Raise(a) if a.kind == AlertKind::AutoPaused)));
}

#[test]
fn flatten_cancels_then_closes_every_position() {
    let mut h = Harness::new(json!({}), dec!(65000));
    h.signal("s1", Action::Buy, PROTECTED);
    h.machine
        .on_flatten(Actor::Token("ops".into()), Some("test".into()), h.clock);
    h.run();
    let report = h.log.iter().find_map(|l| match l {
        Logged::Answer(Answer::Flatten(r)) => Some(r.as_ref().clone()),
        _ => None,
    });
    let report = report.unwrap_or_else(|| panic!("no flatten answer"));
    assert!(report.flat, "{report:?}");
    assert_eq!(report.instruments.len(), 1);
    assert_eq!(h.position(), dec!(0));
    let n = names(&h);
    let cancel_all = n.iter().position(|x| *x == "cancel_all");
    let cancel_exit = n.iter().position(|x| *x == "cancel_exit");
    let sell = n.iter().rposition(|x| *x == "place_order");
    assert!(
        cancel_all < cancel_exit && cancel_exit < sell && cancel_all.is_some(),
        "{n:?}"
    );
    assert!(h
        .alerts()
        .iter()
        .any(|a| matches!(a, AlertChange::Raise(a) if a.kind == AlertKind::Flattened)));
    let flatten_events = h
        .log
        .iter()
        .filter(|l| {
            matches!(l, Logged::Persist(b) if b.audit.iter().any(|d|
        matches!(d.event, AuditEvent::Control { action: ControlAction::Flatten, .. })))
        })
        .count();
    assert_eq!(flatten_events, 2, "intent and summary");
}

#[test]
fn flatten_reports_an_instrument_it_cannot_close() {
    let mut h = Harness::new(json!({}), dec!(65000));
    h.signal("s1", Action::Buy, (None, None));
    for _ in 0..3 {
        h.venue
            .placements
            .push_back(PlaceScript::Reject(VenueError::Rejected {
                code: -1013,
                msg: "market closed".into(),
            }));
    }
    h.machine.on_flatten(Actor::System, None, h.clock);
    h.run();
    let report = h.log.iter().find_map(|l| match l {
        Logged::Answer(Answer::Flatten(r)) => Some(r.as_ref().clone()),
        _ => None,
    });
    let report = report.unwrap_or_else(|| panic!("no flatten answer"));
    assert!(!report.flat);
    assert_eq!(report.instruments[0].attempts.len(), 3);
    assert!(report.instruments[0]
        .error
        .as_deref()
        .is_some_and(|e| e.contains("market closed")));
    assert!(h.alerts().iter().any(|a| matches!(a, AlertChange::Raise(a)
        if a.kind == AlertKind::OrderRejected && a.message.starts_with("flatten could not close BTCUSDT"))));
}

#[test]
fn a_stale_bot_with_history_reconciles_before_trading_and_paper_never_does() {
    for (mode, expect) in [("testnet", true), ("paper", false)] {
        let mut h = Harness::new(json!({"mode": mode}), dec!(65000));
        h.signal("s1", Action::Buy, (None, None));
        // Older than the staleness limit, and the bot has traded.
        h.clock += execute_stale_ms() + 1;
        h.signal("s2", Action::Close, (None, None));
        let reconciled = h
            .log
            .iter()
            .any(|l| matches!(l, Logged::Consult(Need::Reconcile)));
        assert_eq!(reconciled, expect, "{mode}");
    }
}

fn execute_stale_ms() -> i64 {
    super::super::execute::RECONCILE_STALE_AFTER_MS
}

#[test]
fn a_platform_halt_learnt_in_the_turn_refuses_entries() {
    let mut h = Harness::new(json!({}), dec!(65000));
    h.halted = true;
    let out = h.signal("s1", Action::Buy, (None, None));
    assert_eq!(rejected(&out).status, 423);
    assert!(!names(&h).contains(&"place_order"));
    // The stored flag is the push's: the consultation does not write it.
    assert!(!h.machine.book().flags().halted);
}

#[test]
fn a_signal_without_symbol_and_a_failed_market_read_are_refused() {
    let mut h = Harness::new(json!({}), dec!(65000));
    h.machine.on_signal(
        signal_on("s1", Action::Buy, None, (None, None), h.clock),
        h.clock,
    );
    h.run();
    assert_eq!(
        h.outcome("s1")
            .map(|o| rejected(&o).code.clone())
            .as_deref(),
        Some("missing_symbol")
    );
    h.venue.fail_next(
        "ticker",
        CallFailure::Venue(VenueError::Unavailable {
            status: 502,
            msg: "bad gateway".into(),
        }),
    );
    let out = h.signal("s2", Action::Buy, (None, None));
    assert_eq!(rejected(&out).code, "exchange_unavailable");
}

#[test]
fn a_third_asset_fee_in_the_answer_is_valued_at_the_ticker_read_now() {
    let mut h = Harness::new(json!({}), dec!(65000));
    h.venue.fee_asset = Some(("BNB".into(), dec!(600)));
    h.signal("s1", Action::Buy, (None, None));
    let bnb = crate::ids::Symbol::new("BNBUSDT").unwrap_or_else(|e| panic!("{e}"));
    let after_place: Vec<&VenueOp> = h
        .sent()
        .into_iter()
        .skip_while(|op| op.name() != "place_order")
        .collect();
    assert!(
        matches!(after_place.get(1), Some(VenueOp::Ticker { symbol }) if *symbol == bnb),
        "{after_place:?}"
    );
    let booked = h.records().into_iter().find_map(|r| match r {
        Record::Fill { booked, .. } => Some(booked.as_ref().clone()),
        _ => None,
    });
    let booked = booked.unwrap_or_else(|| panic!("no fill"));
    assert_eq!(booked.fee_asset_price, Some(dec!(600)));
    assert!(matches!(
        booked.fee_source,
        Some(crate::ledger::FeeSource::Ticker { .. })
    ));
    assert!(booked.fee_quote > dec!(0));
}

#[test]
fn a_third_asset_fee_learnt_late_is_valued_at_its_minute_candle() {
    let mut h = Harness::new(venue_patch(Exchange::Binance, Market::Linear), dec!(65000));
    h.signal("s1", Action::Buy, PROTECTED);
    h.venue.fee_asset = Some(("BNB".into(), dec!(600)));
    let held = h.position();
    h.venue.fire(ExitKind::StopLoss, held, h.clock + 1_000);
    h.tick(60_000);
    assert!(h.sent().iter().any(|op| op.name() == "klines"));
    let stop = h.records().into_iter().rev().find_map(|r| match r {
        Record::Fill { booked, .. } => Some(booked.as_ref().clone()),
        _ => None,
    });
    let stop = stop.unwrap_or_else(|| panic!("no stop-out fill"));
    assert_eq!(stop.fill.fee_asset, "BNB");
    assert!(matches!(
        stop.fee_source,
        Some(crate::ledger::FeeSource::Kline { .. })
    ));
    assert_eq!(h.position(), dec!(0));
}

#[test]
fn every_reply_trail_is_committed_with_its_signal_and_order() {
    let mut h = Harness::new(json!({}), dec!(65000));
    h.trail = true;
    let out = h.signal("s1", Action::Buy, (None, None));
    let (orders, _) = executed(&out);
    let coid = orders[0].order.request.client_order_id.clone();
    let responses: Vec<&crate::audit::AuditDraft> = h
        .log
        .iter()
        .filter_map(|l| match l {
            Logged::Persist(b) => Some(b.audit.iter()),
            _ => None,
        })
        .flatten()
        .filter(|d| d.event.kind() == "exchange_response")
        .collect();
    // One per call: rules, ticker, placement.
    assert_eq!(responses.len(), h.sent().len());
    assert!(responses
        .iter()
        .all(|d| d.signal_id.as_ref().map(|s| s.as_str()) == Some("s1")));
    assert!(responses
        .last()
        .is_some_and(|d| d.client_order_id.as_ref() == Some(&coid)));
}

#[test]
fn marks_booked_from_the_tick_join_the_ledger_and_can_pause_the_bot() {
    let mut h = Harness::new(json!({"risk": {"max_daily_loss": "5"}}), dec!(65000));
    h.signal("s1", Action::Buy, (None, None));
    let mark = |price, t| {
        LedgerEntry::Mark(crate::ledger::MarkPrice {
            symbol: btc(),
            price,
            time_ms: t,
        })
    };
    let refused = h
        .machine
        .on_ledger_entries(vec![mark(dec!(64000), h.clock + 1)], h.clock + 1);
    assert!(refused.is_empty());
    h.run();
    assert!(
        !h.machine.book().flags().paused,
        "a 1.53 USDT loss is within the limit"
    );
    h.machine
        .on_ledger_entries(vec![mark(dec!(50000), h.clock + 2)], h.clock + 2);
    h.run();
    let flags = h.machine.book().flags();
    assert!(flags.paused, "{flags:?}");
    let marks = h
        .records()
        .into_iter()
        .filter(|r| matches!(r, Record::Ledger(e) if matches!(e.as_ref(), LedgerEntry::Mark(_))))
        .count();
    assert_eq!(marks, 2);
}
