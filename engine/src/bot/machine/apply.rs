//! Committing what an order request produced (the DO's `apply_outcome`): the fills booked into
//! the ledger with their audit drafts, the order record moved through the one transition table,
//! the rejection count (and its auto-pause) or its reset, all in one batch; then the loss-limit
//! check in a batch of its own, as today.

use super::ctx::{Ctx, Event, Step};
use super::effect::{AlertChange, Record};
use super::fees::Fees;
use super::limits::{check_limits, count_rejection};
use crate::alert::{Alert, AlertKind};
use crate::bot::{book_fills, fills_of, lifecycle};
use crate::ids::SignalId;
use crate::ledger::{FeePrices, LedgerEntry};
use crate::model::InstrumentRules;
use crate::order::Order;
use crate::venue::CallFailure;
use crate::venue::VenueReply;

/// When the fills of an outcome were learnt, which decides how a third-asset fee is valued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Learnt {
    /// In the answer to the order request itself (the trades are of now).
    InAnswer,
    /// Later: a poll of a resting order, a cancel's answer, a query.
    Late,
}

/// What applying produced: the order as persisted and why it failed, when it did.
#[derive(Debug, Clone)]
pub struct Applied {
    /// The order record (unchanged when the outcome could not be applied).
    pub order: Order,
    /// The failure answered for this order.
    pub failed: Option<CallFailure>,
}

/// Applies one outcome to one order.
#[derive(Debug)]
pub struct Apply {
    order: Order,
    signal_id: Option<SignalId>,
    rules: InstrumentRules,
    outcome: Option<Result<VenueReply, CallFailure>>,
    learnt: Learnt,
    fees: Option<Fees>,
}

impl Apply {
    /// The outcome of `order` (placed for `signal_id`) to apply.
    pub fn new(
        order: Order,
        signal_id: Option<SignalId>,
        rules: InstrumentRules,
        outcome: Result<VenueReply, CallFailure>,
        learnt: Learnt,
    ) -> Self {
        Self {
            order,
            signal_id,
            rules,
            outcome: Some(outcome),
            learnt,
            fees: None,
        }
    }

    /// Advances: prices third-asset fees (calls), then commits.
    pub fn step(&mut self, cx: &mut Ctx<'_>, mut ev: Event) -> Step<Applied> {
        if self.fees.is_none() {
            let fills = match &self.outcome {
                Some(Ok(reply)) => fills_of(reply),
                _ => Vec::new(),
            };
            self.fees = Some(match self.learnt {
                Learnt::InAnswer => Fees::new(&fills, &[], &self.rules),
                Learnt::Late => Fees::new(&[], &fills, &self.rules),
            });
            ev = Event::Start;
        }
        let prices = match self.fees.as_mut().map(|f| f.step(cx, ev)) {
            Some(Step::Done(p)) => p,
            Some(Step::Pending) => return Step::Pending,
            None => FeePrices::none(),
        };
        let outcome = self
            .outcome
            .take()
            .unwrap_or_else(|| Err(CallFailure::Internal("outcome applied twice".into())));
        Step::Done(match outcome {
            Ok(reply) => self.succeeded(cx, reply, &prices),
            Err(e) => self.failed(cx, e),
        })
    }

    /// Nothing of the outcome is committed (as the DO drops its journal); the request trail
    /// stays for the next batch.
    fn internal(&self, why: String) -> Applied {
        Applied {
            order: self.order.clone(),
            failed: Some(CallFailure::Internal(why)),
        }
    }

    /// The ledger refused the fills of an answer: the order's own transition is still
    /// committed (a final order is never queried again; the DO re-queried it every tick,
    /// failing the same way each time) and the bot needs attention, alerted, because its ledger
    /// now misses fills that reconciliation must book.
    fn unbookable(&self, cx: &mut Ctx<'_>, reply: &VenueReply, why: String) -> Applied {
        let coid = self.order.request.client_order_id.clone();
        let mut order = self.order.clone();
        if let VenueReply::Order(r) = reply {
            if let Err(e) = lifecycle::apply_report(&mut order, r, cx.now) {
                return self.internal(format!("order {coid}: {e}; {why}"));
            }
        }
        let reason = format!("fills of order {coid} not booked: {why}");
        cx.io.drain_trail(self.signal_id.as_ref(), Some(&coid));
        cx.io.record(Record::Order {
            order: Box::new(order.clone()),
            signal_id: self.signal_id.clone(),
        });
        cx.book.track(&order, self.signal_id.as_ref());
        cx.book.flags.needs_attention = true;
        cx.book.flags.attention_reason = Some(reason.clone());
        cx.io.record(Record::Flags(cx.book.flags.clone()));
        cx.io.alert(AlertChange::Raise(Alert::new(
            cx.config.id.as_str(),
            AlertKind::ReconciliationMismatch,
            coid.as_str(),
            reason,
        )));
        cx.io.flush();
        Applied {
            order,
            failed: Some(CallFailure::Internal(why)),
        }
    }

    fn succeeded(&self, cx: &mut Ctx<'_>, reply: VenueReply, prices: &FeePrices) -> Applied {
        let coid = self.order.request.client_order_id.clone();
        let fills = fills_of(&reply);
        let mut ledger = cx.book.ledger.clone();
        let attribution = crate::strategy::live::attribution(cx.config);
        let booking = match book_fills(
            &mut ledger,
            &fills,
            &self.rules,
            prices,
            cx.config.exchange,
            cx.config.market,
            cx.actor,
            self.signal_id.as_ref(),
            attribution.as_deref(),
        ) {
            Ok(b) => b,
            Err(e) => return self.unbookable(cx, &reply, format!("ledger: {e}")),
        };
        let mut order = self.order.clone();
        if let VenueReply::Order(r) = &reply {
            if let Err(e) = lifecycle::apply_report(&mut order, r, cx.now) {
                return self.internal(format!("order {coid}: {e}"));
            }
        }
        let snap = match ledger.risk_snapshot(cx.now) {
            Ok(s) => s,
            Err(e) => return self.internal(e.to_string()),
        };
        cx.io.drain_trail(self.signal_id.as_ref(), Some(&coid));
        for d in booking.drafts {
            cx.io.audit(d);
        }
        for e in booking.entries {
            cx.io.record(Record::Ledger(Box::new(e)));
        }
        for b in booking.booked {
            cx.io.record(Record::Fill {
                booked: Box::new(b),
                signal_id: self.signal_id.clone(),
            });
        }
        cx.io.record(Record::Equity {
            time_ms: cx.now,
            equity: snap.equity,
            drawdown: snap.drawdown,
        });
        cx.io.record(Record::Order {
            order: Box::new(order.clone()),
            signal_id: self.signal_id.clone(),
        });
        cx.book.track(&order, self.signal_id.as_ref());
        cx.book.flags.consecutive_rejections = 0;
        cx.io.alert(AlertChange::Resolve(
            AlertKind::OrderRejected,
            order.request.symbol.to_string(),
        ));
        cx.io.record(Record::Flags(cx.book.flags.clone()));
        cx.book.ledger = ledger;
        cx.io.flush();
        check_limits(cx);
        Applied {
            order,
            failed: None,
        }
    }

    fn failed(&self, cx: &mut Ctx<'_>, e: CallFailure) -> Applied {
        let coid = self.order.request.client_order_id.clone();
        let mut order = self.order.clone();
        let message = e.rejection().message;
        if let Err(err) = lifecycle::apply_failure(&mut order, e.is_unknown(), &message, cx.now) {
            return self.internal(format!("order {coid}: {err}"));
        }
        cx.io.drain_trail(self.signal_id.as_ref(), Some(&coid));
        cx.io.record(Record::Order {
            order: Box::new(order.clone()),
            signal_id: self.signal_id.clone(),
        });
        cx.book.track(&order, self.signal_id.as_ref());
        if e.is_exchange_rejection() {
            if !e.is_credentials() {
                cx.io.alert(AlertChange::Raise(Alert::new(
                    cx.config.id.as_str(),
                    AlertKind::OrderRejected,
                    order.request.symbol.as_str(),
                    message,
                )));
            }
            count_rejection(cx);
        }
        cx.io.record(Record::Flags(cx.book.flags.clone()));
        cx.io.flush();
        Applied {
            order,
            failed: Some(e),
        }
    }
}

/// Ledger entries booked by a batch (for tests and drivers that count them).
pub fn ledger_entries(records: &[Record]) -> impl Iterator<Item = &LedgerEntry> {
    records.iter().filter_map(|r| match r {
        Record::Ledger(e) => Some(e.as_ref()),
        _ => None,
    })
}
