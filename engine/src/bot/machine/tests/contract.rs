//! The machine's contract, one test per point (module doc of `machine`).

use super::super::harness::*;
use super::super::*;
use crate::model::Market;
use crate::order::OrderStatus;
use crate::signal::Action;
use crate::venue::{VenueError, VenueOp, VenueReply};
use rust_decimal_macros::dec;
use serde_json::json;

fn placement_coid(op: &VenueOp) -> Option<&crate::ids::ClientOrderId> {
    match op {
        VenueOp::PlaceOrder(r) | VenueOp::PlaceProtectedOrder { order: r, .. } => {
            Some(&r.client_order_id)
        }
        _ => None,
    }
}

#[test]
fn an_intent_is_persisted_before_its_send() {
    let mut h = Harness::new(json!({}), dec!(65000));
    h.venue.placements.push_back(PlaceScript::AckOnly);
    h.signal("s1", Action::Buy, (None, None));
    h.signal("s2", Action::Close, (None, None));
    let mut checked = 0;
    for (i, l) in h.log.iter().enumerate() {
        let Logged::Send(_, op) = l else { continue };
        let Some(coid) = placement_coid(op) else {
            continue;
        };
        // The effect right before the placement is the batch holding its intent.
        let Some(Logged::Persist(batch)) = i.checked_sub(1).and_then(|p| h.log.get(p)) else {
            panic!(
                "placement {coid} not preceded by a persist: {:?}",
                h.log.get(i - 1)
            );
        };
        let intent = batch.records.iter().any(|r| {
            matches!(r, Record::Order { order, .. }
                if &order.request.client_order_id == coid && order.status == OrderStatus::Sent)
        });
        let audited = batch.audit.iter().any(|d| {
            matches!(d.event, crate::audit::AuditEvent::OrderIntent { .. })
                && d.client_order_id.as_ref() == Some(coid)
        });
        assert!(intent && audited, "intent of {coid} not in {batch:?}");
        checked += 1;
    }
    assert_eq!(checked, 2, "an entry and a close were placed");
}

#[test]
fn no_batch_spans_a_wait_or_a_send() {
    // Settling an acknowledgement waits between queries; resolving a lost answer waits for
    // the receive window: both paths stage records around their waits.
    let mut h = Harness::new(
        venue_patch(crate::model::Exchange::Binance, Market::Linear),
        dec!(65000),
    );
    h.venue.placements.push_back(PlaceScript::AckOnly);
    h.venue.placements.push_back(PlaceScript::LostNeverPlaced);
    h.signal("s1", Action::Buy, (None, None));
    h.signal("s2", Action::Sell, (None, None));
    let waits = h
        .log
        .iter()
        .filter(|l| matches!(l, Logged::Wait(_)))
        .count();
    assert!(waits >= 1, "the scenario waited ({waits})");
    assert!(!h.staged_across_effect, "a batch was open across an effect");
    // Each wait is followed by a call, never by a batch that was staged before it.
    for w in h.log.windows(2) {
        if let [Logged::Wait(_), next] = w {
            assert!(matches!(next, Logged::Send(..)), "after a wait: {next:?}");
        }
    }
}

#[test]
fn a_second_signal_waits_for_the_running_one_and_is_claimed_at_once() {
    let mut h = Harness::new(json!({}), dec!(65000));
    h.hold = true;
    h.machine
        .on_signal(signal("s1", Action::Buy, (None, None), h.clock), h.clock);
    h.run();
    assert!(h.machine.is_busy());
    let before = h.log.len();
    h.machine
        .on_signal(signal("s2", Action::Buy, (None, None), h.clock), h.clock);
    h.run();
    // s2 is claimed at once and queued; it sends nothing while s1 runs.
    assert_eq!(h.machine.queued(), 1);
    let new: Vec<&Logged> = h.log[before..].iter().collect();
    assert!(
        matches!(new.as_slice(), [Logged::Persist(b)] if matches!(&b.records[0], Record::SignalClaimed { signal_id, .. } if signal_id.as_str() == "s2")),
        "{new:?}"
    );
    // Let everything run: s1 answers before s2 sends anything.
    h.hold = false;
    let held = std::mem::take(&mut h.held);
    for (id, op) in held {
        let result = h.venue.answer(&op, h.clock);
        h.machine
            .on_reply(
                id,
                Reply {
                    result,
                    trail: Vec::new(),
                    at_ms: h.clock,
                },
            )
            .unwrap_or_else(|e| panic!("{e}"));
    }
    h.run();
    let answers: Vec<usize> = h
        .log
        .iter()
        .enumerate()
        .filter(|(_, l)| matches!(l, Logged::Answer(_)))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(answers.len(), 2);
    let s1_answer = answers[0];
    assert!(
        matches!(&h.log[s1_answer], Logged::Answer(Answer::Signal { signal_id, .. }) if signal_id.as_str() == "s1")
    );
    // s2's order is sent only after s1 was answered.
    let s2_order = match h.outcome("s2") {
        Some(SignalOutcome::Executed { orders, .. }) => {
            orders[0].order.request.client_order_id.clone()
        }
        other => panic!("{other:?}"),
    };
    let s2_send = h
        .log
        .iter()
        .position(|l| matches!(l, Logged::Send(_, op) if placement_coid(op) == Some(&s2_order)));
    assert!(
        s2_send.is_some_and(|p| p > s1_answer),
        "s2 sent before s1 answered"
    );
    assert!(!h.machine.is_busy());
}

#[test]
fn a_refused_symbol_is_answered_at_once_even_while_busy() {
    let mut h = Harness::new(json!({}), dec!(65000));
    h.hold = true;
    h.machine
        .on_signal(signal("s1", Action::Buy, (None, None), h.clock), h.clock);
    h.run();
    let eth = crate::ids::Symbol::new("ETHUSDT").unwrap_or_else(|e| panic!("{e}"));
    h.machine.on_signal(
        signal_on("s2", Action::Buy, Some(eth), (None, None), h.clock),
        h.clock,
    );
    h.run();
    match h.outcome("s2") {
        Some(SignalOutcome::Rejected(r)) => {
            assert_eq!((r.status, r.code.as_str()), (422, "risk_whitelist"))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(h.machine.queued(), 0);
    assert!(h.machine.is_busy(), "s1 still runs");
}

#[test]
fn an_ambiguous_order_is_resolved_by_its_client_id_never_sent_again() {
    let mut h = Harness::new(json!({}), dec!(65000));
    h.venue.placements.push_back(PlaceScript::LostAck);
    let out = h.signal("s1", Action::Buy, (None, None));
    let places: Vec<_> = h
        .sent()
        .into_iter()
        .filter(|op| placement_coid(op).is_some())
        .collect();
    assert_eq!(places.len(), 1, "sent once");
    let Some(coid) = placement_coid(places[0]).cloned() else {
        panic!()
    };
    let queries = h
        .sent()
        .into_iter()
        .filter(|op| matches!(op, VenueOp::QueryOrder { client_order_id, .. } if *client_order_id == coid))
        .count();
    assert!(queries >= 1, "resolved by query");
    match out {
        SignalOutcome::Executed { orders, .. } => {
            assert_eq!(orders[0].order.status, OrderStatus::Filled);
            assert!(orders[0].failed.is_none());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(h.position(), dec!(0.00153));
}

#[test]
fn an_order_that_never_reached_the_book_is_rejected_after_its_window() {
    let mut h = Harness::new(json!({}), dec!(65000));
    h.venue.placements.push_back(PlaceScript::LostNeverPlaced);
    let out = h.signal("s1", Action::Buy, (None, None));
    let places = h
        .sent()
        .into_iter()
        .filter(|op| placement_coid(op).is_some())
        .count();
    assert_eq!(places, 1);
    // Queried until the window passed (5 s + the last query), then believed.
    let last_query_at = h
        .log
        .iter()
        .filter(|l| matches!(l, Logged::Wait(_)))
        .count();
    assert!(last_query_at >= 1);
    match out {
        SignalOutcome::Rejected(r) => {
            assert_eq!(r.code, "exchange_rejected");
            assert!(r.message.contains("never reached"), "{}", r.message);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(h.machine.book().flags().consecutive_rejections, 1);
    assert_eq!(h.position(), dec!(0));
}

#[test]
fn an_unresolvable_order_stays_unknown() {
    let mut h = Harness::new(json!({}), dec!(65000));
    h.venue.placements.push_back(PlaceScript::LostAck);
    // A query that fails otherwise than "unknown order" ends the resolution at once (as the DO).
    h.venue.fail_next(
        "query_order",
        CallFailure::Venue(VenueError::Unavailable {
            status: 503,
            msg: "down".into(),
        }),
    );
    let out = h.signal("s1", Action::Buy, (None, None));
    match out {
        SignalOutcome::Rejected(r) => assert_eq!(r.code, "order_outcome_unknown"),
        other => panic!("{other:?}"),
    }
    let unknown = h
        .machine
        .book()
        .open_orders()
        .any(|o| o.status == OrderStatus::Unknown);
    assert!(unknown, "left unknown for the poll");
    // Not an exchange rejection: the auto-pause count does not move.
    assert_eq!(h.machine.book().flags().consecutive_rejections, 0);
}

#[test]
fn replies_nobody_awaits_are_refused_and_change_nothing() {
    let mut h = Harness::new(json!({}), dec!(65000));
    h.hold = true;
    h.machine
        .on_signal(signal("s1", Action::Buy, (None, None), h.clock), h.clock);
    h.run();
    let (id, _) = h.held[0].clone();
    let foreign = CallId(id.0 + 41);
    let reply = Reply::ok(VenueReply::ServerTime(0), h.clock);
    assert_eq!(
        h.machine.on_reply(foreign, reply.clone()),
        Err(MachineError::UnexpectedReply(foreign))
    );
    assert_eq!(h.machine.poll(), None, "nothing emitted");
    // The awaited reply is taken once; the same id again is late.
    h.machine
        .on_reply(id, reply.clone())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        h.machine.on_reply(id, reply),
        Err(MachineError::UnexpectedReply(id))
    );
}

#[test]
fn no_reply_makes_it_panic() {
    // Every call of a protected entry and its close answered with each wrong kind of reply
    // (fixed list, no randomness): the machine answers every signal and never panics.
    let wrong = [
        Ok(VenueReply::Balances(Vec::new())),
        Ok(VenueReply::ServerTime(1)),
        Ok(VenueReply::Orders(Vec::new())),
        Ok(VenueReply::Klines(Vec::new())),
        Err(CallFailure::Internal("account object gone".into())),
        Err(CallFailure::CircuitOpen {
            retry_at_ms: T0 + 60_000,
        }),
        Err(CallFailure::Unknown {
            client_order_id: crate::ids::ClientOrderId::new("k-lost")
                .unwrap_or_else(|e| panic!("{e}")),
            reason: "lost".into(),
        }),
        Err(CallFailure::UnexpectedReply { op: "place_order" }),
        Err(CallFailure::Venue(VenueError::Parse {
            what: "body".into(),
            detail: "{".into(),
        })),
    ];
    for (nth_bad, bad) in (0..12).flat_map(|n| wrong.iter().map(move |w| (n, w.clone()))) {
        let mut h = Harness::new(json!({}), dec!(65000));
        h.hold = true;
        h.machine.on_signal(
            signal(
                "s1",
                Action::Buy,
                (Some(dec!(60000)), Some(dec!(70000))),
                h.clock,
            ),
            h.clock,
        );
        for n in 0..200 {
            h.run();
            let Some((id, op)) = h.held.pop() else { break };
            h.clock += 20;
            let result = if n == nth_bad {
                bad.clone()
            } else {
                h.venue.answer(&op, h.clock)
            };
            h.machine
                .on_reply(
                    id,
                    Reply {
                        result,
                        trail: Vec::new(),
                        at_ms: h.clock,
                    },
                )
                .unwrap_or_else(|e| panic!("{e}"));
        }
        assert!(
            h.outcome("s1").is_some(),
            "call {nth_bad} answered {bad:?}: no answer"
        );
        assert!(!h.machine.is_busy());
    }
}

#[test]
fn an_answer_that_is_no_order_report_is_resolved_by_query() {
    let mut h = Harness::new(json!({}), dec!(65000));
    h.venue.placements.push_back(PlaceScript::Malformed);
    let out = h.signal("s1", Action::Buy, (None, None));
    let n: Vec<&str> = h.sent().iter().map(|op| op.name()).collect();
    assert_eq!(n.iter().filter(|x| **x == "place_order").count(), 1);
    assert!(n.contains(&"query_order"), "{n:?}");
    match out {
        SignalOutcome::Executed { orders, .. } => {
            assert_eq!(orders[0].order.status, OrderStatus::Filled)
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_refusal_while_busy_leaves_the_running_execution_its_request_trail() {
    let mut h = Harness::new(json!({}), dec!(65000));
    h.hold = true;
    h.machine
        .on_signal(signal("s1", Action::Buy, (None, None), h.clock), h.clock);
    h.run();
    // The rules call is answered with a response draft; the ticker call is held.
    let (id, op) = h.held.remove(0);
    let result = h.venue.answer(&op, h.clock);
    let draft = crate::audit::AuditDraft::new(
        h.clock,
        crate::audit::Actor::System,
        crate::audit::AuditEvent::exchange_response(
            crate::model::Exchange::Binance,
            200,
            None,
            "rules",
            None,
        ),
    );
    h.machine
        .on_reply(
            id,
            Reply {
                result,
                trail: vec![draft],
                at_ms: h.clock,
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    h.run();
    let eth = crate::ids::Symbol::new("ETHUSDT").unwrap_or_else(|e| panic!("{e}"));
    h.machine.on_signal(
        signal_on("s2", Action::Buy, Some(eth), (None, None), h.clock),
        h.clock,
    );
    h.run();
    assert!(h.outcome("s2").is_some());
    let responses = |h: &Harness| -> Vec<Option<String>> {
        h.log
            .iter()
            .filter_map(|l| match l {
                Logged::Persist(b) => Some(b.audit.iter()),
                _ => None,
            })
            .flatten()
            .filter(|d| d.event.kind() == "exchange_response")
            .map(|d| d.signal_id.as_ref().map(|s| s.to_string()))
            .collect()
    };
    assert!(responses(&h).is_empty(), "s2 took s1's trail");
    h.hold = false;
    for (id, op) in std::mem::take(&mut h.held) {
        let result = h.venue.answer(&op, h.clock);
        h.machine
            .on_reply(
                id,
                Reply {
                    result,
                    trail: Vec::new(),
                    at_ms: h.clock,
                },
            )
            .unwrap_or_else(|e| panic!("{e}"));
    }
    h.run();
    assert_eq!(responses(&h), [Some("s1".to_string())]);
}

#[test]
fn an_answer_of_the_wrong_kind_is_refused_and_the_call_still_awaited() {
    let mut h = Harness::new(json!({}), dec!(65000));
    h.hold = true;
    h.machine
        .on_signal(signal("s1", Action::Buy, (None, None), h.clock), h.clock);
    h.run();
    let (id, op) = h.held.remove(0);
    let wrong = Consulted::Platform { halted: false };
    assert_eq!(
        h.machine.on_consulted(id, wrong),
        Err(MachineError::UnexpectedReply(id))
    );
    // The venue call is still awaited and the signal completes.
    let result = h.venue.answer(&op, h.clock);
    h.machine
        .on_reply(
            id,
            Reply {
                result,
                trail: Vec::new(),
                at_ms: h.clock,
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    h.run();
    h.hold = false;
    for (id, op) in std::mem::take(&mut h.held) {
        let result = h.venue.answer(&op, h.clock);
        h.machine
            .on_reply(
                id,
                Reply {
                    result,
                    trail: Vec::new(),
                    at_ms: h.clock,
                },
            )
            .unwrap_or_else(|e| panic!("{e}"));
    }
    h.run();
    assert!(matches!(
        h.outcome("s1"),
        Some(SignalOutcome::Executed { .. })
    ));
}

#[test]
fn a_venue_reply_to_a_consultation_is_refused() {
    let mut h = Harness::new(json!({}), dec!(65000));
    let mut input = signal("s1", Action::Buy, (None, None), h.clock);
    input.facts = FactsInput::Known(crate::bot::MarketFacts {
        price: dec!(65000),
        rules: rules(),
        free_base: None,
    });
    h.machine.on_signal(input, h.clock);
    let consult = std::iter::from_fn(|| h.machine.poll()).find_map(|e| match e {
        Effect::Consult { call_id, need } => Some((call_id, need)),
        _ => None,
    });
    let Some((id, Need::PlatformHalt)) = consult else {
        panic!("{consult:?}")
    };
    let reply = Reply::ok(VenueReply::ServerTime(0), h.clock);
    assert_eq!(
        h.machine.on_reply(id, reply),
        Err(MachineError::UnexpectedReply(id))
    );
    h.machine
        .on_consulted(id, Consulted::Platform { halted: false })
        .unwrap_or_else(|e| panic!("{e}"));
    h.run();
    assert!(matches!(
        h.outcome("s1"),
        Some(SignalOutcome::Executed { .. })
    ));
}

#[test]
fn a_placement_the_call_machine_could_not_resolve_stays_unknown_without_more_queries() {
    let mut h = Harness::new(json!({}), dec!(65000));
    h.venue.fail_next(
        "place_order",
        CallFailure::Unknown {
            client_order_id: crate::ids::ClientOrderId::new("k-other")
                .unwrap_or_else(|e| panic!("{e}")),
            reason: "still unknown after repeated queries".into(),
        },
    );
    let out = h.signal("s1", Action::Buy, (None, None));
    match out {
        SignalOutcome::Rejected(r) => {
            assert_eq!((r.status, r.code.as_str()), (503, "order_outcome_unknown"))
        }
        other => panic!("{other:?}"),
    }
    assert!(!h.sent().iter().any(|op| op.name() == "query_order"));
    assert!(h
        .machine
        .book()
        .open_orders()
        .any(|o| o.status == OrderStatus::Unknown));
    assert_eq!(h.machine.book().flags().consecutive_rejections, 0);
}
