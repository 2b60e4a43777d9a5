//! Cancelling every open order of the bot, of one symbol or of every symbol it traded (the
//! DO's `cancel_all`). An order is final only when the exchange says so: each working order is
//! first recorded `cancel_sent` (persisted before any request), and after the cancel-all each
//! is queried by its client id and its answer applied like a poll's, so a fill that raced the
//! cancel is booked at once. An order whose query fails stays `cancel_sent` for the poll.

use super::apply::{Apply, Learnt};
use super::ctx::{Ctx, Event, Step};
use super::effect::{CancelReport, Record};
use super::facts::Facts;
use super::failure::Failure;
use super::settle::{kind, Settle};
use crate::bot::MarketFacts;
use crate::ids::{SignalId, Symbol};
use crate::order::{Order, OrderEvent, OrderStatus};
use crate::venue::{OrderReport, VenueOp, VenueReply};
use std::collections::VecDeque;

#[derive(Debug)]
enum Stage {
    Start,
    Cancelling(Symbol),
    Query(Order, Option<SignalId>),
    Settling(Order, Option<SignalId>, Settle),
    Facts(Order, Option<SignalId>, OrderReport, Facts),
    Applying(Apply),
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
                    let error = reply.result.err().map(|e| Failure::of_call(e).to_string());
                    self.report.cancels.push((symbol, error));
                    Stage::Next
                }
                Stage::Query(order, sid) => {
                    let Event::Reply(reply) = ev.take() else {
                        self.stage = Stage::Query(order, sid);
                        return Step::Pending;
                    };
                    match reply.result {
                        Ok(VenueReply::Order(report)) => {
                            if Settle::needed(cx.paper, &report) {
                                let s =
                                    Settle::new(order.request.clone(), order.created_ms, report);
                                Stage::Settling(order, sid, s)
                            } else {
                                let f = Facts::new(order.request.symbol.clone());
                                Stage::Facts(order, sid, report, f)
                            }
                        }
                        Ok(other) => {
                            self.pending(&order, format!("query answered {}", kind(&other)));
                            Stage::Next
                        }
                        Err(e) => {
                            self.pending(&order, Failure::of_call(e).to_string());
                            Stage::Next
                        }
                    }
                }
                Stage::Settling(order, sid, mut s) => match s.step(cx, ev.take()) {
                    Step::Pending => {
                        self.stage = Stage::Settling(order, sid, s);
                        return Step::Pending;
                    }
                    Step::Done(report) => {
                        let f = Facts::new(order.request.symbol.clone());
                        Stage::Facts(order, sid, report, f)
                    }
                },
                Stage::Facts(order, sid, report, mut f) => match f.step(cx, ev.take()) {
                    Step::Pending => {
                        self.stage = Stage::Facts(order, sid, report, f);
                        return Step::Pending;
                    }
                    Step::Done(Ok(MarketFacts { rules, .. })) => Stage::Applying(Apply::new(
                        order,
                        sid,
                        rules,
                        Ok(VenueReply::Order(report)),
                        Learnt::Late,
                    )),
                    Step::Done(Err(e)) => {
                        self.pending(&order, e.to_string());
                        Stage::Next
                    }
                },
                Stage::Applying(mut a) => match a.step(cx, ev.take()) {
                    Step::Pending => {
                        self.stage = Stage::Applying(a);
                        return Step::Pending;
                    }
                    Step::Done(applied) => {
                        match applied.failed {
                            Some(e) => self.pending(&applied.order, e.to_string()),
                            None => self.report.orders.push(applied.order),
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
                    cx.io.send(VenueOp::QueryOrder {
                        symbol: order.request.symbol.clone(),
                        client_order_id: order.request.client_order_id.clone(),
                    });
                    self.stage = Stage::Query(order, sid);
                    return Step::Pending;
                }
            };
        }
    }
}
