//! Cancelling every open order of the bot, of one symbol or of every symbol it traded (the
//! DO's `cancel_all`). An order is final only when the exchange says so: each working order is
//! first recorded `cancel_sent` (persisted before any request), and after the cancel-all each
//! is queried by its client id and its answer applied like a poll's, so a fill that raced the
//! cancel is booked at once. An order whose query fails stays `cancel_sent` for the poll.

use super::ctx::{Ctx, Event, Step};
use super::effect::{CancelReport, Record};
use super::requery::{Miss, Requery};
use crate::ids::{SignalId, Symbol};
use crate::order::{Order, OrderEvent, OrderStatus};
use crate::venue::CallFailure;
use crate::venue::VenueOp;
use std::collections::VecDeque;

#[derive(Debug)]
enum Stage {
    Start,
    Cancelling(Symbol),
    Requery(Box<Requery>),
    Next,
}

/// The cancel-all run.
#[derive(Debug)]
pub struct CancelAll {
    symbol: Option<Symbol>,
    signal_id: Option<SignalId>,
    symbols: VecDeque<Symbol>,
    working: VecDeque<(Order, Option<SignalId>)>,
    stage: Stage,
    report: CancelReport,
    drained: bool,
}

impl CancelAll {
    /// Cancels the orders of `symbol`, or of every symbol traded when `None`.
    pub fn new(symbol: Option<Symbol>, signal_id: Option<SignalId>) -> Self {
        Self {
            symbol,
            signal_id,
            symbols: VecDeque::new(),
            working: VecDeque::new(),
            stage: Stage::Start,
            report: CancelReport::default(),
            drained: false,
        }
    }

    fn start(&mut self, cx: &mut Ctx<'_>) {
        let symbols: Vec<Symbol> = match &self.symbol {
            Some(s) => vec![s.clone()],
            None => cx.book.traded.iter().cloned().collect(),
        };
        // Intent first: every working order of those symbols goes to CancelSent.
        let working: Vec<(Order, Option<SignalId>)> = cx
            .book
            .orders
            .values()
            .filter(|(o, _)| {
                symbols.contains(&o.request.symbol)
                    && matches!(
                        o.status,
                        OrderStatus::Accepted
                            | OrderStatus::PartiallyFilled
                            | OrderStatus::CancelSent
                    )
            })
            .cloned()
            .collect();
        for (mut order, sid) in working {
            if order
                .apply_event(OrderEvent::CancelRequested, cx.now)
                .is_ok()
            {
                cx.io.record(Record::Order {
                    order: Box::new(order.clone()),
                    signal_id: sid.clone(),
                });
                cx.book.track(&order, sid.as_ref());
                self.working.push_back((order, sid));
            }
        }
        cx.io.flush();
        self.symbols = symbols.into();
    }

    fn pending(&mut self, order: &Order, why: String) {
        self.report
            .pending
            .push((order.request.client_order_id.clone(), why));
    }

    /// Advances the run; ends with its report.
    pub fn step(&mut self, cx: &mut Ctx<'_>, mut ev: Event) -> Step<CancelReport> {
        loop {
            let stage = std::mem::replace(&mut self.stage, Stage::Next);
            self.stage = match stage {
                Stage::Start => {
                    self.start(cx);
                    Stage::Next
                }
                Stage::Cancelling(symbol) => {
                    let Event::Reply(reply) = ev.take() else {
                        self.stage = Stage::Cancelling(symbol);
                        return Step::Pending;
                    };
                    let error = reply
                        .result
                        .err()
                        .map(|e| CallFailure::of_call(e).to_string());
                    self.report.cancels.push((symbol, error));
                    Stage::Next
                }
                Stage::Requery(mut r) => match r.step(cx, ev.take()) {
                    Step::Pending => {
                        self.stage = Stage::Requery(r);
                        return Step::Pending;
                    }
                    Step::Done(done) => {
                        let order = r.order().clone();
                        match done {
                            Ok(applied) => match applied.failed {
                                Some(e) => self.pending(&applied.order, e.to_string()),
                                None => self.report.orders.push(applied.order),
                            },
                            Err(Miss::NotFound) => {
                                self.pending(&order, "unknown order".into());
                            }
                            Err(Miss::Failed(why)) => self.pending(&order, why),
                        }
                        Stage::Next
                    }
                },
                Stage::Next => {
                    if let Some(symbol) = self.symbols.pop_front() {
                        cx.io.send(VenueOp::CancelAll {
                            symbol: symbol.clone(),
                        });
                        self.stage = Stage::Cancelling(symbol);
                        return Step::Pending;
                    }
                    if !self.drained {
                        // The cancels' request trail is committed once they are all done.
                        self.drained = true;
                        cx.io.drain_trail(self.signal_id.as_ref(), None);
                        cx.io.flush();
                    }
                    let Some((order, sid)) = self.working.pop_front() else {
                        return Step::Done(std::mem::take(&mut self.report));
                    };
                    Stage::Requery(Box::new(Requery::new(order, sid)))
                }
            };
        }
    }
}
