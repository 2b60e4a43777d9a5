//! Placing one approved order (the DO's `place_inner`): the durable intent (risk drafts, the
//! `order_intent` event, the record as `sent`) is persisted before the request; the answer is
//! resolved (by client id when lost), settled (fills completed), applied; then the exits the
//! entry carries are recorded and, once it filled, the venue's exits are placed.

use super::apply::{Applied, Apply, Learnt};
use super::ctx::{Ctx, Event, Step};
use super::effect::{Placed, Record};
use super::exits::{record_attached, Protect};
use super::settle::{Resolve, Settle, DEFAULT_WINDOW_MS};
use crate::audit::{AuditDraft, AuditEvent};
use crate::bot::risk_drafts;
use crate::ids::SignalId;
use crate::model::InstrumentRules;
use crate::order::{Order, OrderEvent};
use crate::risk::{Approved, ProposedOrder, RiskCheck};
use crate::venue::CallFailure;
use crate::venue::{protect, Protection, VenueError, VenueOp, VenueReply};
use rust_decimal::Decimal;

#[derive(Debug)]
enum Stage {
    Start,
    Sent,
    Resolving(Resolve),
    Settling(Settle),
    Applying(Apply),
    Protecting(Protect),
}

/// Places one order to its outcome.
#[derive(Debug)]
pub struct Place {
    proposed: ProposedOrder,
    checks: Vec<RiskCheck>,
    rules: InstrumentRules,
    signal_id: SignalId,
    op: VenueOp,
    order: Order,
    sent_ms: i64,
    stage: Stage,
    result: Option<Placed>,
}

impl Place {
    /// An approved order of `signal_id` to place with the symbol's `rules`.
    pub fn new(
        cx: &Ctx<'_>,
        approved: Approved<ProposedOrder>,
        checks: Vec<RiskCheck>,
        rules: InstrumentRules,
        signal_id: SignalId,
    ) -> Self {
        let proposed = approved.into_inner();
        // Protection rides on the entry where the exchange holds it (Bybit).
        let op = protect::entry_op(
            cx.config.exchange,
            cx.config.market,
            &proposed.request,
            proposed.stop_loss,
            proposed.take_profit,
            rules.tick_size,
        );
        let order = Order::new(proposed.request.clone(), cx.now);
        Self {
            proposed,
            checks,
            rules,
            signal_id,
            op,
            order,
            sent_ms: cx.now,
            stage: Stage::Start,
            result: None,
        }
    }

    fn start(&mut self, cx: &mut Ctx<'_>) -> Option<Placed> {
        let coid = self.proposed.request.client_order_id.clone();
        for d in risk_drafts(std::slice::from_ref(&self.checks), cx.now, &self.signal_id) {
            cx.io.audit(d.order(coid.clone()));
        }
        cx.io.audit(
            AuditDraft::new(
                cx.now,
                cx.actor.clone(),
                AuditEvent::OrderIntent {
                    exchange: cx.config.exchange,
                    market: cx.config.market,
                    order: self.proposed.request.clone(),
                },
            )
            .signal(self.signal_id.clone())
            .order(coid),
        );
        // The intent is persisted as in flight before the request leaves: a crash after this
        // point is resolved by querying the client order id, never by sending again.
        self.order = Order::new(self.proposed.request.clone(), cx.now);
        if let Err(e) = self.order.apply_event(OrderEvent::Submitted, cx.now) {
            return Some(Placed {
                order: self.order.clone(),
                exits: Vec::new(),
                failed: Some(CallFailure::Internal(e.to_string()).rejection()),
            });
        }
        cx.io.record(Record::Order {
            order: Box::new(self.order.clone()),
            signal_id: Some(self.signal_id.clone()),
        });
        cx.book.track(&self.order, Some(&self.signal_id));
        self.sent_ms = cx.now;
        cx.io.send(self.op.clone());
        None
    }

    fn apply(&mut self, outcome: Result<VenueReply, CallFailure>) -> Stage {
        Stage::Applying(Apply::new(
            self.order.clone(),
            Some(self.signal_id.clone()),
            self.rules.clone(),
            outcome,
            Learnt::InAnswer,
        ))
    }

    fn settle_or_apply(&mut self, cx: &Ctx<'_>, report: crate::venue::OrderReport) -> Stage {
        if Settle::needed(cx.paper, &report) {
            Stage::Settling(Settle::new(
                self.proposed.request.clone(),
                self.sent_ms,
                report,
            ))
        } else {
            self.apply(Ok(VenueReply::Order(report)))
        }
    }

    /// After the outcome is applied: the attached exits, then the exits placed after a fill.
    fn after_apply(&mut self, cx: &mut Ctx<'_>, applied: Applied) -> Option<Stage> {
        let mut placed = Placed {
            order: applied.order,
            exits: Vec::new(),
            failed: applied.failed.as_ref().map(CallFailure::rejection),
        };
        if applied.failed.is_some() {
            self.result = Some(placed);
            return None;
        }
        let coid = self.proposed.request.client_order_id.clone();
        match record_attached(cx, &self.op, &coid, &self.signal_id, self.sent_ms) {
            Ok(attached) => placed.exits = attached,
            Err(e) => placed.failed = Some(e.rejection()),
        }
        if placed.failed.is_some() || placed.order.filled_qty <= Decimal::ZERO {
            self.result = Some(placed);
            return None;
        }
        let protection = Protection {
            stop_loss: self.proposed.stop_loss,
            take_profit: self.proposed.take_profit,
        };
        let protect = Protect::new(
            cx,
            placed.order.clone(),
            protection,
            &self.rules,
            self.signal_id.clone(),
        );
        match protect {
            Ok(p) => {
                self.result = Some(placed);
                Some(Stage::Protecting(p))
            }
            Err(e) => {
                placed.failed = Some(e.rejection());
                self.result = Some(placed);
                None
            }
        }
    }

    fn finish(&mut self) -> Step<Placed> {
        Step::Done(self.result.take().unwrap_or_else(|| Placed {
            order: self.order.clone(),
            exits: Vec::new(),
            failed: Some(
                CallFailure::Internal("placement ended without a result".into()).rejection(),
            ),
        }))
    }

    /// Advances the placement.
    pub fn step(&mut self, cx: &mut Ctx<'_>, mut ev: Event) -> Step<Placed> {
        loop {
            let next = match &mut self.stage {
                Stage::Start => {
                    if let Some(done) = self.start(cx) {
                        return Step::Done(done);
                    }
                    Stage::Sent
                }
                Stage::Sent => {
                    let Event::Reply(reply) = ev.take() else {
                        return Step::Pending;
                    };
                    match reply.result {
                        Ok(VenueReply::Order(report)) => self.settle_or_apply(cx, report),
                        // Already queried by the exchange-call machine: unknown, for the poll.
                        Err(CallFailure::Unknown { reason, .. }) => {
                            self.apply(Err(CallFailure::Unknown {
                                client_order_id: self.proposed.request.client_order_id.clone(),
                                reason,
                            }))
                        }
                        // An unreachable exchange after a placement left: the order may exist.
                        Err(CallFailure::Venue(VenueError::Unavailable { .. })) => {
                            Stage::Resolving(self.resolver(reply.at_ms + DEFAULT_WINDOW_MS))
                        }
                        // An answer that is no order report cannot say whether it exists.
                        Ok(_) => Stage::Resolving(self.resolver(reply.at_ms + DEFAULT_WINDOW_MS)),
                        Err(e) => self.apply(Err(e.of_call())),
                    }
                }
                Stage::Resolving(r) => match r.step(cx, ev.take()) {
                    Step::Pending => return Step::Pending,
                    Step::Done(Ok(report)) => self.settle_or_apply(cx, report),
                    Step::Done(Err(e)) => self.apply(Err(e)),
                },
                Stage::Settling(s) => match s.step(cx, ev.take()) {
                    Step::Pending => return Step::Pending,
                    Step::Done(report) => self.apply(Ok(VenueReply::Order(report))),
                },
                Stage::Applying(a) => match a.step(cx, ev.take()) {
                    Step::Pending => return Step::Pending,
                    Step::Done(applied) => match self.after_apply(cx, applied) {
                        Some(stage) => stage,
                        None => return self.finish(),
                    },
                },
                Stage::Protecting(p) => match p.step(cx, ev.take()) {
                    Step::Pending => return Step::Pending,
                    Step::Done(exits) => {
                        if let Some(r) = self.result.as_mut() {
                            r.exits.extend(exits);
                        }
                        return self.finish();
                    }
                },
            };
            self.stage = next;
            if matches!(self.stage, Stage::Sent) {
                return Step::Pending;
            }
        }
    }

    fn resolver(&self, settles_at_ms: i64) -> Resolve {
        Resolve::new(
            self.proposed.request.symbol.clone(),
            self.proposed.request.client_order_id.clone(),
            settles_at_ms,
        )
    }
}
