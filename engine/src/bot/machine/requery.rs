//! Asking the exchange about one order we hold and applying its word like a poll's: query by
//! client order id → settle an answer without fills → read the symbol's rules → apply with
//! fees valued as learnt late. Shared by `cancel_all` (after the cancels) and the order poll.

use super::apply::{Applied, Apply, Learnt};
use super::ctx::{Ctx, Event, Step};
use super::facts::Facts;
use super::settle::{kind, Settle};
use crate::bot::MarketFacts;
use crate::ids::SignalId;
use crate::order::Order;
use crate::venue::CallFailure;
use crate::venue::{OrderReport, VenueError, VenueOp, VenueReply};

/// Why a requery applied nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Miss {
    /// The exchange does not know the order.
    NotFound,
    /// The query or the rules could not be read, or the answer was not an order report.
    Failed(String),
}

#[derive(Debug)]
enum Stage {
    Start,
    Query,
    Settling(Box<Settle>),
    Facts(Box<(OrderReport, Facts)>),
    Applying(Box<Apply>),
}

/// One order's requery.
#[derive(Debug)]
pub struct Requery {
    order: Order,
    signal_id: Option<SignalId>,
    stage: Stage,
}

impl Requery {
    /// Requeries `order` (placed for `signal_id`).
    pub fn new(order: Order, signal_id: Option<SignalId>) -> Self {
        Self {
            order,
            signal_id,
            stage: Stage::Start,
        }
    }

    /// The order as it was before the requery.
    pub fn order(&self) -> &Order {
        &self.order
    }

    fn facts(&self, report: OrderReport) -> Stage {
        let f = Facts::new(self.order.request.symbol.clone());
        Stage::Facts(Box::new((report, f)))
    }

    /// Advances; ends with what was applied, or why nothing was.
    pub fn step(&mut self, cx: &mut Ctx<'_>, mut ev: Event) -> Step<Result<Applied, Miss>> {
        loop {
            let stage = std::mem::replace(&mut self.stage, Stage::Query);
            self.stage = match stage {
                Stage::Start => {
                    cx.io.send(VenueOp::QueryOrder {
                        symbol: self.order.request.symbol.clone(),
                        client_order_id: self.order.request.client_order_id.clone(),
                    });
                    return Step::Pending;
                }
                Stage::Query => {
                    let Event::Reply(reply) = ev.take() else {
                        return Step::Pending;
                    };
                    match reply.result {
                        Ok(VenueReply::Order(report)) => {
                            if Settle::needed(cx.paper, &report) {
                                Stage::Settling(Box::new(Settle::new(
                                    self.order.request.clone(),
                                    self.order.created_ms,
                                    report,
                                )))
                            } else {
                                self.facts(report)
                            }
                        }
                        Ok(other) => {
                            return Step::Done(Err(Miss::Failed(format!(
                                "query answered {}",
                                kind(&other)
                            ))))
                        }
                        Err(CallFailure::Venue(VenueError::UnknownOrder { .. })) => {
                            return Step::Done(Err(Miss::NotFound))
                        }
                        Err(e) => {
                            return Step::Done(Err(Miss::Failed(
                                CallFailure::of_call(e).to_string(),
                            )))
                        }
                    }
                }
                Stage::Settling(mut s) => match s.step(cx, ev.take()) {
                    Step::Pending => {
                        self.stage = Stage::Settling(s);
                        return Step::Pending;
                    }
                    Step::Done(report) => self.facts(report),
                },
                Stage::Facts(mut b) => match b.1.step(cx, ev.take()) {
                    Step::Pending => {
                        self.stage = Stage::Facts(b);
                        return Step::Pending;
                    }
                    Step::Done(Ok(MarketFacts { rules, .. })) => {
                        Stage::Applying(Box::new(Apply::new(
                            self.order.clone(),
                            self.signal_id.clone(),
                            rules,
                            Ok(VenueReply::Order(b.0)),
                            Learnt::Late,
                        )))
                    }
                    Step::Done(Err(e)) => return Step::Done(Err(Miss::Failed(e.to_string()))),
                },
                Stage::Applying(mut a) => match a.step(cx, ev.take()) {
                    Step::Pending => {
                        self.stage = Stage::Applying(a);
                        return Step::Pending;
                    }
                    Step::Done(applied) => return Step::Done(Ok(applied)),
                },
            };
        }
    }
}
