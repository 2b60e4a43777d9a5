//! The poll of the bot's working and unresolved orders from the tick (the DO's
//! `mark_lost_answers` and `refresh_open`): an order left `sent` by an execution that is gone
//! becomes `unknown` as of when it was sent; every working or unknown order (oldest first, a
//! bounded number per run) is queried by client id and its answer applied, so a resting
//! order's fills are booked when they happen and an unknown order is settled once the exchange
//! can answer for it (never by sending it again).

use super::ctx::{Ctx, Event, Step};
use super::effect::Record;
use super::requery::{Miss, Requery};
use crate::ids::SignalId;
use crate::order::LOST_ANSWER_EVENT;
use crate::order::{refresh_action, Order, OrderEvent, OrderStatus, RefreshAction};
use std::collections::VecDeque;

/// Orders queried per run (oldest first); the next run continues.
pub const PER_RUN: usize = 20;
/// An unknown order older than this (well past any receive window) that the exchange does not
/// know was never placed.
pub const UNKNOWN_SETTLES_AFTER_MS: i64 = 120_000;

/// One poll run.
#[derive(Debug)]
pub struct PollOrders {
    todo: VecDeque<(Order, Option<SignalId>)>,
    current: Option<Box<Requery>>,
    changed: usize,
}

impl PollOrders {
    /// Marks the lost answers (each in its own batch), then plans the queries. Runs only while
    /// no execution is live, so no `sent` order has a live sender.
    pub fn new(cx: &mut Ctx<'_>) -> Self {
        let mut changed = 0;
        let sent: Vec<(Order, Option<SignalId>)> = cx
            .book
            .orders
            .values()
            .filter(|(o, _)| refresh_action(o.status, false) == RefreshAction::LostAnswer)
            .cloned()
            .collect();
        for (mut order, sid) in sent {
            let sent_ms = order.updated_ms;
            if order.apply_event(LOST_ANSWER_EVENT, sent_ms).is_ok() {
                cx.io.record(Record::Order {
                    order: Box::new(order.clone()),
                    signal_id: sid.clone(),
                });
                cx.book.track(&order, sid.as_ref());
                cx.io.flush();
                changed += 1;
            }
        }
        let mut todo: Vec<(Order, Option<SignalId>)> = cx
            .book
            .orders
            .values()
            .filter(|(o, _)| refresh_action(o.status, false) == RefreshAction::Query)
            .cloned()
            .collect();
        todo.sort_by_key(|(o, _)| o.updated_ms);
        todo.truncate(PER_RUN);
        Self {
            todo: todo.into(),
            current: None,
            changed,
        }
    }

    /// Advances; ends with how many orders changed.
    pub fn step(&mut self, cx: &mut Ctx<'_>, mut ev: Event) -> Step<usize> {
        loop {
            if let Some(r) = self.current.as_mut() {
                match r.step(cx, ev.take()) {
                    Step::Pending => return Step::Pending,
                    Step::Done(Ok(applied)) => {
                        if applied.failed.is_none() {
                            self.changed += 1;
                        }
                    }
                    Step::Done(Err(Miss::NotFound)) => {
                        let mut order = r.order().clone();
                        if order.status == OrderStatus::Unknown
                            && cx.now - order.updated_ms > UNKNOWN_SETTLES_AFTER_MS
                            && order.apply_event(OrderEvent::NotFound, cx.now).is_ok()
                        {
                            // Past every receive window: the order never reached the book.
                            let sid = cx
                                .book
                                .orders
                                .get(&order.request.client_order_id)
                                .and_then(|(_, s)| s.clone());
                            cx.io
                                .drain_trail(sid.as_ref(), Some(&order.request.client_order_id));
                            cx.io.record(Record::Order {
                                order: Box::new(order.clone()),
                                signal_id: sid.clone(),
                            });
                            cx.book.track(&order, sid.as_ref());
                            cx.io.flush();
                            self.changed += 1;
                        }
                    }
                    // The exchange could not answer: the next run retries.
                    Step::Done(Err(Miss::Failed(_))) => {}
                }
                self.current = None;
            }
            let Some((order, sid)) = self.todo.pop_front() else {
                return Step::Done(self.changed);
            };
            self.current = Some(Box::new(Requery::new(order, sid)));
            ev = Event::Start;
        }
    }
}
