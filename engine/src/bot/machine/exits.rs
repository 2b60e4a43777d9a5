//! The bot's exchange-side exits around an order, decided by [`crate::venue::protect`]:
//! - [`record_attached`]: TP/SL carried on the entry itself (Bybit) are recorded;
//! - [`Protect`]: after a filled entry, the close-position triggers (Binance USDⓈ-M), else the
//!   OCO pair (Binance spot), else the spot TP/SL order (Bybit spot market buys); a refused exit
//!   does not undo the entry, it is recorded `Rejected` and answered;
//! - [`Clear`]: before what sells the holding or ends the position, the bot's own resting exits
//!   on the symbol are cancelled (one cancel per exit, or per OCO list).

use super::book::{ExitRecord, ExitState};
use super::ctx::{Ctx, Event, Step};
use super::effect::{Cleared, Record};
use super::settle::kind;
use crate::ids::{ClientOrderId, SignalId, Symbol};
use crate::model::{InstrumentRules, Market};
use crate::order::Order;
use crate::risk::{Approved, ProposedOrder};
use crate::venue::CallFailure;
use crate::venue::{
    protect, ExitKind, ExitRef, ExitTrigger, OcoExit, Protection, VenueError, VenueOp, VenueReply,
};
use rust_decimal::Decimal;
use std::collections::VecDeque;

fn stage_exit(cx: &mut Ctx<'_>, e: &ExitRecord) {
    cx.io.record(Record::Exit(Box::new(e.clone())));
    cx.book.track_exit(e);
}

/// Records the exits an accepted entry carries on the exchange (Bybit TP/SL on create), in a
/// batch of their own. Nothing for an entry without attached protection.
pub fn record_attached(
    cx: &mut Ctx<'_>,
    op: &VenueOp,
    entry: &ClientOrderId,
    signal_id: &SignalId,
    since_ms: i64,
) -> Result<Vec<ExitRecord>, CallFailure> {
    let exits = protect::attached_exits(&cx.config.id, signal_id, op)
        .map_err(|e| CallFailure::Internal(e.to_string()))?;
    let mut out = Vec::new();
    for t in exits {
        let mut e = ExitRecord::new(t, entry.clone(), Some(signal_id.clone()));
        e.attached = true;
        e.since_ms = since_ms;
        stage_exit(cx, &e);
        out.push(e);
    }
    cx.io.flush();
    Ok(out)
}

/// What is being placed after the fill.
#[derive(Debug)]
enum Pending {
    Trigger(ExitTrigger),
    Oco(OcoExit),
    SpotTpsl(ExitTrigger),
}

/// Places the exits of a filled entry, one call at a time, each recorded in its own batch.
#[derive(Debug)]
pub struct Protect {
    entry: Order,
    protection: Protection,
    signal_id: SignalId,
    queue: VecDeque<Pending>,
    current: Option<Pending>,
    placed: Vec<ExitRecord>,
}

impl Protect {
    /// The exits to place for `entry` (filled) with its alert's `protection`: the venue's
    /// choice, in the DO's order (triggers, else OCO, else spot TP/SL).
    ///
    /// # Errors
    /// [`CallFailure::Internal`] when a client id cannot be derived (not expected).
    pub fn new(
        cx: &Ctx<'_>,
        entry: Order,
        protection: Protection,
        rules: &InstrumentRules,
        signal_id: SignalId,
    ) -> Result<Self, CallFailure> {
        let c = cx.config;
        let internal = |e: crate::ids::IdError| CallFailure::Internal(e.to_string());
        let mut queue: VecDeque<Pending> = protect::exit_triggers(
            c.exchange,
            c.market,
            &c.id,
            &signal_id,
            &entry.request,
            &protection,
            rules.tick_size,
        )
        .map_err(internal)?
        .into_iter()
        .map(Pending::Trigger)
        .collect();
        let qty = protect::net_holding(
            entry.filled_qty,
            &entry.fees,
            &rules.base_asset,
            rules.step_size,
        );
        if queue.is_empty() {
            if let Some(o) = protect::oco_exit(
                c.exchange,
                c.market,
                &c.id,
                &signal_id,
                &entry.request,
                &protection,
                rules.tick_size,
                qty,
            )
            .map_err(internal)?
            {
                queue.push_back(Pending::Oco(o));
            }
        }
        if queue.is_empty() {
            if let Some(t) = protect::spot_tpsl(
                c.exchange,
                c.market,
                &c.id,
                &signal_id,
                &entry.request,
                &protection,
                rules.tick_size,
                qty,
            )
            .map_err(internal)?
            {
                queue.push_back(Pending::SpotTpsl(t));
            }
        }
        Ok(Self {
            entry,
            protection,
            signal_id,
            queue,
            current: None,
            placed: Vec::new(),
        })
    }

    fn record(&self, t: ExitTrigger, cx: &Ctx<'_>) -> ExitRecord {
        let mut e = ExitRecord::new(
            t,
            self.entry.request.client_order_id.clone(),
            Some(self.signal_id.clone()),
        );
        e.since_ms = cx.now;
        e
    }

    fn refused(result: Result<VenueReply, CallFailure>) -> Result<VenueReply, String> {
        result.map_err(|e| CallFailure::of_call(e).rejection().message)
    }

    /// Advances: one exit call per step; ends with every exit recorded.
    pub fn step(&mut self, cx: &mut Ctx<'_>, ev: Event) -> Step<Vec<ExitRecord>> {
        if let (Some(p), Event::Reply(reply)) = (self.current.take(), ev) {
            let result = Self::refused(reply.result);
            // A Bybit spot TP/SL order notes the take-profit it could not carry as well.
            let spot_tpsl = matches!(p, Pending::SpotTpsl(_));
            match p {
                Pending::Trigger(t) | Pending::SpotTpsl(t) => {
                    let mut e = self.record(t, cx);
                    match result {
                        Ok(VenueReply::Order(r)) => {
                            e.order_id = Some(r.order_id);
                            if spot_tpsl
                                && e.kind() == ExitKind::StopLoss
                                && self.protection.take_profit.is_some()
                            {
                                e.error = Some(
                                    "take-profit not placed: Bybit locks a spot TP/SL order's quantity, one per holding"
                                        .into(),
                                );
                            }
                        }
                        Ok(other) => {
                            e.state = ExitState::Rejected;
                            e.error = Some(format!("unexpected reply {}", kind(&other)));
                        }
                        Err(m) => {
                            e.state = ExitState::Rejected;
                            e.error = Some(m);
                        }
                    }
                    let id = e.id().clone();
                    cx.io.drain_trail(Some(&self.signal_id), Some(&id));
                    stage_exit(cx, &e);
                    cx.io.flush();
                    self.placed.push(e);
                }
                Pending::Oco(o) => {
                    let (state, legs, error) = match result {
                        Ok(VenueReply::Orders(legs)) => (ExitState::Open, legs, None),
                        Ok(other) => (
                            ExitState::Rejected,
                            Vec::new(),
                            Some(format!("unexpected reply {}", kind(&other))),
                        ),
                        Err(m) => (ExitState::Rejected, Vec::new(), Some(m)),
                    };
                    cx.io
                        .drain_trail(Some(&self.signal_id), Some(&o.list_client_order_id));
                    for (k, leg) in [
                        (ExitKind::StopLoss, &o.stop_loss),
                        (ExitKind::TakeProfit, &o.take_profit),
                    ] {
                        let t = ExitTrigger {
                            client_order_id: leg.client_order_id.clone(),
                            symbol: o.symbol.clone(),
                            close_side: o.close_side,
                            kind: k,
                            trigger_price: leg.price,
                            qty: Some(o.qty),
                        };
                        let mut e = self.record(t, cx);
                        e.state = state;
                        e.error = error.clone();
                        e.oco = Some(o.list_client_order_id.clone());
                        e.order_id = legs
                            .iter()
                            .find(|r| r.client_order_id.as_ref() == Some(&leg.client_order_id))
                            .map(|r| r.order_id.clone());
                        stage_exit(cx, &e);
                        self.placed.push(e);
                    }
                    cx.io.flush();
                }
            }
        }
        match self.queue.pop_front() {
            Some(p) => {
                let op = match &p {
                    Pending::Trigger(t) | Pending::SpotTpsl(t) => {
                        VenueOp::PlaceExitTrigger(t.clone())
                    }
                    Pending::Oco(o) => VenueOp::PlaceOcoExit(o.clone()),
                };
                self.current = Some(p);
                cx.io.send(op);
                Step::Pending
            }
            None => Step::Done(std::mem::take(&mut self.placed)),
        }
    }
}

/// Whether any of `orders` must first clear the symbol's exits.
pub fn must_clear(market: Market, position: Decimal, orders: &[Approved<ProposedOrder>]) -> bool {
    orders
        .iter()
        .any(|o| protect::clears_exits(market, position, &o.get().request))
}

/// Cancels the bot's own resting exits on one symbol (not the attached ones: they end with the
/// position). Paper bots hold no exchange-side exits.
#[derive(Debug)]
pub struct Clear {
    symbol: Symbol,
    signal_id: Option<SignalId>,
    calls: VecDeque<(ExitRef, Vec<ExitRecord>)>,
    current: Option<(ExitRef, Vec<ExitRecord>)>,
    done: Vec<ExitRecord>,
    out: Cleared,
    started: bool,
}

impl Clear {
    /// The exits of `symbol` to clear.
    pub fn new(symbol: Symbol, signal_id: Option<SignalId>) -> Self {
        Self {
            symbol,
            signal_id,
            calls: VecDeque::new(),
            current: None,
            done: Vec::new(),
            out: Cleared::default(),
            started: false,
        }
    }

    fn plan(&mut self, cx: &Ctx<'_>) {
        let mut open: Vec<&ExitRecord> = cx
            .book
            .exits
            .values()
            .filter(|e| e.state == ExitState::Open && e.symbol() == &self.symbol && !e.attached)
            .collect();
        open.sort_by_key(|e| e.since_ms);
        for e in open {
            match self
                .calls
                .iter_mut()
                .find(|(x, _)| e.oco.is_some() && x.list_client_order_id == e.oco)
            {
                Some((_, legs)) => legs.push(e.clone()),
                None => self.calls.push_back((
                    ExitRef {
                        symbol: self.symbol.clone(),
                        client_order_id: e.id().clone(),
                        list_client_order_id: e.oco.clone(),
                    },
                    vec![e.clone()],
                )),
            }
        }
    }

    /// Advances: one cancel per step; ends with what was cleared (the rows and the trail are
    /// committed together after the calls).
    pub fn step(&mut self, cx: &mut Ctx<'_>, ev: Event) -> Step<Cleared> {
        if !self.started {
            self.started = true;
            self.plan(cx);
            if self.calls.is_empty() {
                return Step::Done(Cleared::default());
            }
        }
        if let (Some((x, legs)), Event::Reply(reply)) = (self.current.take(), ev) {
            match reply.result {
                Ok(VenueReply::Trigger(_)) => self.done.extend(legs),
                Err(CallFailure::Venue(VenueError::UnknownOrder { .. })) => {
                    self.out.gone.push(x.client_order_id)
                }
                Ok(other) => self.out.failed.push((
                    x.client_order_id,
                    format!("unexpected reply {}", kind(&other)),
                )),
                Err(e) => self.out.failed.push((
                    x.client_order_id,
                    CallFailure::of_call(e).rejection().message,
                )),
            }
        }
        if let Some((x, legs)) = self.calls.pop_front() {
            cx.io.send(VenueOp::CancelExit(x.clone()));
            self.current = Some((x, legs));
            return Step::Pending;
        }
        cx.io.drain_trail(self.signal_id.as_ref(), None);
        for mut e in std::mem::take(&mut self.done) {
            e.state = ExitState::Cancelled;
            e.cancelled = Some((cx.now, "closing the position".into()));
            stage_exit(cx, &e);
            self.out.cancelled.push(e.id().clone());
        }
        cx.io.flush();
        Step::Done(std::mem::take(&mut self.out))
    }
}
